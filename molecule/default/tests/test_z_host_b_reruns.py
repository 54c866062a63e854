# -*- coding: utf-8 -*-
"""Host B (DCV server + agent) converged again with other input, after the host-A tests: the former server_agent
scenario's re-runs, on this scenario's host B. Bad input (the agent's and the DCV server's, and an inventory
without a broker) is refused in the preflight with both hosts unchanged; a setting restarts only its service; back
to the inventory, a mode fix restarts nothing, and new content in several files restarts each service once.

The bad-input runs are site.yml against both hosts, as the former scenario ran them; the other re-runs are site.yml
limited to host B (conftest.py's role_reruns_on_host_b), but for the two whose assertion reads host A's line of the
PLAY RECAP (role_reruns_on_both_hosts). Every host's facts come from the cache conftest.py fills once."""

import functools
import os
import re

import pytest
import yaml

import dcvtest
import stack

testinfra_hosts = ["podman://" + stack.B_NAME]
pytestmark = pytest.mark.usefixtures("role_reruns_on_host_b")

A, B = stack.A_NAME, stack.B_NAME
SERVER = "dcvserver"
AGENT = "dcv-session-manager-agent"


BAD_INPUTS = [
    ({"dcv_agent_tls_strict": False}, ["dcv_agent_tls_strict", "dcv_allow_insecure_tls"]),
    ({"dcv_agent_broker_host": "elsewhere.dcvkit.test"}, ["dcv_agent_broker_host", "elsewhere.dcvkit.test"]),
    ({"dcv_server_web_port": 70000}, ["dcv_server_web_port", "70000"]),
    ({"dcv_server_extra_settings": {"security": {"auth-token-verifier": "x"}}}, ["dcv_server_extra_settings", "auth-token-verifier"]),
    ({"dcv_agent_extra_settings": {"agent": {"tls_strict": False}}}, ["dcv_agent_extra_settings", "tls_strict"]),
    # nothing for the broker to map to host B's name (dcv_server_dns_mappings)
    ({"dcv_host_addresses": []}, ["dcv_host_addresses is empty", "dcv_server_dns_mappings: false"]),
]


def _state():
    """Managed files on both hosts and the start times of host B's units."""
    hosts = [dcvtest.host(A), dcvtest.host(B)]
    return [dcvtest.snapshot(h) for h in hosts] + [dcvtest.started_at(hosts[1], s) for s in (SERVER, AGENT)]


def _assert_refused(rc, output, named):
    assert rc != 0, output[-3000:]
    for word in named:
        assert word in output, (word, output[-3000:])
    # the failure came from a preflight play: no play that changes hosts started
    plays = re.findall(r"^PLAY \[(.*?)\]", output, re.M)
    assert plays and all(play.startswith("Preflight") for play in plays), plays


@pytest.fixture(scope="module")
def bad_input_runs():
    """Every bad input run at once (site.yml against both hosts: limit=None), with the state of both hosts before and
    after."""
    before = _state()
    results = dcvtest.run_concurrently([functools.partial(dcvtest.run_playbook, extra, limit=None)
                                        for extra, _named in BAD_INPUTS])
    return results, before, _state()


@pytest.mark.parametrize("index", range(len(BAD_INPUTS)), ids=[str(sorted(b[0].items()))[:60] for b in BAD_INPUTS])
def test_bad_input_fails_in_preflight(bad_input_runs, index):
    rc, output = bad_input_runs[0][index]
    _assert_refused(rc, output, BAD_INPUTS[index][1])


def test_bad_inputs_changed_nothing(bad_input_runs):
    _results, before, after = bad_input_runs
    assert after == before


def test_agent_without_broker_in_inventory_refused(tmp_path):
    # host B alone, in dcv_servers, and no dcv_brokers group: the wiring must refuse before anything changes
    inventory = tmp_path / "no-broker.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3",
                 "dcv_package_source": "control_node",
                 "dcv_package_dir": os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "build", "standins"),
                 "dcv_ca_path": str(tmp_path / "ca"),
                 "dcv_allow_unsupported_platform": "{{ ansible_facts['distribution'] == 'Debian' }}"},
        "children": {"dcv_servers": {"hosts": {B: {}}}}}}))
    before = _state()
    rc, output = dcvtest.run_playbook(inventory=str(inventory))
    _assert_refused(rc, output, ["group dcv_brokers is empty", "add the broker host(s) to dcv_brokers"])
    assert _state() == before


def test_changing_a_dcv_conf_setting_restarts_only_dcvserver(host):
    server, agent = dcvtest.started_at(host, SERVER), dcvtest.started_at(host, AGENT)
    rc, output = dcvtest.run_playbook({"dcv_server_administrators": ["ops"]})
    assert rc == 0, output[-3000:]
    assert 'administrators=["dcvsmagent", "ops"]' in host.file("/etc/dcv/dcv.conf").content_string
    assert dcvtest.started_at(host, SERVER) != server
    assert dcvtest.started_at(host, AGENT) == agent


def test_changing_an_agent_setting_restarts_only_the_agent(host):
    server, agent = dcvtest.started_at(host, SERVER), dcvtest.started_at(host, AGENT)
    rc, output = dcvtest.run_playbook({"dcv_server_administrators": ["ops"], "dcv_agent_log_level": "debug"})
    assert rc == 0, output[-3000:]
    assert 'level = "debug"' in host.file("/etc/dcv-session-manager-agent/agent.conf").content_string
    assert dcvtest.started_at(host, AGENT) != agent
    assert dcvtest.started_at(host, SERVER) == server


@pytest.mark.usefixtures("role_reruns_on_both_hosts")
def test_back_to_the_inventory_and_idempotent():
    # both hosts: the host-A tests before this module left host A with their own last input, which this run puts
    # back, and the second run's recap covers host A too
    dcvtest.assert_back_to_the_inventory_and_quiet()


# After test_back_to_the_inventory_and_idempotent: both hosts are as the inventory has them (these tests take no host
# fixture: pytest runs the tests with one first, which would put these before that test). A restart ends what a
# service carries (the DCV server's sessions), so only new content restarts, never a mode fix. Each file here
# is read by its service only when it starts. {the task that owns the files: {path: (a wrong mode, the mode the role
# sets)}}: one change per task, however many of its files it fixes
MODE_FIXES = {
    "Set the settings the role owns in dcv.conf (root-owned, world-readable; the server reads it as dcv)": {
        "/etc/dcv/dcv.conf": ("0600", 0o644)},
    "Issue the server's TLS identity /etc/dcv/dcv.pem + dcv.key (names the gateway uses)": {
        "/etc/dcv/dcv.key": ("0640", 0o600)},
    "Install agent.conf and the tags files (and remove the tags files the inventory no longer lists)": {
        "/etc/dcv-session-manager-agent/agent.conf": ("0644", 0o640),
        "/etc/dcv-session-manager-agent/tags/placement.toml": ("0644", 0o640)},
    "Install the collection's CA certificate (the agent trusts the broker through it)": {
        "/etc/dcv-session-manager-agent/ca.pem": ("0600", 0o644)},
}


@pytest.mark.usefixtures("role_reruns_on_both_hosts")
def test_a_mode_fix_alone_restarts_neither_service():
    # both hosts: the assertion reads host A's line of the recap (no change there)
    dcvtest.assert_mode_fixes_restart_nothing(dcvtest.host(B), B, MODE_FIXES, (SERVER, AGENT), other_hosts=(A,))


def test_new_content_in_several_files_restarts_each_service_once():
    host = dcvtest.host(B)
    # DCV server: dcv.conf and its CA file; agent: agent.conf and its tags file
    host.check_output("echo 'not the CA' > /etc/dcv/ca.pem")
    dcvtest.assert_each_service_restarts_once(
        host, {"dcv_server_administrators": ["ops"], "dcv_agent_log_level": "debug",
               "dcv_agent_tags": {"placement": {"pool": "other"}}},
        {SERVER: ("dcv_server", "Restart the DCV server"), AGENT: ("dcv_agent", "Restart the agent")})
    assert host.file("/etc/dcv/ca.pem").content_string.startswith("-----BEGIN CERTIFICATE-----")
    assert 'pool = "other"' in host.file("/etc/dcv-session-manager-agent/tags/placement.toml").content_string
