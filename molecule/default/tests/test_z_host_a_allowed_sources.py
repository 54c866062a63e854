# -*- coding: utf-8 -*-
"""Who may reach the gateway, with firewalld active on host A (the Amazon Linux 2023 stand-in):
dcv_gateway_allowed_sources turns the open web port into rich rules for those networks in the default zone, the
health-check port follows its own sources, a client outside the sources (this control node, on the scenario's
network) cannot connect while one inside can, rules of sources no longer listed go, and an empty list opens the port
to anyone again. Each step runs converge.yml (site.yml) again, limited to host A (conftest.py), with other
variables; the last one restores the scenario's defaults, whatever the assertions say. It runs after test_stack.py,
whose tests reach the gateway from host B."""

import pytest

import dcvtest
from allowed_sources import ELSEWHERE, HEALTH, WEB, connects, converge_steps, health, recap, status_code
from broker_gateway_host import A

testinfra_hosts = ["podman://" + A]


def _rule(family, network, port):
    return 'rule family="%s" source address="%s" port port="%d" protocol="tcp" accept' % (family, network, port)


def _firewalld(target):
    """{runtime|permanent: (open ports, rich rules)} of the default zone."""
    state = {}
    for name, flag in (("runtime", ""), ("permanent", "--permanent ")):
        ports = set(target.check_output("firewall-cmd %s--list-ports" % flag).split())
        rules = set(line.strip() for line in target.check_output("firewall-cmd %s--list-rich-rules" % flag)
                    .splitlines() if line.strip())
        state[name] = (ports, rules)
    return state


def _observe(target, address):
    """What a converge left: its result, firewalld's state, and what this control node reaches."""
    def observe(rc, output):
        return {"rc": rc, "output": output, "recap": recap(output), "firewalld": _firewalld(target),
                "web": connects(address, WEB), "health": health(address)}
    return observe


@pytest.fixture(scope="module")
def addresses(host):
    """The gateway host's address on the scenario's network, and this control node's there (its default route)."""
    gateway = host.check_output("ip -4 route show default").split()[2]
    own = host.check_output("ip -4 -o route get %s" % gateway).split("src")[1].split()[0]
    return own, gateway


@pytest.fixture(scope="module")
def steps(host, addresses):
    address, control_node = addresses
    inside = ["%s/32" % control_node]
    # 1. the web port for networks that exclude this control node; the health check open to anyone
    elsewhere = {"dcv_gateway_allowed_sources": ELSEWHERE, "dcv_gateway_health_check_sources": []}
    # 2. this control node only, for both ports (the health-check sources follow the allowed sources)
    # 3. anyone again: the scenario's defaults, whatever happened (test_z_host_a_firewall.py's rerun then proves them
    #    converged)
    seen = converge_steps([("elsewhere", elsewhere, False), ("elsewhere again", elsewhere, False),
                           ("inside, check mode", {"dcv_gateway_allowed_sources": inside}, True),
                           ("inside", {"dcv_gateway_allowed_sources": inside}, False)],
                          _observe(host, address), final="anyone")
    seen["inside rules"] = [_rule("ipv4", inside[0], WEB), _rule("ipv4", inside[0], HEALTH)]
    return seen


@pytest.mark.parametrize("step", ["elsewhere", "inside", "anyone"])
def test_each_step_converges(steps, step):
    assert steps[step]["rc"] == 0, steps[step]["output"][-3000:]
    assert "failed=0" in steps[step]["recap"], steps[step]["recap"]


@pytest.mark.parametrize("step", ["elsewhere again", "inside, check mode"])
def test_a_repeated_step_and_check_mode_before_a_change_are_exact(steps, step):
    recap = steps[step]["recap"]
    assert steps[step]["rc"] == 0 and "failed=0" in recap, steps[step]["output"][-3000:]
    if step.endswith("again"):
        assert "changed=0" in recap, recap
    else:
        # check mode says what would change, and changes nothing: the rules of step 1 are still there
        assert "changed=0" not in recap, recap
        assert steps[step]["firewalld"] == steps["elsewhere again"]["firewalld"]


@pytest.mark.parametrize("half", ["runtime", "permanent"])
def test_sources_replace_the_open_web_port_with_rich_rules(steps, half):
    ports, rules = steps["elsewhere"]["firewalld"][half]
    assert rules == {_rule("ipv4", ELSEWHERE[0], WEB), _rule("ipv6", ELSEWHERE[1], WEB)}
    assert "%d/tcp" % WEB not in ports
    # the health-check port stays open to anyone (dcv_gateway_health_check_sources: []), the broker's ports too
    assert {"%d/tcp" % HEALTH, "8448/tcp", "8445/tcp", "8447/tcp"} <= ports


def test_a_client_outside_the_sources_cannot_reach_the_web_port_but_the_health_check(steps):
    assert steps["elsewhere"]["web"] is False
    assert status_code(steps["elsewhere"]["health"]) == "200", steps["elsewhere"]["health"]


@pytest.mark.parametrize("half", ["runtime", "permanent"])
def test_a_changed_list_leaves_no_stale_rule_and_the_health_check_follows(steps, half):
    ports, rules = steps["inside"]["firewalld"][half]
    assert rules == set(steps["inside rules"])
    assert "%d/tcp" % WEB not in ports and "%d/tcp" % HEALTH not in ports


def test_a_client_inside_the_sources_reaches_both_ports(steps):
    assert steps["inside"]["web"] is True
    assert status_code(steps["inside"]["health"]) == "200", steps["inside"]["health"]


@pytest.mark.parametrize("half", ["runtime", "permanent"])
def test_an_empty_list_opens_the_ports_to_anyone_again(steps, half):
    ports, rules = steps["anyone"]["firewalld"][half]
    assert rules == set()
    assert {"%d/tcp" % WEB, "%d/tcp" % HEALTH} <= ports
    assert steps["anyone"]["web"] is True


def test_the_gateway_still_serves_tls_on_the_host(host):
    result = dcvtest.tls_probe(host, WEB, "desktops.dcvkit.test", "/etc/dcv-connection-gateway/certs/ca.pem")
    assert result.rc == 0 and "verified" in result.stdout, result.stderr
