# -*- coding: utf-8 -*-
"""playbooks/verify.yml on the lab: all ok on a healthy stack; for each injected fault
its row names the cause; the run fails (non-zero exit) whenever a row is not ok. Every fault is undone before
the next test, and the healthy table is checked again at the end."""

import datetime
import json
import os
import socket
import subprocess
import threading

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from operator_runs import A, B, assert_healthy, close_dcv_sessions, host, open_session, row, run_verify

testinfra_hosts = ["podman://verify-a"]

PROPERTIES = "/etc/dcv-session-manager-broker/session-manager-broker.properties"
AGENT_CA = "/etc/dcv-session-manager-agent/ca.pem"
DCV_CONF = "/etc/dcv/dcv.conf"
GATEWAY_CERT = "/etc/dcv-connection-gateway/certs/gateway.pem"
GATEWAY_KEY = "/etc/dcv-connection-gateway/certs/gateway.key"


EXPECTED_LINKS = ["agent -> broker", "DCV server -> broker token verifier", "gateway -> broker resolver",
                  "gateway -> DCV server verify-b", "public names -> gateway certificate", "broker client API",
                  "port clashes", "unknown keys in live config files", "automatic console sessions",
                  "clock skew between hosts", "broker DNS mapping of DCV server verify-b"]


@pytest.fixture(scope="module")
def healthy():
    session_id, _how, _output = open_session()
    rc, rows, output = run_verify()
    return rc, rows, output, session_id


def test_healthy_lab_all_ok(healthy):
    rc, rows, output, session_id = healthy
    for link in EXPECTED_LINKS:
        row(rows, link)
    assert row(rows, "port clashes", A)["status"] == "ok"
    assert row(rows, "port clashes", B)["status"] == "ok"
    # the session opened through the broker resolves from the gateway, and the broker lists its server
    assert row(rows, "resolver: session %s on %s" % (session_id, B))["result"] == "ok (resolves)"
    assert "token endpoint answers" in row(rows, "broker client API")["result"]
    # sm-admin "Amazon DCV Session Manager Amazon DCV server - DNS mapping reference": the broker maps the address
    # verify-b's agent reports (describeServers, read with session.yml's API client) to its name
    address = host(B).check_output("hostname -I").split()[0]
    assert row(rows, "broker DNS mapping of DCV server verify-b")["result"] == \
        "ok (dcv-server mapping: %s -> host-b.dcvkit.test)" % address
    assert_healthy(rows, rc, output)


def _backup(target, path):
    target.check_output("cp -p %s %s.verify-backup" % (path, path))


def _restore(target, path):
    target.check_output("mv -f %s.verify-backup %s" % (path, path))


def _certificate_without_public_name():
    ca_dir = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "dcv-ca")
    with open(os.path.join(ca_dir, "ca.pem"), "rb") as handle:
        ca_cert = x509.load_pem_x509_certificate(handle.read())
    with open(os.path.join(ca_dir, "ca.key"), "rb") as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "host-a.dcvkit.test")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("host-a.dcvkit.test")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def _put(container, path, data):
    subprocess.run(["podman", "exec", "-i", container, "sh", "-c", "cat > %s" % path], input=data, check=True)


class TestFourIndependentFaults(object):
    """Four faults on four different links, injected together to keep the scenario short (one verify.yml run);
    each test checks that its own row names its own cause. All are undone when the class is done."""

    @pytest.fixture(scope="class")
    def faulty(self):
        a, b = host(A), host(B)
        for target, path in ((b, AGENT_CA), (b, DCV_CONF), (a, GATEWAY_CERT), (a, GATEWAY_KEY), (a, PROPERTIES)):
            _backup(target, path)
        try:
            # wrong CA on the agent
            b.check_output("openssl req -x509 -newkey rsa:2048 -nodes -keyout /tmp/other-ca.key -out /tmp/other-ca.pem "
                           "-subj /CN=another-ca -days 2 2>/dev/null && cp /tmp/other-ca.pem %s" % AGENT_CA)
            # automatic console session enabled
            b.check_output("sed -i 's/^create-session.*/create-session = true/' %s && systemctl restart dcvserver"
                           % DCV_CONF)
            # gateway certificate without the public name (same CA, so only the name is wrong)
            cert, key = _certificate_without_public_name()
            _put(A, GATEWAY_CERT, cert)
            _put(A, GATEWAY_KEY, key)
            a.check_output("systemctl restart dcv-connection-gateway")
            # a key the broker does not have, and a misspelt one
            a.check_output("printf 'enable-session-resolver = true\\nclient-to-broker-conector-https-port = 8448\\n'"
                           " >> %s" % PROPERTIES)
            yield run_verify()
        finally:
            for target, path in ((b, AGENT_CA), (b, DCV_CONF), (a, GATEWAY_CERT), (a, GATEWAY_KEY), (a, PROPERTIES)):
                _restore(target, path)
            b.check_output("systemctl restart dcvserver")
            a.check_output("systemctl restart dcv-connection-gateway")

    def test_run_fails(self, faulty):
        rc, rows, _out = faulty
        assert rc != 0
        # the links nobody broke stay ok
        for link, origin in (("broker client API", A), ("gateway -> broker resolver", A), ("clock skew", "all")):
            assert row(rows, link, origin)["status"] == "ok", row(rows, link, origin)

    def test_wrong_ca_on_agent(self, faulty):
        agent = row(faulty[1], "agent -> broker", B)
        assert agent["status"] == "FAIL"
        assert "not signed by the CA in agent.conf ca_file = %s" % AGENT_CA in agent["result"]
        assert "dcv_ca_path" in agent["result"]

    def test_automatic_console_session(self, faulty):
        console = row(faulty[1], "automatic console sessions", B)
        assert console["status"] == "FAIL"
        assert "create-session = true" in console["result"]
        assert "dcv_server_create_session: false" in console["result"]
        assert "a session named 'console' is running" in console["result"]
        resolved = row(faulty[1], "resolver: session console on %s" % B)
        assert resolved["status"] == "FAIL"
        assert "was not created through the broker (DCV's automatic console session)" in resolved["result"]

    def test_gateway_certificate_missing_public_name(self, faulty):
        public = row(faulty[1], "public names -> gateway certificate", A)
        assert public["status"] == "FAIL"
        assert "covers host-a.dcvkit.test but not the public name desktops.dcvkit.test" in public["result"]
        assert "dcv_gateway_public_names" in public["result"]

    def test_unknown_broker_key(self, faulty):
        keys = row(faulty[1], "unknown keys in live config files", A)
        assert keys["status"] == "FAIL"
        assert "key 'enable-session-resolver' does not exist in the broker" in keys["result"]
        assert "key 'client-to-broker-conector-https-port' is not a documented broker property" in keys["result"]


def test_broker_client_port_clash():
    a = host(A)
    _backup(a, PROPERTIES)
    try:
        a.check_output("sed -i 's/^client-to-broker-connector-https-port.*/client-to-broker-connector-https-port = "
                       "8443/' %s" % PROPERTIES)
        a.run("systemctl restart dcv-session-manager-broker")  # fails: the gateway holds 8443
        rc, rows, _out = run_verify()
        ports = row(rows, "port clashes", A)
        assert ports["status"] == "FAIL"
        assert "port clash on 8443: dcv_broker_client_port" in ports["result"]
        assert "dcv_gateway_web_port" in ports["result"]
        assert "8448" in ports["result"]
        assert rc != 0
    finally:
        _restore(a, PROPERTIES)
        a.check_output("systemctl restart dcv-session-manager-broker")
        close_dcv_sessions()


def test_missing_dns_mapping():
    # a broker without persistence that restarted (or mappings replaced by hand): the resolver hands the gateway
    # verify-b's IP, which its certificate (DNS names only) does not carry
    a = host(A)
    saved = [{"ServerIdType": m["serverIdType"], "ServerId": m["serverId"],
              "DnsNames": {"InternalDnsName": m["dnsNames"]["internalDnsName"]}}
             for m in json.loads(a.check_output("dcv-session-manager-broker describe-server-dns-mappings"))]
    a.check_output("echo '[]' > /root/verify-mappings.json && "
                   "dcv-session-manager-broker register-server-dns-mappings --file-path /root/verify-mappings.json")
    try:
        rc, rows, _out = run_verify()
        mapping = row(rows, "broker DNS mapping of DCV server verify-b", A)
        assert mapping["status"] == "FAIL", mapping
        assert "verify-a has no mapping for" in mapping["result"], mapping
        assert "role dcv_broker registers the mappings" in mapping["result"], mapping
        assert rc != 0
    finally:
        a.check_output("cat > /root/verify-mappings.json <<'EOF'\n%s\nEOF\n"
                       "dcv-session-manager-broker register-server-dns-mappings --file-path /root/verify-mappings.json && "
                       "rm -f /root/verify-mappings.json" % json.dumps(saved))


def test_stopped_broker():
    a = host(A)
    a.check_output("systemctl stop dcv-session-manager-broker")
    try:
        rc, rows, _out = run_verify()
        for link, origin in (("broker client API", A), ("agent -> broker", B), ("gateway -> broker resolver", A),
                             ("DCV server -> broker token verifier", B)):
            result = row(rows, link, origin)
            assert result["status"] == "FAIL", result
            assert "dcv-session-manager-broker is inactive on verify-a" in result["result"], result
            assert "systemctl start dcv-session-manager-broker" in result["result"], result
        assert rc != 0
    finally:
        a.check_output("systemctl start dcv-session-manager-broker")
        close_dcv_sessions()


class _Refusing407Proxy(object):
    """A forward proxy that wants credentials: answers every CONNECT with 407."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\n"
                         b"Content-Length: 0\r\n\r\n")
            conn.close()


def test_operator_tells_proxy_407_from_network_failure():
    address = host(A).check_output("hostname -I").split()[0]
    proxy = _Refusing407Proxy()
    extra = {"dcv_verify_from_operator": True, "dcv_verify_operator_addresses": {"desktops.dcvkit.test": address}}
    _rc, rows, _out = run_verify(extra, env={"https_proxy": "http://127.0.0.1:%d" % proxy.port, "no_proxy": ""})
    through_proxy = row(rows, "operator -> desktops.dcvkit.test")
    assert through_proxy["status"] == "FAIL"
    assert "answered 407 Proxy Authentication Required" in through_proxy["result"]
    assert "NO_PROXY" in through_proxy["result"]
    proxy.sock.close()
    _rc, rows, _out = run_verify(dict(extra, dcv_verify_operator_addresses={"desktops.dcvkit.test": "127.0.0.1"}),
                                 env={"https_proxy": "", "no_proxy": "*"})
    network = row(rows, "operator -> desktops.dcvkit.test")
    assert network["status"] == "FAIL"
    assert "network failure" in network["result"] and "not a proxy" in network["result"]


def test_healthy_again_after_every_fault():
    rc, rows, output = run_verify()
    assert_healthy(rows, rc, output)
