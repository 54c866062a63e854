#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: certificate
short_description: Issue a TLS certificate to a host from the collection's CA; the host's key never leaves it
version_added: 0.1.0
description:
  - Creates or keeps a private key B(on the managed host), has the action plugin sign a certificate for it with
    the CA directory on the B(control node) (the CA key never leaves the control node), and installs the
    certificate, optionally the CA certificate and a PKCS#12 key store, atomically with owner, group and mode.
  - "Runs in two phases through its action plugin: phase 1 on the host keeps or creates the key and returns a CSR
    and the current certificate's public facts; the control node decides and signs; phase 2 on the host writes
    the files. A run where nothing has to change uses one round trip."
  - "A new certificate is issued only for a reason, returned in RV(reasons): V(missing), V(unreadable),
    V(key_changed) (the key was replaced, regenerated or does not match the certificate), V(ca_changed) (not
    signed by the current CA), V(names_changed) (common name, DNS names or IP addresses differ),
    V(usage_changed) (extended key usage differs), V(expiring) (inside O(renew_before_days)), V(force)."
  - The private key is written as unencrypted PKCS#8 PEM (C(BEGIN PRIVATE KEY)); services read it without a
    passphrase, so its O(mode), O(owner) and O(group) are what protect it.
  - "PKCS#12 stores: with cryptography 38 or newer on the host they use PBES2 (PBKDF2-HMAC-SHA256, 100000
    rounds, AES-256-CBC) for key and certificates and an HMAC-SHA256 MAC (2048 iterations), the same algorithms
    Java's keytool writes since 11.0.12; Java 11.0.12+ and 17 load them. With older cryptography (3.4 to 37, for
    example Ubuntu 22.04's 3.4.8) the only choice is BestAvailableEncryption, which yields
    pbeWithSHA1And3-KeyTripleDES-CBC with 20000 rounds and an HMAC-SHA1 MAC with a single iteration: every Java
    version loads it, but the one-iteration MAC makes guessing the store password cheap for whoever can read
    the file, so use a long random O(pkcs12_passphrase) there (the file mode still keeps others out). The
    return value RV(pkcs12_encryption) says which was written; a store is not rewritten only because the host's
    cryptography was upgraded."
  - Bad input fails before anything is written, naming the option.
author:
  - dcvkit contributors (@dcvkit)
requirements:
  - cryptography >= 3.4 on the managed host.
  - cryptography >= 3.4 on the control node (for the action plugin).
extends_documentation_fragment: []
attributes:
  check_mode:
    description: Reports what would change (reasons, planned metadata) and writes nothing, not even a new key.
    support: full
  diff_mode:
    description: Shows certificate metadata (subject, names, issuer, expiry, fingerprint) before and after, never key material.
    support: full
  platform:
    description: POSIX hosts; the signing part runs on the control node.
    support: full
    platforms: posix
  action:
    description: Has an action plugin of the same name that signs on the control node.
    support: full
  async:
    description: Not supported.
    support: none
options:
  ca_path:
    description:
      - Directory on the B(control node) made by M(dcvkit.session_manager.ca), holding C(ca.pem) and C(ca.key).
      - It must exist and its key must match its certificate.
    type: path
    required: true
  ca_key_passphrase:
    description: Passphrase of the CA key, when the CA key is encrypted. Never sent to the host.
    type: str
  certificate_path:
    description: Where the certificate (PEM, leaf only) is written on the host.
    type: path
    required: true
  private_key_path:
    description: Where the private key (PKCS#8 PEM, unencrypted) is kept or created on the host.
    type: path
    required: true
  ca_certificate_path:
    description: Also install the CA certificate (PEM) here, for example as the trust anchor of a client.
    type: path
  pkcs12_path:
    description:
      - Also write a PKCS#12 key store with the key, the certificate and the CA certificate (for Java services).
      - Requires O(pkcs12_passphrase). The store is rewritten when it no longer opens with the passphrase or holds
        another key, certificate or CA.
    type: path
  pkcs12_passphrase:
    description: Password of the PKCS#12 store and of the key entry in it (Java uses one password for both).
    type: str
  dns_names:
    description:
      - DNS names (subject alternative names). Each must be a valid host name; IP addresses belong in
        O(ip_addresses); wildcards only with O(allow_wildcard).
      - At least one DNS name or IP address is required.
    type: list
    elements: str
    default: []
  ip_addresses:
    description: IPv4 or IPv6 addresses (subject alternative names).
    type: list
    elements: str
    default: []
  common_name:
    description: Subject common name. Defaults to the first DNS name, else the first IP address.
    type: str
  allow_wildcard:
    description: Allow a C(*.) left-most label in O(dns_names).
    type: bool
    default: false
  extended_key_usage:
    description: V(serverAuth) for TLS servers, V(clientAuth) for mTLS clients; both for a certificate used both ways.
    type: list
    elements: str
    default: [serverAuth]
  valid_days:
    description: Validity of a new certificate in days (capped at the CA's own expiry).
    type: int
    default: 397
  renew_before_days:
    description: Issue again when the certificate expires within this many days. Must be smaller than O(valid_days).
    type: int
    default: 30
  key_type:
    description: Type of a new private key. An existing key of another type is replaced (reason V(key_changed)).
    type: str
    choices: [rsa, ecdsa]
    default: rsa
  key_size:
    description: RSA key size in bits (ignored for V(ecdsa), which is always P-256).
    type: int
    choices: [2048, 3072, 4096]
    default: 3072
  owner:
    description: Owner of all written files (user name or uid). Default is the connecting user.
    type: str
  group:
    description: Group of all written files (group name or gid), for example the service's group.
    type: str
  mode:
    description:
      - Mode of the private key and the PKCS#12 store, as an octal string. Access for "other" is refused.
      - Use V("0640") with O(group) set to the service's group when the service does not run as the owner.
    type: raw
    default: "0600"
  certificate_mode:
    description: Mode of the certificate and CA certificate files.
    type: raw
    default: "0644"
  force:
    description: Issue a new certificate (for the existing key) even when nothing requires it.
    type: bool
    default: false
  _phase:
    description: Internal, set by the action plugin only (V(inspect) or V(install)). Do not set it.
    type: str
    choices: [inspect, install]
  _ca_certificate:
    description: Internal, set by the action plugin only (the CA certificate PEM). Do not set it.
    type: str
  _certificate:
    description: Internal, set by the action plugin only (the certificate PEM to install). Do not set it.
    type: str
notes:
  - The action plugin validates names, validity, passphrases and the CA directory on the control node, and the
    module checks owner, group and that every destination directory exists and is writable, before any file is
    written.
  - Run M(dcvkit.session_manager.ca) first (delegate_to localhost, run_once).
seealso:
  - module: dcvkit.session_manager.ca
  - module: community.crypto.x509_certificate
'''

EXAMPLES = r'''
- name: DCV server certificate (PEM pair read by dcvserver)
  dcvkit.session_manager.certificate:
    ca_path: "{{ dcv_pki_dir }}"
    certificate_path: /etc/dcv/dcv.pem
    private_key_path: /etc/dcv/dcv.key
    dns_names: ["{{ dcv_host_name }}"]
    ip_addresses: ["{{ ansible_default_ipv4.address }}"]
    owner: root
    group: dcv
    mode: "0640"

- name: Broker key store (PKCS#12 for the Java connectors) plus the CA certificate
  dcvkit.session_manager.certificate:
    ca_path: "{{ dcv_pki_dir }}"
    ca_key_passphrase: "{{ vault_dcv_ca_passphrase | default(omit) }}"
    certificate_path: /etc/dcv-session-manager-broker/broker.pem
    private_key_path: /etc/dcv-session-manager-broker/broker.key
    ca_certificate_path: /etc/dcv-session-manager-broker/ca.pem
    pkcs12_path: /etc/dcv-session-manager-broker/broker.p12
    pkcs12_passphrase: "{{ vault_dcv_broker_keystore_pass }}"
    dns_names: [broker.example.internal]
    ip_addresses: [10.150.248.180]
    owner: root
    group: dcvsmbroker
    mode: "0640"
  register: broker_certificate

- name: mTLS client certificate of the gateway (PEM certificate, PKCS#8 key)
  dcvkit.session_manager.certificate:
    ca_path: "{{ dcv_pki_dir }}"
    certificate_path: /etc/dcv-connection-gateway/certs/client.pem
    private_key_path: /etc/dcv-connection-gateway/certs/client.key
    dns_names: [gateway.example.internal]
    extended_key_usage: [clientAuth]
    owner: root
    group: dcvcgw
    mode: "0640"
'''

RETURN = r'''
changed:
  description: Whether a key, certificate, CA certificate, key store or file attribute changed (or would in check mode).
  returned: always
  type: bool
reasons:
  description: Why a new certificate was (or would be) issued; empty when the current one is kept.
  returned: always
  type: list
  elements: str
  sample: [names_changed]
serial:
  description: Serial number of the installed certificate (null in check mode when a new one would be issued).
  returned: success
  type: int
  sample: 172369866839112484913092457373009874713
not_after:
  description: Expiry of the installed (or, in check mode, planned) certificate, UTC ISO 8601.
  returned: success
  type: str
  sample: "2027-12-24T16:48:00Z"
fingerprint_sha256:
  description: SHA-256 fingerprint of the installed certificate's DER encoding.
  returned: success
  type: str
  sample: "3f:0a:..."
dns_names:
  description: DNS names of the installed (or planned) certificate.
  returned: success
  type: list
  elements: str
  sample: [broker.example.internal]
ip_addresses:
  description: IP addresses of the installed (or planned) certificate.
  returned: success
  type: list
  elements: str
  sample: [10.150.248.180]
written:
  description: Options whose files got a new content (for example V(certificate_path), V(pkcs12_path)), or would in
    check mode; a file whose owner, group or mode alone was fixed is not listed.
  returned: success
  type: list
  elements: str
pkcs12_encryption:
  description: Algorithms of the PKCS#12 store written in this run; null when none was written.
  returned: success
  type: str
  sample: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for key and certificates, MAC HMAC-SHA256
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dcvkit.session_manager.plugins.module_utils import pki_host, pki_x509
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_names import PkiInputError
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_spec import certificate_argument_spec


def main():
    module = AnsibleModule(argument_spec=certificate_argument_spec(), supports_check_mode=True)
    params = module.params
    if not params['_phase'] or not params['_ca_certificate']:
        module.fail_json(msg='dcvkit.session_manager.certificate runs through its action plugin; '
                             'call it as a task, not with a raw module invocation')
    problem = pki_x509.cryptography_problem()
    if problem:
        module.fail_json(msg=problem)
    try:
        if params['_phase'] == 'inspect':
            result = pki_host.inspect(params, params['_ca_certificate'], module.check_mode)
        else:
            if module.check_mode:
                module.fail_json(msg='internal error: install phase in check mode')
            result = pki_host.install(params, params['_certificate'], params['_ca_certificate'])
    except PkiInputError as exc:
        module.fail_json(msg=str(exc), option=exc.option)
    except (IOError, OSError, RuntimeError) as exc:
        module.fail_json(msg='%s' % exc)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
