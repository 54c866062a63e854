#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: java_truststore
short_description: A PKCS#12 trust store that Java reads as trusted certificates
version_added: 0.1.0
description:
  - Writes the certificates of O(certificates) into a password-protected PKCS#12 file whose entries carry the
    attribute Java needs to treat them as trusted certificates (C(trustedCertEntry) in C(keytool -list)). A
    PKCS#12 file of certificates without that attribute opens in Java as an empty trust store.
  - The Session Manager Broker reads such a store for gateway mTLS (C(gateway-to-broker-connector-trust-store-file)).
  - The file is rewritten only when it does not open with O(passphrase) or holds other certificates.
  - "Needs cryptography 45 or later where it runs: run it on the control node (C(delegate_to: localhost)) and copy
    the file to the hosts."
author:
  - dcvkit contributors (@dcvkit)
requirements:
  - cryptography >= 45
attributes:
  check_mode:
    description: Reports whether the store would be written and writes nothing.
    support: full
  diff_mode:
    description: Not supported.
    support: none
  platform:
    description: POSIX; meant for the control node.
    support: full
    platforms: posix
options:
  path:
    description: The trust store file. Written with mode 0600.
    type: path
    required: true
  certificates:
    description: PEM files whose certificates the store trusts (every certificate of each file).
    type: list
    elements: path
    required: true
  passphrase:
    description: Password of the store (the broker's C(-trust-store-pass)).
    type: str
    required: true
seealso:
  - module: dcvkit.session_manager.certificate
'''

EXAMPLES = r'''
- name: Trust store of the gateways' client certificates, for the broker's gateway mTLS
  dcvkit.session_manager.java_truststore:
    path: /srv/dcv-ca/gateway-clients/truststore.p12
    certificates:
      - /srv/dcv-ca/gateway-clients/gw1.pem
      - /srv/dcv-ca/gateway-clients/gw2.pem
    passphrase: "{{ vault_gateway_truststore_pass }}"
  delegate_to: localhost
  run_once: true
  no_log: true
'''

RETURN = r'''
certificates:
  description: Subjects of the certificates the store holds, in the order given.
  returned: success
  type: list
  elements: str
  sample: [CN=gw1.example.internal]
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dcvkit.session_manager.plugins.module_utils import pki_files

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    HAS_TRUSTSTORE = hasattr(pkcs12, 'serialize_java_truststore')
except ImportError:
    HAS_TRUSTSTORE = False


def load_certificates(paths):
    certificates = []
    for path in paths:
        with open(path, 'rb') as handle:
            found = x509.load_pem_x509_certificates(handle.read())
        if not found:
            raise ValueError('%s holds no PEM certificate' % path)
        certificates.extend(found)
    return certificates


def stored_certificates(path, passphrase):
    """DER of the trusted certificates in the store, or None when it is missing or does not open."""
    if not os.path.exists(path):
        return None
    with open(path, 'rb') as handle:
        data = handle.read()
    try:
        store = pkcs12.load_pkcs12(data, passphrase.encode('utf-8'))
    except ValueError:
        return None
    if store.key is not None or store.cert is not None:
        return None  # a key store, not a trust store
    return [entry.certificate.public_bytes(serialization.Encoding.DER) for entry in store.additional_certs]


def build(certificates, passphrase):
    entries = [pkcs12.PKCS12Certificate(cert, cert.subject.rfc4514_string().encode('utf-8'))
               for cert in certificates]
    return pkcs12.serialize_java_truststore(
        entries, serialization.BestAvailableEncryption(passphrase.encode('utf-8')))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            certificates=dict(type='list', elements='path', required=True),
            passphrase=dict(type='str', required=True, no_log=True),
        ),
        supports_check_mode=True,
    )
    if not HAS_TRUSTSTORE:
        module.fail_json(msg='java_truststore needs the Python library cryptography 45 or later where it runs; '
                             'run it on the control node (delegate_to: localhost) with the collection requirements')
    params = module.params
    if not params['certificates']:
        module.fail_json(msg='certificates is empty: a trust store needs at least one certificate')
    try:
        certificates = load_certificates(params['certificates'])
    except (IOError, OSError, ValueError) as exc:
        module.fail_json(msg='certificates: %s' % exc)
    wanted = [cert.public_bytes(serialization.Encoding.DER) for cert in certificates]
    changed = stored_certificates(params['path'], params['passphrase']) != wanted
    if changed and not module.check_mode:
        try:
            pki_files.write_atomically(params['path'], build(certificates, params['passphrase']), -1, -1, 0o600)
        except (IOError, OSError) as exc:
            module.fail_json(msg='writing %s failed: %s' % (params['path'], exc))
    module.exit_json(changed=changed, certificates=[cert.subject.rfc4514_string() for cert in certificates])


if __name__ == '__main__':
    main()
