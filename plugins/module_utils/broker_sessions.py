# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Session rules on top of the broker API: which session to reuse, waiting for READY, ages, idle time, URLs."""

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
# a session on its way out (sm-dev "DeleteSessions": DELETING, then DELETED): never waited for, reused or deleted again
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


def older_than(session, minutes, now=None):
    """The one age rule: True when the session was created more than ``minutes`` before ``now``, None when its
    CreationTime cannot be read (such a session is never taken for old). The session module's older_than_minutes
    and the session expiry program's maximum age both ask it, so they can never disagree."""
    age = session_age_minutes(session, now)
    if age is None:
        return None
    return age > minutes


def idle_for(session, now=None):
    """How long no client has been connected to the session, from the broker's own answer (sm-dev
    "DescribeSessions": NumOfConnections, the number of active client connections; LastDisconnectionTime, when the
    last client disconnected; CreationTime).

    Returns ``(minutes, since)``: ``since`` is ``'the last client disconnected'``, or ``'its creation'`` when no
    client ever disconnected (LastDisconnectionTime absent or empty); ``(0.0, None)`` while a client is connected; and
    None when the answer does not tell (NumOfConnections missing or not a whole number, a time that cannot be read):
    such a session is never taken for idle."""
    connections = session.get('NumOfConnections')
    if isinstance(connections, bool) or not isinstance(connections, int) or connections < 0:
        return None
    if connections > 0:
        return 0.0, None
    last = session.get('LastDisconnectionTime')
    if last is None or last == '':
        moment, since = parse_broker_time(session.get('CreationTime')), 'its creation'
    else:
        moment, since = parse_broker_time(last), 'the last client disconnected'
    if moment is None:
        return None
    now = now or datetime.datetime.now(_UTC)
    return max(0.0, (now - moment).total_seconds() / 60.0), since


def expiry_reason(session, now, max_age_minutes=0, deadline=None, idle_minutes=0):
    """Why the session is due for deletion at ``now``, or None: older than ``max_age_minutes`` (0 = no age limit),
    past ``deadline`` (an aware datetime: the window session.yml opened for it), or READY with no client connected
    for at least ``idle_minutes`` (0 = no idle limit; idle_for). A session that is not READY is never idle: one
    still CREATING cannot be connected to yet, and the broker cannot count the connections of one in UNKNOWN. The
    reason names the limit, for the line the session expiry program prints."""
    if max_age_minutes and older_than(session, max_age_minutes, now):
        return 'older than the maximum age of %d min' % max_age_minutes
    if deadline is not None and deadline <= now:
        return 'its deadline %s has passed' % deadline.astimezone(_UTC).replace(microsecond=0).isoformat()
    if idle_minutes and session.get('State') == 'READY':
        idle = idle_for(session, now)
        if idle is not None and idle[1] is not None and idle[0] >= idle_minutes:
            minutes, since = idle
            return 'no client connected for %d min, since %s (idle limit %d min)' % (int(minutes), since, idle_minutes)
    return None


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


# sm-dev "CreateSessions" (Requirements): the server properties a requirement may name, exactly or as a family
# (Host.Os.Family, Host.Memory.TotalBytes, ...), beside tag:KEY. There is no server:Host.Hostname: the host name
# is server:Hostname.
REQUIREMENT_PROPERTIES = ('Id', 'Hostname', 'Version', 'SessionManagerAgentVersion')
REQUIREMENT_FAMILIES = ('Host.Os', 'Host.Memory', 'Host.Swap', 'Host.CpuLoadAverage', 'Host.Aws', 'Host.CpuInfo')
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'")
_SERVER_PROPERTY = re.compile(r'\bserver:([A-Za-z0-9_.]*)')


def requirement_property_problem(name):
    """None when ``server:NAME`` is a property CreateSessions requirements know, else why not and the fix."""
    if name in REQUIREMENT_PROPERTIES:
        return None
    family, _dot, leaf = name.rpartition('.')
    if family in REQUIREMENT_FAMILIES and re.match(r'^[A-Za-z0-9_]+$', leaf):
        return None
    hint = " (the host name is server:Hostname)" if name.lower().endswith('hostname') else ''
    return ('server:%s is not a server property of CreateSessions requirements%s; supported: %s, and %s'
            % (name, hint, ', '.join(REQUIREMENT_PROPERTIES), ', '.join(f + '.*' for f in REQUIREMENT_FAMILIES)))


def requirements_problems(expression):
    """What the broker would refuse in a Requirements expression: unknown server properties, unbalanced quotes
    or parentheses. The broker stays the judge of the rest (operators, values)."""
    if not expression:
        return []
    text = str(expression)
    problems = []
    outside = _QUOTED.sub("''", text)
    if outside.count("'") % 2:
        problems.append('requirements %r has an unterminated quoted value' % text)
    depth = 0
    for char in outside:
        depth += {'(': 1, ')': -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        problems.append('requirements %r has unbalanced parentheses' % text)
    for name in _SERVER_PROPERTY.findall(outside):
        problem = requirement_property_problem(name)
        if problem:
            problems.append(problem)
    return problems


def requirements_for(server_hostname=None, extra=None):
    """The CreateSessions ``Requirements`` expression: the server pin (``server:Hostname = 'NAME'``, sm-dev
    "CreateSessions") and/or the caller's own expression, joined as ``PIN and (EXTRA)``."""
    parts = []
    if server_hostname:
        if "'" in server_hostname or '\\' in server_hostname:
            raise ValueError('server_hostname must not contain quotes or backslashes: %r' % server_hostname)
        parts.append("server:Hostname = '%s'" % server_hostname)
    if extra:
        problems = requirements_problems(extra)
        if problems:
            raise ValueError('; '.join(problems))
        parts.append('(%s)' % extra if parts else extra)
    return ' and '.join(parts) or None


# sm-dev "CreateSessions": the request parameters beside Name, Owner, Type and Requirements, and their types.
# (option, request key, kind). The permissions option carries the text of a permissions file: the request wants it
# Base64-encoded (PermissionsFile, adminguide "Configuring Amazon DCV authorization" for the format).
CREATE_SESSION_OPTIONS = (
    ('max_concurrents', 'MaxConcurrents', 'int'),
    ('init_file', 'InitFile', 'str'),
    ('autorun_file', 'AutorunFile', 'str'),
    ('autorun_file_arguments', 'AutorunFileArguments', 'strings'),
    ('permissions', 'PermissionsFile', 'text'),
    ('dcv_gl_enabled', 'DcvGlEnabled', 'bool'),
    ('enqueue_request', 'EnqueueRequest', 'bool'),
    ('storage_root', 'StorageRoot', 'str'),
)
# Not supported with console sessions on Linux DCV servers (the only ones this collection deploys): InitFile,
# AutorunFile, AutorunFileArguments; DcvGlEnabled is for virtual sessions only.
VIRTUAL_ONLY_OPTIONS = ('init_file', 'autorun_file', 'autorun_file_arguments', 'dcv_gl_enabled')
# sm-cli "create-session": --max-concurrents-clients "must be between 1 and 100"
MAX_CONCURRENTS_RANGE = (1, 100)


def _kind_problem(kind, value):
    if kind == 'int' and (isinstance(value, bool) or not isinstance(value, int)):
        return 'must be a whole number'
    if kind == 'bool' and not isinstance(value, bool):
        return 'must be true or false'
    if kind in ('str', 'text') and not isinstance(value, str):
        return 'must be a string'
    if kind == 'strings' and not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
        return 'must be a list of strings'
    return None


def create_session_fields(session_type, options, names=None):
    """The CreateSessions fields for ``options`` (module option -> value, None = not sent) and what is wrong.

    Returns ``(fields, problems)``; every problem names the option as the caller knows it (``names`` maps an option to
    the caller's variable, e.g. ``dcv_session_init_file`` in playbooks/session.yml) and says how to fix it.
    """
    names = names or {}
    fields, problems = {}, []
    session_type = (session_type or '').upper()
    given = dict((option, (options or {}).get(option)) for option, _key, _kind in CREATE_SESSION_OPTIONS)
    given = dict((option, value) for option, value in given.items() if value is not None)
    for option, key, kind in CREATE_SESSION_OPTIONS:
        if option not in given:
            continue
        name, value = names.get(option, option), given[option]
        problem = _kind_problem(kind, value)
        if problem:
            problems.append('%s %s (CreateSessions %s; got %r)' % (name, problem, key, value))
            continue
        if kind in ('str', 'text') and not value.strip():
            problems.append('%s is empty; leave it out to send no %s' % (name, key))
            continue
        if option in VIRTUAL_ONLY_OPTIONS and session_type != 'VIRTUAL':
            problems.append('%s (CreateSessions %s) is supported with virtual sessions only on Linux DCV servers '
                            '(sm-dev "CreateSessions"); ask for a virtual session or leave it out' % (name, key))
            continue
        if option == 'max_concurrents' and not MAX_CONCURRENTS_RANGE[0] <= value <= MAX_CONCURRENTS_RANGE[1]:
            problems.append('%s is %d: the maximum number of concurrent clients (CreateSessions MaxConcurrents) must '
                            'be between %d and %d' % ((name, value) + MAX_CONCURRENTS_RANGE))
            continue
        if kind == 'text':
            value = base64.b64encode(value.encode('utf-8')).decode('ascii')
        fields[key] = value
    if 'autorun_file_arguments' in given and 'autorun_file' not in given:
        problems.append('%s are the arguments of the AutorunFile: set %s too, or leave them out'
                        % (names.get('autorun_file_arguments', 'autorun_file_arguments'),
                           names.get('autorun_file', 'autorun_file')))
    return fields, problems


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
