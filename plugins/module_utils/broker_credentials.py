# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""API client credentials: what the broker CLI prints, and the root-only file that keeps them.

The broker prints a client's password exactly once, so the file is the only copy: it is written
atomically (never half a file) and is readable by root only from the moment it exists.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import tempfile

FILE_MODE = 0o600

_CLIENT_ID = re.compile(r'^\s*client-id\s*:\s*(\S+)\s*$', re.MULTILINE | re.IGNORECASE)
_CLIENT_PASSWORD = re.compile(r'^\s*client-password\s*:\s*(\S+)\s*$', re.MULTILINE | re.IGNORECASE)


class CredentialsError(Exception):
    pass


def default_path(client_name, directory):
    """Where a client's credentials live in DIRECTORY (the broker's configuration directory). This file stays on the
    standard library: the session expiry program runs it on the broker host."""
    safe = re.sub(r'[^A-Za-z0-9_.-]', '_', client_name)
    return os.path.join(directory, 'api-client-%s.json' % safe)


def parse_registration(output):
    """(client_id, client_password) from ``register-api-client`` output, or raise."""
    found_id = _CLIENT_ID.search(output or '')
    found_password = _CLIENT_PASSWORD.search(output or '')
    if not found_id or not found_password:
        raise CredentialsError('register-api-client printed no client-id/client-password lines')
    return found_id.group(1), found_password.group(1)


def redact(text, secrets):
    """``text`` with every secret and every ``client-password:`` value replaced, for error messages."""
    text = _CLIENT_PASSWORD.sub('client-password: ********', text or '')
    for secret in secrets:
        if secret:
            text = text.replace(secret, '********')
    return text


def parse_api_clients(output):
    """The list printed by ``describe-api-clients`` (``Api clients`` then a JSON array)."""
    text = output or ''
    start = text.find('[')
    if start < 0:
        if re.search(r'\bno\b.*\bclients?\b', text, re.IGNORECASE) or not text.strip() or text.strip() == 'Api clients':
            return []
        raise CredentialsError('describe-api-clients printed no JSON list: %r' % text[:200])
    try:
        clients = json.loads(text[start:text.rfind(']') + 1])
    except ValueError as error:
        raise CredentialsError('describe-api-clients printed a list that is not JSON (%s)' % error)
    if not isinstance(clients, list):
        raise CredentialsError('describe-api-clients printed %s, not a list' % type(clients).__name__)
    return [client for client in clients if isinstance(client, dict)]


def is_active(client):
    active = client.get('active', True)
    if isinstance(active, str):
        return active.strip().lower() == 'true'
    return bool(active)


def read_file(path):
    """The stored credentials as a dict, None when the file does not exist; raise when unusable."""
    try:
        with open(path, 'r') as handle:
            content = handle.read()
    except (IOError, OSError) as error:
        if not os.path.exists(path):
            return None
        raise CredentialsError('cannot read the credentials file %s: %s' % (path, error))
    try:
        data = json.loads(content)
    except ValueError:
        raise CredentialsError('the credentials file %s is not JSON; it was not written by this module, '
                               'move it away to register a new client' % path)
    if not isinstance(data, dict) or not data.get('client_id') or not data.get('client_secret'):
        raise CredentialsError('the credentials file %s lacks client_id/client_secret' % path)
    return data


def file_needs_repair(path):
    """Reasons why an existing file is not root-only (owner root:root, mode 0600)."""
    status = os.stat(path)
    problems = []
    if status.st_uid != 0 or status.st_gid != 0:
        problems.append('owner %d:%d is not root:root' % (status.st_uid, status.st_gid))
    if status.st_mode & 0o777 != FILE_MODE:
        problems.append('mode %04o is not 0600' % (status.st_mode & 0o777))
    return problems


def repair_file(path):
    os.chown(path, 0, 0)
    os.chmod(path, FILE_MODE)


def write_file(path, data):
    """Write ``data`` as JSON atomically; the file is root-only from its creation."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CredentialsError('the directory %s does not exist (is the broker installed on this host?)'
                               % directory)
    descriptor, temporary = tempfile.mkstemp(prefix='.api-client-', dir=directory)  # mkstemp: mode 0600
    try:
        os.fchown(descriptor, 0, 0)
        os.fchmod(descriptor, FILE_MODE)
        with os.fdopen(descriptor, 'w') as handle:
            descriptor = None
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write('\n')
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temporary, path)
    except BaseException:
        if descriptor is not None:
            os.close(descriptor)
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
