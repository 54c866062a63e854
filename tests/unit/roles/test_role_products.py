# -*- coding: utf-8 -*-
"""The product facts (package, unit, user, paths) are written once, in module_utils/dcv_products: the roles' and the
playbooks' variables for them read the catalog through the dcv_product filter, and hold no copy of their own."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.dcvkit.session_manager.plugins.filter.products import dcv_product
from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_products import PORTS, PRODUCTS, product
from ansible_collections.dcvkit.session_manager.tests.unit.roles.role_playbook import ROLES, ROOT, run_plays

HOST = "testhost"

# (role, variable, component, fact, suffix): each role variable that is a product fact, and what the catalog says
ROLE_FACTS = [
    ("dcv_broker", "dcv_broker_config_dir", "broker", "config_dir", ""),
    ("dcv_broker", "dcv_broker_config_file", "broker", "config_file", ""),
    ("dcv_broker", "dcv_broker_tls_dir", "broker", "tls_dir", ""),
    ("dcv_broker", "dcv_broker_service", "broker", "unit", ""),
    ("dcv_broker", "dcv_broker_user", "broker", "user", ""),
    ("dcv_gateway", "dcv_gateway_config_dir", "gateway", "config_dir", ""),
    ("dcv_gateway", "dcv_gateway_config_file", "gateway", "config_file", ""),
    ("dcv_gateway", "dcv_gateway_certs_dir", "gateway", "certs_dir", ""),
    ("dcv_gateway", "dcv_gateway_service", "gateway", "unit", ""),
    ("dcv_gateway", "dcv_gateway_user", "gateway", "user", ""),
    ("dcv_agent", "dcv_agent_conf", "agent", "config_file", ""),
    ("dcv_agent", "dcv_agent_log_file", "agent", "log_file", ""),
    ("dcv_agent", "dcv_agent_user", "agent", "user", ""),
    ("dcv_agent", "dcv_agent_ca_file", "agent", "config_dir", "/ca.pem"),
    ("dcv_agent", "dcv_agent_service", "agent", "unit", ""),
    ("dcv_server", "dcv_server_conf", "server", "config_file", ""),
    ("dcv_server", "dcv_server_service", "server", "unit", ""),
    ("dcv_server", "dcv_server_user", "server", "user", ""),
]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Each role's product variables as Ansible renders them from the role's own vars files."""
    tmp = tmp_path_factory.mktemp("products")
    plays = []
    for role in sorted(set(case[0] for case in ROLE_FACTS)):
        names = [case[1] for case in ROLE_FACTS if case[0] == role]
        plays.append({"name": role, "hosts": HOST, "gather_facts": False,
                      "vars_files": [os.path.join(ROLES, "dcv_common", "vars", "main.yml"),
                                     os.path.join(ROLES, role, "vars", "main.yml")],
                      "tasks": [{"name": "facts", "ansible.builtin.debug": {
                          "msg": dict((name, "{{ %s }}" % name) for name in names)}}]})
    plays.append({"name": "dcv_common", "hosts": HOST, "gather_facts": False,
                  "vars_files": [os.path.join(ROLES, "dcv_common", "vars", "main.yml")],
                  "tasks": [{"name": "packages", "ansible.builtin.debug": {"var": "dcv_common_package_names"}}]})
    return run_plays(tmp, plays, [HOST])


@pytest.mark.parametrize("case", ROLE_FACTS, ids=[case[1] for case in ROLE_FACTS])
def test_each_role_variable_is_the_catalogs_fact(rendered, case):
    role, variable, component, fact, suffix = case
    assert rendered[role][0]["msg"][variable] == PRODUCTS[component][fact] + suffix


def test_the_package_names_are_the_catalogs(rendered):
    assert rendered["dcv_common"][0]["dcv_common_package_names"] == dict(
        (component, facts["package"]) for component, facts in PRODUCTS.items())


def _settings():
    """(file, line) of every line of the roles and playbooks that sets something: comments and task names are prose."""
    patterns = ("roles/*/vars/*.yml", "roles/*/defaults/*.yml", "roles/*/tasks/*.yml", "roles/*/templates/*",
                "roles/*/handlers/*.yml", "playbooks/*.yml")
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            with open(path) as handle:
                for line in handle:
                    words = line.strip()
                    if not words.startswith(("#", "- name:", "name:")):
                        yield os.path.relpath(path, ROOT), words


def test_no_role_or_playbook_writes_a_product_path_of_its_own():
    # package names also appear in the official download file names (dcv_common's download patterns), another fact
    paths = set(value for facts in PRODUCTS.values() for name, value in facts.items() if name.endswith(("_dir", "_file")))
    found = [(path, line) for path, line in _settings() if any(fact in line for fact in paths)]
    assert found == []


def test_product_gives_copies_and_names_what_it_knows():
    facts = product("broker")
    facts["unit"] = "changed"
    assert PRODUCTS["broker"]["unit"] == "dcv-session-manager-broker"
    assert product("*", "log_file") == {"agent": "/var/log/dcv-session-manager-agent/agent.log"}
    with pytest.raises(KeyError, match="no DCV component 'brokr' .known: agent, broker, gateway"):
        product("brokr")
    with pytest.raises(AnsibleFilterError, match="the gateway has no 'tls_dir' .known: certs_dir, config_dir"):
        dcv_product("gateway", "tls_dir")


def test_every_port_variable_names_a_component_of_the_catalog_and_the_setting_that_carries_it():
    assert len(set(port[0] for port in PORTS)) == len(PORTS)
    for variable, component, _label, default, key in PORTS:
        assert variable.startswith("dcv_%s_" % component) and component in PRODUCTS
        assert isinstance(default, int) and key
