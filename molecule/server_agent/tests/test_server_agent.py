# -*- coding: utf-8 -*-
"""Host A (broker + gateway) and host B (DCV server + agent) from the stand-ins."""

import configparser
import functools
import json
import os
import re

import pytest
import yaml
from cryptography import x509

import dcvtest

testinfra_hosts = ["podman://server_agent-b"]

A, B = "server_agent-a", "server_agent-b"
BROKER_NAME = "host-a.dcvkit.test"
SERVER_NAME = "host-b.dcvkit.test"
SERVER = "dcvserver"
AGENT = "dcv-session-manager-agent"


@pytest.mark.parametrize("path,owner,group,mode", [
    ("/etc/dcv/dcv.pem", "dcv", "dcv", 0o644),
    ("/etc/dcv/dcv.key", "dcv", "dcv", 0o600),
    ("/etc/dcv/ca.pem", "dcv", "dcv", 0o644),
    ("/etc/dcv/dcv.conf", "root", "root", 0o644),
    ("/etc/dcv-session-manager-agent/agent.conf", "root", "dcvsmagent", 0o640),
    ("/etc/dcv-session-manager-agent/ca.pem", "root", "root", 0o644),
    ("/etc/dcv-session-manager-agent/tags/placement.toml", "root", "dcvsmagent", 0o640),
])
def test_files_owners_modes(host, path, owner, group, mode):
    f = host.file(path)
    assert f.is_file
    assert (f.user, f.group, f.mode) == (owner, group, mode)


def test_dcv_conf_values(host):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(host.file("/etc/dcv/dcv.conf").content_string)
    assert parser.get("session-management", "create-session") == "false"
    assert parser.get("connectivity", "web-port") == "8443"
    assert parser.get("connectivity", "enable-quic-frontend") == "false"
    assert parser.get("security", "administrators") == '["dcvsmagent"]'
    assert parser.get("security", "auth-token-verifier") == (
        '"https://%s:8445/agent/validate-authentication-token"' % BROKER_NAME)
    assert parser.get("security", "ca-file") == '"/etc/dcv/ca.pem"'


def test_agent_conf(host):
    text = host.file("/etc/dcv-session-manager-agent/agent.conf").content_string
    assert 'broker_host = "%s"' % BROKER_NAME in text
    assert "broker_port = 8445" in text
    assert "tls_strict = true" in text
    assert 'ca_file = "/etc/dcv-session-manager-agent/ca.pem"' in text


@pytest.mark.parametrize("service", [SERVER, AGENT])
def test_services_running(host, service):
    s = host.service(service)
    assert s.is_running and s.is_enabled


def test_no_automatic_console_session(host):
    assert "There are no sessions available." in host.check_output("dcv list-sessions")


def test_server_tls_verifies_for_the_name_the_gateway_uses():
    # from host A, with the gateway's trust anchor, to the name the broker hands the gateway
    a = dcvtest.host(A)
    result = dcvtest.tls_probe(a, 8443, SERVER_NAME, "/etc/dcv-connection-gateway/certs/ca.pem", address=SERVER_NAME)
    assert result.rc == 0, result.stderr
    assert "verified" in result.stdout


def test_broker_maps_host_b_address_to_its_name_and_the_certificate_has_no_ip(host):
    # sm-admin "Amazon DCV Session Manager Amazon DCV server - DNS mapping reference": the gateway connects to the DCV
    # server by the name the broker maps its address to, so the DCV server certificate needs no IP address
    a = dcvtest.host(A)
    address = host.check_output("hostname -I").split()[0]
    mappings = json.loads(a.check_output("dcv-session-manager-broker describe-server-dns-mappings"))
    assert [(m["serverIdType"], m["serverId"], m["dnsNames"]["internalDnsName"]) for m in mappings] == [
        ("Ip", address, SERVER_NAME)], mappings
    certificate = x509.load_pem_x509_certificate(host.file("/etc/dcv/dcv.pem").content)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [SERVER_NAME]
    assert names.get_values_for_type(x509.IPAddress) == []


def test_agent_log_shows_successful_report(host):
    # sm-admin "Step 5: Verify the installations": the last sessionsUpdateResponse line contains success
    last = host.check_output("grep sessionsUpdateResponse /var/log/dcv-session-manager-agent/agent.log | tail -1")
    assert "success" in last and "unsuccess" not in last, last


def test_agent_registered_at_the_broker():
    a = dcvtest.host(A)
    creds = a.check_output("dcv-session-manager-broker register-api-client --client-name verify-%s" % os.getpid())
    client_id = creds.split("client-id:")[1].split()[0]
    secret = creds.split("client-password:")[1].split()[0]
    script = (
        "import base64,json,ssl,sys,urllib.request\n"
        "ctx=ssl.create_default_context(cafile='/etc/dcv-session-manager-broker/tls/ca.pem')\n"
        "base='https://%s:8448'\n"
        "auth=base64.b64encode(('%%s:%%s'%%(sys.argv[1],sys.argv[2])).encode()).decode()\n"
        "req=urllib.request.Request(base+'/oauth2/token?grant_type=client_credentials',data=b'',method='POST',"
        "headers={'Authorization':'Basic '+auth,'Content-Type':'application/x-www-form-urlencoded'})\n"
        "token=json.load(urllib.request.urlopen(req,context=ctx))['access_token']\n"
        "req=urllib.request.Request(base+'/describeServers',data=b'{}',method='POST',"
        "headers={'Authorization':'Bearer '+token,'Content-Type':'application/json'})\n"
        "print(json.dumps(json.load(urllib.request.urlopen(req,context=ctx))))\n" % BROKER_NAME)
    servers = json.loads(a.check_output("python3 -c %s %s %s" % (dcvtest._quote(script), client_id, secret)))["Servers"]
    hostnames = json.dumps(servers)
    assert "server_agent-b" in hostnames or SERVER_NAME in hostnames, hostnames
    # the address the agent reports is the one the broker maps (dcv_host_addresses from default_ipv4)
    mapped = [m["serverId"] for m in json.loads(a.check_output("dcv-session-manager-broker describe-server-dns-mappings"))]
    assert [s["Ip"] for s in servers] == mapped, (servers, mapped)
    assert "lab" in hostnames  # the placement tag travelled with the report


BAD_INPUTS = [
    ({"dcv_agent_tls_strict": False}, ["dcv_agent_tls_strict", "dcv_allow_insecure_tls"]),
    ({"dcv_agent_broker_host": "elsewhere.dcvkit.test"}, ["dcv_agent_broker_host", "elsewhere.dcvkit.test"]),
    ({"dcv_server_web_port": 70000}, ["dcv_server_web_port", "70000"]),
    ({"dcv_server_extra_settings": {"security": {"auth-token-verifier": "x"}}}, ["dcv_server_extra_settings", "auth-token-verifier"]),
    ({"dcv_agent_extra_settings": {"agent": {"tls_strict": False}}}, ["dcv_agent_extra_settings", "tls_strict"]),
    # nothing for the broker to map to host B's name (dcv_server_dns_mappings)
    ({"dcv_host_addresses": []}, ["dcv_host_addresses is empty", "dcv_server_dns_mappings: false"]),
]


def _state():
    """Managed files on both hosts and the start times of host B's units."""
    hosts = [dcvtest.host(A), dcvtest.host(B)]
    return [dcvtest.snapshot(h) for h in hosts] + [dcvtest.started_at(hosts[1], s) for s in (SERVER, AGENT)]


def _assert_refused(rc, output, named):
    assert rc != 0, output[-3000:]
    for word in named:
        assert word in output, (word, output[-3000:])
    # the failure came from a preflight play: no play that changes hosts started
    plays = re.findall(r"^PLAY \[(.*?)\]", output, re.M)
    assert plays and all(play.startswith("Preflight") for play in plays), plays


@pytest.fixture(scope="module")
def bad_input_runs():
    """Every bad input run at once, with the state of both hosts before and after."""
    before = _state()
    results = dcvtest.run_concurrently([functools.partial(dcvtest.run_playbook, extra) for extra, _named in BAD_INPUTS])
    return results, before, _state()


@pytest.mark.parametrize("index", range(len(BAD_INPUTS)), ids=[str(sorted(b[0].items()))[:60] for b in BAD_INPUTS])
def test_bad_input_fails_in_preflight(bad_input_runs, index):
    rc, output = bad_input_runs[0][index]
    _assert_refused(rc, output, BAD_INPUTS[index][1])


def test_bad_inputs_changed_nothing(bad_input_runs):
    _results, before, after = bad_input_runs
    assert after == before


def test_agent_without_broker_in_inventory_refused(tmp_path):
    # host B alone, in dcv_servers, and no dcv_brokers group: the wiring must refuse before anything changes
    inventory = tmp_path / "no-broker.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3",
                 "dcv_package_source": "control_node",
                 "dcv_package_dir": os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "build", "standins"),
                 "dcv_ca_path": str(tmp_path / "ca"),
                 "dcv_allow_unsupported_platform": "{{ ansible_facts['distribution'] == 'Debian' }}"},
        "children": {"dcv_servers": {"hosts": {B: {}}}}}}))
    before = _state()
    rc, output = dcvtest.run_playbook(inventory=str(inventory))
    _assert_refused(rc, output, ["group dcv_brokers is empty", "add the broker host(s) to dcv_brokers"])
    assert _state() == before


def test_changing_a_dcv_conf_setting_restarts_only_dcvserver(host):
    server, agent = dcvtest.started_at(host, SERVER), dcvtest.started_at(host, AGENT)
    rc, output = dcvtest.run_playbook({"dcv_server_administrators": ["ops"]})
    assert rc == 0, output[-3000:]
    assert 'administrators=["dcvsmagent", "ops"]' in host.file("/etc/dcv/dcv.conf").content_string
    assert dcvtest.started_at(host, SERVER) != server
    assert dcvtest.started_at(host, AGENT) == agent


def test_changing_an_agent_setting_restarts_only_the_agent(host):
    server, agent = dcvtest.started_at(host, SERVER), dcvtest.started_at(host, AGENT)
    rc, output = dcvtest.run_playbook({"dcv_server_administrators": ["ops"], "dcv_agent_log_level": "debug"})
    assert rc == 0, output[-3000:]
    assert 'level = "debug"' in host.file("/etc/dcv-session-manager-agent/agent.conf").content_string
    assert dcvtest.started_at(host, AGENT) != agent
    assert dcvtest.started_at(host, SERVER) == server


def test_back_to_the_inventory_and_idempotent():
    dcvtest.assert_back_to_the_inventory_and_quiet()


# After test_back_to_the_inventory_and_idempotent: both hosts are as the inventory has them (these tests take no host
# fixture: pytest runs the tests with one first, which would put these before that test). A restart ends what a
# service carries (the DCV server's sessions), so only new content restarts, never a mode fix. One file per task
# here, each read by its service only when it starts: {path: (a wrong mode, the mode the role sets)}
MODE_FIXES = {
    "/etc/dcv/dcv.conf": ("0600", 0o644),
    "/etc/dcv/dcv.key": ("0640", 0o600),
    "/etc/dcv-session-manager-agent/agent.conf": ("0644", 0o640),
    "/etc/dcv-session-manager-agent/ca.pem": ("0600", 0o644),
    "/etc/dcv-session-manager-agent/tags/placement.toml": ("0644", 0o640),
}


def test_a_mode_fix_alone_restarts_neither_service():
    dcvtest.assert_mode_fixes_restart_nothing(dcvtest.host(B), B, MODE_FIXES, (SERVER, AGENT), other_hosts=(A,))


def test_new_content_in_several_files_restarts_each_service_once():
    host = dcvtest.host(B)
    # DCV server: dcv.conf and its CA file; agent: agent.conf and its tags file
    host.check_output("echo 'not the CA' > /etc/dcv/ca.pem")
    dcvtest.assert_each_service_restarts_once(
        host, {"dcv_server_administrators": ["ops"], "dcv_agent_log_level": "debug",
               "dcv_agent_tags": {"placement": {"pool": "other"}}},
        {SERVER: ("dcv_server", "Restart the DCV server"), AGENT: ("dcv_agent", "Restart the agent")})
    assert host.file("/etc/dcv/ca.pem").content_string.startswith("-----BEGIN CERTIFICATE-----")
    assert 'pool = "other"' in host.file("/etc/dcv-session-manager-agent/tags/placement.toml").content_string
