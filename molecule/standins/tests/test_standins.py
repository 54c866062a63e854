"""End to end over the stand-in packages installed by hand on two containers.

standins-a: broker (client port 8448, agent 8445, resolver 8447 with mTLS) + gateway (8443) + web viewer.
standins-b: DCV server (8443) + agent, session owner `alice`.
Every TLS hop is strict and trusts the scenario's CA "main"; the swap tests put CA "other" in
place of one CA file at a time and expect that hop, and only that hop, to fail with a clear log line.
"""

import json
import shlex
import time

import pytest
import testinfra

A = testinfra.get_host("podman://standins-a")
B = testinfra.get_host("podman://standins-b")
CA_MAIN = "/root/standins-ca-main.pem"
CA_OTHER = "/root/standins-ca-other.pem"
GATEWAY_CERTS = "/etc/dcv-connection-gateway/certs"
CLIENT_CERT = "--cert %s/gateway-client.pem --key %s/gateway-client.key" % (GATEWAY_CERTS, GATEWAY_CERTS)
RESOLVER_404 = "The requested combination of transport and sessionId does not exist"
LOGS = {
    "broker": (A, "/var/log/dcv-session-manager-broker/broker.log"),
    "gateway": (A, "/var/log/dcv-connection-gateway/gateway.log"),
    "dcv": (B, "/var/log/dcv/server.log"),
    "agent": (B, "/var/log/dcv-session-manager-agent/agent.log"),
}


def curl(host, url, *options, ca=CA_MAIN, data=None):
    """Return (HTTP status, body text); status 0 when curl itself failed (body = its error)."""
    command = "curl -sS --max-time 20 --cacert %s %s -w '\\n%%{http_code}' %s" % (
        shlex.quote(ca), " ".join(options), shlex.quote(url))
    if data is not None:
        command += " -X POST -H 'Content-Type: application/json' --data %s" % shlex.quote(json.dumps(data))
    result = host.run(command)
    if result.rc != 0:
        return 0, result.stderr
    body, _newline, status = result.stdout.rpartition("\n")
    return int(status), body


def wait_until(check, timeout=40, interval=1):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value or time.time() > deadline:
            return value
        time.sleep(interval)


class LogMark:
    """Remember a log's size, then read only what was written after it."""

    def __init__(self, name):
        self.host, self.path = LOGS[name]
        self.offset = int(self.host.run("stat -c %%s %s" % self.path).stdout.strip() or 0)

    def new(self):
        return self.host.run("tail -c +%d %s" % (self.offset + 1, self.path)).stdout

    def wait_for(self, text, timeout=30):
        return wait_until(lambda: text in self.new(), timeout)


class Api:
    """OAuth2 client of the broker's client port, run from host A with curl."""

    def __init__(self):
        out = A.check_output("dcv-session-manager-broker register-api-client --client-name standins-verify")
        lines = dict(line.split(": ", 1) for line in out.splitlines())
        self.client_id, self.secret = lines["client-id"], lines["client-password"]
        self.login()

    def login(self):
        status, body = curl(A, "https://standins-a:8448/oauth2/token?grant_type=client_credentials",
                            "-X POST -H 'Content-Type: application/x-www-form-urlencoded' --data ''",
                            "-u %s" % shlex.quote("%s:%s" % (self.client_id, self.secret)))
        assert status == 200, body
        self.token = json.loads(body)["access_token"]

    def call(self, path, data=None):
        status, body = curl(A, "https://standins-a:8448" + path,
                            "-H %s" % shlex.quote("Authorization: Bearer " + self.token), data=data)
        return status, (json.loads(body) if body.startswith(("{", "[")) else body)

    def ready_session(self, name):
        status, created = self.call("/createSessions", [{
            "Name": name, "Owner": "alice", "Type": "VIRTUAL",
            "Requirements": "server:Hostname = 'standins-b'"}])
        assert status == 200 and created["UnsuccessfulList"] == [], created
        session_id = created["SuccessfulList"][0]["Id"]

        def state():
            return self.call("/describeSessions", {"SessionIds": [session_id]})[1]["Sessions"][0]["State"]
        assert wait_until(lambda: state() == "READY"), "session %s stayed %s" % (session_id, state())
        return session_id

    def connection_token(self, session_id):
        status, data = self.call("/sessionConnectionData/%s/alice" % session_id)
        assert status == 200, data
        return data["ConnectionToken"]


def connect(session_id, token, host=B):
    """The stand-in gateway route, called from B as a browser would reach the gateway."""
    status, body = curl(host, "https://standins-a:8443/standin/connect?sessionId=%s&authToken=%s"
                        % (session_id, token))
    return status, json.loads(body) if body.startswith("{") else body


def restart(host, unit):
    host.check_output("systemctl restart %s" % unit)


def swap(host, path, source):
    host.check_output("cp %s %s" % (source, path))


@pytest.fixture(scope="module")
def api():
    return Api()


@pytest.fixture(scope="module")
def session(api):
    session_id = api.ready_session("verify-desktop")
    return session_id, api.connection_token(session_id)


def test_packages_users_units_and_files():
    for host, units, users in ((A, ["dcv-session-manager-broker", "dcv-connection-gateway"], ["dcvsmbroker", "dcvcgw"]),
                               (B, ["dcvserver", "dcv-session-manager-agent"], ["dcv", "dcvsmagent"])):
        for unit in units:
            assert host.service(unit).is_running and host.service(unit).is_enabled, unit
        for user in users:
            assert host.user(user).exists, user
    properties = A.file("/etc/dcv-session-manager-broker/session-manager-broker.properties")
    assert (properties.user, properties.group, properties.mode) == ("root", "dcvsmbroker", 0o640)
    assert A.package("nice-dcv-session-manager-broker").version == "2025.0.539-1"
    assert A.package("nice-dcv-connection-gateway").version == "2025.0.870"
    assert B.package("nice-dcv-session-manager-agent").version == "2025.0.886-1"
    assert B.package("nice-dcv-server").version == "2025.0.20103-1"
    assert "TEST DOUBLE" in A.file("/usr/share/doc/nice-dcv-session-manager-broker/README.standin").content_string


def test_web_viewer_and_health_through_the_gateway():
    status, body = curl(B, "https://standins-a:8443/")
    assert status == 200 and "TEST DOUBLE" in body
    assert curl(B, "https://standins-a:8443/css/main.css")[0] == 200
    assert curl(B, "https://standins-a:8443/css/main.css/")[0] == 404
    assert A.run("curl -sS -o /dev/null -w '%{http_code}' http://standins-a:8989/health").stdout == "200"


def test_browser_refuses_the_gateway_with_another_ca():
    status, error = curl(B, "https://standins-a:8443/", ca=CA_OTHER)
    assert status == 0 and "certificate" in error.lower()


def test_agent_registered_at_the_broker():
    def agents():
        out = A.check_output("dcv-session-manager-broker describe-agent-clients")
        assert out.startswith("Session manager agent clients\n")
        return [a for a in json.loads(out.split("\n", 1)[1]) if a["name"] == "standins-b" and a["active"]]
    assert wait_until(agents), "agent of standins-b not active at the broker"
    assert "result=success" in B.file(LOGS["agent"][1]).content_string


def test_session_created_through_the_api_becomes_ready(api, session):
    session_id = session[0]
    status, described = api.call("/describeSessions", {"SessionIds": [session_id]})
    assert status == 200
    assert described["Sessions"][0]["State"] == "READY"
    assert described["Sessions"][0]["Server"]["Hostname"] == "standins-b"
    assert session_id in B.check_output("dcv list-sessions")


def test_resolver_answers_200_for_the_api_session_and_404_for_console(session):
    session_id = session[0]
    url = "https://standins-a:8447/resolveSession?sessionId=%s&transport=HTTP&clientIpAddress=10.1.2.3"
    status, body = curl(A, url % session_id, CLIENT_CERT, "-X POST")
    assert status == 200, body
    assert json.loads(body) == {"SessionId": session_id, "TransportProtocol": "HTTP",
                                "DcvServerEndpoint": "standins-b", "Port": 8443, "WebUrlPath": "/"}
    assert "Session: 'console'" in B.check_output("dcv list-sessions")  # it exists on the server...
    assert curl(A, url % "console", CLIENT_CERT, "-X POST") == (404, RESOLVER_404)  # ...but never resolves
    status = curl(A, url % session_id, "-X POST")[0]  # no client certificate: mTLS refuses
    assert status == 0


def test_gateway_route_succeeds_with_strict_tls_on_every_hop(session):
    status, route = connect(*session)
    assert status == 200, route
    assert route["Connected"] is True and route["User"] == "alice"
    hops = {hop["Hop"]: hop for hop in route["Route"]}
    assert list(hops) == ["gateway->resolver", "gateway->dcv-server", "dcv-server->auth-token-verifier"]
    assert "san=standins-a" in hops["gateway->resolver"]["PeerCertificate"]
    assert "san=standins-b" in hops["gateway->dcv-server"]["PeerCertificate"]
    assert "test CA main" in hops["gateway->dcv-server"]["PeerCertificate"]
    assert hops["dcv-server->auth-token-verifier"]["Verifier"].startswith("https://standins-a:8445/")


@pytest.mark.parametrize("ca_file,failed_hop", [("resolver-ca.pem", "resolver"), ("dcv-ca.pem", "dcv-server")])
def test_gateway_hop_fails_with_another_ca(session, ca_file, failed_hop):
    path = "%s/%s" % (GATEWAY_CERTS, ca_file)
    mark = LogMark("gateway")
    swap(A, path, CA_OTHER)
    restart(A, "dcv-connection-gateway")
    try:
        status, answer = connect(*session)
        assert status == 502 and answer["FailedHop"] == failed_hop, answer
        assert mark.wait_for("CERTIFICATE_VERIFY_FAILED"), mark.new()
        assert "hop %s" % failed_hop in mark.new() and path in mark.new()
    finally:
        swap(A, path, CA_MAIN)
        restart(A, "dcv-connection-gateway")
    assert connect(*session)[0] == 200


def test_broker_refuses_a_gateway_certificate_its_trust_store_does_not_hold(session):
    store = "/etc/dcv-session-manager-broker/gateway-truststore.p12"
    mark = LogMark("broker")
    swap(A, store, "/root/standins-truststore-other.p12")
    restart(A, "dcv-session-manager-broker")
    try:
        status, answer = connect(*session)
        assert status == 502 and answer["FailedHop"] == "resolver", answer
        assert mark.wait_for("gateway port: TLS handshake with"), mark.new()
        assert "unknown ca" in mark.new().lower() or "certificate verify failed" in mark.new().lower()
    finally:
        swap(A, store, "/root/standins-truststore-main.p12")
        restart(A, "dcv-session-manager-broker")


def test_agent_hop_fails_with_another_ca():
    path = "/etc/dcv-session-manager-agent/ca.pem"
    mark = LogMark("agent")
    swap(B, path, CA_OTHER)
    restart(B, "dcv-session-manager-agent")
    try:
        assert mark.wait_for("sessionsUpdateResponse failed: TLS error talking to broker"), mark.new()
        assert "CERTIFICATE_VERIFY_FAILED" in mark.new() and path in mark.new()
    finally:
        swap(B, path, CA_MAIN)
        restart(B, "dcv-session-manager-agent")
    mark = LogMark("agent")
    assert mark.wait_for("result=success"), mark.new()


def test_dcv_server_token_check_fails_with_another_ca(api):
    path = "/etc/dcv/ca.pem"
    api.login()  # the broker restarted in an earlier test: access tokens live in its memory
    mark = LogMark("dcv")
    swap(B, path, CA_OTHER)
    restart(B, "dcvserver")  # a restart ends the server's sessions, so make a new one
    try:
        session_id = api.ready_session("verify-ca-swap")
        status, answer = connect(session_id, api.connection_token(session_id))
        assert status == 502 and answer["FailedHop"] == "dcv-server", answer
        assert "auth-token-verifier TLS error" in answer["Error"]
        assert mark.wait_for("auth-token-verifier https://standins-a:8445/agent/validate-authentication-token: TLS error")
        assert "CERTIFICATE_VERIFY_FAILED" in mark.new()
    finally:
        swap(B, path, CA_MAIN)
        restart(B, "dcvserver")
    session_id = api.ready_session("verify-recovered")
    status, route = connect(session_id, api.connection_token(session_id))
    assert status == 200 and route["Connected"] is True, route


def test_broker_unit_refuses_properties_with_the_wrong_mode():
    properties = "/etc/dcv-session-manager-broker/session-manager-broker.properties"
    mark = LogMark("broker")
    A.check_output("chmod 0644 %s" % properties)
    try:
        assert A.run("systemctl restart dcv-session-manager-broker").rc != 0  # Type=notify: start fails
        assert mark.wait_for("refusing to start: %s must be owned by uid 0 and group dcvsmbroker" % properties)
        assert "mode 0644" in mark.new()
    finally:
        A.check_output("chmod 0640 %s" % properties)
        restart(A, "dcv-session-manager-broker")


def test_gateway_unit_refuses_a_key_that_does_not_exist_naming_file_line_and_key():
    conf = "/etc/dcv-connection-gateway/dcv-connection-gateway.conf"
    mark = LogMark("gateway")
    A.check_output("sed -i.orig '/^\\[gateway\\]$/a web-port = 8443' %s" % conf)
    try:
        assert A.run("systemctl restart dcv-connection-gateway").rc != 0
        assert mark.wait_for("refusing to start: %s:3: [gateway] web-port: this key does not exist" % conf), mark.new()
    finally:
        A.check_output("mv %s.orig %s" % (conf, conf))
        restart(A, "dcv-connection-gateway")
    assert A.service("dcv-connection-gateway").is_running
