# -*- coding: utf-8 -*-
"""verify.yml's diagnosis: probes built from the live configuration, and one row per link naming the cause."""

import json

import pytest

from ansible_collections.dcvkit.session_manager.plugins.filter.wiring import dcv_wiring
from ansible_collections.dcvkit.session_manager.plugins.filter import verify_report
from ansible_collections.dcvkit.session_manager.plugins.module_utils import verify_live as L
from ansible_collections.dcvkit.session_manager.plugins.module_utils import verify_rows as R

GROUPS = {"dcv_brokers": ["a"], "dcv_gateways": ["a"], "dcv_servers": ["b"]}
HOSTVARS = {"a": {"dcv_host_name": "host-a.test", "dcv_gateway_public_names": ["desktops.test"]},
            "b": {"dcv_host_name": "host-b.test", "dcv_host_addresses": ["10.0.0.3"]}}
# what describe-server-dns-mappings prints on the broker host once dcv_broker mapped host B (sm-admin
# "describe-server-dns-mappings")
MAPPINGS_OUT = json.dumps([{"serverIdType": "Ip", "serverId": "10.0.0.3",
                            "dnsNames": {"internalDnsName": "host-b.test", "externalDnsName": None}}])

PROPERTIES = {
    "client-to-broker-connector-https-port": "8448", "agent-to-broker-connector-https-port": "8445",
    "gateway-to-broker-connector-https-port": "8447", "broker-to-broker-port": "47100", "cli-to-broker-port": "47200",
    "broker-to-broker-discovery-port": "47500", "enable-gateway": "true",
    "client-to-broker-connector-key-store-pass": "(secret)",
}
GATEWAY_CONF = """
[gateway]
web-listen-endpoints = ["0.0.0.0:8443"]
cert-file = "/etc/dcv-connection-gateway/certs/gateway.pem"
cert-key-file = "/etc/dcv-connection-gateway/certs/gateway.key"
[health-check]
port = 8989
[resolver]
url = "https://host-a.test:8447"
ca-file = "/etc/dcv-connection-gateway/certs/ca.pem"
[dcv]
ca-file = "/etc/dcv-connection-gateway/certs/ca.pem"
"""
DCV_CONF = """[session-management]
create-session = false
[connectivity]
web-port = 8443
[security]
auth-token-verifier = "https://host-a.test:8445/agent/validate-authentication-token"
ca-file = "/etc/dcv/ca.pem"
"""
AGENT_CONF = """version = "0.1"
[agent]
broker_host = "host-a.test"
broker_port = 8445
ca_file = "/etc/dcv-session-manager-agent/ca.pem"
"""
OK_TLS = {"ok": True, "category": None, "status": None, "peer": {"names": ["host-a.test"], "issuer": "CA"}}


def wiring():
    return dcv_wiring(GROUPS, HOSTVARS)


def healthy_hosts():
    a_live = {
        "time": 1000.5, "hostname": "verify-a",
        "files": {L.BROKER_PROPERTIES: {"exists": True, "properties": dict(PROPERTIES)},
                  L.GATEWAY_CONF: {"exists": True, "content": GATEWAY_CONF}},
        "units": {L.BROKER_UNIT: {"ActiveState": "active", "MainPID": "100"},
                  L.GATEWAY_UNIT: {"ActiveState": "active", "MainPID": "200"}},
        "listeners": [{"port": 8448, "pid": 100, "process": "java", "ancestors": []},
                      {"port": 8443, "pid": 200, "process": "dcv-gw", "ancestors": []}],
        "commands": {
            "agent_clients": {"rc": 0, "stdout": "Session manager agent clients\n" + json.dumps(
                [{"name": "verify-b", "id": "x", "active": True}])},
            "dns_mappings": {"rc": 0, "stdout": MAPPINGS_OUT}},
    }
    b_live = {
        "time": 1000.7, "hostname": "verify-b",
        "files": {L.DCV_CONF: {"exists": True, "content": DCV_CONF},
                  L.AGENT_CONF: {"exists": True, "content": AGENT_CONF},
                  L.AGENT_LOG: {"exists": True, "lines": ["x sessionsUpdateResponse: sessions=0 commands=0 result=success"]}},
        "units": {L.DCV_UNIT: {"ActiveState": "active", "MainPID": "300"},
                  L.AGENT_UNIT: {"ActiveState": "active", "MainPID": "400"}},
        "listeners": [{"port": 8443, "pid": 300, "process": "dcvserver", "ancestors": []}],
        "commands": {"dcv_sessions": {"rc": 0, "stdout": "[]"}},
    }
    resolver_404 = dict(OK_TLS, status=404, body=R.RESOLVER_404)
    return {
        "a": {"live": a_live, "t0": 1000.0, "t1": 1001.0, "public_names": ["desktops.test"],
              "links": {"probes": {"resolver": resolver_404, "dcv:b": OK_TLS, "public:desktops.test": OK_TLS,
                                   "client_api": dict(OK_TLS, status=401)}}},
        "b": {"live": b_live, "t0": 1000.0, "t1": 1001.0,
              "links": {"probes": {"agent_broker": dict(OK_TLS, status=200),
                                   "server_verifier": dict(OK_TLS, status=200)}}},
    }


def rows_by_link(hosts):
    return dict(((r["link"], r["from"]), r) for r in R.build_rows(hosts, wiring()))


def test_healthy_stack_all_rows_ok():
    rows = R.build_rows(healthy_hosts(), wiring())
    assert [r for r in rows if not r["ok"]] == []
    links = [r["link"] for r in rows]
    for expected in ("agent -> broker (TLS, registration)", "DCV server -> broker token verifier",
                     "gateway -> broker resolver", "gateway -> DCV server b", "public names -> gateway certificate",
                     "broker client API (OAuth2)", "port clashes (live configs, sockets, wiring)",
                     "unknown keys in live config files", "automatic console sessions", "clock skew between hosts",
                     "broker DNS mapping of DCV server b"):
        assert expected in links
    lines = R.table(rows)
    assert lines[-1] == "%d link(s) checked, 0 not ok" % len(rows)
    assert all(line.startswith("ok  ") for line in lines[1:-1])


def test_probes_come_from_the_live_configuration():
    hosts = healthy_hosts()
    hosts["b"]["live"]["commands"]["dcv_sessions"]["stdout"] = json.dumps([{"id": "s1", "owner": "alice"}])
    by_name = dict((p["name"], p) for p in R.probes_for("a", hosts, wiring()))
    assert by_name["resolver"]["host"] == "host-a.test" and by_name["resolver"]["port"] == 8447
    assert by_name["resolver"]["ca_file"] == "/etc/dcv-connection-gateway/certs/ca.pem"
    assert "sessionId=s1&transport=HTTP" in by_name["resolve:b:s1"]["path"]
    assert by_name["dcv:b"]["host"] == "host-b.test" and by_name["dcv:b"]["port"] == 8443
    assert by_name["public:desktops.test"]["address"] == "127.0.0.1"
    assert by_name["client_api"]["port"] == 8448 and by_name["client_api"]["ca_file"] == L.BROKER_CA
    agent = dict((p["name"], p) for p in R.probes_for("b", hosts, wiring()))["agent_broker"]
    assert (agent["host"], agent["port"], agent["ca_file"]) == ("host-a.test", 8445, "/etc/dcv-session-manager-agent/ca.pem")


def test_wrong_ca_on_agent_names_ca_file_and_fix():
    hosts = healthy_hosts()
    hosts["b"]["links"]["probes"]["agent_broker"] = {
        "ok": False, "category": "tls_untrusted", "host": "host-a.test", "port": 8445,
        "ca_file": "/etc/dcv-session-manager-agent/ca.pem", "peer": {"issuer": "dcvkit CA", "names": []}}
    row = rows_by_link(hosts)[("agent -> broker (TLS, registration)", "b")]
    assert not row["ok"]
    assert "not signed by the CA in agent.conf ca_file = /etc/dcv-session-manager-agent/ca.pem" in row["result"]
    assert "dcv_ca_path" in row["result"]


# sm-admin "Step 5: Verify the installations": grep 'sessionsUpdateResponse' agent.log | tail -1 | grep -o success.
# The product's log format is its own (not the stand-in's "result=success"); any last line with success is healthy.
REAL_LOOKING_SUCCESS = ('2025-11-12 09:15:02,114 INFO  [dcv_session_manager_agent::broker] sessionsUpdateResponse: '
                        'SessionsUpdateResponse { request_id: "2f0c9a8e-7d1b-4c55-9f43-0b3c1f2e6a77", '
                        'result: "success" }')
REAL_LOOKING_FAILURE = ('2025-11-12 09:15:32,118 ERROR [dcv_session_manager_agent::broker] sessionsUpdateResponse: '
                        'request failed: error sending request for url (https://host-a.test:8445/agent/'
                        'sessions-update): invalid peer certificate: UnknownIssuer')


@pytest.mark.parametrize("line,ok", [
    (REAL_LOOKING_SUCCESS, True),
    ("x sessionsUpdateResponse: sessions=0 commands=0 result=success", True),  # the stand-in's own format
    (REAL_LOOKING_FAILURE, False),
    ("2025-11-12 09:16:02,001 WARN sessionsUpdateResponse: result: \"unsuccessful\"", False),
])
def test_agent_health_is_the_documented_success_check(line, ok):
    assert R.agent_report_succeeded(line) is ok
    hosts = healthy_hosts()
    hosts["b"]["live"]["files"][L.AGENT_LOG]["lines"] = [line]
    row = rows_by_link(hosts)[("agent -> broker (TLS, registration)", "b")]
    assert row["ok"] is ok, row["result"]
    if not ok:
        assert "the agent's last report failed" in row["result"]


def test_stopped_broker_named_on_every_link_that_needs_it():
    hosts = healthy_hosts()
    hosts["a"]["live"]["units"][L.BROKER_UNIT] = {"ActiveState": "inactive", "MainPID": "0"}
    refused = {"ok": False, "category": "refused", "error": "Connection refused"}
    hosts["a"]["links"]["probes"]["resolver"] = dict(refused, host="host-a.test", port=8447)
    hosts["a"]["links"]["probes"]["client_api"] = dict(refused, host="host-a.test", port=8448)
    hosts["b"]["links"]["probes"]["agent_broker"] = dict(refused, host="host-a.test", port=8445)
    rows = rows_by_link(hosts)
    for key in (("gateway -> broker resolver", "a"), ("broker client API (OAuth2)", "a"),
                ("agent -> broker (TLS, registration)", "b")):
        assert "dcv-session-manager-broker is inactive on a" in rows[key]["result"]
        assert "systemctl start dcv-session-manager-broker" in rows[key]["result"]


def test_port_clash_from_live_properties():
    hosts = healthy_hosts()
    hosts["a"]["live"]["files"][L.BROKER_PROPERTIES]["properties"]["client-to-broker-connector-https-port"] = "8443"
    hosts["a"]["live"]["units"][L.BROKER_UNIT] = {"ActiveState": "failed", "MainPID": "0"}
    row = rows_by_link(hosts)[("port clashes (live configs, sockets, wiring)", "a")]
    assert "port clash on 8443: dcv_broker_client_port" in row["result"]
    assert "dcv_gateway_web_port" in row["result"] and "8448" in row["result"]
    assert "wiring says dcv_broker_client_port = 8448" in row["result"]


def test_port_held_by_a_foreign_process():
    hosts = healthy_hosts()
    hosts["a"]["live"]["listeners"][0] = {"port": 8448, "pid": 999, "process": "python3", "ancestors": [1]}
    row = rows_by_link(hosts)[("port clashes (live configs, sockets, wiring)", "a")]
    assert "port 8448 (dcv_broker_client_port) is held by python3 (pid 999), not by dcv-session-manager-broker" \
        in row["result"]


def test_unknown_and_nonexistent_keys():
    hosts = healthy_hosts()
    properties = hosts["a"]["live"]["files"][L.BROKER_PROPERTIES]["properties"]
    properties.update({"ca-file": "/x", "my-typo-key": "1", "new-key": "2"})
    hosts["a"]["extra_properties"] = {"new-key": "2"}
    hosts["a"]["live"]["files"][L.GATEWAY_CONF]["content"] = GATEWAY_CONF.replace("[dcv]\n", "[dcv]\nweb-port = 1\n") \
        .replace("[gateway]\n", "[gateway]\nweb-port = 8443\n")
    row = rows_by_link(hosts)[("unknown keys in live config files", "a")]
    assert "key 'ca-file' does not exist in the broker" in row["result"]
    assert "key 'my-typo-key' is not a documented broker property" in row["result"]
    assert "new-key" not in row["result"]
    assert "[gateway] web-port does not exist" in row["result"]
    assert "[dcv] web-port is not a documented key" in row["result"]


def test_console_session_and_its_resolver_404():
    hosts = healthy_hosts()
    hosts["b"]["live"]["files"][L.DCV_CONF]["content"] = DCV_CONF.replace("create-session = false", "create-session = true")
    hosts["b"]["live"]["commands"]["dcv_sessions"]["stdout"] = json.dumps([{"id": "console", "owner": "alice"}])
    hosts["a"]["links"]["probes"]["resolve:b:console"] = dict(OK_TLS, status=404, body=R.RESOLVER_404)
    rows = rows_by_link(hosts)
    console = rows[("automatic console sessions", "b")]
    assert "create-session = true" in console["result"] and "dcv_server_create_session: false" in console["result"]
    assert "a session named 'console' is running" in console["result"]
    resolved = rows[("resolver: session console on b", "a")]
    assert "not created through the broker" in resolved["result"]


def test_resolver_404_causes_from_the_broker_view():
    hosts = healthy_hosts()
    session = {"id": "s1"}
    view = {"sessions": [{"Id": "s1", "State": "READY", "Server": {"Hostname": "other-host"}}]}
    assert "not on b" in R.resolver_404_cause("b", session, hosts, wiring(), view)
    view["sessions"][0]["Server"]["Hostname"] = "verify-b"
    assert "?sessionId=" in R.resolver_404_cause("b", session, hosts, wiring(), view)
    assert "unknown to the broker" in R.resolver_404_cause("b", session, hosts, wiring(), {"sessions": []})
    assert "automatic console" in R.resolver_404_cause("b", {"id": "console"}, hosts, wiring(), {"sessions": []})
    assert "automatic console" in R.resolver_404_cause("b", {"id": "console"}, hosts, wiring(), None)
    hosts["a"]["live"]["commands"]["agent_clients"]["stdout"] = "Session manager agent clients\n[]"
    assert "not registered with the broker" in R.resolver_404_cause("b", session, hosts, wiring(), view)


def test_public_name_missing_from_gateway_certificate():
    hosts = healthy_hosts()
    hosts["a"]["links"]["probes"]["public:desktops.test"] = {
        "ok": False, "category": "tls_hostname", "host": "desktops.test", "port": 8443,
        "peer": {"names": ["host-a.test"], "issuer": "CA"}}
    row = rows_by_link(hosts)[("public names -> gateway certificate", "a")]
    assert "covers host-a.test but not the public name desktops.test" in row["result"]
    assert "dcv_gateway_public_names" in row["result"]


def test_clock_skew():
    hosts = healthy_hosts()
    hosts["b"]["live"]["time"] = 1100.0
    row = rows_by_link(hosts)[("clock skew between hosts", "all")]
    assert not row["ok"] and "b's clock is +99 s off" in row["result"]


def test_unreachable_host_is_a_row():
    hosts = healthy_hosts()
    hosts["b"] = {"unreachable": "ssh: connect to host b port 22: Connection timed out"}
    rows = R.build_rows(hosts, wiring())
    assert rows[0]["link"] == "reach the host" and not rows[0]["ok"]
    assert "Connection timed out" in rows[0]["result"]


def test_operator_rows_tell_proxy_from_network():
    proxy = {"ok": False, "category": "proxy_auth", "proxy": "http://proxy:3128", "host": "desktops.test",
             "port": 8443, "error": "the HTTP proxy answered HTTP/1.1 407"}
    network = {"ok": False, "category": "timeout", "host": "desktops.test", "port": 8443, "error": "timed out"}
    (row,) = R.rows_operator({"public:desktops.test": proxy}, ["desktops.test"])
    assert "answered 407" in row["result"] and "NO_PROXY" in row["result"] and "not a network failure" in row["result"]
    (row,) = R.rows_operator({"public:desktops.test": network}, ["desktops.test"])
    assert "network failure" in row["result"] and "not a proxy" in row["result"]


def test_filter_reads_registered_results():
    hostvars = {"a": {"dcv_verify_live": {"unreachable": True, "msg": "timed out"}},
                "b": {"dcv_verify_live": {"time": 1.0, "files": {}}, "dcv_verify_links": {"skipped": True},
                      "dcv_verify_t0": 0.5, "dcv_verify_t1": 1.5}}
    hosts = verify_report.verify_hosts(["a", "b"], hostvars)
    assert hosts["a"]["unreachable"] == "timed out"
    assert hosts["b"]["live"]["time"] == 1.0 and hosts["b"]["links"] is None
    probes = verify_report.verify_operator_probes(wiring(), HOSTVARS, "/ca.pem", {"desktops.test": "10.0.0.1"})
    assert probes == [{"name": "public:desktops.test", "host": "desktops.test", "port": 8443, "ca_file": "/ca.pem",
                       "use_proxy": True, "address": "10.0.0.1"}]


def test_client_api_row_uses_the_broker_view():
    hosts = healthy_hosts()
    view = {"sessions": [], "servers": [{"Hostname": "verify-b"}]}
    row = R.rows_client_api("a", hosts, wiring(), view)
    assert row["ok"] and "describeServers: verify-b" in row["result"]
    row = R.rows_client_api("a", hosts, wiring(), {"sessions_error": "HTTP 403 for POST /describeSessions",
                                                   "sessions_status": 403})
    assert not row["ok"] and "describeSessions answered HTTP 403" in row["result"]
    row = R.rows_client_api("a", hosts, wiring(), {"sessions": [], "servers_error": "broke off"})
    assert row["ok"] and "describeServers not read (broke off)" in row["result"]


def test_gateway_probes_the_ip_the_resolver_hands_out():
    hosts = healthy_hosts()
    hosts["a"]["links"]["probes"]["resolve:b:s1"] = dict(OK_TLS, status=200, body=json.dumps(
        {"SessionId": "s1", "TransportProtocol": "HTTP", "DcvServerEndpoint": "10.0.0.3", "Port": 8443,
         "WebUrlPath": "/"}))
    (probe,) = R.endpoint_probes("a", hosts, wiring())
    assert probe == {"name": "dcv-ip:b", "host": "10.0.0.3", "port": 8443,
                     "ca_file": "/etc/dcv-connection-gateway/certs/ca.pem"}
    assert R.endpoint_probes("b", hosts, wiring()) == []
    hosts["a"]["links"]["probes"]["dcv-ip:b"] = {"ok": False, "category": "tls_hostname", "host": "10.0.0.3",
                                                 "port": 8443, "peer": {"names": ["host-b.test"]}}
    row = rows_by_link(hosts)[("gateway -> DCV server b", "a")]
    assert "hands the gateway 10.0.0.3" in row["result"] and "dcv_host_addresses for b" in row["result"]
    hosts["a"]["links"]["probes"]["dcv-ip:b"] = dict(OK_TLS, host="10.0.0.3")
    assert "host-b.test and 10.0.0.3" in rows_by_link(hosts)[("gateway -> DCV server b", "a")]["result"]


# -- the brokers' DCV server DNS mappings (sm-admin "Amazon DCV Session Manager Amazon DCV server - DNS mapping
# reference": the gateway connects to a DCV server by the name the broker maps its address to) -------------------------

MAPPING_ROW = ("broker DNS mapping of DCV server b", "a")


def test_collect_spec_reads_the_mappings_on_brokers_only():
    broker = L.collect_spec(["broker"])
    assert {"name": "dns_mappings", "argv": [L.BROKER_CLI, "describe-server-dns-mappings"]} in broker["commands"]
    assert "dns_mappings" not in [c["name"] for c in L.collect_spec(["server", "gateway"])["commands"]]


def test_mapping_row_ok_names_address_and_name():
    row = rows_by_link(healthy_hosts())[MAPPING_ROW]
    assert row["ok"] and row["result"] == "ok (dcv-server mapping: 10.0.0.3 -> host-b.test)"


def test_missing_mapping_names_the_fix():
    hosts = healthy_hosts()
    hosts["a"]["live"]["commands"]["dns_mappings"]["stdout"] = "[ ]"
    row = rows_by_link(hosts)[MAPPING_ROW]
    assert not row["ok"]
    assert "a has no mapping for 10.0.0.3 (describe-server-dns-mappings)" in row["result"]
    assert "which the certificate of b (DNS names only) does not carry" in row["result"]
    assert "fix: re-run %s (role dcv_broker registers the mappings" % R.SITE in row["result"]


def test_mapping_to_another_name_is_named():
    hosts = healthy_hosts()
    hosts["a"]["live"]["commands"]["dns_mappings"]["stdout"] = MAPPINGS_OUT.replace("host-b.test", "old-b.test")
    row = rows_by_link(hosts)[MAPPING_ROW]
    assert not row["ok"] and "a maps 10.0.0.3 to old-b.test, not to host-b.test (dcv_host_name of b)" in row["result"]


def test_mappings_of_a_stopped_broker():
    hosts = healthy_hosts()
    hosts["a"]["live"]["units"][L.BROKER_UNIT] = {"ActiveState": "inactive", "MainPID": "0"}
    hosts["a"]["live"]["commands"]["dns_mappings"] = {"rc": 1, "stdout": "", "stderr": "error: cannot reach the broker"}
    row = rows_by_link(hosts)[MAPPING_ROW]
    assert not row["ok"]
    assert "dcv-session-manager-broker is inactive on a" in row["result"]
    assert "a broker without persistence starts without mappings" in row["result"]
    hosts["a"]["live"]["units"][L.BROKER_UNIT] = {"ActiveState": "active", "MainPID": "100"}
    row = rows_by_link(hosts)[MAPPING_ROW]
    assert "describe-server-dns-mappings failed (rc=1): error: cannot reach the broker" in row["result"]


def test_agent_reporting_an_unlisted_address_is_named_from_describe_servers():
    hosts = healthy_hosts()
    view = {"servers": [{"Hostname": "verify-b", "Ip": "10.9.9.9"}], "sessions": []}
    row = R.rows_dns_mapping("b", hosts, wiring(), view)
    assert not row["ok"]
    assert "the agent of b reports 10.9.9.9 (describeServers Ip) but dcv_host_addresses lists 10.0.0.3" in row["result"]
    assert "fix: add 10.9.9.9 to dcv_host_addresses for b" in row["result"]
    view["servers"][0]["Ip"] = "10.0.0.3"
    assert R.rows_dns_mapping("b", hosts, wiring(), view)["ok"]


def test_server_without_mappings_by_choice_and_without_gateways():
    hostvars = dict(HOSTVARS, b=dict(HOSTVARS["b"], dcv_server_dns_mappings=False))
    row = R.rows_dns_mapping("b", healthy_hosts(), dcv_wiring(GROUPS, hostvars), None)
    assert row["ok"] and "none by choice: dcv_server_dns_mappings is false" in row["result"] and "10.0.0.3" in row["result"]
    hostvars = dict(HOSTVARS, b={"dcv_host_name": "host-b.test", "dcv_server_dns_mappings": False})
    row = R.rows_dns_mapping("b", healthy_hosts(), dcv_wiring(GROUPS, hostvars), None)
    assert not row["ok"] and "dcv_host_addresses is empty" in row["result"]
    without_gateways = dcv_wiring({"dcv_brokers": ["a"], "dcv_servers": ["b"]}, HOSTVARS)
    assert "broker DNS mapping of DCV server b" not in [r["link"] for r in R.build_rows(healthy_hosts(), without_gateways)]


def test_mapped_server_without_addresses():
    hostvars = dict(HOSTVARS, b={"dcv_host_name": "host-b.test"})
    row = R.rows_dns_mapping("b", healthy_hosts(), dcv_wiring(GROUPS, hostvars), None)
    assert not row["ok"] and "dcv_host_addresses is empty for b: no mapping can name it" in row["result"]


def test_endpoint_that_is_the_servers_name_is_not_probed_twice():
    hosts = healthy_hosts()
    hosts["a"]["links"]["probes"]["resolve:b:s1"] = dict(OK_TLS, status=200, body=json.dumps(
        {"SessionId": "s1", "TransportProtocol": "HTTP", "DcvServerEndpoint": "host-b.test", "Port": 8443,
         "WebUrlPath": "/"}))
    assert R.endpoint_probes("a", hosts, wiring()) == []


def test_ip_endpoint_without_mappings_by_choice_names_the_addresses():
    hostvars = dict(HOSTVARS, b=dict(HOSTVARS["b"], dcv_server_dns_mappings=False))
    hosts = healthy_hosts()
    hosts["a"]["links"]["probes"]["dcv-ip:b"] = {"ok": False, "category": "tls_hostname", "host": "10.0.0.4",
                                                 "port": 8443, "peer": {"names": ["host-b.test", "10.0.0.3"]}}
    rows = dict(((r["link"], r["from"]), r) for r in R.build_rows(hosts, dcv_wiring(GROUPS, hostvars)))
    row = rows[("gateway -> DCV server b", "a")]
    assert "as dcv_server_dns_mappings is false for b" in row["result"]
    assert "fix: add 10.0.0.4 to dcv_host_addresses for b" in row["result"]


# session.yml asks the resolver for a new session from the gateway host before it prints the URL
def test_the_session_resolver_probe_is_the_gateways_own_call():
    live = healthy_hosts()["a"]["live"]
    probe = R.session_resolver_probe(live, "s-42")
    assert (probe["name"], probe["host"], probe["port"], probe["method"]) == ("session", "host-a.test", 8447, "POST")
    assert probe["path"] == "/resolveSession?sessionId=s-42&transport=HTTP&clientIpAddress=127.0.0.1"
    assert probe["ca_file"] == "/etc/dcv-connection-gateway/certs/ca.pem"
    mtls = dict(live, files={L.GATEWAY_CONF: {"exists": True, "content": GATEWAY_CONF.replace(
        'ca-file = "/etc/dcv-connection-gateway/certs/ca.pem"\n[dcv]',
        'ca-file = "/etc/dcv-connection-gateway/certs/ca.pem"\ncert-file = "/c.pem"\ncert-key-file = "/c.key"\n[dcv]')}})
    probe = R.session_resolver_probe(mtls, "s-42")
    assert (probe["cert_file"], probe["key_file"]) == ("/c.pem", "/c.key")


def test_no_session_resolver_probe_without_a_gateway_configuration():
    assert R.session_resolver_probe({"files": {L.GATEWAY_CONF: {"exists": False}}}, "s") is None
    assert R.session_resolver_probe({"files": {L.GATEWAY_CONF: {"exists": True, "content": "[gateway]\n"}}}, "s") is None


@pytest.mark.parametrize("result, expected", [
    ({"probes": {"session": dict(OK_TLS, status=200, body='{"SessionId": "s-42"}')}}, ""),
    ({"probes": {"session": dict(OK_TLS, status=404, body="The requested combination of transport and sessionId does "
                                                          "not exist")}},
     "the broker's resolver answers HTTP 404 for session s-42 (The requested combination"),
    ({"probes": {"session": {"ok": False, "category": "refused", "error": "connection refused"}}},
     "cannot reach the broker's resolver to look up session s-42 (connection refused)"),
    ({"failed": True, "msg": "no python"}, "cannot reach the broker's resolver to look up session s-42 (no python)"),
    (None, "has no readable configuration with a [resolver] url"),
])
def test_session_resolver_problem(result, expected):
    problem = R.session_resolver_problem(result, "s-42", "gw-1")
    if expected:
        assert expected in problem and "gw-1" in problem
    else:
        assert problem == ""
