# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What verify.yml reads on each host, and how it reads it back on the control node.

The paths are the products' (admin guide, sm-admin) and the roles' (roles/*/vars/main.yml). TOML is parsed
on the control node (python 3.11 tomllib): targets may have an older python.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import configparser
import json
import re

from ansible_collections.dcvkit.session_manager.plugins.module_utils.broker_dns_mappings import (
    MappingsError, parse_described)
from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_config_formats import (
    ConfigFormatError, parse_toml)
from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_products import PRODUCTS

BROKER_PROPERTIES = PRODUCTS["broker"]["config_file"]
BROKER_CA = PRODUCTS["broker"]["tls_dir"] + "/ca.pem"
BROKER_UNIT = PRODUCTS["broker"]["unit"]
BROKER_CLI = PRODUCTS["broker"]["cli"]
GATEWAY_CONF = PRODUCTS["gateway"]["config_file"]
GATEWAY_UNIT = PRODUCTS["gateway"]["unit"]
DCV_CONF = PRODUCTS["server"]["config_file"]
DCV_UNIT = PRODUCTS["server"]["unit"]
AGENT_CONF = PRODUCTS["agent"]["config_file"]
AGENT_LOG = PRODUCTS["agent"]["log_file"]
AGENT_UNIT = PRODUCTS["agent"]["unit"]

UNITS = {"broker": [BROKER_UNIT], "gateway": [GATEWAY_UNIT], "server": [DCV_UNIT, AGENT_UNIT]}


def collect_spec(components, credentials_file=None, broker_url=None):
    """The arguments of the first link_check run on a host with these components."""
    files, units, commands = [], [], []
    for component in components:
        units.extend(UNITS.get(component, []))
    if "broker" in components:
        files.append({"path": BROKER_PROPERTIES, "kind": "properties"})
        commands.append({"name": "agent_clients", "argv": [BROKER_CLI, "describe-agent-clients"]})
        commands.append({"name": "dns_mappings", "argv": [BROKER_CLI, "describe-server-dns-mappings"]})
    if "gateway" in components:
        files.append({"path": GATEWAY_CONF, "kind": "text"})
    if "server" in components:
        files.append({"path": DCV_CONF, "kind": "text"})
        files.append({"path": AGENT_CONF, "kind": "text"})
        files.append({"path": AGENT_LOG, "kind": "log", "pattern": "sessionsUpdateResponse", "last": 1})
        commands.append({"name": "dcv_sessions", "argv": ["dcv", "list-sessions", "-j"]})
    spec = {"files": files, "units": units, "commands": commands, "listeners": True, "broker_api": None}
    if "broker" in components and credentials_file and broker_url:
        spec["broker_api"] = {"url": broker_url, "ca_file": BROKER_CA, "credentials_file": credentials_file}
    return spec


class Config(object):
    """One live config file read back: ``data`` when it parsed, else ``error``; ``missing`` when absent."""

    def __init__(self, path, data=None, error=None, missing=False):
        self.path = path
        self.data = data
        self.error = error
        self.missing = missing

    def get(self, section, key, default=None):
        if not self.data:
            return default
        return (self.data.get(section) or {}).get(key, default)


def _file(live, path):
    return ((live or {}).get("files") or {}).get(path) or {"exists": False}


def _ini_value(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def read_config(live, path):
    entry = _file(live, path)
    if not entry.get("exists"):
        return Config(path, missing=True)
    if entry.get("error"):
        return Config(path, error=entry["error"])
    if path == BROKER_PROPERTIES:
        return Config(path, data={"": entry.get("properties") or {}})
    text = entry.get("content") or ""
    if path == DCV_CONF:
        parser = configparser.ConfigParser(interpolation=None, strict=False, delimiters=("=",))
        parser.optionxform = str
        try:
            parser.read_string(text)
        except configparser.Error as error:
            return Config(path, error="INI does not parse: %s" % str(error).replace("\n", " "))
        return Config(path, data=dict((s, dict((k, _ini_value(v)) for k, v in parser.items(s)))
                                      for s in parser.sections()))
    try:
        return Config(path, data=parse_toml(text))
    except ConfigFormatError as error:
        return Config(path, error=str(error))


def broker_property(live, key, default=None):
    return read_config(live, BROKER_PROPERTIES).get("", key, default)


def dcv_sessions(live):
    """Sessions the DCV server reports (``dcv list-sessions -j``), or None when it could not be asked."""
    command = ((live or {}).get("commands") or {}).get("dcv_sessions")
    if not command or command.get("rc") != 0:
        return None
    text = command.get("stdout") or ""
    try:
        data = json.loads(text)
    except ValueError:
        return _sessions_from_text(text)
    if isinstance(data, dict):
        data = data.get("sessions") or data.get("Sessions") or []
    return [{"id": s.get("id") or s.get("session-id") or s.get("Id"),
             "owner": s.get("owner") or s.get("Owner"), "type": s.get("type") or s.get("Type")}
            for s in data if isinstance(s, dict)]


def _sessions_from_text(text):
    found = []
    for match in re.finditer(r"Session: '([^']+)' \(owner:(\S+) type:(\w+)", text):
        found.append({"id": match.group(1), "owner": match.group(2), "type": match.group(3)})
    return found


def agent_clients(live):
    """Agent clients the broker CLI lists ([{"name","id","active"}]), or None."""
    command = ((live or {}).get("commands") or {}).get("agent_clients")
    if not command or command.get("rc") != 0:
        return None
    text = command.get("stdout") or ""
    body = text.split("\n", 1)[1] if "\n" in text else ""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, list) else None


def dns_mappings(live):
    """(mappings in the file form, None) from describe-server-dns-mappings, or (None, why they could not be read)."""
    command = ((live or {}).get("commands") or {}).get("dns_mappings")
    if not command:
        return None, "describe-server-dns-mappings was not run"
    if command.get("rc") != 0:
        return None, "describe-server-dns-mappings failed (rc=%s): %s" % (
            command.get("rc"), ((command.get("stderr") or "") + (command.get("stdout") or "")).strip()[:300])
    try:
        return parse_described(command.get("stdout") or ""), None
    except MappingsError as error:
        return None, str(error)


def unit(live, name):
    return ((live or {}).get("units") or {}).get(name) or {}


def unit_active(live, name):
    return unit(live, name).get("ActiveState") == "active"
