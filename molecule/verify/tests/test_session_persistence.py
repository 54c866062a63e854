# -*- coding: utf-8 -*-
"""Broker persistence in a real database: MariaDB (Debian's mariadb-server) on host A, with a database and a user
the test makes, as an operator brings RDS or their own (the collection never creates them). With
dcv_broker_persistence: mysql a session outlives a broker restart: session.yml afterwards reuses it. Without
persistence the same restart loses it (session.yml creates another), which is what makes the first check mean
something. Without its database the broker refuses to start and says why, never with the password.

Runs after test_session_lifetime.py and before test_verify.py (file order); leaves the stack as the inventory has
it (persistence off, MariaDB stopped), with no session open."""

import time

import pytest

from operator_runs import A, BROKER, BROKER_LOG, changed_total, close_dcv_sessions, open_session, playbook, \
    restart_broker_and_wait, start_mariadb, stop_mariadb

testinfra_hosts = ["podman://" + A]

PASSWORD = "Persist-0nly-in-th3-Vault"
PERSISTENCE = {"dcv_broker_persistence": "mysql",
               "dcv_broker_jdbc_url": "jdbc:mysql://localhost:3306/dcvsm?createDatabaseIfNotExist=true",
               "dcv_broker_jdbc_user": "dcvsm", "dcv_broker_jdbc_password": PASSWORD}
PROPERTIES = "/etc/dcv-session-manager-broker/session-manager-broker.properties"


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


def test_a_session_outlives_a_broker_restart_with_persistence(database):
    session_id, how, _output = open_session()
    assert how == "created"
    restart_broker_and_wait()
    again, how, _output = open_session()
    assert (again, how) == (session_id, "reused")


def test_without_persistence_the_same_restart_loses_the_session(database):
    rc, output = playbook("site.yml")
    assert rc == 0, output[-3000:]
    close_dcv_sessions()
    session_id, how, _output = open_session()
    assert how == "created"
    restart_broker_and_wait()
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
