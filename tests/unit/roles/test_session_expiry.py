# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The session expiry the dcv_broker role installs on the first broker host: files/session_expiry.py, run as the timer
runs it (its own process, the collection's broker client copied beside it as the role copies it) against the fake
broker, and the role's decision whether a host runs it at all."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import socket
import subprocess
import sys

import pytest
import yaml

from ansible_collections.dcvkit.session_manager.tests.unit.roles.role_playbook import ROLES, ROOT, role_tasks, run_plays

UTC = datetime.timezone.utc
PROGRAM = os.path.join(ROLES, 'dcv_broker', 'files', 'session_expiry.py')
with open(os.path.join(ROLES, 'dcv_broker', 'vars', 'main.yml')) as _handle:
    ROLE_VARS = yaml.safe_load(_handle)


class Host:
    """The program's directory, its configuration, credentials and deadline records, as the role lays them out."""

    def __init__(self, tmp_path, broker, pki, max_age=0, secret=None, port=None, idle=None):
        self.root = tmp_path
        self.program_dir = tmp_path / 'libexec'
        self.program_dir.mkdir()
        shutil.copy(PROGRAM, str(self.program_dir))
        for name in ROLE_VARS['dcv_broker_session_expiry_libraries']:
            shutil.copy(os.path.join(ROOT, 'plugins', 'module_utils', name), str(self.program_dir))
        self.deadlines = tmp_path / 'session-deadlines'
        self.deadlines.mkdir()
        self.secret = secret or broker.client_secret
        self.credentials = tmp_path / 'api-client-dcvkit-session-expiry.json'
        self.credentials.write_text(json.dumps({'client_name': 'dcvkit-session-expiry', 'client_id': broker.client_id,
                                                'client_secret': self.secret}))
        self.config = tmp_path / 'dcvkit-session-expiry.json'
        config = {'broker_host': '127.0.0.1', 'port': port or broker.port, 'ca_file': pki['ca_file'],
                  'credentials_file': str(self.credentials), 'max_age_minutes': max_age,
                  'deadlines_dir': str(self.deadlines)}
        if idle is not None:  # None: a configuration an older site.yml wrote, without the key
            config['idle_minutes'] = idle
        self.config.write_text(json.dumps(config))

    def deadline(self, session_id, minutes_from_now=None, text=None):
        moment = datetime.datetime.now(UTC) + datetime.timedelta(minutes=minutes_from_now or 0)
        (self.deadlines / session_id).write_text(text if text is not None else moment.isoformat() + '\n')

    def records(self):
        return sorted(os.listdir(str(self.deadlines)))

    def run(self):
        env = dict((key, value) for key, value in os.environ.items() if 'proxy' not in key.lower())
        done = subprocess.run([sys.executable, str(self.program_dir / 'session_expiry.py'), str(self.config)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60,
                              env=env, cwd=str(self.root), check=False)
        assert self.secret not in done.stdout + done.stderr
        return done


def deletions(done):
    return [line for line in done.stdout.splitlines() if line.startswith('deleted session ')]


def state(broker, session_id):
    return broker.state.sessions[session_id]['State']


def test_sessions_older_than_the_maximum_age_are_deleted_one_line_each(tmp_path, broker, pki):
    old = broker.state.add_session('alice', age_minutes=125)
    older = broker.state.add_session('bob', age_minutes=600)
    fresh = broker.state.add_session('carol', age_minutes=5)
    gone = broker.state.add_session('dave', age_minutes=900, state='DELETED')
    host = Host(tmp_path, broker, pki, max_age=120)
    done = host.run()
    assert done.returncode == 0, done.stderr
    lines = deletions(done)
    assert len(lines) == 2, done.stdout
    line = next(line for line in lines if old in line)
    created = broker.state.sessions[old]['CreationTime'][:19]
    assert line.startswith('deleted session %s of alice (created %s' % (old, created)), line
    assert 'age 125 min' in line and line.endswith('older than the maximum age of 120 min')
    assert any(older in line and ' of bob ' in line for line in lines)
    assert (state(broker, old), state(broker, older), state(broker, fresh)) == ('DELETED', 'DELETED', 'READY')
    assert [call for call in broker.state.calls if call[1] == '/deleteSessions'] == [('POST', '/deleteSessions')]
    assert gone not in done.stdout  # already deleted: never deleted twice
    again = host.run()
    assert again.returncode == 0 and deletions(again) == []


def test_deadlines_passed_are_honoured_the_others_kept(tmp_path, broker, pki):
    due = broker.state.add_session('alice', age_minutes=30)
    later = broker.state.add_session('bob', age_minutes=30)
    old_but_no_age_limit = broker.state.add_session('carol', age_minutes=6000)
    host = Host(tmp_path, broker, pki, max_age=0)
    host.deadline(due, -1)
    host.deadline(later, 45)
    host.deadline('no-such-session', -10)
    done = host.run()
    assert done.returncode == 0, done.stderr
    lines = deletions(done)
    assert len(lines) == 1 and lines[0].startswith('deleted session %s of alice (created ' % due), done.stdout
    assert 'age 30 min' in lines[0] and 'its deadline ' in lines[0] and lines[0].endswith(' has passed')
    assert 'removed the deadline record of session no-such-session' in done.stdout
    assert (state(broker, due), state(broker, later), state(broker, old_but_no_age_limit)) == \
        ('DELETED', 'READY', 'READY')
    assert host.records() == [later]


def test_a_record_of_a_session_the_broker_deleted_is_removed(tmp_path, broker, pki):
    deleted = broker.state.add_session('alice', state='DELETED')
    host = Host(tmp_path, broker, pki)
    host.deadline(deleted, 30)
    done = host.run()
    assert done.returncode == 0, done.stderr
    assert host.records() == [] and deletions(done) == []


def test_nothing_to_enforce_asks_the_broker_nothing(tmp_path, broker, pki):
    broker.state.add_session('alice', age_minutes=6000)
    done = Host(tmp_path, broker, pki, max_age=0).run()
    assert (done.returncode, done.stdout, done.stderr) == (0, '', '')
    assert broker.state.token_requests == 0 and broker.state.calls == []


def test_a_refused_credential_is_one_clear_line_and_a_failure(tmp_path, broker, pki):
    doomed = broker.state.add_session('alice', age_minutes=600)
    host = Host(tmp_path, broker, pki, max_age=60, secret='wrong-S3CR3T-value')
    done = host.run()
    assert done.returncode == 1
    assert done.stdout == ''
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith('session-expiry: cannot enforce session lifetimes: the broker refused the API '
                                  'client credentials (HTTP 401 on /oauth2/token)')
    assert state(broker, doomed) == 'READY'


def test_an_unreachable_broker_is_one_clear_line_and_a_failure(tmp_path, broker, pki):
    with socket.socket() as unused:
        unused.bind(('127.0.0.1', 0))
        closed_port = unused.getsockname()[1]
    host = Host(tmp_path, broker, pki, max_age=60, port=closed_port)
    done = host.run()
    assert done.returncode == 1 and done.stdout == ''
    assert len(done.stderr.splitlines()) == 1 and 'cannot reach the broker client API at https://127.0.0.1:%d' \
        % closed_port in done.stderr, done.stderr


def test_missing_credentials_say_what_to_run(tmp_path, broker, pki):
    host = Host(tmp_path, broker, pki, max_age=60)
    host.credentials.unlink()
    done = host.run()
    assert done.returncode == 2 and done.stderr.startswith('session-expiry: the credentials file ')
    assert 'run site.yml' in done.stderr


def test_an_unreadable_record_is_reported_and_kept(tmp_path, broker, pki):
    session_id = broker.state.add_session('alice')
    host = Host(tmp_path, broker, pki)
    host.deadline(session_id, text='next tuesday\n')
    done = host.run()
    assert done.returncode == 1 and 'holds no ISO 8601 time' in done.stderr
    assert host.records() == [session_id] and state(broker, session_id) == 'READY'


def test_sessions_without_a_client_for_the_idle_limit_are_deleted_since_creation_or_last_disconnection(
        tmp_path, broker, pki):
    never_opened = broker.state.add_session('alice', age_minutes=45)
    left = broker.state.add_session('bob', age_minutes=300, disconnected_minutes_ago=31)
    left_lately = broker.state.add_session('carol', age_minutes=300, disconnected_minutes_ago=10)
    connected = broker.state.add_session('dave', age_minutes=300, connections=1, disconnected_minutes_ago=200)
    fresh = broker.state.add_session('erin', age_minutes=5)
    placing = broker.state.add_session('frank', age_minutes=90, state='CREATING')
    broker.state.sessions[placing]['_polls_left'] = None  # still being placed whenever asked
    adrift = broker.state.add_session('grace', age_minutes=90, state='UNKNOWN')
    done = Host(tmp_path, broker, pki, idle=30).run()
    assert done.returncode == 0, done.stderr
    lines = deletions(done)
    assert len(lines) == 2, done.stdout
    opened = next(line for line in lines if never_opened in line)
    assert opened.startswith('deleted session %s of alice (created ' % never_opened) and 'age 45 min' in opened
    assert opened.endswith('no client connected for 45 min, since its creation (idle limit 30 min)'), opened
    gone = next(line for line in lines if left in line)
    assert gone.endswith('no client connected for 31 min, since the last client disconnected (idle limit 30 min)')
    kept = (left_lately, connected, fresh, placing, adrift)
    assert [state(broker, item) for item in (never_opened, left) + kept] == ['DELETED'] * 2 + \
        ['READY', 'READY', 'READY', 'CREATING', 'UNKNOWN']
    assert done.stderr == ''


def test_a_session_the_broker_gives_no_connection_count_is_never_taken_for_idle(tmp_path, broker, pki):
    unknown = broker.state.add_session('alice', age_minutes=600)
    del broker.state.sessions[unknown]['NumOfConnections']
    garbled = broker.state.add_session('bob', age_minutes=600, disconnected_minutes_ago=100)
    broker.state.sessions[garbled]['LastDisconnectionTime'] = 'last week'
    done = Host(tmp_path, broker, pki, idle=30).run()
    assert done.returncode == 0 and deletions(done) == [], done.stdout
    assert (state(broker, unknown), state(broker, garbled)) == ('READY', 'READY')
    for session_id in (unknown, garbled):
        assert 'session %s: the broker does not say how long it has had no client' % session_id in done.stderr


def test_a_configuration_without_an_idle_limit_still_works_and_a_bad_one_is_refused(tmp_path, broker, pki):
    old = broker.state.add_session('alice', age_minutes=600)
    idle_but_young = broker.state.add_session('bob', age_minutes=30)
    (tmp_path / 'older').mkdir()
    (tmp_path / 'bad').mkdir()
    done = Host(tmp_path / 'older', broker, pki, max_age=60).run()   # written by a site.yml without the key
    assert done.returncode == 0 and [old] == [line.split()[2] for line in deletions(done)], done.stdout
    assert state(broker, idle_but_young) == 'READY'
    refused = Host(tmp_path / 'bad', broker, pki, idle=-1).run()
    assert refused.returncode == 2
    assert refused.stderr.startswith('session-expiry: idle_minutes in ') and 'not -1' in refused.stderr


# The role's decision, read from tasks/session_expiry.yml: the first broker enforces while a maximum age is set, a
# deadline record waits, or session.yml asks; every other broker removes what an earlier run installed.
DECIDE = ['Read the session expiry\'s files, timer and deadline records',
          'Decide whether this host enforces session lifetimes']
WIRING = {'broker_hosts': ['broker-a', 'broker-b']}
DEADLINES = ROLE_VARS['dcv_broker_session_expiry_state_dir'] + '/session-deadlines'


def read(records=None):
    """What the role's host_state read reports: the deadline directory's listing (None: no directory)."""
    return {'files': {}, 'units': {}, 'listings': {DEADLINES: records}}


DECIDE_CASES = [
    ('default-off', 'broker-a', {}, read(), False),
    ('max-age', 'broker-a', {'dcv_session_max_age_minutes': 480}, read(), True),
    ('max-age-second-broker', 'broker-b', {'dcv_session_max_age_minutes': 480}, read(['s1']), False),
    ('idle-limit', 'broker-a', {'dcv_session_idle_minutes': 30}, read(), True),
    ('idle-limit-second-broker', 'broker-b', {'dcv_session_idle_minutes': 30}, read(), False),
    ('deadline-waiting', 'broker-a', {}, read(['3d7a2a5c-6e0b']), True),
    ('only-a-temporary-file', 'broker-a', {}, read(['.deadline-abc']), False),
    ('empty-directory', 'broker-a', {}, read([]), False),
    ('requested-by-session-yml', 'broker-a', {'_dcv_broker_session_expiry_requested': True}, read(), True),
]


@pytest.fixture(scope='module')
def decisions(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('session-expiry')
    plays = []
    for case_id, host, inputs, host_read, _expected in DECIDE_CASES:
        variables = dict({'dcv_wiring': WIRING, 'dcv_session_max_age_minutes': 0, 'dcv_session_idle_minutes': 0,
                          '_dcv_broker_state_read': host_read, '_dcv_broker_state': host_read},
                         dcv_broker_session_expiry_deadlines_dir=DEADLINES, **inputs)
        plays.append({'name': case_id, 'hosts': host, 'gather_facts': False, 'vars': variables,
                      'tasks': role_tasks('dcv_broker', 'session_expiry.yml', *DECIDE)})
    return run_plays(tmp, plays, ['broker-a', 'broker-b'])


@pytest.mark.parametrize('case', DECIDE_CASES, ids=[case[0] for case in DECIDE_CASES])
def test_which_host_enforces_session_lifetimes(decisions, case):
    case_id, _host, _inputs, _read, expected = case
    read_task, decide = decisions[case_id]
    assert read_task.get('skipped'), read_task  # the role's own read is current: no second one
    assert not decide.get('failed'), decide
    assert decide['ansible_facts']['_dcv_broker_session_expiry_wanted'] is expected


# What the role writes on the host, rendered from its own files: the configuration the program reads (the wiring's
# broker name and client port, numbers kept numbers) and the units the timer runs
def test_the_role_renders_what_the_program_reads(tmp_path):
    from ansible_collections.dcvkit.session_manager.plugins.filter.wiring import dcv_wiring
    wiring = dcv_wiring({'dcv_brokers': ['broker-a'], 'dcv_gateways': ['broker-a']},
                        {'broker-a': {'dcv_host_name': 'broker.example.internal',
                                      'dcv_gateway_public_names': ['desk.example.com']}})
    inputs = tmp_path / 'inputs.yml'
    inputs.write_text(yaml.safe_dump({'dcv_wiring': wiring, 'dcv_session_max_age_minutes': '480',
                                      'dcv_session_idle_minutes': '30'}))
    play = {'name': 'render', 'hosts': 'broker-a', 'gather_facts': False,
            'vars_files': [os.path.join(ROLES, 'dcv_common', 'defaults', 'main.yml'),
                           os.path.join(ROLES, 'dcv_broker', 'defaults', 'main.yml'),
                           os.path.join(ROLES, 'dcv_broker', 'vars', 'main.yml'), str(inputs)],
            'tasks': [{'name': 'files', 'ansible.builtin.debug': {'msg': {
                'config': '{{ dcv_broker_session_expiry_config_content }}',
                'service': '{{ dcv_broker_session_expiry_service_content }}',
                'timer': '{{ dcv_broker_session_expiry_timer_content }}'}}}]}
    result = run_plays(tmp_path, [play], ['broker-a'])['render'][0]
    assert not result.get('failed'), result
    config = json.loads(result['msg']['config'])
    assert config == {'broker_host': 'broker.example.internal', 'port': 8448,
                      'ca_file': '/etc/dcv-session-manager-broker/tls/ca.pem',
                      'credentials_file': '/etc/dcv-session-manager-broker/api-client-dcvkit-session-expiry.json',
                      'max_age_minutes': 480, 'idle_minutes': 30, 'deadlines_dir': '/var/lib/dcvkit/session-deadlines'}
    service, timer = result['msg']['service'], result['msg']['timer']
    assert 'Type=oneshot\n' in service
    assert ('ExecStart=/usr/bin/python3 /usr/libexec/dcvkit-session-expiry/session_expiry.py '
            '/etc/dcv-session-manager-broker/dcvkit-session-expiry.json\n') in service
    assert 'OnCalendar=minutely\n' in timer and 'Persistent=true\n' in timer and 'WantedBy=timers.target\n' in timer
