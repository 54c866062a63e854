# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of dcvkit.session_manager.files: read the src files, and skip the host when the role's
host_state read already shows every declared file in place."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.plugins.action import ActionBase

from ansible_collections.dcvkit.session_manager.plugins.module_utils.managed_files import (
    entry_problems, files_argument_spec, read_shows_in_place, unchanged_result)

MODULE = "dcvkit.session_manager.files"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(files_argument_spec())

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, params = self.validate_argument_spec(argument_spec=files_argument_spec())
        problems = entry_problems(params["files"])
        if problems:
            raise AnsibleActionFail("; ".join(problems))

        entries, contents = [], {}
        for entry in params["files"]:
            entry = dict(entry)
            if entry.get("src") is not None:
                entry["content_base64"] = to_text(base64.b64encode(self._read_src(entry["src"])))
                entry["src"] = None
            if entry.get("content") is not None:
                contents[entry["path"]] = to_bytes(entry["content"], errors="surrogate_or_strict")
            elif entry.get("content_base64") is not None:
                contents[entry["path"]] = base64.b64decode(entry["content_base64"])
            entries.append(entry)

        # nothing declared (a role's optional files all off), or the read shows it all: no module on the host
        nothing_declared = not entries and not params["prune"]
        if nothing_declared or read_shows_in_place(params.get("host_state"), entries, params["prune"],
                                                   lambda entry: contents.get(entry["path"])):
            result.update(unchanged_result(), module_executions=0)
            return result

        answer = self._execute_module(module_name=MODULE, task_vars=task_vars,
                                      module_args=dict(files=entries, prune=params["prune"]))
        result.update(answer)
        return result

    def _read_src(self, src):
        try:
            path = self._find_needle("files", src)
        except AnsibleError as exc:
            raise AnsibleActionFail("files: src %s: %s" % (src, to_native(exc)))
        try:
            with open(to_bytes(path, errors="surrogate_or_strict"), "rb") as handle:
                return handle.read()
        except (IOError, OSError) as exc:
            raise AnsibleActionFail("files: src %s cannot be read on the control node: %s" % (src, to_native(exc)))
