import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "roles_shared"))

import dcvtest  # noqa: E402
from broker_gateway_host import CLIENT, PUBLIC_NAME  # noqa: E402


@pytest.fixture(scope="session")
def client():
    return dcvtest.host(CLIENT)


@pytest.fixture(scope="session")
def client_addresses(client):
    """Host A's address as the client resolves the gateway's public name (prepare.yml's /etc/hosts), and the
    client's own address on the scenario's network."""
    gateway = client.check_output("getent ahostsv4 %s" % PUBLIC_NAME).split()[0]
    own = client.check_output("ip -4 -o route get %s" % gateway).split(" src ")[1].split()[0]
    return gateway, own


def ufw_added(target):
    """The rules added to ufw, as `ufw show added` prints them without the leading "ufw " (one line per rule,
    its IPv4 and IPv6 copies together)."""
    return set(line[len("ufw "):] for line in target.check_output("ufw show added").splitlines()
               if line.startswith("ufw "))


@pytest.fixture(scope="session")
def ufw():
    return ufw_added
