# -*- coding: utf-8 -*-
"""Host A on the Amazon Linux 2023 stand-in: firewalld holds exactly the ports of the broker and the gateway, and a
run on a converged host hands no package to dnf (the gateway's official file name carries no release)."""

import re

import pytest

import dcvtest
from broker_gateway_host import A

testinfra_hosts = ["podman://" + A]

# broker client (8448: the gateway shares the host), agent and resolver ports; gateway web and health-check ports
# (gw-admin "Scaling the Amazon DCV Connection Gateway": the load balancer probes the [health-check] port)
EXPECTED_PORTS = {"8448/tcp", "8445/tcp", "8447/tcp", "8443/tcp", "8989/tcp"}


def _task_output(output, task):
    """The lines the default callback printed for one task (up to the next TASK, RUNNING HANDLER or PLAY)."""
    blocks = re.findall(r"^TASK \[[^\]]*%s\][^\n]*\n(.*?)(?=^(?:TASK|RUNNING HANDLER|PLAY)\b)" % re.escape(task),
                        output, re.S | re.M)
    return "".join(blocks)


@pytest.fixture(scope="module")
def rerun():
    return dcvtest.run_playbook()


def test_rerun_changes_nothing_and_hands_no_package_to_dnf(rerun):
    rc, output = rerun
    assert rc == 0, output[-3000:]
    recap = output.rsplit("PLAY RECAP", 1)[1]
    assert "changed=0" in recap and "failed=0" in recap, recap
    # every package, the gateway's included, is seen as installed in its file's version: nothing is copied or
    # handed to dnf again (a gateway read as 2025.0.870.amzn2023 against rpm's 2025.0.870-1.amzn2023 would be)
    assert "ok:" in _task_output(output, "Choose the package files that are not installed in their version yet")
    for task in ("Copy the package files to the host", "Install the package files (RedHat family)"):
        lines = _task_output(output, task)
        assert "ok:" not in lines and "changed:" not in lines, (task, lines)


def test_firewalld_is_active(host):
    assert host.service("firewalld").is_running


@pytest.mark.parametrize("permanent", [False, True], ids=["runtime", "permanent"])
def test_firewalld_opens_exactly_the_component_ports(host, permanent):
    ports = host.check_output("firewall-cmd %s--list-ports" % ("--permanent " if permanent else "")).split()
    assert sorted(ports) == sorted(EXPECTED_PORTS)
