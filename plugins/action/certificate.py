# -*- coding: utf-8 -*-
# Copyright (c) dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of dcvkit.session_manager.certificate: validate, decide, sign with the CA, install.

The CA key is loaded in this (controller) process only; the host sends a CSR and public facts, never its key.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.dcvkit.session_manager.plugins.module_utils import pki_plan, pki_x509
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_ca import load_ca
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_names import (
    PkiInputError, check_certificate_request)
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_spec import (
    CONTROLLER_ONLY, INTERNAL, certificate_argument_spec)

MODULE = 'dcvkit.session_manager.certificate'


class ActionModule(ActionBase):
    # One remote temp dir for both phases instead of one per module call.
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(certificate_argument_spec())

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = super(ActionModule, self).run(tmp, task_vars)
        try:
            return self._run(result, task_vars or {})
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _run(self, result, task_vars):
        dummy, params = self.validate_argument_spec(argument_spec=certificate_argument_spec())
        for option in INTERNAL:
            if params.get(option) is not None:
                raise AnsibleActionFail('%s is internal to the action plugin; remove it from the task' % option)
        problem = pki_x509.cryptography_problem()
        if problem:
            raise AnsibleActionFail('control node: %s' % problem)
        try:
            request = check_certificate_request(params)
            if self._task.check_mode and not os.path.exists(params['ca_path']):
                # A first --check of a new inventory: the ca task before this one only pretended to create
                # the CA.  Every certificate would come from the new CA; say so instead of failing.
                result['warnings'] = ['ca_path %s does not exist yet (check mode): a certificate would be issued '
                                      'by the CA the ca task creates' % params['ca_path']]
                result.update(changed=True, reasons=['ca_changed'], written=[], pkcs12_encryption=None)
                return result
            ca = load_ca(params['ca_path'], params.get('ca_key_passphrase'))
        except PkiInputError as exc:
            raise AnsibleActionFail(str(exc))

        host_args = dict((key, value) for key, value in params.items() if key not in CONTROLLER_ONLY)
        host_args.update(common_name=request['common_name'], _ca_certificate=ca.certificate_pem)
        inspected = self._call_host(dict(host_args, _phase='inspect'), task_vars)

        reasons = pki_plan.reissue_reasons(inspected, request, ca, params['renew_before_days'], params['force'])
        current = (inspected.get('certificate') or {}).get('facts')
        files_out_of_sync = (not inspected['ca_certificate_in_sync'] or not inspected['pkcs12_in_sync']
                             or bool(inspected['attributes_out_of_sync']))
        check_mode = bool(self._task.check_mode)
        result.update(changed=bool(inspected.get('changed') or reasons or files_out_of_sync),
                      reasons=reasons, written=[], pkcs12_encryption=None)
        if inspected.get('warnings'):
            result['warnings'] = list(inspected['warnings'])
        if inspected['key'].get('state') in ('generated', 'would_generate'):
            result['written'].append('private_key_path')

        facts = current
        if reasons:
            facts = pki_plan.planned_facts(request, ca, params['valid_days'])
            facts.update(serial=None)
        if not check_mode and (reasons or files_out_of_sync):
            if reasons:
                if not inspected.get('csr'):
                    raise AnsibleActionFail('internal error: the host returned no CSR')
                certificate = ca.sign_csr(inspected['csr'], request['common_name'], request['dns_names'],
                                          request['ip_addresses'], request['usages'], params['valid_days'])
                certificate_pem = pki_x509.certificate_pem(certificate)
                facts = pki_x509.certificate_facts(certificate)
            else:
                certificate_pem = inspected['certificate']['pem']
            installed = self._call_host(dict(host_args, _phase='install', _certificate=certificate_pem), task_vars)
            result['written'].extend(installed['written'])
            result['pkcs12_encryption'] = installed.get('pkcs12_encryption')
            result['changed'] = bool(result['changed'] or installed['changed'])
        elif check_mode:
            # what the install phase would write, so that check mode too tells new content (a service restarts)
            # from an owner or mode fix (it does not)
            result['written'].extend(option for option, due in (
                ('certificate_path', bool(reasons)),
                ('ca_certificate_path', not inspected['ca_certificate_in_sync']),
                ('pkcs12_path', bool(params.get('pkcs12_path')) and (bool(reasons) or not inspected['pkcs12_in_sync'])),
            ) if due)

        for name in ('serial', 'not_after', 'fingerprint_sha256', 'dns_names', 'ip_addresses'):
            result[name] = (facts or {}).get(name)
        if self._task.diff:
            result['diff'] = dict(before_header=params['certificate_path'], after_header=params['certificate_path'],
                                  before=_diff_text(current), after=_diff_text(facts))
        return result

    def _call_host(self, module_args, task_vars):
        answer = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
        if answer.get('failed'):
            raise AnsibleActionFail(answer.get('msg', 'the host side of %s failed' % MODULE), result=dict(
                (key, answer[key]) for key in ('option', 'module_stderr', 'module_stdout', 'rc') if key in answer))
        return answer


def _diff_text(facts):
    """Certificate metadata only: never keys, CSRs or passphrases."""
    if not facts:
        return ''
    shown = ('subject', 'issuer', 'dns_names', 'ip_addresses', 'extended_key_usage', 'not_after',
             'fingerprint_sha256', 'serial')
    return ''.join('%s: %s\n' % (name, facts.get(name)) for name in shown if name in facts)
