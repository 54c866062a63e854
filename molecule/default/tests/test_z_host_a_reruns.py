# -*- coding: utf-8 -*-
"""Host A on the reference platform, after broker_gateway's state tests: bad input refused before any change, a
setting restarts only its service, a mode fix restarts nothing. None of this depends on the OS family, so it runs
here only; molecule/broker_gateway checks the state on Debian. Each run is site.yml limited to host A
(conftest.py)."""

import functools

import pytest

import dcvtest
from broker_gateway_host import A, BROKER, BROKER_NAME, GATEWAY, GATEWAY_CA

testinfra_hosts = ["podman://" + A]


BAD_INPUTS = [
    ({"dcv_broker_properties": {"enable-session-resolver": "true"}}, ["enable-session-resolver", "dcv_broker_properties"]),
    ({"dcv_broker_properties": {"session-resolver-timeout": "30"}}, ["session-resolver-timeout", "dcv_broker_properties"]),
    ({"dcv_broker_properties": {"ca-file": "/etc/ca.pem"}}, ["ca-file", "dcv_broker_properties"]),
    ({"dcv_broker_properties": {"certificate-file": "/etc/c.pem"}}, ["certificate-file", "dcv_broker_properties"]),
    ({"dcv_broker_properties": {"certificate-key-file": "/etc/c.key"}}, ["certificate-key-file", "dcv_broker_properties"]),
    ({"dcv_broker_properties": {"enable-gatway": "true"}}, ["enable-gatway", "dcv_broker_extra_properties"]),
    ({"dcv_broker_client_port": 8443}, ["dcv_broker_client_port", "dcv_gateway_web_port", "8443"]),
    ({"dcv_gateway_web_listen_endpoints": ["https://0.0.0.0:8443"]}, ["dcv_gateway_web_listen_endpoints", "https://0.0.0.0:8443"]),
    ({"dcv_gateway_public_names": []}, ["dcv_gateway_public_names"]),
    ({"dcv_gateway_extra_settings": {"log{": {"level": "debug"}}}, ["dcv_gateway_extra_settings", "log{"]),
    ({"dcv_gateway_extra_settings": {"gateway": {"web-port": 8443}}}, ["dcv_gateway_extra_settings", "web-port"]),
]


@pytest.fixture(scope="module")
def bad_input_runs():
    """Every bad input run at once, with the host's managed files and unit start times before and after."""
    target = dcvtest.host(A)
    before = (dcvtest.snapshot(target), dcvtest.started_at(target, BROKER), dcvtest.started_at(target, GATEWAY))
    results = dcvtest.run_concurrently([functools.partial(dcvtest.run_playbook, extra) for extra, _named in BAD_INPUTS])
    after = (dcvtest.snapshot(target), dcvtest.started_at(target, BROKER), dcvtest.started_at(target, GATEWAY))
    return results, before, after


@pytest.mark.parametrize("index", range(len(BAD_INPUTS)), ids=[str(sorted(b[0].items()))[:60] for b in BAD_INPUTS])
def test_bad_input_fails_in_preflight(bad_input_runs, index):
    named = BAD_INPUTS[index][1]
    rc, output = bad_input_runs[0][index]
    assert rc != 0, output[-3000:]
    # the failure came from the preflight play, before any play that changes hosts
    for word in named:
        assert word in output, (word, output[-3000:])
    assert "PLAY [Brokers, and the DCV servers beside them]" not in output


def test_bad_inputs_changed_nothing(bad_input_runs):
    _results, before, after = bad_input_runs
    assert after == before


def test_changing_a_broker_property_restarts_only_the_broker(host):
    broker, gateway = dcvtest.started_at(host, BROKER), dcvtest.started_at(host, GATEWAY)
    rc, output = dcvtest.run_playbook({"dcv_broker_connect_session_token_minutes": 61})
    assert rc == 0, output[-3000:]
    assert "connect-session-token-duration-minutes = 61" in host.file(
        "/etc/dcv-session-manager-broker/session-manager-broker.properties").content_string
    assert dcvtest.started_at(host, BROKER) != broker
    assert dcvtest.started_at(host, GATEWAY) == gateway


def test_changing_a_gateway_setting_restarts_only_the_gateway(host):
    broker, gateway = dcvtest.started_at(host, BROKER), dcvtest.started_at(host, GATEWAY)
    rc, output = dcvtest.run_playbook({"dcv_broker_connect_session_token_minutes": 61,
                                       "dcv_gateway_log_level": "debug"})
    assert rc == 0, output[-3000:]
    assert 'level = "debug"' in host.file("/etc/dcv-connection-gateway/dcv-connection-gateway.conf").content_string
    assert dcvtest.started_at(host, GATEWAY) != gateway
    assert dcvtest.started_at(host, BROKER) == broker


def _resolve_with(host, cert=None, key=None):
    """curl the resolver as the gateway does (strict TLS, the gateway's CA), optionally with a client certificate."""
    client = "--cert %s --key %s" % (cert, key) if cert else ""
    return host.run("curl -sS -X POST --max-time 20 --cacert %s %s -o /dev/null -w '%%{http_code}' "
                    "'https://%s:8447/resolveSession?sessionId=none&transport=HTTP&clientIpAddress=127.0.0.1'"
                    % (GATEWAY_CA, client, BROKER_NAME))


def test_gateway_client_auth_admits_the_gateway_certificate_only(host):
    broker = dcvtest.started_at(host, BROKER)
    rc, output = dcvtest.run_playbook({"dcv_gateway_client_auth": True})
    assert rc == 0, output[-3000:]
    assert dcvtest.started_at(host, BROKER) != broker
    properties = host.file("/etc/dcv-session-manager-broker/session-manager-broker.properties").content_string
    assert "enable-tls-client-auth-gateway = true" in properties
    store = host.file("/etc/dcv-session-manager-broker/tls/gateway-clients.p12")
    assert (store.user, store.group, store.mode) == ("root", "dcvsmbroker", 0o640)
    client_key = host.file("/etc/dcv-connection-gateway/certs/broker-client.key")
    assert (client_key.user, client_key.mode) == ("dcvcgw", 0o600)
    gateway_conf = host.file("/etc/dcv-connection-gateway/dcv-connection-gateway.conf").content_string
    assert 'cert-file = "/etc/dcv-connection-gateway/certs/broker-client.pem"' in gateway_conf
    # the gateway's client certificate is admitted (an unknown session: 404) ...
    admitted = _resolve_with(host, "/etc/dcv-connection-gateway/certs/broker-client.pem",
                             "/etc/dcv-connection-gateway/certs/broker-client.key")
    assert admitted.stdout == "404", (admitted.stdout, admitted.stderr)
    # ... a client without one is not, nor one with another certificate of the same CA (the broker's own)
    assert _resolve_with(host).stdout == "000"
    assert _resolve_with(host, "/etc/dcv-session-manager-broker/tls/broker.pem",
                         "/etc/dcv-session-manager-broker/tls/broker.key").stdout == "000"
    # and the run after it changes nothing
    rc, output = dcvtest.run_playbook({"dcv_gateway_client_auth": True})
    assert rc == 0 and "changed=0" in output.rsplit("PLAY RECAP", 1)[1], output[-2000:]


def test_back_to_the_inventory_and_idempotent(host):
    dcvtest.assert_back_to_the_inventory_and_quiet()


# After test_back_to_the_inventory_and_idempotent: the host is as the inventory has it. A restart drops what a service
# carries (a broker without persistence forgets every session), so only new content restarts, never a mode fix.
# Each file here is read by a service only when it starts. {the task that owns the files: {path: (a wrong mode, the
# mode the role sets)}}: one change per task, however many of its files it fixes
MODE_FIXES = {
    "Install the properties file (root:dcvsmbroker 0640, the broker refuses anything else) and the heap drop-in": {
        "/etc/dcv-session-manager-broker/session-manager-broker.properties": ("0644", 0o640),
        "/etc/systemd/system/dcv-session-manager-broker.service.d/dcvkit-heap.conf": ("0600", 0o644)},
    "Issue the broker certificate and its PKCS#12 key store": {
        "/etc/dcv-session-manager-broker/tls/broker.p12": ("0644", 0o640)},
    "Install the configuration": {"/etc/dcv-connection-gateway/dcv-connection-gateway.conf": ("0644", 0o640)},
    "Issue the gateway certificate (SAN = public names + host names and addresses, PKCS#8 key)": {
        "/etc/dcv-connection-gateway/certs/gateway.key": ("0640", 0o600)},
}


def test_a_mode_fix_alone_restarts_neither_service(host):
    dcvtest.assert_mode_fixes_restart_nothing(host, A, MODE_FIXES, (BROKER, GATEWAY))


def test_new_content_in_several_files_restarts_each_service_once(host):
    # broker: the properties file and the heap drop-in; gateway: its configuration and its CA file
    host.check_output("echo 'not the CA' > %s" % GATEWAY_CA)
    dcvtest.assert_each_service_restarts_once(
        host, {"dcv_broker_properties": {"session-screenshot-max-width": 200}, "dcv_broker_heap_size": "320m",
               "dcv_gateway_log_level": "debug"},
        {BROKER: ("dcv_broker", "Restart the broker"), GATEWAY: ("dcv_gateway", "Restart the gateway")})
    # the restart reloaded the unit: the broker runs with the new drop-in, the gateway trusts the CA again
    assert "_JAVA_OPTIONS=-Xmx320m" in host.check_output("systemctl show -p Environment %s" % BROKER)
    assert "session-screenshot-max-width = 200" in host.file(
        "/etc/dcv-session-manager-broker/session-manager-broker.properties").content_string
    assert dcvtest.tls_probe(host, 8447, BROKER_NAME, GATEWAY_CA).rc == 0
