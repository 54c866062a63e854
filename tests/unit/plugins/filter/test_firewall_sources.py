# -*- coding: utf-8 -*-
"""Source networks of a port: the preflight's CIDR check, and the firewalld and ufw plans that make a host let only
those networks reach the port (roles/dcv_common/tasks/firewall.yml), from the listings the firewalls print."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dcvkit.session_manager.plugins.filter.firewall_sources import (
    PERMANENT_MARK,
    dcv_cidr_normalize,
    dcv_cidr_problems,
    dcv_firewalld_plan,
    dcv_ufw_plan,
)

PORTS = ["8443/tcp", "8989/tcp"]
V4 = 'rule family="ipv4" source address="10.0.0.0/16" port port="8443" protocol="tcp" accept'
V6 = 'rule family="ipv6" source address="2001:db8::/56" port port="8443" protocol="tcp" accept'


def list_all(ports="", rules=()):
    """`firewall-cmd --list-all` of the default zone, as firewalld prints it."""
    text = ("public (active)\n  target: default\n  icmp-block-inversion: no\n  interfaces: eth0\n  sources: \n"
            "  services: dhcpv6-client ssh\n  ports: %s\n  protocols: \n  forward: yes\n  masquerade: no\n"
            "  forward-ports: \n  source-ports: 8443/tcp\n  icmp-blocks: \n  rich rules: \n" % ports)
    return text + "".join("\t%s\n" % rule for rule in rules)


def listing(runtime, permanent=None):
    return runtime + PERMANENT_MARK + "\n" + (runtime if permanent is None else permanent)


def sources(web, health=None):
    return {"8443/tcp": web, "8443/udp": web, "8989/tcp": web if health is None else health}


@pytest.mark.parametrize("value", [[], None, ["10.0.0.0/16"], ["2001:db8::/56", "192.0.2.7", "::1"], ("0.0.0.0/0",)])
def test_cidr_lists_accepted(value):
    assert dcv_cidr_problems(value, "dcv_gateway_allowed_sources") == []


@pytest.mark.parametrize("value,words", [
    ("10.0.0.0/16", "dcv_gateway_allowed_sources must be a list of networks in CIDR notation"),
    ({"10.0.0.0/16": True}, "must be a list"),
    ([8], "dcv_gateway_allowed_sources: 8 is not a network in CIDR notation"),
    (["10.0.0.0/33"], "dcv_gateway_allowed_sources: '10.0.0.0/33' is not an IPv4 or IPv6 network"),
    (["10.0.0.0-10.0.0.9"], "'10.0.0.0-10.0.0.9' is not an IPv4 or IPv6 network"),
    (["lb.example.internal"], "'lb.example.internal' is not an IPv4 or IPv6 network"),
    (["10.0.3.0/16"], "'10.0.3.0/16' has host bits set; write the network '10.0.0.0/16' (or the single address "
                      "'10.0.3.0/32')"),
    (["2001:db8::1/64"], "has host bits set; write the network '2001:db8::/64' (or the single address "
                         "'2001:db8::1/128')"),
])
def test_cidr_problems_name_the_variable_and_the_fix(value, words):
    problems = dcv_cidr_problems(value, "dcv_gateway_allowed_sources")
    assert len(problems) == 1 and words in problems[0], problems


def test_every_bad_entry_is_reported():
    assert len(dcv_cidr_problems(["10.0.0.0/16", "x", "10.0.0.1/8"], "v")) == 2


def test_networks_get_one_spelling_each():
    assert dcv_cidr_normalize(["2001:DB8:0:0::/56", "2001:db8::/56", "192.0.2.7", " 10.0.0.0/16 "]) == [
        "2001:db8::/56", "192.0.2.7/32", "10.0.0.0/16"]


def test_firewalld_first_restriction_adds_rules_before_closing_the_open_port():
    plan = dcv_firewalld_plan(listing(list_all("8443/tcp 8989/tcp")), sources(["10.0.0.0/16", "2001:DB8::/56"], []),
                              PORTS)
    assert plan == {"add": [V4, V6], "close": ["8443/tcp"], "remove": []}


def test_firewalld_converged_host_needs_nothing():
    plan = dcv_firewalld_plan(listing(list_all("8989/tcp", [V4, V6])), sources(["10.0.0.0/16", "2001:db8::/56"], []),
                              PORTS)
    assert plan == {"add": [], "close": [], "remove": []}


def test_firewalld_runtime_and_permanent_are_both_checked():
    # a reload drops a runtime-only rule, a restart loses one that is not permanent: either half missing is missing
    runtime_only = dcv_firewalld_plan(listing(list_all("8989/tcp", [V4]), list_all("8443/tcp 8989/tcp")),
                                      sources(["10.0.0.0/16"], []), PORTS)
    assert runtime_only == {"add": [V4], "close": ["8443/tcp"], "remove": []}


def test_firewalld_changed_list_adds_the_new_source_and_removes_the_old():
    plan = dcv_firewalld_plan(listing(list_all("8989/tcp", [V4, V6])), sources(["10.1.0.0/16"], []), PORTS)
    assert plan["add"] == [V4.replace("10.0.0.0", "10.1.0.0")]
    assert plan["remove"] == [V4, V6] and plan["close"] == []


def test_firewalld_emptied_list_removes_every_source_rule_of_the_port():
    # the port is opened to anyone again by the open-ports task before this plan is read
    plan = dcv_firewalld_plan(listing(list_all("8443/tcp 8989/tcp", [V4, V6])), sources([]), PORTS)
    assert plan == {"add": [], "close": [], "remove": [V4, V6]}


def test_firewalld_health_port_with_its_own_sources():
    plan = dcv_firewalld_plan(listing(list_all("8443/tcp 8989/tcp")), sources(["10.0.0.0/16"], ["10.9.0.0/24"]), PORTS)
    assert plan["add"] == [V4, V4.replace("10.0.0.0/16", "10.9.0.0/24").replace('"8443"', '"8989"')]
    assert plan["close"] == ["8443/tcp", "8989/tcp"]


def test_firewalld_quic_switched_off_removes_the_udp_source_rules():
    udp = V4.replace('"tcp"', '"udp"')
    plan = dcv_firewalld_plan(listing(list_all("8989/tcp", [V4, udp])), sources(["10.0.0.0/16"], []), PORTS)
    assert plan == {"add": [], "close": [], "remove": [udp]}
    with_quic = dcv_firewalld_plan(listing(list_all("8989/tcp", [V4])), sources(["10.0.0.0/16"], []),
                                   PORTS + ["8443/udp"])
    assert with_quic["add"] == [udp]


def test_firewalld_rules_of_other_ports_and_shapes_stay():
    others = ['rule family="ipv4" source address="10.0.0.0/16" port port="22" protocol="tcp" accept',
              'rule priority="-1" family="ipv4" source address="192.0.2.0/24" port port="8443" protocol="tcp" accept',
              'rule family="ipv4" source address="192.0.2.0/24" port port="8443" protocol="tcp" reject',
              'rule family="ipv4" source address="192.0.2.0/24" port port="8443" protocol="tcp" log prefix="x" accept',
              'rule family="ipv4" source ipset="office" port port="8443" protocol="tcp" accept']
    plan = dcv_firewalld_plan(listing(list_all("8989/tcp", others + [V4])), sources(["10.0.0.0/16"], []), PORTS)
    assert plan == {"add": [], "close": [], "remove": []}


def test_firewalld_same_network_spelled_otherwise_is_the_same_rule():
    host = 'rule family="ipv4" source address="192.0.2.7" port port="8443" protocol="tcp" accept'
    plan = dcv_firewalld_plan(listing(list_all("8989/tcp", [host])), sources(["192.0.2.7/32"], []), PORTS)
    assert plan == {"add": [], "close": [], "remove": []}


def test_firewalld_without_any_source_keeps_the_ports_open():
    plan = dcv_firewalld_plan(listing(list_all("8443/tcp 8989/tcp")), sources([]), PORTS)
    assert plan == {"add": [], "close": [], "remove": []}


def ufw_added(*rules):
    """`ufw show added` as ufw prints it (one line per rule, IPv4 and IPv6 copies of a rule once)."""
    return "Added user rules (see 'ufw status' for running firewall):\n" + (
        "\n".join("ufw " + rule for rule in rules) if rules else "(None)")


def test_ufw_first_restriction():
    plan = dcv_ufw_plan(ufw_added("allow 22/tcp", "allow 8443/tcp", "allow 8989/tcp"),
                        sources(["10.0.0.0/16", "2001:db8::/56"], []), PORTS)
    assert plan == {"add": [{"from": "10.0.0.0/16", "port": "8443", "proto": "tcp"},
                            {"from": "2001:db8::/56", "port": "8443", "proto": "tcp"}],
                    "close": [{"port": "8443", "proto": "tcp"}], "remove": []}


def test_ufw_converged_host_needs_nothing():
    plan = dcv_ufw_plan(ufw_added("allow 22/tcp", "allow 8989/tcp",
                                  "allow from 10.0.0.0/16 to any port 8443 proto tcp comment 'dcvkit.session_manager "
                                  "allowed source'",
                                  "allow from 192.0.2.7 to any port 8443 proto tcp"),
                        sources(["10.0.0.0/16", "192.0.2.7/32"], []), PORTS)
    assert plan == {"add": [], "close": [], "remove": []}


def test_ufw_changed_and_emptied_lists():
    added = ufw_added("allow 8989/tcp", "allow from 10.0.0.0/16 to any port 8443 proto tcp",
                      "allow from 10.0.0.0/16 to any port 8443 proto udp", "allow from 10.0.0.0/16 to any port 22 proto tcp")
    changed = dcv_ufw_plan(added, sources(["10.1.0.0/16"], []), PORTS)
    assert changed == {"add": [{"from": "10.1.0.0/16", "port": "8443", "proto": "tcp"}], "close": [],
                       "remove": [{"from": "10.0.0.0/16", "port": "8443", "proto": "tcp"},
                                  {"from": "10.0.0.0/16", "port": "8443", "proto": "udp"}]}
    emptied = dcv_ufw_plan(added, sources([]), PORTS)
    assert emptied["add"] == [] and emptied["close"] == [] and len(emptied["remove"]) == 2


def test_ufw_listing_of_the_broker_gateway_scenario():
    # `ufw show added` of ufw 0.36.2 on Debian 12 (molecule/broker_gateway), the client's /32 allowed with QUIC on:
    # a single address printed without its prefix length, the rules' comment, the UDP copy of the web port
    added = ufw_added("allow 8448/tcp", "allow 8445/tcp", "allow 8447/tcp",
                      "allow from 10.89.1.3 to any port 8443 proto tcp comment 'dcvkit.session_manager allowed source'",
                      "allow from 10.89.1.3 to any port 8443 proto udp comment 'dcvkit.session_manager allowed source'",
                      "allow 8989/tcp")
    web = {"8443/tcp": ["10.89.1.3/32"], "8443/udp": ["10.89.1.3/32"], "8989/tcp": []}
    assert dcv_ufw_plan(added, web, PORTS + ["8443/udp"]) == {"add": [], "close": [], "remove": []}
    # QUIC off again: the UDP rule goes, the TCP one stays
    assert dcv_ufw_plan(added, web, PORTS) == {
        "add": [], "close": [], "remove": [{"from": "10.89.1.3", "port": "8443", "proto": "udp"}]}


def test_ufw_without_rules():
    plan = dcv_ufw_plan(ufw_added(), sources(["10.0.0.0/16"], []), PORTS)
    assert plan == {"add": [{"from": "10.0.0.0/16", "port": "8443", "proto": "tcp"}], "close": [], "remove": []}
