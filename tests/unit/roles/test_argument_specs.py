# -*- coding: utf-8 -*-
"""Each role's meta/argument_specs.yml (main entry point) lists exactly the variables of defaults/main.yml,
and every variable is listed in the role's README."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

ROLES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles")
ROLES = sorted(r for r in os.listdir(ROLES_DIR) if os.path.isfile(os.path.join(ROLES_DIR, r, "defaults", "main.yml")))


def _load(role, *parts):
    with open(os.path.join(ROLES_DIR, role, *parts)) as handle:
        return yaml.safe_load(handle) or {}


def test_all_roles_found():
    assert {"dcv_common", "dcv_broker", "dcv_gateway", "dcv_server", "dcv_agent"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_in_lockstep_with_defaults(role):
    defaults = set(_load(role, "defaults", "main.yml"))
    options = set(_load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"])
    assert sorted(defaults - options) == [], "in defaults but not in argument_specs"
    assert sorted(options - defaults) == [], "in argument_specs but not in defaults"


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_equal_defaults(role):
    defaults = _load(role, "defaults", "main.yml")
    options = _load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    for name, spec in options.items():
        if "default" in spec:
            assert spec["default"] == defaults[name], name


@pytest.mark.parametrize("role", ROLES)
def test_variables_are_role_prefixed(role):
    prefix = "dcv_" if role == "dcv_common" else role + "_"
    for name in _load(role, "defaults", "main.yml"):
        assert name.startswith(prefix), name


@pytest.mark.parametrize("role", ROLES)
def test_readme_lists_every_variable(role):
    path = os.path.join(ROLES_DIR, role, "README.md")
    assert os.path.isfile(path), "roles/%s/README.md is missing" % role
    with open(path) as handle:
        text = handle.read()
    missing = [name for name in _load(role, "defaults", "main.yml") if "`%s`" % name not in text]
    assert missing == []
