# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dcvkit.session_manager.api_client against a fake broker CLI on PATH."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.dcvkit.session_manager.plugins.module_utils import broker_credentials
from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_products import PRODUCTS
from ansible_collections.dcvkit.session_manager.plugins.modules import api_client as api_client_module
from ansible_collections.dcvkit.session_manager.tests.unit.plugins.broker_fixtures.module_runner import run_module

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='the module writes a root-owned file')


@pytest.fixture
def store(tmp_path):
    directory = tmp_path / 'etc-broker'
    directory.mkdir()
    return str(directory / 'api-client-automation.json')


def run(store, check_mode=False, **args):
    options = dict(name='automation', path=store)
    options.update(args)
    return run_module(api_client_module.main, options, check_mode=check_mode)


def stored(store):
    with open(store) as handle:
        return json.load(handle)


def without_secret(result):
    return json.dumps({key: value for key, value in result.items() if key != 'client_secret'})


def test_registers_and_stores_root_only(cli, store):
    result = run(store)
    assert not result.failed, result.get('msg')
    assert result['changed'] and result['registered']
    [client] = cli.clients
    assert (result['client_id'], result['client_secret']) == (client['id'], client['secret'])
    assert stored(store) == {'client_name': 'automation', 'client_id': client['id'],
                             'client_secret': client['secret']}
    status = os.stat(store)
    assert stat.S_IMODE(status.st_mode) == 0o600 and (status.st_uid, status.st_gid) == (0, 0)
    assert [name for name in os.listdir(os.path.dirname(store)) if name.startswith('.api-client-')] == []


def test_rerun_reads_the_file_without_change(cli, store):
    first = run(store)
    second = run(store)
    assert second['changed'] is False and second['registered'] is False
    assert (second['client_id'], second['client_secret']) == (first['client_id'], first['client_secret'])
    assert cli.calls.count('register-api-client') == 1
    assert len(cli.clients) == 1


def test_reregisters_when_the_stored_client_is_gone(cli, store):
    first = run(store)
    cli.forget(first['client_id'])
    second = run(store)
    assert second['changed'] and second['registered']
    assert second['client_id'] != first['client_id']
    assert stored(store)['client_id'] == second['client_id']
    assert 'no longer active' in second['msg']


def test_reregisters_when_the_stored_client_was_deactivated(cli, store):
    first = run(store)
    cli.deactivate(first['client_id'])
    second = run(store)
    assert second['registered'] and second['client_id'] != first['client_id']


def test_repairs_loose_permissions(cli, store):
    run(store)
    os.chmod(store, 0o644)
    result = run(store)
    assert result['changed'] and not result['registered']
    assert 'mode 0644' in result['msg']
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600


def test_check_mode_registers_nothing(cli, store):
    result = run(store, check_mode=True)
    assert result['changed'] and result['registered']
    assert 'register-api-client' not in cli.calls
    assert not os.path.exists(store)


def test_check_mode_with_a_valid_file_reports_no_change(cli, store):
    first = run(store)
    result = run(store, check_mode=True)
    assert result['changed'] is False and result['client_id'] == first['client_id']


def test_check_mode_with_a_stale_file_reports_the_reregistration(cli, store):
    first = run(store)
    cli.forget(first['client_id'])
    result = run(store, check_mode=True)
    assert result['changed'] and result['registered']
    assert stored(store)['client_id'] == first['client_id']
    assert cli.calls.count('register-api-client') == 1


def test_absent_unregisters_and_removes_the_file(cli, store):
    first = run(store)
    result = run(store, state='absent')
    assert result['changed'] and result['unregistered'] == [first['client_id']]
    assert not os.path.exists(store)
    assert cli.clients[0]['active'] is False
    again = run(store, state='absent')
    assert again['changed'] is False and again['unregistered'] == []


def test_absent_in_check_mode_changes_nothing(cli, store):
    run(store)
    result = run(store, state='absent', check_mode=True)
    assert result['changed']
    assert os.path.exists(store)
    assert 'unregister-api-client' not in cli.calls


def test_absent_also_takes_namesakes_whose_secret_was_lost(cli, store):
    run(store)
    os.unlink(store)  # the secret of this client is lost for good
    result = run(store, state='absent')
    assert result['changed'] and len(result['unregistered']) == 1
    assert all(not client['active'] for client in cli.clients)


def test_secret_never_in_non_secret_output(cli, store):
    registered = run(store)
    secret = registered['client_secret']
    assert secret and secret not in without_secret(registered)
    reused = run(store)
    assert secret not in without_secret(reused)
    removed = run(store, state='absent')
    assert secret not in removed.raw


def test_storage_failure_unregisters_and_keeps_the_secret_out(cli, tmp_path):
    missing = str(tmp_path / 'no-such-dir' / 'creds.json')
    result = run(missing)
    assert result.failed
    assert 'does not exist' in result['msg'] and 'unregistered again' in result['msg']
    [client] = cli.clients
    assert client['active'] is False
    assert client['secret'] not in result.raw


def test_cli_failure_is_reported(cli, store):
    cli.fail_next('describe-api-clients')
    result = run(store)
    assert result.failed
    assert 'describe-api-clients failed (rc=1)' in result['msg'] and 'port 47200' in result['msg']


def test_cli_failure_after_printing_the_password_keeps_it_out(cli, store):
    cli.fail_next('register-after-printing')
    result = run(store)
    assert result.failed and 'register-api-client' in result['msg'] and 'flush' in result['msg']
    [client] = cli.clients
    assert client['secret'] not in result.raw
    assert 'client-password: ********' in result['msg']


def test_foreign_file_is_not_overwritten(cli, store):
    with open(store, 'w') as handle:
        json.dump({'client_name': 'portal', 'client_id': 'x', 'client_secret': 'y'}, handle)
    result = run(store)
    assert result.failed and "'portal'" in result['msg']
    assert stored(store)['client_name'] == 'portal'


def test_missing_cli_is_reported(tmp_path, monkeypatch, store):
    monkeypatch.setenv('PATH', str(tmp_path))
    result = run(store, broker_cli='dcv-session-manager-broker-absent')
    assert result.failed and 'dcv-session-manager-broker-absent' in result['msg']


def test_default_path_is_under_the_broker_directory():
    # the module's default: the broker's configuration directory of the product catalog
    directory = PRODUCTS['broker']['config_dir']
    assert broker_credentials.default_path('automation', directory) == \
        '/etc/dcv-session-manager-broker/api-client-automation.json'
    assert broker_credentials.default_path('../evil', directory) == \
        '/etc/dcv-session-manager-broker/api-client-.._evil.json'


@pytest.mark.parametrize('output, expected', [
    ('Api clients\n[ {\n"name" : "a",\n"id" : "1",\n"active" : false\n}, {\n"name" : "b",\n"id" : "2",\n'
     '"active" : true\n}]\n', [('1', False), ('2', True)]),
    ('Api clients\n[]\n', []),
    ('Api clients\n', []),
])
def test_parse_api_clients(output, expected):
    clients = broker_credentials.parse_api_clients(output)
    assert [(client['id'], broker_credentials.is_active(client)) for client in clients] == expected


def test_parse_registration_and_redact():
    output = 'client-id: 21cfe9cf-EXAMPLE\nclient-password: NjVm.EXAMPLE\n'
    assert broker_credentials.parse_registration(output) == ('21cfe9cf-EXAMPLE', 'NjVm.EXAMPLE')
    assert 'NjVm.EXAMPLE' not in broker_credentials.redact(output, [])
