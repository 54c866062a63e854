# -*- coding: utf-8 -*-
"""Two brokers sharing one MariaDB database, as sm-admin "Configuring broker persistence" has a cluster keep its
state: verify-c (in no group of the scenario's inventory) joins dcv_brokers in an inventory of this test's own, a copy
of the scenario's. site.yml makes it a broker of the cluster (broker-to-broker keys naming both brokers); switching
persistence on stops every broker before any starts again (the journals' timestamps show it); a re-run changes
nothing. A session opened through the first broker (session.yml talks to dcv_brokers[0]) is described and resolved by
the second, also after the first restarted: the stand-in brokers read the database at every request (the real ones
share it and their Ignite cluster, which the stand-in does not model, tests/standins/README.md).

MariaDB runs on host A and listens on the network, with the user 'dcvsm'@'%' the test makes (the collection never
makes database users). Runs after test_session_viewers.py and before test_verify.py (file order); leaves the stack as
the inventory has it: one broker without persistence, the broker on verify-c stopped and disabled, MariaDB stopped,
no session open."""

import os
import re
import shutil

import pytest
import yaml

from operator_runs import A, B, BROKER, BROKER_LOG, BROKER_NAME, CLIENT_PORT, OWNER, SERVER_NAME, broker_api, \
    changed_total, close_dcv_sessions, delete_session_and_wait, host, inventory_path, open_session, playbook, resolve, \
    restart_broker_and_wait, start_mariadb, stop_mariadb

testinfra_hosts = ["podman://" + A]

C, C_NAME = "verify-c", "host-c.dcvkit.test"
BROKERS = (A, C)
PASSWORD = "Clust3r-state-0nly-in-the-Vault"
DATABASE = "dcvsm_cluster"
# host A's DNS name, not localhost: the broker on verify-c reaches the same database
PERSISTENCE = {"dcv_broker_persistence": "mysql",
               "dcv_broker_jdbc_url": "jdbc:mysql://%s:3306/%s?createDatabaseIfNotExist=true" % (BROKER_NAME, DATABASE),
               "dcv_broker_jdbc_user": "dcvsm", "dcv_broker_jdbc_password": PASSWORD}
PROPERTIES = "/etc/dcv-session-manager-broker/session-manager-broker.properties"
PEERS = "broker-to-broker-discovery-addresses = host-a.dcvkit.test:47500,host-c.dcvkit.test:47500"


def two_broker_inventory():
    """The scenario's inventory (group_vars, host_vars) with verify-c added to dcv_brokers. The brokers of a cluster
    share their client-facing ports (the wiring refuses otherwise): verify-a's client port is 8448 because the gateway
    holds 8443 there, so verify-c gets the same."""
    directory = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory-two-brokers")
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(inventory_path(), directory)
    path = os.path.join(directory, "ansible_inventory.yml")
    with open(path) as handle:
        inventory = yaml.safe_load(handle)
    inventory["dcv_brokers"]["hosts"][C] = dict(inventory["all"]["hosts"][C], dcv_broker_client_port=CLIENT_PORT)
    with open(path, "w") as handle:
        yaml.safe_dump(inventory, handle, default_flow_style=False)
    return directory


@pytest.fixture(scope="module")
def cluster():
    inventory = two_broker_inventory()
    a = start_mariadb(PASSWORD, user_host="%", network=True, driver_hosts=BROKERS)
    # a database of its own, empty: nothing left by test_session_persistence.py (which uses dcvsm) is read here
    a.check_output("mysql -e 'DROP DATABASE IF EXISTS %s'" % DATABASE)
    try:
        yield inventory
    finally:
        close_dcv_sessions()
        # verify-c is in no group of the scenario's inventory: its broker stops and stays stopped
        if host(C).run("systemctl cat %s" % BROKER).rc == 0:
            host(C).check_output("systemctl disable --now %s" % BROKER)
        rc, output = playbook("site.yml")  # back to the inventory: one broker, persistence off
        assert rc == 0, output[-3000:]
        stop_mariadb(user_host="%", network=True)
        shutil.rmtree(inventory, ignore_errors=True)


def properties(name):
    return host(name).file(PROPERTIES).content_string


def test_site_yml_makes_verify_c_a_second_broker_of_the_cluster(cluster):
    rc, output = playbook("site.yml", inventory=cluster)
    assert rc == 0, output[-3000:]
    for name in BROKERS:
        target = host(name)
        assert target.service(BROKER).is_running and target.service(BROKER).is_enabled, name
        assert PEERS in properties(name).splitlines(), (name, properties(name))
        assert "client-to-broker-connector-https-port = %d" % CLIENT_PORT in properties(name).splitlines()
        assert target.run("ss -ltn | grep -q ':%d '" % CLIENT_PORT).rc == 0, name


def test_each_broker_opens_the_cluster_ports_in_its_active_firewall(cluster):
    """dcv_broker opens the broker-to-broker ports (47100, 47500) beside its TLS ports when dcv_brokers has several
    hosts, in firewalld or ufw when one is active."""
    checked = 0
    for name in BROKERS:
        target = host(name)
        if target.run("systemctl is-active --quiet firewalld").rc == 0:
            ports = target.check_output("firewall-cmd --list-ports").split()
        elif target.run("systemctl is-active --quiet ufw").rc == 0:
            ports = re.findall(r"^(\d+/tcp)\s+ALLOW", target.check_output("ufw status"), re.M)
        else:
            continue
        checked += 1
        for port in ("47100/tcp", "47500/tcp", "%d/tcp" % CLIENT_PORT, "8445/tcp", "8447/tcp"):
            assert port in ports, (name, ports)
    if not checked:
        pytest.skip("neither firewalld nor ufw is active on verify-a or verify-c (the Debian 12 lab image runs no "
                    "firewall), so there is no firewall state to check; the ports the role opens for a cluster are "
                    "checked by tests/unit/roles/test_role_vars.py only")


def journal_events(name, since):
    """[(time, 'Stopped' or 'Started')] of the broker unit on host NAME since the epoch time SINCE (systemd's own
    lines; every container reads the same clock)."""
    lines = host(name).check_output("journalctl --no-pager -o short-unix -u %s --since @%d" % (BROKER, int(since)))
    return [(float(stamp), event) for stamp, event in
            re.findall(r"^(\d+\.\d+) \S+ systemd\[1\]: (Stopped|Started) %s" % re.escape(BROKER), lines, re.M)
            if float(stamp) >= since]


def test_switching_persistence_on_stops_every_broker_before_any_starts(cluster):
    since = float(host(A).check_output("date +%s.%N"))
    rc, output = playbook("site.yml", PERSISTENCE, inventory=cluster)
    assert rc == 0, output[-3000:]
    assert PASSWORD not in output
    # the play that stops every broker before the deploy plays (site.yml), on both
    stop_play = output.split("PLAY [Brokers - stop every one before any starts", 1)[1].split("PLAY [", 1)[0]
    assert re.search(r"changed: \[%s\]" % A, stop_play) and re.search(r"changed: \[%s\]" % C, stop_play), stop_play
    events = {name: journal_events(name, since) for name in BROKERS}
    stopped = {name: min([t for t, event in events[name] if event == "Stopped"] or [None]) for name in BROKERS}
    assert None not in stopped.values(), events
    started = {name: min([t for t, event in events[name] if event == "Started" and t > stopped[name]] or [None])
               for name in BROKERS}
    assert None not in started.values(), events
    # both stopped before either started again
    assert max(stopped.values()) < min(started.values()), events
    for name in BROKERS:
        lines = properties(name).splitlines()
        assert "enable-persistence = true" in lines and "persistence-db = mysql" in lines, name
        assert "jdbc-connection-url = %s" % PERSISTENCE["dcv_broker_jdbc_url"] in lines, name
        assert PEERS in lines, name
        log = host(name).check_output("cat %s" % BROKER_LOG)
        assert "state: MySQL database %s:3306/%s" % (BROKER_NAME, DATABASE) in log, name
        assert PASSWORD not in log, name
    tables = host(A).check_output("mysql -N -e 'SHOW TABLES' %s" % DATABASE).split()
    assert "dcvsm_standin_sessions" in tables, tables


def test_a_rerun_changes_nothing(cluster):
    rc, output = playbook("site.yml", PERSISTENCE, inventory=cluster)
    assert rc == 0 and changed_total(output) == 0, output[-3000:]
    assert PASSWORD not in output


@pytest.fixture(scope="module")
def session(cluster):
    """A session opened with session.yml, which talks to the first broker (verify-a)."""
    session_id, how, _output = open_session(inventory=cluster)
    assert how == "created"
    yield session_id
    delete_session_and_wait(session_id)


def resolved_by_both(session_id):
    """The resolver of each broker, called as the gateway calls it (its client certificate): the same answer."""
    answers = {}
    for name in (BROKER_NAME, C_NAME):
        status, body = resolve(session_id, broker=name)
        assert status == 200, (name, status, body)
        answers[name] = yaml.safe_load(body)
    assert answers[BROKER_NAME] == answers[C_NAME], answers
    assert answers[C_NAME]["SessionId"] == session_id and answers[C_NAME]["DcvServerEndpoint"] == SERVER_NAME, answers
    return answers[C_NAME]


def test_a_session_opened_through_the_first_broker_is_resolved_by_the_second(cluster, session):
    resolved_by_both(session)
    # the second broker's client API (its own access token for session.yml's API client, which is in the database)
    described = broker_api("POST", "/describeSessions", {"SessionIds": [session]}, broker=C_NAME)
    first = broker_api("POST", "/describeSessions", {"SessionIds": [session]})
    assert [(s["Id"], s["State"], s["Owner"]) for s in described["Sessions"]] == [(session, "READY", OWNER)]
    assert described["Sessions"][0]["Server"] == first["Sessions"][0]["Server"], (described, first)
    assert session in host(B).check_output("dcv list-sessions")


def test_after_a_restart_of_the_first_broker_both_still_resolve_the_session(cluster, session):
    before = host(C).check_output("systemctl show -p ActiveEnterTimestampMonotonic --value %s" % BROKER)
    restart_broker_and_wait(A)
    resolved_by_both(session)
    # only the first broker restarted
    assert host(C).check_output("systemctl show -p ActiveEnterTimestampMonotonic --value %s" % BROKER) == before
    # and session.yml, through the restarted broker, finds it again
    again, how, _output = open_session(inventory=cluster)
    assert (again, how) == (session, "reused")
