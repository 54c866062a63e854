# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of a CreateSessions request on the control node, before playbooks/session.yml changes any host.

The session module makes the same checks (module_utils.broker_sessions), but session.yml registers its API client
before that module runs; this filter refuses bad input first, naming the playbook's own variables.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.validation import check_type_bool, check_type_int, check_type_list

from ansible_collections.dcvkit.session_manager.plugins.module_utils.broker_sessions import (
    CREATE_SESSION_OPTIONS,
    create_session_fields,
)

_CONVERT = {"int": check_type_int, "bool": check_type_bool, "strings": check_type_list}


def dcv_session_create_problems(session_type, options, names=None):
    """What is wrong with ``options`` (the session module's CreateSessions options; ``""``, ``None`` and ``[]`` mean
    not given) for a ``session_type`` session. Values are converted as the module converts them (``"2"`` is 2)."""
    names = names or {}
    converted, problems = {}, []
    kinds = dict((option, kind) for option, _key, kind in CREATE_SESSION_OPTIONS)
    for option, value in (options or {}).items():
        if option not in kinds:
            problems.append("%s is not a CreateSessions option of this collection" % names.get(option, option))
            continue
        if value is None or value == "" or value == []:
            continue
        convert = _CONVERT.get(kinds[option])
        if convert is not None:
            try:
                value = convert(value)
            except (TypeError, ValueError):
                problems.append("%s is %r: it must be %s" % (names.get(option, option), value, {
                    "int": "a whole number", "bool": "true or false", "strings": "a list of strings"}[kinds[option]]))
                continue
        converted[option] = value
    return problems + create_session_fields(session_type, converted, names)[1]


class FilterModule(object):
    def filters(self):
        return {"dcv_session_create_problems": dcv_session_create_problems}
