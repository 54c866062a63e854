# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of a DCV server host's input (role dcv_server)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.dcvkit.session_manager.plugins.module_utils.config_problems import dcv_ini_settings_problems
from ansible_collections.dcvkit.session_manager.plugins.module_utils.preflight.values import (
    as_bool, is_boolean, is_whole_number, text)

NEEDS = ("dcv_wiring", "dcv_server_host", "dcv_server_desktop", "dcv_server_create_session", "dcv_server_quic_enabled",
         "dcv_server_license_file", "dcv_server_session_type", "dcv_server_gpu", "dcv_server_idle_timeout_minutes",
         "dcv_server_settings", "dcv_server_extra_settings", "dcv_server_managed_keys", "dcv_allow_insecure_tls")

DESKTOPS = ("none", "gnome", "xfce")
SESSION_TYPES = ("virtual", "console")
# an RLM license server (PORT@HOST) or a license file on the host
_LICENSE = re.compile(r"^([0-9]+@[A-Za-z0-9.-]+|/.+)$")
# Admin guide "Amazon DCV Server parameter reference": [connectivity] idle-timeout is a DWORD in the Windows registry
_DWORD_MAX = 4294967295


def _in_wiring(v):
    if v["inventory_hostname"] in v["dcv_wiring"]["server_hosts"]:
        return []
    return ["%s runs dcv_server but is not in the dcv_servers group; add it there" % v["inventory_hostname"]]


def _mapping(v):
    # sm-admin "Amazon DCV Session Manager Amazon DCV server - DNS mapping reference": the gateway connects to a DCV
    # server by the DNS name the broker maps the server's address to. The brokers map the addresses of
    # dcv_host_addresses (the agent reports one of them); a mapped server without any gets no mapping, the resolver
    # hands the gateway its IP, and its certificate (DNS names only) fails the gateway's strict TLS.
    host = v["dcv_server_host"]
    if not host.get("dns_mapped", False) or len(host["addresses"]) > 0:
        return []
    return ["host %s: dcv_host_addresses is empty, but the brokers map the address this DCV server's agent reports to "
            "its DNS name %s (dcv_server_dns_mappings, sm-admin \"Amazon DCV Session Manager Amazon DCV server - DNS "
            "mapping reference\"), so that the gateway connects by name. List the host's private address in "
            "dcv_host_addresses (a fixed address, or ansible_facts['default_ipv4']['address'] in a template), or set "
            "dcv_server_dns_mappings: false for it (no mapping; its certificate then carries dcv_host_addresses)."
            % (v["inventory_hostname"], host["name"])]


def _variables(v, os_family):
    desktop, license_file = v["dcv_server_desktop"], v["dcv_server_license_file"]
    if (desktop in DESKTOPS and (desktop != "xfce" or os_family == "Debian")
            and is_boolean(v["dcv_server_create_session"]) and is_boolean(v["dcv_server_quic_enabled"])
            and (license_file == "" or _LICENSE.match(text(license_file)))):
        return []
    return ["dcv_server_desktop must be none, gnome or xfce (xfce on Debian-family hosts only: this host is %s); "
            "dcv_server_create_session and dcv_server_quic_enabled must be booleans; dcv_server_license_file must be "
            "PORT@HOST (RLM server) or an absolute path." % os_family]


def _session_type(v):
    # Admin guide "Prerequisites for Linux Amazon DCV servers" and "Introduction to Amazon DCV sessions": a DCV server
    # hosts console sessions or virtual sessions, never both at once; a console session runs on the display manager's
    # X server, which the Xfce choice does not install.
    session_type = v["dcv_server_session_type"]
    if (session_type in SESSION_TYPES and is_boolean(v["dcv_server_gpu"])
            and (not as_bool(v["dcv_server_create_session"]) or session_type == "console")
            and (session_type != "console" or v["dcv_server_desktop"] != "xfce")):
        return []
    return ["host %s: dcv_server_session_type is %s (dcv_server_desktop %s, dcv_server_create_session %s, dcv_server_gpu "
            "%s). dcv_server_session_type must be virtual or console and dcv_server_gpu a boolean. A DCV server hosts "
            "console or virtual sessions, never both: an automatic console session (dcv_server_create_session: true) "
            "needs dcv_server_session_type: console. Console sessions run on a display manager's X server: with "
            "dcv_server_session_type console use dcv_server_desktop gnome (GDM), or none when the host has its own "
            "display manager."
            % (v["inventory_hostname"], text(session_type), text(v["dcv_server_desktop"]),
               text(v["dcv_server_create_session"]), text(v["dcv_server_gpu"]))]


def _idle_timeout(v):
    # Admin guide "Amazon DCV Server parameter reference": [connectivity] idle-timeout is a number of minutes, 0 never
    # disconnects an idle client
    minutes = v["dcv_server_idle_timeout_minutes"]
    if is_whole_number(minutes) and int(minutes) <= _DWORD_MAX:
        return []
    return ["dcv_server_idle_timeout_minutes is %s: the minutes without input after which the DCV server disconnects a "
            "client ([connectivity] idle-timeout) must be a whole number from 0 (never disconnect) to %d; the product "
            "default is 60." % (text(minutes), _DWORD_MAX)]


def _settings(v):
    problems = dcv_ini_settings_problems(v["dcv_server_settings"], v["dcv_server_extra_settings"],
                                         v["dcv_server_managed_keys"], allow_insecure=as_bool(v["dcv_allow_insecure_tls"]))
    if not problems:
        return []
    return ["dcv.conf settings would be wrong, nothing was changed: %s" % " | ".join(problems)]


def problems(v):
    os_family = (v.get("ansible_facts") or {}).get("os_family")
    found = _in_wiring(v)
    if found:
        return found
    return _mapping(v) + _variables(v, os_family) + _session_type(v) + _idle_timeout(v) + _settings(v)
