# -*- coding: utf-8 -*-
"""site.yml's preflight over a generated fleet (benchmarks/fleet.sh's inputs), and the module counter.

* The wiring is derived once, on one host, yet every host of the run has it, also in a later play that uses the
  free strategy in batches (as site.yml's deploy plays do); the CA is ensured once; no module runs on a host.
* benchmarks/fleet/generate.py writes a fact cache that the installed ansible-core reads: gathering = smart skips
  every host.
* benchmarks/callback_plugins/module_count.py counts the tasks that executed a module on each host.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
GENERATE = os.path.join(ROOT, "benchmarks", "fleet", "generate.py")
HOSTS = 4


def _env(tmp, **extra):
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
                ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
                ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp / ".ansible"), ANSIBLE_HOME=str(tmp / ".ansible"),
                ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "benchmarks", "callback_plugins"),
                ANSIBLE_CALLBACKS_ENABLED="module_count", DCVKIT_COUNT_MODULES_FILE=str(tmp / "counts.json"),
                PATH=BIN + os.pathsep + os.environ.get("PATH", ""), **extra)


def _playbook(tmp, inventory, playbook, **extra):
    process = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(inventory), str(playbook)],
                             env=_env(tmp, **extra), cwd=str(tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=600, check=False)
    try:
        # the counter's table comes before or after the json callback's document
        report, _end = json.JSONDecoder().raw_decode(process.stdout[process.stdout.index("{"):])
    except ValueError:
        raise AssertionError(process.stdout[-3000:] + process.stderr[-3000:])
    with open(str(tmp / "counts.json")) as handle:
        counts = json.load(handle)
    return process.returncode, report, counts


def _fleet(tmp):
    fleet = tmp / "fleet"
    subprocess.run([sys.executable, GENERATE, "inventory", str(HOSTS), str(fleet),
                    os.path.join(ROOT, "benchmarks", "fleet", "facts.json"), str(tmp / "ca")], check=True)
    return fleet, dict(ANSIBLE_CACHE_PLUGIN="ansible.builtin.jsonfile", ANSIBLE_CACHE_PLUGIN_CONNECTION=str(fleet / "facts"),
                       ANSIBLE_CACHE_PLUGIN_TIMEOUT="0", ANSIBLE_GATHERING="smart")


CHECK_TASKS = {"dcv_server": "Refuse bad input before anything changes (the DCV server's checks, on the control node)",
               "dcv_agent": "Refuse bad input before anything changes (the agent's checks, on the control node)"}


def _task(report, play, name):
    """The results of the task NAME in every batch of the play PLAY."""
    matches = [task for run in report["plays"] if run["play"]["name"] == play
               for task in run["tasks"] if task["task"]["name"].endswith(name)]
    assert matches, name
    return matches


def test_preflight_derives_once_and_every_later_play_sees_it(tmp_path):
    fleet, cache = _fleet(tmp_path)
    preflight = tmp_path / "preflight.yml"
    subprocess.run([sys.executable, GENERATE, "preflight", os.path.join(ROOT, "playbooks", "site.yml"), str(preflight)],
                   check=True)
    plays = yaml.safe_load(preflight.read_text())
    # what site.yml's deploy plays depend on, asked in the same conditions: free strategy, batches of 2
    plays.append({"name": "later", "hosts": "all", "gather_facts": False, "strategy": "ansible.builtin.free",
                  "serial": 2, "tasks": [{"name": "wiring and CA in place", "ansible.builtin.assert": {
                      "that": ["dcv_wiring['hosts'] | length == %d" % HOSTS, "_dcv_common_done",
                               "_dcv_common_ca is succeeded", "_dcv_server_checked | default(false)"
                               " or inventory_hostname not in groups['dcv_servers']"]}}]})
    playbook = tmp_path / "site-preflight.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))

    code, report, counts = _playbook(tmp_path, fleet / "inventory.yml", playbook, **cache)

    assert code == 0, report["stats"]
    assert sorted(report["stats"]) == sorted(["sm-a"] + ["dcv-%04d" % i for i in range(1, HOSTS)])
    preflight_plays = [play["name"] for play in plays if play["name"].startswith("Preflight")]
    assert len(preflight_plays) == 3, preflight_plays
    derived = _task(report, preflight_plays[0], "Derive the wiring from the inventory")
    assert [list(task["hosts"]) for task in derived] == [["sm-a"]]
    # every DCV server's checks, in one task per role on the control node (the first host runs it for all)
    for role in ("dcv_server", "dcv_agent"):
        checked = _task(report, preflight_plays[0], CHECK_TASKS[role])
        assert [list(task["hosts"]) for task in checked] == [["sm-a"]], role
        assert checked[0]["hosts"]["sm-a"]["checked_hosts"] == HOSTS - 1
    ca = _task(report, preflight_plays[-1], "Ensure the collection's CA on the control node")
    assert [list(task["hosts"]) for task in ca] == [["sm-a"]]
    assert os.path.isfile(str(tmp_path / "ca" / "ca.pem"))
    later = _task(report, "later", "wiring and CA in place")
    assert sorted(host for task in later for host in task["hosts"]) == sorted(report["stats"])
    # the preflight reasons about the inventory only: the CA on the control node is its one module execution
    assert counts["total"] == {"tasks": 0, "executions": 0, "delegated": 1}


@pytest.mark.parametrize("host, variables, words", [
    ("dcv-0002", {"dcv_server_desktop": "kde"}, ["host dcv-0002: dcv_server_desktop must be none, gnome or xfce"]),
    ("dcv-0003", {"dcv_agent_tags": {"bad name": {"pool": "a"}}}, ["host dcv-0003: dcv_agent_tags must map file names"]),
    ("dcv-0001", {"dcv_certificate_valid_days": 0}, ["host dcv-0001: dcv_certificate_valid_days is 0"]),
    # no check of its own: the role's argument spec refuses it, for every host of the fleet, before anything changes
    ("dcv-0003", {"dcv_server_start_timeout": "soon"}, ["host dcv-0003:", "dcv_server_start_timeout", "int"]),
])
def test_one_bad_dcv_server_among_many_stops_the_run(tmp_path, host, variables, words):
    """The one-task check of every DCV server names the host and the variable, and no later play runs."""
    fleet, cache = _fleet(tmp_path)
    inventory = yaml.safe_load((fleet / "inventory.yml").read_text())
    inventory["all"]["children"]["dcv_servers"]["hosts"][host].update(variables)
    (fleet / "inventory.yml").write_text(yaml.safe_dump(inventory))
    preflight = tmp_path / "preflight.yml"
    subprocess.run([sys.executable, GENERATE, "preflight", os.path.join(ROOT, "playbooks", "site.yml"), str(preflight)],
                   check=True)
    plays = yaml.safe_load(preflight.read_text())
    plays.append({"name": "later", "hosts": "all", "gather_facts": False,
                  "tasks": [{"name": "must not run", "ansible.builtin.debug": {"msg": "ran"}}]})
    (tmp_path / "site-preflight.yml").write_text(yaml.safe_dump(plays, sort_keys=False))

    code, report, _counts = _playbook(tmp_path, fleet / "inventory.yml", tmp_path / "site-preflight.yml", **cache)

    assert code != 0
    failed = [result["msg"] for play in report["plays"] for task in play["tasks"]
              for result in task["hosts"].values() if result.get("failed")]
    assert len(failed) == 1, failed
    for word in words:
        assert word in failed[0], failed[0]
    assert [play["play"]["name"] for play in report["plays"]] == [plays[0]["name"]]
    assert not os.path.exists(str(tmp_path / "ca" / "ca.pem"))


def test_module_count(tmp_path):
    inventory = tmp_path / "local.ini"
    inventory.write_text("".join("h%d ansible_connection=local ansible_python_interpreter=%s\n" % (i, sys.executable)
                                 for i in (1, 2)))
    in_place = tmp_path / "in-place.conf"
    in_place.write_text("as declared\n")
    playbook = tmp_path / "count.yml"
    playbook.write_text(yaml.safe_dump([{"name": "count", "hosts": "all", "gather_facts": False, "tasks": [
        {"name": "one module", "ansible.builtin.stat": {"path": str(tmp_path)}},
        {"name": "changed", "ansible.builtin.command": "true", "changed_when": True},
        {"name": "two of three items", "ansible.builtin.stat": {"path": "{{ item }}"},
         "loop": [str(tmp_path), str(tmp_path), "skip"], "when": "item != 'skip'"},
        {"name": "skipped", "ansible.builtin.stat": {"path": str(tmp_path)}, "when": False},
        {"name": "controller only", "ansible.builtin.set_fact": {"counted": False}},
        {"name": "delegated", "ansible.builtin.stat": {"path": str(tmp_path)}, "delegate_to": "localhost"},
        {"name": "failed", "ansible.builtin.command": "false", "ignore_errors": True},
        # the files action answers from the read without a module on the host, and says so
        {"name": "read", "dcvkit.session_manager.host_state": {"paths": [str(in_place)]}, "register": "read"},
        {"name": "in place", "dcvkit.session_manager.files": {"host_state": "{{ read }}", "files": [
            {"path": str(in_place), "content": "as declared\n"}]}},
    ]}], sort_keys=False))

    code, _report, counts = _playbook(tmp_path, inventory, playbook)

    assert code == 0
    for host in ("h1", "h2"):
        assert counts["hosts"][host]["names"] == ["one module", "changed", "two of three items",
                                                  "delegated (on localhost)", "read"]
        assert {k: counts["hosts"][host][k] for k in ("tasks", "executions", "delegated")} == \
            {"tasks": 4, "executions": 5, "delegated": 1}


def test_fact_cache_skips_gathering(tmp_path):
    fleet, cache = _fleet(tmp_path)
    playbook = tmp_path / "facts.yml"
    playbook.write_text(yaml.safe_dump([{"name": "facts", "hosts": "all", "gather_facts": True,
                                         "gather_subset": ["min", "network"], "tasks": [
                                             {"name": "platform", "ansible.builtin.debug": {
                                                 "msg": "{{ ansible_facts['distribution'] }} "
                                                        "{{ ansible_facts['distribution_version'] }} "
                                                        "{{ ansible_facts['default_ipv4']['address'] }}"}}]}]))

    code, report, counts = _playbook(tmp_path, fleet / "inventory.yml", playbook, **cache)

    assert code == 0
    # gathering would be a module execution (setup) on every host
    assert counts["total"]["tasks"] == 0
    messages = dict((host, result["msg"]) for task in _task(report, "facts", "platform")
                    for host, result in task["hosts"].items())
    assert messages["sm-a"] == "Amazon 2023 10.20.255.10"
    assert messages["dcv-0001"] == "Ubuntu 22.04 10.20.0.10"
