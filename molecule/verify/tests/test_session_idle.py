# -*- coding: utf-8 -*-
"""The idle limit enforced on the hosts, with nobody running a playbook: site.yml with dcv_session_idle_minutes 1 installs
the session expiry timer on the first broker host (without a maximum age); a session nobody connects to is deleted
once it has been without a client for a minute (one journal line saying so) and the DCV server closes it, while a
session with a desktop stream open through the gateway is kept; once its stream closes, it is kept until a minute
after that disconnection (the broker's LastDisconnectionTime, not its CreationTime), then deleted.

The connection count travels the whole stand-in chain: the DCV server counts the stream, the agent reports it (every
5 s here), the broker answers DescribeSessions with NumOfConnections and LastDisconnectionTime (sm-dev
"DescribeSessions"). Runs before test_session_lifetime.py (file order) and leaves the stack as the inventory has it,
with no session open."""

import re
import time

import pytest

from operator_runs import A, B, CA_ON_B, OWNER, PUBLIC_NAME, broker_api, close_dcv_sessions, dcv_sessions, host, \
    open_session, playbook, url_parts, wait_until_closed_on_the_server

SERVICE = "dcvkit-session-expiry.service"
TIMER = "dcvkit-session-expiry.timer"
# the shortest idle limit, and the connection token it allows (a URL may not outlive a session nobody opened)
POLICY = {"dcv_session_idle_minutes": 1, "dcv_broker_connect_session_token_minutes": 1}
# a little more than the idle limit, so that the broker's times (to the millisecond) are past it
PAST_THE_LIMIT = 65
STREAM_UNIT = "dcvkit-test-stream"
STREAM_PROGRAM = "/root/dcvkit-test-stream.py"
# A browser's desktop stream on host B: the WebSocket handshake on the gateway's public name (strict TLS, the
# collection's CA only), then it holds the connection open and reads until the far end closes. The token comes in
# the environment, so that neither the unit's description nor the journal shows it.
_STREAM = r"""
import os, socket, ssl, sys
host, port, ca_file, session_id = sys.argv[1:5]
context = ssl.create_default_context(cafile=ca_file)
sock = context.wrap_socket(socket.create_connection((host, int(port)), timeout=30), server_hostname=host)
sock.sendall(("GET /standin/stream?sessionId=%s&authToken=%s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
              "Sec-WebSocket-Protocol: binary\r\n\r\n" % (session_id, os.environ["DCVKIT_TEST_TOKEN"], host, port)
              ).encode())
head = b""
while b"\r\n\r\n" not in head:
    chunk = sock.recv(4096)
    if not chunk:
        sys.exit("the gateway closed the stream before answering")
    head += chunk
print(head.split(b"\r\n", 1)[0].decode(), flush=True)
if b" 101 " not in head.split(b"\r\n", 1)[0] + b" ":
    sys.exit(1)
sock.settimeout(None)
while sock.recv(65536):
    pass
sys.exit("the far end closed the stream")
"""

testinfra_hosts = ["podman://" + A]


def journal_lines(since):
    return host(A).check_output("journalctl --no-pager -o cat -u %s --since '%s'" % (SERVICE, since)).splitlines()


def now_on_a():
    return host(A).check_output("date '+%Y-%m-%d %H:%M:%S'")


def run_expiry():
    """What the timer does every minute, at once (a oneshot start returns when the program has run)."""
    host(A).check_output("systemctl start %s" % SERVICE)


def broker_session(session_id):
    answer = broker_api("POST", "/describeSessions", {"SessionIds": [session_id]})
    found = [item for item in answer.get("Sessions", []) if item.get("Id") == session_id]
    assert found, answer
    return found[0]


def wait_for_broker(session_id, predicate, what, timeout=60):
    """Poll DescribeSessions until predicate(session) holds: the agent reports the DCV server's count every 5 s."""
    deadline = time.monotonic() + timeout
    while True:
        session = broker_session(session_id)
        if predicate(session):
            return session
        assert time.monotonic() < deadline, "the broker never showed %s: %s; the stream on %s: %s" % (
            what, session, B, stream_log())
        time.sleep(2)


def start_stream(browser_url):
    session_id, token = url_parts(browser_url)
    b = host(B)
    b.check_output("cat > %s <<'EOF'\n%sEOF" % (STREAM_PROGRAM, _STREAM))
    b.check_output("systemd-run --unit=%s --description='dcvkit test: a desktop stream held open' "
                   "--setenv=DCVKIT_TEST_TOKEN=%s python3 %s %s 8443 %s %s"
                   % (STREAM_UNIT, token, STREAM_PROGRAM, PUBLIC_NAME, CA_ON_B, session_id))
    return session_id


def stream_log():
    return host(B).run("journalctl --no-pager -o cat -u %s" % STREAM_UNIT).stdout


def stop_stream():
    host(B).run("systemctl stop %s; systemctl reset-failed %s" % (STREAM_UNIT, STREAM_UNIT))


def browser_url(output):
    return re.search(r"https://[^\s\"]+\?authToken=[^#\s\"]+#[^\s\"]+", output).group(0)


def deleted(lines, session_id, why):
    """Whether the journal has the one line of this session's deletion, for this reason (how many minutes it had no
    client depends on when the timer or the test ran the program first)."""
    return any(line.startswith("deleted session %s of %s" % (session_id, OWNER)) and "no client connected for " in line
               and line.endswith(why) for line in lines)


@pytest.fixture(scope="module")
def idle_limit_on():
    rc, output = playbook("site.yml", POLICY)
    assert rc == 0, output[-3000:]
    a = host(A)
    assert a.service(TIMER).is_enabled and a.service(TIMER).is_running
    assert '"idle_minutes": 1' in a.check_output("cat /etc/dcv-session-manager-broker/dcvkit-session-expiry.json")
    yield
    stop_stream()
    close_dcv_sessions()
    rc, output = playbook("site.yml")   # back to the inventory: no idle limit, no timer
    assert rc == 0, output[-3000:]
    assert not a.file("/etc/systemd/system/" + TIMER).exists


def test_a_session_nobody_connects_to_is_deleted_a_connected_one_is_kept_until_a_minute_after_its_client_left(
        idle_limit_on):
    since = now_on_a()
    idle_id, _how, _output = open_session(POLICY, {"dcv_session_name": "nobody-connects"})
    kept_id, _how, output = open_session(POLICY, {"dcv_session_name": "a-client-connects"})
    opened = time.monotonic()
    assert start_stream(browser_url(output)) == kept_id   # within the token's minute
    wait_for_broker(kept_id, lambda s: s.get("NumOfConnections") == 1, "one client connected")

    # both sessions are older than the limit now; only the one nobody connected to has been without a client
    time.sleep(max(0, PAST_THE_LIMIT - (time.monotonic() - opened)))
    run_expiry()
    lines = journal_lines(since)
    assert deleted(lines, idle_id, "since its creation (idle limit 1 min)"), lines
    wait_until_closed_on_the_server(idle_id)
    assert not [line for line in lines if kept_id in line], lines
    assert kept_id in dcv_sessions()
    assert host(B).service(STREAM_UNIT).is_running, stream_log()   # the stream was open all along

    # the client leaves: the broker learns when, and the minute counts from then, not from the creation
    stop_stream()
    left = time.monotonic()
    seen = wait_for_broker(kept_id, lambda s: s.get("NumOfConnections") == 0 and s.get("LastDisconnectionTime"),
                           "the client's disconnection")
    run_expiry()
    assert not [line for line in journal_lines(since) if kept_id in line], seen
    assert kept_id in dcv_sessions()
    time.sleep(max(0, PAST_THE_LIMIT - (time.monotonic() - left)))
    run_expiry()
    lines = journal_lines(since)
    assert deleted(lines, kept_id, "since the last client disconnected (idle limit 1 min)"), lines
    wait_until_closed_on_the_server(kept_id)
