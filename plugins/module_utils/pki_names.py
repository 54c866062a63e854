# -*- coding: utf-8 -*-
# Copyright (c) dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input rules shared by the controller (action plugin) and the hosts (module).

Every rule raises PkiInputError naming the option, so a bad inventory fails before anything is written.
Pure Python: no cryptography import, runs on any target Python 3.9+.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import os
import re

KNOWN_USAGES = ('serverAuth', 'clientAuth')
_LABEL = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')


class PkiInputError(ValueError):
    """A bad option value; the message starts with the option name."""

    def __init__(self, option, message):
        super(PkiInputError, self).__init__('%s: %s' % (option, message))
        self.option = option


def is_ip_address(text):
    """Whether text is one IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(str(text))
        return True
    except ValueError:
        return False


def is_dns_name(name, allow_wildcard=False):
    """Whether name passes check_dns_name: the one rule for host names, in certificates, URLs and the wiring."""
    try:
        check_dns_name(name, allow_wildcard)
        return True
    except PkiInputError:
        return False


def check_dns_name(name, allow_wildcard=False, option='dns_names'):
    """Validate one DNS host name (RFC 1123 labels); a leading '*.' only when wildcards are allowed."""
    if not isinstance(name, str) or not name.strip():
        raise PkiInputError(option, 'empty name in the list')
    if name != name.strip():
        raise PkiInputError(option, '%r has leading or trailing white space' % name)
    if is_ip_address(name):
        raise PkiInputError(option, '%r is an IP address; put it in ip_addresses' % name)
    host = name[:-1] if name.endswith('.') else name
    if len(host) > 253:
        raise PkiInputError(option, '%r is longer than 253 characters' % name)
    labels = host.split('.')
    if labels[0] == '*':
        if not allow_wildcard:
            raise PkiInputError(option, '%r is a wildcard; set allow_wildcard=true to issue one' % name)
        if len(labels) < 3:
            raise PkiInputError(option, '%r: a wildcard needs at least two labels after "*."' % name)
        labels = labels[1:]
    for label in labels:
        if '*' in label:
            raise PkiInputError(option, '%r: "*" is only allowed as the whole left-most label' % name)
        if not _LABEL.match(label):
            raise PkiInputError(option, '%r is not a valid host name (label %r)' % (name, label))
    if labels[-1].isdigit():
        raise PkiInputError(option, '%r is not a valid host name (numeric top-level label)' % name)
    return host.lower()


def check_ip_address(text, option='ip_addresses'):
    if not isinstance(text, str) or not text.strip():
        raise PkiInputError(option, 'empty address in the list')
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise PkiInputError(option, '%r is not an IPv4 or IPv6 address' % text)


def check_certificate_request(params):
    """Validate the controller-side inputs of the certificate task; return normalised names.

    Returns dict(dns_names=[...], ip_addresses=[ipaddress objects], common_name=str, usages=[...]).
    """
    allow_wildcard = bool(params.get('allow_wildcard'))
    dns_names = []
    for name in params.get('dns_names') or []:
        normalised = check_dns_name(name, allow_wildcard=allow_wildcard)
        if normalised not in dns_names:
            dns_names.append(normalised)
    ips = []
    for text in params.get('ip_addresses') or []:
        address = check_ip_address(text)
        if address not in ips:
            ips.append(address)
    if not dns_names and not ips:
        raise PkiInputError('dns_names', 'no names: give at least one DNS name or IP address (ip_addresses)')

    common_name = params.get('common_name')
    if common_name is None:
        common_name = dns_names[0] if dns_names else str(ips[0])
    elif not common_name.strip():
        raise PkiInputError('common_name', 'must not be empty (omit it to use the first DNS name)')
    elif len(common_name) > 64:
        raise PkiInputError('common_name', 'longer than 64 characters (X.509 upper bound)')

    usages = params.get('extended_key_usage') or []
    if not usages:
        raise PkiInputError('extended_key_usage', 'give at least one of %s' % ', '.join(KNOWN_USAGES))
    for usage in usages:
        if usage not in KNOWN_USAGES:
            raise PkiInputError('extended_key_usage', '%r is not one of %s' % (usage, ', '.join(KNOWN_USAGES)))

    check_validity(params.get('valid_days'), params.get('renew_before_days'))

    for option in ('certificate_path', 'private_key_path', 'ca_certificate_path', 'pkcs12_path'):
        value = params.get(option)
        if value is not None and not os.path.isabs(value):
            raise PkiInputError(option, '%r must be an absolute path' % value)
    if params.get('pkcs12_path') and not params.get('pkcs12_passphrase'):
        raise PkiInputError('pkcs12_passphrase', 'required (and non-empty) when pkcs12_path is set')
    check_mode_string(params.get('mode'), 'mode')
    check_mode_string(params.get('certificate_mode'), 'certificate_mode')
    return dict(dns_names=dns_names, ip_addresses=ips, common_name=common_name, usages=list(dict.fromkeys(usages)))


def check_validity(valid_days, renew_before_days, valid_option='valid_days', renew_option='renew_before_days'):
    if valid_days is None or int(valid_days) < 1:
        raise PkiInputError(valid_option, 'must be at least 1 day')
    if renew_before_days is None or int(renew_before_days) < 0:
        raise PkiInputError(renew_option, 'must be 0 or more days')
    if int(renew_before_days) >= int(valid_days):
        raise PkiInputError(renew_option, '%s must be smaller than %s=%s, otherwise every run would reissue'
                            % (renew_before_days, valid_option, valid_days))


def check_mode_string(mode, option):
    """Accept octal strings like '0640', or an integer YAML already converted (0640 -> 416)."""
    if mode is None:
        return None
    if isinstance(mode, int) and not isinstance(mode, bool):
        value = mode
    elif isinstance(mode, str) and re.match(r'^0?[0-7]{3,4}$', mode):
        value = int(mode, 8)
    else:
        raise PkiInputError(option, '%r is not an octal mode string such as "0640"' % (mode,))
    if value < 0 or value > 0o777:
        raise PkiInputError(option, '%r: only permission bits (at most 0777) are allowed on key material'
                            % (mode,))
    if option == 'mode' and value & 0o007:
        raise PkiInputError(option, '%r gives other users access to private key material; use 0600 or 0640'
                            % (mode,))
    return value
