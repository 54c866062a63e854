"""The action plugin and both modules through a real ansible-playbook run (localhost, local connection)."""

import os
import stat

import pytest

PASSPHRASE = 'p12-secret-Never-Shown'
CA_PASSPHRASE = 'ca-secret-Never-Shown'


def _ca_task(tmp_path, **extra):
    lines = ['    - name: ca', '      dcvkit.session_manager.ca:', '        path: %s' % (tmp_path / 'ca'),
             '        common_name: Playbook CA', '        key_type: ecdsa']
    lines += ['        %s: %s' % item for item in extra.items()]
    return '\n'.join(lines) + '\n'


def _cert_task(tmp_path, dns='server.example.internal', **extra):
    host = tmp_path / 'host'
    options = dict(ca_path=tmp_path / 'ca', certificate_path=host / 'dcv.pem', private_key_path=host / 'dcv.key',
                   ca_certificate_path=host / 'ca.pem', pkcs12_path=host / 'store.p12',
                   pkcs12_passphrase=PASSPHRASE, dns_names='[%s]' % dns, ip_addresses='[127.0.0.1]',
                   key_type='ecdsa', mode='"0640"')
    options.update(extra)
    lines = ['    - name: certificate', '      dcvkit.session_manager.certificate:']
    lines += ['        %s: %s' % item for item in options.items()]
    return '\n'.join(lines) + '\n'


@pytest.fixture
def host(tmp_path):
    (tmp_path / 'host').mkdir()
    return tmp_path / 'host'


def _results(pki, parsed):
    return dict((result.get('_ansible_no_log') and 'hidden' or name, result) for name, result in zip(
        ['ca', 'certificate', 'third'], pki.task_results(parsed)))


def test_issue_idempotence_check_mode_diff_and_name_change(pki, playbook, tmp_path, host):
    tasks = _ca_task(tmp_path) + _cert_task(tmp_path)

    rc, parsed, raw = playbook(tasks, check=True, diff=True)
    assert rc == 0, raw
    results = _results(pki, parsed)
    assert results['ca']['changed'] and results['ca']['reasons'] == ['missing']
    assert not (tmp_path / 'ca').exists()  # check mode: CA not created, so the certificate would come from it
    assert results['certificate']['changed'] and results['certificate']['reasons'] == ['ca_changed']
    assert 'does not exist yet' in results['certificate']['warnings'][0]
    assert os.listdir(str(host)) == []

    rc, parsed, raw = playbook(tasks, diff=True)
    assert rc == 0, raw
    cert = _results(pki, parsed)['certificate']
    assert cert['changed'] and cert['reasons'] == ['missing']
    assert set(cert['written']) == {'private_key_path', 'certificate_path', 'ca_certificate_path', 'pkcs12_path'}
    assert cert['dns_names'] == ['server.example.internal'] and cert['ip_addresses'] == ['127.0.0.1']
    assert cert['serial'] and cert['not_after'].endswith('Z') and len(cert['fingerprint_sha256']) == 95
    assert 'issuer: CN=Playbook CA' in cert['diff']['after']
    for forbidden in ('PRIVATE KEY', PASSPHRASE, 'CERTIFICATE REQUEST'):
        assert forbidden not in raw
    assert stat.S_IMODE(os.stat(str(host / 'dcv.key')).st_mode) == 0o640
    assert (host / 'dcv.key').read_text().startswith('-----BEGIN PRIVATE KEY-----')
    key = (host / 'dcv.key').read_bytes()

    rc, parsed, raw = playbook(tasks)
    assert rc == 0, raw
    assert parsed['stats']['testhost']['changed'] == 0
    assert _results(pki, parsed)['certificate']['serial'] == cert['serial']

    rc, parsed, raw = playbook(tasks, check=True)
    assert rc == 0 and parsed['stats']['testhost']['changed'] == 0, raw

    renamed = _ca_task(tmp_path) + _cert_task(tmp_path, dns='renamed.example.internal')
    rc, parsed, raw = playbook(renamed, check=True, diff=True)
    check = _results(pki, parsed)['certificate']
    assert rc == 0 and check['changed'] and check['reasons'] == ['names_changed'], raw
    assert '-dns_names: [\'server.example.internal\']' in raw or 'renamed.example.internal' in check['diff']['after']
    assert (host / 'dcv.key').read_bytes() == key
    rc, parsed, raw = playbook(renamed)
    result = _results(pki, parsed)['certificate']
    assert rc == 0 and result['reasons'] == ['names_changed'] and result['dns_names'] == ['renamed.example.internal']
    assert (host / 'dcv.key').read_bytes() == key  # same key, new certificate
    rc, parsed, raw = playbook(renamed)
    assert rc == 0 and parsed['stats']['testhost']['changed'] == 0, raw


def test_written_names_new_content_only_alike_in_check_mode_and_run(pki, playbook, tmp_path, host):
    """The roles restart a service only for what `written` names: never for an owner or mode fix alone."""
    tasks = _ca_task(tmp_path) + _cert_task(tmp_path)
    rc, parsed, raw = playbook(tasks)
    assert rc == 0, raw

    os.chmod(str(host / 'dcv.key'), 0o600)
    os.chmod(str(host / 'store.p12'), 0o644)
    for check in (True, False):
        rc, parsed, raw = playbook(tasks, check=check)
        cert = _results(pki, parsed)['certificate']
        assert rc == 0 and cert['changed'] and cert['reasons'] == [] and cert['written'] == [], (check, raw)
    assert stat.S_IMODE(os.stat(str(host / 'dcv.key')).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(str(host / 'store.p12')).st_mode) == 0o640

    (host / 'ca.pem').write_text('not the CA\n')
    for check in (True, False):
        rc, parsed, raw = playbook(tasks, check=check)
        cert = _results(pki, parsed)['certificate']
        assert rc == 0 and cert['reasons'] == [] and cert['written'] == ['ca_certificate_path'], (check, raw)

    rc, parsed, raw = playbook(_ca_task(tmp_path) + _cert_task(tmp_path, dns='renamed.example.internal'), check=True)
    cert = _results(pki, parsed)['certificate']
    assert rc == 0 and cert['reasons'] == ['names_changed'], raw
    assert cert['written'] == ['certificate_path', 'pkcs12_path']


@pytest.mark.parametrize('extra, option', [
    (dict(pkcs12_passphrase="''"), 'pkcs12_passphrase'),
    (dict(renew_before_days=400), 'renew_before_days'),
    (dict(ca_key_passphrase='wrong'), 'ca_key_passphrase'),
    (dict(ca_path='/nonexistent/ca'), 'ca_path'),
    (dict(dns_names="['*.example.internal']"), 'dns_names'),
    (dict(dns_names="['10.1.2.3']"), 'dns_names'),
    (dict(group='no-such-group-dcvkit'), 'group'),
    (dict(certificate_path='/nonexistent/dir/x.pem'), 'certificate_path'),
    (dict(_phase='install'), '_phase'),
])
def test_bad_input_fails_naming_the_option_and_writes_nothing(pki, playbook, tmp_path, host, extra, option):
    rc, parsed, raw = playbook(_ca_task(tmp_path, key_passphrase=CA_PASSPHRASE)
                               + _cert_task(tmp_path, **dict(dict(ca_key_passphrase=CA_PASSPHRASE), **extra)))
    results = _results(pki, parsed)
    assert rc != 0 and results['certificate'].get('failed'), raw
    assert option in results['certificate']['msg'], results['certificate']['msg']
    assert os.listdir(str(host)) == []
    assert CA_PASSPHRASE not in raw and PASSPHRASE not in raw


def test_ca_module_renews_with_the_same_key_and_issued_certificates_stay(pki, playbook, tmp_path, host):
    tasks = (_ca_task(tmp_path, key_passphrase=CA_PASSPHRASE, valid_days=100, renew_before_days=50)
             + _cert_task(tmp_path, ca_key_passphrase=CA_PASSPHRASE))
    rc, parsed, raw = playbook(tasks)
    assert rc == 0, raw
    ca_key = (tmp_path / 'ca' / 'ca.key').read_bytes()
    assert b'ENCRYPTED PRIVATE KEY' in ca_key
    assert stat.S_IMODE(os.stat(str(tmp_path / 'ca' / 'ca.key')).st_mode) == 0o600
    first = _results(pki, parsed)

    rc, parsed, raw = playbook(tasks)
    assert rc == 0 and parsed['stats']['testhost']['changed'] == 0, raw

    # renew_before_days longer than the remaining validity: the CA renews itself, keeping key and subject.
    renew = _ca_task(tmp_path, key_passphrase=CA_PASSPHRASE, renew_before_days=400, valid_days=3650)
    rc, parsed, raw = playbook(renew + _cert_task(tmp_path, ca_key_passphrase=CA_PASSPHRASE))
    assert rc == 0, raw
    second = _results(pki, parsed)
    assert second['ca']['reasons'] == ['expiring'] and second['ca']['serial'] != first['ca']['serial']
    assert (tmp_path / 'ca' / 'ca.key').read_bytes() == ca_key
    # Same leaf; the CA file and the store (which carries the CA certificate) follow the renewed CA.
    assert second['certificate']['reasons'] == []
    assert second['certificate']['written'] == ['ca_certificate_path', 'pkcs12_path']
    assert second['certificate']['serial'] == first['certificate']['serial']

    rc, parsed, raw = playbook(_ca_task(tmp_path, key_passphrase="wrong-one"))
    assert rc != 0 and 'key_passphrase' in _results(pki, parsed)['ca']['msg']
    assert CA_PASSPHRASE not in raw


def test_ca_module_refuses_a_certificate_without_its_key(pki, playbook, tmp_path):
    rc, parsed, raw = playbook(_ca_task(tmp_path))
    assert rc == 0, raw
    os.unlink(str(tmp_path / 'ca' / 'ca.key'))
    rc, parsed, raw = playbook(_ca_task(tmp_path))
    assert rc != 0 and 'refusing to replace' in _results(pki, parsed)['ca']['msg']


def test_rsa_ca_and_key_defaults(pki, playbook, tmp_path, host):
    tasks = ('    - dcvkit.session_manager.ca:\n        path: %s\n' % (tmp_path / 'ca')
             + '    - dcvkit.session_manager.certificate:\n        ca_path: %s\n        certificate_path: %s\n'
               '        private_key_path: %s\n        dns_names: [gw.example.internal]\n'
             % (tmp_path / 'ca', host / 'gw.pem', host / 'gw.key'))
    rc, parsed, raw = playbook(tasks)
    assert rc == 0, raw
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    assert load_pem_private_key((host / 'gw.key').read_bytes(), None).key_size == 3072
    assert load_pem_private_key((tmp_path / 'ca' / 'ca.key').read_bytes(), None).key_size == 3072
    rc, parsed, raw = playbook(tasks)
    assert rc == 0 and parsed['stats']['testhost']['changed'] == 0, raw


def test_ca_short_validity_without_renew_window_and_bad_window(pki, playbook, tmp_path):
    rc, parsed, raw = playbook(_ca_task(tmp_path, valid_days=200))
    assert rc == 0 and _results(pki, parsed)['ca']['reasons'] == ['missing'], raw
    rc, parsed, raw = playbook(_ca_task(tmp_path, valid_days=200))
    assert rc == 0 and parsed['stats']['testhost']['changed'] == 0, raw
    rc, parsed, raw = playbook(_ca_task(tmp_path, valid_days=200, renew_before_days=200))
    assert rc != 0 and _results(pki, parsed)['ca']['msg'].startswith('renew_before_days:'), raw
