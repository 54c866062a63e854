# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that render values safely into the stack's config formats and prove a rendered file reads back
as meant (run on the control node, before a file may replace the one on a host)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dcvkit.session_manager.plugins.module_utils import dcv_catalog as catalog
from ansible_collections.dcvkit.session_manager.plugins.module_utils import dcv_config_formats as formats
from ansible_collections.dcvkit.session_manager.plugins.module_utils.config_problems import (  # noqa: F401 (filters)
    dcv_agent_setting_problems, dcv_gateway_setting_problems, dcv_ini_items, dcv_ini_settings_problems)


def dcv_broker_property_problems(properties, extra_properties=None):
    errors, warnings = catalog.broker_property_problems(properties, extra_properties)
    return {"errors": errors, "warnings": warnings}


def dcv_java_properties_problems(text, expected):
    return formats.java_properties_problems(text, expected)


def dcv_toml_problems(text, expected=None):
    return formats.toml_problems(text, expected)


class FilterModule(object):
    def filters(self):
        return {
            "dcv_java_properties_key": formats.java_properties_key,
            "dcv_java_properties_value": formats.java_properties_value,
            "dcv_java_properties_problems": dcv_java_properties_problems,
            "dcv_toml_value": formats.toml_value,
            "dcv_toml_key": formats.toml_key,
            "dcv_toml_problems": dcv_toml_problems,
            "dcv_broker_property_problems": dcv_broker_property_problems,
            "dcv_gateway_setting_problems": dcv_gateway_setting_problems,
            "dcv_agent_setting_problems": dcv_agent_setting_problems,
            "dcv_socket_address_problems": catalog.socket_address_problems,
            "dcv_ini_items": dcv_ini_items,
            "dcv_ini_merged": formats.ini_merged,
            "dcv_ini_settings_problems": dcv_ini_settings_problems,
        }
