"""The ca module never replaces a CA as a side effect: a CA certificate or key that no longer parses, or a key that does
not match its certificate, is refused naming the file and the ways out (a backup, or rotate=true); rotate=true makes
a new CA on purpose and keeps the old files."""

import os

import pytest

from ansible_collections.dcvkit.session_manager.plugins.module_utils import pki_ca, pki_x509
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_names import PkiInputError
from ansible_collections.dcvkit.session_manager.plugins.modules import ca as ca_module


def params(path, **overrides):
    values = dict(path=path, common_name='Test CA', valid_days=3650, renew_before_days=400, key_type='ecdsa',
                  key_passphrase=None, force=False, rotate=False)
    values.update(overrides)
    return values


def plan(path, check_mode=False, **overrides):
    warnings = []
    return ca_module.plan(params(path, **overrides), check_mode, warnings.append)


def snapshot(path):
    return dict((name, open(os.path.join(path, name), 'rb').read()) for name in sorted(os.listdir(path))
                if os.path.isfile(os.path.join(path, name)))


def truncate(path):
    data = open(path, 'rb').read()
    with open(path, 'wb') as handle:
        handle.write(data[:len(data) // 2])


def hand_edit(path):
    data = bytearray(open(path, 'rb').read())
    middle = len(data) // 2
    data[middle:middle + 8] = b'!edited!'
    with open(path, 'wb') as handle:
        handle.write(bytes(data))


@pytest.mark.parametrize('damage', [truncate, hand_edit], ids=['truncated', 'hand-edited'])
@pytest.mark.parametrize('check_mode', [False, True], ids=['run', 'check'])
def test_a_ca_certificate_that_no_longer_parses_is_refused(pki, ca_dir, damage, check_mode):
    cert_path, _key_path = pki_ca.ca_file_paths(ca_dir)
    damage(cert_path)
    before = snapshot(ca_dir)
    with pytest.raises(PkiInputError) as caught:
        plan(ca_dir, check_mode)
    message = str(caught.value)
    assert message.startswith('path: the CA certificate %s no longer parses as a PEM certificate' % cert_path)
    assert 'restore %s from a backup' % cert_path in message
    assert 'rotate=true (dcv_ca_rotate: true in the roles, for one run)' in message
    assert snapshot(ca_dir) == before


@pytest.mark.parametrize('damage', [truncate, hand_edit], ids=['truncated', 'hand-edited'])
def test_a_ca_key_that_no_longer_parses_is_refused(pki, ca_dir, damage):
    _cert_path, key_path = pki_ca.ca_file_paths(ca_dir)
    damage(key_path)
    before = snapshot(ca_dir)
    with pytest.raises(PkiInputError) as caught:
        plan(ca_dir)
    message = str(caught.value)
    assert message.startswith('path: the CA key %s no longer parses as a PEM private key' % key_path), message
    assert 'restore %s from a backup' % key_path in message and 'dcv_ca_rotate: true' in message
    assert snapshot(ca_dir) == before


def test_a_ca_key_that_does_not_match_its_certificate_is_refused(pki, ca_dir, tmp_path):
    other = str(tmp_path / 'other')
    pki.make_ca(other)
    cert_path, key_path = pki_ca.ca_file_paths(ca_dir)
    os.replace(pki_ca.ca_file_paths(other)[1], key_path)
    with pytest.raises(PkiInputError) as caught:
        plan(ca_dir)
    message = str(caught.value)
    assert message.startswith('path: the CA key %s does not match the CA certificate %s' % (key_path, cert_path))
    assert 'restore %s and %s from a backup' % (cert_path, key_path) in message and 'dcv_ca_rotate' in message


def test_a_certificate_without_its_key_names_both_ways_out(pki, ca_dir):
    cert_path, key_path = pki_ca.ca_file_paths(ca_dir)
    os.unlink(key_path)
    with pytest.raises(PkiInputError) as caught:
        plan(ca_dir)
    assert 'exists without its key %s; refusing to replace the CA' % key_path in str(caught.value)
    assert 'restore %s from a backup' % key_path in str(caught.value)


def test_a_wrong_passphrase_is_still_a_passphrase_problem(pki, tmp_path):
    path = str(tmp_path / 'ca')
    pki.make_ca(path, passphrase='right')
    with pytest.raises(PkiInputError) as caught:
        plan(path, key_passphrase='wrong')
    assert caught.value.option == 'key_passphrase' and 'rotate' not in str(caught.value)


def test_a_healthy_ca_is_kept(pki, ca_dir):
    assert plan(ca_dir)[0] == []


@pytest.mark.parametrize('damage', [None, truncate], ids=['healthy', 'truncated'])
def test_rotate_makes_a_new_ca_on_purpose_and_keeps_the_old_files(pki, playbook, tmp_path, damage):
    ca_dir = str(tmp_path / 'ca')
    pki.make_ca(ca_dir)
    cert_path, key_path = pki_ca.ca_file_paths(ca_dir)
    if damage:
        damage(cert_path)
    old = snapshot(ca_dir)
    task = ('    - name: ca\n      dcvkit.session_manager.ca:\n        path: %s\n        common_name: Test CA\n'
            '        key_type: ecdsa\n        rotate: true\n' % ca_dir)

    rc, parsed, raw = playbook(task, check=True)
    assert rc == 0, raw
    result = pki.task_results(parsed)[0]
    assert result['changed'] and result['reasons'] == ['rotate'] and result['replaced'] == []
    assert snapshot(ca_dir) == old

    rc, parsed, raw = playbook(task)
    assert rc == 0, raw
    result = pki.task_results(parsed)[0]
    assert result['changed'] and result['reasons'] == ['rotate']
    kept = result['replaced']
    assert [os.path.basename(p).split('.replaced-')[0] for p in kept] == ['ca.pem', 'ca.key']
    assert open(kept[0], 'rb').read() == old['ca.pem'] and open(kept[1], 'rb').read() == old['ca.key']
    assert oct(os.stat(kept[1]).st_mode & 0o777) == oct(0o600)
    new_key = pki_x509.load_private_key(open(key_path, 'rb').read())
    assert open(key_path, 'rb').read() != old['ca.key']
    new_ca = pki_ca.load_ca(ca_dir)
    assert pki_x509.public_keys_equal(new_key, new_ca.certificate.public_key())


def test_the_refusal_reaches_the_playbook_output_naming_the_file(pki, playbook, tmp_path):
    ca_dir = str(tmp_path / 'ca')
    pki.make_ca(ca_dir)
    cert_path = pki_ca.ca_file_paths(ca_dir)[0]
    truncate(cert_path)
    rc, parsed, raw = playbook('    - name: ca\n      dcvkit.session_manager.ca:\n        path: %s\n'
                               '        key_type: ecdsa\n' % ca_dir)
    assert rc != 0
    result = pki.task_results(parsed)[0]
    assert result['failed'] and result['option'] == 'path'
    assert result['msg'].startswith('path: the CA certificate %s no longer parses' % cert_path)
