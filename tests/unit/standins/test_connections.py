"""Client connections through the stand-in chain, as the session expiry's idle limit reads them: the DCV server counts
the desktop streams of a session and stamps the last one's end (`dcv describe-session -j`: num-of-connections,
last-disconnection-time; adminguide "Finding and stopping idle sessions"), the agent carries both in its report, and
the broker answers DescribeSessions with NumOfConnections and LastDisconnectionTime (sm-dev "DescribeSessions")."""

import datetime
import json
import socket

import pytest

from dcvstandin import common, dcvcli, relay
from dcvstandin.server import dcv_time

WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def api(stack, method, path, token, body=None):
    status, data, _peer = common.https_request(
        method, "https://localhost:%d%s" % (stack.ports["client"], path), common.client_context(stack.ca),
        body=body, headers={"Authorization": "Bearer " + token})
    assert status == 200, data
    return json.loads(data)


def broker_view(stack, token, session_id):
    return api(stack, "POST", "/describeSessions", token, {"SessionIds": [session_id]})["Sessions"][0]


def server_view(stack, session_id):
    """What `dcv describe-session -j ID` prints, through the server's control socket as the CLI asks it."""
    reply = dcvcli.call({"command": "describe-session", "id": session_id}, stack.socket)
    assert reply["ok"], reply
    return reply["session"]


@pytest.fixture
def session(stack, access_token):
    """A READY VIRTUAL session with a desktop; returns (id, API token)."""
    created = api(stack, "POST", "/createSessions", access_token,
                  [{"Name": "desk", "Owner": stack.user, "Type": "VIRTUAL"}])
    session_id = created["SuccessfulList"][0]["Id"]
    assert stack.agent.report_once()   # runs the create command
    assert stack.agent.report_once()   # reports the session: READY
    assert broker_view(stack, access_token, session_id)["State"] == "READY"
    return session_id, access_token


def open_stream(stack, session_id, token):
    """A browser's desktop stream through the gateway (strict TLS): the socket, once the 101 came back."""
    user = stack.user
    auth = api(stack, "GET", "/sessionConnectionData/%s/%s" % (session_id, user), token)["ConnectionToken"]
    raw = socket.create_connection(("localhost", stack.ports["web"]), timeout=10)
    sock = common.client_context(stack.ca).wrap_socket(raw, server_hostname="localhost")
    sock.sendall(("GET /standin/stream?sessionId=%s&authToken=%s HTTP/1.1\r\nHost: localhost:%d\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n" % (session_id, auth, stack.ports["web"], WS_KEY)).encode())
    status, head, _rest = relay.read_response_head(sock)
    assert status == 101, head
    sock.sendall(b"RFB 003.008\n")
    assert relay.read_exactly(sock, 12) == b"RFB 003.008\n"  # the bytes went through: the stream is open
    return sock


def test_a_session_nobody_connected_to_has_no_connection_and_no_disconnection(stack, session):
    session_id, token = session
    described = server_view(stack, session_id)
    assert (described["num-of-connections"], described["last-disconnection-time"]) == (0, "")
    created = datetime.datetime.strptime(described["creation-time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs(datetime.datetime.utcnow() - created) < datetime.timedelta(minutes=1)
    seen = broker_view(stack, token, session_id)
    assert seen["NumOfConnections"] == 0 and "LastDisconnectionTime" not in seen


def test_open_streams_are_counted_and_the_last_close_is_stamped_end_to_end(stack, session, helpers):
    session_id, token = session
    first, second = open_stream(stack, session_id, token), open_stream(stack, session_id, token)
    assert server_view(stack, session_id)["num-of-connections"] == 2
    assert stack.agent.report_once()
    seen = broker_view(stack, token, session_id)
    assert seen["NumOfConnections"] == 2 and "LastDisconnectionTime" not in seen
    first.close()
    assert helpers.wait_for(lambda: server_view(stack, session_id)["num-of-connections"] == 1)
    one_left = server_view(stack, session_id)["last-disconnection-time"]
    assert one_left != ""
    second.close()
    assert helpers.wait_for(lambda: server_view(stack, session_id)["num-of-connections"] == 0)
    described = server_view(stack, session_id)
    assert described["last-disconnection-time"] >= one_left
    assert stack.agent.report_once()
    seen = broker_view(stack, token, session_id)
    assert seen["NumOfConnections"] == 0
    # the broker's own time format (milliseconds), the same moment as the DCV server's
    last = described["last-disconnection-time"]
    assert seen["LastDisconnectionTime"] == last[:23] + "Z", (seen, last)


def test_a_refused_stream_is_no_connection(stack, session):
    session_id, token = session
    raw = socket.create_connection(("localhost", stack.ports["web"]), timeout=10)
    with common.client_context(stack.ca).wrap_socket(raw, server_hostname="localhost") as sock:
        sock.sendall(("GET /standin/stream?sessionId=%s&authToken=forged HTTP/1.1\r\nHost: localhost\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n" % (session_id, WS_KEY)).encode())
        status, _head, _rest = relay.read_response_head(sock)
    assert status == 403
    described = server_view(stack, session_id)
    assert (described["num-of-connections"], described["last-disconnection-time"]) == (0, "")


def test_the_dcv_cli_prints_the_documented_keys(stack, session, capsys, monkeypatch):
    session_id = session[0]
    monkeypatch.setenv("DCV_STANDIN_CONTROL_SOCKET", stack.socket)
    capsys.readouterr()
    assert dcvcli.main(["describe-session", "-j", session_id]) == 0
    printed = json.loads(capsys.readouterr().out)
    for key in ("id", "owner", "num-of-connections", "creation-time", "last-disconnection-time", "x11-display"):
        assert key in printed, printed
    assert "created" not in printed


def test_dcv_time_is_utc_with_microseconds():
    assert dcv_time(1557753679.262883) == "2019-05-13T13:21:19.262883Z"
