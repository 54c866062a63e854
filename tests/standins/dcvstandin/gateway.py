# TEST DOUBLE: part of the dcvkit test stand-ins for the Amazon DCV packages (tests/standins).
# Not Amazon software; used only by the collection's tests and lab.
"""Stand-in for the DCV Connection Gateway (package nice-dcv-connection-gateway).

Reads /etc/dcv-connection-gateway/dcv-connection-gateway.conf (TOML, strict: keys that do not
exist in the product stop it with file, line and key), requires a PKCS#8 key, serves TLS on
[gateway] web-listen-endpoints (static files from [web-resources] local-resources-path plus the
stand-in route GET /standin/connect?sessionId=ID&authToken=TOKEN) and plain HTTP /health on
[health-check].  The route resolves the session at [resolver] url, opens TLS to the DCV server
it names and has the token verified there, then answers with the route taken (JSON).
"""

import argparse
import errno
import json
import os
import re
import ssl
import stat
import sys
import threading
import urllib.parse

from dcvstandin import common
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
ENDPOINT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[0-9.]+|[A-Za-z0-9.-]+):([0-9]{1,5})")


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
    for key in ("web-listen-endpoints", "cert-file", "cert-key-file"):
        if key not in gateway:
            raise ConfigError("%s: [gateway] %s is required" % (path, key))
    endpoints = gateway["web-listen-endpoints"]
    if not isinstance(endpoints, list) or not endpoints:
        raise ConfigError("%s: web-listen-endpoints must be a non-empty array" % where("gateway", "web-listen-endpoints"))
    for endpoint in endpoints + list(gateway.get("quic-listen-endpoints", [])):
        if not isinstance(endpoint, str) or not ENDPOINT.fullmatch(endpoint):
            raise ConfigError("%s: %r is not a socket address host:port (never a URL)"
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


def _split_endpoint(endpoint):
    host, port = ENDPOINT.fullmatch(endpoint).groups()
    return host.strip("[]"), int(port)


class WebHandler(common.JsonRequestHandler):
    routes = [("GET", r"/standin/connect", "connect"), ("GET", r".*", "static")]


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
        check_pkcs8_key(gateway["cert-key-file"], gateway.get("cert-key-password-file"))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(gateway["cert-file"], gateway["cert-key-file"], password)
        self.log.info("TLS identity %s (%s)", gateway["cert-file"],
                      common.certificate_summary(common.read_text(gateway["cert-file"]).encode()))
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
        full = os.path.realpath(os.path.join(self.resources, relative))
        if not full.startswith(os.path.realpath(self.resources) + os.sep) or not os.path.isfile(full):
            self.log.warning("web resource %s not found under %s", path, self.resources)
            return 404, {"message": "not found: %s" % path}, None
        kind = {"html": "text/html", "css": "text/css", "js": "application/javascript"}.get(
            full.rsplit(".", 1)[-1], "application/octet-stream")
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
            raise _HopFailed(name, _no_token(url), 502, message)
        except OSError as exc:
            raise _HopFailed(name, _no_token(url), 502, "unreachable: %s" % exc)
        return status, body, common.certificate_summary(peer) if peer else None

    def connect(self, handler, match):
        query = handler.query()
        session_id, token = query.get("sessionId", ""), query.get("authToken", "")
        if not session_id or not token:
            return 400, {"Connected": False, "Error": "sessionId and authToken are required"}, None
        route = []
        try:
            resolver_url = "%s/resolveSession?%s" % (
                self.conf["resolver"]["url"].rstrip("/"),
                urllib.parse.urlencode({"sessionId": session_id, "transport": "HTTP",
                                        "clientIpAddress": handler.client_address[0]}))
            status, body, peer = self._hop("resolver", resolver_url, "resolver")
            if status != 200:
                raise _HopFailed("resolver", resolver_url, status, body.decode("utf-8", "replace"))
            resolved = json.loads(body.decode("utf-8"))
            route.append({"Hop": "gateway->resolver", "Url": resolver_url, "Status": status,
                          "PeerCertificate": peer, "Resolved": resolved})
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
