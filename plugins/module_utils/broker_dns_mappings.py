# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""DCV server - DNS name mappings of the broker: the file ``register-server-dns-mappings`` reads, and what
``describe-server-dns-mappings`` prints.

sm-admin "Amazon DCV Session Manager Amazon DCV server - DNS mapping reference": the file is a JSON list of
``{"ServerIdType": "Ip" | "Id" | "Host.Aws.Ec2InstanceId", "ServerId": "...", "DnsNames": {"InternalDnsName": "..."}}``
(the Connection Gateway connects to ``InternalDnsName``). sm-admin "describe-server-dns-mappings" prints the same
data in lowerCamel keys (``serverIdType``, ``serverId``, ``dnsNames.internalDnsName``/``externalDnsName``).
sm-admin "register-server-dns-mappings" prints ``Successfully loaded N server id - dns name mappings from file F``;
it replaces the mappings the broker had, so a caller always sends the whole list.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import tempfile

SERVER_ID_TYPES = ('Ip', 'Id', 'Host.Aws.Ec2InstanceId')
FILE_MODE = 0o600

_LOADED = re.compile(r'Successfully loaded (\d+) server id - dns name mappings', re.IGNORECASE)


class MappingsError(Exception):
    pass


def _pick(data, *keys):
    for key in keys:
        if isinstance(data, dict) and key in data:
            return data[key]
    return None


def canonical(mapping):
    """One mapping in the file form, from the file form or the form describe-server-dns-mappings prints."""
    if not isinstance(mapping, dict):
        raise MappingsError('a mapping must be an object, not %r' % (mapping,))
    names = _pick(mapping, 'DnsNames', 'dnsNames') or {}
    result = {'ServerIdType': _pick(mapping, 'ServerIdType', 'serverIdType'),
              'ServerId': _pick(mapping, 'ServerId', 'serverId'),
              'DnsNames': {'InternalDnsName': _pick(names, 'InternalDnsName', 'internalDnsName')}}
    external = _pick(names, 'ExternalDnsName', 'externalDnsName')
    if external:
        result['DnsNames']['ExternalDnsName'] = external
    return result


def problems(mappings):
    """What is wrong with a list of mappings to register (empty when it can be registered)."""
    if not isinstance(mappings, list):
        return ['the mappings must be a list']
    found = []
    seen = {}
    for index, mapping in enumerate(mappings):
        where = 'mappings[%d]' % index
        if not isinstance(mapping, dict):
            found.append('%s is not an object' % where)
            continue
        unknown = sorted(set(mapping) - set(('ServerIdType', 'ServerId', 'DnsNames')))
        if unknown:
            found.append('%s: unknown key(s) %s (the file knows ServerIdType, ServerId and DnsNames)'
                         % (where, ', '.join(unknown)))
        if mapping.get('ServerIdType') not in SERVER_ID_TYPES:
            found.append('%s: ServerIdType %r is not one of %s'
                         % (where, mapping.get('ServerIdType'), ', '.join(SERVER_ID_TYPES)))
        if not isinstance(mapping.get('ServerId'), str) or not mapping.get('ServerId'):
            found.append('%s: ServerId must be a non-empty string' % where)
        names = mapping.get('DnsNames')
        if not isinstance(names, dict):
            found.append('%s: DnsNames must be an object with InternalDnsName' % where)
        else:
            unknown = sorted(set(names) - set(('InternalDnsName', 'ExternalDnsName')))
            if unknown:
                found.append('%s: DnsNames has unknown key(s) %s' % (where, ', '.join(unknown)))
            if not isinstance(names.get('InternalDnsName'), str) or not names.get('InternalDnsName'):
                found.append('%s: DnsNames.InternalDnsName must be a non-empty string (the name the gateway '
                             'connects to)' % where)
        key = (mapping.get('ServerIdType'), mapping.get('ServerId'))
        if key in seen:
            found.append('%s maps %s %s again (first in mappings[%d])' % (where, key[0], key[1], seen[key]))
        else:
            seen[key] = index
    return found


def parse_described(output):
    """The mappings ``describe-server-dns-mappings`` printed, in the file form."""
    text = output or ''
    start = text.find('[')
    if start < 0:
        if not text.strip() or re.search(r'\bno\b.*\bmappings?\b', text, re.IGNORECASE):
            return []
        raise MappingsError('describe-server-dns-mappings printed no JSON list: %r' % text[:200])
    try:
        data = json.loads(text[start:text.rfind(']') + 1])
    except ValueError as error:
        raise MappingsError('describe-server-dns-mappings printed a list that is not JSON (%s)' % error)
    if not isinstance(data, list):
        raise MappingsError('describe-server-dns-mappings printed %s, not a list' % type(data).__name__)
    return [canonical(item) for item in data]


def sort_key(mapping):
    names = mapping.get('DnsNames') or {}
    return (str(mapping.get('ServerIdType')), str(mapping.get('ServerId')), str(names.get('InternalDnsName')),
            str(names.get('ExternalDnsName') or ''))


def ordered(mappings):
    return sorted((canonical(m) for m in mappings), key=sort_key)


def same(current, wanted):
    """Whether the broker already holds exactly the wanted mappings (order does not matter)."""
    return ordered(current) == ordered(wanted)


def loaded_count(output):
    """N of "Successfully loaded N server id - dns name mappings", or None when the line is not there."""
    found = _LOADED.search(output or '')
    return int(found.group(1)) if found else None


def write_temporary(mappings, directory=None):
    """The mappings as a JSON file readable by root only (mode 0600 from its creation); returns its path."""
    descriptor, path = tempfile.mkstemp(prefix='.dcvkit-server-dns-mappings-', suffix='.json', dir=directory)
    try:
        os.fchown(descriptor, 0, 0)
        os.fchmod(descriptor, FILE_MODE)
        with os.fdopen(descriptor, 'w') as handle:
            descriptor = None
            json.dump(mappings, handle, indent=2, sort_keys=True)
            handle.write('\n')
    except BaseException:
        if descriptor is not None:
            os.close(descriptor)
        os.unlink(path)
        raise
    return path
