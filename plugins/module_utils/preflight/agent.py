# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of a Session Manager Agent's input (role dcv_agent), ending with the proof that agent.conf and every tags
file the role would write parse as TOML and read back exactly as meant."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.dcvkit.session_manager.plugins.module_utils.config_problems import dcv_agent_setting_problems
from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_config_formats import toml_problems
from ansible_collections.dcvkit.session_manager.plugins.module_utils.preflight.values import (
    as_bool, is_mapping, is_whole_number, text)

NEEDS = ("dcv_wiring", "dcv_agent_tls_strict", "dcv_allow_insecure_tls", "dcv_agent_effective_broker_host",
         "dcv_agent_extra_settings", "dcv_agent_managed_keys", "dcv_agent_broker_update_interval", "dcv_agent_tags",
         "dcv_agent_log_level", "dcv_agent_document")

LOG_LEVELS = ("error", "warn", "info", "debug", "trace")
_TAG_FILE = re.compile(r"^[A-Za-z0-9_-]+$")


def _tls(v):
    if as_bool(v["dcv_agent_tls_strict"]) or as_bool(v["dcv_allow_insecure_tls"]):
        return []
    return ["dcv_agent_tls_strict is false: the agent would accept any certificate for the broker. Set it back to true, "
            "or set dcv_allow_insecure_tls: true explicitly if you really mean it."]


def _broker_name(v, broker_names):
    name = v["dcv_agent_effective_broker_host"]
    if name in broker_names:
        return []
    return ["dcv_agent_broker_host %s is not covered by any broker certificate (they cover %s); use one of those names, "
            "or add it to the broker host's dcv_host_aliases (or set dcv_broker_name) so its certificate carries it."
            % (text(name), ", ".join(broker_names))]


def _interval(v):
    interval = v["dcv_agent_broker_update_interval"]
    if interval in (None, "") or (is_whole_number(interval) and int(interval) > 0):
        return []
    return ["dcv_agent_broker_update_interval is %s: the agent reports to the broker every broker_update_interval "
            "seconds, so it must be a positive whole number (for example 30); remove it (null) to keep the agent's "
            "default." % text(interval)]


def _tags_and_log(v):
    tags = v["dcv_agent_tags"]
    if (is_mapping(tags) and all(_TAG_FILE.match(text(name)) for name in tags)
            and all(is_mapping(value) for value in tags.values()) and v["dcv_agent_log_level"] in LOG_LEVELS):
        return []
    return ["dcv_agent_tags must map file names (letters, digits, '_', '-') to mappings of tag = value; "
            "dcv_agent_log_level must be error|warn|info|debug|trace."]


def _proof(proven, template, document, render):
    """The problems of TEMPLATE rendered for DOCUMENT. The templates are functions of the document alone (agent.conf.j2
    of dcv_agent_settings, tags.toml.j2 of one tags mapping), so a fleet whose hosts share settings renders once."""
    key = (template, json.dumps(document, sort_keys=True, default=repr))
    if key not in proven:
        proven[key] = toml_problems(render(), document)
    return proven[key]


def _rendered(v, render, proven):
    problems = _proof(proven, "agent.conf.j2", v["dcv_agent_document"], lambda: render("agent.conf.j2", None))
    if problems:
        return ["agent.conf would be wrong, the old file stays: %s" % " | ".join(problems)]
    found = []
    for name, tags in v["dcv_agent_tags"].items():
        problems = _proof(proven, "tags.toml.j2", tags, lambda: render("tags.toml.j2", {"key": name, "value": tags}))
        if problems:
            found.append("dcv_agent_tags['%s'] would not be valid TOML: %s" % (name, " | ".join(problems)))
    return found


def problems(v, broker_names, render, proven=None):
    """render(TEMPLATE, ITEM) is the role's template rendered with the host's variables (and item = ITEM); proven
    keeps the proofs of the rendered files across the hosts of one check."""
    if v["inventory_hostname"] not in v["dcv_wiring"]["server_hosts"]:
        return ["%s runs dcv_agent but is not in the dcv_servers group; add it there" % v["inventory_hostname"]]
    found = (_tls(v) + _broker_name(v, broker_names)
             + dcv_agent_setting_problems(v["dcv_agent_extra_settings"], v["dcv_agent_managed_keys"],
                                          v["dcv_allow_insecure_tls"])["errors"]
             + _interval(v) + _tags_and_log(v))
    # the files are rendered only from input that passed: a broken value would fail the rendering instead
    return found or _rendered(v, render, {} if proven is None else proven)
