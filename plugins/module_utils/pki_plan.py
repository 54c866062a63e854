# -*- coding: utf-8 -*-
# Copyright (c) dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide whether a host's certificate must be issued again, and why (runs on the control node)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

from ansible_collections.dcvkit.session_manager.plugins.module_utils import pki_x509

# Order in which reasons are reported.
REASONS = ('force', 'missing', 'unreadable', 'key_changed', 'ca_changed', 'names_changed', 'usage_changed',
           'expiring')


def reissue_reasons(host_state, request, ca, renew_before_days, force=False, now=None):
    """Return the list of reasons (subset of REASONS) to issue a new certificate; empty means keep it.

    host_state: the phase-1 answer of the module; request: pki_names.check_certificate_request() output;
    ca: pki_ca.CertificateAuthority.
    """
    reasons = []
    if force:
        reasons.append('force')
    current = host_state.get('certificate') or {}
    if not current.get('pem'):
        reasons.append('missing' if current.get('problem') in (None, 'missing') else 'unreadable')
        return reasons

    cert = pki_x509.load_certificate(current['pem'].encode('ascii'))
    key = host_state.get('key') or {}
    if key.get('state') != 'kept' or key.get('public_key_pem') != pki_x509.public_key_pem(cert.public_key()):
        reasons.append('key_changed')
    if not ca.issued(cert):
        reasons.append('ca_changed')

    facts = pki_x509.certificate_facts(cert)
    wanted_ips = sorted(str(address) for address in request['ip_addresses'])
    if (sorted(facts['dns_names']) != sorted(request['dns_names'])
            or sorted(facts['ip_addresses']) != wanted_ips
            or facts['common_name'] != request['common_name']):
        reasons.append('names_changed')
    if sorted(facts['extended_key_usage']) != sorted(request['usages']):
        reasons.append('usage_changed')
    now = now or pki_x509.utcnow()
    if pki_x509.not_valid_after(cert) - now <= datetime.timedelta(days=renew_before_days):
        reasons.append('expiring')
    return reasons


def planned_facts(request, ca, valid_days, now=None):
    """Metadata a new certificate would carry (for check mode and the 'after' side of the diff)."""
    now = now or pki_x509.utcnow()
    not_after = min(now + datetime.timedelta(days=valid_days), pki_x509.not_valid_after(ca.certificate))
    return dict(
        subject='CN=%s' % request['common_name'],
        common_name=request['common_name'],
        issuer=ca.certificate.subject.rfc4514_string(),
        not_after=pki_x509.iso(not_after),
        dns_names=list(request['dns_names']),
        ip_addresses=[str(address) for address in request['ip_addresses']],
        extended_key_usage=list(request['usages']),
        fingerprint_sha256='(new certificate)',
    )
