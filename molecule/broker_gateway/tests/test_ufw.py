# -*- coding: utf-8 -*-
"""Host A on Debian 12 with ufw active (prepare.yml): the roles opened exactly the broker's and the gateway's ports in
ufw, and ufw enforces the rest: the outside client (broker_gateway-client, on the scenario's network) reaches those
ports and not a port that listens on host A but that nobody opened."""

import pytest

from allowed_sources import connects
from broker_gateway_host import A

testinfra_hosts = ["podman://" + A]

# broker client (8448: the gateway shares the host), agent and resolver ports; gateway web and health-check ports
# (the same list firewalld holds on the Amazon Linux 2023 stand-in, molecule/default's test_z_host_a_firewall.py)
PORTS = [8448, 8445, 8447, 8443, 8989]
# a port the stack does not use
UNOPENED = 9743


def test_ufw_is_active_and_denies_by_default(host):
    assert host.service("ufw").is_running
    status = host.check_output("ufw status verbose")
    assert "Status: active" in status
    assert "Default: deny (incoming)" in status


def test_ufw_opens_exactly_the_component_ports(host, ufw):
    assert ufw(host) == set("allow %d/tcp" % port for port in PORTS)


@pytest.mark.parametrize("port", PORTS)
def test_the_client_reaches_each_opened_port(client, client_addresses, port):
    assert connects(client_addresses[0], port, client)


def test_ufw_drops_a_port_nobody_opened(host, client, client_addresses):
    # a listener on host A for the length of the probe, ended by its process ID
    pid = host.check_output("nohup python3 -m http.server %d >/dev/null 2>&1 & echo $!" % UNOPENED).strip()
    try:
        host.check_output("for i in $(seq 50); do ss -Hltn 'sport = :%d' | grep -q . && exit 0; sleep 0.1; done; "
                          "exit 1" % UNOPENED)
        assert connects("127.0.0.1", UNOPENED, host), "the listener does not answer on host A itself"
        assert not connects(client_addresses[0], UNOPENED, client)
    finally:
        host.run("kill %s" % pid)
