# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What is wrong with the settings an operator adds to agent.conf, the gateway's TOML and dcv.conf: keys the
products do not know, keys the roles set themselves, TLS verification switched off, and a rendering that does not
read back. Used by the filters of the same names and by the preflight action, on the control node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dcvkit.session_manager.plugins.module_utils import dcv_catalog as catalog
from ansible_collections.dcvkit.session_manager.plugins.module_utils import dcv_config_formats as formats


def _managed_and_insecure(settings, managed, allow_insecure, variable, strict_keys):
    errors = []
    if not isinstance(settings, dict):
        return errors
    for section, keys in settings.items():
        if not isinstance(keys, dict):
            continue
        for key, value in keys.items():
            dotted = "%s.%s" % (section, key)
            if dotted in (managed or {}):
                errors.append("%s: [%s] %s is set by the role from %s; remove it from %s"
                              % (variable, section, key, managed[dotted], variable))
            elif key in strict_keys and value is not True and not allow_insecure:
                errors.append("%s: [%s] %s = %r turns TLS verification off; remove it, or set "
                              "dcv_allow_insecure_tls: true explicitly if you really mean it"
                              % (variable, section, key, value))
    return errors


def dcv_gateway_setting_problems(settings, managed=None, allow_insecure=False, variable="dcv_gateway_extra_settings"):
    errors, warnings = catalog.toml_section_problems(
        settings, catalog.GATEWAY_KEYS, catalog.GATEWAY_NONEXISTENT_KEYS, variable)
    errors.extend(_managed_and_insecure(settings, managed, allow_insecure, variable, ("tls-strict",)))
    return {"errors": errors, "warnings": warnings}


def dcv_agent_setting_problems(settings, managed=None, allow_insecure=False, variable="dcv_agent_extra_settings"):
    errors, warnings = catalog.toml_section_problems(settings, catalog.AGENT_KEYS, {}, variable)
    errors.extend(catalog.agent_value_problems(settings, variable))
    errors.extend(_managed_and_insecure(settings, managed, allow_insecure, variable, ("tls_strict",)))
    return {"errors": errors, "warnings": warnings}


def dcv_ini_items(settings):
    """Flatten {section: {key: value}} into ini_file items whose values are written in dcv.conf syntax."""
    items = []
    for section, keys in settings.items():
        for key, value in keys.items():
            items.append({"section": str(section), "option": str(key), "value": formats.toml_value(value)})
    return items


def dcv_ini_settings_problems(settings, extra_settings=None, managed=None, variable="dcv_server_extra_settings",
                              allow_insecure=False):
    """Names must be plain, extra settings must not override role-set keys nor switch TLS verification off (unless
    dcv_allow_insecure_tls), and the rendered INI must read back."""
    errors = catalog.dcv_conf_insecure_problems(extra_settings, allow_insecure, variable)
    for section, keys in (extra_settings or {}).items():
        if not catalog.is_plain_name(section):
            errors.append("%s: section name %r is not a plain name (letters, digits, '_' and '-')" % (variable, section))
            continue
        if not isinstance(keys, dict):
            errors.append("%s: section '%s' must be a mapping of keys to values" % (variable, section))
            continue
        for key in keys:
            if not catalog.is_plain_name(key):
                errors.append("%s: key %r in [%s] is not a plain name" % (variable, key, section))
            elif "%s.%s" % (section, key) in (managed or {}):
                errors.append("%s: [%s] %s is set by the role from %s; remove it from %s"
                              % (variable, section, key, managed["%s.%s" % (section, key)], variable))
    if errors:
        return errors
    items = dcv_ini_items(settings)
    text = ""
    expected = {}
    for section in settings:
        text += "[%s]\n" % section
        for item in items:
            if item["section"] == section:
                text += "%s=%s\n" % (item["option"], item["value"])
                expected.setdefault(section, {})[item["option"]] = item["value"]
    return formats.ini_problems(text, expected)
