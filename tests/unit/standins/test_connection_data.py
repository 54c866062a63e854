"""GetSessionConnectionData for users other than the owner, as the product answers it: sm-dev
"GetSessionConnectionData" takes a session and any User, so the broker stand-in issues a token to a viewer as to
the owner, and refuses only a session that is not READY. Who gets in is decided by the DCV server stand-in from the
session's permissions file (CreateSessions PermissionsFile, adminguide "Adding permissions"), when the viewer
connects."""

import base64
import json
import socket

import pytest

from dcvstandin import common, relay
from dcvstandin.permissions import may_view

OWNER_AND_VIEWER = "[permissions]\n%owner% allow builtin\nviewer1 allow display\n"


def api(stack, method, path, body=None, token=None):
    headers = {"Authorization": "Bearer " + token} if token else {}
    status, data, _peer = common.https_request(
        method, "https://localhost:%d%s" % (stack.ports["client"], path),
        common.client_context(stack.ca), body=body, headers=headers)
    return status, (json.loads(data) if data and data[:1] in b"[{" else data)


def connect(stack, session_id, token):
    """The gateway route a browser URL takes: resolver, DCV server, the DCV server's token check."""
    url = "https://localhost:%d/standin/connect?sessionId=%s&authToken=%s" % (stack.ports["web"], session_id, token)
    status, data, _peer = common.https_request("GET", url, common.client_context(stack.ca))
    return status, json.loads(data)


def ready_session(stack, token, permissions=None):
    request = {"Name": "shared", "Owner": stack.user, "Type": "VIRTUAL"}
    if permissions is not None:
        request["PermissionsFile"] = base64.b64encode(permissions.encode()).decode()
    status, created = api(stack, "POST", "/createSessions", [request], token)
    assert status == 200 and created["UnsuccessfulList"] == [], created
    assert stack.agent.report_once()   # runs the create command
    assert stack.agent.report_once()   # reports the session: READY
    return created["SuccessfulList"][0]["Id"]


def connection_token(stack, token, session_id, user):
    status, answer = api(stack, "GET", "/sessionConnectionData/%s/%s" % (session_id, user), token=token)
    assert status == 200, answer
    assert answer["Session"]["Id"] == session_id and answer["Session"]["Owner"] == stack.user
    return answer["ConnectionToken"]


def test_a_viewer_the_permissions_name_gets_a_token_of_their_own_and_gets_in(stack, access_token):
    session_id = ready_session(stack, access_token, OWNER_AND_VIEWER)
    owners = connection_token(stack, access_token, session_id, stack.user)
    viewers = connection_token(stack, access_token, session_id, "viewer1")
    assert owners != viewers
    status, route = connect(stack, session_id, viewers)
    assert status == 200 and route["Connected"] is True and route["User"] == "viewer1", route
    status, route = connect(stack, session_id, owners)
    assert status == 200 and route["User"] == stack.user, route


def test_a_user_the_permissions_do_not_name_gets_a_token_but_not_in(stack, access_token):
    # the broker does not read the permissions: the DCV server refuses the connection
    session_id = ready_session(stack, access_token, OWNER_AND_VIEWER)
    stranger = connection_token(stack, access_token, session_id, "stranger")
    status, route = connect(stack, session_id, stranger)
    assert status == 403 and route["FailedHop"] == "dcv-server", route
    assert "connection to session %s refused: its permissions do not let stranger see it" % session_id \
        in stack.log("dcv")


def test_without_a_permissions_file_only_the_owner_gets_in(stack, access_token):
    # no PermissionsFile: the default permissions, the owner alone (adminguide "Configuring Amazon DCV authorization")
    session_id = ready_session(stack, access_token)
    viewer = connection_token(stack, access_token, session_id, "viewer1")
    status, route = connect(stack, session_id, viewer)
    assert status == 403 and route["FailedHop"] == "dcv-server", route
    status, route = connect(stack, session_id, connection_token(stack, access_token, session_id, stack.user))
    assert status == 200 and route["User"] == stack.user, route


def open_stream(stack, session_id, token):
    """The desktop stream's WebSocket handshake on the gateway, strict TLS; returns the status (the socket closed)."""
    with socket.create_connection(("localhost", stack.ports["web"]), timeout=10) as raw:
        with common.client_context(stack.ca).wrap_socket(raw, server_hostname="localhost") as sock:
            sock.sendall(("GET /standin/stream?sessionId=%s&authToken=%s HTTP/1.1\r\nHost: localhost\r\n"
                          "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n"
                          % (session_id, token, base64.b64encode(b"0123456789abcdef").decode())).encode())
            return relay.read_response_head(sock)[0]


def test_a_viewer_streams_from_a_view_only_bridge_and_the_owner_from_the_full_one(stack, access_token, helpers):
    # adminguide "Adding permissions": display without keyboard and mouse receives the desktop and sends no input
    session_id = ready_session(stack, access_token, OWNER_AND_VIEWER)
    assert open_stream(stack, session_id, connection_token(stack, access_token, session_id, "viewer1")) == 101
    assert helpers.wait_for(lambda: stack.restricted_bridge.heads)
    assert stack.launcher.restricted == [(session_id, "")] and stack.bridge.heads == []
    assert ("stream for session %s (user viewer1) opened view-only via https://localhost:%d/agent/"
            "validate-authentication-token (permissions allow: display)" % (session_id, stack.ports["agent"])
            in stack.log("dcv"))
    assert open_stream(stack, session_id, connection_token(stack, access_token, session_id, stack.user)) == 101
    assert helpers.wait_for(lambda: stack.bridge.heads)
    assert stack.launcher.restricted == [(session_id, "")] and len(stack.restricted_bridge.heads) == 1
    assert "stream for session %s (owner %s) opened via" % (session_id, stack.user) in stack.log("dcv")


def test_a_user_the_permissions_do_not_name_gets_no_stream(stack, access_token):
    session_id = ready_session(stack, access_token, OWNER_AND_VIEWER)
    assert open_stream(stack, session_id, connection_token(stack, access_token, session_id, "stranger")) == 403
    assert stack.launcher.restricted == [] and stack.bridge.heads == [] and stack.restricted_bridge.heads == []


def test_a_session_that_is_not_ready_gives_nobody_a_token(stack, access_token):
    status, created = api(stack, "POST", "/createSessions",
                          [{"Name": "later", "Owner": stack.user, "Type": "VIRTUAL"}], access_token)
    session_id = created["SuccessfulList"][0]["Id"]   # CREATING until the agent reports it
    for user in (stack.user, "viewer1"):
        assert api(stack, "GET", "/sessionConnectionData/%s/%s" % (session_id, user), token=access_token)[0] == 404
    assert api(stack, "GET", "/sessionConnectionData/no-such-session/viewer1", token=access_token)[0] == 404
    assert api(stack, "GET", "/sessionConnectionData/%s/viewer1" % session_id)[0] == 401


@pytest.mark.parametrize("permissions, user, allowed", [
    (None, "alice", True),
    (None, "bob", False),
    (OWNER_AND_VIEWER.replace("viewer1", "bob"), "bob", True),
    (OWNER_AND_VIEWER.replace("viewer1", "bob"), "alice", True),
    (OWNER_AND_VIEWER.replace("viewer1", "bob"), "carol", False),
    ("[permissions]\nbob allow keyboard mouse\n", "bob", False),       # no display: nothing to see
    ("[permissions]\n%any% allow display\n", "carol", True),
    ("[permissions]\n%any% allow display\nbob deny builtin\n%any% allow display\n", "bob", False),  # deny is final
    ("[permissions]\nbob disallow display\nbob allow display\n", "bob", True),  # a later line overrides disallow
    ("[permissions]\nbob allow display\nbob disallow display\n", "bob", False),
    ("[permissions]\ngroup:viewers allow display\n", "bob", False),    # groups are not modelled
    ("[groups]\nbob allow display\n", "bob", False),                    # not the [permissions] section
    ("", "alice", False),                                               # an empty file revokes everything
])
def test_who_may_view_by_the_permissions_file(permissions, user, allowed):
    assert may_view(permissions, "alice", user) is allowed
