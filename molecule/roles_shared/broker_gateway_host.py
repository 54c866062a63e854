# -*- coding: utf-8 -*-
"""Host A of the broker_gateway scenarios: its name, the names and files its tests check."""

import os

# host A of the scenario that runs these tests: broker_gateway, or broker_gateway_al2023 (the same tests on the
# Amazon Linux 2023 stand-in)
A = os.environ.get("MOLECULE_SCENARIO_NAME", "broker_gateway") + "-a"
# the outside client of broker_gateway (a container on the scenario's network in no dcv_* group; the AL2023 stand-in
# scenario has none: its control node plays the client)
CLIENT = os.environ.get("MOLECULE_SCENARIO_NAME", "broker_gateway") + "-client"

BROKER_NAME = "host-a.dcvkit.test"
PUBLIC_NAME = "desktops.dcvkit.test"
BROKER_CA = "/etc/dcv-session-manager-broker/tls/ca.pem"
GATEWAY_CA = "/etc/dcv-connection-gateway/certs/ca.pem"
BROKER = "dcv-session-manager-broker"
GATEWAY = "dcv-connection-gateway"
