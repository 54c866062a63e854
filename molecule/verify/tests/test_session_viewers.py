# -*- coding: utf-8 -*-
"""Viewers on the stack: session.yml -e dcv_session_viewers=viewer1 opens a session whose permissions file lets the
owner do everything and viewer1 only view, and prints a URL for each. Each URL opens the session through the gateway's
public name (the stand-in's route: gateway -> resolver -> DCV server -> the broker's token verifier, strict TLS on every
hop) as its own user; a stranger, whose token the broker hands out like anyone's (sm-dev "GetSessionConnectionData"),
is refused by the DCV server, which says so in its log. No URL's token is written to a log file on the hosts. Without
viewers no permissions file is sent, and the owner alone gets in.

Runs after test_session_persistence.py and before test_two_brokers.py (file order); leaves the stack as the inventory
has it, with no session open."""

import re

import pytest

from operator_runs import A, B, OWNER, close_dcv_sessions, connect, connection_token, delete_session_and_wait, \
    ensure_user, host, open_session, url_parts

testinfra_hosts = ["podman://" + A]

VIEWER, STRANGER = "viewer1", "stranger"
SERVER_LOG = "/var/log/dcv/server.log"
HOPS = ["gateway->resolver", "gateway->dcv-server", "dcv-server->auth-token-verifier"]
URL = r"https://\S+?authToken=[^#\s\"]+#[^\s\"]+"


def browser_urls(output):
    """{user: browser URL} as session.yml prints them: the owner's line first, then one task item per viewer."""
    owner_part, _sep, viewer_part = output.partition("TASK [Show each viewer's browser URL]")
    urls = {OWNER: re.search(r"TASK \[Show the browser URL\].*?(%s)" % URL, owner_part, re.S).group(1)}
    for user, url in re.findall(r"\(item=([^)\s]+)\).*?(%s)" % URL, viewer_part.split("PLAY RECAP")[0], re.S):
        urls[user] = url
    return urls


@pytest.fixture(scope="module")
def viewed():
    """A session of OWNER with viewer1 as viewer; the users exist on the DCV server host, as the owner does."""
    for user in (VIEWER, STRANGER):
        ensure_user(user)
    session_id, how, output = open_session({"dcv_session_viewers": VIEWER})
    assert how == "created"
    assert "viewers (view only): %s, their URLs follow" % VIEWER in re.sub(r"\s+", " ", output), output[-3000:]
    urls = browser_urls(output)
    assert sorted(urls) == sorted([OWNER, VIEWER]), urls
    tokens = {}
    for user, url in urls.items():
        url_session, tokens[user] = url_parts(url)
        assert url_session == session_id, (user, url)
    yield session_id, tokens
    close_dcv_sessions()


def test_the_viewer_url_opens_the_session_through_the_gateway_as_the_viewer(viewed):
    session_id, tokens = viewed
    status, answer = connect(session_id, tokens[VIEWER])
    assert status == 200 and answer["Connected"] is True, answer
    assert answer["User"] == VIEWER and [hop["Hop"] for hop in answer["Route"]] == HOPS, answer
    log = host(B).file(SERVER_LOG).content_string
    assert "connection to session %s authenticated for %s" % (session_id, VIEWER) in log
    # and the owner's URL opens it as the owner
    status, answer = connect(session_id, tokens[OWNER])
    assert status == 200 and answer["User"] == OWNER, answer


def test_a_stranger_is_refused_by_the_dcv_server(viewed):
    session_id, tokens = viewed
    # the broker gives anyone a token (from its API, with session.yml's root-only API client on host A)
    tokens[STRANGER] = connection_token(session_id, STRANGER)
    status, answer = connect(session_id, tokens[STRANGER])
    assert status == 403 and answer["Connected"] is False and answer["FailedHop"] == "dcv-server", answer
    assert "token user '%s' may not see session %s: its permissions file does not allow them display" % (
        STRANGER, session_id) in answer["Error"], answer
    assert "connection to session %s refused: its permissions do not let %s see it" % (session_id, STRANGER) \
        in host(B).file(SERVER_LOG).content_string


def test_no_token_is_written_to_a_log_file_on_the_hosts(viewed):
    _session_id, tokens = viewed
    assert set(tokens) >= {OWNER, VIEWER}
    for name in (A, B):
        target = host(name)
        for user, token in tokens.items():
            # every file under /var/log (broker, gateway, DCV server, agent, the package managers) and the journal
            found = target.run("grep -rlF -e %s /var/log" % token)
            assert found.rc == 1 and not found.stdout, (name, user, found.stdout, found.stderr)
            assert target.run("journalctl --no-pager -o cat | grep -qF -e %s" % token).rc == 1, (name, user)


def test_without_viewers_the_owner_alone_gets_in(viewed):
    session_id, _tokens = viewed
    delete_session_and_wait(session_id)
    alone, how, output = open_session()
    assert how == "created" and alone != session_id
    assert "their URLs follow" not in output
    _url_session, token = url_parts(browser_urls(output)[OWNER])
    status, answer = connect(alone, token)
    assert status == 200 and answer["User"] == OWNER, answer
    status, answer = connect(alone, connection_token(alone, VIEWER))
    assert status == 403 and answer["FailedHop"] == "dcv-server", answer
    assert "token user '%s' may not see session %s: not its owner (no permissions file)" % (VIEWER, alone) \
        in answer["Error"], answer
    delete_session_and_wait(alone)
