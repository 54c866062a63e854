# -*- coding: utf-8 -*-
"""Host A alone: broker + connection gateway from the stand-in packages, as the converge left them (on Debian here,
and on the Amazon Linux 2023 stand-in as host A of the whole-stack scenario, default, whose host-A tests then re-run
site.yml with other input)."""

import pytest

import dcvtest
from broker_gateway_host import A, BROKER, BROKER_CA, BROKER_NAME, GATEWAY, GATEWAY_CA, PUBLIC_NAME

testinfra_hosts = ["podman://" + A]


@pytest.mark.parametrize("path,owner,group,mode", [
    ("/etc/dcv-session-manager-broker/session-manager-broker.properties", "root", "dcvsmbroker", 0o640),
    ("/etc/dcv-session-manager-broker/tls/broker.p12", "root", "dcvsmbroker", 0o640),
    ("/etc/dcv-session-manager-broker/tls/broker.key", "root", "dcvsmbroker", 0o640),
    ("/etc/dcv-connection-gateway/dcv-connection-gateway.conf", "dcvcgw", "dcvcgw", 0o640),
    ("/etc/dcv-connection-gateway/certs/gateway.pem", "dcvcgw", "dcvcgw", 0o600),
    ("/etc/dcv-connection-gateway/certs/gateway.key", "dcvcgw", "dcvcgw", 0o600),
    ("/etc/dcv-connection-gateway/certs/ca.pem", "dcvcgw", "dcvcgw", 0o600),
])
def test_files_owners_modes(host, path, owner, group, mode):
    f = host.file(path)
    assert f.is_file
    assert (f.user, f.group, f.mode) == (owner, group, mode)


def test_gateway_key_is_pkcs8(host):
    assert host.file("/etc/dcv-connection-gateway/certs/gateway.key").content_string.startswith(
        "-----BEGIN PRIVATE KEY-----")


def test_broker_properties(host):
    text = host.file("/etc/dcv-session-manager-broker/session-manager-broker.properties").content_string
    assert "enable-gateway = true\n" in text
    assert "client-to-broker-connector-https-port = 8448\n" in text
    assert "dcvsm-pass" not in text
    for key in ("enable-session-resolver", "session-resolver-timeout", "\nca-file", "certificate-file",
                "certificate-key-file"):
        assert key not in text


def test_heap_dropin_without_vendor_edit(host):
    dropin = host.file("/etc/systemd/system/dcv-session-manager-broker.service.d/dcvkit-heap.conf")
    assert "_JAVA_OPTIONS=-Xmx256m" in dropin.content_string
    assert "_JAVA_OPTIONS=-Xmx256m" in host.check_output("systemctl show -p Environment %s" % BROKER)


def test_gateway_toml(host):
    text = host.file("/etc/dcv-connection-gateway/dcv-connection-gateway.conf").content_string
    assert 'web-listen-endpoints = ["0.0.0.0:8443"]' in text
    assert "quic-listen-endpoints = []" in text
    assert 'url = "https://%s:8447"' % BROKER_NAME in text
    assert 'local-resources-path = "/usr/share/dcv/www"' in text


@pytest.mark.parametrize("service", [BROKER, GATEWAY])
def test_services_running(host, service):
    s = host.service(service)
    assert s.is_running and s.is_enabled


@pytest.mark.parametrize("port", [8443, 8448, 8445, 8447, 8989])
def test_ports_listening(host, port):
    assert host.socket("tcp://0.0.0.0:%d" % port).is_listening or host.socket("tcp://:::%d" % port).is_listening


@pytest.mark.parametrize("port,name,ca", [
    (8448, BROKER_NAME, BROKER_CA), (8445, BROKER_NAME, BROKER_CA), (8447, BROKER_NAME, BROKER_CA),
    (8443, PUBLIC_NAME, GATEWAY_CA), (8443, BROKER_NAME, GATEWAY_CA),
])
def test_tls_verifies_against_ca_for_name(host, port, name, ca):
    result = dcvtest.tls_probe(host, port, name, ca)
    assert result.rc == 0, result.stderr
    assert "verified" in result.stdout


def test_tls_refuses_a_name_not_in_the_certificate(host):
    result = dcvtest.tls_probe(host, 8448, "not-the-broker.dcvkit.test", BROKER_CA)
    assert result.rc != 0
    assert "certificate" in result.stderr.lower() or "hostname" in result.stderr.lower()


def test_resolve_session_reachable_from_gateway_side(host):
    # the gateway's own trust anchor and the resolver URL's name: strict TLS, documented 404 for an unknown session
    result = dcvtest.tls_probe(host, 8447, BROKER_NAME, GATEWAY_CA, "POST",
                               "/resolveSession?sessionId=none&transport=HTTP&clientIpAddress=127.0.0.1")
    assert result.rc == 0, result.stderr
    assert result.stdout.startswith("HTTP/1.1 404"), result.stdout[:200]
    assert "The requested combination of transport and sessionId does not exist" in result.stdout


def test_gateway_health(host):
    assert host.check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8989/health") == "200"
