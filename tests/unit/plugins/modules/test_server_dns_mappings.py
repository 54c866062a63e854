# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dcvkit.session_manager.server_dns_mappings against a fake broker CLI on PATH, and against the stand-in broker.

sm-admin "Amazon DCV Session Manager Amazon DCV server - DNS mapping reference": the file is a JSON list of
{"ServerIdType", "ServerId", "DnsNames": {"InternalDnsName"}}; register-server-dns-mappings replaces every mapping
and describe-server-dns-mappings lists them in lowerCamel keys.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from ansible_collections.dcvkit.session_manager.plugins.module_utils import broker_dns_mappings
from ansible_collections.dcvkit.session_manager.plugins.modules import server_dns_mappings as module
from ansible_collections.dcvkit.session_manager.tests.unit.plugins.broker_fixtures.module_runner import run_module

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='the module runs the broker CLI as root')

HOST_B = {'ServerIdType': 'Ip', 'ServerId': '10.0.0.20', 'DnsNames': {'InternalDnsName': 'dcv-b.example.internal'}}
HOST_C = {'ServerIdType': 'Ip', 'ServerId': '10.0.0.30', 'DnsNames': {'InternalDnsName': 'dcv-c.example.internal'}}


@pytest.fixture
def tmp_dir(tmp_path):
    directory = tmp_path / 'work'
    directory.mkdir()
    return str(directory)


def run(mappings, tmp_dir, check_mode=False, diff=False, **args):
    options = dict(mappings=mappings, tmp_dir=tmp_dir)
    if diff:
        options['_ansible_diff'] = True
    options.update(args)
    return run_module(module.main, options, check_mode=check_mode)


def test_registers_the_whole_list_from_a_root_only_file_and_removes_it(cli, tmp_dir):
    result = run([HOST_B, HOST_C], tmp_dir)
    assert not result.failed, result.get('msg')
    assert result['changed'] and result['registered']
    assert result['previous'] == [] and result['mappings'] == [HOST_B, HOST_C]
    assert cli.mappings == [HOST_B, HOST_C]
    [written] = cli.mapping_files
    assert (written['mode'], written['uid'], written['gid']) == (0o600, 0, 0)
    assert written['content'] == [HOST_B, HOST_C]
    assert os.path.dirname(written['path']) == tmp_dir and os.listdir(tmp_dir) == []
    # read back after registering: describe, register, describe
    assert cli.calls == ['describe-server-dns-mappings', 'register-server-dns-mappings', 'describe-server-dns-mappings']


def test_rerun_with_the_same_list_changes_nothing(cli, tmp_dir):
    run([HOST_B, HOST_C], tmp_dir)
    result = run([HOST_C, HOST_B], tmp_dir)  # the order does not matter
    assert result['changed'] is False and result['registered'] is False
    assert cli.calls.count('register-server-dns-mappings') == 1
    assert result['previous'] == result['mappings'] == [HOST_B, HOST_C]


def test_a_changed_name_or_a_mapping_registered_by_hand_is_replaced(cli, tmp_dir):
    by_hand = {'ServerIdType': 'Host.Aws.Ec2InstanceId', 'ServerId': 'i-0648aee30bc78bdff',
               'DnsNames': {'InternalDnsName': 'other', 'ExternalDnsName': 'other.example.com'}}
    renamed = dict(HOST_B, DnsNames={'InternalDnsName': 'old-name.example.internal'})
    cli.set_mappings([renamed, by_hand])
    result = run([HOST_B], tmp_dir)
    assert result['changed'] and result['registered']
    assert result['previous'] == [by_hand, renamed]
    # register-server-dns-mappings replaces every mapping: the whole wanted list was sent
    assert cli.mappings == [HOST_B]


def test_check_mode_reads_but_registers_nothing_and_shows_the_diff(cli, tmp_dir):
    cli.set_mappings([HOST_C])
    result = run([HOST_B], tmp_dir, check_mode=True, diff=True)
    assert result['changed'] and result['registered']
    assert cli.calls == ['describe-server-dns-mappings']
    assert cli.mappings == [HOST_C] and os.listdir(tmp_dir) == []
    assert json.loads(result['diff']['before']) == [HOST_C]
    assert json.loads(result['diff']['after']) == [HOST_B]


def test_check_mode_on_a_matching_broker_reports_no_change(cli, tmp_dir):
    cli.set_mappings([HOST_B])
    result = run([HOST_B], tmp_dir, check_mode=True, diff=True)
    assert result['changed'] is False and 'diff' not in result


def test_an_empty_list_removes_every_mapping(cli, tmp_dir):
    cli.set_mappings([HOST_B])
    result = run([], tmp_dir)
    assert result['changed'] and cli.mappings == []


@pytest.mark.parametrize('mappings,message', [
    ([{'ServerIdType': 'Hostname', 'ServerId': 'b', 'DnsNames': {'InternalDnsName': 'b'}}],
     "ServerIdType 'Hostname' is not one of Ip, Id, Host.Aws.Ec2InstanceId"),
    ([{'ServerIdType': 'Ip', 'ServerId': '10.0.0.20', 'DnsNames': {}}], 'DnsNames.InternalDnsName must be'),
    ([{'ServerIdType': 'Ip', 'ServerId': '', 'DnsNames': {'InternalDnsName': 'b'}}], 'ServerId must be'),
    ([dict(HOST_B, Extra=1)], 'unknown key(s) Extra'),
    ([HOST_B, dict(HOST_B, DnsNames={'InternalDnsName': 'x'})], 'maps Ip 10.0.0.20 again (first in mappings[0])'),
])
def test_bad_mappings_are_refused_before_the_broker_is_asked(cli, tmp_dir, mappings, message):
    result = run(mappings, tmp_dir)
    assert result.failed and message in result['msg']
    assert cli.calls == []


def test_a_broker_that_does_not_answer_fails_naming_the_command(cli, tmp_dir):
    cli.fail_next('describe-server-dns-mappings')
    result = run([HOST_B], tmp_dir)
    assert result.failed
    assert 'describe-server-dns-mappings failed (rc=1)' in result['msg'] and 'is the broker running?' in result['msg']


def test_a_failed_registration_leaves_no_file(cli, tmp_dir):
    cli.fail_next('register-server-dns-mappings')
    result = run([HOST_B], tmp_dir)
    assert result.failed and 'register-server-dns-mappings --file-path' in result['msg']
    assert os.listdir(tmp_dir) == []


def test_a_count_that_differs_from_the_list_fails(cli, tmp_dir):
    cli.fault('register-loads-fewer')
    result = run([HOST_B, HOST_C], tmp_dir)
    assert result.failed and 'loaded 1 mapping(s), not 2' in result['msg']


def test_a_broker_that_does_not_keep_the_mappings_fails(cli, tmp_dir):
    cli.fault('register-keeps-nothing')
    result = run([HOST_B], tmp_dir)
    assert result.failed and 'after register-server-dns-mappings the broker lists []' in result['msg']


@pytest.mark.parametrize('output,expected', [
    ('', []),
    ('[ ]', []),
    ('[ {\n  "serverIdType" : "Id",\n  "serverId" : "192.168.0.1",\n  "dnsNames" : {\n    "internalDnsName" : '
     '"internal1",\n    "externalDnsName" : "external1"\n  }\n} ]',
     [{'ServerIdType': 'Id', 'ServerId': '192.168.0.1',
       'DnsNames': {'InternalDnsName': 'internal1', 'ExternalDnsName': 'external1'}}]),
    ('[{"serverIdType": "Ip", "serverId": "10.0.0.20", "dnsNames": {"internalDnsName": "dcv-b.example.internal", '
     '"externalDnsName": null}}]', [HOST_B]),
])
def test_describe_output_in_the_file_form(output, expected):
    # the first example is the output of sm-admin "describe-server-dns-mappings"
    assert broker_dns_mappings.parse_described(output) == expected


def test_describe_output_that_is_not_a_list_is_an_error():
    with pytest.raises(broker_dns_mappings.MappingsError):
        broker_dns_mappings.parse_described('Error: something else')


# -- the stand-in broker (tests/standins): the same CLI contract end to end --------------------------------------------

@pytest.fixture
def standin_cli(tmp_path):
    from ansible_collections.dcvkit.session_manager.tests.unit.standins import conftest as standin_lab
    from dcvstandin.broker import Broker  # importable once standin_lab put tests/standins on sys.path

    ports = {name: standin_lab.free_port() for name in ('client', 'agent', 'gateway', 'cli', 'dcv', 'web', 'health')}
    pki_dir = tmp_path / 'pki'
    pki_dir.mkdir()
    properties = standin_lab.write(tmp_path / 'broker.properties',
                                   standin_lab.broker_properties(ports, standin_lab.Pki(str(pki_dir))), 0o640)
    state = tmp_path / 'broker-state'
    state.mkdir()
    broker = Broker(properties, str(state), str(tmp_path / 'broker.log'), owner_uid=os.getuid(), owner_gid=os.getgid(),
                    hostname='brokerhost')
    broker.start()
    cli = tmp_path / 'dcv-session-manager-broker'
    cli.write_text('#!/bin/sh\nPYTHONPATH=%s exec %s -m dcvstandin.brokercli --properties %s --state-dir %s "$@"\n'
                   % (standin_lab.STANDINS, sys.executable, properties, state))
    cli.chmod(0o755)
    try:
        yield str(cli)
    finally:
        broker.stop()


def test_against_the_standin_broker_registers_once(standin_cli, tmp_dir):
    first = run([HOST_B], tmp_dir, broker_cli=standin_cli)
    assert not first.failed, first.get('msg')
    assert first['changed'] and first['mappings'] == [HOST_B]
    second = run([HOST_B], tmp_dir, broker_cli=standin_cli)
    assert second['changed'] is False and second['previous'] == [HOST_B]
