# -*- coding: utf-8 -*-
"""Session lifetimes enforced on the hosts, with nobody running a playbook: site.yml with a maximum age installs the
session expiry timer on the first broker host; a session opened by session.yml for a window is deleted once its
deadline has passed, and any session once it is older than the maximum age; each deletion is one journal line; the
DCV server then no longer runs the session. Without a maximum age the next run removes the timer again.

These run before test_verify.py (file order) and leave the stack as the inventory has it, with no session open."""

import datetime
import hashlib
import os
import re
import time

import pytest

from operator_runs import A, OWNER, ROOT, browser_url, changed_total, close_dcv_sessions, connect, host, open_session, \
    playbook, resolve, url_parts, wait_until_closed_on_the_server

TIMER = "dcvkit-session-expiry.timer"
SERVICE = "dcvkit-session-expiry.service"
DEADLINES = "/var/lib/dcvkit/session-deadlines"
PROGRAM = "/usr/libexec/dcvkit-session-expiry/session_expiry.py"
CREDENTIALS = "/etc/dcv-session-manager-broker/api-client-dcvkit-session-expiry.json"
# the shortest policy the preflight accepts: a connection token may not outlive the session it opens
POLICY = {"dcv_session_max_age_minutes": 1, "dcv_broker_connect_session_token_minutes": 1}

testinfra_hosts = ["podman://" + A]


def sha256_of(library):
    with open(os.path.join(ROOT, "plugins", "module_utils", library), "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def journal_lines(since):
    return host(A).check_output("journalctl --no-pager -o cat -u %s --since '%s'" % (SERVICE, since)).splitlines()


def expire_now():
    """What the timer does every minute, at once (a oneshot start returns when the program has run)."""
    since = host(A).check_output("date '+%Y-%m-%d %H:%M:%S'")
    host(A).check_output("systemctl start %s" % SERVICE)
    return journal_lines(since)


@pytest.fixture(scope="module")
def policy_on():
    rc, output = playbook("site.yml", POLICY)
    assert rc == 0, output[-3000:]
    yield output
    # the last test went back to the inventory (no maximum age); nothing stays open
    close_dcv_sessions()


def test_site_yml_installs_the_timer_on_the_first_broker_and_a_rerun_changes_nothing(policy_on):
    a = host(A)
    assert a.service(TIMER).is_enabled and a.service(TIMER).is_running
    for path, mode in ((PROGRAM, 0o755), (CREDENTIALS, 0o600), (DEADLINES, 0o700)):
        item = a.file(path)
        assert (item.exists, item.user, item.mode) == (True, "root", mode), path
    # the collection's own broker client beside the program, not a second copy of its code
    for library in ("broker_api.py", "broker_sessions.py", "broker_credentials.py", "session_deadlines.py"):
        assert a.file(os.path.join(os.path.dirname(PROGRAM), library)).sha256sum == sha256_of(library)
    rc, output = playbook("site.yml", POLICY)
    assert rc == 0 and changed_total(output) == 0, output[-3000:]


def test_a_window_ends_the_session_at_its_deadline(policy_on):
    session_id, _how, output = open_session(POLICY, {"dcv_session_minutes": 1})
    _session, token = url_parts(browser_url(output))
    printed = re.search(r"the session is deleted at (\S+?)( or|\))", output).group(1)
    record = host(A).file("%s/%s" % (DEADLINES, session_id))
    assert (record.user, record.mode) == ("root", 0o600)
    deadline = datetime.datetime.fromisoformat(record.content_string.strip())
    assert deadline == datetime.datetime.fromisoformat(printed)
    left = deadline - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(0) < left <= datetime.timedelta(minutes=1, seconds=5), left
    # the window passes: the record says so (moved into the past, as time would), and the next run deletes it
    past = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)).replace(microsecond=0)
    host(A).check_output("echo %s > %s/%s" % (past.isoformat(), DEADLINES, session_id))
    lines = expire_now()
    assert any(line.startswith("deleted session %s of %s" % (session_id, OWNER)) and "deadline" in line
               for line in lines), lines
    wait_until_closed_on_the_server(session_id)
    assert not host(A).file("%s/%s" % (DEADLINES, session_id)).exists
    # the URL printed for the window ends at the gateway now: the resolver no longer finds the session
    assert resolve(session_id)[0] == 404
    status, answer = connect(session_id, token)
    assert status == 404 and answer["FailedHop"] == "resolver", answer


def test_the_maximum_age_ends_a_session_without_a_window(policy_on):
    session_id, _how, _output = open_session(POLICY)
    # DeleteSessions only for a session older than 1 minute: wait for it to be older, then run the program (the
    # timer may already have done it: then its line is in the journal since the session opened)
    since = host(A).check_output("date '+%Y-%m-%d %H:%M:%S'")
    time.sleep(65)
    host(A).check_output("systemctl start %s" % SERVICE)
    lines = journal_lines(since)
    assert any(line.startswith("deleted session %s of %s" % (session_id, OWNER)) and "maximum age of 1 min" in line
               for line in lines), lines
    wait_until_closed_on_the_server(session_id)


def test_without_a_maximum_age_the_timer_is_removed_and_the_next_run_changes_nothing(policy_on):
    rc, output = playbook("site.yml")
    assert rc == 0, output[-3000:]
    a = host(A)
    assert not a.file("/etc/systemd/system/" + TIMER).exists
    assert not a.file(PROGRAM).exists
    assert TIMER not in a.check_output("systemctl list-timers --all --no-legend")
    rc, output = playbook("site.yml")
    assert rc == 0 and changed_total(output) == 0, output[-3000:]
