# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who may reach a port: source networks checked on the control node, and the firewall rules that make a host
match them (roles/dcv_common/tasks/firewall.yml).

A port with sources is reachable from those networks only: firewalld rich rules in the zone the collection opens
its ports in (the default zone), or ufw rules ``allow from CIDR to any port P proto PROTO``, instead of the rule
that opens the port to anyone. The collection owns who may reach such a port: every accept rule of that shape for
the port that the sources no longer name is removed, and so is the open-to-anyone rule. A port whose sources are
empty is open to anyone again and keeps none of those rules.

The plans are computed from one read of the firewall (``firewall-cmd --list-all`` at runtime and permanently;
``ufw show added``), so that a converged host costs no call per rule.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.dcvkit.session_manager.plugins.module_utils.source_networks import dcv_cidr_problems, network as _network

# firewalld's own form of the rich rules the collection adds (firewall-cmd --list-rich-rules prints this form)
RICH_RULE = 'rule family="{family}" source address="{address}" port port="{port}" protocol="{proto}" accept'
_RICH_RULE_RE = re.compile(r'^rule family="(ipv4|ipv6)" source address="([^"]+)" port port="([0-9]+)" '
                           r'protocol="(tcp|udp)" accept$')
# ufw show added: "ufw allow from 10.0.0.0/16 to any port 8443 proto tcp [comment '...']", "ufw allow 8443/tcp"
_UFW_SOURCE_RE = re.compile(r"^ufw allow from (\S+) to any port ([0-9]+) proto (tcp|udp)(?: comment '.*')?$")
_UFW_OPEN_RE = re.compile(r"^ufw allow ([0-9]+)/(tcp|udp)(?: comment '.*')?$")
PERMANENT_MARK = "@@permanent@@"


def dcv_cidr_normalize(value):
    """The networks in one canonical spelling (compressed, lower case, with the prefix length), each once."""
    seen = []
    for item in value or []:
        text = _network(item.strip()).with_prefixlen
        if text not in seen:
            seen.append(text)
    return seen


def _wanted(sources, ports):
    """{(port, proto): {network text: family}} for every port of ``sources``; [] for the ports not opened at all."""
    wanted = {}
    for key, networks in (sources or {}).items():
        port, proto = str(key).split("/")
        entry = wanted.setdefault((port, proto), {})
        if key in (ports or []):
            for text in dcv_cidr_normalize(networks):
                entry[text] = "ipv%d" % _network(text).version
    return wanted


def _split_listing(listing):
    text = listing or ""
    runtime, _mark, permanent = text.partition(PERMANENT_MARK)
    return runtime, permanent


def _firewalld_state(text):
    """(plain ports, rich rules) of one `firewall-cmd --list-all`."""
    ports, rules = set(), []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("ports:"):
            ports.update(line[len("ports:"):].split())
        elif line.startswith("rule "):
            rules.append(line)
    return ports, rules


def _canonical(address):
    try:
        return ipaddress.ip_network(u"%s" % address, strict=False).with_prefixlen
    except ValueError:
        return None


def dcv_firewalld_plan(listing, sources, ports):
    """What firewalld needs so that each port of ``sources`` is reachable from its networks only.

    ``listing``: `firewall-cmd --list-all`, PERMANENT_MARK, `firewall-cmd --permanent --list-all`. ``sources``:
    {"PORT/PROTO": [CIDR, ...]}. ``ports``: the "PORT/PROTO" the component listens on (a key of ``sources`` that
    is not one of them keeps no source rules). Returns {add: [rich rule], close: ["PORT/PROTO"], remove: [rich
    rule as firewalld lists it]}; each needs one call with permanent and immediate, in that order (the new rules
    first, so that an allowed client never loses the port).
    """
    wanted = _wanted(sources, ports)
    states = [_firewalld_state(part) for part in _split_listing(listing)]
    add, close, remove = [], [], []
    present = [set() for _state in states]
    for index, (_ports, rules) in enumerate(states):
        for rule in rules:
            match = _RICH_RULE_RE.match(rule)
            if not match or (match.group(3), match.group(4)) not in wanted:
                continue
            _family, address, port, proto = match.groups()
            network = _canonical(address)
            present[index].add((network, port, proto))
            if network not in wanted[(port, proto)] and rule not in remove:
                remove.append(rule)
    for (port, proto), networks in sorted(wanted.items()):
        for network, family in networks.items():
            if any((network, port, proto) not in seen for seen in present):
                add.append(RICH_RULE.format(family=family, address=network, port=port, proto=proto))
        key = "%s/%s" % (port, proto)
        if networks and any(key in open_ports for open_ports, _rules in states):
            close.append(key)
    return {"add": add, "close": close, "remove": remove}


def dcv_ufw_plan(added, sources, ports):
    """What ufw needs so that each port of ``sources`` is reachable from its networks only.

    ``added``: the output of `ufw show added`. Returns {add: [{from, port, proto}], close: [{port, proto}],
    remove: [{from, port, proto}]} for community.general.ufw (rule allow; delete for close and remove).
    """
    wanted = _wanted(sources, ports)
    present, open_ports, remove = set(), set(), []
    for line in (added or "").splitlines():
        line = line.strip()
        match = _UFW_SOURCE_RE.match(line)
        if match and (match.group(2), match.group(3)) in wanted:
            address, port, proto = match.groups()
            network = _canonical(address)
            present.add((network, port, proto))
            if network not in wanted[(port, proto)]:
                rule = {"from": address, "port": port, "proto": proto}
                if rule not in remove:
                    remove.append(rule)
            continue
        match = _UFW_OPEN_RE.match(line)
        if match:
            open_ports.add(match.groups())
    add, close = [], []
    for (port, proto), networks in sorted(wanted.items()):
        for network in networks:
            if (network, port, proto) not in present:
                add.append({"from": network, "port": port, "proto": proto})
        if networks and (port, proto) in open_ports:
            close.append({"port": port, "proto": proto})
    return {"add": add, "close": close, "remove": remove}


class FilterModule(object):
    def filters(self):
        return {
            "dcv_cidr_problems": dcv_cidr_problems,
            "dcv_cidr_normalize": dcv_cidr_normalize,
            "dcv_firewalld_plan": dcv_firewalld_plan,
            "dcv_ufw_plan": dcv_ufw_plan,
        }
