# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The documented configuration keys of each product (admin guide, sm-admin), and input checks.

A key the product does not know is ignored silently by the product, which is how broken deployments
happen; the roles refuse such keys by name before anything reaches a host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_products import PORTS

BROKER_KEYS = frozenset("""
enable-authorization-server enable-authorization enable-agent-authorization session-manager-working-path
client-to-broker-connector-https-port client-to-broker-connector-bind-host
client-to-broker-connector-key-store-file client-to-broker-connector-key-store-pass
agent-to-broker-connector-https-port agent-to-broker-connector-bind-host
agent-to-broker-connector-key-store-file agent-to-broker-connector-key-store-pass
enable-gateway gateway-to-broker-connector-https-port gateway-to-broker-connector-bind-host
gateway-to-broker-connector-key-store-file gateway-to-broker-connector-key-store-pass
enable-tls-client-auth-gateway gateway-to-broker-connector-trust-store-file gateway-to-broker-connector-trust-store-pass
broker-to-broker-port broker-to-broker-bind-host cli-to-broker-port broker-to-broker-discovery-port
broker-to-broker-discovery-addresses broker-to-broker-discovery-multicast-group broker-to-broker-discovery-multicast-port
broker-to-broker-discovery-aws-region broker-to-broker-discovery-aws-alb-target-group-arn
broker-to-broker-distributed-memory-max-size-mb broker-to-broker-key-store-file broker-to-broker-key-store-pass
broker-to-broker-connection-login broker-to-broker-connection-pass
enable-persistence persistence-db dynamodb-region dynamodb-table-rcu dynamodb-table-wcu dynamodb-table-name-prefix
jdbc-connection-url jdbc-user jdbc-password connect-session-token-duration-minutes
create-sessions-queue-max-size create-sessions-queue-max-time-seconds create-sessions-number-of-retries-on-failure
session-screenshot-max-width session-screenshot-max-height session-screenshot-format
autorun-file-arguments-max-size autorun-file-arguments-max-argument-length
enable-cloud-watch-metrics cloud-watch-region metrics-fleet-name-dimension broker-java-home
delete-session-duration-hours seconds-before-deleting-unreachable-dcv-server
""".split())

# Seen in a failed deployment: the broker ignores them and keeps its self-signed certificate.
BROKER_NONEXISTENT_KEYS = {
    "enable-session-resolver": "the session resolver is switched on by enable-gateway (the role sets it when "
                               "the inventory has gateways)",
    "session-resolver-timeout": "the broker has no such setting",
    "ca-file": "the broker reads its TLS identity from key stores; the role installs them",
    "certificate-file": "the broker reads its TLS identity from key stores; the role installs them",
    "certificate-key-file": "the broker reads its TLS identity from key stores; the role installs them",
}

# Keys the role derives from the wiring or its own variables: one place for each fact.
BROKER_MANAGED_KEYS = dict((key, variable) for variable, component, _label, _default, key in PORTS
                           if component == "broker")
BROKER_MANAGED_KEYS.update({
    "broker-to-broker-discovery-addresses": "the dcv_brokers group",
    "enable-gateway": "the dcv_gateways group",
    "enable-tls-client-auth-gateway": "dcv_gateway_client_auth",
    "client-to-broker-connector-key-store-file": "the role's key store",
    "client-to-broker-connector-key-store-pass": "the role's key store",
    "agent-to-broker-connector-key-store-file": "the role's key store",
    "agent-to-broker-connector-key-store-pass": "the role's key store",
    "gateway-to-broker-connector-key-store-file": "the role's key store",
    "gateway-to-broker-connector-key-store-pass": "the role's key store",
    "gateway-to-broker-connector-trust-store-file": "dcv_gateway_client_auth",
    "gateway-to-broker-connector-trust-store-pass": "dcv_gateway_client_auth",
    "broker-to-broker-key-store-file": "dcv_broker_cluster_tls (the role's key store)",
    "broker-to-broker-key-store-pass": "dcv_broker_cluster_tls (the role's key store)",
    "broker-java-home": "dcv_broker_java_home",
    "broker-to-broker-connection-pass": "the generated cluster password",
    "broker-to-broker-connection-login": "dcv_broker_cluster_login",
    "client-to-broker-connector-bind-host": "dcv_broker_bind_host",
    "agent-to-broker-connector-bind-host": "dcv_broker_bind_host",
    "gateway-to-broker-connector-bind-host": "dcv_broker_bind_host",
    "broker-to-broker-bind-host": "dcv_broker_bind_host",
    "session-manager-working-path": "the package's working directory",
    "enable-persistence": "dcv_broker_persistence",
    "persistence-db": "dcv_broker_persistence",
    "dynamodb-region": "dcv_broker_dynamodb_region",
    "dynamodb-table-rcu": "dcv_broker_dynamodb_table_rcu",
    "dynamodb-table-wcu": "dcv_broker_dynamodb_table_wcu",
    "dynamodb-table-name-prefix": "dcv_broker_dynamodb_table_prefix",
    "jdbc-connection-url": "dcv_broker_jdbc_url",
    "jdbc-user": "dcv_broker_jdbc_user",
    "jdbc-password": "dcv_broker_jdbc_password",
    "connect-session-token-duration-minutes": "dcv_broker_connect_session_token_minutes",
})

GATEWAY_KEYS = {
    "gateway": frozenset(["web-listen-endpoints", "quic-listen-endpoints", "cert-file", "cert-key-file"]),
    "health-check": frozenset(["bind-addr", "port", "tls-strict"]),
    "resolver": frozenset(["url", "ca-file", "cert-file", "cert-key-file", "tls-strict"]),
    "dcv": frozenset(["ca-file", "tls-strict"]),
    "web-resources": frozenset(["local-resources-path", "url", "ca-file", "tls-strict"]),
    "log": frozenset(["level"]),
    "metrics-reporter-statsd": frozenset(["host", "port", "prefix"]),
}

GATEWAY_NONEXISTENT_KEYS = {
    ("gateway", "web-port"): "the port is part of web-listen-endpoints; set dcv_gateway_web_port",
    ("gateway", "quic-port"): "QUIC endpoints are quic-listen-endpoints; set dcv_gateway_quic_enabled",
    ("gateway", "web-url-path-regex"): "the gateway has no such setting",
}

# sm-admin "Agent Configuration File", plus the [agent] keys of sm-admin "Release notes and document history for
# Amazon DCV Session Manager": max_virtual_sessions and max_concurrent_sessions_per_user (2021.0-10242),
# enable_query_logged_in_users (2025.0-539).
AGENT_KEYS = {
    "agent": frozenset(["broker_host", "broker_port", "ca_file", "tls_strict", "init_folder", "autorun_folder",
                        "tags_folder", "software_statement_path", "broker_update_interval", "dcv_root",
                        "max_virtual_sessions", "max_concurrent_sessions_per_user", "enable_query_logged_in_users"]),
    "log": frozenset(["level", "directory", "rotation"]),
}

# Value kinds of the agent keys an operator may set through dcv_agent_extra_settings: "count" is an integer >= 0.
AGENT_KEY_KINDS = {
    ("agent", "max_virtual_sessions"): "count",
    ("agent", "max_concurrent_sessions_per_user"): "count",
    ("agent", "enable_query_logged_in_users"): "bool",
}


def agent_value_problems(settings, variable="dcv_agent_extra_settings"):
    """Type checks for the agent keys whose kind is documented (AGENT_KEY_KINDS)."""
    errors = []
    if not isinstance(settings, dict):
        return errors
    for (section, key), kind in sorted(AGENT_KEY_KINDS.items()):
        values = settings.get(section)
        if not isinstance(values, dict) or key not in values:
            continue
        value = values[key]
        if kind == "count" and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            errors.append("%s: [%s] %s must be a non-negative integer (got %r)" % (variable, section, key, value))
        elif kind == "bool" and not isinstance(value, bool):
            errors.append("%s: [%s] %s must be true or false (got %r)" % (variable, section, key, value))
    return errors


_TRAILING_COMMENT = re.compile(r"\s[#!]")
_SOCKET_ADDRESS = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]+)):(?P<port>\d{1,5})$")


# dcv.conf keys that switch certificate verification off: [security] no-tls-strict = true makes the DCV server
# accept any certificate from the auth-token-verifier (the broker). Beyond the known key, any "no-...tls/ssl/
# verify/strict" key set true and any "...tls-strict/verify..." key set false is read the same way.
DCV_CONF_VERIFICATION_OFF = (("security", "no-tls-strict"),)
_NEGATED_VERIFY_KEY = re.compile(r"^no[-_].*(tls|ssl|verif|strict)", re.IGNORECASE)
_VERIFY_KEY = re.compile(r"(tls[-_]strict|(^|[-_])verify([-_]|$))", re.IGNORECASE)
_TRUE_WORDS = ("true", "yes", "on", "1")
_FALSE_WORDS = ("false", "no", "off", "0")


def _word(value):
    return str(value).strip().strip('"').lower()


def dcv_conf_verification_off(section, key, value):
    """True when this dcv.conf setting turns TLS certificate verification off."""
    if (section, key) in DCV_CONF_VERIFICATION_OFF or _NEGATED_VERIFY_KEY.search(key):
        return _word(value) in _TRUE_WORDS
    if _VERIFY_KEY.search(key):
        return _word(value) in _FALSE_WORDS
    return False


def dcv_conf_insecure_problems(settings, allow_insecure=False, variable="dcv_server_extra_settings"):
    """dcv.conf settings that switch TLS verification off, refused unless dcv_allow_insecure_tls is true."""
    errors = []
    if allow_insecure is True or _word(allow_insecure) in _TRUE_WORDS or not isinstance(settings, dict):
        return errors
    for section, keys in settings.items():
        if not isinstance(keys, dict):
            continue
        for key, value in keys.items():
            if dcv_conf_verification_off(str(section), str(key), value):
                errors.append("%s: [%s] %s = %s turns TLS certificate verification off (the DCV server would "
                              "accept any certificate); remove it and trust the collection's CA instead, or set "
                              "dcv_allow_insecure_tls: true explicitly if you really mean it"
                              % (variable, section, key, _word(value)))
    return errors


def broker_property_problems(properties, extra_properties, variable="dcv_broker_properties",
                             extra_variable="dcv_broker_extra_properties"):
    """Return (errors, warnings) for the operator's broker properties."""
    errors = []
    warnings = []
    for source, values in ((variable, properties or {}), (extra_variable, extra_properties or {})):
        if not isinstance(values, dict):
            errors.append("%s must be a mapping of broker property names to values" % source)
            continue
        for key, value in values.items():
            key = str(key)
            if key in BROKER_NONEXISTENT_KEYS:
                errors.append("%s: key '%s' does not exist in the broker (%s); remove it"
                              % (source, key, BROKER_NONEXISTENT_KEYS[key]))
                continue
            if key in BROKER_MANAGED_KEYS:
                errors.append("%s: key '%s' is set by the role from %s; remove it from %s"
                              % (source, key, BROKER_MANAGED_KEYS[key], source))
                continue
            if source == variable and key not in BROKER_KEYS:
                errors.append("%s: key '%s' is not a documented broker property (the broker would ignore it "
                              "silently); fix the spelling, or if it is newer than this collection put it in %s"
                              % (source, key, extra_variable))
                continue
            if source == extra_variable:
                if key in BROKER_KEYS:
                    errors.append("%s: key '%s' is a documented property; put it in %s" % (source, key, variable))
                    continue
                if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", key):
                    errors.append("%s: key %r is not a property name (letters, digits, '.', '_', '-')"
                                  % (source, key))
                    continue
                warnings.append("%s: key '%s' is not in this collection's list of broker properties; it is "
                                "written as given, unchecked" % (source, key))
            if isinstance(value, (dict, list)) or value is None:
                errors.append("%s: key '%s' needs a single value (string, number or boolean)" % (source, key))
            elif _TRAILING_COMMENT.search(str(value)):
                errors.append("%s: key '%s' value carries a comment (%r); in Java properties a '#' after a "
                              "value becomes part of the value: put comments on their own lines"
                              % (source, key, str(value)))
            elif "\n" in str(value) or "\r" in str(value):
                errors.append("%s: key '%s' value spans lines; give a single-line value" % (source, key))
    return errors, warnings


def is_plain_name(name):
    return isinstance(name, str) and bool(re.match(r"^[A-Za-z0-9_-]+$", name))


def _ip_literal(match):
    """The address of a parsed endpoint when it is an IP literal in the right brackets, else None."""
    text = match.group("v6") if match.group("v6") is not None else match.group("host")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address if (address.version == 6) == (match.group("v6") is not None) else None


def socket_address_problems(endpoints, variable, expected_port=None, port_variable=None):
    """Listen endpoints must be IP socket addresses ("0.0.0.0:8443", "[::]:8443"): never URLs, never host names
    (gw-admin "Configuration File Reference": the value must be a valid IP address syntax)."""
    errors = []
    if not isinstance(endpoints, (list, tuple)):
        return ["%s must be a list of socket addresses such as \"0.0.0.0:8443\"" % variable]
    for endpoint in endpoints:
        text = str(endpoint)
        match = _SOCKET_ADDRESS.match(text)
        if "://" in text or match is None:
            errors.append("%s: %r is not a socket address; write address:port such as \"0.0.0.0:8443\" or "
                          "\"[::]:8443\" (no scheme, no path)" % (variable, text))
        elif _ip_literal(match) is None:
            errors.append("%s: %r does not start with an IP address; the gateway binds IP socket addresses only: "
                          "write \"0.0.0.0:%s\" (all IPv4), \"[::]:%s\" (all IPv6) or this host's own address, "
                          "not a host name (IPv6 in brackets)"
                          % (variable, text, match.group("port"), match.group("port")))
        elif not 1 <= int(match.group("port")) <= 65535:
            errors.append("%s: %r has a port out of range 1-65535" % (variable, text))
        elif expected_port is not None and int(match.group("port")) != int(expected_port):
            errors.append("%s: %r listens on another port than %s = %s; make them agree (the wiring checks "
                          "port clashes on %s)" % (variable, text, port_variable, expected_port, port_variable))
    return errors


def endpoint_port(endpoint):
    match = _SOCKET_ADDRESS.match(str(endpoint))
    return int(match.group("port")) if match else None


def toml_section_problems(sections, catalog, nonexistent, variable, extra_variable=None):
    """Check {section: {key: value}} against a product's documented TOML keys."""
    errors = []
    warnings = []
    if not isinstance(sections, dict):
        return ["%s must be a mapping of section names to mappings of keys" % variable], warnings
    for section, keys in sections.items():
        section = str(section)
        if not re.match(r"^[A-Za-z0-9_-]+$", section):
            errors.append("%s: section name %r is not a plain TOML name (letters, digits, '_' and '-'; no "
                          "braces, dots, quotes or spaces)" % (variable, section))
            continue
        if not isinstance(keys, dict):
            errors.append("%s: section '%s' must be a mapping of keys to values" % (variable, section))
            continue
        for key in keys:
            key = str(key)
            if not re.match(r"^[A-Za-z0-9_-]+$", key):
                errors.append("%s: key %r in section '%s' is not a plain TOML name (letters, digits, '_' and "
                              "'-')" % (variable, key, section))
            elif (section, key) in nonexistent:
                errors.append("%s: key '%s' in [%s] does not exist (%s); remove it"
                              % (variable, key, section, nonexistent[(section, key)]))
            elif section not in catalog or key not in catalog[section]:
                if extra_variable is None:
                    errors.append("%s: key '%s' in [%s] is not a documented setting; fix the spelling"
                                  % (variable, key, section))
                else:
                    warnings.append("%s: key '%s' in [%s] is not in this collection's list; written unchecked"
                                    % (variable, key, section))
    return errors, warnings
