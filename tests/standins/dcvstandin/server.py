# TEST DOUBLE: part of the dcvkit test stand-ins for the Amazon DCV packages (tests/standins).
# Not Amazon software; used only by the collection's tests and lab.
"""Stand-in for the DCV server (package nice-dcv-server, unit dcvserver).

Reads /etc/dcv/dcv.conf, serves TLS on [connectivity] web-port with /etc/dcv/dcv.pem and
dcv.key (creating a self-signed pair when they are absent), keeps sessions in memory, creates
the automatic `console` session when [session-management] create-session = true, and checks
connection tokens against [security] auth-token-verifier trusting [security] ca-file.
The `dcv` CLI (dcvcli.py) talks to it over a local Unix socket; [security] administrators
decides who may create and close sessions.

VIRTUAL sessions get a real X desktop of their owner (xsession.py: Xdcv, x-session-manager,
x11vnc, websockify), and GET <web-url-path>standin/stream?sessionId=&authToken= with
`Upgrade: websocket` checks the token like standin/authenticate, then hands the connection to
the session's websockify bridge (relay.py): the browser's WebSocket reaches noVNC's RFB server.
The session's permissions file (permissions.py) decides who connects (display) and which bridge
they get: the session's own, or a restricted one without the input they may not send (keyboard,
mouse), such as a viewer's view-only one.
"""

import argparse
import datetime
import json
import os
import pwd
import re
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from xml.etree import ElementTree

from dcvstandin import common, relay, xsession
from dcvstandin.permissions import features, may_view
from dcvstandin.configformats import ConfigError, parse_dcv_conf

CONF_FILE = "/etc/dcv/dcv.conf"
CERT_DIR = "/etc/dcv"
CONTROL_SOCKET = "/run/dcv/standin-control.sock"
LOG_FILE = "/var/log/dcv/server.log"
XDCV = "/usr/bin/Xdcv"
WWW_DIR = "/usr/share/dcv/www"
VERSION = "2025.0.20103 (stand-in)"


def dcv_settings(conf):
    """The dcv.conf settings the stack uses, with the product defaults."""
    def get(section, key, default, kind):
        value = conf.get(section, {}).get(key, default)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError("[%s] %s = %r: expected %s" % (section, key, value, kind.__name__))
        return value
    web_url_path = get("connectivity", "web-url-path", "/", str)
    if not web_url_path.startswith("/"):
        raise ConfigError("[connectivity] web-url-path must start with '/': %r" % web_url_path)
    return {
        "create-session": get("session-management", "create-session", False, bool),
        "console-owner": get("session-management/automatic-console-session", "owner", "dcv", str),
        "web-port": get("connectivity", "web-port", 8443, int),
        "web-url-path": web_url_path.rstrip("/") + "/",
        "enable-quic-frontend": get("connectivity", "enable-quic-frontend", False, bool),
        "quic-port": get("connectivity", "quic-port", 8443, int),
        # adminguide "Amazon DCV Server parameter reference": minutes, 0 never disconnects; checked, not acted on
        "idle-timeout": get("connectivity", "idle-timeout", 60, int),
        "auth-token-verifier": get("security", "auth-token-verifier", "", str),
        "ca-file": get("security", "ca-file", "", str),
        "administrators": get("security", "administrators", [], list),
    }


def load_dcv_conf(path=CONF_FILE):
    return dcv_settings(parse_dcv_conf(common.read_text(path), path))


def dcv_time(moment):
    """A time as `dcv describe-session -j` writes it: UTC with microseconds (adminguide "Finding and stopping idle
    sessions": "creation-time" : "2019-05-13T13:21:19.262883Z")."""
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_session(session_id, name, owner, kind, **extra):
    """A session as `dcv describe-session -j` shows it. adminguide "Finding and stopping idle sessions":
    num-of-connections is the number of active client connections (0: idle), last-disconnection-time when the last
    client disconnected; adminguide "Viewing Amazon DCV sessions" shows it "" for a session no client has left yet.
    A client connection here is a desktop stream (standin/stream); the standin/authenticate check is none."""
    session = {"id": session_id, "name": name, "owner": owner, "type": kind, "num-of-connections": 0,
               "creation-time": dcv_time(time.time()), "last-disconnection-time": ""}
    session.update(extra)
    return session


class WebHandler(common.JsonRequestHandler):
    routes = [("GET", r".*", "web")]
    rbufsize = 0  # unbuffered: the stream route hands the socket over with nothing read ahead

    def _dispatch(self, method):
        if method == "GET" and relay.is_websocket_upgrade(self.headers) and self.server.app.is_stream(self):
            self.close_connection = True
            return self.server.app.stream(self)
        return super()._dispatch(method)


class ControlHandler(socketserver.StreamRequestHandler):
    def handle(self):
        creds = self.request.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                        struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        try:
            request = json.loads(self.rfile.readline().decode("utf-8"))
            reply = self.server.app.control(request, uid)
        except (ValueError, KeyError) as exc:
            reply = {"ok": False, "error": str(exc)}
        self.wfile.write((json.dumps(reply) + "\n").encode("utf-8"))


class DcvServer:
    def __init__(self, conf_file=CONF_FILE, cert_dir=CERT_DIR, control_socket=CONTROL_SOCKET,
                 log_file=LOG_FILE, xdcv=XDCV, www_dir=WWW_DIR, bind_host="0.0.0.0", launcher=None):
        self.conf_file, self.cert_dir, self.control_socket = conf_file, cert_dir, control_socket
        self.xdcv, self.www_dir, self.bind_host = xdcv, www_dir, bind_host
        self.log = common.setup_logging("dcvserver", log_file)
        # session processes log next to the server log (/var/log/dcv/session-ID.log)
        self.launcher = launcher or xsession.DesktopLauncher(
            self.log, os.path.dirname(os.path.abspath(log_file or LOG_FILE)), xdcv=xdcv)
        self.sessions = {}
        self.permissions = {}  # session id -> its permissions file text (dcv create-session --permissions-file)
        self.desktops = {}  # session id -> xsession.Desktop (VIRTUAL sessions only)
        self.pending = set()  # VIRTUAL sessions whose desktop is starting
        self.lock = threading.Lock()
        self.servers = []

    def _identity(self):
        cert = os.path.join(self.cert_dir, "dcv.pem")
        key = os.path.join(self.cert_dir, "dcv.key")
        if not (os.path.exists(cert) and os.path.exists(key)):
            host = common.short_hostname()
            key_pem, cert_pem = common.make_self_signed(host, dns_names=[host])
            common.write_atomic(key, key_pem, 0o600)
            common.write_atomic(cert, cert_pem, 0o644)
            self.log.info("created self-signed %s and %s", cert, key)
        self.log.info("TLS identity %s (%s)", cert,
                      common.certificate_summary(common.read_text(cert).encode("ascii")))
        return cert, key

    def start(self):
        self.settings = load_dcv_conf(self.conf_file)
        cert, key = self._identity()
        web = common.TLSHTTPServer((self.bind_host, self.settings["web-port"]), WebHandler,
                                   common.server_context(cert, key), self.log, self, "web port")
        os.makedirs(os.path.dirname(self.control_socket), exist_ok=True)
        if os.path.exists(self.control_socket):
            os.unlink(self.control_socket)
        control = socketserver.ThreadingUnixStreamServer(self.control_socket, ControlHandler)
        control.daemon_threads = True
        control.app = self
        os.chmod(self.control_socket, 0o666)  # anyone may ask; control() checks the caller
        for server in (web, control):
            self.servers.append(server)
            threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
        self.web_port = web.server_address[1]
        if self.settings["create-session"]:
            owner = self.settings["console-owner"]
            self.sessions["console"] = new_session("console", "console", owner, "console")
            self.log.info("automatic console session 'console' created for %s "
                          "([session-management] create-session = true)", owner)
        self.log.info("DCV server stand-in %s listening on port %d (web-url-path %s)", VERSION,
                      self.web_port, self.settings["web-url-path"])

    def stop(self):
        for server in self.servers:
            server.shutdown()
            server.server_close()
        with self.lock:
            desktops, self.desktops = list(self.desktops.values()), {}
        for desktop in desktops:
            self.launcher.stop(desktop)

    # -- control socket (dcv CLI) ------------------------------------------------------------
    def _is_admin(self, uid):
        if uid == 0:
            return True
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            return False
        return name in self.settings["administrators"]

    def control(self, request, uid):
        command = request["command"]
        with self.lock:
            if command == "list-sessions":
                return {"ok": True, "sessions": sorted(self.sessions.values(), key=lambda s: s["id"])}
            if command == "describe-session":
                session = self.sessions.get(request["id"])
                if not session:
                    return {"ok": False, "error": "Session '%s' does not exist" % request["id"]}
                return {"ok": True, "session": session}
            if not self._is_admin(uid):
                return {"ok": False, "error": "uid %d is not allowed: not root and not in [security] "
                                              "administrators %s" % (uid, self.settings["administrators"])}
            if command == "create-session":
                reply = self._create(request)
                if reply is not None:
                    return reply
                self.pending.add(request["id"])
            elif command == "close-session":
                if self.sessions.pop(request["id"], None) is None:
                    return {"ok": False, "error": "Session '%s' does not exist" % request["id"]}
                self.permissions.pop(request["id"], None)
                desktop = self.desktops.pop(request["id"], None)
            else:
                return {"ok": False, "error": "unknown command %r" % command}
        # starting or stopping a desktop takes a while: outside the lock, so listings go on
        if command == "create-session":
            return self._launch(request)
        if desktop is not None:
            self.launcher.stop(desktop)
        self.log.info("session %s closed", request["id"])
        return {"ok": True}

    def _create(self, request):
        session_id, owner, kind = request["id"], request["owner"], request["type"]
        if not re.fullmatch(r"[A-Za-z0-9._-]+", session_id):
            return {"ok": False, "error": "invalid session id %r" % session_id}
        if session_id in self.sessions or session_id in self.pending:
            return {"ok": False, "error": "Session '%s' already exists" % session_id}
        try:
            pwd.getpwnam(owner)
        except KeyError:
            return {"ok": False, "error": "owner %r does not exist on this host" % owner}
        if kind == "virtual" and not os.path.exists(self.xdcv):
            return {"ok": False, "error": "virtual sessions need nice-xdcv (%s not found)" % self.xdcv}
        if kind == "console" and any(s["type"] == "console" for s in self.sessions.values()):
            return {"ok": False, "error": "a console session already exists"}
        if kind not in ("virtual", "console"):
            return {"ok": False, "error": "type must be virtual or console"}
        if kind == "virtual":
            return None  # valid: the caller starts the desktop outside the lock
        self.sessions[session_id] = new_session(session_id, request.get("name") or session_id, owner, kind)
        self.permissions[session_id] = request.get("permissions-file")
        self.log.info("session %s (%s) created for %s", session_id, kind, owner)
        return {"ok": True}

    def _launch(self, request):
        """Start a VIRTUAL session's X desktop; the session exists only once its display answers."""
        session_id, owner = request["id"], request["owner"]
        try:
            desktop = self.launcher.start(session_id, owner)
        except (xsession.DesktopError, OSError) as exc:
            self.log.error("session %s (virtual) for %s not created: %s", session_id, owner, exc)
            with self.lock:
                self.pending.discard(session_id)
            return {"ok": False, "error": "virtual session %s: %s" % (session_id, exc)}
        with self.lock:
            self.pending.discard(session_id)
            # "x11-display" as in `dcv describe-session -j` (AWS DCV Administrator Guide,
            # "Viewing Amazon DCV sessions")
            self.sessions[session_id] = new_session(session_id, request.get("name") or session_id, owner,
                                                    "virtual", **{"x11-display": desktop.display})
            self.permissions[session_id] = request.get("permissions-file")
            self.desktops[session_id] = desktop
        self.log.info("session %s (virtual) created for %s on display %s (%s; VNC 127.0.0.1:%s, "
                      "websockify 127.0.0.1:%s; log %s)", session_id, owner, desktop.display,
                      "desktop environment started" if desktop.desktop_environment
                      else "no desktop environment", desktop.vnc_port, desktop.ws_port,
                      desktop.log_path)
        return {"ok": True}

    # -- web port ----------------------------------------------------------------------------
    def web(self, handler, match):
        path = urllib.parse.urlsplit(handler.path).path
        base = self.settings["web-url-path"]
        if path == base + "standin/authenticate":
            return self.authenticate(handler)
        if path in (base, base.rstrip("/")):
            index = os.path.join(self.www_dir, "index.html")
            if os.path.exists(index):
                with open(index, "rb") as handle:
                    return 200, handle.read(), "text/html"
            return 200, "DCV server stand-in (%s)\n" % common.STANDIN_NOTICE, None
        return 404, {"message": "not found"}, None

    def authenticate(self, handler):
        """Accept a connection if auth-token-verifier names a user the session's permissions let see it."""
        query = handler.query()
        status, answer = self.verify(query.get("sessionId", ""), query.get("authToken", ""),
                                     handler.client_address[0])
        return status, answer, None

    def verify(self, session_id, token, client_address):
        """(status, answer): 200 when auth-token-verifier names a user the session's permissions let see it."""
        with self.lock:
            session = self.sessions.get(session_id)
            permissions = self.permissions.get(session_id)
        if not session:
            return 404, {"Authenticated": False, "Reason": "no session %r on this server" % session_id}
        verifier = self.settings["auth-token-verifier"]
        if not verifier:
            self.log.error("connection to %s refused: no [security] auth-token-verifier, so "
                           "connection tokens cannot be checked", session_id)
            return 403, {"Authenticated": False, "Reason": "no auth-token-verifier configured"}
        body = urllib.parse.urlencode({"sessionId": session_id, "authenticationToken": token,
                                       "clientAddress": client_address})
        try:
            context = common.client_context(self.settings["ca-file"] or None, strict=True)
            status, data, _peer = common.https_request(
                "POST", verifier, context, body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"})
        except (ssl.SSLError, ssl.CertificateError) as exc:
            self.log.error("auth-token-verifier %s: TLS error (ca-file %s): %s", verifier,
                           self.settings["ca-file"] or "<system>", common.explain_tls_error(exc))
            return 502, {"Authenticated": False, "Reason": "auth-token-verifier TLS error: %s" % exc}
        except OSError as exc:
            self.log.error("auth-token-verifier %s unreachable: %s", verifier, exc)
            return 502, {"Authenticated": False, "Reason": "auth-token-verifier unreachable: %s" % exc}
        try:
            root = ElementTree.fromstring(data.decode("utf-8"))
        except ElementTree.ParseError:
            root = None
        if status != 200 or root is None or root.get("result") != "yes":
            self.log.warning("token for session %s rejected by %s", session_id, verifier)
            return 403, {"Authenticated": False, "Reason": "token rejected by auth-token-verifier"}
        user = root.findtext("username")
        # the broker issues a token for any user; who gets in is the session's permissions' decision
        if not may_view(permissions, session["owner"], user):
            self.log.warning("connection to session %s refused: its permissions do not let %s see it", session_id,
                             user)
            return 403, {"Authenticated": False,
                         "Reason": "token user %r may not see session %s: %s" % (
                             user, session_id, "not its owner (no permissions file)" if permissions is None
                             else "its permissions file does not allow them display")}
        self.log.info("connection to session %s authenticated for %s via %s", session_id, user, verifier)
        return 200, {"Authenticated": True, "SessionId": session_id, "User": user,
                     "Verifier": verifier}

    # -- desktop stream ----------------------------------------------------------------------------
    def is_stream(self, handler):
        path = urllib.parse.urlsplit(handler.path).path
        return path == self.settings["web-url-path"] + "standin/stream"

    def stream(self, handler):
        """GET <web-url-path>standin/stream?sessionId=&authToken= with Upgrade: websocket.

        Checked like standin/authenticate; then the upgrade request goes unchanged to the
        session's websockify bridge, whose 101 answer and RFB-over-WebSocket bytes come back.
        """
        query = handler.query()
        session_id = query.get("sessionId", "")
        status, answer = self.verify(session_id, query.get("authToken", ""), handler.client_address[0])
        if status != 200:
            self.log.warning("stream for session %s refused (%d): %s", session_id, status,
                             answer["Reason"])
            return handler.respond(status, answer)
        user, verifier = answer["User"], answer["Verifier"]
        with self.lock:
            desktop = self.desktops.get(session_id)
            session = self.sessions.get(session_id)
            allowed = features(self.permissions.get(session_id), session["owner"], user) if session else frozenset()
        if desktop is None:
            reason = ("session %s has no desktop to stream (only VIRTUAL sessions get an X display "
                      "in the stand-in)" % session_id)
            self.log.error("stream for session %s (owner %s) refused (502): %s", session_id, user, reason)
            return handler.respond(502, {"Authenticated": True, "Reason": reason})
        # the user's input features pick the bridge: one that drops what they may not send (launcher.bridge_port)
        letters = xsession.input_letters(allowed)
        try:
            port = self.launcher.bridge_port(desktop, letters)
        except (xsession.DesktopError, OSError) as exc:
            reason = "the %s bridge of session %s could not start: %s" % (
                xsession.describe_input(letters), session_id, exc)
            self.log.error("stream for session %s (user %s) refused (502): %s", session_id, user, reason)
            return handler.respond(502, {"Authenticated": True, "Reason": reason})
        backend = None
        deadline = time.monotonic() + 10  # websockify may still be starting
        while backend is None:
            try:
                backend = socket.create_connection(("127.0.0.1", port), timeout=10)
            except OSError as exc:
                if time.monotonic() > deadline:
                    reason = "websockify bridge 127.0.0.1:%s unreachable: %s" % (port, exc)
                    self.log.error("stream for session %s (owner %s) refused (502): %s", session_id,
                                   user, reason)
                    return handler.respond(502, {"Authenticated": True, "Reason": reason})
                time.sleep(0.2)
        with backend:
            backend.sendall(relay.request_head(handler))
            if letters == xsession.FULL_INPUT:
                self.log.info("stream for session %s (owner %s) opened via %s", session_id, user, verifier)
            else:
                # adminguide "Adding permissions": keyboard and mouse are the client's input features
                self.log.info("stream for session %s (user %s) opened %s via %s (permissions allow: %s)",
                              session_id, user, xsession.describe_input(letters), verifier,
                              " ".join(sorted(allowed)) or "nothing")
            self._count_connection(session_id, +1)
            try:
                sent, received = relay.pipe(handler.connection, backend)
            finally:
                self._count_connection(session_id, -1)
        self.log.info("stream for session %s (owner %s) closed (%d bytes in, %d bytes out)",
                      session_id, user, sent, received)
        return None

    def _count_connection(self, session_id, change):
        """One client connection more or less (num-of-connections); one that ends stamps last-disconnection-time. A
        session closed meanwhile is gone: nothing to count."""
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return
            session["num-of-connections"] = max(0, session["num-of-connections"] + change)
            if change < 0:
                session["last-disconnection-time"] = dcv_time(time.time())


def main(argv=None):
    parser = argparse.ArgumentParser(description="DCV server stand-in (%s)" % common.STANDIN_NOTICE)
    parser.add_argument("--conf", default=CONF_FILE)
    args = parser.parse_args(argv)
    server = DcvServer(args.conf)
    try:
        server.start()
    except (ConfigError, OSError, ValueError) as exc:
        server.log.error("refusing to start: %s", exc)
        return 1
    common.notify_ready()
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # systemctl stop: end the sessions' desktops too
        signal.signal(sig, lambda *_args: stopping.set())
    while not stopping.wait(1):
        pass
    server.log.info("stopping: closing the sessions' desktops")
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
