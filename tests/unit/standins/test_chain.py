"""The whole stand-in chain on loopback: agent registration, a session created through the
API turning READY, the resolver, the gateway route with strict TLS on every hop, and each hop
failing with a clear log line when its CA file is another CA."""

import base64
import json

import pytest

from dcvstandin import brokercli, common
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
