# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dcvkit.session_manager.plugins.filter.wiring import (
    dcv_broker_names,
    dcv_wiring,
    is_dns_name,
)

REFERENCE_GROUPS = {
    "all": ["host-a", "host-b"],
    "dcv_brokers": ["host-a"],
    "dcv_gateways": ["host-a"],
    "dcv_servers": ["host-b"],
}
REFERENCE_HOSTVARS = {
    "host-a": {"dcv_host_name": "broker.example.internal", "dcv_host_addresses": ["10.0.0.10"],
               "dcv_gateway_public_names": ["vpce-1.example.com"]},
    "host-b": {"dcv_host_name": "desktop.example.internal", "dcv_host_addresses": ["10.0.0.20"]},
}


def test_reference_topology_wiring():
    wiring = dcv_wiring(REFERENCE_GROUPS, REFERENCE_HOSTVARS)
    assert wiring["errors"] == []
    assert wiring["broker_name"] == "broker.example.internal"
    # the gateway shares host A, so the broker client port moves to 8448
    assert wiring["hosts"]["host-a"]["ports"]["dcv_broker_client_port"] == 8448
    assert wiring["hosts"]["host-a"]["ports"]["dcv_gateway_web_port"] == 8443
    assert wiring["broker_client_port"] == 8448
    assert wiring["broker_agent_port"] == 8445
    assert wiring["broker_gateway_port"] == 8447
    assert wiring["gateways_enabled"] is True
    assert wiring["cluster_peers"] == ["broker.example.internal:47500"]
    certs_a = wiring["hosts"]["host-a"]["certificates"]
    assert certs_a["broker"] == {"dns_names": ["broker.example.internal"], "ip_addresses": ["10.0.0.10"]}
    assert certs_a["gateway"] == {"dns_names": ["vpce-1.example.com", "broker.example.internal"],
                                  "ip_addresses": ["10.0.0.10"]}
    assert "server" not in certs_a
    # sm-admin "Amazon DCV Session Manager Amazon DCV server - DNS mapping reference": the broker maps the address the
    # agent reports to the DCV server's DNS name, so the gateway connects by name and the certificate needs no IP
    assert wiring["hosts"]["host-b"]["certificates"] == {
        "server": {"dns_names": ["desktop.example.internal"], "ip_addresses": []}}
    assert wiring["hosts"]["host-b"]["dns_mapped"] is True
    assert wiring["server_dns_mappings"] == [{"ServerIdType": "Ip", "ServerId": "10.0.0.20",
                                              "DnsNames": {"InternalDnsName": "desktop.example.internal"}}]
    assert wiring["server_dns_mappings_managed"] is True
    assert wiring["hosts"]["host-b"]["ports"] == {"dcv_server_web_port": 8443}


def test_broker_alone_keeps_8443():
    wiring = dcv_wiring({"dcv_brokers": ["b"]}, {"b": {}})
    assert wiring["errors"] == []
    assert wiring["hosts"]["b"]["ports"]["dcv_broker_client_port"] == 8443
    assert wiring["broker_name"] == "b"
    assert wiring["gateways_enabled"] is False


def test_port_clash_names_both_variables():
    hostvars = {"a": {"dcv_broker_client_port": 8443, "dcv_gateway_public_names": ["gw.example.com"]}}
    wiring = dcv_wiring({"dcv_brokers": ["a"], "dcv_gateways": ["a"]}, hostvars)
    assert len(wiring["errors"]) == 1
    message = wiring["errors"][0]
    assert "dcv_broker_client_port" in message and "dcv_gateway_web_port" in message and "8443" in message


def test_server_beside_gateway_clash_is_refused():
    hostvars = {"a": {"dcv_gateway_public_names": ["gw.example.com"]}}
    wiring = dcv_wiring({"dcv_brokers": ["a"], "dcv_gateways": ["a"], "dcv_servers": ["a"]}, hostvars)
    assert any("dcv_gateway_web_port" in e and "dcv_server_web_port" in e for e in wiring["errors"])


@pytest.mark.parametrize("value", [0, 65536, "http", -1, True])
def test_port_out_of_range_or_not_a_number(value):
    wiring = dcv_wiring({"dcv_brokers": ["a"], "dcv_servers": ["b"]}, {"a": {}, "b": {"dcv_server_web_port": value}})
    assert len(wiring["errors"]) == 1
    assert "dcv_server_web_port" in wiring["errors"][0]


def test_empty_public_names_refused_for_gateway():
    wiring = dcv_wiring({"dcv_brokers": ["a"], "dcv_gateways": ["a"]}, {"a": {}})
    assert any("dcv_gateway_public_names" in e for e in wiring["errors"])


def test_public_name_with_scheme_refused():
    hostvars = {"a": {"dcv_gateway_public_names": ["https://gw.example.com"]}}
    wiring = dcv_wiring({"dcv_brokers": ["a"], "dcv_gateways": ["a"]}, hostvars)
    assert any("dcv_gateway_public_names" in e and "https://gw.example.com" in e for e in wiring["errors"])


def test_agent_without_broker_refused():
    wiring = dcv_wiring({"dcv_servers": ["b"]}, {"b": {}})
    assert any("dcv_brokers" in e for e in wiring["errors"])
    assert wiring["broker_name"] is None


def test_cluster_peers_and_shared_name():
    groups = {"dcv_brokers": ["b1", "b2"]}
    hostvars = {
        "b1": {"dcv_host_name": "b1.example.com"},
        "b2": {"dcv_host_name": "b2.example.com", "dcv_host_addresses": ["10.1.1.2"]},
    }
    wiring = dcv_wiring(groups, hostvars, "brokers.example.com")
    assert wiring["errors"] == []
    assert wiring["broker_name"] == "brokers.example.com"
    assert wiring["cluster_peers"] == ["b1.example.com:47500", "b2.example.com:47500"]
    # every broker certificate covers the shared name clients use
    for host in ("b1", "b2"):
        assert "brokers.example.com" in wiring["hosts"][host]["certificates"]["broker"]["dns_names"]
    assert set(dcv_broker_names(wiring)) == {"brokers.example.com", "b1.example.com", "b2.example.com", "10.1.1.2"}


def test_cluster_with_different_agent_ports_refused():
    groups = {"dcv_brokers": ["b1", "b2"]}
    wiring = dcv_wiring(groups, {"b1": {}, "b2": {"dcv_broker_agent_port": 9445}})
    assert any("dcv_broker_agent_port" in e for e in wiring["errors"])


def test_bad_identity_values_named():
    hostvars = {"a": {"dcv_host_name": "not a name", "dcv_host_addresses": ["host.example.com"],
                      "dcv_host_aliases": ["10.0.0.1"]}}
    errors = dcv_wiring({"dcv_brokers": ["a"]}, hostvars)["errors"]
    assert any("dcv_host_name" in e for e in errors)
    assert any("dcv_host_addresses" in e for e in errors)
    assert any("dcv_host_aliases" in e for e in errors)


def test_broker_name_must_be_a_name():
    errors = dcv_wiring({"dcv_brokers": ["a"]}, {"a": {}}, "https://broker")["errors"]
    assert any("dcv_broker_name" in e for e in errors)


def test_ipv6_addresses_normalised():
    wiring = dcv_wiring({"dcv_servers": ["s"], "dcv_brokers": ["b"]},
                        {"s": {"dcv_host_addresses": ["fd00:0::1"]}, "b": {}})
    assert wiring["hosts"]["s"]["certificates"]["server"]["ip_addresses"] == ["fd00::1"]


@pytest.mark.parametrize("name,ok", [("a.example.com", True), ("*.example.com", True), ("host-a", True),
                                     ("-bad", False), ("a b", False), ("10.0.0.1", False), ("", False),
                                     ("x" * 64, False)])
def test_is_dns_name(name, ok):
    assert is_dns_name(name) is ok


class _FactsNotGathered(dict):
    """hostvars whose dcv_host_addresses is a template over facts the playbook did not gather."""

    def get(self, key, default=None):
        if key == "dcv_host_addresses":
            from ansible.errors import AnsibleUndefinedVariable
            raise AnsibleUndefinedVariable("'ansible_facts' is undefined\nmore detail")
        return super(_FactsNotGathered, self).get(key, default)


def test_value_that_cannot_be_evaluated_is_named_not_raised():
    hostvars = {"host-a": REFERENCE_HOSTVARS["host-a"], "host-b": _FactsNotGathered(dcv_host_name="b.example.com")}
    errors = dcv_wiring(REFERENCE_GROUPS, hostvars)["errors"]
    assert errors == ["host host-b: dcv_host_addresses cannot be evaluated in this playbook ('ansible_facts' is "
                      "undefined); give it a fixed value in the inventory (facts are not gathered by every playbook)"]


@pytest.mark.parametrize("groups", [
    {"dcv_brokers": ["a"], "dcv_servers": ["a"]},
    {"dcv_brokers": ["a", "b"], "dcv_gateways": ["a"], "dcv_servers": ["c", "b"]},
])
def test_broker_beside_a_dcv_server_is_refused(groups):
    # sm-admin "Step 2: Set up the Amazon DCV Session Manager broker": the broker goes on a host separate from the
    # agent and the DCV server
    hostvars = {"a": {"dcv_gateway_public_names": ["gw.example.com"]}, "b": {}, "c": {}}
    errors = dcv_wiring(groups, hostvars)["errors"]
    shared = [host for host in groups["dcv_brokers"] if host in groups["dcv_servers"]][0]
    message = [e for e in errors if "dcv_brokers and dcv_servers" in e]
    assert message == ["host %s is in both dcv_brokers and dcv_servers: the broker must run on a host of its own, "
                       "never beside a DCV server and its agent (sm-admin \"Step 2: Set up the Amazon DCV Session "
                       "Manager broker\"); remove %s from dcv_brokers or from dcv_servers" % (shared, shared)]


def test_broker_and_gateway_may_share_a_host():
    assert dcv_wiring(REFERENCE_GROUPS, REFERENCE_HOSTVARS)["errors"] == []


# -- DCV server DNS mappings (sm-admin "Amazon DCV Session Manager Amazon DCV server - DNS mapping reference") ----------

def _reference_with(**server_vars):
    hostvars = dict(REFERENCE_HOSTVARS)
    hostvars["host-b"] = dict(REFERENCE_HOSTVARS["host-b"], **server_vars)
    return dcv_wiring(REFERENCE_GROUPS, hostvars)


@pytest.mark.parametrize("value", [False, "false", "no", "False"])
def test_without_mappings_the_server_certificate_carries_the_addresses(value):
    wiring = _reference_with(dcv_server_dns_mappings=value)
    assert wiring["errors"] == []
    assert wiring["hosts"]["host-b"]["dns_mapped"] is False
    assert wiring["hosts"]["host-b"]["certificates"]["server"] == {"dns_names": ["desktop.example.internal"],
                                                                   "ip_addresses": ["10.0.0.20"]}
    # no DCV server is mapped: dcv_broker leaves the broker's mappings (perhaps registered by hand) alone
    assert wiring["server_dns_mappings"] == [] and wiring["server_dns_mappings_managed"] is False


@pytest.mark.parametrize("value", [True, "true", "yes", None, ""])
def test_mappings_are_the_default(value):
    wiring = _reference_with(dcv_server_dns_mappings=value)
    assert wiring["errors"] == [] and wiring["hosts"]["host-b"]["dns_mapped"] is True
    assert wiring["hosts"]["host-b"]["certificates"]["server"]["ip_addresses"] == []


def test_mapping_switch_must_be_a_boolean():
    errors = _reference_with(dcv_server_dns_mappings="sometimes")["errors"]
    assert errors == ["host host-b: dcv_server_dns_mappings = 'sometimes' is not a boolean; set it to true or false"]


def test_without_gateways_no_mapping_and_the_certificate_keeps_the_addresses():
    groups = {"dcv_brokers": ["host-a"], "dcv_servers": ["host-b"]}
    wiring = dcv_wiring(groups, REFERENCE_HOSTVARS)
    assert wiring["errors"] == []
    assert wiring["hosts"]["host-b"]["dns_mapped"] is False
    assert wiring["hosts"]["host-b"]["certificates"]["server"]["ip_addresses"] == ["10.0.0.20"]
    assert wiring["server_dns_mappings"] == [] and wiring["server_dns_mappings_managed"] is False


def test_every_address_of_every_mapped_server_is_mapped_to_its_name():
    groups = dict(REFERENCE_GROUPS, dcv_servers=["host-b", "host-c", "host-d"])
    hostvars = dict(REFERENCE_HOSTVARS,
                    **{"host-c": {"dcv_host_name": "c.example.internal", "dcv_host_addresses": ["10.0.0.30", "fd00::30"]},
                       "host-d": {"dcv_host_name": "d.example.internal", "dcv_host_addresses": ["10.0.0.40"],
                                  "dcv_server_dns_mappings": False}})
    wiring = dcv_wiring(groups, hostvars)
    assert wiring["errors"] == []
    assert [(m["ServerId"], m["DnsNames"]["InternalDnsName"]) for m in wiring["server_dns_mappings"]] == [
        ("10.0.0.20", "desktop.example.internal"), ("10.0.0.30", "c.example.internal"),
        ("fd00::30", "c.example.internal")]
    assert all(m["ServerIdType"] == "Ip" for m in wiring["server_dns_mappings"])
    assert wiring["server_dns_mappings_managed"] is True
    assert wiring["hosts"]["host-d"]["certificates"]["server"]["ip_addresses"] == ["10.0.0.40"]


def test_a_mapped_server_without_addresses_gets_no_mapping():
    # the dcv_server preflight refuses it; the wiring itself stays usable for session.yml (which gathers no facts)
    wiring = _reference_with(dcv_host_addresses=[])
    assert wiring["errors"] == []
    assert wiring["hosts"]["host-b"]["dns_mapped"] is True and wiring["server_dns_mappings"] == []


def test_one_address_on_two_mapped_servers_is_refused():
    groups = dict(REFERENCE_GROUPS, dcv_servers=["host-b", "host-c"])
    hostvars = dict(REFERENCE_HOSTVARS, **{"host-c": {"dcv_host_name": "c.example.internal",
                                                      "dcv_host_addresses": ["10.0.0.20"]}})
    errors = dcv_wiring(groups, hostvars)["errors"]
    assert errors == ["dcv_host_addresses entry 10.0.0.20 is listed for both DCV servers host-b and host-c: the broker "
                      "maps one address to one DNS name (dcv_server_dns_mappings); list each server's own address"]
