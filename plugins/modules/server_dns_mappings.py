#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: server_dns_mappings
short_description: Keep the broker's DCV server - DNS name mappings equal to a list
version_added: "0.1.0"
description:
  - The Amazon DCV Connection Gateway needs the DCV servers' DNS names to connect to them (sm-admin "Amazon DCV
    Session Manager Amazon DCV server - DNS mapping reference"). The broker's session resolver hands the gateway
    the C(InternalDnsName) of a server as C(DcvServerEndpoint) once a mapping matches it.
  - Reads the mappings with the broker CLI (C(dcv-session-manager-broker describe-server-dns-mappings)) and only when
    they differ from O(mappings) writes a JSON file readable by root only (mode C(0600)) and loads it with
    C(register-server-dns-mappings --file-path FILE). That command replaces every mapping the broker had, so
    O(mappings) is the whole list; the file is removed afterwards. The module reports C(changed) only when it
    registered, and reads the mappings back to prove the broker took them.
  - Runs on the broker host as root (C(become=true)); the broker must be running (the CLI talks to it).
author:
  - dcvkit contributors (@dcvkit)
extends_documentation_fragment:
  - dcvkit.session_manager.broker_cli
attributes:
  check_mode:
    support: full
    description: In check mode nothing is registered or written; the read-only C(describe-server-dns-mappings) still runs.
  diff_mode:
    support: full
    description: The mappings before and after, as sorted JSON.
options:
  mappings:
    description:
      - The mappings the broker must hold, each an entry of the file of sm-admin "Amazon DCV Session Manager Amazon
        DCV server - DNS mapping reference" - C(ServerIdType) (V(Ip), V(Id) or V(Host.Aws.Ec2InstanceId)),
        C(ServerId) and C(DnsNames) with C(InternalDnsName) (and optionally C(ExternalDnsName)).
      - An empty list removes every mapping.
    type: list
    elements: dict
    required: true
  tmp_dir:
    description:
      - Directory for the short-lived mappings file the CLI reads. Defaults to the system's temporary directory.
    type: path
notes:
  - Mappings survive a broker restart, and reach the other brokers of a cluster, only with broker persistence
    (C(enable-persistence)); run the module again after a restart of a broker without persistence.
seealso:
  - module: dcvkit.session_manager.api_client
"""

EXAMPLES = r"""
- name: Map the DCV server's private address to the name its certificate carries
  dcvkit.session_manager.server_dns_mappings:
    mappings:
      - ServerIdType: Ip
        ServerId: 10.150.249.21
        DnsNames:
          InternalDnsName: dcv-b.example.internal
  become: true

- name: Remove every mapping
  dcvkit.session_manager.server_dns_mappings:
    mappings: []
  become: true
"""

RETURN = r"""
mappings:
  description: The mappings the broker holds after the run (in check mode, what it would hold), sorted.
  returned: always
  type: list
  elements: dict
  sample: [{"ServerIdType": "Ip", "ServerId": "10.150.249.21", "DnsNames": {"InternalDnsName": "dcv-b.example.internal"}}]
previous:
  description: The mappings the broker held before the run, sorted.
  returned: always
  type: list
  elements: dict
  sample: []
registered:
  description: Whether this run registered the mappings (or would have, in check mode).
  returned: always
  type: bool
  sample: true
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dcvkit.session_manager.plugins.module_utils import broker_cli

from ansible_collections.dcvkit.session_manager.plugins.module_utils.broker_dns_mappings import (
    MappingsError,
    loaded_count,
    ordered,
    parse_described,
    problems,
    same,
    write_temporary,
)


def run_cli(module, cli, *arguments):
    rc, stdout, stderr = module.run_command([cli] + list(arguments))
    if rc != 0:
        module.fail_json(msg='%s failed (rc=%d): %s (is the broker running? the CLI talks to it on cli-to-broker-port)'
                         % (' '.join(arguments), rc, ((stderr or '') + (stdout or '')).strip()), rc=rc)
    return stdout


def described(module, cli):
    output = run_cli(module, cli, 'describe-server-dns-mappings')
    try:
        return parse_described(output)
    except MappingsError as error:
        module.fail_json(msg=str(error))


def register(module, cli, wanted):
    try:
        path = write_temporary(wanted, module.params['tmp_dir'])
    except OSError as error:
        module.fail_json(msg='cannot write the mappings file: %s' % error)
    try:
        output = run_cli(module, cli, 'register-server-dns-mappings', '--file-path', path)
    finally:
        if os.path.exists(path):
            os.unlink(path)
    count = loaded_count(output)
    if count is not None and count != len(wanted):
        module.fail_json(msg='register-server-dns-mappings loaded %d mapping(s), not %d: %s'
                         % (count, len(wanted), output.strip()))


def as_text(mappings):
    return json.dumps(mappings, indent=2, sort_keys=True) + '\n'


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mappings=dict(type='list', elements='dict', required=True),
            **broker_cli.ARGUMENT_SPEC,
            tmp_dir=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    wanted = module.params['mappings']
    found = problems(wanted)
    if found:
        module.fail_json(msg='mappings cannot be registered: %s' % '; '.join(found))
    if os.geteuid() != 0:
        module.fail_json(msg='server_dns_mappings must run as root (become: true): the broker CLI needs it')
    cli = broker_cli.find_cli(module)
    previous = ordered(described(module, cli))
    after = ordered(wanted)
    result = dict(changed=False, registered=False, previous=previous, mappings=after)
    if not same(previous, after):
        result.update(changed=True, registered=True)
        if module._diff:
            result['diff'] = dict(before=as_text(previous), after=as_text(after),
                                  before_header='describe-server-dns-mappings', after_header='mappings')
        if not module.check_mode:
            register(module, cli, after)
            now = ordered(described(module, cli))
            if not same(now, after):
                module.fail_json(msg='after register-server-dns-mappings the broker lists %s, not the %d mapping(s) '
                                     'registered' % (json.dumps(now, sort_keys=True), len(after)), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
