#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Delete the DCV sessions whose time is up: older than the maximum age, past the deadline playbooks/session.yml
recorded for them, or READY with no client connected for the idle limit.

The dcv_broker role installs this program on the first broker host with the collection's own broker client
(module_utils broker_api, broker_sessions, broker_credentials, session_deadlines: standard library only, installed
beside it), a root-only JSON configuration and a systemd timer that runs it every minute. It asks the broker's client
API (sm-dev "DescribeSessions", "DeleteSessions") with its own API client and prints one line per deleted session, so
the journal tells who lost which session and why. It exits non-zero with a one-line reason when the broker cannot be
reached or refuses the credentials, and never prints the client secret.

Usage: session_expiry.py CONFIG_FILE
"""

from __future__ import absolute_import, division, print_function

import datetime
import json
import sys

import broker_api
import broker_credentials
import broker_sessions
import session_deadlines

EXIT_BROKER = 1   # the broker could not be asked, or refused a deletion; a record could not be read
EXIT_SETUP = 2    # the configuration or the credentials file is missing or unusable
PROGRAM = 'session-expiry'

_REQUIRED = ('broker_host', 'port', 'ca_file', 'credentials_file', 'max_age_minutes', 'deadlines_dir')
# Optional, 0 when absent: session.yml installs the program anew but keeps a configuration an older site.yml wrote
_OPTIONAL_MINUTES = (('idle_minutes', 'no idle limit'),)


class SetupError(Exception):
    pass


def load_config(path):
    try:
        with open(path) as handle:
            config = json.load(handle)
    except (OSError, ValueError) as error:
        raise SetupError('cannot read the configuration %s: %s' % (path, error))
    missing = [key for key in _REQUIRED if not isinstance(config, dict) or key not in config]
    if missing:
        raise SetupError('the configuration %s lacks %s' % (path, ', '.join(missing)))
    for key, off in (('max_age_minutes', 'no age limit'),) + _OPTIONAL_MINUTES:
        value = config.setdefault(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SetupError('%s in %s must be 0 (%s) or a whole number of minutes, not %r' % (key, path, off, value))
    return config


def load_credentials(path):
    try:
        stored = broker_credentials.read_file(path)
    except broker_credentials.CredentialsError as error:
        raise SetupError(str(error))
    if stored is None:
        raise SetupError('the credentials file %s does not exist: run site.yml (role dcv_broker registers the '
                         'session expiry API client)' % path)
    return stored['client_id'], stored['client_secret']


def one_line(text, secrets):
    return ' '.join(broker_credentials.redact(text, secrets).split())


def deletion_line(session, now, reason):
    created = broker_sessions.parse_broker_time(session.get('CreationTime'))
    age = broker_sessions.session_age_minutes(session, now)
    return 'deleted session %s of %s (created %s, age %s min): %s' % (
        session.get('Id'), session.get('Owner'),
        created.replace(microsecond=0).isoformat() if created else session.get('CreationTime'),
        int(age) if age is not None else 'unknown', reason)


def enforce(client, config, now, out, err):
    """Delete what is due, tidy the records; return the exit status."""
    status = 0
    directory, max_age, idle = config['deadlines_dir'], config['max_age_minutes'], config['idle_minutes']
    records = session_deadlines.read_all(directory)
    for session_id in sorted(sid for sid, moment in records.items() if moment is None):
        err.write('%s: the deadline record %s/%s holds no ISO 8601 time with a UTC offset; it is left in place\n'
                  % (PROGRAM, directory, session_id))
        status = EXIT_BROKER
    if not max_age and not idle and not any(records.values()):
        return status  # nothing to enforce: the broker is not asked
    sessions = client.describe_sessions()
    known = dict((item.get('Id'), item) for item in sessions)
    due = []
    for session in sessions:
        if session.get('State') in broker_sessions.FINAL_FAILURE_STATES:
            continue
        if max_age and broker_sessions.older_than(session, max_age, now) is None:
            err.write('%s: session %s has no readable CreationTime (%r); its age is unknown, it is kept\n'
                      % (PROGRAM, session.get('Id'), session.get('CreationTime')))
        if idle and session.get('State') == 'READY' and broker_sessions.idle_for(session, now) is None:
            err.write('%s: session %s: the broker does not say how long it has had no client (NumOfConnections %r, '
                      'LastDisconnectionTime %r, CreationTime %r); it is not taken for idle\n'
                      % (PROGRAM, session.get('Id'), session.get('NumOfConnections'),
                         session.get('LastDisconnectionTime'), session.get('CreationTime')))
        reason = broker_sessions.expiry_reason(session, now, max_age, records.get(session.get('Id')), idle)
        if reason:
            due.append((session, reason))
    if due:
        deleted, refused = client.delete_sessions([(item.get('Id'), item.get('Owner')) for item, _reason in due])
        for session, reason in due:
            if session.get('Id') in deleted:
                out.write(deletion_line(session, now, reason) + '\n')
                session_deadlines.remove(directory, session.get('Id'))
        for session_id, why in sorted(refused.items()):
            err.write('%s: the broker refused to delete session %s: %s\n' % (PROGRAM, session_id, why))
            status = EXIT_BROKER
    for session_id in sorted(records):
        if session_id not in known or known[session_id].get('State') == 'DELETED':
            session_deadlines.remove(directory, session_id)
            out.write('removed the deadline record of session %s: the broker no longer has the session\n'
                      % session_id)
    return status


def run(config_path, now=None, out=None, err=None):
    out, err = out or sys.stdout, err or sys.stderr
    now = now or datetime.datetime.now(datetime.timezone.utc)
    secrets = []
    try:
        config = load_config(config_path)
        client_id, client_secret = load_credentials(config['credentials_file'])
        secrets.append(client_secret)
        # use_proxy=False: the broker is reached by its internal name; a proxy meant for the host's outbound traffic
        # must not carry the client credentials
        client = broker_api.BrokerApiClient(broker_api.build_base_url(None, config['broker_host'], config['port']),
                                            client_id, client_secret, ca_file=config['ca_file'], use_proxy=False)
        return enforce(client, config, now, out, err)
    except SetupError as error:
        err.write('%s: %s\n' % (PROGRAM, one_line(str(error), secrets)))
        return EXIT_SETUP
    except broker_api.BrokerApiError as error:
        err.write('%s: cannot enforce session lifetimes: %s\n' % (PROGRAM, one_line(str(error), secrets)))
        return EXIT_BROKER
    except OSError as error:  # a deadline record that cannot be removed
        err.write('%s: %s\n' % (PROGRAM, one_line(str(error), secrets)))
        return EXIT_SETUP


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.stderr.write('usage: session_expiry.py CONFIG_FILE\n')
        return EXIT_SETUP
    return run(argv[0])


if __name__ == '__main__':
    sys.exit(main())
