# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""verify.yml's diagnosis, on the control node: which probes each host runs (from its live configuration),
and one row per link from what the hosts saw: ``ok``, or the cause and the fix.

Input per host (``hosts``): {"components", "live" (first link_check run), "links" (second run), "t0"/"t1"
(controller clock around the first run), "unreachable" (message), "public_names", "extra_properties"}.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.dcvkit.session_manager.plugins.module_utils import verify_live as L
from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_catalog import (
    AGENT_KEYS, BROKER_KEYS, BROKER_NONEXISTENT_KEYS, GATEWAY_KEYS, GATEWAY_NONEXISTENT_KEYS, endpoint_port)
from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_products import PORTS, PRODUCTS

RESOLVER_404 = "The requested combination of transport and sessionId does not exist"
PROBE_SESSION = "dcvkit-verify-no-such-session"
SITE = "ansible-playbook -i INVENTORY site.yml"

_URL = re.compile(r"^https://(?P<host>\[[^\]]+\]|[^:/]+)(?::(?P<port>\d+))?(?P<path>/.*)?$")


def parse_url(url, default_port=443):
    match = _URL.match(str(url or ""))
    if not match:
        return None
    return {"host": match.group("host").strip("[]"), "port": int(match.group("port") or default_port),
            "path": match.group("path") or "/"}


# ----------------------------------------------------------------------------------------- probes

def probes_for(host, hosts, wiring, settings=None):
    """The TLS probes ``host`` runs, built from its live configuration (what the products really use)."""
    settings = settings or {}
    _components(hosts, wiring)
    me = hosts[host]
    live = me.get("live") or {}
    components = me.get("components") or []
    probes = []
    if "server" in components:
        agent = L.read_config(live, L.AGENT_CONF)
        if agent.data:
            probes.append({"name": "agent_broker", "host": str(agent.get("agent", "broker_host", "")),
                           "port": int(agent.get("agent", "broker_port", 8445)),
                           "ca_file": agent.get("agent", "ca_file"), "method": "GET", "path": "/health"})
        dcv = L.read_config(live, L.DCV_CONF)
        verifier = parse_url(dcv.get("security", "auth-token-verifier"))
        if verifier:
            probes.append({"name": "server_verifier", "host": verifier["host"], "port": verifier["port"],
                           "ca_file": dcv.get("security", "ca-file"), "method": "POST", "path": verifier["path"],
                           "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                           "body": "sessionId=%s&authenticationToken=x&clientAddress=127.0.0.1" % PROBE_SESSION})
    if "gateway" in components:
        gateway = L.read_config(live, L.GATEWAY_CONF)
        probe = resolver_probe(gateway, "resolver", PROBE_SESSION)
        if probe:
            probes.append(probe)
            for server, session in live_sessions(hosts):
                probes.append(resolver_probe(gateway, "resolve:%s:%s" % (server, session["id"]), session["id"]))
        for server in wiring.get("server_hosts", []):
            dcv = L.read_config((hosts.get(server) or {}).get("live"), L.DCV_CONF)
            port = dcv.get("connectivity", "web-port") or wiring["hosts"][server]["ports"].get("dcv_server_web_port", 8443)
            probes.append({"name": "dcv:%s" % server, "host": wiring["hosts"][server]["name"], "port": int(port),
                           "ca_file": gateway.get("dcv", "ca-file")})
        port = _gateway_port(gateway, wiring["hosts"][host])
        for name in me.get("public_names") or []:
            probes.append({"name": "public:%s" % name, "host": name, "address": "127.0.0.1", "port": port,
                           "ca_file": settings.get("gateway_ca_file") or gateway.get("dcv", "ca-file")})
    if "broker" in components:
        probes.append({"name": "client_api", "host": wiring["broker_name"], "port": wiring["broker_client_port"],
                       "ca_file": L.BROKER_CA, "method": "POST", "path": "/oauth2/token?grant_type=client_credentials",
                       "headers": {"Content-Type": "application/x-www-form-urlencoded"}})
    return probes


def endpoint_probes(host, hosts, wiring):
    """Third pass on a gateway: the DCV server endpoints the resolver handed out for live sessions (the exact
    address and port the gateway connects to; an IP unless the broker has a DNS mapping)."""
    _components(hosts, wiring)
    me = hosts[host]
    if "gateway" not in me["components"]:
        return []
    gateway = L.read_config(me.get("live"), L.GATEWAY_CONF)
    seen = set()
    probes = []
    for name, result in sorted((((me.get("links") or {}).get("probes")) or {}).items()):
        if not name.startswith("resolve:") or (result or {}).get("status") != 200:
            continue
        server = name.split(":")[1]
        try:
            resolved = json.loads(result.get("body") or "")
            endpoint, port = str(resolved["DcvServerEndpoint"]), int(resolved["Port"])
        except (ValueError, KeyError, TypeError):
            continue
        if (server, endpoint, port) in seen or endpoint == wiring["hosts"].get(server, {}).get("name"):
            continue  # the server's own name (a DNS mapping at work) is probed already, as dcv:SERVER
        seen.add((server, endpoint, port))
        probes.append({"name": "dcv-ip:%s" % server, "host": endpoint, "port": port,
                       "ca_file": gateway.get("dcv", "ca-file")})
    return probes


def _resolve_path(session_id):
    return "/resolveSession?sessionId=%s&transport=HTTP&clientIpAddress=127.0.0.1" % session_id


def resolver_probe(gateway, name, session_id):
    """The resolver call the gateway makes when a browser opens a session (its URL, CA and client certificate, read
    from the gateway's live configuration ``gateway``), or None without a [resolver] url."""
    resolver = parse_url(gateway.get("resolver", "url"))
    if not resolver:
        return None
    return {"name": name, "host": resolver["host"], "port": resolver["port"],
            "ca_file": gateway.get("resolver", "ca-file"), "cert_file": gateway.get("resolver", "cert-file"),
            "key_file": gateway.get("resolver", "cert-key-file"), "method": "POST", "path": _resolve_path(session_id)}


def session_resolver_probe(live, session_id, config_file=L.GATEWAY_CONF):
    """The resolver probe for one session, from a gateway host's link_check result that read its configuration."""
    gateway = L.read_config(live, config_file)
    return resolver_probe(gateway, "session", session_id) if gateway.data else None


def session_resolver_problem(result, session_id, gateway_host, config_file=L.GATEWAY_CONF):
    """'' when the resolver found the session as the gateway asked for it; else what stops the URL from working.
    ``result`` is link_check's result of session_resolver_probe's probe (None: the gateway has no resolver)."""
    if result is None:
        return ("the gateway host %s has no readable configuration with a [resolver] url (%s), so no URL of session %s "
                "would open a desktop; fix: re-run %s (role dcv_gateway)" % (gateway_host, config_file, session_id, SITE))
    probe = (result.get("probes") or {}).get("session")
    if not probe or not probe.get("ok"):
        cause = (probe or {}).get("error") or (result.get("msg") if result.get("failed") else None) or "no answer"
        return ("the gateway host %s cannot reach the broker's resolver to look up session %s (%s), so its URL would "
                "not open the desktop; fix: run playbooks/verify.yml, its resolver row names the cause"
                % (gateway_host, session_id, cause))
    if probe.get("status") == 200:
        return ""
    return ("the broker's resolver answers HTTP %s for session %s (%s) when the gateway host %s asks for it, so its URL "
            "would not open the desktop; the URL is not printed. Run playbooks/verify.yml: its resolver rows name the "
            "cause" % (probe.get("status"), session_id, probe.get("body") or "no body", gateway_host))


def _gateway_port(gateway, wired):
    endpoints = gateway.get("gateway", "web-listen-endpoints") or []
    ports = [endpoint_port(e) for e in endpoints if endpoint_port(e)]
    return ports[0] if ports else wired["ports"].get("dcv_gateway_web_port", 8443)


def broker_view_of(hosts, wiring):
    for broker in wiring.get("broker_hosts", []):
        view = ((hosts.get(broker) or {}).get("live") or {}).get("broker_api")
        if view and (view.get("sessions") is not None or view.get("servers") is not None):
            return view
    return None


def live_sessions(hosts):
    found = []
    for server in sorted(hosts):
        if "server" not in (hosts[server].get("components") or []):
            continue
        for session in L.dcv_sessions(hosts[server].get("live")) or []:
            if session.get("id"):
                found.append((server, session))
    return found


# ----------------------------------------------------------------------------------------- rows

def _row(link, origin, problems, ok_text="ok"):
    problems = [p for p in problems if p]
    return {"link": link, "from": origin, "ok": not problems, "result": "; ".join(problems) if problems else ok_text}


def _name_host(wiring, name):
    """Inventory host a DNS name or address belongs to, per the wiring."""
    for host, data in wiring.get("hosts", {}).items():
        if name in data.get("names", []) or name in data.get("addresses", []) or name == host:
            return host
    if name == wiring.get("broker_name") and wiring.get("broker_hosts"):
        return wiring["broker_hosts"][0]
    return None


def _port_owner(hosts, wiring, name, port):
    """(host, unit) that should listen on name:port, from the wiring and the live configs."""
    host = _name_host(wiring, name)
    if host is None:
        return None, None
    ports = wiring["hosts"][host]["ports"]
    labels = {"dcv_broker_client_port": L.BROKER_UNIT, "dcv_broker_agent_port": L.BROKER_UNIT,
              "dcv_broker_gateway_port": L.BROKER_UNIT, "dcv_gateway_web_port": L.GATEWAY_UNIT,
              "dcv_server_web_port": L.DCV_UNIT}
    for variable, unit_name in labels.items():
        if ports.get(variable) == port:
            return host, unit_name
    live = (hosts.get(host) or {}).get("live")
    for key in ("client", "agent", "gateway"):
        if str(L.broker_property(live, "%s-to-broker-connector-https-port" % key, "")) == str(port):
            return host, L.BROKER_UNIT
    return host, None


def explain_probe(probe, what, hosts, wiring, ca_source, ca_fix):
    """Cause and fix for a failed probe of ``what`` (e.g. 'the broker agent port')."""
    if probe is None:
        return "not probed (the configuration it needs is missing)"
    category = probe.get("category")
    target = "%s:%s" % (probe.get("server_name") or probe.get("host"), probe.get("port"))
    peer = probe.get("peer") or {}
    if category in ("refused", "reset", "timeout", "network"):
        host, unit_name = _port_owner(hosts, wiring, probe.get("host"), probe.get("port"))
        state = L.unit((hosts.get(host) or {}).get("live"), unit_name) if unit_name else {}
        if unit_name and state and state.get("ActiveState") != "active":
            return ("%s on %s: %s is %s on %s; fix: systemctl start %s on %s (journalctl -u %s says why it stopped)"
                    % (category.replace("refused", "connection refused"), target, unit_name,
                       state.get("ActiveState") or "not running", host, unit_name, host, unit_name))
        if category == "refused":
            return ("connection refused on %s: nothing listens there%s; fix: check the port in the live configuration "
                    "against the wiring (see the port row) and re-run %s" %
                    (target, (" although %s is active on %s" % (unit_name, host)) if unit_name else "", SITE))
        return ("%s to %s (%s): a firewall or routing drops it; fix: open the port (dcv_firewall_manage, security "
                "groups) between the hosts" % (category, target, probe.get("error")))
    if category == "dns":
        return ("%s does not resolve on this host; fix: add it to DNS (or /etc/hosts), or set dcv_broker_name / "
                "dcv_host_name to a name that resolves" % probe.get("host"))
    if category in ("ca_missing", "ca_unreadable"):
        return "%s (%s); fix: re-run %s, %s" % (probe.get("error"), ca_source, SITE, ca_fix)
    if category == "tls_untrusted":
        return ("TLS: the certificate of %s (issuer %r) is not signed by the CA in %s = %s; fix: %s"
                % (target, peer.get("issuer", "?"), ca_source, probe.get("ca_file") or "the system store", ca_fix))
    if category == "tls_hostname":
        return ("TLS: the certificate of %s covers %s, not %s; fix: use a covered name or add it (dcv_host_aliases / "
                "dcv_broker_name / dcv_gateway_public_names) and re-run %s"
                % (what, ", ".join(peer.get("names") or []) or "?", probe.get("server_name") or probe.get("host"), SITE))
    if category == "tls_expired":
        return ("TLS: the certificate of %s is expired or not yet valid (%s); fix: check the clock row, then re-run "
                "%s (certificates renew dcv_certificate_renew_before_days before expiry)" % (target, probe.get("error"), SITE))
    if category == "proxy_auth":
        return ("an HTTP proxy (%s) answered 407 Proxy Authentication Required: not a network failure and not the "
                "gateway (PrivateLink and the NLB never answer HTTP); fix: add %s to NO_PROXY / the PAC bypass list"
                % (probe.get("proxy"), probe.get("server_name") or probe.get("host")))
    if category == "proxy_refused":
        return "%s; fix: add %s to NO_PROXY / the PAC bypass list" % (probe.get("error"), probe.get("host"))
    return "%s to %s failed: %s (%s)" % (what, target, probe.get("error"), category)


def _probe(hosts, host, name):
    return (((hosts.get(host) or {}).get("links") or {}).get("probes") or {}).get(name)


def _config_problem(config, fix):
    if config.missing:
        return "%s is missing; fix: %s" % (config.path, fix)
    if config.error:
        return "%s: %s; fix: %s" % (config.path, config.error, fix)
    return None


def rows_agent(host, hosts, wiring):
    live = hosts[host].get("live") or {}
    agent = L.read_config(live, L.AGENT_CONF)
    problem = _config_problem(agent, "re-run %s (role dcv_agent)" % SITE)
    if problem:
        return _row("agent -> broker (TLS, registration)", host, [problem])
    probe = _probe(hosts, host, "agent_broker")
    problems = []
    if not probe or not probe.get("ok"):
        problems.append(explain_probe(probe, "the broker agent port", hosts, wiring, "agent.conf ca_file",
                                      "re-run %s so the dcv_agent role installs the collection CA (dcv_ca_path) "
                                      "as %s" % (SITE, agent.get("agent", "ca_file"))))
        return _row("agent -> broker (TLS, registration)", host, problems)
    lines = (((live.get("files") or {}).get(L.AGENT_LOG) or {}).get("lines")) or []
    if not lines:
        problems.append("the agent log %s has no sessionsUpdateResponse yet; fix: systemctl status %s, wait "
                        "broker_update_interval, read the log" % (L.AGENT_LOG, L.AGENT_UNIT))
    elif not agent_report_succeeded(lines[-1]):
        problems.append("the agent's last report failed: %s" % lines[-1].strip()[-300:])
    registered = _agent_registered(host, hosts, wiring)
    if registered is False:
        problems.append("the broker lists no active agent client for %s (describe-agent-clients); fix: check the "
                        "agent log, then systemctl restart %s" % (host, L.AGENT_UNIT))
    return _row("agent -> broker (TLS, registration)", host, problems,
                "ok (TLS with %s; %s)" % (agent.get("agent", "ca_file"), "registered" if registered else "reporting"))


def agent_report_succeeded(line):
    """sm-admin "Step 5: Verify the installations": the agent is healthy when the last sessionsUpdateResponse line
    of its log contains success (grep 'sessionsUpdateResponse' agent.log | tail -1 | grep -o success). A word, so
    "unsuccessful" does not count."""
    return "sessionsUpdateResponse" in line and re.search(r"\bsuccess\b", line, re.IGNORECASE) is not None


def _agent_names(host, hosts, wiring):
    live = hosts[host].get("live") or {}
    names = {host, live.get("hostname"), live.get("fqdn")} | set(wiring["hosts"].get(host, {}).get("names", []))
    return set(n for n in names if n) | set(n.split(".")[0] for n in names if n)


def _agent_registered(host, hosts, wiring):
    """True/False from the broker's view, None when no broker could be asked."""
    names = _agent_names(host, hosts, wiring)
    answered = False
    for broker in wiring.get("broker_hosts", []):
        clients = L.agent_clients((hosts.get(broker) or {}).get("live"))
        if clients is None:
            continue
        answered = True
        if any(c.get("active") and str(c.get("name")) in names for c in clients):
            return True
    return False if answered else None


def rows_verifier(host, hosts, wiring):
    dcv = L.read_config((hosts[host].get("live") or {}), L.DCV_CONF)
    link = "DCV server -> broker token verifier"
    problem = _config_problem(dcv, "re-run %s (role dcv_server)" % SITE)
    if problem:
        return _row(link, host, [problem])
    url = dcv.get("security", "auth-token-verifier")
    if not parse_url(url):
        return _row(link, host, ["dcv.conf [security] auth-token-verifier is %r, not an https URL: DCV checks "
                                 "connection tokens itself and broker tokens fail; fix: re-run %s (role dcv_server "
                                 "derives it from the wiring)" % (url, SITE)])
    probe = _probe(hosts, host, "server_verifier")
    if not probe or not probe.get("ok"):
        return _row(link, host, [explain_probe(probe, "the broker agent port", hosts, wiring, "dcv.conf [security] "
                                               "ca-file", "re-run %s so the dcv_server role installs the collection CA "
                                               "as %s" % (SITE, dcv.get("security", "ca-file")))])
    if probe.get("status") == 404 or probe.get("status", 0) >= 500:
        return _row(link, host, ["%s answered HTTP %s: not the token verification endpoint; fix: re-run %s"
                                 % (url, probe.get("status"), SITE)])
    return _row(link, host, [], "ok (TLS with %s)" % dcv.get("security", "ca-file"))


def rows_gateway(host, hosts, wiring, broker_view):
    rows = []
    live = hosts[host].get("live") or {}
    gateway = L.read_config(live, L.GATEWAY_CONF)
    problem = _config_problem(gateway, "re-run %s (role dcv_gateway)" % SITE)
    if problem:
        return [_row("gateway -> broker resolver", host, [problem])]
    # resolver
    probe = _probe(hosts, host, "resolver")
    link = "gateway -> broker resolver"
    ca_fix = "re-run %s so the dcv_gateway role installs the collection CA as %s" % (SITE, gateway.get("resolver", "ca-file"))
    if not probe or not probe.get("ok"):
        text = explain_probe(probe, "the broker resolver port", hosts, wiring, "[resolver] ca-file", ca_fix)
        broker = wiring["broker_hosts"][0] if wiring.get("broker_hosts") else None
        enabled = L.broker_property((hosts.get(broker) or {}).get("live"), "enable-gateway") if broker else None
        if probe and probe.get("category") == "refused" and str(enabled).lower() == "false":
            text += " (the broker's live properties say enable-gateway = false: the resolver is off; fix: put the " \
                    "gateway in dcv_gateways and re-run %s)" % SITE
        rows.append(_row(link, host, [text]))
    elif probe.get("status") == 404 and RESOLVER_404 in (probe.get("body") or ""):
        rows.append(_row(link, host, [], "ok (TLS with %s; resolver answers)" % gateway.get("resolver", "ca-file")))
    else:
        rows.append(_row(link, host, ["the resolver at %s answered HTTP %s for an unknown session (expected 404 %r): "
                                      "%s; fix: [resolver] url must be the broker's gateway port "
                                      "(dcv_broker_gateway_port) and re-run %s"
                                      % (gateway.get("resolver", "url"), probe.get("status"), RESOLVER_404,
                                         probe.get("body"), SITE)]))
    # live sessions through the resolver
    for server, session in live_sessions(hosts):
        result = _probe(hosts, host, "resolve:%s:%s" % (server, session["id"]))
        if not result or not result.get("ok"):
            continue  # the resolver row already says why the resolver cannot be reached
        name = "resolver: session %s on %s" % (session["id"], server)
        if result.get("status") == 200:
            rows.append(_row(name, host, [], "ok (resolves)"))
        elif result.get("status") == 404:
            rows.append(_row(name, host, [resolver_404_cause(server, session, hosts, wiring, broker_view)]))
        else:
            rows.append(_row(name, host, ["HTTP %s: %s" % (result.get("status"), result.get("body"))]))
    # DCV servers
    for server in wiring.get("server_hosts", []):
        probe = _probe(hosts, host, "dcv:%s" % server)
        problems = []
        if not probe or not probe.get("ok"):
            problems.append(explain_probe(
                probe, "DCV server %s" % server, hosts, wiring, "[dcv] ca-file",
                "re-run %s so the dcv_gateway role installs the collection CA as %s and the dcv_server role issues "
                "/etc/dcv/dcv.pem from it" % (SITE, gateway.get("dcv", "ca-file"))))
        ip_probe = _probe(hosts, host, "dcv-ip:%s" % server)
        if ip_probe and not ip_probe.get("ok") and not problems:
            if ip_probe.get("category") == "tls_hostname" and wiring["hosts"][server].get("dns_mapped"):
                # sm-admin "Amazon DCV Session Manager Amazon DCV server - DNS mapping reference"
                problems.append("the resolver hands the gateway %s (DcvServerEndpoint) instead of %s: the broker has no "
                                "DNS mapping for that address (see the row %s), and the DCV server certificate carries "
                                "DNS names only (%s); fix: add %s to dcv_host_addresses for %s if it is missing and "
                                "re-run %s (role dcv_broker registers the mapping)"
                                % (ip_probe.get("host"), wiring["hosts"][server]["name"], mapping_link(server),
                                   ", ".join((ip_probe.get("peer") or {}).get("names") or []), ip_probe.get("host"),
                                   server, SITE))
            elif ip_probe.get("category") == "tls_hostname":
                problems.append("the resolver hands the gateway %s (DcvServerEndpoint: the IP the agent reports, as "
                                "dcv_server_dns_mappings is false for %s) but the DCV server certificate covers only %s; "
                                "fix: add %s to dcv_host_addresses for %s and re-run %s (the certificate is reissued), "
                                "or set dcv_server_dns_mappings: true for it (the broker maps the address to its name)"
                                % (ip_probe.get("host"), server, ", ".join((ip_probe.get("peer") or {}).get("names") or []),
                                   ip_probe.get("host"), server, SITE))
            else:
                problems.append(explain_probe(ip_probe, "DCV server %s by IP" % server, hosts, wiring, "[dcv] ca-file",
                                              "re-run %s" % SITE))
        checked = "%s%s" % (wiring["hosts"][server]["name"], (" and %s" % ip_probe.get("host")) if ip_probe else "")
        rows.append(_row("gateway -> DCV server %s" % server, host, problems,
                         "ok (%s, TLS with %s)" % (checked, gateway.get("dcv", "ca-file"))))
    # public names
    names = hosts[host].get("public_names") or []
    problems = []
    for name in names:
        probe = _probe(hosts, host, "public:%s" % name)
        if probe and probe.get("ok"):
            continue
        if probe and probe.get("category") == "tls_hostname":
            problems.append("the gateway certificate (%s) covers %s but not the public name %s; fix: keep %s in "
                            "dcv_gateway_public_names and re-run %s (the certificate is reissued), or reissue "
                            "dcv_gateway_certificate_src with it"
                            % (gateway.get("gateway", "cert-file"), ", ".join((probe.get("peer") or {}).get("names") or []),
                               name, name, SITE))
        else:
            problems.append(explain_probe(probe, "the gateway", hosts, wiring, "[dcv] ca-file",
                                          "re-run %s (role dcv_gateway)" % SITE))
    if not names:
        problems.append("dcv_gateway_public_names is empty for %s; fix: list the names browsers use" % host)
    rows.append(_row("public names -> gateway certificate", host, problems, "ok (%s)" % ", ".join(names)))
    return rows


def mapping_link(server):
    return "broker DNS mapping of DCV server %s" % server


def _reported_address(server, hosts, wiring, broker_view):
    """The Ip the broker's describeServers shows for this DCV server (what its agent reports), or None."""
    live = (hosts.get(server) or {}).get("live") or {}
    names = {server, live.get("hostname"), live.get("fqdn")} | set(wiring["hosts"].get(server, {}).get("names", []))
    names = set(n for n in names if n) | set(n.split(".")[0] for n in names if n)
    for entry in (broker_view or {}).get("servers") or []:
        if str(entry.get("Hostname")) in names and entry.get("Ip"):
            return str(entry["Ip"])
    return None


def rows_dns_mapping(server, hosts, wiring, broker_view):
    """One row per DCV server: the brokers map the address its agent reports to its dcv_host_name (sm-admin "Amazon
    DCV Session Manager Amazon DCV server - DNS mapping reference"), so the gateway connects by that name."""
    link = mapping_link(server)
    wired = wiring["hosts"][server]
    name, addresses = wired["name"], wired["addresses"]
    brokers = [b for b in wiring.get("broker_hosts", []) if b in hosts]
    origin = brokers[0] if brokers else "all"
    if not wired.get("dns_mapped"):
        if not addresses:
            return _row(link, origin, ["dcv_server_dns_mappings is false for %s and dcv_host_addresses is empty: the "
                                       "resolver hands the gateway the IP the agent reports, which the certificate of "
                                       "%s does not carry; fix: list the address in dcv_host_addresses, or set "
                                       "dcv_server_dns_mappings: true, and re-run %s" % (server, server, SITE)])
        return _row(link, origin, [], "ok (none by choice: dcv_server_dns_mappings is false; the gateway connects by "
                                      "the IP the agent reports, which the certificate carries: %s)" % ", ".join(addresses))
    if not addresses:
        return _row(link, origin, ["dcv_host_addresses is empty for %s: no mapping can name it, the resolver hands the "
                                   "gateway the IP the agent reports and the certificate (DNS names only) does not "
                                   "carry it; fix: list its private address in dcv_host_addresses and re-run %s"
                                   % (server, SITE)])
    problems = []
    reported = _reported_address(server, hosts, wiring, broker_view)
    if reported and reported not in addresses:
        problems.append("the agent of %s reports %s (describeServers Ip) but dcv_host_addresses lists %s: the brokers "
                        "map only listed addresses, so the resolver hands the gateway %s; fix: add %s to "
                        "dcv_host_addresses for %s and re-run %s"
                        % (server, reported, ", ".join(addresses), reported, reported, server, SITE))
    if not brokers:
        problems.append("no broker could be read (see the reach the host rows)")
    for broker in brokers:
        live = hosts[broker].get("live")
        mappings, error = L.dns_mappings(live)
        if mappings is None:
            state = L.unit(live, L.BROKER_UNIT)
            if state and state.get("ActiveState") != "active":
                problems.append("the mappings on %s cannot be read: %s is %s on %s; fix: systemctl start %s on %s, then "
                                "re-run %s (a broker without persistence starts without mappings)"
                                % (broker, L.BROKER_UNIT, state.get("ActiveState") or "not running", broker,
                                   L.BROKER_UNIT, broker, SITE))
            else:
                problems.append("the mappings on %s cannot be read (%s); fix: run %s describe-server-dns-mappings as "
                                "root on %s" % (broker, error, L.BROKER_CLI, broker))
            continue
        by_address = dict((m["ServerId"], m) for m in mappings if m["ServerIdType"] == "Ip")
        for address in addresses:
            found = by_address.get(address)
            if found is None:
                problems.append("%s has no mapping for %s (describe-server-dns-mappings): the resolver hands the "
                                "gateway that IP, which the certificate of %s (DNS names only) does not carry; fix: "
                                "re-run %s (role dcv_broker registers the mappings; a broker without persistence "
                                "forgets them when it restarts)" % (broker, address, server, SITE))
            elif found["DnsNames"].get("InternalDnsName") != name:
                problems.append("%s maps %s to %s, not to %s (dcv_host_name of %s): the gateway connects to the wrong "
                                "name; fix: re-run %s"
                                % (broker, address, found["DnsNames"].get("InternalDnsName"), name, server, SITE))
    shown = [reported] if reported in addresses else addresses
    return _row(link, origin, problems, "ok (dcv-server mapping: %s -> %s%s)" % (
        ", ".join(shown), name, (" at %s" % ", ".join(brokers)) if len(brokers) > 1 else ""))


def resolver_404_cause(server, session, hosts, wiring, broker_view):
    """Which of the known causes of a resolver 404 applies (the causes docs/troubleshooting.md lists)."""
    sid = session["id"]
    known = broker_view.get("sessions") if broker_view else None
    in_broker = None if known is None else [s for s in known if s.get("Id") == sid]
    if sid == "console" and not in_broker:
        return ("resolver 404: session 'console' on %s was not created through the broker (DCV's automatic console "
                "session); fix: create sessions with playbooks/session.yml, keep dcv_server_create_session: false "
                "(re-run %s) and close it: dcv close-session console" % (server, SITE))
    if in_broker == []:
        return ("resolver 404: session %r on %s is unknown to the broker: it was not created through the broker "
                "(dcv create-session by hand), or before a broker restart without persistence (enable-persistence); "
                "fix: dcv close-session %s, and create sessions with playbooks/session.yml" % (sid, server, sid))
    registered = _agent_registered(server, hosts, wiring)
    if registered is False:
        return ("resolver 404: the DCV server %s that reports session %r is not registered with the broker (see "
                "the agent row); fix the agent first" % (server, sid))
    if in_broker:
        where = str((in_broker[0].get("Server") or {}).get("Hostname") or "")
        if where and where not in _agent_names(server, hosts, wiring):
            return ("resolver 404: the broker places session %r on server %s, not on %s (the server that reports it is "
                    "not the intended host); fix: create the session with server_hostname / -e dcv_session_server"
                    % (sid, where, server))
        if in_broker[0].get("State") != "READY":
            return "resolver 404: session %r is %s at the broker, not READY" % (sid, in_broker[0].get("State"))
    return ("resolver 404 for session %r although the broker and the agent look right: if a browser got this, it "
            "used ?sessionId=; fix: open the URL playbooks/session.yml prints (?authToken=...#ID)" % sid)


def rows_client_api(host, hosts, wiring, broker_view):
    probe = _probe(hosts, host, "client_api")
    link = "broker client API (OAuth2)"
    if not probe or not probe.get("ok"):
        return _row(link, host, [explain_probe(probe, "the broker client port", hosts, wiring, "the broker CA",
                                               "re-run %s (role dcv_broker)" % SITE)])
    if probe.get("status") not in (400, 401, 403, 200):
        return _row(link, host, ["POST /oauth2/token answered HTTP %s (%s): the authorization server is not on this "
                                 "port; fix: enable-authorization-server must stay true and the port must be "
                                 "dcv_broker_client_port = %s" % (probe.get("status"), probe.get("body"),
                                                                  wiring["broker_client_port"])])
    extra = ""
    broker_view = broker_view or {}
    problems = []
    if broker_view.get("error"):
        problems.append("the API client credentials on %s are unusable: %s" % (host, broker_view["error"]))
    for key in ("sessions", "servers"):
        # an HTTP answer (401, 403, 5xx) is the broker's verdict; a broken-off answer is noted, not judged here:
        # the link itself (TLS, name, OAuth2) is what the token request above proved
        if broker_view.get("%s_status" % key):
            problems.append("describe%s answered HTTP %s: %s" % (key.capitalize(), broker_view["%s_status" % key],
                                                                 broker_view["%s_error" % key]))
        elif broker_view.get("%s_error" % key):
            extra += "; describe%s not read (%s)" % (key.capitalize(), broker_view["%s_error" % key])
    if problems:
        return _row(link, host, problems)
    if broker_view.get("servers") is not None:
        extra = "; describeServers: %s%s" % (", ".join(str(s.get("Hostname") or s.get("Ip"))
                                                       for s in broker_view["servers"]) or "no servers", extra)
    return _row(link, host, [], "ok (https://%s:%s, TLS with %s; token endpoint answers%s)"
                % (wiring["broker_name"], wiring["broker_client_port"], L.BROKER_CA, extra))


# {port variable: (the setting that carries it, the unit that listens on it)}
PORT_LABELS = dict((variable, (key, PRODUCTS[component]["unit"])) for variable, component, _label, _default, key in PORTS)


def live_ports(live, components):
    """{variable: port} as the live configuration files set them."""
    ports = {}
    if "broker" in components:
        properties = L.read_config(live, L.BROKER_PROPERTIES)
        for variable in ("dcv_broker_client_port", "dcv_broker_agent_port", "dcv_broker_gateway_port",
                         "dcv_broker_cluster_port", "dcv_broker_cli_port", "dcv_broker_discovery_port"):
            key = PORT_LABELS[variable][0]
            value = properties.get("", key)
            if variable == "dcv_broker_gateway_port" and str(properties.get("", "enable-gateway", "false")).lower() != "true":
                continue
            if value is not None and str(value).strip().isdigit():
                ports[variable] = int(value)
    if "gateway" in components:
        gateway = L.read_config(live, L.GATEWAY_CONF)
        endpoints = [endpoint_port(e) for e in gateway.get("gateway", "web-listen-endpoints") or []]
        if endpoints and endpoints[0]:
            ports["dcv_gateway_web_port"] = endpoints[0]
        if gateway.get("health-check", "port") is not None:
            ports["dcv_gateway_health_port"] = int(gateway.get("health-check", "port"))
    if "server" in components:
        dcv = L.read_config(live, L.DCV_CONF)
        if dcv.get("connectivity", "web-port") is not None:
            ports["dcv_server_web_port"] = int(dcv.get("connectivity", "web-port"))
    return ports


def rows_ports(host, hosts, wiring):
    me = hosts[host]
    live = me.get("live") or {}
    wired = wiring["hosts"][host]["ports"]
    ports = live_ports(live, me.get("components") or [])
    problems = []
    by_port = {}
    for variable, port in sorted(ports.items()):
        by_port.setdefault(port, []).append(variable)
    for port, variables in sorted(by_port.items()):
        if len(variables) > 1:
            problems.append("port clash on %s: %s; fix: re-run %s (the wiring gives each its own port%s) or set %s"
                            % (port, " and ".join("%s (live %s)" % (v, PORT_LABELS[v][0]) for v in variables), SITE,
                               ", the broker client port moves to 8448 beside a gateway"
                               if "dcv_broker_client_port" in variables else "", " / ".join(variables)))
    for variable, port in sorted(ports.items()):
        if variable in wired and wired[variable] != port:
            problems.append("live %s = %s but the wiring says %s = %s; fix: re-run %s"
                            % (PORT_LABELS[variable][0], port, variable, wired[variable], SITE))
    listening = {}
    for entry in live.get("listeners") or []:
        listening.setdefault(entry["port"], []).append(entry)
    for variable, port in sorted(ports.items()):
        unit_name = PORT_LABELS[variable][1]
        state = L.unit(live, unit_name)
        main_pid = int(state.get("MainPID") or 0)
        for entry in listening.get(port, []):
            if entry.get("pid") is None or not main_pid:
                continue
            if entry["pid"] != main_pid and main_pid not in (entry.get("ancestors") or []):
                problems.append("port %s (%s) is held by %s (pid %s), not by %s; fix: stop that process or set %s to "
                                "another port and re-run %s"
                                % (port, variable, entry.get("process"), entry["pid"], unit_name, variable, SITE))
                break
        if not main_pid and listening.get(port):
            holder = listening[port][0]
            problems.append("%s is not running and port %s (%s) is held by %s (pid %s); fix: free the port or set %s "
                            "to another port, re-run %s" % (unit_name, port, variable, holder.get("process"),
                                                            holder.get("pid"), variable, SITE))
    summary = ", ".join("%s %s" % (p, v.replace("dcv_", "").replace("_port", ""))
                        for v, p in sorted(ports.items(), key=lambda i: i[1]))
    return _row("port clashes (live configs, sockets, wiring)", host, problems, "ok (%s)" % summary)


def rows_keys(host, hosts):
    me = hosts[host]
    live = me.get("live") or {}
    components = me.get("components") or []
    problems = []
    checked = []
    if "broker" in components:
        properties = L.read_config(live, L.BROKER_PROPERTIES)
        extra = set(str(k) for k in (me.get("extra_properties") or {}))
        for key in sorted((properties.data or {}).get("", {})):
            if key in BROKER_NONEXISTENT_KEYS:
                problems.append("%s: key '%s' does not exist in the broker, which ignores it silently (%s); fix: "
                                "remove it (from dcv_broker_extra_properties if it is there) and re-run %s"
                                % (L.BROKER_PROPERTIES, key, BROKER_NONEXISTENT_KEYS[key], SITE))
            elif key not in BROKER_KEYS and key not in extra:
                problems.append("%s: key '%s' is not a documented broker property (ignored silently); fix: remove "
                                "or correct it and re-run %s (keys newer than the collection go in "
                                "dcv_broker_extra_properties)" % (L.BROKER_PROPERTIES, key, SITE))
        checked.append("broker")
    for component, path, catalog, nonexistent in (("gateway", L.GATEWAY_CONF, GATEWAY_KEYS, GATEWAY_NONEXISTENT_KEYS),
                                                  ("server", L.AGENT_CONF, AGENT_KEYS, {})):
        if component not in components:
            continue
        config = L.read_config(live, path)
        for section, keys in sorted((config.data or {}).items()):
            if not isinstance(keys, dict):
                if not (path == L.AGENT_CONF and section == "version"):
                    problems.append("%s: top-level key '%s' is unknown; fix: remove it and re-run %s" % (path, section, SITE))
                continue
            for key in sorted(keys):
                if (section, key) in nonexistent:
                    problems.append("%s: [%s] %s does not exist (%s); fix: remove it and re-run %s"
                                    % (path, section, key, nonexistent[(section, key)], SITE))
                elif section not in catalog or key not in catalog[section]:
                    problems.append("%s: [%s] %s is not a documented key; fix: remove or correct it (extra settings "
                                    "variable of the role) and re-run %s" % (path, section, key, SITE))
        checked.append(path.rsplit("/", 1)[1])
    return _row("unknown keys in live config files", host, problems, "ok (%s)" % ", ".join(checked))


def rows_console(host, hosts):
    live = hosts[host].get("live") or {}
    dcv = L.read_config(live, L.DCV_CONF)
    problems = []
    create = dcv.get("session-management", "create-session")
    if create is True or str(create).lower() == "true":
        problems.append("%s has [session-management] create-session = true: DCV makes its own console session, "
                        "which the broker never created and the resolver answers 404 for; fix: "
                        "dcv_server_create_session: false and re-run %s" % (L.DCV_CONF, SITE))
    sessions = L.dcv_sessions(live)
    if sessions is None:
        problems.append("could not list the DCV sessions (dcv list-sessions failed); fix: systemctl status %s" % L.DCV_UNIT)
    elif any(s.get("id") == "console" for s in sessions):
        problems.append("a session named 'console' is running (automatic console session); fix: dcv close-session "
                        "console after setting create-session = false")
    return _row("automatic console sessions", host, problems,
                "ok (create-session = false; %d session(s))" % len(sessions or []))


def rows_clock(hosts, max_skew):
    problems = []
    shown = []
    for host in sorted(hosts):
        data = hosts[host]
        stamp = (data.get("live") or {}).get("time")
        if stamp is None or data.get("t0") is None:
            continue
        t0, t1 = float(data["t0"]), float(data["t1"])
        skew = 0.0 if t0 <= stamp <= t1 else (stamp - t0 if stamp < t0 else stamp - t1)
        shown.append("%s %+.1fs" % (host, skew))
        if abs(skew) > max_skew:
            problems.append("%s's clock is %+.0f s off the control node (more than %s s); TLS validity and "
                            "token expiry break; fix: enable time sync (chronyd / systemd-timesyncd) on %s"
                            % (host, skew, max_skew, host))
    return _row("clock skew between hosts", "all", problems, "ok (%s)" % ", ".join(shown))


def rows_operator(results, names):
    """Rows for the probes run from the operator's machine (public names through the local proxy settings)."""
    rows = []
    for name in names:
        probe = (results or {}).get("public:%s" % name)
        if probe and probe.get("ok"):
            rows.append(_row("operator -> %s" % name, "operator", [], "ok%s" % (
                " (through proxy %s)" % probe["proxy"] if probe.get("proxy") else "")))
            continue
        category = (probe or {}).get("category")
        if category in ("proxy_auth", "proxy_refused"):
            text = explain_probe(probe, "the gateway", {}, {"hosts": {}}, "", "")
        elif category in ("dns", "refused", "timeout", "network", "reset"):
            text = ("network failure from this machine to %s (%s: %s), not a proxy: no proxy answered; fix: check "
                    "DNS for the endpoint name, the PrivateLink endpoint / NLB listener on port %s and security groups"
                    % (name, category, (probe or {}).get("error"), (probe or {}).get("port")))
        else:
            text = explain_probe(probe, "the gateway", {}, {"hosts": {}}, "dcv_verify_operator_ca_file",
                                 "set dcv_verify_operator_ca_file to the collection CA (dcv_ca_path/ca.pem)")
        rows.append(_row("operator -> %s" % name, "operator", [text]))
    return rows


def _components(hosts, wiring):
    for host, data in hosts.items():
        data["components"] = wiring.get("hosts", {}).get(host, {}).get("components", [])


def build_rows(hosts, wiring, max_skew=10, operator=None):
    _components(hosts, wiring)
    rows = []
    for host in sorted(hosts):
        if hosts[host].get("unreachable"):
            text = "unreachable: %s; fix: SSH access (ansible_host, ansible_port, keys)" % hosts[host]["unreachable"]
            rows.append(_row("reach the host", host, [text]))
    reachable = dict((h, d) for h, d in hosts.items() if not d.get("unreachable"))
    broker_view = broker_view_of(reachable, wiring)
    for host in wiring.get("server_hosts", []):
        if host in reachable:
            rows.append(rows_agent(host, reachable, wiring))
            rows.append(rows_verifier(host, reachable, wiring))
    for host in wiring.get("gateway_hosts", []):
        if host in reachable:
            rows.extend(rows_gateway(host, reachable, wiring, broker_view))
    if wiring.get("gateways_enabled"):
        for server in wiring.get("server_hosts", []):
            rows.append(rows_dns_mapping(server, reachable, wiring, broker_view))
    for host in wiring.get("broker_hosts", []):
        if host in reachable:
            rows.append(rows_client_api(host, reachable, wiring,
                                        ((reachable[host].get("live") or {}).get("broker_api"))))
    for host in sorted(reachable):
        rows.append(rows_ports(host, reachable, wiring))
        rows.append(rows_keys(host, reachable))
    for host in wiring.get("server_hosts", []):
        if host in reachable:
            rows.append(rows_console(host, reachable))
    rows.append(rows_clock(reachable, max_skew))
    if operator:
        rows.extend(rows_operator(operator.get("results"), operator.get("names") or []))
    return rows


def table(rows):
    """The rows as text lines: status, link, where it was checked from, and ok or the cause and the fix."""
    link_width = max([len(r["link"]) for r in rows] + [4])
    from_width = max([len(str(r["from"])) for r in rows] + [4])
    lines = ["%-4s  %-*s  %-*s  %s" % ("", link_width, "LINK", from_width, "FROM", "RESULT")]
    for row in rows:
        lines.append("%-4s  %-*s  %-*s  %s" % ("ok" if row["ok"] else "FAIL", link_width, row["link"], from_width,
                                               row["from"], row["result"]))
    failed = len([r for r in rows if not r["ok"]])
    lines.append("%d link(s) checked, %d not ok" % (len(rows), failed))
    return lines
