# -*- coding: utf-8 -*-
"""playbooks/session.yml refuses bad CreateSessions options (sm-dev "CreateSessions") before it registers its API
client, naming the playbook's variables; the filter converts values as the session module does."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.dcvkit.session_manager.plugins.filter.session_request import dcv_session_create_problems

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
BIN = os.path.dirname(sys.executable)
NAMES = {"max_concurrents": "dcv_session_max_concurrents", "init_file": "dcv_session_init_file",
         "autorun_file": "dcv_session_autorun_file", "autorun_file_arguments": "dcv_session_autorun_file_arguments",
         "permissions": "dcv_session_permissions_file", "dcv_gl_enabled": "dcv_session_dcv_gl_enabled",
         "enqueue_request": "dcv_session_enqueue_request", "storage_root": "dcv_session_storage_root"}
NOTHING = {"max_concurrents": "", "init_file": "", "autorun_file": "", "autorun_file_arguments": [],
           "permissions": "", "dcv_gl_enabled": "", "enqueue_request": "", "storage_root": ""}


def problems(session_type, **given):
    return dcv_session_create_problems(session_type, dict(NOTHING, **given), NAMES)


def test_nothing_given_is_fine():
    assert problems("console") == [] and problems("virtual") == []


def test_values_from_the_command_line_are_converted_like_the_module_does():
    # -e key=value gives strings: "2" is a number, "true" a boolean, as AnsibleModule converts them
    assert problems("virtual", max_concurrents="2", dcv_gl_enabled="true", enqueue_request="no",
                    init_file="init.sh", autorun_file="app.sh", autorun_file_arguments=["-a"],
                    permissions="[permissions]\n", storage_root="/srv/storage") == []


@pytest.mark.parametrize("session_type, given, words", [
    ("virtual", dict(max_concurrents="two"), "dcv_session_max_concurrents is 'two': it must be a whole number"),
    ("virtual", dict(max_concurrents="0"), "dcv_session_max_concurrents is 0: the maximum number of concurrent "
                                           "clients (CreateSessions MaxConcurrents) must be between 1 and 100"),
    ("virtual", dict(dcv_gl_enabled="maybe"), "dcv_session_dcv_gl_enabled is 'maybe': it must be true or false"),
    ("console", dict(init_file="init.sh"), "dcv_session_init_file (CreateSessions InitFile) is supported with "
                                           "virtual sessions only"),
    ("console", dict(dcv_gl_enabled=True), "dcv_session_dcv_gl_enabled (CreateSessions DcvGlEnabled)"),
    ("virtual", dict(autorun_file_arguments=["-x"]), "dcv_session_autorun_file_arguments are the arguments of the "
                                                     "AutorunFile: set dcv_session_autorun_file too"),
])
def test_bad_options_name_the_playbook_variable(session_type, given, words):
    found = problems(session_type, **given)
    assert len(found) == 1 and words in found[0], found


def test_session_playbook_refuses_before_the_api_client_is_registered(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "children": {"dcv_brokers": {"hosts": {"localhost": {"dcv_gateway_public_names": ["localhost"]}}},
                     "dcv_gateways": {"hosts": {"localhost": {}}}}}}))
    credentials = tmp_path / "api-client.json"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / ".ansible"), ANSIBLE_HOME=str(tmp_path / ".ansible"),
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    done = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(inventory),
                           os.path.join(ROOT, "playbooks", "session.yml"), "-e", "dcv_session_owner=carol",
                           "-e", "dcv_session_type=console", "-e", "dcv_session_init_file=init.sh",
                           "-e", "dcv_session_credentials_file=%s" % credentials],
                          env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300, check=False)
    assert done.returncode != 0
    tasks = json.loads(done.stdout)["plays"][0]["tasks"]
    failed = [task for task in tasks if task["hosts"]["localhost"].get("failed")]
    assert [task["task"]["name"] for task in failed] == [
        'Check the CreateSessions options before anything changes (sm-dev "CreateSessions")']
    assert "dcv_session_init_file (CreateSessions InitFile) is supported with virtual sessions only" in \
        failed[0]["hosts"]["localhost"]["msg"]
    assert not credentials.exists()
    assert all(task["task"]["name"] != "Register the automation API client once (its secret stays root-only on "
               "this host)" for task in tasks)
