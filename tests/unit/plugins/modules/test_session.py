# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dcvkit.session_manager.session against a local HTTPS broker (module run in-process)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.dcvkit.session_manager.plugins.modules import session as session_module
from ansible_collections.dcvkit.session_manager.tests.unit.plugins.broker_fixtures.fixtures import BROKER_NAME
from ansible_collections.dcvkit.session_manager.tests.unit.plugins.broker_fixtures.module_runner import run_module


def run(broker, pki, check_mode=False, **args):
    options = dict(url=broker.url(), ca_file=pki['ca_file'], client_id=broker.client_id,
                   client_secret=broker.client_secret, use_proxy=False, poll_interval=0.05)
    options.update(args)
    options = {key: value for key, value in options.items() if value is not None}
    return run_module(session_module.main, options, check_mode=check_mode)


def api_calls(broker, path):
    return [call for call in broker.state.calls if call[1] == path]


def test_creates_waits_and_returns_connection_data(broker, pki):
    broker.state.polls_until_ready = 2
    result = run(broker, pki, owner='alice', type='virtual', gateway_url='https://desk.example.com:8443')
    assert not result.failed, result.get('msg')
    assert result['changed'] and result['created']
    session = broker.state.sessions[result['session_id']]
    assert session['State'] == 'READY' and session['Type'] == 'VIRTUAL' and session['Owner'] == 'alice'
    assert session['Name'] == 'alice-desktop'
    assert result['server']['hostname'] == 'dcv1.lab.internal'
    assert result['server']['port'] == 8443 and result['server']['web_url_path'] == '/'
    assert result['connection_token']
    assert result['connection_token_expiry_source'] == 'token'
    assert 58 <= result['connection_token_valid_minutes'] <= 60
    assert result['browser_url'].startswith('https://desk.example.com:8443/?authToken=')
    assert result['browser_url'].endswith('#' + result['session_id'])
    assert len(api_calls(broker, '/createSessions')) == 1


def test_reuses_a_ready_session_without_change(broker, pki):
    existing = broker.state.add_session('alice', name='alice-desktop', session_type='CONSOLE')
    broker.state.add_session('bob')  # someone else's session is never picked
    result = run(broker, pki, owner='alice')
    assert not result.failed, result.get('msg')
    assert result['changed'] is False and result['created'] is False
    assert result['session_id'] == existing
    assert result['connection_token']
    assert api_calls(broker, '/createSessions') == []


def test_second_run_reuses_the_first_runs_session(broker, pki):
    first = run(broker, pki, owner='carol', name='lab')
    second = run(broker, pki, owner='carol', name='lab')
    assert first['changed'] and not second['changed']
    assert first['session_id'] == second['session_id']


def test_other_type_or_server_is_not_reused(broker, pki):
    broker.state.add_session('alice', session_type='VIRTUAL', hostname='dcv2.lab.internal')
    result = run(broker, pki, owner='alice', type='console', server_hostname='dcv1.lab.internal')
    assert result['changed'] and result['created']
    assert broker.state.sessions[result['session_id']]['Server']['Hostname'] == 'dcv1.lab.internal'


def test_server_hostname_becomes_a_requirement(broker, pki):
    # sm-dev "CreateSessions": the server pin is the documented property Hostname
    result = run(broker, pki, owner='alice', server_hostname='dcv7.lab.internal')
    assert not result.failed, result.get('msg')
    assert result['server']['hostname'] == 'dcv7.lab.internal'
    assert broker.state.requirements == ["server:Hostname = 'dcv7.lab.internal'"]


def test_requirements_are_joined_to_the_server_pin(broker, pki):
    # sm-dev "CreateSessions": a free Requirements expression (tag:KEY, server properties, and/or/not)
    result = run(broker, pki, owner='alice', server_hostname='dcv7.lab.internal',
                 requirements="tag:pool = 'gpu' or server:Host.Memory.TotalBytes >= 17179869184")
    assert not result.failed, result.get('msg')
    assert broker.state.requirements == [
        "server:Hostname = 'dcv7.lab.internal' and (tag:pool = 'gpu' or server:Host.Memory.TotalBytes >= 17179869184)"]


@pytest.mark.parametrize('check_mode', [False, True])
def test_unknown_server_property_is_refused_before_the_broker_is_asked(broker, pki, check_mode):
    # sm-dev "CreateSessions" lists no Host.Hostname server property
    result = run(broker, pki, check_mode=check_mode, owner='alice', requirements="server:Host.Hostname = 'dcv1'")
    assert result.failed
    assert 'server:Host.Hostname is not a server property' in result['msg'] and 'server:Hostname' in result['msg']
    assert api_calls(broker, '/createSessions') == [] and broker.state.requirements == []


def test_session_that_never_becomes_ready_fails_with_the_reason(broker, pki):
    broker.state.never_ready_reason = 'No DCV server matches the requirements'
    result = run(broker, pki, owner='alice', wait_timeout=1)
    assert result.failed
    assert 'did not become READY within 1 s' in result['msg']
    assert 'CREATING (substate SESSION_PLACING)' in result['msg']
    assert 'No DCV server matches the requirements' in result['msg']
    assert result['session_id'] in broker.state.sessions  # reported so it can be inspected or deleted


def test_unsuccessful_create_reports_the_broker_reason(broker, pki):
    broker.state.create_failure_reason = "User 'ghost' does not exist on the server"
    result = run(broker, pki, owner='ghost')
    assert result.failed
    assert "User 'ghost' does not exist on the server" in result['msg']
    assert broker.state.sessions == {}


def test_check_mode_creates_nothing(broker, pki):
    result = run(broker, pki, check_mode=True, owner='alice')
    assert not result.failed, result.get('msg')
    assert result['changed'] and result['created']
    assert broker.state.sessions == {}
    assert api_calls(broker, '/createSessions') == []


def test_check_mode_with_a_ready_session_reports_no_change(broker, pki):
    existing = broker.state.add_session('alice', name='x')
    result = run(broker, pki, check_mode=True, owner='alice')
    assert result['changed'] is False and result['session_id'] == existing


def test_token_lifetime_from_the_broker_setting_for_opaque_tokens(broker, pki):
    broker.state.connection_token_style = 'opaque'
    broker.state.web_url_path = '/dcv'
    result = run(broker, pki, owner='alice', token_duration_minutes=45, gateway_url='https://desk:8443/')
    assert result['connection_token_expiry_source'] == 'broker_setting'
    assert result['connection_token_valid_minutes'] in (44, 45)
    token = result['connection_token']
    assert '+' in token and '/' in token  # the URL must carry it encoded
    assert result['browser_url'].startswith('https://desk:8443/dcv/?authToken=opaque%2Btoken%2F')
    assert '#%s' % result['session_id'] in result['browser_url']


def test_token_lifetime_unknown_is_said_so(broker, pki):
    broker.state.connection_token_style = 'opaque'
    result = run(broker, pki, owner='alice')
    assert result['connection_token_expiry_source'] == 'unknown'
    assert 'connection_token_valid_minutes' not in result


def test_connection_token_stays_out_of_messages(broker, pki):
    broker.state.add_session('alice', name='desk')
    result = run(broker, pki, owner='alice')
    token = result['connection_token']
    rest = {key: value for key, value in result.items() if key not in ('connection_token', 'browser_url')}
    assert token not in json.dumps(rest)
    assert not result.get('warnings')


def test_client_secret_is_masked_everywhere(broker, pki):
    broker.state.revoke_tokens()
    result = run(broker, pki, owner='alice', client_secret=broker.client_secret)
    assert broker.client_secret not in result.raw


def test_delete_by_owner_then_nothing_left(broker, pki):
    doomed = broker.state.add_session('alice')
    kept = broker.state.add_session('bob')
    result = run(broker, pki, state='absent', owner='alice')
    assert result['changed'] and result['deleted'] == [doomed]
    assert broker.state.sessions[doomed]['State'] == 'DELETED'
    assert broker.state.sessions[kept]['State'] == 'READY'
    again = run(broker, pki, state='absent', owner='alice')
    assert again['changed'] is False and again['deleted'] == []


def test_delete_one_session_by_id(broker, pki):
    first = broker.state.add_session('alice', name='one')
    second = broker.state.add_session('alice', name='two')
    result = run(broker, pki, state='absent', session_id=first)
    assert result['deleted'] == [first]
    assert broker.state.sessions[second]['State'] == 'READY'


def test_delete_in_check_mode_deletes_nothing(broker, pki):
    doomed = broker.state.add_session('alice')
    result = run(broker, pki, check_mode=True, state='absent', owner='alice')
    assert result['changed'] and result['deleted'] == [doomed]
    assert broker.state.sessions[doomed]['State'] == 'READY'
    assert api_calls(broker, '/deleteSessions') == []


def test_delete_sessions_older_than_an_age(broker, pki):
    old = broker.state.add_session('alice', age_minutes=120)
    older = broker.state.add_session('bob', age_minutes=600)
    fresh = broker.state.add_session('alice', age_minutes=5)
    result = run(broker, pki, state='absent', older_than_minutes=60)
    assert sorted(result['deleted']) == sorted([old, older])
    assert broker.state.sessions[fresh]['State'] == 'READY'


def test_delete_without_a_selector_is_refused(broker, pki):
    broker.state.add_session('alice')
    result = run(broker, pki, state='absent')
    assert result.failed and 'refusing to delete every session' in result['msg']
    assert api_calls(broker, '/deleteSessions') == []


def test_list_filters_by_owner_and_age(broker, pki):
    ids = [broker.state.add_session('alice', name='n%d' % number) for number in range(3)]
    broker.state.add_session('bob')
    old = broker.state.add_session('alice', name='old', age_minutes=90)
    listed = run(broker, pki, list_only=True, owner='alice')
    assert listed['changed'] is False
    assert sorted(item['Id'] for item in listed['sessions']) == sorted(ids + [old])
    aged = run(broker, pki, list_only=True, older_than_minutes=60)
    assert [item['Id'] for item in aged['sessions']] == [old]


def test_credentials_file_from_api_client(broker, pki, tmp_path):
    stored = tmp_path / 'api-client-automation.json'
    stored.write_text(json.dumps({'client_name': 'automation', 'client_id': broker.client_id,
                                  'client_secret': broker.client_secret}))
    os.chmod(str(stored), 0o600)
    result = run_module(session_module.main, dict(url=broker.url(), ca_file=pki['ca_file'], use_proxy=False,
                                                  credentials_file=str(stored), list_only=True))
    assert not result.failed, result.get('msg')
    assert broker.client_secret not in result.raw


def test_missing_credentials_file_says_what_to_do(broker, pki, tmp_path):
    result = run_module(session_module.main, dict(url=broker.url(), ca_file=pki['ca_file'], list_only=True,
                                                  credentials_file=str(tmp_path / 'none.json')))
    assert result.failed and 'register the client first' in result['msg']


def test_broker_host_and_port_with_the_certificate_name(broker, pki, monkeypatch):
    # The certificate carries broker.lab.internal; resolve that name to the test server.
    import socket
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        return real('127.0.0.1' if host == BROKER_NAME else host, *args, **kwargs)

    monkeypatch.setattr(socket, 'getaddrinfo', resolve)
    result = run(broker, pki, url=None, broker_host=BROKER_NAME, port=broker.port, list_only=True)
    assert not result.failed, result.get('msg')


def test_host_name_mismatch_is_refused(broker, pki):
    result = run(broker, pki, url=broker.url('localhost'), owner='alice')
    assert result.failed
    assert "does not cover the name 'localhost'" in result['msg']
    assert broker.state.token_requests == 0


def test_wrong_ca_is_refused(broker, pki):
    result = run(broker, pki, ca_file=pki['other_ca_file'], owner='alice')
    assert result.failed
    assert 'not signed by the CA in ca_file' in result['msg']
    assert broker.state.sessions == {}


def test_401_on_every_call_fails_after_one_renewal(broker, pki):
    broker.state.reject_every_token = True
    result = run(broker, pki, owner='alice')
    assert result.failed and result['status'] == 401
    assert broker.state.token_requests == 2


def test_expired_token_mid_run_is_renewed(broker, pki):
    # 1 s tokens and a session that needs several polls: the token expires during the wait.
    broker.state.token_lifetime = 1
    broker.state.polls_until_ready = 3
    result = run(broker, pki, owner='alice', poll_interval=0.6, wait_timeout=20)
    assert not result.failed, result.get('msg')
    assert broker.state.token_requests >= 2


def test_404_connection_data_is_reported(broker, pki, monkeypatch):
    session_id = broker.state.add_session('alice')

    def vanish(self, wanted_id, user):
        broker.state.sessions.pop(wanted_id)
        return original(self, wanted_id, user)

    from ansible_collections.dcvkit.session_manager.plugins.module_utils import broker_api
    original = broker_api.BrokerApiClient.get_connection_data
    monkeypatch.setattr(broker_api.BrokerApiClient, 'get_connection_data', vanish)
    result = run(broker, pki, owner='alice')
    assert result.failed and result['status'] == 404
    assert session_id in result['msg']


def test_new_token_for_a_known_session(broker, pki):
    broker.state.add_session('alice', name='newest')
    wanted = broker.state.add_session('alice', name='older', age_minutes=30)
    result = run(broker, pki, owner='alice', session_id=wanted)
    assert not result.failed, result.get('msg')
    assert result['session_id'] == wanted and result['changed'] is False and result['connection_token']


def test_known_session_that_is_gone_is_not_replaced(broker, pki):
    gone = broker.state.add_session('alice', state='DELETED')
    result = run(broker, pki, owner='alice', session_id=gone)
    assert result.failed and 'is not READY or CREATING' in result['msg']
    assert api_calls(broker, '/createSessions') == []


@pytest.mark.parametrize('args, message', [
    (dict(url='http://127.0.0.1:8443', owner='a'), 'must start with https://'),
    (dict(state='present'), 'owner'),
    (dict(owner='a', older_than_minutes=5), 'use it with state=absent'),
])
def test_argument_errors(broker, pki, args, message):
    result = run(broker, pki, **args)
    assert result.failed and message in result['msg']


def test_create_session_options_reach_the_broker(broker, pki):
    # sm-dev "CreateSessions": the optional request parameters, with their documented types
    result = run(broker, pki, owner='carol', type='virtual', max_concurrents=2, init_file='init.sh',
                 autorun_file='cad.sh', autorun_file_arguments=['--project', 'bridge'],
                 permissions='[permissions]\n%owner% allow builtin\n', dcv_gl_enabled=False, enqueue_request=True,
                 storage_root='/home/carol/storage')
    assert not result.failed, result.get('msg')
    assert broker.state.create_requests == [{
        'Name': 'carol-desktop', 'Owner': 'carol', 'Type': 'VIRTUAL', 'MaxConcurrents': 2, 'InitFile': 'init.sh',
        'AutorunFile': 'cad.sh', 'AutorunFileArguments': ['--project', 'bridge'],
        'PermissionsFile': 'W3Blcm1pc3Npb25zXQolb3duZXIlIGFsbG93IGJ1aWx0aW4K', 'DcvGlEnabled': False,
        'EnqueueRequest': True, 'StorageRoot': '/home/carol/storage'}]


def test_no_create_session_options_no_extra_fields(broker, pki):
    result = run(broker, pki, owner='carol')
    assert not result.failed, result.get('msg')
    assert broker.state.create_requests == [{'Name': 'carol-desktop', 'Owner': 'carol', 'Type': 'CONSOLE'}]


@pytest.mark.parametrize('check_mode', [False, True])
@pytest.mark.parametrize('args, words', [
    (dict(type='console', init_file='init.sh'), 'init_file (CreateSessions InitFile) is supported with virtual'),
    (dict(type='virtual', autorun_file_arguments=['x']), 'set autorun_file too'),
    (dict(type='virtual', max_concurrents=500), 'must be between 1 and 100'),
])
def test_create_session_options_are_checked_before_the_broker_is_asked(broker, pki, check_mode, args, words):
    result = run(broker, pki, check_mode=check_mode, owner='carol', **args)
    assert result.failed and words in result['msg'], result.get('msg')
    assert api_calls(broker, '/createSessions') == [] and broker.state.create_requests == []


@pytest.mark.parametrize('field, value, words', [
    ('MaxConcurrents', '2', "MaxConcurrents: expected integer, got '2'"),
    ('DcvGlEnabled', 'true', "DcvGlEnabled: expected boolean, got 'true'"),
    ('AutorunFileArguments', '--flag', "AutorunFileArguments: expected array of strings, got '--flag'"),
    ('PermissionsFile', 'not base64!', "PermissionsFile: expected base64 string, got 'not base64!'"),
])
def test_the_fake_broker_refuses_wrong_types_like_the_documented_api(broker, pki, field, value, words):
    from ansible_collections.dcvkit.session_manager.plugins.module_utils.broker_api import (
        BrokerApiClient, BrokerApiError)
    client = BrokerApiClient(broker.url(), broker.client_id, broker.client_secret, ca_file=pki['ca_file'],
                             use_proxy=False)
    with pytest.raises(BrokerApiError) as caught:
        client.create_session('s', 'carol', 'VIRTUAL', fields={field: value})
    assert words in str(caught.value)


# The window of a session (playbooks/session.yml -e dcv_session_minutes=N): a deadline record the session expiry
# program on the broker host honours
def recorded_deadline(directory, session_id):
    import datetime
    text = (directory / session_id).read_text()
    return datetime.datetime.fromisoformat(text.strip()), text


def test_deadline_is_recorded_for_a_new_session(broker, pki, tmp_path):
    import datetime
    before = datetime.datetime.now(datetime.timezone.utc)
    result = run(broker, pki, owner='alice', deadline_minutes=90, deadlines_dir=str(tmp_path))
    assert not result.failed, result.get('msg')
    moment, text = recorded_deadline(tmp_path, result['session_id'])
    assert text == result['deadline'] + '\n'
    assert datetime.timedelta(minutes=89) < moment - before <= datetime.timedelta(minutes=90, seconds=5)
    assert oct(os.stat(str(tmp_path / result['session_id'])).st_mode & 0o777) == '0o600'
    assert result['connection_token']


def test_a_reused_session_gets_a_new_deadline_from_now(broker, pki, tmp_path):
    existing = broker.state.add_session('alice', age_minutes=50)
    (tmp_path / existing).write_text('2020-01-01T00:00:00+00:00\n')
    result = run(broker, pki, owner='alice', deadline_minutes=30, deadlines_dir=str(tmp_path))
    assert not result.failed, result.get('msg')
    assert result['session_id'] == existing and result['created'] is False and result['changed'] is True
    assert recorded_deadline(tmp_path, existing)[1] == result['deadline'] + '\n'
    assert not result['deadline'].startswith('2020')


def test_no_deadline_directory_is_refused_before_a_session_is_created(broker, pki, tmp_path):
    result = run(broker, pki, owner='alice', deadline_minutes=30, deadlines_dir=str(tmp_path / 'none'))
    assert result.failed and 'deadlines_dir %s does not exist' % (tmp_path / 'none') in result['msg']
    assert api_calls(broker, '/createSessions') == [] and broker.state.token_requests == 0


def test_deadline_in_check_mode_writes_nothing(broker, pki, tmp_path):
    result = run(broker, pki, check_mode=True, owner='alice', deadline_minutes=30,
                 deadlines_dir=str(tmp_path / 'not-yet'))
    assert not result.failed, result.get('msg')
    assert result['changed'] and result['deadline'] and not (tmp_path / 'not-yet').exists()


@pytest.mark.parametrize('args, message', [
    (dict(owner='alice', deadline_minutes=0), 'deadline_minutes is 0: a window is a whole number of minutes, at least 1'),
    (dict(state='absent', owner='alice', deadline_minutes=30), 'leave it out with state=absent'),
])
def test_deadline_argument_errors(broker, pki, tmp_path, args, message):
    result = run(broker, pki, deadlines_dir=str(tmp_path), **args)
    assert result.failed and message in result['msg'], result.get('msg')
    assert broker.state.sessions == {} and os.listdir(str(tmp_path)) == []


# Viewers (playbooks/session.yml -e dcv_session_viewers=bob,carol): a connection token and a URL of their own each
def token_user(url):
    """The user a fake broker JWT in a browser URL was issued for (its sub claim)."""
    import base64
    from urllib.parse import unquote
    token = unquote(url.split('authToken=', 1)[1].split('#', 1)[0])
    payload = token.split('.')[1]
    return json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))['sub']


def test_each_viewer_gets_a_token_and_url_of_their_own(broker, pki):
    result = run(broker, pki, owner='alice', type='virtual', viewers=['bob', 'carol', 'bob'],
                 permissions='[permissions]\n%owner% allow builtin\nbob allow display\ncarol allow display\n',
                 gateway_url='https://desk.example.com:8443')
    assert not result.failed, result.get('msg')
    session_id = result['session_id']
    # sm-dev "GetSessionConnectionData" is asked once per user: the owner first, then each viewer once
    assert broker.state.connection_data_users == ['alice', 'bob', 'carol']
    assert token_user(result['browser_url']) == 'alice'
    assert list(result['viewer_urls']) == ['bob', 'carol']
    for user in ('bob', 'carol'):
        url = result['viewer_urls'][user]
        assert url.startswith('https://desk.example.com:8443/?authToken=') and url.endswith('#' + session_id)
        assert token_user(url) == user
        connection = result['viewer_connections'][user]
        assert connection['browser_url'] == url and connection['connection_token'] in broker.state.connection_tokens_issued
        assert connection['connection_token_expiry_source'] == 'token'
        assert 58 <= connection['connection_token_valid_minutes'] <= 60
        assert connection['connection_token_expires_at'].endswith('+00:00')
    assert len(set([result['browser_url']] + list(result['viewer_urls'].values()))) == 3


def test_the_owners_result_is_the_same_with_or_without_viewers(broker, pki):
    broker.state.add_session('alice', name='desk')
    alone = run(broker, pki, owner='alice', gateway_url='https://desk:8443')
    shared = run(broker, pki, owner='alice', gateway_url='https://desk:8443', viewers=['bob'])
    assert not alone.failed and not shared.failed, shared.get('msg')
    assert set(shared) - set(alone) == {'viewer_urls', 'viewer_connections'}
    assert shared['session_id'] == alone['session_id'] and shared['changed'] is False
    assert token_user(shared['browser_url']) == 'alice'


def test_a_reused_session_gives_viewers_tokens_too(broker, pki):
    # the broker hands a token out for any user; the permissions the session was created with decide on connection
    existing = broker.state.add_session('alice', name='desk')
    result = run(broker, pki, owner='alice', viewers=['bob'], gateway_url='https://desk:8443')
    assert result['session_id'] == existing and result['created'] is False
    assert token_user(result['viewer_urls']['bob']) == 'bob'


def test_viewers_without_a_gateway_url_get_tokens_and_no_url(broker, pki):
    broker.state.connection_token_style = 'opaque'
    result = run(broker, pki, owner='alice', viewers=['bob'], token_duration_minutes=45)
    assert not result.failed, result.get('msg')
    assert 'viewer_urls' not in result and 'browser_url' not in result
    connection = result['viewer_connections']['bob']
    assert connection['connection_token'] == broker.state.connection_tokens_issued[1]
    assert connection['connection_token_expiry_source'] == 'broker_setting'
    assert connection['connection_token_valid_minutes'] in (44, 45) and 'browser_url' not in connection


@pytest.mark.parametrize('existing', [False, True])
def test_check_mode_fetches_nothing_for_viewers(broker, pki, existing):
    if existing:
        broker.state.add_session('alice', name='desk')
    result = run(broker, pki, check_mode=True, owner='alice', viewers=['bob'], gateway_url='https://desk:8443')
    assert not result.failed, result.get('msg')
    assert 'viewer_urls' not in result and 'viewer_connections' not in result
    # the owner's connection data is read in check mode as before; no viewer's
    assert broker.state.connection_data_users == (['alice'] if existing else [])


def test_a_viewer_the_broker_refuses_fails_the_task_without_any_token(broker, pki):
    broker.state.connection_data_refusals['carol'] = (500, 'no connection data for carol today')
    result = run(broker, pki, owner='alice', viewers=['bob', 'carol'], gateway_url='https://desk:8443')
    assert result.failed
    assert 'is READY, but the broker gave no connection token for viewer carol' in result['msg']
    assert 'no connection data for carol today' in result['msg'] and result['status'] == 500
    # the owner's and bob's tokens were issued before carol's refusal: the failed result holds neither
    assert len(broker.state.connection_tokens_issued) == 2
    for token in broker.state.connection_tokens_issued:
        assert token not in result.raw
    assert 'authToken=' not in result.raw
    assert result['session_id'] in broker.state.sessions  # reported, so it can be reused or deleted


def test_viewer_tokens_stay_out_of_messages(broker, pki):
    broker.state.add_session('alice', name='desk')
    result = run(broker, pki, owner='alice', viewers=['bob'], gateway_url='https://desk:8443')
    secret = ('connection_token', 'browser_url', 'viewer_urls', 'viewer_connections')
    rest = {key: value for key, value in result.items() if key not in secret}
    for token in broker.state.connection_tokens_issued:
        assert token not in json.dumps(rest)
    assert not result.get('warnings')


@pytest.mark.parametrize('args, message', [
    (dict(owner='alice', viewers=['bob', 'alice']), 'viewers: alice is the owner of the session'),
    (dict(state='absent', owner='alice', viewers=['bob']), 'leave it out with state=absent and list_only'),
    (dict(list_only=True, viewers=['bob']), 'leave it out with state=absent and list_only'),
])
def test_viewer_argument_errors(broker, pki, args, message):
    broker.state.add_session('alice', name='desk')
    result = run(broker, pki, **args)
    assert result.failed and message in result['msg'], result.get('msg')
    assert broker.state.token_requests == 0 and broker.state.connection_data_users == []


def test_deleting_a_session_removes_its_deadline_record(broker, pki, tmp_path):
    doomed = broker.state.add_session('alice', name='one')
    kept = broker.state.add_session('alice', name='two')
    for session_id in (doomed, kept):
        (tmp_path / session_id).write_text('2030-01-01T00:00:00+00:00\n')
    result = run(broker, pki, state='absent', session_id=doomed, force=True, deadlines_dir=str(tmp_path))
    assert result['deleted'] == [doomed]
    assert sorted(os.listdir(tmp_path)) == [kept]


def test_check_mode_keeps_the_deadline_record_of_a_session_it_would_delete(broker, pki, tmp_path):
    doomed = broker.state.add_session('alice')
    (tmp_path / doomed).write_text('2030-01-01T00:00:00+00:00\n')
    result = run(broker, pki, check_mode=True, state='absent', session_id=doomed, deadlines_dir=str(tmp_path))
    assert result['changed'] and result['deleted'] == [doomed]
    assert os.listdir(tmp_path) == [doomed]


def test_deleting_without_a_deadline_directory_is_fine(broker, pki, tmp_path):
    doomed = broker.state.add_session('alice')
    result = run(broker, pki, state='absent', session_id=doomed, deadlines_dir=str(tmp_path / 'absent'))
    assert not result.failed and result['deleted'] == [doomed]
