# -*- coding: utf-8 -*-
"""Runs tasks read from the roles' own files with ansible-playbook on localhost, one play per test case, and
returns every task's result per play: the role tests follow the roles' wording because nothing is copied."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)
ROLES = os.path.join(ROOT, "roles")


def role_tasks(role, file_name, *names):
    """The named tasks of roles/ROLE/tasks/FILE, each with ignore_errors so that every case reports."""
    with open(os.path.join(ROLES, role, "tasks", file_name)) as handle:
        tasks = yaml.safe_load(handle)
    found = [dict(task, ignore_errors=True) for task in tasks if task.get("name") in names]
    assert [task["name"] for task in found] == list(names), "task names changed in roles/%s/tasks/%s" % (role, file_name)
    return found


def run_plays(tmp, plays, hosts, text_replacements=None, every_host=False):
    """{play name: [result of each task on the play's one host]} of one ansible-playbook run over local hosts; with
    every_host, {play name: [{host: result} of each task]} for plays over several hosts."""
    text = yaml.safe_dump(plays, sort_keys=False)
    for old, new in (text_replacements or {}).items():
        text = text.replace(old, new)
    playbook = tmp / "plays.yml"
    playbook.write_text(text)
    inventory = tmp / "inventory.ini"
    inventory.write_text("".join("%s ansible_connection=local ansible_python_interpreter=%s\n" % (host, sys.executable)
                                 for host in hosts))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_LOCAL_TEMP=str(tmp / ".ansible"), ANSIBLE_HOME=str(tmp / ".ansible"),
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    process = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(inventory), str(playbook)], env=env,
                             cwd=str(tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                             timeout=300, check=False)
    try:
        parsed = json.loads(process.stdout)
    except ValueError:
        raise AssertionError(process.stdout[-3000:] + process.stderr[-3000:])
    if every_host:
        return dict((play["play"]["name"], [task["hosts"] for task in play["tasks"]]) for play in parsed["plays"])
    return dict((play["play"]["name"], [list(task["hosts"].values())[0] for task in play["tasks"]])
                for play in parsed["plays"])
