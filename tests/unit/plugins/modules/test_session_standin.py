# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract test: api_client and session against the stand-in broker, agent, DCV server and gateway.

The whole chain runs in-process on loopback (tests/standins, built by the stand-ins' own test
harness). The browser URL the session module returns is opened through the stand-in gateway route,
so a token the DCV server accepts proves the modules and the stand-ins agree on the documented API.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.dcvkit.session_manager.plugins.modules import api_client as api_client_module
from ansible_collections.dcvkit.session_manager.plugins.modules import session as session_module
from ansible_collections.dcvkit.session_manager.tests.unit.plugins.broker_fixtures.module_runner import run_module
from ansible_collections.dcvkit.session_manager.tests.unit.standins import conftest as standin_lab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='api_client writes a root-owned file')


class AgentLoop:
    """Reports the stand-in agent to the broker every 0.2 s, as the real agent does every few seconds."""

    def __init__(self, agent):
        self.agent = agent
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stopped.wait(0.2):
            self.agent.report_once()

    def __enter__(self):
        assert self.agent.report_once(), 'the stand-in agent did not register with the stand-in broker'
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopped.set()
        self.thread.join(5)


@pytest.fixture
def lab(tmp_path):
    from dcvstandin.broker import Broker  # importable once standin_lab put tests/standins on sys.path

    ports = {name: standin_lab.free_port() for name in ('client', 'agent', 'gateway', 'cli', 'dcv', 'web', 'health')}
    pki_dir = tmp_path / 'pki'
    pki_dir.mkdir()
    pki = standin_lab.Pki(str(pki_dir))
    brokers = []

    def make_broker(extra=''):
        properties = standin_lab.write(tmp_path / 'broker.properties',
                                       standin_lab.broker_properties(ports, pki, extra), 0o640)
        state = tmp_path / 'broker-state'
        state.mkdir(exist_ok=True)
        broker = Broker(properties, str(state), str(tmp_path / 'broker.log'), owner_uid=os.getuid(),
                        owner_gid=os.getgid(), hostname='brokerhost')
        broker.start()
        brokers.append(broker)
        return broker

    stack = standin_lab.Stack(tmp_path, ports, pki, make_broker)
    cli = tmp_path / 'bin' / 'dcv-session-manager-broker'
    cli.parent.mkdir()
    cli.write_text('#!/bin/sh\nPYTHONPATH=%s exec %s -m dcvstandin.brokercli --properties %s --state-dir %s "$@"\n'
                   % (standin_lab.STANDINS, sys.executable, stack.broker.properties_file, stack.broker.state_dir))
    cli.chmod(0o755)
    stack.cli = str(cli)
    stack.credentials = str(tmp_path / 'api-client-lab.json')
    try:
        with AgentLoop(stack.agent):
            yield stack
    finally:
        stack.stop()
        for broker in brokers:
            broker.stop()


def session(lab, **args):
    options = dict(url='https://localhost:%d' % lab.ports['client'], ca_file=lab.ca,
                   credentials_file=lab.credentials, use_proxy=False, poll_interval=0.2, wait_timeout=30,
                   gateway_url='https://localhost:%d' % lab.ports['web'])
    options.update(args)
    return run_module(session_module.main, options)


def open_in_browser(lab, browser_url):
    """What the web client does with the URL: token from the query, session id from the fragment."""
    from dcvstandin import common

    parts = urlsplit(browser_url)
    token = parse_qs(parts.query)['authToken'][0]
    status, data, dummy_peer = common.https_request(
        'GET', 'https://localhost:%d/standin/connect?sessionId=%s&authToken=%s' % (lab.ports['web'], parts.fragment, token),
        common.client_context(lab.ca))
    return status, json.loads(data)


def test_browser_url_from_the_modules_opens_the_desktop(lab):
    registered = run_module(api_client_module.main, dict(name='lab', path=lab.credentials, broker_cli=lab.cli))
    assert not registered.failed, registered.get('msg')
    assert registered['registered']

    created = session(lab, owner=lab.user, type='virtual')
    assert not created.failed, created.get('msg')
    assert created['created'] and created['session']['State'] == 'READY'
    assert created['connection_token_expiry_source'] == 'unknown'  # the stand-in's tokens are opaque

    status, route = open_in_browser(lab, created['browser_url'])
    assert status == 200, route
    assert route['Connected'] is True and route['User'] == lab.user

    reused = session(lab, owner=lab.user, type='virtual')
    assert reused['changed'] is False and reused['session_id'] == created['session_id']
    again = run_module(api_client_module.main, dict(name='lab', path=lab.credentials, broker_cli=lab.cli))
    assert again['changed'] is False and again['client_id'] == registered['client_id']

    deleted = session(lab, state='absent', owner=lab.user)
    assert deleted['deleted'] == [created['session_id']]
    listed = session(lab, list_only=True, session_id=created['session_id'])
    assert [item['State'] for item in listed['sessions']] in (['DELETING'], ['DELETED'])

    removed = run_module(api_client_module.main, dict(name='lab', path=lab.credentials, broker_cli=lab.cli,
                                                      state='absent'))
    assert removed['unregistered'] == [registered['client_id']]
    refused = session(lab, list_only=True)
    assert refused.failed and refused.get('status') is None  # the credentials file is gone
    assert 'register the client first' in refused['msg']


def test_a_stale_client_is_registered_again(lab):
    first = run_module(api_client_module.main, dict(name='lab', path=lab.credentials, broker_cli=lab.cli))
    # Someone unregisters the client behind our back: the stored secret is worthless now.
    subprocess.run([lab.cli, 'unregister-api-client', '--client-id', first['client_id']], check=True,
                   stdout=subprocess.DEVNULL)
    second = run_module(api_client_module.main, dict(name='lab', path=lab.credentials, broker_cli=lab.cli))
    assert second['registered'] and second['client_id'] != first['client_id']
    listed = session(lab, list_only=True)
    assert not listed.failed, listed.get('msg')


def test_virtual_session_on_a_missing_server_reports_the_broker_reason(lab):
    run_module(api_client_module.main, dict(name='lab', path=lab.credentials, broker_cli=lab.cli))
    result = session(lab, owner=lab.user, type='virtual', server_hostname='no-such-host')
    assert result.failed
    assert 'no available DCV server matches the requirements' in result['msg']


def session_playbook(lab, tmp_path, *extra_vars, check=False, owner=True):
    """Run playbooks/session.yml against the lab as an operator does (-e ...), for the lab's user unless not owner;
    return its finished process."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))))
    playbook_cli = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(playbook_cli):
        pytest.skip('ansible-playbook is not installed beside %s' % sys.executable)
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(json.dumps({'all': {
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable},
        'children': {
            'dcv_brokers': {'hosts': {'localhost': {
                'dcv_broker_client_port': lab.ports['client'],
                'dcv_gateway_web_port': lab.ports['web'],
                'dcv_gateway_public_names': ['localhost'],
            }}},
            'dcv_gateways': {'hosts': {'localhost': {}}},
        }}}))
    command = [playbook_cli, '-i', str(inventory), os.path.join(repo, 'playbooks', 'session.yml'),
               '-e', 'dcv_session_type=virtual',
               '-e', 'dcv_session_credentials_file=%s' % lab.credentials,
               '-e', 'dcv_session_broker_ca_file=%s' % lab.ca, '-e', 'dcv_session_broker_cli=%s' % lab.cli,
               '-e', 'dcv_session_gateway_config_file=%s' % lab.gateway_conf]
    if owner:
        command += ['-e', 'dcv_session_owner=%s' % lab.user]
    for item in extra_vars:
        command += ['-e', item]
    if check:
        command.append('--check')
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(repo, '.collections'),
                       ANSIBLE_NOCOLOR='1', ANSIBLE_STDOUT_CALLBACK='default',
                       ANSIBLE_CALLBACK_RESULT_FORMAT='json')
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300, check=False,
                          cwd=str(tmp_path))  # no ansible.cfg from the working directory


def test_session_playbook_prints_a_url_that_opens_the_desktop(lab, tmp_path):
    def play():
        done = session_playbook(lab, tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        urls = re.findall(r'"msg": "(https://localhost:%d/\?authToken=\S+#\S+) \(virtual session (created|reused)'
                          % lab.ports['web'], done.stdout)
        assert len(urls) == 1, done.stdout
        return urls[0], re.search(r'localhost\s*: ok=\d+\s+changed=(\d+)', done.stdout).group(1)

    (url, verb), changed = play()
    assert verb == 'created' and int(changed) == 2  # the API client, then the session
    status, route = open_in_browser(lab, url)
    assert status == 200 and route['Connected'] is True, route
    (again, verb), changed = play()
    assert verb == 'reused' and changed == '0'


def test_session_playbook_prints_a_url_for_each_viewer_that_opens_the_desktop_as_them(lab, tmp_path):
    def play(viewers):
        done = session_playbook(lab, tmp_path, 'dcv_session_viewers=%s' % viewers)
        assert done.returncode == 0, done.stdout + done.stderr
        owner = re.findall(r'"msg": "(https://\S+) \(virtual session (created|reused) for %s [^"]*' % lab.user,
                           done.stdout)
        viewers = re.findall(r'"msg": "(https://\S+) \(for (\w+): ([^;]+);', done.stdout)
        assert len(owner) == 1, done.stdout
        # one line per viewer, after the owner's; the loop shows the viewer's name, never the token
        assert done.stdout.index(owner[0][0]) < min(done.stdout.index(url) for url, _user, _access in viewers)
        assert re.findall(r'\(item=(\w+)\)', done.stdout) == [user for _url, user, _access in viewers]
        assert done.stdout.count('authToken=') == 1 + len(viewers)   # printed once each, nowhere else
        return owner[0], viewers, done.stdout

    (owner_url, verb), viewers, output = play('viewer1,viewer2')
    assert verb == 'created' and '; viewers (view only): viewer1,viewer2, their URLs follow)' in output
    assert [(user, access) for _url, user, access in viewers] == [('viewer1', 'view only'), ('viewer2', 'view only')]
    assert len({owner_url, viewers[0][0], viewers[1][0]}) == 3   # a token of their own each
    for url, user, _access in viewers:
        status, route = open_in_browser(lab, url)
        assert status == 200 and route['Connected'] is True and route['User'] == user, route

    # the session is reused: it keeps its permissions, which do not name viewer3, so viewer3's URL opens nothing
    (again, verb), viewers, output = play('viewer1,viewer3')
    assert verb == 'reused' and again != owner_url
    assert 'dcv_session_viewers not applied: a reused session keeps the permissions it was created with' in output
    assert [user for _url, user, _access in viewers] == ['viewer1', 'viewer3']
    assert all(access.startswith('the reused session lets this user in only if') for _url, _user, access in viewers)
    assert open_in_browser(lab, viewers[0][0])[1]['User'] == 'viewer1'
    status, route = open_in_browser(lab, viewers[1][0])
    assert status == 403 and route['FailedHop'] == 'dcv-server', route

    # check mode reads the owner's connection data of the reused session as before, and mints no viewer token
    checked = session_playbook(lab, tmp_path, 'dcv_session_viewers=viewer1', check=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count('authToken=') == 1 and '(item=' not in checked.stdout
    assert '; no viewer URL is fetched in check mode)' in checked.stdout


def test_session_playbook_prints_no_url_the_resolver_cannot_give(lab, tmp_path):
    # the gateway's [resolver] points at a port nothing listens on: the session is READY at the broker, yet no URL of
    # it would open a desktop, so none is printed and the run says why
    broken = tmp_path / 'gateway-broken.conf'
    broken.write_text(lab.gateway_conf_text.replace('https://localhost:%d' % lab.ports['gateway'],
                                                    'https://localhost:%d' % standin_lab.free_port()))
    done = session_playbook(lab, tmp_path, 'dcv_session_gateway_config_file=%s' % broken)
    assert done.returncode != 0
    assert "cannot reach the broker's resolver to look up session" in done.stdout, done.stdout
    assert 'authToken=' not in done.stdout
    # without a gateway configuration at all
    done = session_playbook(lab, tmp_path, 'dcv_session_gateway_config_file=%s' % (tmp_path / 'absent.conf'))
    assert done.returncode != 0 and 'has no readable configuration with a [resolver] url' in done.stdout, done.stdout
    assert 'authToken=' not in done.stdout


def test_session_playbook_revokes_a_session_at_once_and_refuses_a_bad_revocation(lab, tmp_path):
    done = session_playbook(lab, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    url = re.search(r'"msg": "(https://\S+?#[\w-]+)', done.stdout).group(1)
    session_id = url.rsplit('#', 1)[1]
    done = session_playbook(lab, tmp_path, 'dcv_session_revoke=%s' % session_id, owner=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'session %s ended; the URLs printed for it no longer open it' % session_id in done.stdout
    assert 'authToken' not in done.stdout
    assert open_in_browser(lab, url)[0] != 200   # the gateway's resolver no longer finds it
    done = session_playbook(lab, tmp_path, 'dcv_session_revoke=%s' % session_id, owner=False)
    assert done.returncode == 0 and 'is not one the broker has' in done.stdout, done.stdout
    # refused before anything changes, naming the variable
    done = session_playbook(lab, tmp_path, 'dcv_session_revoke=../x', owner=False)
    assert done.returncode != 0 and 'dcv_session_revoke is ../x: give the ID of one session' in done.stdout
    done = session_playbook(lab, tmp_path, 'dcv_session_revoke=%s' % session_id)
    assert done.returncode != 0 and 'dcv_session_revoke ends a session; it takes no dcv_session_owner' in done.stdout
