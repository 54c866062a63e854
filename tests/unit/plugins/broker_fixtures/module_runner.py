# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() in-process with given arguments and return its JSON result (tests only)."""

from __future__ import annotations

import contextlib
import io
import json

from ansible.module_utils.testing import patch_module_args


class ModuleResult(dict):
    """The module's result; ``raw`` is everything it printed (to look for leaked secrets)."""

    raw = ''

    @property
    def failed(self):
        return bool(self.get('failed'))


def run_module(main, args, check_mode=False):
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    printed = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(printed):
        try:
            main()
        except SystemExit:
            pass
    raw = printed.getvalue()
    result = ModuleResult(json.loads(raw.strip().splitlines()[-1]))
    result.raw = raw
    return result
