# -*- coding: utf-8 -*-
"""Who may join a session (playbooks/session.yml -e dcv_session_viewers=...): the permissions file the viewers become
(adminguide "Configuring Amazon DCV authorization", "Adding permissions": [permissions], actor rule features,
%owner%, builtin, display), the names that are refused, and the playbook's refusals of a bad window or bad viewers
before anything changes."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.dcvkit.session_manager.plugins.filter.session_viewers import (
    dcv_session_viewers_permissions,
    dcv_session_viewers_problems,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
BIN = os.path.dirname(sys.executable)

OWNER_AND_TWO_VIEWERS = '[permissions]\n%owner% allow builtin\nbob allow display\ncarol allow display\n'


@pytest.mark.parametrize('viewers', ['bob,carol', ' bob , carol ,', ['bob', 'carol'], ['bob', 'carol', 'bob']])
def test_owner_has_every_feature_each_viewer_only_display(viewers):
    assert dcv_session_viewers_permissions(viewers) == OWNER_AND_TWO_VIEWERS


@pytest.mark.parametrize('viewers', ['', [], None, ' , '])
def test_no_viewers_no_permissions_file(viewers):
    # the session then gets the server's default permissions: the owner only
    assert dcv_session_viewers_permissions(viewers) == ''
    assert dcv_session_viewers_problems(viewers, 'alice') == []


@pytest.mark.parametrize('viewers', ['bob', 'carol.smith,dave_2,eve-x', ['u' * 32]])
def test_plain_user_names_pass(viewers):
    assert dcv_session_viewers_problems(viewers, 'alice') == []


@pytest.mark.parametrize('name', ['group:admins', 'osgroup:wheel', 'user:bob', '%any%', '%owner%', 'bob carol',
                                  'a=b', 'x#y', '-rf', '.hidden', 'u' * 33, 'b[ob]', "o'neil", 'DOMAIN\\bob'])
def test_anything_else_is_refused_naming_the_variable(name):
    problems = dcv_session_viewers_problems(['bob', name], 'alice')
    assert len(problems) == 1, problems
    assert problems[0].startswith("dcv_session_viewers: %r is not a plain user name" % name)


def test_not_a_list_nor_a_string_is_refused():
    assert dcv_session_viewers_problems({'bob': 1}, 'alice') == [
        "dcv_session_viewers must be a list of user names or a comma-separated string of them, not {'bob': 1}"]
    assert dcv_session_viewers_problems([7], 'alice')[0].startswith('dcv_session_viewers: 7 is not a plain user name')


def test_the_owner_is_no_viewer():
    assert dcv_session_viewers_problems('bob,alice', 'alice') == [
        'dcv_session_viewers: alice is the owner of the session, who has full control already; leave the name out']


def test_viewers_and_a_permissions_file_are_two_sources_for_one_file():
    problems = dcv_session_viewers_problems('bob', 'alice', 'permissions.txt')
    assert len(problems) == 1 and problems[0].startswith(
        'dcv_session_viewers and dcv_session_permissions_file both describe who may do what in the session')
    assert dcv_session_viewers_problems('', 'alice', 'permissions.txt') == []


# playbooks/session.yml refuses before it includes the session expiry or registers its API client
WINDOW = "Check the session's window before anything changes"
VIEWERS = 'Check who may join before anything changes (adminguide "Configuring Amazon DCV authorization")'
PLAYBOOK_CASES = [
    ('minutes-zero', ['-e', 'dcv_session_minutes=0'], WINDOW,
     'dcv_session_minutes is 0: the window of a session is a whole number of minutes, at least 1'),
    ('minutes-words', ['-e', 'dcv_session_minutes=soon'], WINDOW, 'dcv_session_minutes is soon: the window'),
    ('minutes-fraction', ['-e', 'dcv_session_minutes=1.5'], WINDOW, 'dcv_session_minutes is 1.5: the window'),
    ('minutes-negative', ['-e', '{"dcv_session_minutes": -5}'], WINDOW, 'dcv_session_minutes is -5: the window'),
    # sm-dev "GetSessionConnectionData" has no token lifetime: every token lives the broker's setting (default 60)
    ('window-shorter-than-token', ['-e', 'dcv_session_minutes=30'], WINDOW,
     'dcv_session_minutes is 30 but dcv_broker_connect_session_token_minutes is 60: the connection token in the URL '
     'would outlive the window of the session'),
    ('window-longer-than-max-age', ['-e', 'dcv_session_minutes=600', '-e', 'dcv_session_max_age_minutes=480'], WINDOW,
     'dcv_session_minutes is 600 but dcv_session_max_age_minutes is 480: the session would be deleted at its maximum '
     'age, before its window ends'),
    ('viewer-group', ['-e', 'dcv_session_viewers=bob,group:admins'], VIEWERS,
     "dcv_session_viewers: 'group:admins' is not a plain user name"),
    ('viewer-list', ['-e', '{"dcv_session_viewers": ["bob", "bob carol"]}'], VIEWERS,
     "dcv_session_viewers: 'bob carol' is not a plain user name"),
    ('viewers-and-file', ['-e', 'dcv_session_viewers=bob', '-e', 'dcv_session_permissions_file=perm.txt'], VIEWERS,
     'dcv_session_viewers and dcv_session_permissions_file both describe'),
]


@pytest.mark.parametrize('case', PLAYBOOK_CASES, ids=[case[0] for case in PLAYBOOK_CASES])
def test_session_playbook_refuses_before_anything_changes(tmp_path, case):
    _case_id, arguments, task, words = case
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(json.dumps({'all': {
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable},
        'children': {'dcv_brokers': {'hosts': {'localhost': {'dcv_gateway_public_names': ['localhost']}}},
                     'dcv_gateways': {'hosts': {'localhost': {}}}}}}))
    credentials = tmp_path / 'api-client.json'
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json', ANSIBLE_RETRY_FILES_ENABLED='0',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / '.ansible'), ANSIBLE_HOME=str(tmp_path / '.ansible'),
               PATH=BIN + os.pathsep + os.environ.get('PATH', ''))
    done = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', str(inventory),
                           os.path.join(ROOT, 'playbooks', 'session.yml'), '-e', 'dcv_session_owner=alice',
                           '-e', 'dcv_session_credentials_file=%s' % credentials] + arguments,
                          env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300, check=False)
    assert done.returncode != 0, done.stdout[-2000:]
    tasks = json.loads(done.stdout)['plays'][0]['tasks']
    failed = [item for item in tasks if item['hosts']['localhost'].get('failed')]
    assert [item['task']['name'] for item in failed] == [task]
    assert words in failed[0]['hosts']['localhost']['msg'], failed[0]['hosts']['localhost']['msg']
    # nothing after the refusal ran: no session expiry installed, no API client registered
    assert tasks[-1]['task']['name'] == task
    assert not credentials.exists()
