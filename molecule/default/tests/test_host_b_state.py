# -*- coding: utf-8 -*-
"""Host B (DCV server + agent) as the converge left it, and what host A knows of it: files, modes, dcv.conf,
agent.conf, services, no console session, the DCV server's TLS for the name the gateway uses, the broker's DNS
mapping of host B, the agent's report and its placement tag (the scenario's dcv_agent_tags). The former
server_agent scenario's state tests, on this scenario's host B.

Read-only, and before test_stack.py: no session exists on host B yet (test_no_automatic_console_session), and no
test has restarted the broker since the converge (the agent's last report is a successful one)."""

import configparser
import json
import os

import pytest
from cryptography import x509

import dcvtest
import stack

testinfra_hosts = ["podman://" + stack.B_NAME]

A, B = stack.A_NAME, stack.B_NAME
BROKER_NAME = stack.BROKER
SERVER_NAME = stack.SERVER
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
    assert B in hostnames or SERVER_NAME in hostnames, hostnames
    # the address the agent reports is the one the broker maps (dcv_host_addresses from default_ipv4)
    mapped = [m["serverId"] for m in json.loads(a.check_output("dcv-session-manager-broker describe-server-dns-mappings"))]
    assert [s["Ip"] for s in servers] == mapped, (servers, mapped)
    assert "lab" in hostnames  # the placement tag travelled with the report
