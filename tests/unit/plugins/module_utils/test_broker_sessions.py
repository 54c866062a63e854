# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""broker_sessions: session choice, broker times, token expiry, browser URLs, waiting for READY."""

from __future__ import annotations

import base64
import datetime
import json

import pytest

from ansible_collections.dcvkit.session_manager.plugins.module_utils import broker_sessions

UTC = datetime.timezone.utc


@pytest.mark.parametrize('value, expected', [
    ('2020-10-06T10:15:31.633Z', datetime.datetime(2020, 10, 6, 10, 15, 31, 633000, UTC)),
    ('2020-10-06T10:15:31Z', datetime.datetime(2020, 10, 6, 10, 15, 31, 0, UTC)),
    ('2020-10-06T10:15:31.6Z', datetime.datetime(2020, 10, 6, 10, 15, 31, 600000, UTC)),
    ('2020-10-06T12:15:31.123456789+02:00', datetime.datetime(2020, 10, 6, 10, 15, 31, 123456, UTC)),
    ('2020-10-06T10:15:31', datetime.datetime(2020, 10, 6, 10, 15, 31, 0, UTC)),
    (1601979331633, datetime.datetime(2020, 10, 6, 10, 15, 31, 633000, UTC)),
    (1601979331, datetime.datetime(2020, 10, 6, 10, 15, 31, 0, UTC)),
    ('yesterday', None),
    (None, None),
])
def test_parse_broker_time(value, expected):
    assert broker_sessions.parse_broker_time(value) == expected


def session(state='READY', created='2026-01-01T10:00:00Z', **extra):
    item = {'Id': extra.pop('Id', 'id-' + created), 'Owner': 'alice', 'Name': 'desk', 'Type': 'CONSOLE',
            'State': state, 'CreationTime': created, 'Server': {'Hostname': 'dcv1.lab.internal'}}
    item.update(extra)
    return item


def test_pick_reusable_prefers_ready_then_newest():
    older_ready = session(created='2026-01-01T09:00:00Z', Id='older')
    newer_ready = session(created='2026-01-01T11:00:00Z', Id='newer')
    creating = session(state='CREATING', created='2026-01-01T12:00:00Z', Id='creating')
    deleting = session(state='DELETING', created='2026-01-01T13:00:00Z', Id='deleting')
    picked = broker_sessions.pick_reusable([older_ready, creating, deleting, newer_ready], 'alice')
    assert picked['Id'] == 'newer'
    assert broker_sessions.pick_reusable([creating, deleting], 'alice')['Id'] == 'creating'
    assert broker_sessions.pick_reusable([deleting], 'alice') is None
    assert broker_sessions.pick_reusable([newer_ready], 'bob') is None


def test_pick_reusable_honours_name_type_and_server():
    item = session()
    assert broker_sessions.pick_reusable([item], 'alice', name='other') is None
    assert broker_sessions.pick_reusable([item], 'alice', session_type='VIRTUAL') is None
    assert broker_sessions.pick_reusable([item], 'alice', server_hostname='dcv2.lab.internal') is None
    assert broker_sessions.pick_reusable([item], 'alice', server_hostname='dcv1') is item
    assert broker_sessions.pick_reusable([item], 'alice', 'desk', 'console', 'DCV1.lab.internal') is item


def test_requirements_for():
    # sm-dev "CreateSessions": the host name is the server property Hostname (server:Hostname), there is no
    # server:Host.Hostname; the caller's own expression is joined to the pin with 'and' in parentheses.
    assert broker_sessions.requirements_for() is None
    assert broker_sessions.requirements_for('dcv1') == "server:Hostname = 'dcv1'"
    assert broker_sessions.requirements_for('dcv1', "tag:pool = 'gpu' or tag:pool = 'cpu'") == \
        "server:Hostname = 'dcv1' and (tag:pool = 'gpu' or tag:pool = 'cpu')"
    assert broker_sessions.requirements_for(None, "server:Host.Os.Family = 'linux'") == \
        "server:Host.Os.Family = 'linux'"
    with pytest.raises(ValueError):
        broker_sessions.requirements_for("x' or 'a' = 'a")
    with pytest.raises(ValueError, match='server:Host.Hostname is not a server property.*server:Hostname'):
        broker_sessions.requirements_for('dcv1', "server:Host.Hostname = 'dcv1'")


@pytest.mark.parametrize('expression', [
    # the example of sm-dev "CreateSessions", and each documented property family and operator
    "tag:color = 'pink' and (server:Host.Os.Family = 'windows' or tag:color := 'red')",
    "server:Host.Memory.TotalBytes > 1024",
    "server:Id = 'abc' or server:Version != '2025.0' or server:SessionManagerAgentVersion >= '2024'",
    "not (server:Host.Swap.UsedBytes <= 0) and server:Host.CpuLoadAverage.OneMinute < 2.5",
    "server:Host.Aws.Region = 'eu-west-1' and server:Host.CpuInfo.NumberOfCpus >= 4",
    "server:Hostname = 'dcv1.example.internal' and tag:team = 'r\\'n\\'d'",
])
def test_documented_requirements_pass(expression):
    assert broker_sessions.requirements_problems(expression) == []


@pytest.mark.parametrize('expression, words', [
    ("server:Host.Hostname = 'dcv1'", ['server:Host.Hostname', 'server:Hostname']),
    ("server:Ip = '10.0.0.1'", ['server:Ip', 'Host.Os.*']),
    ("server:Host.Gpus = 'x'", ['server:Host.Gpus']),
    ("server:Hostname = 'dcv1", ['unterminated']),
    ("(server:Hostname = 'dcv1'", ['parentheses']),
])
def test_undocumented_requirements_are_refused(expression, words):
    problems = ' '.join(broker_sessions.requirements_problems(expression))
    for word in words:
        assert word in problems


@pytest.mark.parametrize('path, expected', [
    ('/', 'https://gw.example:8443/?authToken=a%2Bb%2Fc%3D#s-1'),
    (None, 'https://gw.example:8443/?authToken=a%2Bb%2Fc%3D#s-1'),
    ('/dcv', 'https://gw.example:8443/dcv/?authToken=a%2Bb%2Fc%3D#s-1'),
    ('dcv/', 'https://gw.example:8443/dcv/?authToken=a%2Bb%2Fc%3D#s-1'),
])
def test_browser_url(path, expected):
    assert broker_sessions.browser_url('https://gw.example:8443/', 's-1', 'a+b/c=', path) == expected


def test_token_expiry_from_its_claim_then_setting_then_unknown():
    issued = datetime.datetime(2026, 1, 1, 10, 0, 0, tzinfo=UTC)
    claims = base64.urlsafe_b64encode(json.dumps({'exp': 1767265200}).encode()).decode().rstrip('=')
    assert broker_sessions.connection_token_expiry('h.%s.s' % claims, issued, 5) == \
        (datetime.datetime(2026, 1, 1, 11, 0, 0, tzinfo=UTC), 'token')
    assert broker_sessions.connection_token_expiry('opaque', issued, 30) == \
        (datetime.datetime(2026, 1, 1, 10, 30, 0, tzinfo=UTC), 'broker_setting')
    assert broker_sessions.connection_token_expiry('not.a.jwt', issued, None) == (None, 'unknown')


class ScriptedBroker:
    """describe_sessions answers from a script of states; a fake clock advances with each sleep."""

    def __init__(self, states, reason=None):
        self.states = list(states)
        self.reason = reason
        self.now = 0.0

    def describe_sessions(self, ids):
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return [{'Id': ids[0], 'State': state, 'StateReason': self.reason}] if state else []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def wait(broker, timeout=10):
    return broker_sessions.wait_until_ready(broker, 's-1', timeout, 1, sleep=broker.sleep, clock=broker.clock)


def test_wait_returns_when_ready():
    broker = ScriptedBroker(['CREATING', 'CREATING', 'READY'])
    assert wait(broker)['State'] == 'READY'
    assert broker.now == 2


def test_wait_stops_at_once_on_a_deleted_session():
    broker = ScriptedBroker(['CREATING', 'DELETED'], reason='Xdcv failed to start')
    with pytest.raises(broker_sessions.SessionNotReady) as failure:
        wait(broker)
    assert 'will not become READY' in str(failure.value) and 'Xdcv failed to start' in str(failure.value)
    assert broker.now == 1


def test_wait_times_out_with_the_last_state():
    broker = ScriptedBroker(['CREATING'], reason='no server')
    with pytest.raises(broker_sessions.SessionNotReady) as failure:
        wait(broker, timeout=5)
    assert 'did not become READY within 5 s' in str(failure.value) and 'no server' in str(failure.value)
    assert broker.now == 5


def test_wait_on_a_session_the_broker_forgot():
    broker = ScriptedBroker([None])
    with pytest.raises(broker_sessions.SessionNotReady) as failure:
        wait(broker, timeout=2)
    assert 'unknown to the broker' in str(failure.value)


def test_server_summary_prefers_the_http_endpoint():
    item = session(Server={'Hostname': 'dcv1', 'Ip': '10.0.0.5', 'Port': '8443', 'Endpoints': [
        {'Protocol': 'QUIC', 'Port': 8443, 'WebUrlPath': '/q'},
        {'Protocol': 'HTTP', 'Port': 9443, 'WebUrlPath': '/dcv'}]})
    summary = broker_sessions.server_summary(item)
    assert (summary['hostname'], summary['ip'], summary['port'], summary['web_url_path']) == \
        ('dcv1', '10.0.0.5', 9443, '/dcv')
    assert broker_sessions.server_summary({})['web_url_path'] == '/'


# sm-dev "CreateSessions": MaxConcurrents (integer), InitFile, AutorunFile, StorageRoot (strings),
# AutorunFileArguments (array of strings), PermissionsFile (Base64-encoded contents), DcvGlEnabled and EnqueueRequest
# (booleans); InitFile, AutorunFile, AutorunFileArguments and DcvGlEnabled are not supported with Linux console
# sessions. sm-cli "create-session": at most 1 to 100 concurrent clients.
def test_create_session_fields_carry_the_documented_names_and_types():
    fields, problems = broker_sessions.create_session_fields('virtual', dict(
        max_concurrents=2, init_file='init.sh', autorun_file='app.sh', autorun_file_arguments=['-a', 'b c'],
        permissions='[permissions]\n%owner% allow builtin\n', dcv_gl_enabled=True, enqueue_request=False,
        storage_root='/home/carol/storage', owner='carol', name=None))
    assert problems == []
    assert fields == {
        'MaxConcurrents': 2, 'InitFile': 'init.sh', 'AutorunFile': 'app.sh', 'AutorunFileArguments': ['-a', 'b c'],
        'PermissionsFile': base64.b64encode(b'[permissions]\n%owner% allow builtin\n').decode('ascii'),
        'DcvGlEnabled': True, 'EnqueueRequest': False, 'StorageRoot': '/home/carol/storage'}


def test_create_session_fields_leave_out_what_is_not_given():
    assert broker_sessions.create_session_fields('CONSOLE', dict(max_concurrents=None, owner='a')) == ({}, [])
    assert broker_sessions.create_session_fields('console', dict(max_concurrents=3, storage_root='/s',
                                                                 enqueue_request=True)) == (
        {'MaxConcurrents': 3, 'StorageRoot': '/s', 'EnqueueRequest': True}, [])


@pytest.mark.parametrize('session_type, options, words', [
    ('console', dict(init_file='init.sh'), 'init_file (CreateSessions InitFile) is supported with virtual sessions only'),
    ('console', dict(autorun_file='a.sh'), 'autorun_file (CreateSessions AutorunFile) is supported with virtual'),
    ('console', dict(dcv_gl_enabled=False), 'dcv_gl_enabled (CreateSessions DcvGlEnabled) is supported with virtual'),
    ('virtual', dict(autorun_file_arguments=['x']), 'autorun_file_arguments are the arguments of the AutorunFile: '
                                                    'set autorun_file too'),
    ('virtual', dict(max_concurrents=0), 'max_concurrents is 0: the maximum number of concurrent clients'),
    ('virtual', dict(max_concurrents=101), 'must be between 1 and 100'),
    ('virtual', dict(max_concurrents='2'), "max_concurrents must be a whole number (CreateSessions MaxConcurrents; "
                                           "got '2')"),
    ('virtual', dict(max_concurrents=True), 'max_concurrents must be a whole number'),
    ('virtual', dict(dcv_gl_enabled='yes'), 'dcv_gl_enabled must be true or false'),
    ('virtual', dict(autorun_file='a.sh', autorun_file_arguments='-x'), 'autorun_file_arguments must be a list'),
    ('virtual', dict(autorun_file='a.sh', autorun_file_arguments=[1]), 'must be a list of strings'),
    ('virtual', dict(storage_root=' '), 'storage_root is empty; leave it out to send no StorageRoot'),
])
def test_create_session_fields_refuse_what_the_broker_would(session_type, options, words):
    fields, problems = broker_sessions.create_session_fields(session_type, options)
    assert len(problems) == 1 and words in problems[0], problems


def test_create_session_problems_name_the_callers_variables():
    names = {'init_file': 'dcv_session_init_file', 'autorun_file': 'dcv_session_autorun_file',
             'autorun_file_arguments': 'dcv_session_autorun_file_arguments'}
    _fields, problems = broker_sessions.create_session_fields(
        'console', dict(init_file='i.sh', autorun_file_arguments=['a']), names)
    assert problems[0].startswith('dcv_session_init_file (CreateSessions InitFile)')
    assert problems[-1] == ('dcv_session_autorun_file_arguments are the arguments of the AutorunFile: set '
                            'dcv_session_autorun_file too, or leave them out')


# The one age rule (older_than) that the session module's older_than_minutes and the session expiry program share
NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize('created, minutes, expected', [
    ('2026-01-01T10:00:00Z', 60, True),              # two hours old, limit one hour
    ('2026-01-01T11:30:00Z', 60, False),             # half an hour old
    ('2026-01-01T11:00:00Z', 60, False),             # exactly at the limit: not older than it
    ('2026-01-01T10:59:59.999Z', 60, True),          # a moment past it
    ('2026-01-01T12:30:00+00:00', 60, False),        # a clock ahead of ours: never old
    (1767261600000, 60, True),                       # epoch milliseconds (10:00 UTC)
    ('not a time', 60, None),                        # unreadable: never taken for old
    (None, 60, None),
])
def test_older_than(created, minutes, expected):
    assert broker_sessions.older_than({'CreationTime': created}, minutes, NOW) is expected


@pytest.mark.parametrize('created, max_age, deadline, words', [
    ('2026-01-01T09:00:00Z', 120, None, 'older than the maximum age of 120 min'),
    ('2026-01-01T11:00:00Z', 120, None, None),
    ('2026-01-01T09:00:00Z', 0, None, None),         # 0: no age limit
    ('2026-01-01T11:00:00Z', 0, datetime.datetime(2026, 1, 1, 11, 59, tzinfo=UTC),
     'its deadline 2026-01-01T11:59:00+00:00 has passed'),
    ('2026-01-01T11:00:00Z', 0, NOW, 'its deadline 2026-01-01T12:00:00+00:00 has passed'),
    ('2026-01-01T11:00:00Z', 0, datetime.datetime(2026, 1, 1, 13, 0, tzinfo=UTC), None),
    # a deadline is kept in its own offset; the reason says it in UTC
    ('2026-01-01T11:00:00Z', 0, datetime.datetime(2026, 1, 1, 12, 30, tzinfo=datetime.timezone(
        datetime.timedelta(hours=1))), 'its deadline 2026-01-01T11:30:00+00:00 has passed'),
    # both limits: the age says it first; an unreadable creation time still honours the deadline
    ('2026-01-01T09:00:00Z', 120, datetime.datetime(2026, 1, 1, 11, 0, tzinfo=UTC), 'maximum age of 120 min'),
    ('garbage', 120, datetime.datetime(2026, 1, 1, 11, 0, tzinfo=UTC), 'its deadline'),
    ('garbage', 120, None, None),
])
def test_expiry_reason(created, max_age, deadline, words):
    reason = broker_sessions.expiry_reason({'CreationTime': created}, NOW, max_age, deadline)
    if words is None:
        assert reason is None
    else:
        assert reason is not None and words in reason, reason


# The idle rule of the session expiry program: how long no client has been connected (sm-dev "DescribeSessions":
# NumOfConnections, LastDisconnectionTime, CreationTime)
@pytest.mark.parametrize('fields, expected', [
    ({'NumOfConnections': 0}, (120.0, 'its creation')),                                  # never opened
    ({'NumOfConnections': 0, 'LastDisconnectionTime': ''}, (120.0, 'its creation')),     # dcv's "no disconnection"
    ({'NumOfConnections': 0, 'LastDisconnectionTime': None}, (120.0, 'its creation')),
    ({'NumOfConnections': 0, 'LastDisconnectionTime': '2026-01-01T11:45:00.500Z'},
     (15 - 0.5 / 60, 'the last client disconnected')),                                # 11:45:00.5 to 12:00
    ({'NumOfConnections': 2, 'LastDisconnectionTime': '2026-01-01T10:30:00Z'}, (0.0, None)),  # connected now
    ({'NumOfConnections': 0, 'LastDisconnectionTime': 'yesterday'}, None),               # unreadable: never idle
    ({}, None),                                                                          # no count: never idle
    ({'NumOfConnections': '0'}, None),
    ({'NumOfConnections': True}, None),
    ({'NumOfConnections': -1}, None),
])
def test_idle_for(fields, expected):
    found = broker_sessions.idle_for(dict(session(created='2026-01-01T10:00:00Z'), **fields), NOW)
    if expected is None or expected[1] is None:
        assert found == expected
    else:
        assert found[1] == expected[1] and found[0] == pytest.approx(expected[0], abs=0.01)


def test_idle_for_an_unreadable_creation_time_without_a_disconnection_is_unknown():
    assert broker_sessions.idle_for(session(created='garbage', NumOfConnections=0), NOW) is None


@pytest.mark.parametrize('state, fields, idle_limit, words', [
    ('READY', {'NumOfConnections': 0}, 120, 'no client connected for 120 min, since its creation (idle limit 120 min)'),
    ('READY', {'NumOfConnections': 0}, 121, None),                   # two hours without a client, limit 121 min
    ('READY', {'NumOfConnections': 0}, 0, None),                     # 0: no idle limit
    ('READY', {'NumOfConnections': 0, 'LastDisconnectionTime': '2026-01-01T11:30:00Z'}, 30,
     'no client connected for 30 min, since the last client disconnected (idle limit 30 min)'),
    ('READY', {'NumOfConnections': 0, 'LastDisconnectionTime': '2026-01-01T11:31:00Z'}, 30, None),
    ('READY', {'NumOfConnections': 1, 'LastDisconnectionTime': '2026-01-01T10:01:00Z'}, 30, None),
    ('CREATING', {'NumOfConnections': 0}, 30, None),                 # cannot be connected to yet
    ('UNKNOWN', {'NumOfConnections': 0}, 30, None),                  # the broker cannot count its connections
    ('READY', {}, 30, None),
])
def test_expiry_reason_idle(state, fields, idle_limit, words):
    item = dict(session(state=state, created='2026-01-01T10:00:00Z'), **fields)
    reason = broker_sessions.expiry_reason(item, NOW, 0, None, idle_limit)
    assert reason == words


def test_expiry_reason_names_the_maximum_age_before_the_idle_limit():
    item = session(created='2026-01-01T09:00:00Z', NumOfConnections=0)
    assert broker_sessions.expiry_reason(item, NOW, 120, None, 30) == 'older than the maximum age of 120 min'
