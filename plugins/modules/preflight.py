#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: preflight
short_description: Refuse a role's bad input for one host, or for many hosts in one task, on the control node
version_added: 0.1.0
description:
  - Runs the input checks of the collection's roles (O(roles)) over a host's variables and fails, before anything
    changes, with one message per problem that names the operator's variable and the fix. Runs on the control node
    only and never contacts a host.
  - The checks of V(dcv_common) cover the platform, the package source and the PKI settings; those of V(dcv_server),
    V(dcv_agent) and V(dcv_gateway) the DCV server's, the agent's and the gateway's variables, ending with the proof
    that C(dcv.conf), C(agent.conf) and every tags file, or C(dcv-connection-gateway.conf), would parse and read back
    exactly as meant.
  - The checks of V(dcv_gateway) also read the supplied certificate and its key (C(dcv_gateway_certificate_src),
    C(dcv_gateway_private_key_src)) on the control node, found as the P(ansible.builtin.file#lookup) lookup finds
    them, and match them against each other and the gateway's names; no message shows the key.
  - The checks of V(dcv_broker) cover the broker's wiring, properties, heap size, persistence settings, connection
    token and session time limits, the session expiry's Python and the form of C(dcv_broker_java_home). A property
    of C(dcv_broker_extra_properties) the collection does not know is written unchecked and returned as a warning,
    which Ansible prints.
  - No message shows the value of a variable the role's argument spec marks C(no_log) (the broker's database
    password); it is replaced by C(********) wherever a message would quote it.
  - Each role's argument spec (C(meta/argument_specs.yml), entry point C(main), with its types and choices) is
    validated too, for every host, as Ansible validates it where the role is entered. The role's own checks report
    first, since their messages say what a value means and how to fix it; the spec covers every other variable.
  - Without O(hosts) it checks the host the task runs for. With O(hosts) it checks each of them with the variables the
    same task would have on that host (role defaults and vars, inventory, facts, extra variables, each rendered in
    that host's context), so one task with C(run_once) checks a whole fleet. Messages then start with the host's name.
  - On success it sets, for this run only (never into a fact cache), the flag the role's C(tasks/main.yml) reads to
    skip checks an earlier play made.
  - Use it inside the role whose checks it runs (the role's C(tasks/preflight.yml) does), so that the role's variables
    are defined.
author:
  - dcvkit contributors (@dcvkit)
attributes:
  check_mode:
    description: Changes nothing in any mode.
    support: full
  diff_mode:
    description: Nothing to show.
    support: none
  platform:
    description: Runs on the control node.
    support: full
    platforms: posix
  action:
    description: Implemented by an action plugin of the same name only.
    support: full
  async:
    description: Not supported.
    support: none
options:
  roles:
    description: Whose checks to run, in this order; a host's later roles are not checked once one refused its input.
    type: list
    elements: str
    required: true
    choices: [dcv_agent, dcv_broker, dcv_common, dcv_gateway, dcv_server]
  hosts:
    description: Inventory hosts to check; default the host the task runs for.
    type: list
    elements: str
'''

EXAMPLES = r'''
- name: Check this host's DCV server input (inside the dcv_server role)
  dcvkit.session_manager.preflight:
    roles: [dcv_common, dcv_server]

- name: Check every DCV server of the run in one task (inside the dcv_server role, as site.yml's preflight does)
  dcvkit.session_manager.preflight:
    roles: [dcv_common, dcv_server]
    hosts: "{{ groups['dcv_servers'] }}"
  run_once: true
'''

RETURN = r'''
checked_hosts:
  description: How many hosts were checked.
  returned: success
  type: int
  sample: 250
'''
