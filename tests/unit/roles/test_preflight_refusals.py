# -*- coding: utf-8 -*-
"""The roles' own preflight asserts, run by ansible-playbook on localhost: each bad input is refused with a message
that names the operator's variable and the fix, and each good input passes.

The tasks are read from the role files by name (nothing is copied), so these tests follow the roles' wording. One
ansible-playbook run carries every case as its own play; each task runs with ignore_errors so every case reports.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.dcvkit.session_manager.plugins.filter.wiring import dcv_wiring
from ansible_collections.dcvkit.session_manager.plugins.module_utils.preflight import broker
from ansible_collections.dcvkit.session_manager.tests.unit.plugins.module_utils.test_preflight_gateway import (
    certificate_pair)
from ansible_collections.dcvkit.session_manager.tests.unit.roles.role_playbook import ROLES, role_tasks, run_plays


def role_defaults(role, *names):
    with open(os.path.join(ROLES, role, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    return dict((name, defaults[name]) for name in names)


def role_vars(role, *names):
    with open(os.path.join(ROLES, role, "vars", "main.yml")) as handle:
        variables = yaml.safe_load(handle)
    return dict((name, variables[name]) for name in names)


# The DCV server's and the agent's checks (and dcv_common's, which both run first) are one task of the role,
# dcvkit.session_manager.preflight: each case includes the role's tasks/preflight.yml, so the role's own defaults,
# vars and templates are in play, and the case's variables override them as an operator's would. _dcv_common_done
# keeps the dependency's wiring and CA out of it; the wiring below is a DCV server (testhost) and one broker.
WIRING = dcv_wiring({"dcv_brokers": ["broker-a"], "dcv_gateways": ["broker-a"], "dcv_servers": ["testhost"]},
                    {"broker-a": {"dcv_host_name": "broker-a.example.internal",
                                  "dcv_gateway_public_names": ["desktops.example.com"]},
                     "testhost": {"dcv_host_name": "testhost.example.internal", "dcv_host_addresses": ["10.0.0.20"]}})
ROLE_PREFLIGHT = {"dcv_wiring": WIRING, "_dcv_common_done": True,
                  "ansible_facts": {"distribution": "Ubuntu", "distribution_version": "22.04",
                                    "distribution_major_version": "22", "os_family": "Debian"}}
AGENT_INTERVAL = ("dcv_agent", "preflight.yml", None, ROLE_PREFLIGHT)
AGENT_SETTINGS = ("dcv_agent", "preflight.yml", None, ROLE_PREFLIGHT)
COMMON_PKI = ("dcv_server", "preflight.yml", None, ROLE_PREFLIGHT)
COMMON_PLATFORM = ("dcv_server", "preflight.yml", None, ROLE_PREFLIGHT)
SERVER_SETTINGS = ("dcv_server", "preflight.yml", None, ROLE_PREFLIGHT)
SERVER_MAPPING = ("dcv_server", "preflight.yml", None, ROLE_PREFLIGHT)
SERVER_SESSION = ("dcv_server", "preflight.yml", None, ROLE_PREFLIGHT)
SERVER_IDLE = ("dcv_server", "preflight.yml", None, ROLE_PREFLIGHT)
# The gateway's checks of its variables are the first task of its preflight, the same action: here testhost is the
# gateway of the wiring. dcv_firewall_manage: false keeps the firewall reads that follow off this machine (a case
# with sources then also fails the firewall refusal, after the action's refusal the case looks at).
GATEWAY_WIRING = dcv_wiring({"dcv_brokers": ["broker-a"], "dcv_gateways": ["testhost"], "dcv_servers": ["dcv-1"]},
                            {"broker-a": {"dcv_host_name": "broker-a.example.internal"},
                             "testhost": {"dcv_host_name": "testhost.example.internal",
                                          "dcv_gateway_public_names": ["desktops.example.com"]},
                             "dcv-1": {"dcv_host_name": "dcv-1.example.internal", "dcv_host_addresses": ["10.0.0.20"]}})
GATEWAY_PREFLIGHT = ("dcv_gateway", "preflight.yml", None,
                     dict(ROLE_PREFLIGHT, dcv_wiring=GATEWAY_WIRING, dcv_firewall_manage=False))

# The firewall read is a registered result in a real run; here each case says what the host has
GATEWAY_SOURCES = ("dcv_gateway", "preflight.yml", ["Refuse allowed sources that no active firewall would enforce"],
                   dict(role_defaults("dcv_gateway", "dcv_gateway_allowed_sources", "dcv_gateway_health_check_sources"),
                        dcv_firewall_manage=True, _dcv_gateway_ufw_status={"skipped": True},
                        **role_vars("dcv_gateway", "dcv_gateway_sources_restricted")))
# The broker's checks of its variables are the first task of its preflight, the same action, read by name: every
# variable the checks read is the role's default unless the case sets it, and testhost is the broker of the wiring
BROKER_CHECKS = "Refuse bad input before anything changes (the broker's checks, on the control node)"
BROKER_INPUT = dict(role_defaults("dcv_broker", *[name for name in broker.NEEDS if name.startswith("dcv_broker_")]),
                    dcv_wiring={"broker_hosts": ["testhost"]},
                    **role_defaults("dcv_common", "dcv_session_max_age_minutes", "dcv_session_idle_minutes"))
BROKER_PROPERTIES = ("dcv_broker", "preflight.yml", [BROKER_CHECKS], BROKER_INPUT)
BROKER_TOKEN = ("dcv_broker", "preflight.yml", [BROKER_CHECKS], BROKER_INPUT)
BROKER_IDLE = ("dcv_broker", "preflight.yml", [BROKER_CHECKS], BROKER_INPUT)
BROKER_EXPIRY_PYTHON = ("dcv_broker", "preflight.yml", [BROKER_CHECKS], BROKER_INPUT)
# the settings are checked by the action, the database host is resolved by the tasks that follow it (one file each)
BROKER_PERSISTENCE = ("dcv_broker", ["preflight.yml", "preflight_persistence.yml", "preflight_persistence.yml",
                                     "preflight_persistence.yml"],
                      [BROKER_CHECKS, "Find the database host of dcv_broker_jdbc_url",
                       "Resolve the database host on the broker host",
                       "Refuse a database host the broker host cannot resolve"],
                      BROKER_INPUT)
JDBC_PASSWORD = "Pa55-w0rd-never-shown"
# a cluster of testhost and broker-2, whose dcv_host_addresses are not known
TWO_BROKERS = {"broker_hosts": ["testhost", "broker-2"],
               "hosts": {"testhost": {"addresses": ["10.0.0.1"]}, "broker-2": {"addresses": []}}}
BROKER_CLUSTER = ("dcv_broker", "preflight.yml", ["Refuse a cluster peer the host firewall could not let in"],
                  dict(role_vars("dcv_broker", "dcv_broker_cluster_ports", "dcv_broker_peers",
                                 "dcv_broker_peers_without_addresses"),
                       dcv_wiring=TWO_BROKERS,
                       dcv_broker_ports={"dcv_broker_cluster_port": 47100, "dcv_broker_discovery_port": 47500}))


def broker_firewall(firewalld="inactive", ufw="inactive"):
    return {"_dcv_broker_firewall_units": {"units": {"firewalld.service": {"active": firewalld},
                                                     "ufw.service": {"active": ufw}}}}


def mysql(url, user="dcvsm", password=JDBC_PASSWORD):
    return {"dcv_broker_persistence": "mysql", "dcv_broker_jdbc_url": url, "dcv_broker_jdbc_user": user,
            "dcv_broker_jdbc_password": password}


def firewall(firewalld="inactive", ufw="inactive", ufw_status=None):
    """What the preflight's read of the host says: the units' states and, when asked, ufw status."""
    facts = {"_dcv_gateway_firewall_units": {"units": {"firewalld.service": {"active": firewalld},
                                                       "ufw.service": {"active": ufw}}}}
    if ufw_status is not None:
        facts["_dcv_gateway_ufw_status"] = {"stdout": ufw_status}
    return facts


def facts(distribution, version, os_family):
    """The gathered facts the platform check reads (ansible -m setup on such a host)."""
    return {"ansible_facts": {"distribution": distribution, "distribution_version": version,
                              "distribution_major_version": version.split(".")[0], "os_family": os_family}}


# (id, task group, variables, None when it must pass or the words the failure must contain: the variable first)
CASES = [
    # a report every 0 s or less makes no sense (sm-admin "Agent Configuration File": broker_update_interval)
    ("interval-0", AGENT_INTERVAL, {"dcv_agent_broker_update_interval": 0},
     ["dcv_agent_broker_update_interval is 0", "positive whole number"]),
    ("interval-negative", AGENT_INTERVAL, {"dcv_agent_broker_update_interval": -5},
     ["dcv_agent_broker_update_interval is -5"]),
    ("interval-string", AGENT_INTERVAL, {"dcv_agent_broker_update_interval": "soon"},
     ["dcv_agent_broker_update_interval is soon"]),
    ("interval-default", AGENT_INTERVAL, {"dcv_agent_broker_update_interval": None}, None),
    ("interval-30", AGENT_INTERVAL, {"dcv_agent_broker_update_interval": 30}, None),
    ("interval-extra-var", AGENT_INTERVAL, {"dcv_agent_broker_update_interval": "5"}, None),
    # sm-admin "Release notes and document history for Amazon DCV Session Manager": [agent] keys and their kinds
    ("agent-release-note-keys", AGENT_SETTINGS,
     {"dcv_agent_extra_settings": {"agent": {"max_virtual_sessions": 4, "max_concurrent_sessions_per_user": 2,
                                             "enable_query_logged_in_users": True}}}, None),
    ("agent-negative-count", AGENT_SETTINGS,
     {"dcv_agent_extra_settings": {"agent": {"max_virtual_sessions": -1}}},
     ["dcv_agent_extra_settings: [agent] max_virtual_sessions must be a non-negative integer"]),
    # dcv_common's argument spec refuses it first where the role is entered (its choices); the preflight's own check
    # refuses it for every other host of a fleet (tests/unit/plugins/module_utils/test_preflight_checks.py)
    ("ca-key-type", COMMON_PKI, {"dcv_ca_key_type": "dsa"}, ["dcv_ca_key_type", "dsa", "rsa", "ecdsa"]),
    ("ca-key-type-ecdsa", COMMON_PKI, {"dcv_ca_key_type": "ecdsa"}, None),
    ("valid-days-0", COMMON_PKI, {"dcv_certificate_valid_days": 0},
     ["dcv_certificate_valid_days is 0", "at least 1 day"]),
    ("renew-equals-validity", COMMON_PKI, {"dcv_certificate_valid_days": 30, "dcv_certificate_renew_before_days": 30},
     ["dcv_certificate_renew_before_days is 30", "smaller than dcv_certificate_valid_days"]),
    ("renew-above-validity", COMMON_PKI, {"dcv_certificate_renew_before_days": 400},
     ["dcv_certificate_renew_before_days is 400"]),
    ("pki-defaults", COMMON_PKI, {}, None),
    ("no-tls-strict", SERVER_SETTINGS,
     {"dcv_server_extra_settings": {"security": {"no-tls-strict": True}},
      "dcv_server_settings": {"security": {"no-tls-strict": True}}},
     ["dcv_server_extra_settings: [security] no-tls-strict = true", "dcv_allow_insecure_tls: true"]),
    ("no-tls-strict-allowed", SERVER_SETTINGS,
     {"dcv_server_extra_settings": {"security": {"no-tls-strict": True}},
      "dcv_server_settings": {"security": {"no-tls-strict": True}}, "dcv_allow_insecure_tls": True}, None),
    ("dcv-conf-harmless", SERVER_SETTINGS,
     {"dcv_server_extra_settings": {"clipboard": {"primary-selection-copy": True}},
      "dcv_server_settings": {"clipboard": {"primary-selection-copy": True}}}, None),
    # sm-admin "Amazon DCV Session Manager Amazon DCV server - DNS mapping reference": the brokers map the address the
    # agent reports to the DCV server's name; without an address there is nothing to map
    ("mapped-server-without-address", SERVER_MAPPING,
     {"dcv_server_host": dict(WIRING["hosts"]["testhost"], name="dcv-b.example.internal", addresses=[], dns_mapped=True)},
     ["host testhost: dcv_host_addresses is empty", "its DNS name dcv-b.example.internal",
      "set dcv_server_dns_mappings: false"]),
    ("mapped-server-with-address", SERVER_MAPPING,
     {"dcv_server_host": dict(WIRING["hosts"]["testhost"], name="dcv-b.example.internal", addresses=["10.0.0.20"],
                              dns_mapped=True)}, None),
    ("unmapped-server-without-address", SERVER_MAPPING,
     {"dcv_server_host": dict(WIRING["hosts"]["testhost"], name="dcv-b.example.internal", addresses=[],
                              dns_mapped=False)}, None),
    # admin guide "Introduction to Amazon DCV sessions": console and virtual sessions never run together on one
    # server; "Prerequisites for Linux Amazon DCV servers": a console session runs on the display manager's X server
    ("session-defaults", SERVER_SESSION, {}, None),
    ("session-console-gnome", SERVER_SESSION, {"dcv_server_session_type": "console"}, None),
    ("session-console-automatic", SERVER_SESSION,
     {"dcv_server_session_type": "console", "dcv_server_create_session": True}, None),
    ("session-console-own-desktop", SERVER_SESSION,
     {"dcv_server_session_type": "console", "dcv_server_desktop": "none", "dcv_server_gpu": True}, None),
    ("session-virtual-with-automatic-console", SERVER_SESSION, {"dcv_server_create_session": True},
     ["dcv_server_session_type is virtual", "dcv_server_create_session: true) needs dcv_server_session_type: console"]),
    ("session-console-xfce", SERVER_SESSION, {"dcv_server_session_type": "console", "dcv_server_desktop": "xfce"},
     ["dcv_server_session_type is console", "use dcv_server_desktop gnome"]),
    ("session-type-unknown", SERVER_SESSION, {"dcv_server_session_type": "both"},
     ["dcv_server_session_type is both", "must be virtual or console"]),
    ("session-gpu-not-boolean", SERVER_SESSION, {"dcv_server_gpu": "maybe"}, ["dcv_server_gpu a boolean"]),
    # gw-admin "Configuration File Reference": listen endpoints are IP socket addresses
    ("endpoint-host-name", GATEWAY_PREFLIGHT, {"dcv_gateway_web_listen_endpoints": ["gateway.example.internal:8443"]},
     ["dcv_gateway_web_listen_endpoints: 'gateway.example.internal:8443'", "not a host name"]),
    # sm-admin "Amazon DCV Session Manager requirements"; Amazon Linux 2: end of support 2026-06-30, other packages
    ("platform-amazon-linux-2", COMMON_PLATFORM, facts("Amazon", "2", "RedHat"),
     ["Host testhost runs Amazon 2,", "Amazon Linux 2 reaches its end of support on 2026-06-30",
      "set dcv_allow_unsupported_platform: true for this host"]),
    ("platform-amazon-linux-2-allowed", COMMON_PLATFORM,
     dict(facts("Amazon", "2", "RedHat"), dcv_allow_unsupported_platform=True), None),
    ("platform-debian-12", COMMON_PLATFORM, facts("Debian", "12.5", "Debian"),
     ["Host testhost runs Debian 12.5,", "no Amazon DCV component documents Debian",
      "set dcv_allow_unsupported_platform: true for this host"]),
    ("platform-debian-12-allowed", COMMON_PLATFORM,
     dict(facts("Debian", "12.5", "Debian"), dcv_allow_unsupported_platform=True), None),
    ("platform-ubuntu-22.10", COMMON_PLATFORM, facts("Ubuntu", "22.10", "Debian"),
     ["Host testhost runs Ubuntu 22.10,", "dcv_allow_unsupported_platform"]),
    ("platform-rhel-7", COMMON_PLATFORM, facts("RedHat", "7.9", "RedHat"),
     ["Host testhost runs RedHat 7.9,", "dcv_allow_unsupported_platform"]),
    ("platform-al2023", COMMON_PLATFORM, facts("Amazon", "2023", "RedHat"), None),
    ("platform-rhel-9", COMMON_PLATFORM, facts("RedHat", "9.4", "RedHat"), None),
    ("platform-rocky-8", COMMON_PLATFORM, facts("Rocky", "8.10", "RedHat"), None),
    ("platform-alma-9", COMMON_PLATFORM, facts("AlmaLinux", "9.5", "RedHat"), None),
    ("platform-ubuntu-22.04", COMMON_PLATFORM, facts("Ubuntu", "22.04", "Debian"), None),
    ("platform-ubuntu-24.04", COMMON_PLATFORM, facts("Ubuntu", "24.04", "Debian"), None),
    ("gateway-defaults", GATEWAY_PREFLIGHT, {}, None),
    ("endpoint-ipv6", GATEWAY_PREFLIGHT, {"dcv_gateway_web_listen_endpoints": ["[::]:8443", "0.0.0.0:8443"]}, None),
    ("endpoint-url", GATEWAY_PREFLIGHT, {"dcv_gateway_web_listen_endpoints": ["https://0.0.0.0:8443"]},
     ["dcv_gateway_web_listen_endpoints: 'https://0.0.0.0:8443' is not a socket address"]),
    ("gateway-outside-its-group", GATEWAY_PREFLIGHT, {"dcv_wiring": WIRING},
     ["testhost runs dcv_gateway but is not in the dcv_gateways group; add it there"]),
    ("gateway-log-level", GATEWAY_PREFLIGHT, {"dcv_gateway_log_level": "loud"},
     ["dcv_gateway_log_level must be error|warn|info|debug|trace;"]),
    ("gateway-role-set-setting", GATEWAY_PREFLIGHT, {"dcv_gateway_extra_settings": {"log": {"level": "debug"}}},
     ["dcv_gateway_extra_settings: [log] level is set by the role from dcv_gateway_log_level"]),
    # who may reach the gateway: networks in CIDR notation, enforced by an active host firewall or refused
    ("sources-default-any", GATEWAY_SOURCES, firewall(), None),
    ("sources-firewalld", GATEWAY_SOURCES,
     dict(firewall(firewalld="active"), dcv_gateway_allowed_sources=["10.0.0.0/16", "2001:db8::/56", "192.0.2.7"]),
     None),
    ("sources-host-bits", GATEWAY_PREFLIGHT, {"dcv_gateway_allowed_sources": ["10.0.3.0/16"]},
     ["dcv_gateway_allowed_sources: '10.0.3.0/16' has host bits set; write the network '10.0.0.0/16'"]),
    ("sources-host-name", GATEWAY_PREFLIGHT,
     {"dcv_gateway_allowed_sources": ["lb.example.internal"]},
     ["dcv_gateway_allowed_sources: 'lb.example.internal' is not an IPv4 or IPv6 network in CIDR notation"]),
    ("sources-not-a-list", GATEWAY_PREFLIGHT, {"dcv_gateway_allowed_sources": "10.0.0.0/16"},
     ["dcv_gateway_allowed_sources must be a list of networks in CIDR notation"]),
    # the health-check sources follow the allowed sources unless set, and are checked under their own name
    ("health-sources-bad-ipv6", GATEWAY_PREFLIGHT,
     {"dcv_gateway_health_check_sources": ["2001:db8::1/64"]},
     ["dcv_gateway_health_check_sources: '2001:db8::1/64' has host bits set; write the network '2001:db8::/64'"]),
    ("health-sources-follow-bad-allowed", GATEWAY_PREFLIGHT,
     {"dcv_gateway_allowed_sources": ["10.0.0.0/33"]},
     ["dcv_gateway_allowed_sources: '10.0.0.0/33' is not", "dcv_gateway_health_check_sources: '10.0.0.0/33' is not"]),
    ("sources-without-firewall", GATEWAY_SOURCES, dict(firewall(), dcv_gateway_allowed_sources=["10.0.0.0/16"]),
     ["host testhost: dcv_gateway_allowed_sources / dcv_gateway_health_check_sources limit who may reach the gateway",
      "neither firewalld nor ufw is active on the host", "set dcv_gateway_allowed_sources: []"]),
    ("health-sources-without-firewall", GATEWAY_SOURCES,
     dict(firewall(), dcv_gateway_health_check_sources=["10.0.0.0/16"]), ["neither firewalld nor ufw is active"]),
    ("sources-firewall-unmanaged", GATEWAY_SOURCES,
     dict(firewall(firewalld="active"), dcv_gateway_allowed_sources=["10.0.0.0/16"], dcv_firewall_manage=False),
     ["dcv_firewall_manage is false (the collection leaves the firewall alone)"]),
    # ufw's unit stays active after ufw disable: ufw status decides
    ("sources-ufw-disabled", GATEWAY_SOURCES,
     dict(firewall(ufw="active", ufw_status="Status: inactive"), dcv_gateway_allowed_sources=["10.0.0.0/16"]),
     ["neither firewalld nor ufw is active"]),
    ("sources-ufw-enabled", GATEWAY_SOURCES,
     dict(firewall(ufw="active", ufw_status="Status: active\n"), dcv_gateway_allowed_sources=["10.0.0.0/16"]), None),
    # the broker's properties: the role's own keys are refused, a key newer than the collection is written unchecked
    ("property-role-managed", BROKER_PROPERTIES, {"dcv_broker_properties": {"client-to-broker-connector-https-port": 9000}},
     ["dcv_broker_properties: key 'client-to-broker-connector-https-port' is set by the role from dcv_broker_client_port"]),
    ("property-unchecked-extra", BROKER_PROPERTIES, {"dcv_broker_extra_properties": {"brand-new-key": "1"}}, None),
    # sm-admin "Broker configuration file": connect-session-token-duration-minutes, minutes (default 60)
    ("token-defaults", BROKER_TOKEN, {}, None),
    ("token-zero", BROKER_TOKEN, {"dcv_broker_connect_session_token_minutes": 0},
     ["dcv_broker_connect_session_token_minutes is 0", "at least 1"]),
    ("token-words", BROKER_TOKEN, {"dcv_broker_connect_session_token_minutes": "an hour"},
     ["dcv_broker_connect_session_token_minutes is an hour"]),
    ("token-outlives-session", BROKER_TOKEN,
     {"dcv_broker_connect_session_token_minutes": 120, "dcv_session_max_age_minutes": 90},
     ["dcv_broker_connect_session_token_minutes is 120 but dcv_session_max_age_minutes is 90",
      "Lower dcv_broker_connect_session_token_minutes to at most 90"]),
    ("token-as-long-as-session", BROKER_TOKEN,
     {"dcv_broker_connect_session_token_minutes": 90, "dcv_session_max_age_minutes": 90}, None),
    ("token-long-without-age-limit", BROKER_TOKEN, {"dcv_broker_connect_session_token_minutes": 1440}, None),
    ("max-age-negative", BROKER_TOKEN, {"dcv_session_max_age_minutes": -5},
     ["dcv_session_max_age_minutes is -5: set 0"]),
    # the idle limit: a URL must not outlive a session nobody opened, and a limit must be able to act before the
    # maximum age
    ("idle-limit-off", BROKER_IDLE, {}, None),
    ("idle-limit-shorter-than-token", BROKER_IDLE, {"dcv_session_idle_minutes": 30},
     ["dcv_session_idle_minutes is 30 but dcv_broker_connect_session_token_minutes is 60",
      "Lower dcv_broker_connect_session_token_minutes to at most 30"]),
    ("idle-limit-as-long-as-token", BROKER_IDLE, {"dcv_session_idle_minutes": 60}, None),
    ("idle-limit-one-minute", BROKER_IDLE,
     {"dcv_session_idle_minutes": 1, "dcv_broker_connect_session_token_minutes": 1}, None),
    ("idle-limit-below-max-age", BROKER_IDLE, {"dcv_session_idle_minutes": 60, "dcv_session_max_age_minutes": 480},
     None),
    ("idle-limit-equal-to-max-age", BROKER_IDLE,
     {"dcv_session_idle_minutes": 480, "dcv_session_max_age_minutes": 480},
     ["dcv_session_idle_minutes is 480 but dcv_session_max_age_minutes is 480",
      "Set dcv_session_idle_minutes below 480, or 0"]),
    ("idle-limit-beyond-max-age", BROKER_IDLE,
     {"dcv_session_idle_minutes": 600, "dcv_session_max_age_minutes": 480},
     ["dcv_session_idle_minutes is 600 but dcv_session_max_age_minutes is 480"]),
    ("idle-limit-negative", BROKER_IDLE, {"dcv_session_idle_minutes": -5},
     ["dcv_session_idle_minutes is -5: set 0 (no idle limit)"]),
    ("idle-limit-words", BROKER_IDLE, {"dcv_session_idle_minutes": "an hour"},
     ["dcv_session_idle_minutes is an hour: set 0"]),
    # the session expiry's service runs its Python by path (ExecStart)
    ("expiry-python-default", BROKER_EXPIRY_PYTHON, {}, None),
    ("expiry-python-own", BROKER_EXPIRY_PYTHON, {"dcv_broker_session_expiry_python": "/usr/bin/python3.11"}, None),
    ("expiry-python-bare-name", BROKER_EXPIRY_PYTHON, {"dcv_broker_session_expiry_python": "python3"},
     ["dcv_broker_session_expiry_python is python3: set the absolute path"]),
    ("expiry-python-with-arguments", BROKER_EXPIRY_PYTHON, {"dcv_broker_session_expiry_python": "/usr/bin/env python3"},
     ["dcv_broker_session_expiry_python is /usr/bin/env python3", "without spaces"]),
    # adminguide "Amazon DCV Server parameter reference": [connectivity] idle-timeout, minutes, 0 = never
    ("idle-defaults", SERVER_IDLE, {}, None),
    ("idle-never", SERVER_IDLE, {"dcv_server_idle_timeout_minutes": 0}, None),
    ("idle-negative", SERVER_IDLE, {"dcv_server_idle_timeout_minutes": -1},
     ["dcv_server_idle_timeout_minutes is -1", "from 0 (never"]),
    ("idle-with-unit", SERVER_IDLE, {"dcv_server_idle_timeout_minutes": "30m"}, ["dcv_server_idle_timeout_minutes is 30m"]),
    ("idle-beyond-dword", SERVER_IDLE, {"dcv_server_idle_timeout_minutes": 4294967296},
     ["dcv_server_idle_timeout_minutes is 4294967296"]),
    # sm-admin "Configuring broker persistence": jdbc-connection-url jdbc:mysql://<db_endpoint>:<db_port>/<db_name>,
    # jdbc-user, jdbc-password; DynamoDB needs its region. The database host resolves on the broker host (here: this
    # machine, where localhost resolves and a name under .invalid never does)
    ("persistence-none", BROKER_PERSISTENCE, {}, None),
    ("persistence-mysql", BROKER_PERSISTENCE,
     mysql("jdbc:mysql://localhost:3306/dcvsm?createDatabaseIfNotExist=true"), None),
    ("persistence-mysql-address", BROKER_PERSISTENCE, mysql("jdbc:mysql://192.0.2.10/dcvsm"), None),
    ("persistence-mysql-unresolved", BROKER_PERSISTENCE, mysql("jdbc:mysql://db.dcvkit.invalid:3306/dcvsm"),
     ["host testhost: dcv_broker_jdbc_url names the database host db.dcvkit.invalid, which does not resolve on this "
      "broker host (getent ahosts db.dcvkit.invalid: exit 2)", "Fix the host name in dcv_broker_jdbc_url",
      "/etc/hosts"]),
    ("persistence-mysql-bad-url", BROKER_PERSISTENCE, mysql("jdbc:mysql://localhost:3306"),
     ["host testhost: dcv_broker_jdbc_url jdbc:mysql://localhost:3306 names no database",
      "write jdbc:mysql://HOST[:PORT]/DATABASE[?PARAMS]"]),
    ("persistence-mariadb-scheme", BROKER_PERSISTENCE, mysql("jdbc:mariadb://localhost/dcvsm"),
     ["dcv_broker_jdbc_url jdbc:mariadb://localhost/dcvsm does not start with jdbc:mysql://"]),
    ("persistence-mysql-password-in-url", BROKER_PERSISTENCE,
     mysql("jdbc:mysql://localhost/dcvsm?password=%s" % JDBC_PASSWORD), ["carries password= in its query"]),
    # a message that would quote the password (here the URL names a database like it) shows ******** in its place
    ("persistence-url-quotes-password", BROKER_PERSISTENCE, mysql("jdbc:mariadb://localhost/%s" % JDBC_PASSWORD),
     ["dcv_broker_jdbc_url jdbc:mariadb://localhost/******** does not start with jdbc:mysql://"]),
    ("persistence-mysql-no-user", BROKER_PERSISTENCE, mysql("jdbc:mysql://localhost/dcvsm", user=""),
     ["dcv_broker_jdbc_user is empty but dcv_broker_persistence is mysql"]),
    ("persistence-mysql-no-password", BROKER_PERSISTENCE, mysql("jdbc:mysql://localhost/dcvsm", password=""),
     ["dcv_broker_jdbc_password is empty but dcv_broker_persistence is mysql"]),
    ("persistence-dynamodb", BROKER_PERSISTENCE,
     {"dcv_broker_persistence": "dynamodb", "dcv_broker_dynamodb_region": "eu-west-1"}, None),
    ("persistence-dynamodb-no-region", BROKER_PERSISTENCE, {"dcv_broker_persistence": "dynamodb"},
     ["dcv_broker_dynamodb_region is empty but dcv_broker_persistence is dynamodb", "e.g. eu-west-1"]),
    ("persistence-dynamodb-prefix", BROKER_PERSISTENCE,
     {"dcv_broker_persistence": "dynamodb", "dcv_broker_dynamodb_region": "eu-west-1",
      "dcv_broker_dynamodb_table_prefix": "dcv sm"}, ["dcv_broker_dynamodb_table_prefix is 'dcv sm'"]),
    ("persistence-unknown", BROKER_PERSISTENCE, {"dcv_broker_persistence": "postgresql"},
     ["dcv_broker_persistence is postgresql"]),
    # the cluster ports are opened to the other brokers' addresses only: a peer without any could not get in
    ("cluster-peer-without-addresses-firewalld", BROKER_CLUSTER, broker_firewall(firewalld="active"),
     ["host testhost: its firewall (firewalld) opens the broker cluster ports (47100/tcp, 47500/tcp) to the other "
      "brokers' dcv_host_addresses only, and broker-2 has none", "Set dcv_host_addresses for broker-2",
      "dcv_firewall_manage: false"]),
    ("cluster-peer-without-addresses-ufw", BROKER_CLUSTER, broker_firewall(ufw="active"), ["its firewall (ufw)"]),
    ("cluster-peer-without-addresses-no-firewall", BROKER_CLUSTER, broker_firewall(), None),
]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("preflight")
    plays = []
    # the gateway's whole preflight registers its firewall read on testhost, and a registered result outranks the play
    # vars through which the firewall cases say what the host has: its plays run after every other case
    for case_id, (role, file_name, names, base), variables, _expected in sorted(
            CASES, key=lambda case: case[1] is GATEWAY_PREFLIGHT):
        play_vars = dict(base, **variables)
        if names is None:
            tasks = [{"name": "preflight of %s" % role, "ansible.builtin.include_role": {
                "name": "dcvkit.session_manager.%s" % role, "tasks_from": file_name, "apply": {"ignore_errors": True}},
                "vars": play_vars}]
            play_vars = {}
        else:
            files = [file_name] * len(names) if isinstance(file_name, str) else file_name
            tasks = [task for part, name in zip(files, names) for task in role_tasks(role, part, name)]
        plays.append({"name": case_id, "hosts": "all", "gather_facts": False, "vars": play_vars, "tasks": tasks})
    return run_plays(tmp, plays, ["testhost"])


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_preflight(outcomes, case):
    case_id, _group, _variables, expected = case
    results = outcomes[case_id]
    failures = [result.get("msg", "") for result in results if result.get("failed")]
    if expected is None:
        assert failures == []
    else:
        # a real run stops at the first refusal (ignore_errors lets the later asserts of a group run here too)
        assert failures, results
        for words in expected:
            assert words in failures[0], failures[0]


def test_no_result_shows_the_database_password(outcomes):
    for case_id, group, _variables, _expected in CASES:
        if group is BROKER_PERSISTENCE:
            assert JDBC_PASSWORD not in repr(outcomes[case_id]), case_id


def test_unchecked_extra_properties_reach_the_operator_as_warnings(outcomes):
    result = outcomes["property-unchecked-extra"][0]
    assert not result.get("failed"), result
    assert ["dcv_broker_extra_properties: key 'brand-new-key' is not in this collection's list of broker properties; "
            "it is written as given, unchecked"] == [str(warning) for warning in result["warnings"]], result


def test_the_cluster_ports_are_for_the_other_brokers_only(tmp_path):
    """What the broker role hands the firewall: the cluster and discovery ports, each for the other brokers'
    addresses (IPv4 /32, IPv6 /128); a single broker has no cluster ports at all."""
    names = ("dcv_broker_cluster_ports", "dcv_broker_peers", "dcv_broker_peer_addresses", "dcv_broker_peer_networks",
             "dcv_broker_cluster_sources", "dcv_broker_peers_without_addresses")
    cluster = {"broker_hosts": ["testhost", "broker-2", "broker-3"],
               "hosts": {"testhost": {"addresses": ["10.0.0.1"]}, "broker-2": {"addresses": ["10.0.0.2"]},
                         "broker-3": {"addresses": ["fd00::3", "10.0.0.3"]}}}
    single = {"broker_hosts": ["testhost"], "hosts": {"testhost": {"addresses": []}}}
    ports = {"dcv_broker_cluster_port": 47100, "dcv_broker_discovery_port": 47500}
    plays = [{"name": name, "hosts": "all", "gather_facts": False,
              "vars": dict(role_vars("dcv_broker", *names), dcv_wiring=wiring, dcv_broker_ports=ports),
              "tasks": [{"name": "show", "ansible.builtin.debug": {"var": "dcv_broker_cluster_sources"}},
                        {"name": "peers", "ansible.builtin.debug": {"var": "dcv_broker_peers_without_addresses"}}]}
             for name, wiring in (("cluster", cluster), ("single", single))]
    results = run_plays(tmp_path, plays, ["testhost"])
    networks = ["10.0.0.2/32", "10.0.0.3/32", "fd00::3/128"]
    assert results["cluster"][0]["dcv_broker_cluster_sources"] == {"47100/tcp": networks, "47500/tcp": networks}
    assert results["cluster"][1]["dcv_broker_peers_without_addresses"] == []
    assert results["single"][0]["dcv_broker_cluster_sources"] == {}


def test_the_supplied_gateway_certificate_is_read_and_checked_on_the_control_node(tmp_path):
    """The preflight action reads dcv_gateway_certificate_src and dcv_gateway_private_key_src as the file lookup
    would, checks them against each other and the gateway's names, and never shows the key."""
    names = ["desktops.example.com", "testhost.example.internal"]
    cert_pem, key_pem = certificate_pair(names)
    other_key = certificate_pair(names)[1]
    for name, text in (("gw.pem", cert_pem), ("gw.key", key_pem), ("other.key", other_key)):
        (tmp_path / name).write_text(text)
    role, file_name, _names, base = GATEWAY_PREFLIGHT
    cases = {"good": "gw.key", "other-key": "other.key", "missing-key": "missing.key"}
    plays = [{"name": case_id, "hosts": "all", "gather_facts": False,
              "tasks": [{"name": "preflight", "ansible.builtin.include_role": {
                  "name": "dcvkit.session_manager.%s" % role, "tasks_from": file_name,
                  "apply": {"ignore_errors": True}},
                  "vars": dict(base, dcv_gateway_certificate_src=str(tmp_path / "gw.pem"),
                               dcv_gateway_private_key_src=str(tmp_path / key))}]}
             for case_id, key in cases.items()]
    results = run_plays(tmp_path, plays, ["testhost"])
    failures = dict((case_id, [result.get("msg", "") for result in results[case_id] if result.get("failed")])
                    for case_id in cases)
    assert failures["good"] == []
    assert failures["other-key"] == ["dcv_gateway_certificate_src: the first certificate does not belong to the "
                                     "private key"]
    assert failures["missing-key"][0].startswith("the input of dcv_gateway cannot be read: "
                                                 "dcv_gateway_private_key_src: "), failures["missing-key"]
    for secret in (key_pem, other_key):
        assert secret.splitlines()[1] not in repr(results)
