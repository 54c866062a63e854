# -*- coding: utf-8 -*-
# Copyright (c) dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by the certificate module (host) and its action plugin (controller)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# Secrets the action plugin consumes on the control node and never sends to the host.
CONTROLLER_ONLY = ('ca_key_passphrase',)
# Options only the action plugin may set (the phase protocol).
INTERNAL = ('_phase', '_ca_certificate', '_certificate')


def certificate_argument_spec():
    return dict(
        ca_path=dict(type='path', required=True),
        ca_key_passphrase=dict(type='str', no_log=True),
        certificate_path=dict(type='path', required=True),
        private_key_path=dict(type='path', required=True),
        ca_certificate_path=dict(type='path'),
        pkcs12_path=dict(type='path'),
        pkcs12_passphrase=dict(type='str', no_log=True),
        dns_names=dict(type='list', elements='str', default=[]),
        ip_addresses=dict(type='list', elements='str', default=[]),
        common_name=dict(type='str'),
        allow_wildcard=dict(type='bool', default=False),
        extended_key_usage=dict(type='list', elements='str', default=['serverAuth']),
        valid_days=dict(type='int', default=397),
        renew_before_days=dict(type='int', default=30),
        key_type=dict(type='str', default='rsa', choices=['rsa', 'ecdsa']),
        key_size=dict(type='int', default=3072, choices=[2048, 3072, 4096]),
        owner=dict(type='str'),
        group=dict(type='str'),
        mode=dict(type='raw', default='0600'),
        certificate_mode=dict(type='raw', default='0644'),
        force=dict(type='bool', default=False),
        _phase=dict(type='str', choices=['inspect', 'install']),
        _ca_certificate=dict(type='str'),
        _certificate=dict(type='str'),
    )
