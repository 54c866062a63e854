# -*- coding: utf-8 -*-
"""The broker role's persistence tasks, read from the role by name and run by ansible-playbook on local hosts:

* the preflight decides, over every broker of the run at once, whether every broker stops before any starts
  (sm-admin "Configuring broker persistence": stop all the brokers, make sure all are stopped, then start them), from
  the properties file each broker runs with; one broker alone restarts as usual, and a run that leaves a broker out
  is refused;
* the task that installs the properties file shows neither the database password nor a diff of the file.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest
import yaml

from ansible_collections.dcvkit.session_manager.tests.unit.roles.role_playbook import ROLES, role_tasks, run_plays

PASSWORD = "Pa55-w0rd-never-shown"
MYSQL = {"enable-persistence": True, "persistence-db": "mysql",
         "jdbc-connection-url": "jdbc:mysql://db.example.internal:3306/dcvsm", "jdbc-user": "dcvsm",
         "jdbc-password": PASSWORD}
WITHOUT = "enable-persistence = false\nclient-to-broker-connector-https-port = 8448\n"
WITH = "".join("%s = %s\n" % (key, str(value).lower() if value is True else value) for key, value in MYSQL.items())
DECISION = ["Read the properties the broker runs with (several brokers share where their state lives)",
            "Note the settings of where the state lives that change on this broker",
            "Decide whether every broker stops before any starts",
            "Refuse a change of where the state lives that leaves brokers out of the run"]

# (id, brokers of the inventory, brokers in the run, properties file of each broker in the run (None: not installed),
#  expected _dcv_broker_stop_together of each, or the words of the refusal)
CASES = [
    ("cluster-enables", ["b1", "b2"], ["b1", "b2"], [WITHOUT, WITHOUT], [True, True]),
    # a broker that has the new settings already (an earlier run stopped halfway) stops with the others
    ("cluster-one-behind", ["b1", "b2"], ["b1", "b2"], [WITHOUT, WITH], [True, True]),
    ("cluster-unchanged", ["b1", "b2"], ["b1", "b2"], [WITH, WITH], [False, False]),
    # a new password reaches the same store: each broker restarts on its own
    ("cluster-new-password", ["b1", "b2"], ["b1", "b2"], [WITH.replace(PASSWORD, "old"), WITH], [False, False]),
    ("cluster-new-brokers", ["b1", "b2"], ["b1", "b2"], [None, None], [False, False]),
    ("single-broker", ["b1"], ["b1"], [WITHOUT], [False]),
    ("cluster-limited", ["b1", "b2", "b3"], ["b1", "b2"], [WITHOUT, WITHOUT],
     ["where the brokers keep their state changes", "but cluster-limited-b3 is not in this run (--limit?)",
      "Run the play for every host of dcv_brokers"]),
]


@pytest.fixture(scope="module")
def decisions(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stop-together")
    plays, hosts = [], []
    for case_id, inventory_brokers, run_brokers, files, _expected in CASES:
        names = ["%s-%s" % (case_id, broker) for broker in run_brokers]
        hosts.extend(names)
        for name, text in zip(names, files):
            if text is not None:
                (tmp / ("%s.properties" % name)).write_text(text)
        plays.append({"name": case_id, "hosts": ",".join(names), "gather_facts": False,
                      "vars": {"dcv_wiring": {"broker_hosts": ["%s-%s" % (case_id, b) for b in inventory_brokers]},
                               "dcv_broker_config_file": str(tmp) + "/{{ inventory_hostname }}.properties",
                               "dcv_broker_persistence_wanted": MYSQL},
                      "tasks": role_tasks("dcv_broker", "preflight_persistence.yml", *DECISION)})
    return run_plays(tmp, plays, hosts, every_host=True)


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_every_broker_stops_before_any_starts_when_the_state_moves(decisions, case):
    case_id, inventory, run_brokers, files, expected = case
    tasks = decisions[case_id]
    assert PASSWORD not in json.dumps(tasks)
    noted, decided, refusal = tasks[1], tasks[2], tasks[3]
    for broker, text in zip(run_brokers, files):
        host = "%s-%s" % (case_id, broker)
        # the stop concerns installed brokers; the file's content is not kept for the rest of the run
        facts = noted[host]["ansible_facts"]
        assert facts["_dcv_broker_installed_before"] == (text is not None and len(inventory) > 1)
        assert facts["_dcv_broker_running_properties"] == {}
        assert not decided[host].get("failed"), decided[host]
        if isinstance(expected[0], bool):
            assert not refusal[host].get("failed"), refusal[host]
            assert decided[host]["ansible_facts"]["_dcv_broker_stop_together"] == expected[run_brokers.index(broker)]
        else:
            assert refusal[host].get("failed"), refusal[host]
            for words in expected:
                assert words in refusal[host]["msg"], refusal[host]["msg"]


def test_one_broker_reads_nothing(decisions):
    # a single broker restarts as it always does: its file is not even read
    assert decisions["single-broker"][0]["single-broker-b1"].get("skipped")


def _task(tasks, name):
    for task in tasks:
        if task.get("name") == name:
            return task
        found = _task(task.get("block", []), name)
        if found:
            return found
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="the task writes the file owned by root")
@pytest.mark.parametrize("task_no_log", [True, False], ids=["as-written", "without-no_log"])
def test_properties_file_is_installed_without_output_or_diff(tmp_path, task_no_log):
    with open(os.path.join(ROLES, "dcv_broker", "tasks", "configure.yml")) as handle:
        install = _task(yaml.safe_load(handle), "Install the properties file (root:dcvsmbroker 0640, the broker refuses "
                                                "anything else) and the heap drop-in")
    with open(os.path.join(ROLES, "dcv_broker", "vars", "main.yml")) as handle:
        declared = yaml.safe_load(handle)["_dcv_broker_config_files"]
    assert install and install.get("no_log") is True
    # the declaration itself marks the file secret: even a task without no_log shows no password, not in its diff
    if not task_no_log:
        install = dict((key, value) for key, value in install.items() if key != "no_log")
    target = tmp_path / "session-manager-broker.properties"
    target.write_text("jdbc-password = old-%s\n" % PASSWORD)
    play = {"name": "install", "hosts": "testhost", "gather_facts": False, "diff": True,
            "vars": {"dcv_broker_config_file": str(target), "dcv_broker_user": "root", "_dcv_broker_state": {},
                     "dcv_broker_heap_size": "", "dcv_broker_heap_dropin": str(tmp_path / "heap.d" / "heap.conf"),
                     "_dcv_broker_config_files": declared,
                     "_dcv_broker_rendered": "jdbc-password = %s\n" % PASSWORD},
            "tasks": [install]}
    result = run_plays(tmp_path, [play], ["testhost"])["install"][0]
    assert result.get("changed"), result
    assert PASSWORD not in json.dumps(result)
    if task_no_log:
        assert "censored" in result and "diff" not in result, result
    else:
        assert result["content_changed"] == [str(target)], result
        assert [diff["after"] for diff in result["diff"]] == ["(secret content, %d bytes)\n" % len(
            "jdbc-password = %s\n" % PASSWORD)], result
    assert target.read_text() == "jdbc-password = %s\n" % PASSWORD
