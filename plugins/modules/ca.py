#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: ca
short_description: The collection's certificate authority, a directory on the control node
version_added: 0.1.0
description:
  - "Creates a private certificate authority in O(path) on the control node: C(ca.key) (PKCS#8 PEM, mode 0600,
    encrypted when O(key_passphrase) is given) and C(ca.pem) (self-signed CA certificate, mode 0644)."
  - Renews its own certificate before it expires (within O(renew_before_days)) B(with the same key and the same
    subject), so certificates issued earlier stay valid under the renewed CA certificate.
  - Never replaces an existing CA as a side effect. A CA certificate or key that no longer parses (truncated, edited
    by hand), a key that does not match its certificate, or a certificate without its key is refused with a message
    naming the file and the two ways out, restoring the file from a backup or O(rotate=true). Replacing the CA would
    change the certificate of every host.
  - "Run it on the control node (C(delegate_to: localhost), C(run_once: true)); M(dcvkit.session_manager.certificate)
    then signs host certificates with it."
author:
  - dcvkit contributors (@dcvkit)
requirements:
  - cryptography >= 3.4
attributes:
  check_mode:
    description: Reports what would change and writes nothing.
    support: full
  diff_mode:
    description: Shows CA certificate metadata (subject, expiry, fingerprint) before and after, never key material.
    support: full
  platform:
    description: POSIX; meant for the control node.
    support: full
    platforms: posix
options:
  path:
    description: Directory of the CA. Created with mode 0700 when missing.
    type: path
    required: true
  common_name:
    description:
      - Subject common name of the CA certificate.
      - Changing it renews the CA certificate under the new name, and every host certificate is then issued
        again (reason C(ca_changed)), because their issuer name no longer matches.
    type: str
    default: dcvkit CA
  valid_days:
    description: Validity of a new or renewed CA certificate in days.
    type: int
    default: 3650
  renew_before_days:
    description:
      - Renew the CA certificate (same key) when it expires within this many days. Must be smaller than
        O(valid_days).
      - When omitted, 400 days (longer than the default host certificate validity of 397 days, because host
        certificates are never issued beyond the CA certificate's expiry), or half of O(valid_days) when that is
        shorter.
    type: int
  key_type:
    description: Type of a new CA key, V(rsa) (3072 bits) or V(ecdsa) (P-256). An existing key is kept as it is.
    type: str
    choices: [rsa, ecdsa]
    default: rsa
  key_passphrase:
    description: Encrypt a new CA key with this passphrase (PKCS#8, best available encryption); needed to read an
      encrypted existing key.
    type: str
  force:
    description: Renew the CA certificate now (same key) even when it is not due.
    type: bool
    default: false
  rotate:
    description:
      - Make a new CA now, on purpose (a new key and a new self-signed certificate), whatever O(path) holds. The old
        C(ca.pem) and C(ca.key), readable or not, stay beside the new ones as C(ca.pem.replaced-TIMESTAMP) and
        C(ca.key.replaced-TIMESTAMP).
      - Every host certificate is issued again from the new CA (M(dcvkit.session_manager.certificate) reason
        C(ca_changed)). Set it for one run only (the roles' C(dcv_ca_rotate), e.g. C(-e dcv_ca_rotate=true)); while
        it is true every run makes another CA.
    type: bool
    default: false
notes:
  - Keep O(path) out of version control unless the key is encrypted (O(key_passphrase) from Ansible Vault).
seealso:
  - module: dcvkit.session_manager.certificate
'''

EXAMPLES = r'''
- name: Certificate authority of the cluster on the control node
  dcvkit.session_manager.ca:
    path: "{{ dcv_pki_dir }}"
    common_name: "DCV CA {{ dcv_cluster_name }}"
    valid_days: 3650
    key_type: rsa
    key_passphrase: "{{ vault_dcv_ca_passphrase | default(omit) }}"
  delegate_to: localhost
  run_once: true
  become: false
'''

RETURN = r'''
changed:
  description: Whether the CA key or certificate was (or would be) written.
  returned: always
  type: bool
reasons:
  description: Why the CA certificate was (or would be) written; V(missing), V(subject_changed), V(expiring), V(force),
    V(rotate).
  returned: always
  type: list
  elements: str
  sample: [expiring]
certificate_path:
  description: Path of the CA certificate.
  returned: always
  type: str
  sample: /srv/pki/ca.pem
replaced:
  description: Where O(rotate=true) moved the old CA files (none in check mode).
  returned: always
  type: list
  elements: str
  sample: [/srv/pki/ca.pem.replaced-20260101T120000Z, /srv/pki/ca.key.replaced-20260101T120000Z]
subject:
  description: Subject of the CA certificate.
  returned: success
  type: str
  sample: CN=DCV CA lab
serial:
  description: Serial number of the CA certificate (null in check mode when a new one would be written).
  returned: success
  type: int
not_after:
  description: Expiry of the CA certificate, UTC ISO 8601.
  returned: success
  type: str
  sample: "2036-11-20T16:48:00Z"
fingerprint_sha256:
  description: SHA-256 fingerprint of the CA certificate (null in check mode when a new one would be written).
  returned: success
  type: str
'''

import datetime
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dcvkit.session_manager.plugins.module_utils import pki_files, pki_x509
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_ca import (
    build_ca_certificate, ca_file_paths, load_ca_key)
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_names import PkiInputError, check_validity


# Replacing a CA changes the certificate of every host: it happens only when asked for (rotate).
WAY_OUT = ('refusing to replace the CA, which would change the certificate of every host: restore %s from a backup, '
           'or make a new CA on purpose with rotate=true (dcv_ca_rotate: true in the roles, for one run)')


def _read_certificate(path):
    """(certificate, None), or (None, 'missing'), or (None, why it cannot be used)."""
    data, problem = pki_files.read_bytes(path)
    if data is None:
        return None, 'missing' if problem == 'missing' else 'cannot be read (%s)' % problem
    try:
        return pki_x509.load_certificate(data), None
    except ValueError:
        return None, 'no longer parses as a PEM certificate (truncated or edited?)'


def _writable(directory):
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PkiInputError('path', 'directory %s is not writable' % directory)


def plan(params, check_mode, warn):
    """Return (reasons, key, new_key_created_in_memory, current_certificate)."""
    check_validity(params['valid_days'], params['renew_before_days'])
    if not params['common_name'] or not params['common_name'].strip():
        raise PkiInputError('common_name', 'must not be empty')
    path = params['path']
    if os.path.exists(path) and not os.path.isdir(path):
        raise PkiInputError('path', '%s exists and is not a directory' % path)
    cert_path, key_path = ca_file_paths(path)
    certificate, problem = _read_certificate(cert_path)
    if params['rotate']:
        _writable(path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path)))
        key = None if check_mode else pki_x509.generate_key(params['key_type'])
        return ['rotate'], key, True, certificate
    if problem not in (None, 'missing'):
        raise PkiInputError('path', 'the CA certificate %s %s; %s' % (cert_path, problem, WAY_OUT % cert_path))
    if not os.path.exists(key_path):
        if certificate is not None:
            raise PkiInputError('path', 'the CA certificate %s exists without its key %s; %s'
                                % (cert_path, key_path, WAY_OUT % key_path))
        parent = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
        _writable(parent)
        key = None if check_mode else pki_x509.generate_key(params['key_type'])
        return ['missing'], key, True, None
    try:
        key = load_ca_key(key_path, params['key_passphrase'], 'key_passphrase')
    except PkiInputError as exc:
        if exc.option != 'path' or 'cannot read' in str(exc):
            raise  # a passphrase or permission problem: the key itself may be fine
        raise PkiInputError('path', 'the CA key %s no longer parses as a PEM private key (truncated or edited?); %s'
                            % (key_path, WAY_OUT % key_path))
    if not pki_x509.key_matches_type(key, params['key_type']):
        warn('the existing CA key %s is not of key_type %s; it is kept (a CA key is never replaced)'
             % (key_path, params['key_type']))
    _writable(path)
    reasons = ['force'] if params['force'] else []
    if certificate is None:
        reasons.append(problem)
        return reasons, key, False, None
    if not pki_x509.public_keys_equal(key, certificate.public_key()):
        raise PkiInputError('path', 'the CA key %s does not match the CA certificate %s; %s'
                            % (key_path, cert_path, WAY_OUT % ('%s and %s' % (cert_path, key_path))))
    if pki_x509.common_name_of(certificate.subject) != params['common_name']:
        reasons.append('subject_changed')
    remaining = pki_x509.not_valid_after(certificate) - pki_x509.utcnow()
    if remaining <= datetime.timedelta(days=params['renew_before_days']):
        reasons.append('expiring')
    return reasons, key, False, certificate


def _keep_old_files(cert_path, key_path):
    """Move the CA files a rotation replaces aside (same directory, same modes); return their new paths."""
    stamp = pki_x509.utcnow().strftime('%Y%m%dT%H%M%SZ')
    kept = []
    for old in (cert_path, key_path):
        if os.path.lexists(old):
            target = '%s.replaced-%s' % (old, stamp)
            os.rename(old, target)
            kept.append(target)
    return kept


def _facts(certificate):
    if certificate is None:
        return {}
    facts = pki_x509.certificate_facts(certificate)
    return dict((name, facts[name]) for name in ('subject', 'serial', 'not_after', 'fingerprint_sha256'))


def _diff_text(facts):
    return ''.join('%s: %s\n' % (name, facts[name]) for name in ('subject', 'not_after', 'fingerprint_sha256')
                   if name in facts)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            common_name=dict(type='str', default='dcvkit CA'),
            valid_days=dict(type='int', default=3650),
            renew_before_days=dict(type='int'),
            key_type=dict(type='str', default='rsa', choices=['rsa', 'ecdsa']),
            key_passphrase=dict(type='str', no_log=True),
            force=dict(type='bool', default=False),
            rotate=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    problem = pki_x509.cryptography_problem()
    if problem:
        module.fail_json(msg=problem)
    params = module.params
    if params['renew_before_days'] is None and params['valid_days'] is not None:
        params['renew_before_days'] = min(400, params['valid_days'] // 2)
    cert_path, key_path = ca_file_paths(params['path'])
    try:
        reasons, key, new_key, current = plan(params, module.check_mode, module.warn)
    except PkiInputError as exc:
        module.fail_json(msg=str(exc), option=exc.option)

    result = dict(changed=bool(reasons), reasons=reasons, certificate_path=cert_path, replaced=[])
    after = _facts(current)
    if reasons and module.check_mode:
        after = dict(subject='CN=%s' % params['common_name'], serial=None, fingerprint_sha256=None,
                     not_after=pki_x509.iso(pki_x509.utcnow() + datetime.timedelta(days=params['valid_days'])))
    elif reasons:
        try:
            if not os.path.isdir(params['path']):
                os.makedirs(params['path'], 0o700)
            if 'rotate' in reasons:
                result['replaced'] = _keep_old_files(cert_path, key_path)
            if new_key:
                pki_files.write_atomically(key_path, pki_x509.private_key_pkcs8_pem(key, params['key_passphrase']),
                                           -1, -1, 0o600)
            certificate = build_ca_certificate(key, params['common_name'], params['valid_days'])
            pki_files.write_atomically(cert_path, pki_x509.certificate_pem(certificate).encode('ascii'),
                                       -1, -1, 0o644)
        except (IOError, OSError) as exc:
            module.fail_json(msg='writing the CA in %s failed: %s' % (params['path'], exc))
        after = _facts(certificate)
    result.update(after)
    for name in ('subject', 'serial', 'not_after', 'fingerprint_sha256'):
        result.setdefault(name, None)
    if module._diff:
        result['diff'] = dict(before_header=cert_path, after_header=cert_path,
                              before=_diff_text(_facts(current)), after=_diff_text(after))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
