# -*- coding: utf-8 -*-
"""The download paths dcv_common builds match the official file names of the reference (section 7)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import jinja2
import pytest
import yaml

from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_products import product

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "dcv_common")


def _context(facts):
    context = {}
    for part in ("defaults", "vars"):
        with open(os.path.join(ROLE, part, "main.yml")) as handle:
            context.update(yaml.safe_load(handle))
    context["ansible_facts"] = facts
    # the package names are the product catalog's (tests/unit/roles/test_role_products.py renders the role's variable
    # with Ansible and compares it with the catalog); this bare Jinja renders text, so the value is put in directly
    assert context["dcv_common_package_names"] == "{{ '*' | dcvkit.session_manager.dcv_product('package') }}"
    context["dcv_common_package_names"] = product("*", "package")
    return context


def _render(value, context, env, depth=0):
    assert depth < 10
    if isinstance(value, str) and "{{" in value:
        text = env.from_string(value).render(context)
        return _render(text, context, env, depth + 1)
    return value


class _Lazy(dict):
    """Variables that are templates themselves get rendered when looked up (like Ansible's lazy vars)."""

    def __init__(self, data, env):
        super(_Lazy, self).__init__(data)
        self.env = env

    def __getitem__(self, key):
        return _render(dict.__getitem__(self, key), self, self.env)


def _paths(facts):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    context = _Lazy(_context(facts), env)
    files = context["dcv_common_download_files"][facts["os_family"]]
    result = dict((k, _render(v, context, env).strip()) for k, v in files.items())
    result["server"] = context["dcv_common_server_bundle"].strip()
    return result


AL2023 = {"os_family": "RedHat", "distribution": "Amazon", "distribution_major_version": "2023", "architecture": "x86_64"}
JAMMY = {"os_family": "Debian", "distribution": "Ubuntu", "distribution_major_version": "22", "architecture": "x86_64"}
EL9_ARM = {"os_family": "RedHat", "distribution": "RedHat", "distribution_major_version": "9", "architecture": "aarch64"}


@pytest.mark.parametrize("facts,component,expected", [
    (AL2023, "broker", "2025.0/SessionManagerBrokers/nice-dcv-session-manager-broker-2025.0.539-1.amzn2023.noarch.rpm"),
    (AL2023, "agent", "2025.0/SessionManagerAgents/nice-dcv-session-manager-agent-2025.0.886-1.amzn2023.x86_64.rpm"),
    (AL2023, "gateway", "2025.0/Gateway/nice-dcv-connection-gateway-2025.0.870.amzn2023.x86_64.rpm"),
    (JAMMY, "broker", "2025.0/SessionManagerBrokers/nice-dcv-session-manager-broker_2025.0.539-1_all.ubuntu2204.deb"),
    (JAMMY, "agent", "2025.0/SessionManagerAgents/nice-dcv-session-manager-agent_2025.0.886-1_amd64.ubuntu2204.deb"),
    (JAMMY, "gateway", "2025.0/Gateway/nice-dcv-connection-gateway_2025.0.870_amd64.ubuntu2204.deb"),
    (JAMMY, "server", "2025.0/Servers/nice-dcv-2025.0-20103-ubuntu2204-x86_64.tgz"),
    (EL9_ARM, "agent", "2025.0/SessionManagerAgents/nice-dcv-session-manager-agent-2025.0.886-1.el9.aarch64.rpm"),
    (EL9_ARM, "server", "2025.0/Servers/nice-dcv-2025.0-20103-el9-aarch64.tgz"),
])
def test_official_download_paths(facts, component, expected):
    assert _paths(facts)[component] == expected


@pytest.mark.parametrize("facts", [AL2023, JAMMY, EL9_ARM], ids=["al2023", "jammy", "el9-arm"])
def test_control_node_patterns_find_the_official_file_names(tmp_path, facts):
    """A dcv_package_dir holding the official files (as the download would leave them) matches one file per
    package with the patterns of dcv_common_package_patterns, and the version in each name is read back."""
    from ansible_collections.dcvkit.session_manager.plugins.filter.packages import (
        dcv_package_file_version, dcv_package_files_in)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    context = _Lazy(_context(facts), env)
    names = context["dcv_common_package_names"]
    patterns = [_render(p, context, env) for p in context["dcv_common_package_patterns"][facts["os_family"]]]
    paths = _paths(facts)
    components = [c for c in paths if c != "server"]
    for component in components:
        (tmp_path / os.path.basename(paths[component])).write_text("x")
    found = dcv_package_files_in(str(tmp_path), components, names, patterns)
    for component in components:
        assert [os.path.basename(p) for p in found[component]] == [os.path.basename(paths[component])], component
        assert dcv_package_file_version(found[component][0], names[component], facts["os_family"])
