# -*- coding: utf-8 -*-
"""Who may reach the gateway, with ufw active on host A (Debian 12): dcv_gateway_allowed_sources turns the web port
opened to anyone into ufw rules "allow from CIDR to any port 8443 proto tcp" (and udp with QUIC on), the health-check
port follows dcv_gateway_health_check_sources, and the outside client (broker_gateway-client, a second container on
the scenario's network, in no dcv_* group) cannot connect while it is outside the sources and completes a TLS
handshake against the scenario's CA once its address is listed; rules of sources no longer listed go, a repeated run
changes nothing, and [] opens the ports to anyone again. Each step runs converge.yml again with other variables; the
last one restores the scenario's defaults, whatever the assertions say."""

import os
import subprocess

import pytest

import dcvtest
from allowed_sources import ELSEWHERE, HEALTH, WEB, converge_steps, health, probe, recap, status_code
from broker_gateway_host import A, CLIENT, PUBLIC_NAME

testinfra_hosts = ["podman://" + A]

# the broker's ports: open to anyone whatever the gateway's sources are
BROKER_RULES = {"allow 8448/tcp", "allow 8445/tcp", "allow 8447/tcp"}
# where the scenario's CA certificate is copied to on the client
CLIENT_CA = "/root/dcvkit-scenario-ca.pem"


def _source_rule(network, port, proto="tcp"):
    """A source rule as `ufw show added` prints it (a single address without its /32 or /128)."""
    address = network[:-3] if network.endswith("/32") else network[:-4] if network.endswith("/128") else network
    return "allow from %s to any port %d proto %s comment 'dcvkit.session_manager allowed source'" % (
        address, port, proto)


def _open_rule(port):
    return "allow %d/tcp" % port


@pytest.fixture(scope="module")
def scenario_ca(client):
    """The scenario's CA certificate (dcv_ca_path on the control node), copied to the client."""
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "dcv-ca", "ca.pem")
    subprocess.run(["podman", "cp", path, "%s:%s" % (CLIENT, CLIENT_CA)], check=True)
    return CLIENT_CA


@pytest.fixture(scope="module")
def steps(host, client, client_addresses, scenario_ca, ufw):
    gateway, own = client_addresses
    inside = ["%s/32" % own]

    def observe(rc, output):
        # the TLS handshake the client's browser would do: to the gateway's public name, strict, against the CA
        tls = dcvtest.tls_probe(client, WEB, PUBLIC_NAME, scenario_ca, address=PUBLIC_NAME)
        return {"rc": rc, "output": output, "recap": recap(output), "ufw": ufw(host),
                "web": probe(gateway, WEB, client), "tls": (tls.rc, (tls.stdout + tls.stderr).strip()),
                "health": health(gateway, client), "broker": probe(gateway, 8448, client)}

    # 1. the web port for networks that exclude the client; the health-check port follows them (its default)
    elsewhere = {"dcv_gateway_allowed_sources": ELSEWHERE}
    # 2. the client's address only for the web port, TCP and QUIC's UDP (the stand-in gateway does not listen on UDP:
    #    only the rule is checked); the health-check port open to anyone
    inside_only = {"dcv_gateway_allowed_sources": inside, "dcv_gateway_health_check_sources": [],
                   "dcv_gateway_quic_enabled": True}
    # 3. the scenario's defaults (anyone, QUIC off), whatever happened
    seen = converge_steps([("elsewhere", elsewhere, False), ("elsewhere again", elsewhere, False),
                           ("inside", inside_only, False), ("inside again", inside_only, False)],
                          observe, final="anyone")
    seen["inside network"] = inside[0]
    return seen


@pytest.mark.parametrize("step", ["elsewhere", "elsewhere again", "inside", "inside again", "anyone"])
def test_each_step_converges(steps, step):
    assert steps[step]["rc"] == 0, steps[step]["output"][-3000:]
    assert "failed=0" in steps[step]["recap"], steps[step]["recap"]


@pytest.mark.parametrize("step", ["elsewhere", "inside"])
def test_a_repeated_step_changes_nothing(steps, step):
    # networks and IPv6 (elsewhere); a single address, which ufw prints without its /32, and UDP (inside)
    again = steps[step + " again"]
    assert "changed=0" in again["recap"], again["recap"]
    assert again["ufw"] == steps[step]["ufw"]


def test_sources_replace_the_rules_that_opened_the_ports_to_anyone(steps):
    # web and health-check ports: one rule per network, IPv4 and IPv6; the broker's ports stay open to anyone
    assert steps["elsewhere"]["ufw"] == BROKER_RULES | set(
        _source_rule(network, port) for network in ELSEWHERE for port in (WEB, HEALTH))


def test_a_client_outside_the_sources_reaches_neither_gateway_port(steps):
    seen = steps["elsewhere"]
    # host A is reachable: the broker's port, open to anyone, answers the same client
    assert seen["broker"][0] is True, seen["broker"]
    assert seen["web"][0] is False, seen["web"]
    assert seen["tls"][0] != 0, seen["tls"]
    assert status_code(seen["health"]) == "", seen["health"]


def test_a_changed_list_leaves_no_stale_rule_and_the_health_check_follows_its_own_list(steps):
    # the web port for the client only, TCP and UDP (the documentation networks' rules gone), the health-check port
    # open to anyone again (its source rules gone)
    assert steps["inside"]["ufw"] == BROKER_RULES | {
        _source_rule(steps["inside network"], WEB), _source_rule(steps["inside network"], WEB, "udp"),
        _open_rule(HEALTH)}


def test_a_client_inside_the_sources_completes_a_tls_handshake(steps):
    seen = steps["inside"]
    assert seen["web"][0] is True, seen["web"]
    assert seen["tls"][0] == 0 and seen["tls"][1].startswith("verified TLSv"), seen["tls"]
    assert status_code(seen["health"]) == "200", seen["health"]


def test_the_defaults_open_the_ports_to_anyone_again(steps):
    # and with QUIC off again, the UDP rule goes too
    seen = steps["anyone"]
    assert seen["ufw"] == BROKER_RULES | {_open_rule(WEB), _open_rule(HEALTH)}
    assert seen["tls"][0] == 0 and seen["tls"][1].startswith("verified TLSv"), seen["tls"]
    assert status_code(seen["health"]) == "200", seen["health"]
