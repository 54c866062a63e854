# -*- coding: utf-8 -*-
"""Every statement of the minimum ansible-core says what meta/runtime.yml says, and the pinned toolchain CI tests
with satisfies it."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _read(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return handle.read()


def _version(text):
    return tuple(int(part) for part in text.split("."))


def _minimum():
    requires = yaml.safe_load(_read("meta", "runtime.yml"))["requires_ansible"]
    match = re.match(r"^>=(\d+\.\d+)(?:\.0)?$", requires)
    assert match, "requires_ansible %r is not a plain lower bound" % requires
    return match.group(1)


def _requirement(file_name):
    lines = [line.strip() for line in _read(file_name).splitlines() if line.strip().startswith("ansible-core")]
    assert len(lines) == 1, file_name
    return lines[0][len("ansible-core"):]


def test_roles_state_the_collection_minimum():
    minimum = _minimum()
    roles = os.path.join(ROOT, "roles")
    stated = dict((role, str(yaml.safe_load(_read("roles", role, "meta", "main.yml"))["galaxy_info"]["min_ansible_version"]))
                  for role in sorted(os.listdir(roles)) if os.path.isfile(os.path.join(roles, role, "meta", "main.yml")))
    assert stated and set(stated.values()) == {minimum}, stated


def test_control_node_requirements_state_the_collection_minimum():
    assert _requirement("requirements.txt") == ">=%s" % _minimum()


def test_pinned_toolchain_satisfies_the_minimum():
    pinned = _requirement("requirements-dev.txt")
    assert pinned.startswith("==")
    assert _version(pinned[2:])[:2] >= _version(_minimum())


def test_readme_states_the_minimum_and_the_tested_version():
    readme = " ".join(_read("README.md").split())
    assert "`ansible-core` %s or later" % _minimum() in readme
    assert _requirement("requirements-dev.txt")[2:] in readme
