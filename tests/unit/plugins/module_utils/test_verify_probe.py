# -*- coding: utf-8 -*-
"""verify_probe against real TLS servers on 127.0.0.1, with certificates made here with cryptography."""

import datetime
import os
import socket
import ssl
import threading

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.dcvkit.session_manager.plugins.module_utils import verify_probe

NOW = datetime.datetime.now(datetime.timezone.utc)


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(common_name):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(_name(common_name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def issue(ca, names, client=False, not_after=None):
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName(n) for n in names]
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    cert = (x509.CertificateBuilder().subject_name(_name(names[0])).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=2))
            .not_valid_after(not_after or NOW + datetime.timedelta(days=10))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def write_pem(directory, name, cert=None, key=None):
    path = os.path.join(str(directory), name)
    with open(path, "wb") as handle:
        if cert is not None:
            handle.write(cert.public_bytes(serialization.Encoding.PEM))
        if key is not None:
            handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return path


class TlsServer(object):
    """TLS on 127.0.0.1 answering each request with a fixed HTTP status and body; optional client-cert check."""

    def __init__(self, tmp_path, ca, names=("broker.test",), status=404, body=b"not here", client_ca=None,
                 not_after=None):
        cert, key = issue(ca, list(names), not_after=not_after)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(write_pem(tmp_path, "server.pem", cert, key))
        if client_ca is not None:
            self.context.verify_mode = ssl.CERT_REQUIRED
            self.context.load_verify_locations(write_pem(tmp_path, "client-ca.pem", client_ca[0]))
        self.answer = b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            try:
                tls = self.context.wrap_socket(conn, server_side=True)
                data = tls.recv(65536)
                if data:
                    self.requests.append(data)
                    tls.sendall(self.answer)
                tls.close()
            except (ssl.SSLError, OSError):
                conn.close()

    def close(self):
        self.sock.close()


class Proxy(object):
    """HTTP forward proxy: answers CONNECT with ``status``; with 200 it tunnels to the requested port."""

    def __init__(self, status=407):
        self.status = status
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.connects = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            head = conn.recv(4096).decode("latin-1")
            self.connects.append(head.split("\r\n")[0])
            if self.status != 200:
                conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
                conn.close()
                continue
            port = int(head.split()[1].rsplit(":", 1)[1])
            upstream = socket.create_connection(("127.0.0.1", port))
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            for src, dst in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=_pipe, args=(src, dst), daemon=True).start()


def _pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@pytest.fixture
def ca():
    return make_ca("test CA")


@pytest.fixture
def ca_file(tmp_path, ca):
    return write_pem(tmp_path, "ca.pem", ca[0])


@pytest.fixture
def server(tmp_path, ca):
    srv = TlsServer(tmp_path, ca, status=404, body=b"The requested combination of transport and sessionId does not exist")
    yield srv
    srv.close()


def test_verified_tls_and_http_answer(server, ca_file):
    result = verify_probe.tls_probe("broker.test", server.port, address="127.0.0.1", ca_file=ca_file, method="POST",
                                    path="/resolveSession?sessionId=x&transport=HTTP")
    assert result["ok"] and result["category"] is None
    assert result["status"] == 404
    assert "does not exist" in result["body"]
    assert result["peer"]["names"] == ["broker.test"]
    assert server.requests[0].startswith(b"POST /resolveSession?sessionId=x&transport=HTTP HTTP/1.1\r\n")
    assert b"Host: broker.test:%d" % server.port in server.requests[0]


def test_other_ca_is_untrusted_and_names_the_peer_issuer(tmp_path, server):
    other = write_pem(tmp_path, "other.pem", make_ca("another CA")[0])
    result = verify_probe.tls_probe("broker.test", server.port, address="127.0.0.1", ca_file=other)
    assert not result["ok"]
    assert result["category"] == "tls_untrusted"
    assert result["peer"]["issuer"] == "test CA"


def test_name_not_in_certificate(server, ca_file):
    result = verify_probe.tls_probe("desktops.test", server.port, address="127.0.0.1", ca_file=ca_file)
    assert result["category"] == "tls_hostname"
    assert result["peer"]["names"] == ["broker.test"]


def test_expired_certificate(tmp_path, ca, ca_file):
    srv = TlsServer(tmp_path, ca, not_after=NOW - datetime.timedelta(days=1))
    try:
        result = verify_probe.tls_probe("broker.test", srv.port, address="127.0.0.1", ca_file=ca_file)
    finally:
        srv.close()
    assert result["category"] == "tls_expired"


def test_client_certificate_for_mutual_tls(tmp_path, ca, ca_file):
    client_ca = make_ca("client CA")
    srv = TlsServer(tmp_path, ca, status=200, body=b"{}", client_ca=client_ca)
    cert, key = issue(client_ca, ["gateway.test"], client=True)
    cert_file = write_pem(tmp_path, "client.pem", cert)
    key_file = write_pem(tmp_path, "client.key", key=key)
    try:
        without = verify_probe.tls_probe("broker.test", srv.port, address="127.0.0.1", ca_file=ca_file, method="GET")
        with_cert = verify_probe.tls_probe("broker.test", srv.port, address="127.0.0.1", ca_file=ca_file,
                                           method="GET", cert_file=cert_file, key_file=key_file)
    finally:
        srv.close()
    assert not without["ok"]
    assert with_cert["ok"] and with_cert["status"] == 200


def test_refused_dns_and_missing_ca(ca_file):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    assert verify_probe.tls_probe("127.0.0.1", port, ca_file=ca_file)["category"] == "refused"
    assert verify_probe.tls_probe("no-such-name.invalid", 443, ca_file=ca_file, timeout=5)["category"] == "dns"
    missing = verify_probe.tls_probe("127.0.0.1", port, ca_file="/nonexistent/ca.pem")
    assert missing["category"] == "ca_missing" and "/nonexistent/ca.pem" in missing["error"]


def test_proxy_407_is_a_proxy_not_a_network_failure(monkeypatch, server, ca_file):
    proxy = Proxy(status=407)
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:%d" % proxy.port)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    result = verify_probe.tls_probe("broker.test", server.port, ca_file=ca_file, use_proxy=True)
    assert result["category"] == "proxy_auth"
    assert result["proxy"] == "http://127.0.0.1:%d" % proxy.port
    assert "407" in result["error"]
    assert proxy.connects == ["CONNECT broker.test:%d HTTP/1.1" % server.port]


def test_proxy_ignored_unless_asked_and_bypassed_by_no_proxy(monkeypatch, server, ca_file):
    proxy = Proxy(status=407)
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:%d" % proxy.port)
    monkeypatch.setenv("no_proxy", "broker.test")
    bypassed = verify_probe.tls_probe("broker.test", server.port, address="127.0.0.1", ca_file=ca_file, use_proxy=True)
    direct = verify_probe.tls_probe("broker.test", server.port, address="127.0.0.1", ca_file=ca_file)
    assert bypassed["ok"] and direct["ok"]
    assert proxy.connects == []


def test_tunnel_through_an_open_proxy_still_verifies(monkeypatch, server, ca_file):
    proxy = Proxy(status=200)
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:%d" % proxy.port)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    # the proxy resolves nothing: it tunnels to 127.0.0.1 whatever the name, as a corporate proxy would to the NLB
    result = verify_probe.tls_probe("broker.test", server.port, ca_file=ca_file, use_proxy=True, method="GET")
    assert result["ok"] and result["proxy"] and result["status"] == 404


PROC_NET_TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 0100007F:B870 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 23456 1 0000000000000000 100 0 0 10 0
   2: 0100007F:20FB 0100007F:D2C4 01 00000000:00000000 00:00000000 00000000     0        0 34567 1 0000000000000000 100 0 0 10 0
"""

PROC_NET_TCP6 = (
    "  sl  local_address                         remote_address                        st tx_queue rx_queue\n"
    "   0: 00000000000000000000000000000000:231D 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 45678 1 0000000000000000 100 0 0 10 0\n")


def test_proc_net_tcp_listeners_only():
    assert verify_probe.parse_proc_net_tcp(PROC_NET_TCP) == [("0.0.0.0", 8443, "12345"), ("127.0.0.1", 47216, "23456")]
    assert verify_probe.parse_proc_net_tcp(PROC_NET_TCP6) == [("::", 8989, "45678")]


def test_listeners_name_this_process():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    try:
        port = sock.getsockname()[1]
        mine = [entry for entry in verify_probe.listeners() if entry["port"] == port]
    finally:
        sock.close()
    assert mine and mine[0]["address"] == "127.0.0.1"
    if os.geteuid() == 0:
        assert mine[0]["pid"] == os.getpid()


def test_read_properties_redacts_secrets(tmp_path):
    path = tmp_path / "broker.properties"
    path.write_text("enable-gateway = true\nclient-to-broker-connector-key-store-pass = s3cret\n"
                    "jdbc-password=x\nca-file = /x # comment\n")
    result = verify_probe.read_file(str(path), "properties")
    assert result["properties"] == {"enable-gateway": "true", "client-to-broker-connector-key-store-pass": "(secret)",
                                    "jdbc-password": "(secret)", "ca-file": "/x # comment"}
    assert "s3cret" not in repr(result)


def test_read_log_returns_last_matching_lines(tmp_path):
    path = tmp_path / "agent.log"
    path.write_text("a sessionsUpdateResponse: result=success\nnoise\nb sessionsUpdateResponse failed: TLS\n")
    assert verify_probe.read_file(str(path), "log", pattern="sessionsUpdateResponse", last=1)["lines"] == [
        "b sessionsUpdateResponse failed: TLS"]
    absent = str(tmp_path / "absent")
    assert verify_probe.read_file(absent, "text") == {"path": absent, "exists": False}


def test_unit_state_parses_systemctl_show():
    def run(argv):
        assert argv[:2] == ["systemctl", "show"]
        return 0, "ActiveState=failed\nMainPID=0\nLoadState=loaded\n", ""
    assert verify_probe.unit_state(run, "dcv-session-manager-broker") == {
        "unit": "dcv-session-manager-broker", "ActiveState": "failed", "MainPID": "0", "LoadState": "loaded"}


def test_ip_address_not_in_certificate(server, ca_file):
    result = verify_probe.tls_probe("127.0.0.1", server.port, ca_file=ca_file)
    assert result["category"] == "tls_hostname"
    assert result["peer"]["names"] == ["broker.test"]
