# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Session rules on top of the broker API: which session to reuse, waiting for READY, ages, URLs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import json
import re
import time

from urllib.parse import quote

# CREATING is reused too: a second run while the first one's session is still being placed must not
# create a twin.
REUSABLE_STATES = ('READY', 'CREATING')
FINAL_FAILURE_STATES = ('DELETING', 'DELETED')

_UTC = datetime.timezone.utc
_FRACTION = re.compile(r'\.(\d+)')


class SessionNotReady(Exception):
    """The session did not reach READY; ``str()`` carries the last state and the broker's reason."""

    def __init__(self, message, session=None):
        super(SessionNotReady, self).__init__(message)
        self.session = session


def parse_broker_time(value):
    """Parse the broker's ISO 8601 times (``2020-10-06T10:15:31.633Z``) or epoch numbers to aware UTC."""
    if value is None or value == '':
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000.0 if value > 1e11 else value  # epoch milliseconds or seconds
        return datetime.datetime.fromtimestamp(seconds, _UTC)
    text = str(value).strip()
    if text.endswith('Z') or text.endswith('z'):
        text = text[:-1] + '+00:00'
    # fromisoformat before Python 3.11 wants exactly 3 or 6 fraction digits.
    text = _FRACTION.sub(lambda match: '.' + (match.group(1) + '000000')[:6], text, count=1)
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_UTC)
    return parsed.astimezone(_UTC)


def session_age_minutes(session, now=None):
    created = parse_broker_time(session.get('CreationTime'))
    if created is None:
        return None
    now = now or datetime.datetime.now(_UTC)
    return (now - created).total_seconds() / 60.0


def _server_hostname(session):
    return ((session.get('Server') or {}).get('Hostname') or '').lower()


def hostname_matches(session, server_hostname):
    """True when the session runs on ``server_hostname`` (a full name or its first label)."""
    actual = _server_hostname(session)
    wanted = server_hostname.lower()
    return actual == wanted or actual.split('.')[0] == wanted or actual == wanted.split('.')[0]


def matching_sessions(sessions, owner=None, name=None, session_type=None, server_hostname=None, states=None):
    found = []
    for session in sessions:
        if owner is not None and session.get('Owner') != owner:
            continue
        if name is not None and session.get('Name') != name:
            continue
        if session_type is not None and (session.get('Type') or '').upper() != session_type.upper():
            continue
        if server_hostname and not hostname_matches(session, server_hostname):
            continue
        if states is not None and session.get('State') not in states:
            continue
        found.append(session)
    return found


def pick_reusable(sessions, owner, name=None, session_type=None, server_hostname=None):
    """The best existing session for this request: READY before CREATING, newest first."""
    candidates = matching_sessions(sessions, owner, name, session_type, server_hostname, REUSABLE_STATES)
    if not candidates:
        return None
    epoch = datetime.datetime.fromtimestamp(0, _UTC)

    def rank(session):
        created = parse_broker_time(session.get('CreationTime')) or epoch
        return (session.get('State') == 'READY', created)

    return sorted(candidates, key=rank, reverse=True)[0]


def requirements_for(server_hostname=None, extra=None):
    """The CreateSessions ``Requirements`` expression that pins a server and/or adds the caller's own."""
    parts = []
    if server_hostname:
        if "'" in server_hostname:
            raise ValueError('server_hostname must not contain quotes: %r' % server_hostname)
        parts.append("server:Host.Hostname = '%s'" % server_hostname)
    if extra:
        parts.append('(%s)' % extra if parts else extra)
    return ' and '.join(parts) or None


def describe_state(session):
    if not session:
        return 'unknown to the broker'
    text = session.get('State') or 'no state'
    if session.get('Substate'):
        text += ' (substate %s)' % session['Substate']
    if session.get('StateReason'):
        text += ', reason: %s' % session['StateReason']
    return text


def wait_until_ready(client, session_id, timeout, interval, sleep=time.sleep, clock=time.monotonic):
    """Poll describeSessions until READY; raise SessionNotReady on a final state or the timeout."""
    deadline = clock() + timeout
    last = None
    while True:
        found = client.describe_sessions([session_id])
        last = next((item for item in found if item.get('Id') == session_id), None)
        state = (last or {}).get('State')
        if state == 'READY':
            return last
        if state in FINAL_FAILURE_STATES:
            raise SessionNotReady('session %s will not become READY: it is %s'
                                  % (session_id, describe_state(last)), last)
        if clock() >= deadline:
            raise SessionNotReady('session %s did not become READY within %s s; last state: %s'
                                  % (session_id, timeout, describe_state(last)), last)
        sleep(max(0.0, min(interval, deadline - clock())))


def server_summary(session):
    """Where the session runs: host names, address, the HTTP endpoint port and its web URL path."""
    server = (session or {}).get('Server') or {}
    endpoints = server.get('Endpoints') or []
    http = next((item for item in endpoints if (item.get('Protocol') or '').upper() == 'HTTP'), None)
    web_url_path = (http or {}).get('WebUrlPath') or server.get('WebUrlPath') or '/'
    return {
        'hostname': server.get('Hostname'),
        'ip': server.get('Ip'),
        'port': (http or {}).get('Port') or server.get('Port'),
        'web_url_path': web_url_path,
        'endpoints': endpoints,
    }


def _jwt_expiry(token):
    parts = token.split('.') if isinstance(token, str) else []
    if len(parts) != 3:
        return None
    payload = parts[1] + '=' * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode('ascii')).decode('utf-8'))
        return datetime.datetime.fromtimestamp(float(claims['exp']), _UTC)
    except (ValueError, KeyError, TypeError, UnicodeError, OverflowError):
        return None


def connection_token_expiry(token, issued_at, configured_minutes=None):
    """(expires_at, source): from the token's own ``exp`` claim, else from the broker setting, else unknown."""
    expiry = _jwt_expiry(token)
    if expiry is not None:
        return expiry, 'token'
    if configured_minutes:
        return issued_at + datetime.timedelta(minutes=configured_minutes), 'broker_setting'
    return None, 'unknown'


def browser_url(gateway_url, session_id, token, web_url_path='/'):
    """``https://NAME:PORT[/web-url-path]/?authToken=TOKEN#SESSION_ID`` (the only supported form)."""
    base = gateway_url.rstrip('/')
    path = (web_url_path or '/').strip('/')
    if path:
        base += '/' + path
    return '%s/?authToken=%s#%s' % (base, quote(token, safe=''), quote(session_id, safe=''))
