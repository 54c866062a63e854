# -*- coding: utf-8 -*-
"""Broker persistence in a real database: MariaDB (Debian's mariadb-server) on host A, with a database and a user
the test makes, as an operator brings RDS or their own (the collection never creates them). With
dcv_broker_persistence: mysql a session and the URL printed for it outlive a broker restart that a property change
makes site.yml do: the URL still resolves and connects, verify.yml is all ok, session.yml reuses the session. Without
persistence the same restart orphans it (the DCV server still runs it, the broker forgot it): the URL ends at the
resolver, and verify.yml names the orphan and what to do, which is what makes the first check mean something.
Without its database the broker refuses to start and says why, never with the password.

Runs after test_session_lifetime.py and before test_verify.py (file order); leaves the stack as the inventory has
it (persistence off, MariaDB stopped), with no session open."""

import time

import pytest

from operator_runs import A, B, BROKER, BROKER_LOG, CLIENT_PORT, OWNER, assert_healthy, browser_url, changed_total, \
    close_dcv_sessions, connect, host, open_session, playbook, resolve, row, run_verify, start_mariadb, stop_mariadb, \
    url_parts, wait_for_port

testinfra_hosts = ["podman://" + A]

PASSWORD = "Persist-0nly-in-th3-Vault"
PERSISTENCE = {"dcv_broker_persistence": "mysql",
               "dcv_broker_jdbc_url": "jdbc:mysql://localhost:3306/dcvsm?createDatabaseIfNotExist=true",
               "dcv_broker_jdbc_user": "dcvsm", "dcv_broker_jdbc_password": PASSWORD}
PROPERTIES = "/etc/dcv-session-manager-broker/session-manager-broker.properties"
# a broker property whose change makes site.yml restart the broker (the inventory keeps 60)
RESTARTING_CHANGE = {"dcv_broker_connect_session_token_minutes": 59}


@pytest.fixture(scope="module")
def database():
    yield start_mariadb(PASSWORD)
    rc, output = playbook("site.yml")  # back to the inventory: persistence off
    assert rc == 0, output[-3000:]
    stop_mariadb()
    close_dcv_sessions()


def test_site_yml_turns_persistence_on_without_showing_the_password(database):
    rc, output = playbook("site.yml", PERSISTENCE)
    assert rc == 0, output[-3000:]
    assert PASSWORD not in output
    properties = database.file(PROPERTIES).content_string
    assert "enable-persistence = true" in properties and "persistence-db = mysql" in properties
    assert "jdbc-connection-url = jdbc:mysql://localhost:3306/dcvsm?createDatabaseIfNotExist=true" in properties
    assert "jdbc-user = dcvsm" in properties
    # the broker keeps its records in the database it was given
    tables = database.check_output("mysql -N -e 'SHOW TABLES' dcvsm").split()
    assert "dcvsm_standin_sessions" in tables, tables
    rc, output = playbook("site.yml", PERSISTENCE)
    assert rc == 0 and changed_total(output) == 0, output[-3000:]
    assert PASSWORD not in output


def broker_pid():
    return host(A).check_output("systemctl show -p MainPID --value %s" % BROKER)


def restart_by_a_property_change(*extra_vars):
    """What a renewal, an upgrade or a changed setting does: site.yml changes a broker property (the connection token
    lifetime here) and restarts the broker; the next run of the file, or its teardown, puts it back."""
    before = broker_pid()
    rc, output = playbook("site.yml", *(extra_vars + (RESTARTING_CHANGE,)))
    assert rc == 0, output[-3000:]
    wait_for_port(host(A), CLIENT_PORT)
    assert broker_pid() != before, "site.yml did not restart the broker"


def test_a_session_and_its_url_outlive_a_broker_restart_with_persistence(database):
    session_id, how, output = open_session()
    assert how == "created"
    _session, token = url_parts(browser_url(output))
    restart_by_a_property_change(PERSISTENCE)
    # the same URL: the resolver finds the session, and the token (its key persisted) still opens it
    assert resolve(session_id)[0] == 200
    status, answer = connect(session_id, token)
    assert status == 200 and answer["Connected"] is True and answer["User"] == OWNER, answer
    rc, rows, verify_output = run_verify()
    assert_healthy(rows, rc, verify_output)
    assert row(rows, "resolver: session %s on %s" % (session_id, B))["result"] == "ok (resolves)"
    again, how, _output = open_session()
    assert (again, how) == (session_id, "reused")


def test_without_persistence_the_same_restart_orphans_the_session_and_verify_yml_says_so(database):
    rc, output = playbook("site.yml")
    assert rc == 0, output[-3000:]
    close_dcv_sessions()
    session_id, how, output = open_session()
    assert how == "created"
    _session, token = url_parts(browser_url(output))
    restart_by_a_property_change()
    # the DCV server still runs the session; the broker has forgotten it, so its URL ends at the resolver
    assert resolve(session_id)[0] == 404
    status, answer = connect(session_id, token)
    assert status == 404 and answer["FailedHop"] == "resolver", answer
    rc, rows, verify_output = run_verify()
    assert rc != 0, verify_output[-3000:]
    orphan = row(rows, "resolver: session %s on %s" % (session_id, B))
    assert orphan["status"] == "FAIL", orphan
    assert "unknown to the broker" in orphan["result"] and "broker restart without persistence" in orphan["result"]
    again, how, _output = open_session()
    assert how == "created" and again != session_id


def test_the_broker_refuses_to_start_without_its_database_and_never_logs_the_password(database):
    rc, output = playbook("site.yml", PERSISTENCE)
    assert rc == 0, output[-3000:]
    database.check_output("systemctl stop mariadb")
    try:
        database.run("systemctl restart %s" % BROKER)
        refusal = "refusing to start: persistence-db = mysql: cannot use the database localhost:3306/dcvsm"
        deadline = time.monotonic() + 60
        while refusal not in database.check_output("tail -n 50 %s" % BROKER_LOG):
            assert time.monotonic() < deadline, database.check_output("tail -n 50 %s" % BROKER_LOG)
            time.sleep(2)
        log = database.check_output("cat %s" % BROKER_LOG)
        assert database.run("ss -ltn | grep -q ':8448 '").rc != 0
        journal = database.check_output("journalctl --no-pager -o cat -u %s -n 200" % BROKER)
        assert PASSWORD not in log and PASSWORD not in journal
    finally:
        database.check_output("systemctl start mariadb")
