"""The whole stand-in chain on loopback: agent registration, a session created through the
API turning READY, the resolver, the gateway route with strict TLS on every hop, and each hop
failing with a clear log line when its CA file is another CA."""

import base64
import http.client
import json
import os
import socket

import pytest

from dcvstandin import brokercli, common, relay
from dcvstandin.agent import Agent
from dcvstandin.broker import RESOLVER_404


def api(stack, method, path, body=None, token=None):
    headers = {"Authorization": "Bearer " + token} if token else {}
    status, data, _peer = common.https_request(
        method, "https://localhost:%d%s" % (stack.ports["client"], path),
        common.client_context(stack.ca), body=body, headers=headers)
    return status, (json.loads(data) if data and data[:1] in b"[{" else data)


def gateway_get(stack, path):
    status, data, _peer = common.https_request(
        "GET", "https://localhost:%d%s" % (stack.ports["web"], path), common.client_context(stack.ca))
    return status, data


def resolve(stack, session_id, cert="gateway-client"):
    client = stack.pki.leaf("main", cert)
    status, data, _peer = common.https_request(
        "POST", "https://localhost:%d/resolveSession?sessionId=%s&transport=HTTP&clientIpAddress=10.0.0.9"
        % (stack.ports["gateway"], session_id),
        common.client_context(stack.ca, True, client["cert"], client["key"]))
    return status, data


@pytest.fixture
def ready_session(stack, capsys):
    """Agent registered, API client registered, one VIRTUAL session READY; returns (id, token)."""
    assert stack.agent.report_once()
    assert brokercli.main(["--properties", stack.broker.properties_file, "--state-dir",
                           stack.broker.state_dir, "register-api-client", "--client-name", "t"]) == 0
    lines = capsys.readouterr().out.splitlines()
    client_id, secret = lines[0].split(": ")[1], lines[1].split(": ")[1]
    basic = base64.b64encode(("%s:%s" % (client_id, secret)).encode()).decode()
    status, data, _peer = common.https_request(
        "POST", "https://localhost:%d/oauth2/token?grant_type=client_credentials" % stack.ports["client"],
        common.client_context(stack.ca), body="", headers={"Authorization": "Basic " + basic})
    token = json.loads(data)["access_token"]
    status, created = api(stack, "POST", "/createSessions",
                          [{"Name": "desk", "Owner": stack.user, "Type": "VIRTUAL"}], token)
    assert status == 200 and created["UnsuccessfulList"] == []
    session_id = created["SuccessfulList"][0]["Id"]
    assert created["SuccessfulList"][0]["State"] == "CREATING"
    assert stack.agent.report_once()   # receives and runs the create command
    assert stack.agent.report_once()   # reports the new session: READY
    return session_id, token


def test_agent_registers_and_reports_its_server(stack, capsys):
    assert stack.agent.report_once()
    assert "sessionsUpdateResponse: sessions=1 commands=0 result=success" in stack.log("agent")
    assert brokercli.main(["--properties", stack.broker.properties_file, "--state-dir",
                           stack.broker.state_dir, "describe-agent-clients"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Session manager agent clients\n")
    agents = json.loads(out.split("\n", 1)[1])
    assert len(agents) == 1 and agents[0]["active"] is True


def test_session_through_the_api_becomes_ready_and_resolves(stack, ready_session):
    session_id, token = ready_session
    status, described = api(stack, "POST", "/describeSessions", {"SessionIds": [session_id]}, token)
    assert described["Sessions"][0]["State"] == "READY"
    assert described["Sessions"][0]["Server"]["Ip"] == "127.0.0.1"
    status, data = resolve(stack, session_id)
    assert status == 200
    assert json.loads(data) == {"SessionId": session_id, "TransportProtocol": "HTTP",
                                "DcvServerEndpoint": "127.0.0.1", "Port": stack.ports["dcv"],
                                "WebUrlPath": "/"}
    # the automatic console session exists on the DCV server but was not created via the API
    assert resolve(stack, "console") == (404, RESOLVER_404.encode())


def test_gateway_route_with_strict_tls_on_every_hop(stack, ready_session):
    session_id, token = ready_session
    status, connection = api(stack, "GET", "/sessionConnectionData/%s/%s" % (session_id, stack.user),
                             token=token)
    assert status == 200
    status, data = gateway_get(stack, "/standin/connect?sessionId=%s&authToken=%s"
                               % (session_id, connection["ConnectionToken"]))
    route = json.loads(data)
    assert status == 200, route
    assert route["Connected"] is True and route["User"] == stack.user
    assert [hop["Hop"] for hop in route["Route"]] == [
        "gateway->resolver", "gateway->dcv-server", "dcv-server->auth-token-verifier"]
    assert "issuer=CN=test CA main" in route["Route"][1]["PeerCertificate"]
    # a wrong token is refused by the DCV server after asking the broker
    status, data = gateway_get(stack, "/standin/connect?sessionId=%s&authToken=forged" % session_id)
    assert status == 403 and json.loads(data)["FailedHop"] == "dcv-server"
    # the console session never resolves
    status, data = gateway_get(stack, "/standin/connect?sessionId=console&authToken=x")
    assert status == 404 and json.loads(data)["Error"] == RESOLVER_404


def test_dns_mapping_changes_the_resolved_endpoint(stack, ready_session, tmp_path, capsys):
    session_id = ready_session[0]
    mappings = tmp_path / "mappings.json"
    mappings.write_text(json.dumps([{"ServerIdType": "Ip", "ServerId": "127.0.0.1",
                                     "DnsNames": {"InternalDnsName": "localhost"}}]))
    assert brokercli.main(["--properties", stack.broker.properties_file, "--state-dir",
                           stack.broker.state_dir, "register-server-dns-mappings", "--file-path",
                           str(mappings)]) == 0
    assert "Successfully loaded 1 server id - dns name mappings" in capsys.readouterr().out
    assert json.loads(resolve(stack, session_id)[1])["DcvServerEndpoint"] == "localhost"


def test_each_hop_fails_clearly_with_another_ca(stack, ready_session):
    session_id, token = ready_session
    _status, connection = api(stack, "GET", "/sessionConnectionData/%s/%s" % (session_id, stack.user),
                              token=token)
    connect = "/standin/connect?sessionId=%s&authToken=%s" % (session_id, connection["ConnectionToken"])

    stack.gateway.conf["resolver"]["ca-file"] = stack.other_ca
    status, data = gateway_get(stack, connect)
    assert (status, json.loads(data)["FailedHop"]) == (502, "resolver")
    assert "hop resolver" in stack.log("gateway") and "CERTIFICATE_VERIFY_FAILED" in stack.log("gateway")
    stack.gateway.conf["resolver"]["ca-file"] = stack.ca

    stack.gateway.conf["dcv"]["ca-file"] = stack.other_ca
    status, data = gateway_get(stack, connect)
    assert (status, json.loads(data)["FailedHop"]) == (502, "dcv-server")
    assert "hop dcv-server" in stack.log("gateway")
    stack.gateway.conf["dcv"]["ca-file"] = stack.ca

    stack.dcv.settings["ca-file"] = stack.other_ca
    status, data = gateway_get(stack, connect)
    assert status == 502 and "auth-token-verifier TLS error" in json.loads(data)["Error"]
    assert "auth-token-verifier https://localhost" in stack.log("dcv")
    assert "not signed by the configured CA file" in stack.log("dcv")
    stack.dcv.settings["ca-file"] = stack.ca

    stack.gateway.conf["resolver"].pop("cert-file")  # no client certificate: broker demands one
    stack.gateway.conf["resolver"].pop("cert-key-file")
    status, data = gateway_get(stack, connect)
    assert (status, json.loads(data)["FailedHop"]) == (502, "resolver")
    assert "gateway port: TLS handshake with 127.0.0.1 failed" in stack.log("broker")

    wrong = Agent(stack.write_agent_conf(stack.other_ca, "wrong-agent.conf"), stack.dcv_conf,
                  str(stack.tmp / "agent-state.json"), stack.socket, str(stack.tmp / "agent.log"))
    assert wrong.report_once() is False
    assert "sessionsUpdateResponse failed: TLS error talking to broker" in stack.log("agent")


def test_requirements_place_sessions_by_hostname_properties_and_tags(stack, capsys, helpers):
    # sm-dev "CreateSessions": Requirements name server properties (server:Hostname, server:Host.Os.Family, ...)
    # and tags (tag:KEY, from the agent's tags folder, sm-admin "Agent Configuration File" tags_folder).
    import socket
    tags = stack.tmp / "tags"
    tags.mkdir()
    (tags / "pool.toml").write_text('pool = "gpu"\n')
    conf = stack.tmp / "tagged-agent.conf"
    conf.write_text("version = '0.1'\n[agent]\nbroker_host = 'localhost'\nbroker_port = %d\nca_file = '%s'\n"
                    "tags_folder = '%s'\n" % (stack.ports["agent"], stack.ca, tags))
    agent = Agent(str(conf), stack.dcv_conf, str(stack.tmp / "tagged-agent.json"), stack.socket,
                  str(stack.tmp / "agent.log"))
    assert agent.report_once()
    token = helpers.api_token(stack, capsys)
    hostname = socket.gethostname()
    status, servers = api(stack, "POST", "/describeServers", {}, token)
    assert servers["Servers"][0]["Hostname"] == hostname
    assert {"Key": "pool", "Value": "gpu"} in servers["Servers"][0]["Tags"]
    assert servers["Servers"][0]["Host"]["Os"]["Family"] == "linux"

    def create(requirements):
        status, created = api(stack, "POST", "/createSessions", [
            {"Name": "r", "Owner": stack.user, "Type": "CONSOLE", "Requirements": requirements}], token)
        assert status == 200
        return created

    placed = create("server:Hostname = '%s' and (tag:pool = 'gpu' or server:Host.Os.Family = 'windows')"
                    % hostname)
    assert placed["UnsuccessfulList"] == [] and placed["SuccessfulList"][0]["Server"]["Hostname"] == hostname
    assert "no available DCV server" in create("tag:pool = 'cpu'")["UnsuccessfulList"][0]["FailureReason"]
    refused = create("server:Host.Hostname = '%s'" % hostname)
    assert refused["SuccessfulList"] == []
    assert "server property 'Host.Hostname' does not exist" in refused["UnsuccessfulList"][0]["FailureReason"]


def test_create_sessions_options_with_their_documented_types(stack, capsys, helpers):
    # sm-dev "CreateSessions": MaxConcurrents (integer), InitFile, AutorunFile, StorageRoot (strings),
    # AutorunFileArguments (array of strings), PermissionsFile (Base64), DcvGlEnabled, EnqueueRequest (booleans);
    # InitFile, AutorunFile, AutorunFileArguments and DcvGlEnabled not with console sessions on Linux servers
    assert stack.agent.report_once()
    token = helpers.api_token(stack, capsys)
    options = {"MaxConcurrents": 2, "InitFile": "init.sh", "AutorunFile": "cad.sh",
               "AutorunFileArguments": ["--project", "bridge"],
               "PermissionsFile": base64.b64encode(b"[permissions]\n%owner% allow builtin\n").decode(),
               "DcvGlEnabled": False, "EnqueueRequest": False, "StorageRoot": "/tmp/storage"}

    def create(session_type, **fields):
        status, created = api(stack, "POST", "/createSessions",
                              [dict({"Name": "o", "Owner": stack.user, "Type": session_type}, **fields)], token)
        assert status == 200
        return created

    accepted = create("VIRTUAL", **options)
    assert accepted["UnsuccessfulList"] == [] and len(accepted["SuccessfulList"]) == 1
    assert "MaxConcurrents=2" in stack.log("broker") and "AutorunFileArguments=['--project', 'bridge']" in \
        stack.log("broker")

    def refused(session_type, **fields):
        result = create(session_type, **fields)
        assert result["SuccessfulList"] == []
        return result["UnsuccessfulList"][0]["FailureReason"]

    assert refused("VIRTUAL", MaxConcurrents="2") == "MaxConcurrents: expected integer, got '2'"
    assert refused("VIRTUAL", DcvGlEnabled="true") == "DcvGlEnabled: expected boolean, got 'true'"
    assert refused("VIRTUAL", AutorunFile="a.sh", AutorunFileArguments="-x") == \
        "AutorunFileArguments: expected array of strings, got '-x'"
    assert refused("VIRTUAL", PermissionsFile="not base64!") == \
        "PermissionsFile: expected base64 string, got 'not base64!'"
    assert refused("CONSOLE", InitFile="init.sh") == "InitFile is not supported with CONSOLE sessions on Linux DCV servers"
    assert refused("VIRTUAL", MaxConcurrents=0) == "MaxConcurrents must be between 1 and 100 (got 0)"
    assert refused("VIRTUAL", AutorunFileArguments=["x"]) == "AutorunFileArguments must be used alongside AutorunFile"
    # sm-admin "Broker configuration file": autorun-file-arguments-max-size 50, -max-argument-length 150
    assert "more than autorun-file-arguments-max-size (50)" in refused(
        "VIRTUAL", AutorunFile="a.sh", AutorunFileArguments=["x"] * 51)
    assert "more than autorun-file-arguments-max-argument-length (150)" in refused(
        "VIRTUAL", AutorunFile="a.sh", AutorunFileArguments=["x" * 151])


# -- desktop stream: browser -> gateway -> DCV server -> websockify (here the FakeBridge) ------------

WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's example key; its accept value is below
WS_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def connection_token(stack, session_id, token):
    _status, connection = api(stack, "GET", "/sessionConnectionData/%s/%s" % (session_id, stack.user),
                              token=token)
    return connection["ConnectionToken"]


def open_stream(stack, session_id, auth_token):
    """A browser's WebSocket handshake on the gateway, strict TLS; returns (status, head, body, sock)."""
    raw = socket.create_connection(("localhost", stack.ports["web"]), timeout=10)
    sock = common.client_context(stack.ca).wrap_socket(raw, server_hostname="localhost")
    sock.sendall(("GET /standin/stream?sessionId=%s&authToken=%s HTTP/1.1\r\nHost: localhost:%d\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n"
                  "Origin: https://localhost:%d\r\n\r\n"
                  % (session_id, auth_token, stack.ports["web"], WS_KEY, stack.ports["web"])).encode())
    status, head, rest = relay.read_response_head(sock)
    if status != 101:
        rest = relay.read_exactly(sock, int(relay.header(head, "Content-Length") or 0), rest)
    return status, head, rest, sock


def test_stream_reaches_the_session_desktop_through_gateway_and_dcv_server(stack, ready_session, helpers):
    session_id, token = ready_session
    assert stack.launcher.started[0].session_id == session_id  # the VIRTUAL session got a desktop
    auth = connection_token(stack, session_id, token)
    status, head, _rest, sock = open_stream(stack, session_id, auth)
    with sock:
        assert status == 101, head
        assert relay.header(head, "Sec-WebSocket-Accept") == WS_ACCEPT  # the bridge's answer, untouched
        sock.sendall(b"RFB 003.008\n")
        assert relay.read_exactly(sock, 12) == b"RFB 003.008\n"  # echoed by the fake VNC side
        sock.sendall(b"\x01" * 100000)
        assert relay.read_exactly(sock, 100000) == b"\x01" * 100000
    # the upgrade request the bridge saw: the gateway's GET, passed on unchanged by the DCV server
    bridge_head = stack.bridge.heads[0].decode()
    assert bridge_head.startswith("GET /standin/stream?sessionId=%s&authToken=" % session_id)
    assert "Host: 127.0.0.1:%d\r\n" % stack.ports["dcv"] in bridge_head
    for line in ("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: " + WS_KEY,
                 "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: binary"):
        assert line + "\r\n" in bridge_head
    assert "Origin:" not in bridge_head
    opened = "stream for session %s (owner %s) opened via https://localhost:%d/agent/validate-authentication-token" \
        % (session_id, stack.user, stack.ports["agent"])
    assert opened in stack.log("dcv")
    closed = "stream for session %s (owner %s) closed" % (session_id, stack.user)
    assert helpers.wait_for(lambda: closed in stack.log("dcv"))
    assert "stream session %s: opened to 127.0.0.1:%d" % (session_id, stack.ports["dcv"]) in stack.log("gateway")
    assert auth not in stack.log("gateway") and auth not in stack.log("dcv")


def test_stream_with_a_wrong_token_is_refused_before_the_desktop(stack, ready_session):
    session_id = ready_session[0]
    status, head, body, sock = open_stream(stack, session_id, "forged")
    sock.close()
    assert status == 403 and json.loads(body)["Reason"] == "token rejected by auth-token-verifier"
    assert stack.bridge.heads == [] and stack.bridge.received == b""  # nothing reached the desktop
    assert "stream for session %s refused (403)" % session_id in stack.log("dcv")
    assert "stream session %s: hop dcv-server" % session_id in stack.log("gateway")
    assert "answered 403" in stack.log("gateway") and "forged" not in stack.log("gateway")


def test_stream_of_an_unknown_session_stops_at_the_resolver(stack, ready_session):
    status, _head, body, sock = open_stream(stack, "no-such-session", "x")
    sock.close()
    answer = json.loads(body)
    assert (status, answer["FailedHop"], answer["Error"]) == (404, "resolver", RESOLVER_404)
    assert "stream session no-such-session: hop resolver" in stack.log("gateway")
    assert stack.bridge.heads == []


def test_stream_fails_at_the_gateway_when_the_dcv_certificate_is_from_another_ca(stack, ready_session):
    session_id, token = ready_session
    auth = connection_token(stack, session_id, token)
    other = stack.pki.leaf("other", "dcv-other")
    stack.dcv.servers[0].tls_context = common.server_context(other["cert"], other["key"])
    status, _head, body, sock = open_stream(stack, session_id, auth)
    sock.close()
    answer = json.loads(body)
    assert (status, answer["FailedHop"]) == (502, "dcv-server")
    assert "CERTIFICATE_VERIFY_FAILED" in answer["Error"]
    log = stack.log("gateway")
    assert "stream session %s: hop dcv-server (https://127.0.0.1:%d/standin/stream) failed: TLS error" \
        % (session_id, stack.ports["dcv"]) in log
    assert "not signed by the configured CA file" in log and auth not in log
    assert stack.bridge.heads == []


def test_stream_needs_a_websocket_upgrade(stack):
    status, data = gateway_get(stack, "/standin/stream?sessionId=x&authToken=y")
    assert status == 400 and "WebSocket upgrade" in json.loads(data)["Error"]


def test_closing_a_virtual_session_stops_its_desktop(stack, ready_session):
    session_id = ready_session[0]
    described = stack.dcv.control({"command": "describe-session", "id": session_id}, 0)["session"]
    assert described["x11-display"] == ":10"
    assert stack.dcv.control({"command": "close-session", "id": session_id}, 0) == {"ok": True}
    assert stack.launcher.stopped == [session_id]


def test_static_files_types_symlinks_and_escapes(stack, tmp_path):
    www = tmp_path / "www"
    (www / "js").mkdir()
    (www / "js" / "dcv-viewer.js").write_text("export {};\n")
    novnc = tmp_path / "novnc-real"
    (novnc / "core").mkdir(parents=True)
    (novnc / "core" / "rfb.js").write_text("export default class RFB {}\n")
    os.symlink(str(novnc), str(www / "novnc"))  # like /usr/share/dcv/www/novnc -> /usr/share/novnc
    (tmp_path / "secret.txt").write_text("outside")

    def get(path):
        conn = http.client.HTTPSConnection("localhost", stack.ports["web"],
                                           context=common.client_context(stack.ca), timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.getheader("Content-Type"), response.read()
        finally:
            conn.close()

    assert get("/novnc/core/rfb.js") == (200, "application/javascript", b"export default class RFB {}\n")
    assert get("/js/dcv-viewer.js")[:2] == (200, "application/javascript")  # ES modules need this type
    assert get("/css/main.css")[:2] == (200, "text/css")
    assert get("/")[:2] == (200, "text/html")
    for escape in ("/../secret.txt", "/%2e%2e/secret.txt", "/novnc/../../secret.txt",
                   "/novnc/%2e%2e/%2e%2e/secret.txt"):
        assert get(escape)[0] == 404, escape


# -- DCV server DNS mappings: the gateway reaches DCV servers by name (sm-admin "Amazon DCV Session Manager Amazon DCV
# server - DNS mapping reference"), so their certificates carry DNS names only ---------------------------------------

def dns_only_dcv_certificate(stack):
    """The DCV server's certificate as the collection issues it once the broker maps the server: no IP address."""
    dns_only = stack.pki.leaf("main", "dcv-dns-only", dns=("localhost",), ips=())
    stack.dcv.servers[0].tls_context = common.server_context(dns_only["cert"], dns_only["key"])


def register_mappings(stack, tmp_path, capsys, mappings):
    path = tmp_path / "mappings.json"
    path.write_text(json.dumps(mappings))
    assert brokercli.main(["--properties", stack.broker.properties_file, "--state-dir", stack.broker.state_dir,
                           "register-server-dns-mappings", "--file-path", str(path)]) == 0
    assert "Successfully loaded %d server id - dns name mappings" % len(mappings) in capsys.readouterr().out


def test_with_a_mapping_the_gateway_reaches_a_dns_only_dcv_server_by_name(stack, ready_session, tmp_path, capsys):
    session_id, token = ready_session
    dns_only_dcv_certificate(stack)
    # the agent reports 127.0.0.1 (the address it reaches the broker from); the broker maps it to the name
    register_mappings(stack, tmp_path, capsys, [{"ServerIdType": "Ip", "ServerId": "127.0.0.1",
                                                 "DnsNames": {"InternalDnsName": "localhost"}}])
    status, data = gateway_get(stack, "/standin/connect?sessionId=%s&authToken=%s"
                               % (session_id, connection_token(stack, session_id, token)))
    route = json.loads(data)
    assert status == 200 and route["Connected"] is True, route
    assert route["Route"][0]["Resolved"]["DcvServerEndpoint"] == "localhost"
    assert route["Route"][1]["Url"] == "https://localhost:%d/standin/authenticate" % stack.ports["dcv"]
    assert "san=localhost" in route["Route"][1]["PeerCertificate"]
    status, head, _rest, sock = open_stream(stack, session_id, connection_token(stack, session_id, token))
    with sock:
        assert status == 101, head
        sock.sendall(b"RFB 003.008\n")
        assert relay.read_exactly(sock, 12) == b"RFB 003.008\n"
    assert "stream session %s: opened to localhost:%d" % (session_id, stack.ports["dcv"]) in stack.log("gateway")


def test_without_a_mapping_strict_tls_fails_at_the_dcv_server_hop_naming_the_mapping(stack, ready_session):
    session_id, token = ready_session
    dns_only_dcv_certificate(stack)
    status, data = gateway_get(stack, "/standin/connect?sessionId=%s&authToken=%s"
                               % (session_id, connection_token(stack, session_id, token)))
    answer = json.loads(data)
    assert (status, answer["FailedHop"]) == (502, "dcv-server"), answer
    assert answer["Route"][0]["Resolved"]["DcvServerEndpoint"] == "127.0.0.1"
    for error in (answer["Error"], stack.log("gateway")):
        assert "IP address mismatch" in error
        assert "the resolver returned the IP address 127.0.0.1 as DcvServerEndpoint" in error
        assert "register a DCV server DNS mapping at the broker (register-server-dns-mappings" in error
    status, _head, body, sock = open_stream(stack, session_id, connection_token(stack, session_id, token))
    sock.close()
    answer = json.loads(body)
    assert (status, answer["FailedHop"]) == (502, "dcv-server")
    assert "register-server-dns-mappings" in answer["Error"] and "127.0.0.1" in answer["Error"]
    assert stack.bridge.heads == []  # nothing reached the desktop
