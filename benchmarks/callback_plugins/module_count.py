# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Count, per host, the tasks that executed a module (benchmarks only, not part of the collection).

A benchmark's wall time says how long a run took; this says how much work it asked of each host, which does not
depend on the machine's load. Enable it with

    ANSIBLE_CALLBACK_PLUGINS=benchmarks/callback_plugins ANSIBLE_CALLBACKS_ENABLED=module_count

(benchmarks/fleet.sh does; scripts/lab.sh does with DCVKIT_COUNT_MODULES=1). At the end of the run it prints one
row per host; with DCVKIT_COUNT_MODULES_FILE=PATH it also writes the counts as JSON, with the task names.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
name: module_count
type: aggregate
short_description: count per host the tasks that executed a module
description:
  - Counts, per host, the tasks that ended ok or changed and executed a module (skipped, failed and unreachable
    results are not counted; nor are actions that run on the controller only, such as assert, set_fact, debug,
    include_role and dcvkit.session_manager.preflight). A task delegated to another host is counted apart, under
    the host it ran for.
  - Prints the counts at the end of the run; hosts with the same counts share a row when there are many.
requirements:
  - enabled in the configuration (callbacks_enabled)
options:
  output_file:
    description: Also write the counts and the task names per host to this file as JSON.
    env:
      - name: DCVKIT_COUNT_MODULES_FILE
    default: ''
"""

import json

from ansible.plugins.callback import CallbackBase

# Actions that run on the controller without a module on any host. Everything else executes at least one module
# (gather_facts, package, template, and the collection's action plugin, which runs its module on the host).
CONTROLLER_ONLY = frozenset((
    "add_host", "assert", "debug", "fail", "group_by", "import_playbook", "import_role", "import_tasks", "include",
    "include_role", "include_tasks", "include_vars", "meta", "pause", "set_fact", "set_stats",
    "validate_argument_spec",
    # this collection's input checks: an action plugin that reads variables on the controller, never the host
    "dcvkit.session_manager.preflight",
))

# Above this many hosts, hosts with the same counts share one row
ROWS_PER_HOST_UP_TO = 30


def _short_action(task):
    action = getattr(task, "resolved_action", None) or task.action or ""
    for prefix in ("ansible.builtin.", "ansible.legacy."):
        if action.startswith(prefix):
            return action[len(prefix):]
    return action


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "module_count"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        # host -> {"tasks": n, "executions": n, "delegated": n, "names": [...]}
        self._counts = {}

    def _host(self, name):
        return self._counts.setdefault(name, {"tasks": 0, "executions": 0, "delegated": 0, "names": []})

    def _count(self, result):
        task = result._task
        host = self._host(result._host.get_name())
        if _short_action(task) in CONTROLLER_ONLY:
            return
        raw = result._result
        # a loop's results are dicts, one per item; a module may return a "results" of its own (dnf: lines of text)
        looped = bool(task.loop or task.loop_with)
        items = [item for item in raw.get("results") or [] if isinstance(item, dict)] if looped else None
        executions = len([item for item in items if not item.get("skipped")]) if items is not None else 1
        # an action plugin that may answer on the controller says how many modules it ran (files: 0 or 1)
        if isinstance(raw.get("module_executions"), int):
            executions = raw["module_executions"]
        if executions == 0:
            return
        delegated = raw.get("_ansible_delegated_vars", {}).get("ansible_delegated_host") or task.delegate_to
        if delegated and delegated != result._host.get_name():
            host["delegated"] += executions
            host["names"].append("%s (on %s)" % (task.get_name(), delegated))
            return
        host["tasks"] += 1
        host["executions"] += executions
        host["names"].append(task.get_name())

    def v2_runner_on_ok(self, result):
        self._count(result)

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(set(self._counts) | set(stats.processed))
        for name in hosts:
            self._host(name)
        self._display.banner("MODULE EXECUTIONS PER HOST")
        self._display.display("tasks that executed a module on the host / module executions (loop items) / "
                              "executions delegated to another host for it")
        rows = []
        if len(hosts) <= ROWS_PER_HOST_UP_TO:
            rows = [(name, self._counts[name]) for name in hosts]
        else:
            groups = {}
            for name in hosts:
                key = tuple(self._counts[name][k] for k in ("tasks", "executions", "delegated"))
                groups.setdefault(key, []).append(name)
            for key, names in sorted(groups.items(), key=lambda kv: -len(kv[1])):
                label = names[0] if len(names) == 1 else "%d hosts (%s ... %s)" % (len(names), names[0], names[-1])
                rows.append((label, dict(zip(("tasks", "executions", "delegated"), key))))
        width = max([len(label) for label, _c in rows] + [len("total")])
        for label, counts in rows:
            self._display.display("%s  tasks=%-4d executions=%-4d delegated=%d"
                                  % (label.ljust(width), counts["tasks"], counts["executions"], counts["delegated"]))
        total = dict((k, sum(c[k] for c in self._counts.values())) for k in ("tasks", "executions", "delegated"))
        self._display.display("%s  tasks=%-4d executions=%-4d delegated=%d"
                              % ("total".ljust(width), total["tasks"], total["executions"], total["delegated"]))
        path = self.get_option("output_file")
        if path:
            with open(path, "w") as handle:
                json.dump({"hosts": self._counts, "total": total}, handle, indent=1, sort_keys=True)
