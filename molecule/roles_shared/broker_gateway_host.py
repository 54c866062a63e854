# -*- coding: utf-8 -*-
"""Host A of the broker_gateway scenarios: its name, the names and files its tests check."""

import os

# host A of the scenario that runs these tests: broker_gateway, or default (the same tests on the whole stack's host A,
# the Amazon Linux 2023 stand-in)
A = os.environ.get("MOLECULE_SCENARIO_NAME", "broker_gateway") + "-a"
# the outside client of broker_gateway (a container on the scenario's network in no dcv_* group; default has none:
# its host-A tests take the control node as the client)
CLIENT = os.environ.get("MOLECULE_SCENARIO_NAME", "broker_gateway") + "-client"

BROKER_NAME = "host-a.dcvkit.test"
PUBLIC_NAME = "desktops.dcvkit.test"
BROKER_CA = "/etc/dcv-session-manager-broker/tls/ca.pem"
GATEWAY_CA = "/etc/dcv-connection-gateway/certs/ca.pem"
BROKER = "dcv-session-manager-broker"
GATEWAY = "dcv-connection-gateway"
