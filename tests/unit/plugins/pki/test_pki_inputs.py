"""Every bad input of the certificate task fails, naming the option, before anything is written."""

import os

import pytest

from ansible_collections.dcvkit.session_manager.plugins.module_utils import pki_ca, pki_host
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_names import (
    PkiInputError, check_certificate_request)


def _request(pki, **overrides):
    return check_certificate_request(pki.host_params('/tmp/unused', **overrides))


@pytest.mark.parametrize('overrides, option, words', [
    (dict(dns_names=[], ip_addresses=[]), 'dns_names', 'no names'),
    (dict(dns_names=['']), 'dns_names', 'empty'),
    (dict(dns_names=['  ']), 'dns_names', 'empty'),
    (dict(ip_addresses=['']), 'ip_addresses', 'empty'),
    (dict(dns_names=['bad_name.example']), 'dns_names', 'not a valid host name'),
    (dict(dns_names=['-lead.example']), 'dns_names', 'not a valid host name'),
    (dict(dns_names=['a' * 64 + '.example']), 'dns_names', 'not a valid host name'),
    (dict(dns_names=['host.123']), 'dns_names', 'numeric top-level'),
    (dict(dns_names=['10.0.0.1']), 'dns_names', 'is an IP address'),
    (dict(dns_names=['fd00::1']), 'dns_names', 'is an IP address'),
    (dict(dns_names=['*.example.internal']), 'dns_names', 'allow_wildcard'),
    (dict(dns_names=['*.internal'], allow_wildcard=True), 'dns_names', 'two labels'),
    (dict(dns_names=['a.*.example.internal'], allow_wildcard=True), 'dns_names', 'left-most'),
    (dict(dns_names=['ab*.example.internal'], allow_wildcard=True), 'dns_names', 'left-most'),
    (dict(ip_addresses=['10.0.0.300']), 'ip_addresses', 'not an IPv4 or IPv6'),
    (dict(common_name=''), 'common_name', 'empty'),
    (dict(extended_key_usage=[]), 'extended_key_usage', 'at least one'),
    (dict(extended_key_usage=['codeSigning']), 'extended_key_usage', 'not one of'),
    (dict(valid_days=30, renew_before_days=30), 'renew_before_days', 'smaller than'),
    (dict(valid_days=30, renew_before_days=90), 'renew_before_days', 'smaller than'),
    (dict(valid_days=0), 'valid_days', 'at least 1'),
    (dict(renew_before_days=-1), 'renew_before_days', '0 or more'),
    (dict(pkcs12_path='/tmp/x.p12'), 'pkcs12_passphrase', 'required'),
    (dict(pkcs12_path='/tmp/x.p12', pkcs12_passphrase=''), 'pkcs12_passphrase', 'required'),
    (dict(certificate_path='relative/cert.pem'), 'certificate_path', 'absolute'),
    (dict(mode='rw-r-----'), 'mode', 'octal'),
    (dict(mode='0644'), 'mode', 'other users'),
    (dict(mode='4600'), 'mode', 'permission bits'),
])
def test_bad_request_names_the_option(pki, overrides, option, words):
    with pytest.raises(PkiInputError) as caught:
        _request(pki, **overrides)
    assert caught.value.option == option
    assert str(caught.value).startswith(option + ':')
    assert words in str(caught.value)


def test_good_request_is_normalised(pki):
    request = _request(pki, dns_names=['Broker.Example.Internal', 'broker.example.internal', '*.vpce.example.com'],
                       ip_addresses=['10.150.248.180', 'fd00::1'], allow_wildcard=True, mode=0o640)
    assert request['dns_names'] == ['broker.example.internal', '*.vpce.example.com']
    assert request['common_name'] == 'broker.example.internal'
    assert [str(ip) for ip in request['ip_addresses']] == ['10.150.248.180', 'fd00::1']


def test_ip_only_certificate_uses_the_address_as_common_name(pki):
    assert _request(pki, dns_names=[], ip_addresses=['10.0.0.5'])['common_name'] == '10.0.0.5'


@pytest.mark.parametrize('overrides, option, words', [
    (dict(certificate_path='/nonexistent-dir/server.pem'), 'certificate_path', 'does not exist'),
    (dict(ca_certificate_path='/nonexistent-dir/ca.pem'), 'ca_certificate_path', 'does not exist'),
    (dict(owner='no-such-user-dcvkit'), 'owner', 'does not exist'),
    (dict(group='no-such-group-dcvkit'), 'group', 'does not exist'),
])
def test_bad_destination_fails_before_the_key_is_written(pki, ca_dir, host_dir, overrides, option, words):
    params = pki.host_params(host_dir, **overrides)
    ca = pki_ca.load_ca(ca_dir)
    with pytest.raises(PkiInputError) as caught:
        pki_host.inspect(dict(params, common_name='x'), ca.certificate_pem, check_mode=False)
    assert caught.value.option == option and words in str(caught.value)
    assert os.listdir(host_dir) == []


def test_destination_that_is_a_directory_is_refused(pki, ca_dir, host_dir):
    os.mkdir(os.path.join(host_dir, 'server.pem'))
    params = dict(pki.host_params(host_dir), common_name='x')
    with pytest.raises(PkiInputError) as caught:
        pki_host.inspect(params, pki_ca.load_ca(ca_dir).certificate_pem, check_mode=False)
    assert caught.value.option == 'certificate_path' and 'is a directory' in str(caught.value)
    assert not os.path.exists(params['private_key_path'])


def test_unwritable_directory_is_refused(pki, ca_dir, tmp_path, monkeypatch):
    # The tests run as root, for whom every directory is writable; emulate an unprivileged user's view.
    locked = tmp_path / 'locked'
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, 'access', lambda path, mode: False if str(path) == str(locked) else real_access(
        path, mode))
    params = dict(pki.host_params(str(tmp_path / 'host')), common_name='x')
    os.mkdir(str(tmp_path / 'host'))
    params['pkcs12_path'] = str(locked / 'broker.p12')
    params['pkcs12_passphrase'] = 'changeit-123'
    with pytest.raises(PkiInputError) as caught:
        pki_host.inspect(params, pki_ca.load_ca(ca_dir).certificate_pem, check_mode=False)
    assert caught.value.option == 'pkcs12_path' and 'not writable' in str(caught.value)
    assert os.listdir(str(tmp_path / 'host')) == []


def test_ca_directory_that_does_not_exist(tmp_path):
    with pytest.raises(PkiInputError) as caught:
        pki_ca.load_ca(str(tmp_path / 'nope'))
    assert caught.value.option == 'ca_path' and 'does not exist' in str(caught.value)


def test_ca_directory_without_key(pki, ca_dir):
    os.unlink(os.path.join(ca_dir, 'ca.key'))
    with pytest.raises(PkiInputError) as caught:
        pki_ca.load_ca(ca_dir)
    assert caught.value.option == 'ca_path' and 'missing' in str(caught.value)


def test_ca_key_that_does_not_match_its_certificate(pki, tmp_path):
    first, second = str(tmp_path / 'first'), str(tmp_path / 'second')
    pki.make_ca(first)
    pki.make_ca(second)
    os.replace(os.path.join(second, 'ca.key'), os.path.join(first, 'ca.key'))
    with pytest.raises(PkiInputError) as caught:
        pki_ca.load_ca(first)
    assert caught.value.option == 'ca_path' and 'does not match' in str(caught.value)


def test_wrong_ca_passphrase(pki, tmp_path):
    path = str(tmp_path / 'ca')
    pki.make_ca(path, passphrase='right passphrase', key_type='ecdsa')
    assert pki_ca.load_ca(path, 'right passphrase').certificate is not None
    with pytest.raises(PkiInputError) as caught:
        pki_ca.load_ca(path, 'wrong passphrase')
    assert caught.value.option == 'ca_key_passphrase' and 'wrong passphrase' in str(caught.value)
    with pytest.raises(PkiInputError) as caught:
        pki_ca.load_ca(path, None)
    assert caught.value.option == 'ca_key_passphrase' and 'encrypted' in str(caught.value)


def test_check_mode_only_warns_about_what_an_earlier_task_would_create(pki, ca_dir, tmp_path):
    params = dict(pki.host_params(str(tmp_path / 'not-yet')), common_name='x', owner='no-such-user-dcvkit',
                  group='no-such-group-dcvkit')
    ca_pem = pki_ca.load_ca(ca_dir).certificate_pem
    state = pki_host.inspect(params, ca_pem, check_mode=True)
    assert state['key']['state'] == 'would_generate' and state['certificate']['problem'] == 'missing'
    assert [text.split(':')[0] for text in state['warnings']] == ['owner', 'private_key_path', 'certificate_path']
    assert all('check mode' in text for text in state['warnings'])
    assert not os.path.exists(str(tmp_path / 'not-yet'))
    with pytest.raises(PkiInputError):
        pki_host.inspect(params, ca_pem, check_mode=False)
