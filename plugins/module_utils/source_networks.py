# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Source networks in CIDR notation, as the operator writes them for who may reach a port: the filter
dcv_cidr_problems and the gateway's preflight check them with this one function."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible.module_utils.six import string_types


def network(text):
    """TEXT as a network; a ValueError when it is not one, or has host bits set."""
    return ipaddress.ip_network(u"%s" % text, strict=True)


def dcv_cidr_problems(value, variable):
    """What is wrong with a list of source networks, each message naming ``variable`` and the fix."""
    example = "such as ['10.0.0.0/16', '2001:db8::/56']"
    if value is None:
        return []
    if isinstance(value, string_types) or not isinstance(value, (list, tuple)):
        return ["%s must be a list of networks in CIDR notation, %s ([] = from anywhere); it is %r"
                % (variable, example, value)]
    problems = []
    for item in value:
        if not isinstance(item, string_types):
            problems.append("%s: %r is not a network in CIDR notation (%s)" % (variable, item, example))
            continue
        try:
            network(item.strip())
        except ValueError:
            try:
                loose = ipaddress.ip_network(u"%s" % item.strip(), strict=False)
            except ValueError:
                problems.append("%s: '%s' is not an IPv4 or IPv6 network in CIDR notation (%s)"
                                % (variable, item, example))
            else:
                problems.append("%s: '%s' has host bits set; write the network '%s' (or the single address "
                                "'%s/%d')" % (variable, item, loose.with_prefixlen, item.split("/")[0],
                                              loose.max_prefixlen))
    return problems
