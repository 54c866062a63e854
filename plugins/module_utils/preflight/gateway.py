# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of a Connection Gateway's input (role dcv_gateway), ending with the proof that the configuration the role
would write parses as TOML and reads back exactly as meant. Whether an active firewall would enforce the allowed
sources is asked of the host: the role's tasks/preflight.yml checks that after these."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.dcvkit.session_manager.plugins.module_utils.certificate_problems import (
    dcv_certificate_problems)
from ansible_collections.dcvkit.session_manager.plugins.module_utils.config_problems import (
    dcv_gateway_setting_problems)
from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_catalog import socket_address_problems
from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_config_formats import toml_problems
from ansible_collections.dcvkit.session_manager.plugins.module_utils.preflight.values import text
from ansible_collections.dcvkit.session_manager.plugins.module_utils.source_networks import dcv_cidr_problems

# dcv_gateway_ports, dcv_gateway_names and dcv_gateway_settings come from this host's entry of the wiring: they are
# read only once the host is known to be a gateway of it
NEEDS = ("dcv_wiring", "dcv_gateway_web_listen_endpoints", "dcv_gateway_ports", "dcv_gateway_extra_settings",
         "dcv_gateway_managed_keys", "dcv_allow_insecure_tls", "dcv_gateway_log_level",
         "dcv_gateway_web_resources_url", "dcv_gateway_web_resources_path", "dcv_gateway_certificate_src",
         "dcv_gateway_private_key_src", "dcv_gateway_allowed_sources", "dcv_gateway_health_check_sources",
         "dcv_gateway_names", "dcv_gateway_settings")

LOG_LEVELS = ("error", "warn", "info", "debug", "trace")
TEMPLATE = "dcv-connection-gateway.conf.j2"


def _endpoints(v):
    return socket_address_problems(v["dcv_gateway_web_listen_endpoints"], "dcv_gateway_web_listen_endpoints",
                                   v["dcv_gateway_ports"]["dcv_gateway_web_port"], "dcv_gateway_web_port")


def _variables(v):
    url, path = v["dcv_gateway_web_resources_url"], v["dcv_gateway_web_resources_path"]
    if (v["dcv_gateway_log_level"] in LOG_LEVELS
            and (url == "" or re.match("^https://", text(url)))
            and (url != "" or re.match("^/", text(path)))
            and (v["dcv_gateway_certificate_src"] == "") == (v["dcv_gateway_private_key_src"] == "")):
        return []
    return ["dcv_gateway_log_level must be error|warn|info|debug|trace; dcv_gateway_web_resources_url must be "
            "https://...; dcv_gateway_web_resources_path must be absolute; dcv_gateway_certificate_src and "
            "dcv_gateway_private_key_src go together (both set or both empty)."]


def _sources(v):
    return (dcv_cidr_problems(v["dcv_gateway_allowed_sources"], "dcv_gateway_allowed_sources")
            + dcv_cidr_problems(v["dcv_gateway_health_check_sources"], "dcv_gateway_health_check_sources"))


def _certificate(v, read):
    """The supplied chain against its key and the gateway's names; read(VARIABLE, PATH) is the file's text, read on
    the control node. The messages never show the key."""
    if len(v["dcv_gateway_certificate_src"]) == 0:
        return []
    return dcv_certificate_problems(read("dcv_gateway_certificate_src", v["dcv_gateway_certificate_src"]),
                                    read("dcv_gateway_private_key_src", v["dcv_gateway_private_key_src"]),
                                    v["dcv_gateway_names"])


def _rendered(v, render, proven):
    """The template is a function of dcv_gateway_settings alone, so gateways that share settings render once."""
    document = v["dcv_gateway_settings"]
    key = (TEMPLATE, json.dumps(document, sort_keys=True, default=repr))
    if key not in proven:
        proven[key] = toml_problems(render(TEMPLATE, None), document)
    if not proven[key]:
        return []
    return ["dcv-connection-gateway.conf would be wrong, the old file stays: %s" % " | ".join(proven[key])]


def problems(v, render, read, proven=None):
    """render(TEMPLATE, ITEM) is the role's template rendered with the host's variables; read(VARIABLE, PATH) the text
    of a file on the control node; proven keeps the proofs of the rendered files across the hosts of one check."""
    if v["inventory_hostname"] not in v["dcv_wiring"]["gateway_hosts"]:
        return ["%s runs dcv_gateway but is not in the dcv_gateways group; add it there" % v["inventory_hostname"]]
    found = (_endpoints(v)
             + dcv_gateway_setting_problems(v["dcv_gateway_extra_settings"], v["dcv_gateway_managed_keys"],
                                            v["dcv_allow_insecure_tls"])["errors"]
             + _variables(v) + _sources(v))
    # the certificate is read only once both files are named, and the file rendered only from input that passed
    return found or _certificate(v, read) or _rendered(v, render, {} if proven is None else proven)
