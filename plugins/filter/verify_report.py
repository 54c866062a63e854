# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of playbooks/verify.yml: what to read on a host, which links to probe, and the table of rows."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dcvkit.session_manager.plugins.module_utils import verify_live, verify_rows


def _get(mapping, key, default=None):
    try:
        value = mapping[key]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def verify_hosts(host_names, hostvars):
    """What the first play registered on each host, in the shape verify_rows reads."""
    hosts = {}
    for host in host_names:
        hv = _get(hostvars, host, {})
        live = _get(hv, "dcv_verify_live", {})
        links = _get(hv, "dcv_verify_links", {})
        endpoints = _get(hv, "dcv_verify_endpoints", {})
        if links and not links.get("skipped") and endpoints and not endpoints.get("skipped"):
            links = dict(links, probes=dict(links.get("probes") or {}, **(endpoints.get("probes") or {})))
        entry = {
            "components": [],
            "live": dict(live) if live and not live.get("failed") and not live.get("unreachable") else None,
            "links": dict(links) if links and not links.get("skipped") else None,
            "t0": _get(hv, "dcv_verify_t0"),
            "t1": _get(hv, "dcv_verify_t1"),
            "public_names": list(_get(hv, "dcv_gateway_public_names", []) or []),
            "extra_properties": dict(_get(hv, "dcv_broker_extra_properties", {}) or {}),
        }
        if live and live.get("unreachable"):
            entry["unreachable"] = live.get("msg") or "unreachable"
        elif live and live.get("failed"):
            entry["unreachable"] = "link_check failed: %s" % live.get("msg")
        elif not live:
            entry["unreachable"] = "no result (the host dropped out of the run)"
        hosts[host] = entry
    return hosts


def verify_operator_probes(wiring, hostvars, ca_file, addresses=None):
    """Probes from the operator's machine: every public name of every gateway, through the proxy settings."""
    probes = []
    for gateway in wiring.get("gateway_hosts", []):
        port = wiring["hosts"][gateway]["ports"].get("dcv_gateway_web_port", 8443)
        for name in _get(_get(hostvars, gateway, {}), "dcv_gateway_public_names", []) or []:
            probe = {"name": "public:%s" % name, "host": name, "port": port, "ca_file": ca_file, "use_proxy": True}
            if (addresses or {}).get(name):
                probe["address"] = addresses[name]
            probes.append(probe)
    return probes


def verify_collect_spec(components, credentials_file=None, broker_url=None):
    return verify_live.collect_spec(components or [], credentials_file, broker_url)


def verify_probes(hosts, host, wiring, gateway_ca_file=None):
    return verify_rows.probes_for(host, hosts, wiring, {"gateway_ca_file": gateway_ca_file})


def verify_endpoint_probes(hosts, host, wiring):
    return verify_rows.endpoint_probes(host, hosts, wiring)


def dcv_session_resolver_probe(live, session_id, config_file=verify_live.GATEWAY_CONF):
    return verify_rows.session_resolver_probe(live or {}, session_id, config_file)


def dcv_session_resolver_problem(result, session_id, gateway_host, config_file=verify_live.GATEWAY_CONF):
    return verify_rows.session_resolver_problem(result, session_id, gateway_host, config_file)


def verify_rows_of(hosts, wiring, max_skew=10, operator=None):
    return verify_rows.build_rows(hosts, wiring, float(max_skew), operator)


def verify_table(rows):
    return verify_rows.table(rows)


class FilterModule(object):
    def filters(self):
        return {
            "dcv_session_resolver_probe": dcv_session_resolver_probe,
            "dcv_session_resolver_problem": dcv_session_resolver_problem,
            "verify_collect_spec": verify_collect_spec,
            "verify_hosts": verify_hosts,
            "verify_operator_probes": verify_operator_probes,
            "verify_probes": verify_probes,
            "verify_endpoint_probes": verify_endpoint_probes,
            "verify_rows": verify_rows_of,
            "verify_table": verify_table,
        }
