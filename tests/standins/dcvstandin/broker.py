# TEST DOUBLE: part of the dcvkit test stand-ins for the Amazon DCV packages (tests/standins).
# Not Amazon software; used only by the collection's tests and lab.
"""Stand-in for the DCV Session Manager Broker (package nice-dcv-session-manager-broker).

Reads /etc/dcv-session-manager-broker/session-manager-broker.properties strictly, serves the
client port (OAuth2 + session API), the agent port (agent reports, token verification) and,
with enable-gateway = true, the gateway port (Session Resolver).  A loopback-only CLI port
lets the `dcv-session-manager-broker` command manage API clients.  See tests/standins/README.md.
"""

import argparse
import base64
import datetime
import grp
import hashlib
import hmac
import os
import re
import secrets
import stat
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

from dcvstandin import brokerstore, common
from dcvstandin.brokermysql import MySQLStore
from dcvstandin.configformats import ConfigError, parse_java_properties

PROPERTIES_FILE = "/etc/dcv-session-manager-broker/session-manager-broker.properties"
STATE_DIR = "/var/lib/dcvsmbroker"
LOG_FILE = "/var/log/dcv-session-manager-broker/broker.log"
RESOLVER_404 = "The requested combination of transport and sessionId does not exist"
VERSION = "2025.0.539-1 (stand-in)"

BOOL_KEYS = {
    "enable-authorization-server": True, "enable-authorization": True,
    "enable-agent-authorization": True, "enable-gateway": False,
    "enable-tls-client-auth-gateway": False, "enable-persistence": False,
    "enable-cloud-watch-metrics": False,
}
INT_KEYS = {
    "client-to-broker-connector-https-port": 8443, "agent-to-broker-connector-https-port": 8445,
    "gateway-to-broker-connector-https-port": 8447, "broker-to-broker-port": 47100,
    "cli-to-broker-port": 47200, "broker-to-broker-discovery-port": 47500,
    "broker-to-broker-discovery-multicast-port": None,
    "broker-to-broker-distributed-memory-max-size-mb": 4096,
    "dynamodb-table-rcu": 10, "dynamodb-table-wcu": 10,
    "connect-session-token-duration-minutes": 60, "create-sessions-queue-max-size": 1000,
    "create-sessions-queue-max-time-seconds": 1800,
    "create-sessions-number-of-retries-on-failure": 2, "session-screenshot-max-width": 160,
    "session-screenshot-max-height": 100, "autorun-file-arguments-max-size": 50,
    "autorun-file-arguments-max-argument-length": 150, "delete-session-duration-hours": None,
    "seconds-before-deleting-unreachable-dcv-server": None,
}
STRING_KEYS = {
    "session-manager-working-path": "/tmp",
    "client-to-broker-connector-bind-host": "0.0.0.0",
    "client-to-broker-connector-key-store-file": None, "client-to-broker-connector-key-store-pass": None,
    "agent-to-broker-connector-bind-host": "0.0.0.0",
    "agent-to-broker-connector-key-store-file": None, "agent-to-broker-connector-key-store-pass": None,
    "gateway-to-broker-connector-bind-host": "0.0.0.0",
    "gateway-to-broker-connector-key-store-file": None, "gateway-to-broker-connector-key-store-pass": None,
    "gateway-to-broker-connector-trust-store-file": None,
    "gateway-to-broker-connector-trust-store-pass": None,
    "broker-to-broker-bind-host": "0.0.0.0", "broker-to-broker-discovery-addresses": "127.0.0.1:47500",
    "broker-to-broker-discovery-multicast-group": None, "broker-to-broker-discovery-aws-region": None,
    "broker-to-broker-discovery-aws-alb-target-group-arn": None,
    "broker-to-broker-key-store-file": None, "broker-to-broker-key-store-pass": None,
    "broker-to-broker-connection-login": "dcvsm-user", "broker-to-broker-connection-pass": "dcvsm-pass",
    "persistence-db": None, "dynamodb-region": None, "dynamodb-table-name-prefix": "DcvSm-",
    "jdbc-connection-url": None, "jdbc-user": None, "jdbc-password": None,
    "session-screenshot-format": "png", "cloud-watch-region": None,
    "metrics-fleet-name-dimension": None, "broker-java-home": None,
}
PORTS = ("client", "agent", "gateway")
SERVER_ACTIVE_SECONDS = 60
# sm-admin "Configuring broker persistence": persistence-db is dynamodb or mysql (MariaDB too)
PERSISTENCE_DATABASES = ("dynamodb", "mysql")


# -- CreateSessions Requirements (sm-dev "CreateSessions": server properties, tag:KEY, operators) -------------
# Server properties a requirement may name: the exact names and the documented families (prefix + one name).
REQUIREMENT_PROPERTIES = ("Id", "Hostname", "Version", "SessionManagerAgentVersion")
REQUIREMENT_FAMILIES = ("Host.Os", "Host.Memory", "Host.Swap", "Host.CpuLoadAverage", "Host.Aws", "Host.CpuInfo")
_REQUIREMENT_TOKEN = re.compile(r"""\s*(?:
    (?P<lparen>\() | (?P<rparen>\)) |
    (?P<op>:=|!=|>=|<=|=|>|<) |
    (?P<string>'(?:[^'\\]|\\.)*') |
    (?P<number>-?[0-9]+(?:\.[0-9]+)?(?![A-Za-z0-9_.:-])) |
    (?P<operand>(?:server|tag):[A-Za-z0-9_.:-]+) |
    (?P<word>[A-Za-z_][A-Za-z0-9_]*)
)""", re.VERBOSE)


class RequirementError(ValueError):
    """A Requirements expression the product would refuse; the message says what and where."""


def _requirement_tokens(text):
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _REQUIREMENT_TOKEN.match(text, pos)
        if not match:
            raise RequirementError("Requirements %r: unexpected text at offset %d: %r"
                                   % (text, pos, text[pos:pos + 20]))
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "word" and value.lower() in ("and", "or", "not"):
            kind, value = value.lower(), value.lower()
        elif kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value))
        pos = match.end()
    return tokens


def _requirement_property(name):
    if name in REQUIREMENT_PROPERTIES:
        return name
    family, _dot, leaf = name.rpartition(".")
    if family in REQUIREMENT_FAMILIES and re.fullmatch(r"[A-Za-z0-9_]+", leaf):
        return name
    raise RequirementError(
        "server property %r does not exist in CreateSessions requirements (supported: %s, %s; e.g. "
        "server:Hostname = 'dcv1', not server:Host.Hostname)"
        % (name, ", ".join(REQUIREMENT_PROPERTIES), ", ".join(f + ".*" for f in REQUIREMENT_FAMILIES)))


def parse_requirements(text):
    """Parse a Requirements expression into a tree; RequirementError names what the product would refuse.

    Grammar: expr = term ('or' term)*; term = factor ('and' factor)*; factor = 'not' factor | '(' expr ')' |
    operand OP value; operand = server:PROPERTY | tag:KEY; value = 'quoted' | number.
    """
    tokens = _requirement_tokens(text)
    pos = [0]

    def peek():
        return tokens[pos[0]][0] if pos[0] < len(tokens) else None

    def take(kind):
        if peek() != kind:
            found = tokens[pos[0]][1] if pos[0] < len(tokens) else "the end"
            raise RequirementError("Requirements %r: expected %s, found %r" % (text, kind, found))
        pos[0] += 1
        return tokens[pos[0] - 1][1]

    def expr():
        node = term()
        while peek() == "or":
            take("or")
            node = ("or", node, term())
        return node

    def term():
        node = factor()
        while peek() == "and":
            take("and")
            node = ("and", node, factor())
        return node

    def factor():
        if peek() == "not":
            take("not")
            return ("not", factor())
        if peek() == "lparen":
            take("lparen")
            node = expr()
            take("rparen")
            return node
        operand = take("operand")
        scope, _colon, name = operand.partition(":")
        if scope == "server":
            name = _requirement_property(name)
        elif not name:
            raise RequirementError("Requirements %r: tag: needs a tag name" % text)
        op = take("op")
        if peek() in ("string", "number"):
            value = tokens[pos[0]][1]
            pos[0] += 1
        else:
            found = tokens[pos[0]][1] if pos[0] < len(tokens) else "the end"
            raise RequirementError("Requirements %r: expected a 'quoted' value or a number after %s %s, found %r"
                                   % (text, operand, op, found))
        return ("cmp", scope, name, op, value)

    if not tokens:
        raise RequirementError("Requirements is empty")
    tree = expr()
    if pos[0] != len(tokens):
        raise RequirementError("Requirements %r: unexpected %r" % (text, tokens[pos[0]][1]))
    return tree


def _compare(actual, op, wanted):
    if actual is None:
        return False  # the server does not report this property or tag
    if op == ":=":  # the stand-in's reading of the "like" operator: SQL-style % wildcards, else substring
        if "%" in str(wanted):
            pattern = ".*".join(re.escape(part) for part in str(wanted).split("%"))
            return re.fullmatch(pattern, str(actual), re.DOTALL) is not None
        return str(wanted) in str(actual)
    try:
        left, right = float(actual), float(wanted)
    except (TypeError, ValueError):
        left, right = str(actual), str(wanted)
    return {"=": left == right, "!=": left != right, ">": left > right, ">=": left >= right,
            "<": left < right, "<=": left <= right}[op]


def requirements_match(tree, properties, tags):
    """Evaluate a parsed Requirements tree against a server's flat properties and its tags."""
    kind = tree[0]
    if kind == "or":
        return requirements_match(tree[1], properties, tags) or requirements_match(tree[2], properties, tags)
    if kind == "and":
        return requirements_match(tree[1], properties, tags) and requirements_match(tree[2], properties, tags)
    if kind == "not":
        return not requirements_match(tree[1], properties, tags)
    _cmp, scope, name, op, value = tree
    actual = (properties if scope == "server" else tags).get(name)
    return _compare(actual, op, value)


def _flatten(prefix, value, into):
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten("%s.%s" % (prefix, key) if prefix else key, item, into)
    elif not isinstance(value, list):
        into[prefix] = value
    return into


# -- CreateSessions optional parameters (sm-dev "CreateSessions": names and types) ---------------------------------
CREATE_FIELD_TYPES = {
    "InitFile": "string", "AutorunFile": "string", "PermissionsFile": "base64 string", "StorageRoot": "string",
    "MaxConcurrents": "integer", "DcvGlEnabled": "boolean", "EnqueueRequest": "boolean",
    "DisableRetryOnFailure": "boolean", "AutorunFileArguments": "array of strings",
}
# Not supported with console sessions on Linux DCV servers (the stand-in's servers are Linux)
VIRTUAL_ONLY_FIELDS = ("InitFile", "AutorunFile", "AutorunFileArguments", "DcvGlEnabled")


def create_request_problem(request, settings):
    """Why the broker refuses the optional fields of one CreateSessions request, or None."""
    for key, kind in sorted(CREATE_FIELD_TYPES.items()):
        if key not in request:
            continue
        value = request[key]
        if kind == "integer":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind == "boolean":
            ok = isinstance(value, bool)
        elif kind == "array of strings":
            ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        else:
            ok = isinstance(value, str)
            if ok and kind == "base64 string":
                try:
                    base64.b64decode(value.encode("ascii"), validate=True)
                except (ValueError, UnicodeError):
                    ok = False
        if not ok:
            return "%s: expected %s, got %r" % (key, kind, value)
    if request.get("Type") != "VIRTUAL":
        for key in VIRTUAL_ONLY_FIELDS:
            if key in request:
                return "%s is not supported with %s sessions on Linux DCV servers" % (key, request.get("Type"))
    # sm-cli "create-session": the maximum number of concurrent clients must be between 1 and 100
    if "MaxConcurrents" in request and not 1 <= request["MaxConcurrents"] <= 100:
        return "MaxConcurrents must be between 1 and 100 (got %d)" % request["MaxConcurrents"]
    arguments = request.get("AutorunFileArguments")
    if arguments is not None:
        if not request.get("AutorunFile"):
            return "AutorunFileArguments must be used alongside AutorunFile"
        # sm-admin "Broker configuration file": autorun-file-arguments-max-size / -max-argument-length
        if len(arguments) > settings["autorun-file-arguments-max-size"]:
            return "AutorunFileArguments has %d arguments, more than autorun-file-arguments-max-size (%d)" % (
                len(arguments), settings["autorun-file-arguments-max-size"])
        longest = max([len(item) for item in arguments] or [0])
        if longest > settings["autorun-file-arguments-max-argument-length"]:
            return ("an argument of AutorunFileArguments is %d characters long, more than "
                    "autorun-file-arguments-max-argument-length (%d)"
                    % (longest, settings["autorun-file-arguments-max-argument-length"]))
    return None


def check_properties_ownership(path, uid=0, group="dcvsmbroker", gid=None):
    """The real broker refuses a properties file not owned root:dcvsmbroker with mode 0640."""
    info = os.stat(path)
    if gid is None:
        gid = grp.getgrnam(group).gr_gid
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != uid or info.st_gid != gid or mode != 0o640:
        raise ConfigError(
            "%s must be owned by uid %d and group %s (gid %d) with mode 0640; it is uid %d gid %d "
            "mode %04o" % (path, uid, group, gid, info.st_uid, info.st_gid, mode))


def load_properties(text, filename, logger):
    """Typed broker settings from properties text; unknown keys are logged and ignored."""
    raw, lines = parse_java_properties(text, filename)
    settings = {}
    for key, default in list(BOOL_KEYS.items()) + list(INT_KEYS.items()) + list(STRING_KEYS.items()):
        settings[key] = default
    for key, value in raw.items():
        where = "%s:%d: %s" % (filename, lines[key], key)
        if key in BOOL_KEYS:
            if value not in ("true", "false"):
                raise ConfigError("%s = %r is not a boolean (true/false); note that a '#' after "
                                  "a value is part of the value" % (where, value))
            settings[key] = value == "true"
        elif key in INT_KEYS:
            if not re.fullmatch(r"[0-9]+", value):
                raise ConfigError("%s = %r is not an integer; note that a '#' after a value is "
                                  "part of the value" % (where, value))
            settings[key] = int(value)
        elif key in STRING_KEYS:
            settings[key] = value
        else:
            # The real broker ignores unknown keys silently; the stand-in at least logs them.
            logger.warning("%s: unknown property ignored (the real broker ignores it silently)",
                           where)
    return settings


def broker_time(dcv_time):
    """The DCV server's time (``2019-05-14T12:32:14.357567Z``, `dcv describe-session -j`) as the broker writes times:
    UTC, milliseconds, ``Z``."""
    moment = datetime.datetime.strptime(dcv_time, "%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def _hash_secret(secret):
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _basic_credentials(handler):
    header = handler.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None, None
    try:
        user, _sep, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except ValueError:
        return None, None
    return user, password


class BrokerRequestHandler(common.JsonRequestHandler):
    pass


class ClientPortHandler(BrokerRequestHandler):
    routes = [
        ("GET", r"/health", "health"),
        ("POST", r"/oauth2/token", "oauth2_token"),
        ("POST", r"/createSessions", "create_sessions"),
        ("POST", r"/describeSessions", "describe_sessions"),
        ("POST", r"/describeServers", "describe_servers"),
        ("POST", r"/deleteSessions", "delete_sessions"),
        ("GET", r"/sessionConnectionData/([^/]+)/([^/]+)", "session_connection_data"),
    ]


class AgentPortHandler(BrokerRequestHandler):
    routes = [
        ("GET", r"/health", "health"),
        ("POST", r"/agent/register", "agent_register"),
        ("POST", r"/agent/report", "agent_report"),
        ("POST", r"/agent/validate-authentication-token", "validate_token"),
    ]


class GatewayPortHandler(BrokerRequestHandler):
    routes = [
        ("GET", r"/health", "health"),
        ("POST", r"/resolveSession", "resolve_session"),
    ]


class CliPortHandler(BrokerRequestHandler):
    routes = [
        ("POST", r"/cli/register-api-client", "cli_register_api_client"),
        ("GET", r"/cli/describe-api-clients", "cli_describe_api_clients"),
        ("POST", r"/cli/unregister-api-client", "cli_unregister_api_client"),
        ("GET", r"/cli/describe-agent-clients", "cli_describe_agent_clients"),
        ("POST", r"/cli/unregister-agent-client", "cli_unregister_agent_client"),
        ("POST", r"/cli/register-server-dns-mappings", "cli_register_dns_mappings"),
        ("GET", r"/cli/describe-server-dns-mappings", "cli_describe_dns_mappings"),
    ]


class Broker:
    def __init__(self, properties_file=PROPERTIES_FILE, state_dir=STATE_DIR, log_file=LOG_FILE,
                 owner_uid=0, owner_gid=None, hostname=None):
        self.properties_file = properties_file
        self.state_dir = state_dir
        self.log = common.setup_logging("broker", log_file)
        self.owner_uid = owner_uid
        self.owner_gid = owner_gid
        self.hostname = hostname or common.short_hostname()
        self.lock = threading.RLock()
        self.tokens = {}          # access token -> (client id, expiry)
        # sessions (id -> session created through the API), servers (agent id -> last report), commands (agent
        # id -> {"Commands": pending}), api_clients, agent_clients, dns_mappings: see open_store()
        self.store = None
        self.httpd = []
        self.ports = {}

    # -- startup -----------------------------------------------------------------------------
    def load(self):
        check_properties_ownership(self.properties_file, self.owner_uid, gid=self.owner_gid)
        self.settings = load_properties(common.read_text(self.properties_file),
                                        self.properties_file, self.log)
        self._check_java_home()
        self.store = self.open_store()
        self.log.info("state: %s", self.store.description)

    def open_store(self):
        """sm-admin "Configuring broker persistence": with enable-persistence = true the broker keeps its data in
        DynamoDB or MySQL/MariaDB (persistence-db). The stand-in models MySQL/MariaDB (brokermysql); DynamoDB it
        accepts and says plainly that it keeps its state as without persistence."""
        state_file = os.path.join(self.state_dir, "standin-state.json")
        if not self.settings["enable-persistence"]:
            return brokerstore.LocalStore(state_file)
        database = self.settings["persistence-db"]
        if database not in PERSISTENCE_DATABASES:
            raise ConfigError("enable-persistence = true needs persistence-db = dynamodb or mysql (MariaDB uses "
                              "mysql), not %s (sm-admin \"Configuring broker persistence\")" % (database or "unset"))
        if database == "dynamodb":
            self.log.warning(
                "enable-persistence = true (persistence-db = dynamodb): DynamoDB is not modelled by the stand-in; it "
                "keeps sessions and servers in memory (API clients, agent clients and DNS mappings in %s)", state_file)
            return brokerstore.LocalStore(state_file)
        # a broker that cannot reach its database refuses to start, naming it (never the password)
        return MySQLStore.connect(self.settings["jdbc-connection-url"], self.settings["jdbc-user"],
                                  self.settings["jdbc-password"], logger=self.log)

    def _check_java_home(self):
        """sm-admin "Broker configuration file": with broker-java-home set the broker runs <broker-java-home>/bin/java
        at startup, so a home without it keeps the broker down. The stand-in is Python: it only checks the file."""
        home = self.settings["broker-java-home"]
        if not home:
            return
        java = os.path.join(home, "bin", "java")
        if not (os.path.isfile(java) and os.access(java, os.X_OK)):
            raise ConfigError("broker-java-home = %s: %s does not exist or is not executable, and the broker runs "
                              "<broker-java-home>/bin/java at startup" % (home, java))
        self.log.info("broker-java-home = %s: the real broker would run %s (the stand-in is Python and only checks "
                      "that it is there)", home, java)

    def _self_signed_identity(self):
        security = os.path.join(self.state_dir, "security")
        cert = os.path.join(security, "dcvsmbroker_ca.pem")
        key = os.path.join(security, "dcvsmbroker_ca.key")
        if not (os.path.exists(cert) and os.path.exists(key)):
            # Like the real broker: a self-signed CA naming only the short host name.
            key_pem, cert_pem = common.make_self_signed(self.hostname, dns_names=[self.hostname])
            os.makedirs(security, mode=0o700, exist_ok=True)
            common.write_atomic(key, key_pem, 0o600)
            common.write_atomic(cert, cert_pem, 0o644)
            self.log.info("created self-signed certificate %s for %s", cert, self.hostname)
        return cert, key

    def _tls_context(self, port_name):
        prefix = "%s-to-broker-connector-" % port_name
        store = self.settings[prefix + "key-store-file"]
        client_ca = None
        if port_name == "gateway" and self.settings["enable-tls-client-auth-gateway"]:
            trust = self.settings["gateway-to-broker-connector-trust-store-file"]
            if not trust:
                raise ConfigError("enable-tls-client-auth-gateway = true needs "
                                  "gateway-to-broker-connector-trust-store-file")
            _key, certs = common.pkcs12_to_pem(
                trust, self.settings["gateway-to-broker-connector-trust-store-pass"])
            if not certs:
                raise ConfigError("trust store %s holds no certificate" % trust)
            client_ca = b"".join(certs).decode("ascii")
        if not store:
            cert, key = self._self_signed_identity()
            self.log.info("%s port: no %skey-store-file, using the self-signed certificate (%s)",
                          port_name, prefix, common.certificate_summary(common.read_text(cert).encode()))
            return common.server_context(cert, key, client_ca)
        try:
            key_pem, certs = common.pkcs12_to_pem(store, self.settings[prefix + "key-store-pass"])
        except (OSError, ValueError) as exc:
            raise ConfigError("%skey-store-file: %s" % (prefix, exc))
        if key_pem is None or not certs:
            raise ConfigError("%s holds no private key with its certificate" % store)
        with tempfile.TemporaryDirectory(dir=self.state_dir) as tmp:
            chain, key = os.path.join(tmp, "chain.pem"), os.path.join(tmp, "key.pem")
            common.write_atomic(chain, b"".join(certs))
            common.write_atomic(key, key_pem)
            context = common.server_context(chain, key, client_ca)
        self.log.info("%s port: identity from %s (%s)", port_name, store,
                      common.certificate_summary(certs[0]))
        return context

    def start(self):
        self.load()
        handlers = {"client": ClientPortHandler, "agent": AgentPortHandler,
                    "gateway": GatewayPortHandler}
        for port_name in PORTS:
            if port_name == "gateway" and not self.settings["enable-gateway"]:
                continue
            prefix = "%s-to-broker-connector-" % port_name
            address = (self.settings[prefix + "bind-host"], self.settings[prefix + "https-port"])
            server = common.TLSHTTPServer(address, handlers[port_name],
                                          self._tls_context(port_name), self.log, self,
                                          "%s port" % port_name)
            self._serve(server, port_name)
        cli = common.TLSHTTPServer(("127.0.0.1", self.settings["cli-to-broker-port"]),
                                   CliPortHandler, None, self.log, self, "cli port")
        self._serve(cli, "cli")
        token_file = os.path.join(self.state_dir, "security", "cli-token")
        os.makedirs(os.path.dirname(token_file), mode=0o700, exist_ok=True)
        self.cli_token = secrets.token_hex(24)
        common.write_atomic(token_file, self.cli_token + "\n", 0o600)
        self.log.info("broker stand-in %s started; listening on %s", VERSION,
                      ", ".join("%s=%d" % item for item in sorted(self.ports.items())))

    def _serve(self, server, name):
        self.ports[name] = server.server_address[1]
        self.httpd.append(server)
        threading.Thread(target=server.serve_forever, args=(0.1,), name=name, daemon=True).start()

    def stop(self):
        for server in self.httpd:
            server.shutdown()
            server.server_close()
        if self.store is not None:
            self.store.close()

    def _queue_command(self, server_id, command):
        pending = self.store.get("commands", server_id) or {"Commands": []}
        pending["Commands"].append(command)
        self.store.put("commands", server_id, pending)

    # -- shared ------------------------------------------------------------------------------
    def health(self, handler, match):
        return 200, {"Status": "HEALTHY", "Standin": common.STANDIN_NOTICE}, None

    def _authorized(self, handler):
        if not self.settings["enable-authorization"]:
            return True
        header = handler.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return False
        with self.lock:
            entry = self.tokens.get(header[7:])
        return bool(entry and entry[1] > time.time())

    def _unauthorized(self):
        return 401, {"error": "unauthorized",
                     "error_description": "Full authentication is required to access this resource"}, None

    # -- client port -------------------------------------------------------------------------
    def oauth2_token(self, handler, match):
        if not self.settings["enable-authorization-server"]:
            return 404, {"error": "the authorization server is disabled"}, None
        body = handler.body_bytes().decode("utf-8")
        params = dict(handler.query())
        params.update(dict(urllib.parse.parse_qsl(body)))
        if params.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}, None
        client_id, secret = _basic_credentials(handler)
        with self.lock:
            client = self.store.get("api_clients", client_id or "")
            if not client or not hmac.compare_digest(client["secret_sha256"], _hash_secret(secret)):
                self.log.warning("oauth2: rejected credentials for client id %r", client_id)
                return 401, {"error": "invalid_client"}, None
            if not client.get("active", True):
                # sm-admin "unregister-api-client": a deactivated client can no longer retrieve access tokens.
                self.log.warning("oauth2: client id %r is deactivated (unregister-api-client)", client_id)
                return 401, {"error": "invalid_client", "error_description": "client is deactivated"}, None
            token = secrets.token_urlsafe(32)
            self.tokens[token] = (client_id, time.time() + 3600)
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": 3599}, None

    def _server_properties(self, server):
        """The server's properties as CreateSessions requirements name them (Id, Hostname, Host.Os.Family, ...)."""
        view = self._server_view(server)
        flat = _flatten("", {"Host": view["Host"]}, {})
        for key in REQUIREMENT_PROPERTIES:
            flat[key] = view.get(key)
        return flat

    def _server_matches(self, server, requirements):
        if not requirements:
            return True
        tree = parse_requirements(requirements)
        return requirements_match(tree, self._server_properties(server), server.get("Tags") or {})

    def _active_servers(self):
        now = time.time()
        return [s for s in self.store.values("servers") if now - s["LastSeen"] < SERVER_ACTIVE_SECONDS]

    def create_sessions(self, handler, match):
        if not self._authorized(handler):
            return self._unauthorized()
        requests = handler.body_json()
        if not isinstance(requests, list):
            raise ValueError("createSessions expects a JSON array")
        ok, failed = [], []
        with self.lock:
            for request in requests:
                reason = None
                try:
                    if not request.get("Name") or not request.get("Owner"):
                        raise ValueError("Name and Owner are required")
                    if request.get("Type") not in ("CONSOLE", "VIRTUAL"):
                        raise ValueError("Type must be CONSOLE or VIRTUAL")
                    problem = create_request_problem(request, self.settings)
                    if problem:
                        raise ValueError(problem)
                    if request.get("Requirements"):
                        parse_requirements(request["Requirements"])  # refused even when no server is up
                    candidates = [s for s in self._active_servers()
                                  if self._server_matches(s, request.get("Requirements"))]
                    if not candidates:
                        raise ValueError("no available DCV server matches the requirements%s" % (
                            " (EnqueueRequest: the stand-in does not queue requests)"
                            if request.get("EnqueueRequest") else ""))
                except ValueError as exc:
                    reason = str(exc)
                if reason:
                    failed.append({"CreateSessionRequestData": request, "FailureReason": reason})
                    continue
                server = min(candidates, key=lambda s: len(s["Sessions"]))
                session = {"Id": str(uuid.uuid4()), "Name": request["Name"],
                           "Owner": request["Owner"], "Type": request["Type"],
                           "State": "CREATING", "ServerId": server["Id"],
                           "CreationTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                self.store.put("sessions", session["Id"], session)
                command = {"CommandId": str(uuid.uuid4()), "Action": "create", "SessionId": session["Id"],
                           "Name": session["Name"], "Owner": session["Owner"], "Type": session["Type"]}
                if request.get("PermissionsFile"):
                    # the agent hands it to the DCV server, which decides from it who may connect
                    command["PermissionsFile"] = request["PermissionsFile"]
                self._queue_command(server["Id"], command)
                ok.append(self._session_view(session))
                self.log.info("createSessions: session %s for %s queued on server %s (%s)%s",
                              session["Id"], session["Owner"], server["Hostname"], server["Ip"],
                              "".join(", %s=%r" % (key, request[key]) for key in sorted(CREATE_FIELD_TYPES)
                                      if key in request and key != "PermissionsFile"))
        return 200, {"RequestId": str(uuid.uuid4()), "SuccessfulList": ok,
                     "UnsuccessfulList": failed}, None

    def _server_view(self, server):
        return {"Id": server["Id"], "Ip": server["Ip"], "Hostname": server["Hostname"],
                "Port": str(server["DcvServer"]["WebPort"]),
                "Endpoints": self._endpoints(server),
                "Version": server.get("DcvServerVersion", ""),
                "SessionManagerAgentVersion": server.get("AgentVersion", ""),
                "Availability": "AVAILABLE" if server["DcvServer"].get("Running") else "UNAVAILABLE",
                "Host": dict(server.get("Host") or {"Os": {"Family": "linux"}}),
                "Tags": [{"Key": k, "Value": v} for k, v in sorted((server.get("Tags") or {}).items())]}

    def _endpoints(self, server):
        dcv = server["DcvServer"]
        endpoints = [{"IpAddress": server["Ip"], "Port": dcv["WebPort"], "Protocol": "HTTP",
                      "WebUrlPath": dcv["WebUrlPath"]}]
        if dcv.get("QuicEnabled"):
            endpoints.append({"IpAddress": server["Ip"], "Port": dcv["QuicPort"], "Protocol": "QUIC",
                              "WebUrlPath": dcv["WebUrlPath"]})
        return endpoints

    def _session_view(self, session):
        view = {k: v for k, v in session.items() if k != "ServerId"}
        server = self.store.get("servers", session["ServerId"])
        view["Server"] = self._server_view(server) if server else {}
        return view

    def _described_session(self, session):
        """A session as DescribeSessions answers: the view, with NumOfConnections (active client connections) and
        LastDisconnectionTime (when the last client disconnected) as the agent last reported them (sm-dev
        "DescribeSessions"); a session no client has left has no LastDisconnectionTime, one the agent does not
        report (yet) no connection."""
        view = self._session_view(session)
        server = self.store.get("servers", session["ServerId"]) or {}
        reported = next((s for s in server.get("Sessions", []) if s.get("Id") == session["Id"]), {})
        view["NumOfConnections"] = reported.get("NumOfConnections") or 0
        if reported.get("LastDisconnectionTime"):
            view["LastDisconnectionTime"] = broker_time(reported["LastDisconnectionTime"])
        return view

    def describe_sessions(self, handler, match):
        if not self._authorized(handler):
            return self._unauthorized()
        body = handler.body_json() or {}
        wanted = body.get("SessionIds")
        with self.lock:
            sessions = [self._described_session(s) for s in self.store.values("sessions")
                        if not wanted or s["Id"] in wanted]
        return 200, {"RequestId": str(uuid.uuid4()), "Sessions": sessions,
                     "UnsuccessfulList": []}, None

    def describe_servers(self, handler, match):
        if not self._authorized(handler):
            return self._unauthorized()
        with self.lock:
            servers = [self._server_view(s) for s in self._active_servers()]
        return 200, {"RequestId": str(uuid.uuid4()), "Servers": servers}, None

    def delete_sessions(self, handler, match):
        if not self._authorized(handler):
            return self._unauthorized()
        requests = handler.body_json()
        if not isinstance(requests, list):
            raise ValueError("deleteSessions expects a JSON array")
        ok, failed = [], []
        with self.lock:
            for request in requests:
                session = self.store.get("sessions", str(request.get("SessionId")))
                if not session or session["Owner"] != request.get("Owner"):
                    failed.append({"SessionId": request.get("SessionId"),
                                   "FailureReason": "session not found for this owner"})
                    continue
                session["State"] = "DELETING"
                self.store.put("sessions", session["Id"], session)
                self._queue_command(session["ServerId"], {"CommandId": str(uuid.uuid4()), "Action": "close",
                                                          "SessionId": session["Id"]})
                ok.append({"SessionId": session["Id"], "State": "DELETING"})
        return 200, {"RequestId": str(uuid.uuid4()), "SuccessfulList": ok,
                     "UnsuccessfulList": failed}, None

    def session_connection_data(self, handler, match):
        if not self._authorized(handler):
            return self._unauthorized()
        session_id, user = match.group(1), match.group(2)
        with self.lock:
            session = self.store.get("sessions", session_id)
            if not session or session["State"] != "READY":
                return 404, {"message": "session %s is not READY" % session_id}, None
            # sm-dev "GetSessionConnectionData" takes a session ID and a User, the user the connection data is for,
            # and sets no condition on who that is: the broker issues a token for any user, owner or not. Whether
            # that user gets in is the DCV server's decision, from the session's permissions file
            # (dcvstandin.permissions.may_view).
            token = secrets.token_urlsafe(32)
            lifetime = self.settings["connect-session-token-duration-minutes"] * 60
            self.store.put("connection_tokens", _hash_secret(token), {"SessionId": session_id, "User": user,
                                                                      "Expiry": time.time() + lifetime})
            view = self._session_view(session)
        return 200, {"Session": view, "ConnectionToken": token}, None

    # -- agent port --------------------------------------------------------------------------
    def agent_register(self, handler, match):
        body = handler.body_json() or {}
        hostname = body.get("Hostname")
        if not hostname:
            raise ValueError("Hostname is required")
        agent_id, secret = str(uuid.uuid4()), secrets.token_urlsafe(24)
        with self.lock:
            self.store.put("agent_clients", agent_id, {"name": hostname, "secret_sha256": _hash_secret(secret)})
        self.log.info("agent client %s registered for host %s", agent_id, hostname)
        return 200, {"AgentId": agent_id, "AgentSecret": secret}, None

    def _agent_id(self, handler):
        agent_id, secret = _basic_credentials(handler)
        with self.lock:
            client = self.store.get("agent_clients", agent_id or "")
        if client and hmac.compare_digest(client["secret_sha256"], _hash_secret(secret or "")):
            return agent_id
        if not self.settings["enable-agent-authorization"] and agent_id:
            return agent_id
        return None

    def agent_report(self, handler, match):
        agent_id = self._agent_id(handler)
        if not agent_id:
            return 401, {"Result": "failure", "Message": "unknown agent client; register again"}, None
        report = handler.body_json() or {}
        with self.lock:
            server = self.store.get("servers", agent_id)
            if server is None:
                self.log.info("agent %s: DCV server %s (%s) registered", agent_id,
                              report.get("Hostname"), report.get("Ip"))
            server = {"Id": agent_id, "Hostname": report["Hostname"], "Ip": report["Ip"],
                      "DcvServer": report["DcvServer"], "Sessions": report.get("Sessions", []),
                      "AgentVersion": report.get("AgentVersion", ""),
                      "DcvServerVersion": report.get("DcvServerVersion", ""),
                      "Host": report.get("Host") or {"Os": {"Family": "linux"}},
                      "Tags": {str(k): str(v) for k, v in (report.get("Tags") or {}).items()},
                      "LastSeen": time.time()}
            self.store.put("servers", agent_id, server)
            self._apply_report(server, report.get("CommandResults", []))
            commands = (self.store.pop("commands", agent_id) or {}).get("Commands", [])
        return 200, {"Result": "success", "Commands": commands}, None

    def _apply_report(self, server, results):
        reported = {s["Id"] for s in server["Sessions"]}
        for result in results:
            session = self.store.get("sessions", str(result.get("SessionId")))
            if not session:
                continue
            if result["Action"] == "create" and not result["Success"]:
                session["State"], session["StateReason"] = "DELETED", result.get("Message", "")
                self.log.warning("session %s could not be created on %s: %s", session["Id"],
                                 server["Hostname"], result.get("Message"))
            if result["Action"] == "close" and result["Success"]:
                session["State"] = "DELETED"
            self.store.put("sessions", session["Id"], session)
        for session in self.store.values("sessions"):
            if session["ServerId"] != server["Id"]:
                continue
            if session["State"] == "CREATING" and session["Id"] in reported:
                session["State"] = "READY"
                self.log.info("session %s is READY on %s", session["Id"], server["Hostname"])
            elif session["State"] in ("READY", "DELETING") and session["Id"] not in reported:
                session["State"] = "DELETED"
            else:
                continue
            self.store.put("sessions", session["Id"], session)

    def validate_token(self, handler, match):
        # DCV's external authenticator protocol: form fields in, <auth> XML out.
        form = dict(urllib.parse.parse_qsl(handler.body_bytes().decode("utf-8")))
        token, session_id = form.get("authenticationToken", ""), form.get("sessionId", "")
        with self.lock:
            entry = self.store.get("connection_tokens", _hash_secret(token)) if token else None
        if not entry or entry["Expiry"] < time.time() or entry["SessionId"] != session_id:
            self.log.warning("token verification for session %s from %s: rejected", session_id,
                             handler.client_address[0])
            return 200, '<auth result="no"><message>invalid token</message></auth>', "text/xml"
        self.log.info("token verification for session %s: user %s", session_id, entry["User"])
        return 200, '<auth result="yes"><username>%s</username></auth>' % entry["User"], "text/xml"

    # -- gateway port ------------------------------------------------------------------------
    def resolve_session(self, handler, match):
        query = handler.query()
        session_id, transport = query.get("sessionId"), query.get("transport")
        with self.lock:
            session = self.store.get("sessions", session_id or "")
            server = self.store.get("servers", session["ServerId"]) if session else None
            endpoint = None
            if session and server and session["State"] == "READY":
                endpoint = next((e for e in self._endpoints(server) if e["Protocol"] == transport), None)
            if endpoint is None:
                self.log.info("resolveSession sessionId=%s transport=%s: not found", session_id,
                              transport)
                return 404, RESOLVER_404, None
            target = self._dns_name(server) or server["Ip"]
        self.log.info("resolveSession sessionId=%s transport=%s -> %s:%s", session_id, transport,
                      target, endpoint["Port"])
        return 200, {"SessionId": session_id, "TransportProtocol": transport,
                     "DcvServerEndpoint": target, "Port": endpoint["Port"],
                     "WebUrlPath": endpoint["WebUrlPath"]}, None

    def _dns_name(self, server):
        for mapping in self.store.values("dns_mappings"):
            key = {"Ip": "Ip", "Id": "Id"}.get(mapping["ServerIdType"])
            if key and server[key] == mapping["ServerId"]:
                return mapping["DnsNames"].get("InternalDnsName")
        return None

    # -- CLI port (loopback, token file readable by root only) -------------------------------
    def _cli_ok(self, handler):
        return hmac.compare_digest(handler.headers.get("X-Standin-Cli-Token", ""), self.cli_token)

    def cli_register_api_client(self, handler, match):
        if not self._cli_ok(handler):
            return 403, {"message": "bad CLI token"}, None
        name = (handler.body_json() or {}).get("ClientName")
        if not name:
            raise ValueError("--client-name is required")
        client_id = str(uuid.uuid4())
        secret = base64.b64encode(secrets.token_bytes(36)).decode("ascii")
        with self.lock:
            self.store.put("api_clients", client_id, {"name": name, "secret_sha256": _hash_secret(secret),
                                                      "active": True})
        self.log.info("api client %s registered with name %s", client_id, name)
        return 200, {"ClientId": client_id, "ClientPassword": secret}, None

    def cli_describe_api_clients(self, handler, match):
        if not self._cli_ok(handler):
            return 403, {"message": "bad CLI token"}, None
        with self.lock:
            return 200, [{"name": c["name"], "id": i, "active": c["active"]}
                         for i, c in self.store.items("api_clients")], None

    def cli_unregister_api_client(self, handler, match):
        if not self._cli_ok(handler):
            return 403, {"message": "bad CLI token"}, None
        client_id = (handler.body_json() or {}).get("ClientId")
        with self.lock:
            client = self.store.get("api_clients", str(client_id))
            if client is None:
                return 404, {"message": "api client %s not found" % client_id}, None
            # sm-admin "unregister-api-client": the client is deactivated, not deleted; describe-api-clients
            # lists it with "active": false and it can no longer retrieve access tokens. Tokens issued
            # before stay valid until they expire (the guide says nothing else).
            client["active"] = False
            self.store.put("api_clients", str(client_id), client)
        self.log.info("api client %s deactivated", client_id)
        return 200, {"ClientId": client_id}, None

    def cli_describe_agent_clients(self, handler, match):
        if not self._cli_ok(handler):
            return 403, {"message": "bad CLI token"}, None
        with self.lock:
            active = {s["Id"] for s in self._active_servers()}
            return 200, [{"name": c["name"], "id": i, "active": i in active}
                         for i, c in self.store.items("agent_clients")], None

    def cli_unregister_agent_client(self, handler, match):
        if not self._cli_ok(handler):
            return 403, {"message": "bad CLI token"}, None
        client_id = (handler.body_json() or {}).get("ClientId")
        with self.lock:
            if not self.store.delete("agent_clients", str(client_id)):
                return 404, {"message": "agent client %s not found" % client_id}, None
            self.store.delete("servers", str(client_id))
        return 200, {"ClientId": client_id}, None

    def cli_register_dns_mappings(self, handler, match):
        if not self._cli_ok(handler):
            return 403, {"message": "bad CLI token"}, None
        mappings = handler.body_json()
        if not isinstance(mappings, list):
            raise ValueError("the mappings file must hold a JSON array")
        for mapping in mappings:
            if (mapping.get("ServerIdType") not in ("Ip", "Id", "Host.Aws.Ec2InstanceId")
                    or not mapping.get("ServerId")
                    or not isinstance(mapping.get("DnsNames"), dict)):
                raise ValueError("each mapping needs ServerIdType (Ip, Id or "
                                 "Host.Aws.Ec2InstanceId), ServerId and DnsNames: %r" % mapping)
        with self.lock:
            self.store.replace("dns_mappings", brokerstore.mapping_items(mappings))
        return 200, {"Count": len(mappings)}, None

    def cli_describe_dns_mappings(self, handler, match):
        if not self._cli_ok(handler):
            return 403, {"message": "bad CLI token"}, None
        with self.lock:
            return 200, [{"serverIdType": m["ServerIdType"], "serverId": m["ServerId"],
                          "dnsNames": {"internalDnsName": m["DnsNames"].get("InternalDnsName"),
                                       "externalDnsName": m["DnsNames"].get("ExternalDnsName")}}
                         for m in self.store.values("dns_mappings")], None


def main(argv=None):
    parser = argparse.ArgumentParser(description="DCV Session Manager Broker stand-in (%s)"
                                     % common.STANDIN_NOTICE)
    parser.add_argument("--properties", default=PROPERTIES_FILE)
    parser.add_argument("--state-dir", default=STATE_DIR)
    parser.add_argument("--log-file", default=LOG_FILE)
    args = parser.parse_args(argv)
    broker = Broker(args.properties, args.state_dir, args.log_file)
    try:
        broker.start()
    except (ConfigError, OSError, ValueError) as exc:
        broker.log.error("refusing to start: %s", exc)
        return 1
    common.notify_ready()
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
