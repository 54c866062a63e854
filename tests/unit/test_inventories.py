"""The example inventories parse, group the hosts as site.yml expects, and site.yml passes --syntax-check on them."""

import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(*command):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(list(command), cwd=ROOT, env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("inventory", ["inventories/privatelink", "inventories/lab"])
def test_graph_and_syntax_check(inventory):
    graph = _run("ansible-inventory", "-i", inventory, "--graph")
    assert graph.returncode == 0, graph.stderr
    for group in ("@dcv_brokers", "@dcv_gateways", "@dcv_servers"):
        assert group in graph.stdout, graph.stdout
    syntax = _run("ansible-playbook", "-i", inventory, "site.yml", "--syntax-check")
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr


def test_privatelink_reaches_both_hosts_through_one_endpoint_with_a_port_each():
    listing = _run("ansible-inventory", "-i", "inventories/privatelink", "--list")
    assert listing.returncode == 0, listing.stderr
    hostvars = json.loads(listing.stdout)["_meta"]["hostvars"]
    a, b = hostvars["host-a"], hostvars["host-b"]
    assert a["ansible_host"] == b["ansible_host"] and ".vpce.amazonaws.com" in a["ansible_host"]
    assert (a["ansible_port"], b["ansible_port"]) == (50000, 22)
    assert (a["ansible_user"], b["ansible_user"]) == ("ec2-user", "ubuntu")
    assert a["ansible_host"] in a["dcv_gateway_public_names"]
    assert a["dcv_host_addresses"] and b["dcv_host_addresses"]
    assert a["dcv_package_source"] == "control_node"
