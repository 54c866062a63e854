# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Deadline records: the time a session's window ends, one root-only file per session on the broker host.

The session module writes one when playbooks/session.yml opens a session for a number of minutes; the session expiry
program (role dcv_broker) deletes the session once the time has passed and removes the record. The record is the file
``DIRECTORY/SESSION_ID`` holding an ISO 8601 time with its UTC offset. Standard library only: the program imports this
file from its own directory on the broker host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import re
import tempfile

DEFAULT_DIRECTORY = '/var/lib/dcvkit/session-deadlines'
FILE_MODE = 0o600

# A session ID becomes a file name: no separators, no leading dot (the temporary files of a write start with one)
_SESSION_ID = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$')
_UTC = datetime.timezone.utc


class DeadlineError(Exception):
    pass


def valid_session_id(session_id):
    """Whether the session ID can name a record file."""
    return bool(_SESSION_ID.match(session_id or ''))


def record_path(directory, session_id):
    if not valid_session_id(session_id):
        raise DeadlineError('session ID %r cannot name a deadline record (letters, digits, "_", "." and "-" only)'
                            % (session_id,))
    return os.path.join(directory, session_id)


def format_deadline(moment):
    return moment.astimezone(_UTC).replace(microsecond=0).isoformat()


def parse_deadline(text):
    """The aware datetime in a record's text, or None when it is not an ISO 8601 time with a UTC offset."""
    try:
        moment = datetime.datetime.fromisoformat((text or '').strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def write(directory, session_id, moment):
    """Write the record atomically; it is readable by its owner only from its creation (root runs this)."""
    path = record_path(directory, session_id)
    if not os.path.isdir(directory):
        raise DeadlineError('the deadline directory %s does not exist' % directory)
    descriptor, temporary = tempfile.mkstemp(prefix='.deadline-', dir=directory)  # mkstemp: mode 0600
    try:
        with os.fdopen(descriptor, 'w') as handle:
            descriptor = None
            handle.write(format_deadline(moment) + '\n')
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, FILE_MODE)
        os.rename(temporary, path)
    except BaseException:
        if descriptor is not None:
            os.close(descriptor)
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def read_all(directory):
    """{session ID: aware datetime, or None when the record does not hold a time}; {} without the directory. Files
    whose names are no session ID (a write's temporary file) are not records."""
    try:
        names = os.listdir(directory)
    except OSError:
        return {}
    records = {}
    for name in sorted(names):
        path = os.path.join(directory, name)
        if not _SESSION_ID.match(name) or not os.path.isfile(path) or os.path.islink(path):
            continue
        try:
            with open(path) as handle:
                records[name] = parse_deadline(handle.read(200))
        except (OSError, UnicodeDecodeError):
            records[name] = None
    return records


def remove(directory, session_id):
    try:
        os.unlink(record_path(directory, session_id))
    except FileNotFoundError:
        pass
