# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The product facts (module_utils/dcv_products) for roles and playbooks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_products import product


def dcv_product(component, fact=None):
    try:
        return product(component, fact)
    except KeyError as exc:
        raise AnsibleFilterError("dcv_product: %s" % exc.args[0])


class FilterModule(object):
    def filters(self):
        return {"dcv_product": dcv_product}
