# TEST DOUBLE: part of the dcvkit test stand-ins for the Amazon DCV packages (tests/standins).
# Not Amazon software; used only by the collection's tests and lab.
"""Shared plumbing of the stand-in daemons: logging, TLS material, HTTPS server and client.

Only the standard library and python3-cryptography APIs present in cryptography 3.4.8
(Ubuntu 22.04) are used, so the same code runs on Debian 12 (cryptography 38).
"""

import datetime
import http.client
import http.server
import ipaddress
import json
import logging
import os
import re
import socket
import ssl
import sys
import tempfile
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

STANDIN_NOTICE = "TEST DOUBLE (dcvkit stand-in, not Amazon DCV)"


# --------------------------------------------------------------------------------------------
# logging and files
# --------------------------------------------------------------------------------------------

def setup_logging(name, log_file=None, level="info"):
    """Log to stderr (the journal) and, when given, to the product's log file."""
    logger = logging.getLogger(name)
    logger.setLevel(getattr(logging, str(level).upper(), logging.INFO))
    logger.handlers[:] = []
    logger.propagate = False
    formatter = logging.Formatter("%(asctime)s %(levelname)s [" + name + "] %(message)s")
    handlers = [logging.StreamHandler(sys.stderr)]
    if log_file:
        os.makedirs(os.path.dirname(log_file), exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    for handler in handlers:
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    return logger


def read_text(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def write_atomic(path, data, mode=0o600):
    """Write bytes or text to path through a temporary file in the same directory."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_json(path, default):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default


def save_json(path, value):
    write_atomic(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


def notify_ready():
    """Tell systemd (Type=notify units) that the daemon is serving; no-op outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(b"READY=1")


def short_hostname():
    return socket.gethostname().split(".")[0]


# --------------------------------------------------------------------------------------------
# TLS material
# --------------------------------------------------------------------------------------------

def make_self_signed(common_name, dns_names=(), ip_addresses=(), days=825):
    """Return (PKCS#8 key PEM, certificate PEM) of a self-signed CA certificate.

    Like the real broker's and DCV server's own identities: the certificate is its own CA.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, STANDIN_NOTICE)])
    now = datetime.datetime.utcnow()
    alt_names = [x509.DNSName(n) for n in dns_names]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
    builder = (x509.CertificateBuilder()
               .subject_name(name).issuer_name(name)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True))
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def pkcs12_to_pem(path, password):
    """Read a PKCS#12 key store: return (key PEM or None, [certificate PEMs], leaf first)."""
    with open(path, "rb") as handle:
        data = handle.read()
    secret = password.encode("utf-8") if password else None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
    except ValueError as exc:
        raise ValueError("cannot open PKCS#12 key store %s (wrong password or not PKCS#12): %s"
                         % (path, exc))
    certs = ([cert] if cert is not None else []) + list(extra or [])
    key_pem = None
    if key is not None:
        key_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return key_pem, [c.public_bytes(serialization.Encoding.PEM) for c in certs]


def certificate_summary(cert_pem):
    """One line naming subject, SANs and issuer of a PEM certificate (for logs)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n.value) for n in san]
    except x509.ExtensionNotFound:
        names = []
    return "subject=%s san=%s issuer=%s" % (cert.subject.rfc4514_string(), ",".join(names),
                                            cert.issuer.rfc4514_string())


def server_context(cert_chain_file, key_file, client_ca_pem=None):
    """TLS server context; with client_ca_pem a client certificate is required (mTLS)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_chain_file, key_file)
    if client_ca_pem:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=client_ca_pem)
        # Java accepts a client whose own certificate is in the trust store (no issuer needed); OpenSSL does the
        # same only with the partial-chain flag
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


def client_context(ca_file=None, strict=True, cert_file=None, key_file=None):
    """TLS client context: with strict, verify the chain against ca_file and the host name."""
    if strict:
        context = ssl.create_default_context(cafile=ca_file)
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file:
        context.load_cert_chain(cert_file, key_file)
    return context


def explain_tls_error(exc):
    """A human reading of an ssl error: what most likely has to be fixed."""
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        if "Hostname mismatch" in text or "IP address mismatch" in text:
            return "%s (the peer's certificate does not name the host used to reach it)" % text
        return "%s (the peer's certificate is not signed by the configured CA file)" % text
    if "UNKNOWN_CA" in text or "unknown ca" in text:
        return "%s (the peer does not trust this side's certificate)" % text
    if "CERTIFICATE_REQUIRED" in text or "peer did not return a certificate" in text:
        return "%s (a client certificate is required)" % text
    if "EOF occurred" in text or "UNEXPECTED_EOF" in text or "BAD_CERTIFICATE" in text:
        return ("%s (the peer ended the handshake: it may require a client certificate, or not "
                "trust the one sent)" % text)
    return text


# --------------------------------------------------------------------------------------------
# HTTPS server
# --------------------------------------------------------------------------------------------

class TLSHTTPServer(http.server.ThreadingHTTPServer):
    """Threaded HTTP server doing the TLS handshake in the worker thread (when a context is set).

    Handshake failures are logged with the peer address and a hint, since those lines are
    what the tests (and operators) look for when a CA file is wrong.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, tls_context, logger, app, label):
        self.tls_context = tls_context
        self.logger = logger
        self.app = app
        self.label = label
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        if self.tls_context is None:
            return super().finish_request(request, client_address)
        request.settimeout(30)
        try:
            tls_sock = self.tls_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            self.logger.error("%s: TLS handshake with %s failed: %s", self.label,
                              client_address[0], explain_tls_error(exc))
            return None
        try:
            return super().finish_request(tls_sock, client_address)
        finally:
            try:
                tls_sock.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        self.logger.exception("%s: error while serving %s", self.label, client_address[0])


class JsonRequestHandler(http.server.BaseHTTPRequestHandler):
    """Routes requests to ``self.server.app`` methods listed in ``routes``.

    ``routes`` is a list of (method, regex, app method name); the app method receives
    (handler, match) and returns (status, body, content type) where a dict/list body is JSON.
    """

    routes = []
    protocol_version = "HTTP/1.1"
    server_version = "dcvkit-standin"
    _body = b""

    def log_message(self, fmt, *args):
        self.server.logger.debug("%s: %s %s", self.server.label, self.client_address[0],
                                 fmt % args)

    def body_bytes(self):
        return self._body

    def body_json(self):
        raw = self.body_bytes()
        return json.loads(raw.decode("utf-8")) if raw else None

    def query(self):
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))

    def _dispatch(self, method):
        # Read the whole request body before answering, whether the route wants it or not: an unread
        # body left on a keep-alive connection makes the client lose the answer.
        length = int(self.headers.get("Content-Length") or 0)
        self._body = self.rfile.read(length) if length else b""
        path = urllib.parse.urlsplit(self.path).path
        for route_method, pattern, name in self.routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                try:
                    status, body, content_type = getattr(self.server.app, name)(self, match)
                except ValueError as exc:
                    status, body, content_type = 400, {"message": str(exc)}, None
                return self.respond(status, body, content_type)
        return self.respond(404, {"message": "no such route: %s %s" % (method, path)})

    def respond(self, status, body, content_type=None):
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode("utf-8")
            content_type = content_type or "application/json"
        elif isinstance(body, bytes):
            data = body
        else:
            data = str(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type or "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server naming)
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def do_HEAD(self):  # noqa: N802
        self._dispatch("GET")


def https_request(method, url, context, body=None, headers=None, timeout=10):
    """Send one request; return (status, body bytes, peer certificate PEM or None).

    ``url`` is https://host:port/path?query (or http:// when context is None).  ssl errors
    propagate so callers can log them with ``explain_tls_error``.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, context=context,
                                           timeout=timeout)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        headers = dict(headers or {}, **{"Content-Type": "application/json"})
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        conn.request(method, target, body=body, headers=headers or {})
        peer = None
        if parts.scheme == "https":
            der = conn.sock.getpeercert(binary_form=True)
            peer = ssl.DER_cert_to_PEM_cert(der).encode("ascii") if der else None
        response = conn.getresponse()
        return response.status, response.read(), peer
    finally:
        conn.close()


def format_hostport(host, port):
    return "[%s]:%s" % (host, port) if ":" in host else "%s:%s" % (host, port)
