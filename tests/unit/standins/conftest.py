"""Fixtures for the stand-ins' own tests: a throw-away PKI, free loopback ports, and
in-process broker / DCV server / agent / gateway wired together on 127.0.0.1."""

import base64
import datetime
import hashlib
import ipaddress
import json
import os
import socket
import sys
import threading
import time
import types

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

STANDINS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "standins")
if STANDINS not in sys.path:
    sys.path.insert(0, STANDINS)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout=10.0, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()


class Pki:
    """A CA per name, leaf certificates signed by it, written as PEM / PKCS#8 / PKCS#12."""

    def __init__(self, directory):
        self.dir = directory
        self.cas = {}

    def _write(self, name, data, mode=0o600):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as handle:
            handle.write(data)
        os.chmod(path, mode)
        return path

    def ca(self, name):
        if name not in self.cas:
            key = ec.generate_private_key(ec.SECP256R1())
            subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA %s" % name)])
            now = datetime.datetime.utcnow()
            cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                    .public_key(key.public_key()).serial_number(x509.random_serial_number())
                    .not_valid_before(now - datetime.timedelta(hours=1))
                    .not_valid_after(now + datetime.timedelta(days=30))
                    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                    .sign(key, hashes.SHA256()))
            path = self._write("ca-%s.pem" % name, cert.public_bytes(serialization.Encoding.PEM), 0o644)
            self.cas[name] = (key, cert, path)
        return self.cas[name][2]

    def leaf(self, ca_name, name, dns=("localhost",), ips=("127.0.0.1",), rsa_key=False):
        """Return dict with cert/key/chain paths, a PKCS#12 store (password 'changeit')."""
        self.ca(ca_name)
        ca_key, ca_cert, _path = self.cas[ca_name]
        key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if rsa_key
               else ec.generate_private_key(ec.SECP256R1()))
        now = datetime.datetime.utcnow()
        sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(ca_cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .sign(ca_key, hashes.SHA256()))
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        traditional = key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.TraditionalOpenSSL,
                                        serialization.NoEncryption())
        p12 = pkcs12.serialize_key_and_certificates(
            name.encode(), key, cert, [ca_cert], serialization.BestAvailableEncryption(b"changeit"))
        return {
            "cert": self._write("%s.pem" % name, cert_pem, 0o644),
            "key": self._write("%s.key" % name, pkcs8),
            "key_traditional": self._write("%s.traditional.key" % name, traditional),
            "p12": self._write("%s.p12" % name, p12),
        }

    def trust_store(self, ca_name, password="changeit"):
        self.ca(ca_name)
        _key, ca_cert, _path = self.cas[ca_name]
        data = pkcs12.serialize_key_and_certificates(
            None, None, None, [ca_cert], serialization.BestAvailableEncryption(password.encode()))
        return self._write("truststore-%s.p12" % ca_name, data)


@pytest.fixture
def pki(tmp_path):
    directory = tmp_path / "pki"
    directory.mkdir()
    return Pki(str(directory))


@pytest.fixture
def ports():
    return {name: free_port() for name in ("client", "agent", "gateway", "cli", "dcv", "web", "health")}


def write(path, text, mode=0o644):
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)
    return str(path)


def broker_properties(ports, pki, extra=""):
    """Properties for an in-process broker: PKCS#12 identities from CA 'main', gateway mTLS."""
    broker = pki.leaf("main", "broker")
    return (
        "session-manager-working-path = /tmp\n"
        "client-to-broker-connector-https-port = %(client)d\n"
        "client-to-broker-connector-bind-host = 127.0.0.1\n"
        "client-to-broker-connector-key-store-file = %(p12)s\n"
        "client-to-broker-connector-key-store-pass = changeit\n"
        "agent-to-broker-connector-https-port = %(agent)d\n"
        "agent-to-broker-connector-bind-host = 127.0.0.1\n"
        "agent-to-broker-connector-key-store-file = %(p12)s\n"
        "agent-to-broker-connector-key-store-pass = changeit\n"
        "enable-gateway = true\n"
        "gateway-to-broker-connector-https-port = %(gateway)d\n"
        "gateway-to-broker-connector-bind-host = 127.0.0.1\n"
        "gateway-to-broker-connector-key-store-file = %(p12)s\n"
        "gateway-to-broker-connector-key-store-pass = changeit\n"
        "enable-tls-client-auth-gateway = true\n"
        "gateway-to-broker-connector-trust-store-file = %(trust)s\n"
        "gateway-to-broker-connector-trust-store-pass = changeit\n"
        "cli-to-broker-port = %(cli)d\n"
        % dict(ports, p12=broker["p12"], trust=pki.trust_store("main"))) + extra


@pytest.fixture
def make_broker(tmp_path, ports, pki):
    """Start an in-process broker (owner check against the current uid/gid); stop at the end."""
    from dcvstandin.broker import Broker
    started = []

    def factory(extra="", properties=None, mode=0o640):
        path = write(tmp_path / "broker.properties",
                     properties if properties is not None else broker_properties(ports, pki, extra), mode)
        state = tmp_path / "broker-state"
        state.mkdir(exist_ok=True)
        broker = Broker(path, str(state), str(tmp_path / "broker.log"), owner_uid=os.getuid(),
                        owner_gid=os.getgid(), hostname="brokerhost")
        broker.start()
        started.append(broker)
        return broker

    yield factory
    for broker in started:
        broker.stop()


class FakeBridge:
    """Stands in for a session's websockify + x11vnc: answers the WebSocket upgrade with 101 (RFC 6455
    accept key) and then echoes every byte.  Records the request heads and the bytes it received."""

    GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self):
        self.heads, self.received = [], b""
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    self.received += data
                    return
                data += chunk
            head, _sep, rest = data.partition(b"\r\n\r\n")
            self.heads.append(head + b"\r\n\r\n")
            key = [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:")]
            accept = base64.b64encode(hashlib.sha1((key[0] if key else b"") + self.GUID).digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            if rest:
                self.received += rest
                conn.sendall(rest)
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.received += chunk
                conn.sendall(chunk)

    def close(self):
        self.sock.close()


class FakeLauncher:
    """Stands in for xsession.DesktopLauncher in the chain tests: no X, no processes; every VIRTUAL
    session's websockify port is the FakeBridge, and ``restricted_bridge`` serves every user whose input the
    permissions restrict (``restricted`` records (session id, x11vnc input letters) per such stream)."""

    def __init__(self, bridge, restricted_bridge):
        self.bridge, self.restricted_bridge, self.started, self.stopped = bridge, restricted_bridge, [], []
        self.restricted = []

    def start(self, session_id, owner):
        desktop = types.SimpleNamespace(session_id=session_id, owner=owner,
                                        display=":%d" % (10 + len(self.started)), vnc_port=None,
                                        ws_port=self.bridge.port, desktop_environment=False,
                                        log_path="(fake)")
        self.started.append(desktop)
        return desktop

    def bridge_port(self, desktop, letters):
        from dcvstandin import xsession
        if letters == xsession.FULL_INPUT:
            return desktop.ws_port
        self.restricted.append((desktop.session_id, letters))
        return self.restricted_bridge.port

    def stop(self, desktop):
        self.stopped.append(desktop.session_id)


class Stack:
    """Broker, DCV server, agent and gateway on loopback, all trusting CA 'main'."""

    def __init__(self, tmp_path, ports, pki, make_broker):
        import getpass

        from dcvstandin.agent import Agent
        from dcvstandin.gateway import Gateway
        from dcvstandin.server import DcvServer
        self.tmp, self.ports, self.pki = tmp_path, ports, pki
        self.user = getpass.getuser()
        self.ca = pki.ca("main")
        self.other_ca = pki.ca("other")
        self.broker = make_broker()
        dcv_dir = tmp_path / "dcv"
        dcv_dir.mkdir()
        dcv = pki.leaf("main", "dcv")
        os.replace(dcv["cert"], str(dcv_dir / "dcv.pem"))
        os.replace(dcv["key"], str(dcv_dir / "dcv.key"))
        self.dcv_conf = write(dcv_dir / "dcv.conf", (
            "[session-management]\ncreate-session = true\n"
            "[session-management/automatic-console-session]\nowner = \"%(user)s\"\n"
            "[connectivity]\nweb-port = %(dcv)d\n"
            "[security]\nadministrators = [\"%(user)s\"]\n"
            "auth-token-verifier = \"https://localhost:%(agent)d/agent/validate-authentication-token\"\n"
            "ca-file = \"%(ca)s\"\n") % dict(ports, user=self.user, ca=self.ca))
        self.xdcv = write(tmp_path / "Xdcv", "#!/bin/sh\nexit 1\n", 0o755)
        self.socket = str(tmp_path / "run" / "control.sock")
        self.bridge, self.restricted_bridge = FakeBridge(), FakeBridge()
        self.launcher = FakeLauncher(self.bridge, self.restricted_bridge)
        self.dcv = DcvServer(self.dcv_conf, str(dcv_dir), self.socket, str(tmp_path / "dcv.log"),
                             xdcv=self.xdcv, www_dir=str(tmp_path / "nowww"), bind_host="127.0.0.1",
                             launcher=self.launcher)
        self.dcv.start()
        self.agent_conf = self.write_agent_conf(self.ca)
        self.agent = Agent(self.agent_conf, self.dcv_conf, str(tmp_path / "agent-state.json"),
                           self.socket, str(tmp_path / "agent.log"))
        www = tmp_path / "www"
        (www / "css").mkdir(parents=True)
        write(www / "index.html", "<html>viewer</html>")
        write(www / "css" / "main.css", "body {}")
        gateway = pki.leaf("main", "gateway")
        client = pki.leaf("main", "gateway-client")
        self.gateway_conf_text = (
            "[gateway]\nweb-listen-endpoints = [\"127.0.0.1:%(web)d\"]\n"
            "cert-file = \"%(cert)s\"\ncert-key-file = \"%(key)s\"\n"
            "[health-check]\nbind-addr = \"127.0.0.1\"\nport = %(health)d\n"
            "[resolver]\nurl = \"https://localhost:%(gateway)d\"\nca-file = \"%(ca)s\"\n"
            "cert-file = \"%(ccert)s\"\ncert-key-file = \"%(ckey)s\"\n"
            "[dcv]\nca-file = \"%(ca)s\"\n"
            "[web-resources]\nlocal-resources-path = \"%(www)s\"\n"
            "[log]\nlevel = \"info\"\n") % dict(ports, cert=gateway["cert"], key=gateway["key"],
                                                ca=self.ca, ccert=client["cert"], ckey=client["key"],
                                                www=str(www))
        self.gateway_conf = write(tmp_path / "gateway.conf", self.gateway_conf_text)
        self.gateway = Gateway(self.gateway_conf, str(tmp_path / "gateway.log"))
        self.gateway.start()

    def write_agent_conf(self, ca_file, name="agent.conf"):
        return write(self.tmp / name, (
            "version = '0.1'\n[agent]\nbroker_host = 'localhost'\nbroker_port = %d\n"
            "ca_file = '%s'\ntls_strict = true\nbroker_update_interval = 1\n"
            "[log]\nlevel = 'info'\n") % (self.ports["agent"], ca_file))

    def log(self, name):
        with open(str(self.tmp / ("%s.log" % name))) as handle:
            return handle.read()

    def stop(self):
        self.gateway.stop()
        self.dcv.stop()
        self.bridge.close()
        self.restricted_bridge.close()


@pytest.fixture
def stack(tmp_path, ports, pki, make_broker):
    built = Stack(tmp_path, ports, pki, make_broker)
    yield built
    built.stop()


@pytest.fixture
def helpers():
    """Plain helper functions for tests (test modules cannot import conftest)."""
    return types.SimpleNamespace(write=write, broker_properties=broker_properties, wait_for=wait_for,
                                 api_token=api_token)


def api_token(stack, capsys):
    """An access token of the client API, for a client registered with the stand-in broker CLI."""
    from dcvstandin import brokercli, common
    assert brokercli.main(["--properties", stack.broker.properties_file, "--state-dir",
                           stack.broker.state_dir, "register-api-client", "--client-name", "tests"]) == 0
    lines = capsys.readouterr().out.splitlines()
    basic = base64.b64encode(("%s:%s" % (lines[0].split(": ")[1], lines[1].split(": ")[1])).encode()).decode()
    _status, data, _peer = common.https_request(
        "POST", "https://localhost:%d/oauth2/token?grant_type=client_credentials" % stack.ports["client"],
        common.client_context(stack.ca), body="", headers={"Authorization": "Basic " + basic})
    return json.loads(data)["access_token"]


@pytest.fixture
def access_token(stack, capsys):
    """api_token after one report of the stack's agent, so that the broker knows a server."""
    assert stack.agent.report_once()
    return api_token(stack, capsys)
