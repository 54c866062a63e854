# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the broker's persistence choice (dcv_broker_persistence): the preflight's checks of the operator's
settings, and which settings would move the brokers' state (module_utils/broker_persistence.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dcvkit.session_manager.plugins.module_utils import broker_persistence


def dcv_broker_persistence_problems(settings):
    return broker_persistence.persistence_problems(settings)


def dcv_broker_persistence_moved(properties_text, wanted):
    return broker_persistence.persistence_moved(properties_text, wanted)


class FilterModule(object):
    def filters(self):
        return {
            "dcv_broker_persistence_problems": dcv_broker_persistence_problems,
            "dcv_broker_persistence_moved": dcv_broker_persistence_moved,
        }
