#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: api_client
short_description: Register a DCV Session Manager API client once and keep its credentials on the broker
version_added: "0.1.0"
description:
  - Registers an API client with the broker CLI (C(dcv-session-manager-broker register-api-client)). The broker
    prints the client password only once, so the module stores the client ID and password in a file readable by
    root only (owner C(root:root), mode C(0600), written atomically) on the broker host and returns them.
  - Later runs read the stored file and report C(changed=false) while the broker still lists the client as active
    (C(describe-api-clients)). When the stored client is gone or inactive, the module registers a new client and
    replaces the file.
  - With O(state=absent) the module unregisters the stored client and every active client with the same name,
    then removes the file.
  - Runs on the broker host as root (C(become=true)).
author:
  - dcvkit contributors (@dcvkit)
extends_documentation_fragment:
  - dcvkit.session_manager.broker_cli
attributes:
  check_mode:
    support: full
    description: In check mode nothing is registered, unregistered or written; read-only CLI calls still run.
  diff_mode:
    support: none
    description: No diff is produced.
options:
  name:
    description:
      - Name of the API client (C(--client-name)).
    type: str
    required: true
  state:
    description:
      - V(present) registers the client unless the stored one is still active; V(absent) unregisters it and
        removes the credentials file.
    type: str
    choices: [present, absent]
    default: present
  path:
    description:
      - File that keeps the credentials (JSON with C(client_name), C(client_id), C(client_secret)).
      - Defaults to C(/etc/dcv-session-manager-broker/api-client-NAME.json).
      - Its directory must exist; the module does not create it.
    type: path
  verify_registration:
    description:
      - Ask the broker (C(describe-api-clients)) whether the stored client is still active and register a new
        one when it is not. When V(false), an existing file is trusted as it is.
    type: bool
    default: true
notes:
  - O(name) is not a secret; the returned RV(client_secret) is. Set C(no_log=true) on the task, or register
    the result and pass only RV(client_id) and RV(client_secret) to tasks that themselves use C(no_log).
  - The credentials file is the only copy of the password. Losing it means registering a new client.
seealso:
  - module: dcvkit.session_manager.session
"""

EXAMPLES = r"""
- name: Register the automation client (its secret never reaches the log)
  dcvkit.session_manager.api_client:
    name: dcvkit-automation
  become: true
  no_log: true
  register: dcv_api_client

- name: Store the credentials in a chosen file
  dcvkit.session_manager.api_client:
    name: portal
    path: /etc/dcv-session-manager-broker/portal-client.json
  become: true
  no_log: true

- name: Unregister the client and delete its stored credentials
  dcvkit.session_manager.api_client:
    name: dcvkit-automation
    state: absent
  become: true
"""

RETURN = r"""
client_name:
  description: Name of the API client.
  returned: always
  type: str
  sample: dcvkit-automation
client_id:
  description: ID of the API client (not secret). Empty when O(state=absent) or in check mode before a first registration.
  returned: always
  type: str
  sample: 21cfe9cf-61d7-4c53-b1b6-cf248EXAMPLE
client_secret:
  description:
    - Password of the API client. B(This is a secret); use C(no_log) on the task.
    - Empty when O(state=absent) or in check mode before a first registration.
  returned: always
  type: str
  sample: "********"
path:
  description: The credentials file.
  returned: always
  type: str
  sample: /etc/dcv-session-manager-broker/api-client-dcvkit-automation.json
registered:
  description: Whether this run registered a new client (or would have, in check mode).
  returned: always
  type: bool
  sample: false
unregistered:
  description: IDs of the clients this run unregistered (or would have, in check mode).
  returned: always
  type: list
  elements: str
  sample: []
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dcvkit.session_manager.plugins.module_utils import broker_cli

from ansible_collections.dcvkit.session_manager.plugins.module_utils.broker_credentials import (
    CredentialsError,
    default_path,
    file_needs_repair,
    is_active,
    parse_api_clients,
    parse_registration,
    read_file,
    redact,
    repair_file,
    write_file,
)
from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_products import PRODUCTS


class BrokerCli(object):
    def __init__(self, module, executable):
        self.module = module
        self.executable = executable
        self.secrets = []

    def run(self, *arguments):
        command = [self.executable] + list(arguments)
        rc, stdout, stderr = self.module.run_command(command)
        if rc != 0:
            self.module.fail_json(
                msg='%s failed (rc=%d): %s' % (' '.join(command[1:]), rc,
                                               redact((stderr or '') + (stdout or ''), self.secrets).strip()),
                rc=rc)
        return stdout

    def clients(self):
        try:
            return parse_api_clients(self.run('describe-api-clients'))
        except CredentialsError as error:
            self.module.fail_json(msg=str(error))

    def register(self, name):
        output = self.run('register-api-client', '--client-name', name)
        try:
            client_id, secret = parse_registration(output)
        except CredentialsError as error:
            self.module.fail_json(msg='%s; output: %s' % (error, redact(output, self.secrets)))
        self.secrets.append(secret)
        return client_id, secret

    def unregister(self, client_id):
        self.run('unregister-api-client', '--client-id', client_id)


def load_stored(module, path):
    try:
        stored = read_file(path)
    except CredentialsError as error:
        module.fail_json(msg=str(error))
    if stored is not None:
        if stored.get('client_name') not in (None, module.params['name']):
            module.fail_json(msg='%s holds the credentials of client %r, not %r: choose another path'
                             % (path, stored.get('client_name'), module.params['name']))
    return stored


def ensure_present(module, cli, path, result):
    name = module.params['name']
    stored = load_stored(module, path)
    if stored is not None:
        if module.params['verify_registration']:
            active_ids = [client.get('id') for client in cli.clients() if is_active(client)]
            still_valid = stored['client_id'] in active_ids
        else:
            still_valid = True
        if still_valid:
            result.update(client_id=stored['client_id'], client_secret=stored['client_secret'])
            problems = file_needs_repair(path)
            if problems:
                result['changed'] = True
                result['msg'] = 'credentials file permissions repaired: %s' % '; '.join(problems)
                if not module.check_mode:
                    repair_file(path)
            return
        result['msg'] = ('stored client %s is no longer active on the broker; registering a new one'
                         % stored['client_id'])
    else:
        namesakes = [client.get('id') for client in cli.clients()
                     if client.get('name') == name and is_active(client)]
        if namesakes:
            module.warn('active client(s) named %s already exist (%s) but their secret is not stored in %s; '
                        'registering another client with the same name'
                        % (name, ', '.join(str(item) for item in namesakes), path))

    result['changed'] = True
    result['registered'] = True
    if module.check_mode:
        return
    client_id, secret = cli.register(name)
    try:
        write_file(path, {'client_name': name, 'client_id': client_id, 'client_secret': secret})
    except (CredentialsError, OSError) as error:
        # Without the file the secret is lost: take the client back rather than leave an orphan.
        cli.unregister(client_id)
        module.fail_json(msg='registered client %s but could not store its credentials, so it was '
                             'unregistered again: %s' % (client_id, error))
    result.update(client_id=client_id, client_secret=secret)


def ensure_absent(module, cli, path, result):
    name = module.params['name']
    stored = load_stored(module, path)
    stored_id = (stored or {}).get('client_id')
    doomed = []
    for client in cli.clients():
        if not is_active(client):
            continue
        if client.get('id') == stored_id or client.get('name') == name:
            doomed.append(client.get('id'))
    result['unregistered'] = doomed
    if doomed or stored is not None:
        result['changed'] = True
    if module.check_mode:
        return
    for client_id in doomed:
        cli.unregister(client_id)
    if stored is not None or os.path.exists(path):
        os.unlink(path)
        result['changed'] = True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            path=dict(type='path'),
            **broker_cli.ARGUMENT_SPEC,
            verify_registration=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    name = module.params['name']
    path = module.params['path'] or default_path(name, PRODUCTS['broker']['config_dir'])
    if os.geteuid() != 0:
        module.fail_json(msg='api_client must run as root (become: true): the broker CLI and the '
                             'root-only credentials file need it')
    cli = BrokerCli(module, broker_cli.find_cli(module))
    result = dict(changed=False, client_name=name, client_id='', client_secret='', path=path,
                  registered=False, unregistered=[])
    if module.params['state'] == 'present':
        ensure_present(module, cli, path, result)
    else:
        ensure_absent(module, cli, path, result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
