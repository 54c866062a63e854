# TEST DOUBLE: part of the dcvkit test stand-ins for the Amazon DCV packages (tests/standins).
# Not Amazon software; used only by the collection's tests and lab.
"""Stand-in for the DCV Connection Gateway (package nice-dcv-connection-gateway).

Reads /etc/dcv-connection-gateway/dcv-connection-gateway.conf (TOML, strict: keys that do not
exist in the product stop it with file, line and key), requires a PKCS#8 key, serves TLS on
[gateway] web-listen-endpoints (static files from [web-resources] local-resources-path plus the
stand-in route GET /standin/connect?sessionId=ID&authToken=TOKEN) and plain HTTP /health on
[health-check].  The route resolves the session at [resolver] url, opens TLS to the DCV server
it names and has the token verified there, then answers with the route taken (JSON).
GET /standin/stream?sessionId=ID&authToken=TOKEN with `Upgrade: websocket` takes the same
resolver hop, then passes the browser's WebSocket handshake to the DCV server's stream route and,
after its 101, relays the bytes both ways (relay.py): the desktop stream of the web viewer.
"""

import argparse
import errno
import ipaddress
import json
import os
import re
import socket
import ssl
import stat
import sys
import tempfile
import threading
import urllib.parse

from dcvstandin import common, relay
from dcvstandin.configformats import ConfigError, parse_toml, toml_key_lines

CONF_FILE = "/etc/dcv-connection-gateway/dcv-connection-gateway.conf"
LOG_DIR = "/var/log/dcv-connection-gateway"
VERSION = "2025.0.870 (stand-in)"
KNOWN_KEYS = {
    "gateway": {"web-listen-endpoints", "quic-listen-endpoints", "cert-file", "cert-key-file"},
    "health-check": {"bind-addr", "port"},
    "resolver": {"url", "ca-file", "cert-file", "cert-key-file", "tls-strict"},
    "dcv": {"ca-file", "tls-strict"},
    "web-resources": {"local-resources-path", "url", "ca-file", "tls-strict"},
    "log": {"level"},
    "metrics-reporter-statsd": None,  # keys not modelled: accepted with a warning
}
UNCONFIRMED_KEYS = {("gateway", "cert-key-password-file"),
                    ("web-resources", "local-resources-http-headers"), ("log", "directory")}
NONEXISTENT_KEYS = {("gateway", "web-port"): "use web-listen-endpoints = [\"0.0.0.0:8443\"]",
                    ("gateway", "quic-port"): "use quic-listen-endpoints",
                    ("gateway", "web-url-path-regex"): "the gateway has no such setting"}
# gw-admin "Configuration File Reference": listen endpoints are socket addresses in IP address syntax
# ("0.0.0.0:8443", "[::]:8443"); a host name is not an address the gateway can bind.
ENDPOINT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[0-9]{1,3}(?:\.[0-9]{1,3}){3}):([0-9]{1,5})")


def load_gateway_conf(path, warn):
    """Validate the gateway TOML; return it.  ``warn`` receives non-fatal findings."""
    text = common.read_text(path)
    conf = parse_toml(text, path)
    lines = toml_key_lines(text)

    def where(table, key):
        return "%s:%s: [%s] %s" % (path, lines.get((table, key), "?"), table, key)

    for table, values in conf.items():
        if not isinstance(values, dict):
            raise ConfigError("%s: top-level key %r outside any table" % (path, table))
        if table not in KNOWN_KEYS:
            raise ConfigError("%s: unknown table [%s] (known: %s)"
                              % (path, table, ", ".join(sorted(KNOWN_KEYS))))
        for key in values:
            if (table, key) in NONEXISTENT_KEYS:
                raise ConfigError("%s: this key does not exist in the Connection Gateway; %s"
                                  % (where(table, key), NONEXISTENT_KEYS[(table, key)]))
            if (table, key) in UNCONFIRMED_KEYS:
                warn("%s: unconfirmed key accepted by the stand-in" % where(table, key))
            elif KNOWN_KEYS[table] is None:
                warn("%s: not modelled by the stand-in" % where(table, key))
            elif key not in KNOWN_KEYS[table]:
                raise ConfigError("%s: unknown key" % where(table, key))
    gateway = conf.get("gateway", {})
    if "web-listen-endpoints" not in gateway:
        raise ConfigError("%s: [gateway] web-listen-endpoints is required" % path)
    # gw-admin "Configuration File Reference": cert-file is optional (without it the gateway generates a
    # self-signed certificate); when it is given, cert-key-file must be given too, and the other way round.
    if ("cert-file" in gateway) != ("cert-key-file" in gateway):
        given, missing = ("cert-file", "cert-key-file") if "cert-file" in gateway else ("cert-key-file", "cert-file")
        raise ConfigError("%s: [gateway] %s is set without %s; set both or neither" % (path, given, missing))
    if "cert-file" not in gateway:
        warn("%s: [gateway] no cert-file/cert-key-file: the gateway serves a self-signed certificate that "
             "browsers and strict clients will not trust" % path)
    endpoints = gateway["web-listen-endpoints"]
    if not isinstance(endpoints, list) or not endpoints:
        raise ConfigError("%s: web-listen-endpoints must be a non-empty array" % where("gateway", "web-listen-endpoints"))
    for endpoint in endpoints + list(gateway.get("quic-listen-endpoints", [])):
        if not isinstance(endpoint, str) or not ENDPOINT.fullmatch(endpoint) or not _is_ip(endpoint):
            raise ConfigError("%s: %r is not a socket address IP:port such as \"0.0.0.0:8443\" or "
                              "\"[::]:8443\" (never a URL or a host name)"
                              % (where("gateway", "web-listen-endpoints"), endpoint))
    if "url" not in conf.get("resolver", {}):
        raise ConfigError("%s: [resolver] url is required" % path)
    for table in ("resolver", "dcv", "web-resources"):
        if conf.get(table, {}).get("tls-strict", True) is not True:
            warn("%s: TLS verification is OFF for this link" % where(table, "tls-strict"))
    return conf


def check_pkcs8_key(path, password_file=None):
    """The gateway needs a PKCS#8 PEM key ("BEGIN PRIVATE KEY"), readable by its owner only."""
    text = common.read_text(path)
    first = re.search(r"-----BEGIN ([A-Z ]+)-----", text)
    expected = "ENCRYPTED PRIVATE KEY" if password_file else "PRIVATE KEY"
    if not first or first.group(1) != expected:
        raise ConfigError("cert-key-file %s must be a PKCS#8 PEM key (\"BEGIN %s\"), found %s"
                          % (path, expected, "\"BEGIN %s\"" % first.group(1) if first else "no PEM key"))
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise ConfigError("cert-key-file %s has mode %04o; the key must be 0600 (owner only)"
                          % (path, mode))


def _is_ip(endpoint):
    host = ENDPOINT.fullmatch(endpoint).group(1)
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return (address.version == 6) == host.startswith("[")


def _split_endpoint(endpoint):
    host, port = ENDPOINT.fullmatch(endpoint).groups()
    return host.strip("[]"), int(port)


# What the web viewer and noVNC's ES modules need; browsers refuse modules served as anything but JavaScript.
CONTENT_TYPES = {".html": "text/html", ".js": "application/javascript", ".mjs": "application/javascript",
                 ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png",
                 ".ico": "image/x-icon", ".woff": "font/woff", ".woff2": "font/woff2",
                 ".ttf": "font/ttf", ".json": "application/json"}


class WebHandler(common.JsonRequestHandler):
    routes = [("GET", r"/standin/connect", "connect"), ("GET", r"/standin/stream", "stream_refused"),
              ("GET", r".*", "static")]
    rbufsize = 0  # unbuffered: the stream route hands the socket over with nothing read ahead

    def _dispatch(self, method):
        if (method == "GET" and urllib.parse.urlsplit(self.path).path == "/standin/stream"
                and relay.is_websocket_upgrade(self.headers)):
            self.close_connection = True
            return self.server.app.stream(self)
        return super()._dispatch(method)


class HealthHandler(common.JsonRequestHandler):
    routes = [("GET", r"/health", "health")]


class Gateway:
    def __init__(self, conf_file=CONF_FILE, log_file=None):
        self.conf_file = conf_file
        self.log = common.setup_logging("gateway", log_file or os.path.join(LOG_DIR, "gateway.log"))
        self.servers = []
        self.web_ports = []

    def start(self):
        self.conf = conf = load_gateway_conf(self.conf_file, self.log.warning)
        gateway = conf["gateway"]
        password = None
        if gateway.get("cert-key-password-file"):
            password = common.read_text(gateway["cert-key-password-file"]).strip()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if "cert-file" in gateway:
            check_pkcs8_key(gateway["cert-key-file"], gateway.get("cert-key-password-file"))
            context.load_cert_chain(gateway["cert-file"], gateway["cert-key-file"], password)
            self.log.info("TLS identity %s (%s)", gateway["cert-file"],
                          common.certificate_summary(common.read_text(gateway["cert-file"]).encode()))
        else:
            self._self_signed_identity(context)
        if gateway.get("quic-listen-endpoints"):
            self.log.warning("quic-listen-endpoints set: QUIC is not served by the stand-in")
        self.resources = conf.get("web-resources", {}).get("local-resources-path")
        if self.resources and not os.path.isdir(self.resources):
            self.log.error("local-resources-path %s does not exist: web client assets will be 404 "
                           "(is nice-dcv-web-viewer installed?)", self.resources)
        for endpoint in gateway["web-listen-endpoints"]:
            self._serve(common.TLSHTTPServer(_split_endpoint(endpoint), WebHandler, context,
                                             self.log, self, "web %s" % endpoint), web=True)
        health = conf.get("health-check", {})
        bind, port = health.get("bind-addr", "::"), health.get("port", 8989)
        try:
            server = common.TLSHTTPServer((bind, port), HealthHandler, None, self.log, self, "health")
        except OSError as exc:
            if bind != "::" or exc.errno not in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                raise
            self.log.warning("health-check bind-addr '::' unavailable (no IPv6): using 0.0.0.0")
            server = common.TLSHTTPServer(("0.0.0.0", port), HealthHandler, None, self.log, self, "health")
        self.health_port = self._serve(server)
        self.log.info("connection gateway stand-in %s started: web %s, health %s:%d", VERSION,
                      ", ".join(gateway["web-listen-endpoints"]), bind, self.health_port)

    def _self_signed_identity(self, context):
        """No cert-file: like the product, serve a self-signed certificate generated at start (its files live only
        in a temporary directory while the context loads them)."""
        key_pem, cert_pem = common.make_self_signed(common.short_hostname(), dns_names=[common.short_hostname()])
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
            common.write_atomic(cert, cert_pem, 0o600)
            common.write_atomic(key, key_pem, 0o600)
            context.load_cert_chain(cert, key)
        self.log.info("TLS identity: generated self-signed certificate (%s)", common.certificate_summary(cert_pem))

    def _serve(self, server, web=False):
        self.servers.append(server)
        threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
        if web:
            self.web_ports.append(server.server_address[1])
        return server.server_address[1]

    def stop(self):
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def health(self, handler, match):
        return 200, {"Status": "HEALTHY", "Standin": common.STANDIN_NOTICE}, None

    def static(self, handler, match):
        if not self.resources:
            return 404, {"message": "no [web-resources] local-resources-path (url is not modelled)"}, None
        path = urllib.parse.unquote(urllib.parse.urlsplit(handler.path).path)
        if path != "/" and path.endswith("/"):  # a file asked for as a directory: no such resource
            return 404, {"message": "not found: %s" % path}, None
        relative = "index.html" if path == "/" else path.lstrip("/")
        # Containment by path, not by realpath: the web viewer's novnc/ is a symlink to /usr/share/novnc,
        # and files reached through symlinks inside the directory are served; `..` still cannot escape.
        root = os.path.normpath(self.resources)
        full = os.path.normpath(os.path.join(root, relative))
        if not full.startswith(root + os.sep) or not os.path.isfile(full):
            self.log.warning("web resource %s not found under %s", path, self.resources)
            return 404, {"message": "not found: %s" % path}, None
        kind = CONTENT_TYPES.get(os.path.splitext(full)[1].lower(), "application/octet-stream")
        with open(full, "rb") as handle:
            return 200, handle.read(), kind

    def _tls(self, table):
        section = self.conf.get(table, {})
        return common.client_context(section.get("ca-file"), section.get("tls-strict", True),
                                     section.get("cert-file"), section.get("cert-key-file"))

    def _hop(self, name, url, table):
        """One outgoing hop; returns (status, body, peer summary) or raises _HopFailed."""
        section = self.conf.get(table, {})
        try:
            status, body, peer = common.https_request("POST" if name == "resolver" else "GET",
                                                      url, self._tls(table))
        except (ssl.SSLError, ssl.CertificateError) as exc:
            message = "TLS error (ca-file %s): %s" % (section.get("ca-file", "<system>"),
                                                      common.explain_tls_error(exc))
            if name == "dcv-server":
                message += _mapping_hint(urllib.parse.urlsplit(url).hostname, exc)
            raise _HopFailed(name, _no_token(url), 502, message)
        except OSError as exc:
            raise _HopFailed(name, _no_token(url), 502, "unreachable: %s" % exc)
        return status, body, common.certificate_summary(peer) if peer else None

    def _resolve(self, session_id, client_ip):
        """The resolver hop: (resolved session, route entry), or _HopFailed."""
        resolver_url = "%s/resolveSession?%s" % (
            self.conf["resolver"]["url"].rstrip("/"),
            urllib.parse.urlencode({"sessionId": session_id, "transport": "HTTP",
                                    "clientIpAddress": client_ip}))
        status, body, peer = self._hop("resolver", resolver_url, "resolver")
        if status != 200:
            raise _HopFailed("resolver", resolver_url, status, body.decode("utf-8", "replace"))
        resolved = json.loads(body.decode("utf-8"))
        return resolved, {"Hop": "gateway->resolver", "Url": resolver_url, "Status": status,
                          "PeerCertificate": peer, "Resolved": resolved}

    def connect(self, handler, match):
        query = handler.query()
        session_id, token = query.get("sessionId", ""), query.get("authToken", "")
        if not session_id or not token:
            return 400, {"Connected": False, "Error": "sessionId and authToken are required"}, None
        route = []
        try:
            resolved, hop = self._resolve(session_id, handler.client_address[0])
            route.append(hop)
            dcv_url = "https://%s%sstandin/authenticate?%s" % (
                common.format_hostport(resolved["DcvServerEndpoint"], resolved["Port"]),
                resolved["WebUrlPath"].rstrip("/") + "/",
                urllib.parse.urlencode({"sessionId": session_id, "authToken": token}))
            status, body, peer = self._hop("dcv-server", dcv_url, "dcv")
            answer = json.loads(body.decode("utf-8")) if body else {}
            if status != 200:
                raise _HopFailed("dcv-server", dcv_url.split("?")[0], status, answer.get("Reason", body))
            route.append({"Hop": "gateway->dcv-server", "Url": dcv_url.split("?")[0],
                          "Status": status, "PeerCertificate": peer})
            route.append({"Hop": "dcv-server->auth-token-verifier", "Verifier": answer["Verifier"],
                          "User": answer["User"]})
        except _HopFailed as failure:
            self.log.error("connect session %s: hop %s (%s) failed: %s", session_id, failure.hop,
                           failure.url, failure.message)
            return failure.status, {"Connected": False, "FailedHop": failure.hop,
                                    "Error": failure.message, "Route": route}, None
        self.log.info("connect session %s: routed to %s for %s", session_id,
                      resolved["DcvServerEndpoint"], answer["User"])
        return 200, {"Connected": True, "SessionId": session_id, "User": answer["User"],
                     "Route": route}, None

    # -- desktop stream --------------------------------------------------------------------------
    def stream_refused(self, handler, match):
        return 400, {"Connected": False, "Error": "/standin/stream needs a WebSocket upgrade "
                                                  "(Upgrade: websocket, Connection: Upgrade)"}, None

    def _open_dcv(self, host, port, url):
        """TLS to the DCV server with the [dcv] settings (chain and host name checked unless
        tls-strict = false); a connected TLS socket, or _HopFailed."""
        section = self.conf.get("dcv", {})
        try:
            raw = socket.create_connection((host, port), timeout=10)
        except OSError as exc:
            raise _HopFailed("dcv-server", _no_token(url), 502, "unreachable: %s" % exc)
        try:
            return self._tls("dcv").wrap_socket(raw, server_hostname=host)
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raw.close()
            raise _HopFailed("dcv-server", _no_token(url), 502, "TLS error (ca-file %s): %s%s" % (
                section.get("ca-file", "<system>"), common.explain_tls_error(exc), _mapping_hint(host, exc)))
        except OSError as exc:
            raw.close()
            raise _HopFailed("dcv-server", _no_token(url), 502, "unreachable: %s" % exc)

    def stream(self, handler):
        """GET /standin/stream?sessionId=&authToken= with Upgrade: websocket (the web viewer's desktop).

        The resolver hop as /standin/connect takes it, then TLS to DcvServerEndpoint:Port and the
        same GET at WebUrlPath + standin/stream with the client's WebSocket headers; the DCV
        server's answer goes back as it is, and after a 101 the bytes flow both ways.
        """
        query = handler.query()
        session_id, token = query.get("sessionId", ""), query.get("authToken", "")
        if not session_id or not token:
            return handler.respond(400, {"Connected": False, "Error": "sessionId and authToken are required"})
        try:
            resolved, _hop = self._resolve(session_id, handler.client_address[0])
            host, port = resolved["DcvServerEndpoint"], resolved["Port"]
            forwarded = urllib.parse.urlencode({"sessionId": session_id, "authToken": token})
            target = "%sstandin/stream?%s" % (resolved["WebUrlPath"].rstrip("/") + "/", forwarded)
            url = "https://%s%s" % (common.format_hostport(host, port), target)
            dcv = self._open_dcv(host, port, url)
        except _HopFailed as failure:
            self.log.error("stream session %s: hop %s (%s) failed: %s", session_id, failure.hop,
                           failure.url, failure.message)
            return handler.respond(failure.status, {"Connected": False, "FailedHop": failure.hop,
                                                    "Error": failure.message})
        with dcv:
            head = "GET %s HTTP/1.1\r\nHost: %s\r\n" % (target, common.format_hostport(host, port))
            for name in relay.WEBSOCKET_HEADERS:
                if handler.headers.get(name) is not None:
                    head += "%s: %s\r\n" % (name, handler.headers.get(name))
            try:
                dcv.sendall((head + "\r\n").encode("latin-1"))
                status, answer_head, rest = relay.read_response_head(dcv)
                if status != 101:
                    length = int(relay.header(answer_head, "Content-Length") or 0)
                    rest = relay.read_exactly(dcv, length, rest)
            except (OSError, ValueError) as exc:
                self.log.error("stream session %s: hop dcv-server (%s) failed: %s", session_id,
                               _no_token(url), exc)
                return handler.respond(502, {"Connected": False, "FailedHop": "dcv-server",
                                             "Error": "no answer from the DCV server: %s" % exc})
            if status != 101:
                try:
                    reason = json.loads(rest.decode("utf-8")).get("Reason", "")
                except (ValueError, AttributeError):
                    reason = rest.decode("utf-8", "replace")
                self.log.error("stream session %s: hop dcv-server (%s) answered %d: %s", session_id,
                               _no_token(url), status, reason)
                handler.connection.sendall(answer_head + rest)  # the DCV server's answer, as it is
                return None
            self.log.info("stream session %s: opened to %s (101 Switching Protocols)", session_id,
                          common.format_hostport(host, port))
            handler.connection.sendall(answer_head + rest)
            sent, received = relay.pipe(handler.connection, dcv)
        self.log.info("stream session %s: closed (%d bytes to the DCV server, %d bytes back)",
                      session_id, sent, received)
        return None


def _mapping_hint(host, exc):
    """The fix when the DCV server's certificate does not name the IP address the resolver handed out.

    sm-admin "Amazon DCV Session Manager Amazon DCV server - DNS mapping reference": the gateway needs the DCV
    servers' DNS names; the resolver returns an IP unless a mapping names the server.
    """
    text = str(exc)
    try:
        ipaddress.ip_address(host or "")
    except ValueError:
        return ""
    if "IP address mismatch" not in text and "Hostname mismatch" not in text:
        return ""
    return ("; the resolver returned the IP address %s as DcvServerEndpoint, and the DCV server's certificate does "
            "not carry it: register a DCV server DNS mapping at the broker (register-server-dns-mappings --file-path F "
            "with {\"ServerIdType\": \"Ip\", \"ServerId\": \"%s\", \"DnsNames\": {\"InternalDnsName\": NAME}}, "
            "sm-admin \"Amazon DCV Session Manager Amazon DCV server - DNS mapping reference\") so that the gateway "
            "connects by the DNS name the certificate carries" % (host, host))


def _no_token(url):
    """URLs go to the log without their query when they carry a connection token."""
    return url.split("?")[0] if "authToken=" in url else url


class _HopFailed(Exception):
    def __init__(self, hop, url, status, message):
        super().__init__(message)
        self.hop, self.url, self.status, self.message = hop, url, status, str(message)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Connection Gateway stand-in (%s)"
                                     % common.STANDIN_NOTICE)
    parser.add_argument("--conf", default=CONF_FILE)
    args = parser.parse_args(argv)
    gateway = Gateway(args.conf)
    try:
        gateway.start()
    except (ConfigError, OSError, ValueError) as exc:
        gateway.log.error("refusing to start: %s", exc)
        return 1
    common.notify_ready()
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
