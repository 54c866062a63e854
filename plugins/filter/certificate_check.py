# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check an operator-supplied certificate chain (e.g. from a corporate CA) against its key and the names
browsers use, on the control node, before it reaches a host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dcvkit.session_manager.plugins.module_utils.certificate_problems import (
    dcv_certificate_problems)


class FilterModule(object):
    def filters(self):
        return {"dcv_certificate_problems": dcv_certificate_problems}
