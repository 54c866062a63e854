# -*- coding: utf-8 -*-
"""dcv_common's entry points are included by the component roles with rolespec_validate: false, since Ansible's
check of an argument spec costs every host a task per include on every run (on fleet.sh converge 8, the checks of
`packages` and `firewall` cost about a quarter of the run). Their callers are the collection's own roles, so the
check is made here, once, against the same specs: every variable a caller passes is an option of the entry point,
every required option is passed, and a literal value is one of the option's choices."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import pytest
import yaml

from ansible_collections.dcvkit.session_manager.tests.unit.roles.role_playbook import ROLES

with open(os.path.join(ROLES, "dcv_common", "meta", "argument_specs.yml")) as _handle:
    ENTRY_POINTS = yaml.safe_load(_handle)["argument_specs"]


def _includes(tasks):
    for task in tasks or []:
        for key in ("block", "rescue", "always"):
            yield from _includes(task.get(key))
        include = task.get("ansible.builtin.include_role")
        if include and include.get("name") == "dcvkit.session_manager.dcv_common" and include.get("tasks_from"):
            yield task


def _callers():
    found = []
    for path in sorted(glob.glob(os.path.join(ROLES, "*", "tasks", "*.yml"))):
        with open(path) as handle:
            for task in _includes(yaml.safe_load(handle)):
                found.append((os.path.relpath(path, ROLES), task))
    return found


CALLERS = _callers()


def test_the_roles_include_the_entry_points():
    assert set(task["ansible.builtin.include_role"]["tasks_from"] for _path, task in CALLERS) >= {
        "packages", "firewall", "answering_tls"}


@pytest.mark.parametrize("path, task", CALLERS, ids=["%s: %s" % (p, t["name"]) for p, t in CALLERS])
def test_each_caller_passes_what_the_entry_point_takes(path, task):
    entry_point = task["ansible.builtin.include_role"]["tasks_from"]
    assert entry_point in ENTRY_POINTS, "%s includes %s, which has no argument spec" % (path, entry_point)
    options = ENTRY_POINTS[entry_point]["options"]
    passed = task.get("vars") or {}
    assert sorted(set(passed) - set(options)) == [], path
    assert sorted(name for name, spec in options.items() if spec.get("required") and name not in passed) == [], path
    for name, value in passed.items():
        choices = options[name].get("choices")
        if choices and not (isinstance(value, str) and "{{" in value):
            values = value if isinstance(value, list) else [value]
            assert set(values) <= set(choices), (path, name, value)


@pytest.mark.parametrize("path, task", CALLERS, ids=["%s: %s" % (p, t["name"]) for p, t in CALLERS])
def test_the_includes_on_every_run_skip_ansibles_own_check(path, task):
    include = task["ansible.builtin.include_role"]
    if include["tasks_from"] in ("packages", "firewall"):
        assert include.get("rolespec_validate") is False, path
