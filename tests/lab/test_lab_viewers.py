"""Viewers of a session, on the lab: session.yml -e dcv_session_viewers gives the session a permissions file where
the owner has every feature and the viewer only `display` (adminguide "Adding permissions"), and prints a URL per
viewer. Through the gateway, with strict TLS, a minimal VNC client (rfb_stream.py) clicks on the desktop as the
viewer and as the owner, and host B's X server says where its pointer is (x11_pointer.py): the viewer sees the
desktop and cannot move the pointer, the owner can; a user the permissions do not name gets no stream at all."""

import os
import re
import subprocess
import time

import pytest

from conftest import HOST_A, HOST_A_ADDRESS, HOST_B, INVENTORY, LAB_CA, LAB_USER, on_host, run
from rfb_stream import RfbStream, StreamRefused

VIEWER, STRANGER = "labviewer", "labstranger"
SESSION_NAME = "lab-viewers"
POINTER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "x11_pointer.py")


def session_yml(host_b_name, viewers):
    return run(["ansible-playbook", "-i", INVENTORY, "playbooks/session.yml", "-e", "dcv_session_owner=" + LAB_USER,
                "-e", "dcv_session_server=" + host_b_name, "-e", "dcv_session_name=" + SESSION_NAME,
                "-e", "dcv_session_viewers=" + viewers], check=True).stdout


def urls_by_user(output):
    """{user: URL}: the owner's line says "session created|reused for USER", each viewer's "(for USER: ...)"."""
    text = " ".join(output.split())  # the callback may fold long lines
    found = {}
    for url, rest in re.findall(r"(https://\S*?authToken=\S*?#\S+?) \((.{0,200})", text):
        owner = re.match(r"\w+ session (?:created|reused) for (\S+) on", rest)
        viewer = re.match(r"for ([^:\s]+):", rest)
        found[(owner or viewer).group(1)] = url.rstrip("\"',")
    return found


@pytest.fixture(scope="module")
def viewer_session(host_b_name):
    if on_host(HOST_B, "id", VIEWER, check=False).returncode:
        on_host(HOST_B, "useradd", "-m", "-s", "/bin/bash", VIEWER)
    urls = urls_by_user(session_yml(host_b_name, VIEWER))
    assert set(urls) == {LAB_USER, VIEWER}, urls
    session_id = urls[LAB_USER].rsplit("#", 1)[1]
    assert urls[VIEWER].rsplit("#", 1)[1] == session_id
    described = on_host(HOST_B, "dcv", "describe-session", "-j", session_id).stdout
    display = re.search(r'"x11-display":\s*"(:\d+)"', described).group(1)
    return {"id": session_id, "urls": urls, "display": display}


def pointer(display):
    """Where host B's X server has the session's pointer (the image has no xdotool: a raw QueryPointer)."""
    with open(POINTER_SCRIPT) as script:
        result = subprocess.run(["podman", "exec", "-i", HOST_B, "python3", "-", display], stdin=script,
                                capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    x, y = result.stdout.split()
    return int(x), int(y)


def wait_until(predicate, timeout=30):
    """Poll until predicate() holds (the owner's input reaches X through x11vnc's event loop); False at the end."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def connect(url):
    stream = RfbStream(url, LAB_CA, HOST_A_ADDRESS)
    stream.handshake()
    return stream


def test_the_viewer_sees_the_desktop_but_cannot_move_the_pointer(viewer_session):
    start = pointer(viewer_session["display"])
    target = (start[0] // 2 + 101, start[1] // 2 + 77)  # somewhere else on the empty desktop
    stream = connect(viewer_session["urls"][VIEWER])
    try:
        assert (stream.width, stream.height) == (1280, 800)  # the session's screen (nice-xdcv stand-in)
        stream.click(*target)
        stream.round_trip()  # the viewer's x11vnc has handled the click: dropped, as -viewonly does
    finally:
        stream.close()
    assert pointer(viewer_session["display"]) == start
    server_log = on_host(HOST_B, "cat", "/var/log/dcv/server.log").stdout
    assert ("stream for session %s (user %s) opened view-only via https://%s:8445/agent/validate-authentication-token "
            "(permissions allow: display)" % (viewer_session["id"], VIEWER, HOST_A)) in server_log


def test_the_owner_moves_the_pointer_of_the_same_desktop(viewer_session):
    start = pointer(viewer_session["display"])
    target = (start[0] // 2 + 203, start[1] // 2 + 151)
    assert target != start
    stream = connect(viewer_session["urls"][LAB_USER])
    try:
        stream.click(*target)
        stream.round_trip()
        assert wait_until(lambda: pointer(viewer_session["display"]) == target), pointer(viewer_session["display"])
    finally:
        stream.close()


def test_a_user_the_permissions_do_not_name_gets_no_stream(viewer_session, host_b_name):
    # the session is reused with its permissions (owner and VIEWER); the broker still issues the stranger a token
    urls = urls_by_user(session_yml(host_b_name, STRANGER))
    assert urls[STRANGER].rsplit("#", 1)[1] == viewer_session["id"]
    with pytest.raises(StreamRefused) as refused:
        RfbStream(urls[STRANGER], LAB_CA, HOST_A_ADDRESS)
    assert refused.value.status == 403
    server_log = on_host(HOST_B, "cat", "/var/log/dcv/server.log").stdout
    assert ("connection to session %s refused: its permissions do not let %s see it" % (viewer_session["id"], STRANGER)
            in server_log)
