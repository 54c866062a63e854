# -*- coding: utf-8 -*-
# Copyright (c) dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dcvkit.session_manager.preflight: a role's input checks for one host, or for many hosts in one task.

A check is a Python function of the host's variables (module_utils/preflight). For the host the task runs on, the
variables are the task's own. For the other hosts of ``hosts`` they are what Ansible would give the same task on that
host: the variable manager's answer for (play, host, this task), so the role's defaults and vars, the inventory,
facts and extra variables take their usual precedence, and templates are rendered in that host's context.

A check may also hand back warnings, which Ansible prints as [WARNING]s (a broker property the collection does not
know). No message, refusal or warning, shows the value of a variable the role's argument spec marks no_log.

Why many hosts in one task: a fleet has hundreds of DCV servers, and every task costs each host of a play a turn of
the strategy. site.yml's preflight checks every DCV server in one task on the control node (run_once) instead of a
dozen tasks per host.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
from collections.abc import Mapping

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.dcvkit.session_manager.plugins.filter.wiring import dcv_broker_names
from ansible_collections.dcvkit.session_manager.plugins.module_utils.preflight import (
    agent, broker, common, gateway, server)

try:  # ansible-core 2.19 renders only text it is told is a template
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - older ansible-core renders any text
    def trust_as_template(value):
        return value

ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")
_UNSET = object()
FACTS = ("distribution", "distribution_version", "os_family")

# the checks of each role, in the order a role's checks run (the dependency dcv_common first)
CHECKS = {"dcv_common": common, "dcv_server": server, "dcv_agent": agent, "dcv_gateway": gateway, "dcv_broker": broker}
# the variable a role's tasks/main.yml reads to skip checks an earlier play of the run made
CHECKED_FLAGS = {"dcv_common": None, "dcv_server": "_dcv_server_checked", "dcv_agent": "_dcv_agent_checked",
                 "dcv_gateway": "_dcv_gateway_checked", "dcv_broker": "_dcv_broker_checked"}

ARGUMENT_SPEC = {
    "roles": {"type": "list", "elements": "str", "required": True, "choices": sorted(CHECKS)},
    "hosts": {"type": "list", "elements": "str"},
}


def _texts(value):
    """Every text in VALUE (a scalar, or the values of a mapping or a list), as a message would show it."""
    if isinstance(value, Mapping):
        return _texts(list(value.values()))
    if isinstance(value, (list, tuple, set)):
        return [text for item in value for text in _texts(item)]
    if value is None or isinstance(value, bool) or to_text(value) == "":
        return []
    return [to_text(value)]


def _secrets(specs, variables, value):
    """The texts of the host's values of the options SPECS mark no_log."""
    found = []
    for options in specs:
        for name, option in options.items():
            if option.get("no_log") and name in variables:
                try:
                    found.extend(_texts(value(name)))
                except AnsibleError:
                    pass  # no check could read a value that does not render
    return found


class _HostValues(Mapping):
    """The variables a check NEEDS, each rendered when the check first reads it: a check that refuses early never
    renders what depends on the input it refused (a gateway's ports come from its entry of the wiring)."""

    def __init__(self, names, value, known):
        self._names = frozenset(names)
        self._value = value
        self._known = known

    def __getitem__(self, name):
        if name not in self._known:
            if name not in self._names:
                raise KeyError(name)
            self._known[name] = self._value(name)
        return self._known[name]

    def __iter__(self):
        return iter(self._names.union(self._known))

    def __len__(self):
        return len(self._names.union(self._known))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        dummy, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        current = task_vars["inventory_hostname"]
        hosts = params["hosts"] if params["hosts"] is not None else [current]
        templates = {}
        proven = {}
        specs = dict((role, self._argument_spec(role)) for role in params["roles"])
        # the wiring is one value for the whole run (derived once from the whole inventory): rendered once here, since
        # rendering it for every host would cost each host the size of the fleet
        shared = {"dcv_wiring": self._templar.template(task_vars["dcv_wiring"])} if "dcv_wiring" in task_vars else {}
        # one templar for every host: a new one per host would compile every template again
        templar = self._templar.copy_with_new_env()
        problems = []
        # what the operator should know but refuses nothing (a broker property written unchecked): Ansible prints
        # each as a [WARNING], also beside a refusal
        warnings = []
        for host in hosts:
            variables = task_vars if host == current else self._host_variables(host, task_vars)
            prefix = "" if hosts == [current] else "host %s: " % host
            found, noted = self._host_problems(params["roles"], specs, templar, variables, templates, shared, proven)
            problems.extend(prefix + problem for problem in found)
            warnings.extend(prefix + warning for warning in noted)
        if warnings:
            result["warnings"] = warnings
        if problems:
            raise AnsibleActionFail(" | ".join(problems), result=result)
        flags = dict((CHECKED_FLAGS[role], True) for role in params["roles"] if CHECKED_FLAGS[role])
        # like set_fact: for this run only, never into a fact cache (a cached flag would skip the next run's checks)
        result.update(changed=False, checked_hosts=len(hosts), ansible_facts=flags, _ansible_facts_cacheable=False)
        return result

    def _host_variables(self, host, task_vars):
        """What the variable manager gives this task on HOST (the strategy's own call for a task and host)."""
        try:
            manager = self._task.get_variable_manager()
            play = self._task._parent._play
            inventory_host = manager._inventory.get_host(host)
        except AttributeError as exc:  # pragma: no cover - an ansible-core that moved its internals
            raise AnsibleActionFail("preflight: this ansible-core cannot give the variables of another host (%s); "
                                    "check each host on its own (leave hosts unset)" % exc)
        if inventory_host is None:
            raise AnsibleActionFail("preflight: host %s is not in the inventory" % host)
        return manager.get_vars(play=play, host=inventory_host, task=self._task, include_hostvars=True,
                                _hosts=task_vars.get("ansible_play_batch"),
                                _hosts_all=task_vars.get("ansible_play_hosts_all"))

    def _argument_spec(self, role):
        """The role's argument spec (entry point main), its validator and the role's defaults as written."""
        spec = self._loader.load_from_file(os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml"))
        options = spec["argument_specs"]["main"].get("options") or {}
        defaults = self._loader.load_from_file(os.path.join(ROLES_DIR, role, "defaults", "main.yml")) or {}
        return options, ArgumentSpecValidator(options), defaults

    def _host_problems(self, roles, specs, templar, variables, templates, shared, proven):
        templar.available_variables = variables
        rendered = {}

        def value(name):
            if name in shared:
                return shared[name]
            if name not in rendered:
                rendered[name] = templar.template(variables[name])
            return rendered[name]

        problems = []
        warnings = []
        for role in roles:
            checks = CHECKS[role]
            options, validator, defaults = specs[role]
            try:
                # the role's argument spec (types, choices), as Ansible validates it where the role is entered; a value
                # the operator left at the role's default is valid by the spec's own test, so only the others are
                # rendered
                arguments = dict((name, value(name)) for name in options
                                 if name in variables and variables[name] != defaults.get(name, _UNSET))
                spec_errors = list(validator.validate(arguments, validate_role_argument_spec=True).error_messages)
                # the role's own checks speak first: their messages say what the value means and how to fix it; the
                # spec's cover every other variable, and a value of a type the checks cannot read at all
                try:
                    found = (self._checks(role, checks, value, variables, templar, templates, proven, warnings.append)
                             or spec_errors)
                except (AttributeError, KeyError, TypeError, ValueError) as exc:
                    found = spec_errors or ["the input of %s cannot be checked: %s" % (role, to_text(exc))]
            except AnsibleActionFail:
                raise
            except AnsibleError as exc:
                found = ["the input of %s cannot be read: %s" % (role, to_text(exc))]
            problems.extend(found)
            if found:
                break  # later roles' checks read what the earlier ones refused
        if problems or warnings:
            # a check or the argument spec may quote a value, but never one a role's argument spec marks no_log (the
            # broker's database password): a message that would show it shows ******** in its place
            hidden = _secrets([specs[role][0] for role in roles], variables, value)
            problems, warnings = remove_values(problems, hidden), remove_values(warnings, hidden)
        return problems, warnings

    def _checks(self, role, checks, value, variables, templar, templates, proven, warn):
        missing = [name for name in checks.NEEDS if name not in variables]
        if missing:
            raise AnsibleActionFail("preflight of %s: %s undefined (is the task inside the role?)"
                                    % (role, ", ".join(missing)))
        # the facts the checks read, not the whole gathered set (rendering that for every host is what would cost)
        facts = variables.get("ansible_facts") or {}
        values = _HostValues(checks.NEEDS, value, {
            "inventory_hostname": variables["inventory_hostname"],
            "ansible_facts": dict((key, templar.template(facts[key])) for key in FACTS if key in facts)})

        def render(name, item):
            return self._render(templar, templates, name, item)

        if checks is agent:
            return checks.problems(values, dcv_broker_names(values["dcv_wiring"]), render, proven)
        if checks is gateway:
            return checks.problems(values, render, self._read, proven)
        if checks is broker:
            return checks.problems(values, warn)
        return checks.problems(values)

    def _read(self, variable, path):
        """The text of the file PATH on the control node, found and decrypted as the file lookup would (the role's
        files/ first, a vaulted file decrypted): the certificate and the key VARIABLE names."""
        try:
            real = self._loader.get_real_file(self._find_needle("files", path), decrypt=True)
        except AnsibleError as exc:
            raise AnsibleError("%s: %s" % (variable, to_text(exc)))
        try:
            with open(real, "rb") as handle:
                return to_text(handle.read(), errors="surrogate_or_strict")
        finally:
            self._loader.cleanup_tmp_file(real)

    def _render(self, templar, templates, name, item):
        """The role's template NAME rendered with the host's variables and item = ITEM. The files it proves only
        read ansible_managed of what the template lookup adds, in a comment the proof skips."""
        if name not in templates:
            with open(self._find_needle("templates", name), "rb") as handle:
                templates[name] = trust_as_template(to_text(handle.read()))
        variables = templar.available_variables
        templar.available_variables = dict(variables, item=item,
                                           ansible_managed=variables.get("ansible_managed", "Ansible managed"))
        try:
            return templar.template(templates[name])
        finally:
            templar.available_variables = variables
