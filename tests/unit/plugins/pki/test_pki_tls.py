"""Issued material against real peers: Python ssl (OpenSSL) with host-name checks, openssl verify, mTLS,
and the PKCS#12 store loaded by a real Java TLS server (tests/java/Pkcs12TlsServer.java)."""

import os
import shutil
import socket
import ssl
import subprocess
import threading

import pytest

from cryptography.hazmat.primitives.serialization import load_pem_private_key

from ansible_collections.dcvkit.session_manager.plugins.module_utils import pki_host, pki_x509

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
JAVA_SOURCE = os.path.join(REPO, 'tests', 'java', 'Pkcs12TlsServer.java')
DNS_NAME = 'broker.example.internal'


@pytest.fixture(scope='module')
def issued(pki, tmp_path_factory):
    """A CA (RSA, as the ca module's default), a server certificate and a client certificate."""
    tmp_path = tmp_path_factory.mktemp('issued')
    ca_dir = str(tmp_path / 'ca')
    pki.make_ca(ca_dir, key_type='rsa')
    issuer = pki.Issuer(ca_dir)
    server_dir, client_dir = tmp_path / 'server', tmp_path / 'client'
    server_dir.mkdir()
    client_dir.mkdir()
    server = pki.host_params(str(server_dir), dns_names=[DNS_NAME], ip_addresses=['127.0.0.1'], key_type='rsa',
                             ca_certificate_path=str(server_dir / 'ca.pem'),
                             pkcs12_path=str(server_dir / 'broker.p12'), pkcs12_passphrase='keystore-pass-1')
    client = pki.host_params(str(client_dir), dns_names=['agent.example.internal'], ip_addresses=[],
                             extended_key_usage=['clientAuth'])
    server_only = pki.host_params(str(client_dir), dns_names=['wrong.example.internal'], ip_addresses=[],
                                  certificate_path=str(client_dir / 'serverauth.pem'),
                                  private_key_path=str(client_dir / 'serverauth.key'))
    for params in (server, client, server_only):
        assert issuer.run(params)['reasons'] == ['missing']
    return dict(ca=os.path.join(ca_dir, 'ca.pem'), server=server, client=client, server_only=server_only)


class _TlsServer(object):
    """One-connection TLS server on 127.0.0.1 in a thread; records the handshake outcome."""

    def __init__(self, context):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.context = context
        self.error = None
        self.peer = None
        self.thread = threading.Thread(target=self._serve)
        self.thread.start()

    def _serve(self):
        connection, dummy = self.sock.accept()
        try:
            with self.context.wrap_socket(connection, server_side=True) as tls:
                self.peer = tls.getpeercert()
                tls.sendall(b'hello\n')
        except (ssl.SSLError, OSError) as exc:
            self.error = exc
        finally:
            self.sock.close()

    def join(self):
        self.thread.join(10)


def _server_context(params, client_ca=None):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(params['certificate_path'], params['private_key_path'])
    if client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    return context


def _client_context(ca_file, client=None):
    context = ssl.create_default_context(cafile=ca_file)  # trusts only our CA; check_hostname on
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    if client:
        context.load_cert_chain(client['certificate_path'], client['private_key_path'])
    return context


def _connect(port, context, server_hostname):
    with socket.create_connection(('127.0.0.1', port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=server_hostname) as tls:
            return tls.recv(100)


@pytest.mark.parametrize('name', [DNS_NAME, '127.0.0.1'])
def test_python_client_trusting_only_the_ca_checks_the_name(issued, name):
    server = _TlsServer(_server_context(issued['server']))
    assert _connect(server.port, _client_context(issued['ca']), name) == b'hello\n'
    server.join()
    assert server.error is None


@pytest.mark.parametrize('name', ['other.example.internal', '127.0.0.2'])
def test_python_client_refuses_a_name_not_in_the_certificate(issued, name):
    server = _TlsServer(_server_context(issued['server']))
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        _connect(server.port, _client_context(issued['ca']), name)
    server.join()
    assert 'match' in str(caught.value) or 'mismatch' in str(caught.value)


def test_client_trusting_the_system_store_only_refuses_our_certificate(issued):
    server = _TlsServer(_server_context(issued['server']))
    with pytest.raises(ssl.SSLCertVerificationError):
        _connect(server.port, ssl.create_default_context(), DNS_NAME)
    server.join()


def test_mtls_with_a_client_auth_certificate(issued):
    server = _TlsServer(_server_context(issued['server'], client_ca=issued['ca']))
    assert _connect(server.port, _client_context(issued['ca'], issued['client']), DNS_NAME) == b'hello\n'
    server.join()
    assert server.error is None
    assert dict(item[0] for item in server.peer['subject'])['commonName'] == 'agent.example.internal'


def test_mtls_refuses_a_server_only_certificate_as_client(issued):
    server = _TlsServer(_server_context(issued['server'], client_ca=issued['ca']))
    try:
        _connect(server.port, _client_context(issued['ca'], issued['server_only']), DNS_NAME)
    except (ssl.SSLError, OSError):
        pass  # TLS 1.3 may report the rejection on the client only at the first read
    server.join()
    assert server.error is not None and 'certificate' in str(server.error).lower()


@pytest.mark.skipif(not shutil.which('openssl'), reason='openssl command line tool not installed')
def test_openssl_verify_chain_and_purpose(issued):
    def verify(purpose, cert):
        return subprocess.run(['openssl', 'verify', '-CAfile', issued['ca'], '-purpose', purpose, cert],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    server_cert, client_cert = issued['server']['certificate_path'], issued['client']['certificate_path']
    assert verify('sslserver', server_cert).returncode == 0
    assert verify('sslclient', client_cert).returncode == 0
    assert verify('sslclient', server_cert).returncode != 0  # purpose is enforced, so the check can fail
    untrusted = subprocess.run(['openssl', 'verify', '-CAfile', client_cert, server_cert], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, check=False)
    assert untrusted.returncode != 0


@pytest.mark.skipif(not shutil.which('openssl'), reason='openssl command line tool not installed')
def test_pkcs12_algorithms_are_the_documented_ones(issued):
    info = subprocess.run(['openssl', 'pkcs12', '-in', issued['server']['pkcs12_path'], '-info', '-noout',
                           '-passin', 'pass:keystore-pass-1'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    assert info.returncode == 0, info.stdout
    if pki_x509.CRYPTOGRAPHY_VERSION >= (38, 0):
        assert 'MAC: sha256' in info.stdout
        assert 'Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 100000, PRF hmacWithSHA256' in info.stdout
        assert 'PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC' in info.stdout
    else:
        assert 'pbeWithSHA1And3-KeyTripleDES-CBC' in info.stdout


def _legacy_store(issued, tmp_path):
    """The store a host with cryptography < 38 writes (Ubuntu 22.04), built here with the same code path."""
    server = issued['server']
    with open(server['private_key_path'], 'rb') as handle:
        key = load_pem_private_key(handle.read(), None)
    with open(server['certificate_path'], 'rb') as handle:
        cert = pki_x509.load_certificate(handle.read())
    with open(issued['ca'], 'rb') as handle:
        ca = pki_x509.load_certificate(handle.read())
    data, description = pki_host.build_pkcs12(key, cert, [ca], 'keystore-pass-1', DNS_NAME, legacy=True)
    assert description == pki_host.PKCS12_LEGACY
    path = tmp_path / 'legacy.p12'
    path.write_bytes(data)
    return str(path)


@pytest.fixture(scope='session')
def java_server_class(tmp_path_factory):
    if not (shutil.which('java') and shutil.which('javac')):
        pytest.skip('java/javac not installed: the PKCS#12 store cannot be proven with a real Java TLS server here')
    out = str(tmp_path_factory.mktemp('java'))
    subprocess.run(['javac', '-d', out, JAVA_SOURCE], check=True)
    return out


@pytest.mark.parametrize('store, store_type', [('modern', 'PKCS12'), ('modern', 'JKS'), ('legacy', 'PKCS12')])
def test_java_tls_server_serves_the_pkcs12_store(issued, java_server_class, tmp_path, store, store_type):
    path = issued['server']['pkcs12_path'] if store == 'modern' else _legacy_store(issued, tmp_path)
    java = subprocess.Popen(['java', '-cp', java_server_class, 'Pkcs12TlsServer', path, store_type,
                             'keystore-pass-1'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    try:
        banner = java.stdout.readline()
        port_line = java.stdout.readline()
        assert port_line.startswith('LISTENING '), banner + port_line + java.stderr.read()
        assert 'CHAIN 2' in banner  # leaf + CA certificate
        answer = _connect(int(port_line.split()[1]), _client_context(issued['ca']), DNS_NAME)
        assert answer.startswith(b'hello from java')
        assert java.wait(20) == 0, java.stderr.read()
    finally:
        if java.poll() is None:
            java.kill()
            java.wait()


def test_java_refuses_a_wrong_store_password(issued, java_server_class):
    java = subprocess.run(['java', '-cp', java_server_class, 'Pkcs12TlsServer', issued['server']['pkcs12_path'],
                           'PKCS12', 'not-the-password'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60, check=False)
    assert java.returncode != 0 and 'LISTENING' not in java.stdout
