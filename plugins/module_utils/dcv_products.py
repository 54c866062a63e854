# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The product facts of the DCV stack, in one place: each component's package, systemd unit, service user and the
paths its package lays out, and each port variable with the setting that carries it. The configuration keys each
product knows are in dcv_catalog. Roles and playbooks read these through the filter dcvkit.session_manager.dcv_product;
modules and filters import them.

The paths and names are those the packages install (sm-admin "Step 2: Set up the Amazon DCV Session Manager broker",
"Step 3: Set up the Amazon DCV Session Manager agent", admin guide "Setting up the DCV Connection Gateway",
"Installing the Amazon DCV Server on Linux")."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

_BROKER_DIR = "/etc/dcv-session-manager-broker"
_GATEWAY_DIR = "/etc/dcv-connection-gateway"
_AGENT_DIR = "/etc/dcv-session-manager-agent"

PRODUCTS = {
    "broker": {
        "package": "nice-dcv-session-manager-broker",
        "unit": "dcv-session-manager-broker",
        "user": "dcvsmbroker",
        "cli": "dcv-session-manager-broker",
        "config_dir": _BROKER_DIR,
        "config_file": _BROKER_DIR + "/session-manager-broker.properties",
        "tls_dir": _BROKER_DIR + "/tls",
        "working_dir": "/var/lib/dcvsmbroker",
    },
    "gateway": {
        "package": "nice-dcv-connection-gateway",
        "unit": "dcv-connection-gateway",
        "user": "dcvcgw",
        "config_dir": _GATEWAY_DIR,
        "config_file": _GATEWAY_DIR + "/dcv-connection-gateway.conf",
        "certs_dir": _GATEWAY_DIR + "/certs",
    },
    "agent": {
        "package": "nice-dcv-session-manager-agent",
        "unit": "dcv-session-manager-agent",
        "user": "dcvsmagent",
        "config_dir": _AGENT_DIR,
        "config_file": _AGENT_DIR + "/agent.conf",
        "log_file": "/var/log/dcv-session-manager-agent/agent.log",
    },
    "server": {
        "package": "nice-dcv-server",
        "unit": "dcvserver",
        "user": "dcv",
        "config_dir": "/etc/dcv",
        "config_file": "/etc/dcv/dcv.conf",
    },
    "web_viewer": {"package": "nice-dcv-web-viewer"},
    "xdcv": {"package": "nice-xdcv"},
}

# Every port variable: the component that listens on it, how messages name it, its default, and the setting of the
# component's configuration that carries it (the broker's property, or the TOML/INI key)
PORTS = (
    ("dcv_broker_client_port", "broker", "broker client/API port", 8443, "client-to-broker-connector-https-port"),
    ("dcv_broker_agent_port", "broker", "broker agent port", 8445, "agent-to-broker-connector-https-port"),
    ("dcv_broker_gateway_port", "broker", "broker gateway (session resolver) port", 8447,
     "gateway-to-broker-connector-https-port"),
    ("dcv_broker_cluster_port", "broker", "broker-to-broker port", 47100, "broker-to-broker-port"),
    ("dcv_broker_cli_port", "broker", "broker CLI port", 47200, "cli-to-broker-port"),
    ("dcv_broker_discovery_port", "broker", "broker-to-broker discovery port", 47500,
     "broker-to-broker-discovery-port"),
    ("dcv_gateway_web_port", "gateway", "gateway web port", 8443, "[gateway] web-listen-endpoints"),
    ("dcv_gateway_health_port", "gateway", "gateway health-check port", 8989, "[health-check] port"),
    ("dcv_server_web_port", "server", "DCV server web port", 8443, "[connectivity] web-port"),
)


def product(component, fact=None):
    """The facts of COMPONENT (a copy), or one FACT of it; component "*" gives {component: facts or FACT} for every
    component that has it. An unknown component or fact raises KeyError naming the known ones."""
    if component == "*":
        return dict((name, product(name, fact)) for name, facts in PRODUCTS.items() if fact is None or fact in facts)
    if component not in PRODUCTS:
        raise KeyError("no DCV component %r (known: %s)" % (component, ", ".join(sorted(PRODUCTS))))
    facts = PRODUCTS[component]
    if fact is None:
        return dict(facts)
    if fact not in facts:
        raise KeyError("the %s has no %r (known: %s)" % (component, fact, ", ".join(sorted(facts))))
    return facts[fact]
