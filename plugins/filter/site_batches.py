# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Batch sizes (the play keyword ``serial``) for site.yml's deploy plays.

Each deploy play runs a front-end role (broker or gateway) and a DCV-server-side role (server or agent) side by
side. Without batching every host is in one batch, so host A and host B work at the same time. With batching,
the front ends come first in their own batches (``dcv_site_serial_frontends``, e.g. 1 to roll gateways behind
a load balancer one by one), then the DCV servers in theirs (``dcv_site_serial_servers``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - only outside ansible
    AnsibleFilterError = ValueError


def _size(value, count, variable):
    text = str(value).strip()
    try:
        if text.endswith("%"):
            percent = float(text[:-1])
            if not 0 < percent <= 100:
                raise ValueError(text)
            return max(1, int(count * percent / 100))
        size = int(text)
        if size < 1:
            raise ValueError(text)
        return size
    except ValueError:
        raise AnsibleFilterError("%s must be a number of hosts (1 or more) or a percentage like '25%%'; got %r"
                                 % (variable, value))


def _split(count, size):
    return [size] * (count // size) + ([count % size] if count % size else [])


def dcv_site_batches(frontends, servers, frontends_serial=None, servers_serial=None):
    """``serial`` for a play over ``frontends`` then ``servers`` (inventory host names; a host in both counts as a
    front end): '100%' when neither setting is given, else a list of batch sizes."""
    front = list(dict.fromkeys(frontends))
    rest = [host for host in dict.fromkeys(servers) if host not in front]
    unset = (None, "")
    if frontends_serial in unset and servers_serial in unset:
        return "100%"
    batches = []
    if front:
        size = _size("100%" if frontends_serial in unset else frontends_serial, len(front), "dcv_site_serial_frontends")
        batches += _split(len(front), size)
    if rest:
        size = _size("100%" if servers_serial in unset else servers_serial, len(rest), "dcv_site_serial_servers")
        batches += _split(len(rest), size)
    return batches or "100%"


class FilterModule(object):
    def filters(self):
        return {"dcv_site_batches": dcv_site_batches}
