# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the checks read a value as Jinja's tests and filters would: the roles' documentation and their earlier checks
were written in those terms (``| bool``, ``is boolean``, ``| string is match``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.six import string_types

_WHOLE = re.compile(r"^[0-9]+$")


def as_bool(value):
    """Jinja's ``value | bool``: yes/no, true/false, on/off, 1/0 in any case; anything else is false."""
    try:
        return boolean(value, strict=False)
    except TypeError:
        return False


def is_boolean(value):
    """Jinja's ``value is boolean``: a real true or false, not a string that reads as one."""
    return isinstance(value, bool)


def is_whole_number(value):
    """``value | string is match('^[0-9]+$')``: 30 and "30", never -1, 1.5, "30m" or a boolean."""
    return not isinstance(value, bool) and _WHOLE.match(text(value)) is not None


def is_mapping(value):
    return isinstance(value, dict)


def text(value):
    """Jinja's ``string`` filter (None is "None"): how a message shows what the operator wrote."""
    if isinstance(value, string_types):
        return value
    return str(value)
