"""Every reissue reason, idempotence, check mode and the files kept in sync without a reissue (module_utils level,
driven exactly like the action plugin drives the two phases)."""

import datetime
import os
import stat

import pytest

from ansible_collections.dcvkit.session_manager.plugins.module_utils import pki_ca, pki_x509
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_host import pkcs12_matches


def _read(path):
    with open(path, 'rb') as handle:
        return handle.read()


def _cert(path):
    return pki_x509.load_certificate(_read(path))


def test_first_issue_then_nothing_changes(pki, issuer, host_dir):
    params = pki.host_params(host_dir, ca_certificate_path=os.path.join(host_dir, 'ca.pem'))
    first = issuer.run(params)
    assert first['reasons'] == ['missing'] and first['changed']
    assert first['installed']['written'] == ['certificate_path', 'ca_certificate_path']
    key_before, cert_before = _read(params['private_key_path']), _read(params['certificate_path'])
    assert key_before.startswith(b'-----BEGIN PRIVATE KEY-----')  # PKCS#8
    assert stat.S_IMODE(os.stat(params['private_key_path']).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(params['certificate_path']).st_mode) == 0o644
    second = issuer.run(params)
    assert second['reasons'] == [] and not second['changed'] and second['installed'] is None
    assert _read(params['private_key_path']) == key_before and _read(params['certificate_path']) == cert_before


def test_missing_in_check_mode_writes_nothing_not_even_the_key(pki, issuer, host_dir):
    result = issuer.run(pki.host_params(host_dir), check_mode=True)
    assert result['reasons'] == ['missing'] and result['changed']
    assert result['state']['key']['state'] == 'would_generate' and result['state']['csr'] is None
    assert os.listdir(host_dir) == []


def test_unreadable_certificate(pki, issuer, host_dir):
    params = pki.host_params(host_dir)
    issuer.run(params)
    key = _read(params['private_key_path'])
    with open(params['certificate_path'], 'w') as handle:
        handle.write('not a certificate\n')
    assert issuer.run(params, check_mode=True)['reasons'] == ['unreadable']
    assert issuer.run(params)['reasons'] == ['unreadable']
    assert _read(params['private_key_path']) == key  # a broken certificate does not cost the key
    assert issuer.run(params)['reasons'] == []


@pytest.mark.parametrize('change', [
    dict(dns_names=['server.example.internal', 'alias.example.internal']),
    dict(dns_names=['other.example.internal']),
    dict(ip_addresses=['127.0.0.2']),
    dict(ip_addresses=[]),
    dict(common_name='alias.example.internal'),
])
def test_names_changed(pki, issuer, host_dir, change):
    params = pki.host_params(host_dir)
    issuer.run(params)
    key = _read(params['private_key_path'])
    changed = dict(params, **change)
    assert issuer.run(changed, check_mode=True)['reasons'] == ['names_changed']
    result = issuer.run(changed)
    assert result['reasons'] == ['names_changed']
    facts = pki_x509.certificate_facts(_cert(params['certificate_path']))
    request_ips = changed['ip_addresses']
    assert sorted(facts['dns_names']) == sorted(changed['dns_names']) and facts['ip_addresses'] == request_ips
    assert _read(params['private_key_path']) == key  # same key, new certificate
    assert issuer.run(changed)['reasons'] == []


def test_order_and_case_of_names_is_not_a_change(pki, issuer, host_dir):
    params = pki.host_params(host_dir, dns_names=['a.example.internal', 'b.example.internal'])
    issuer.run(params)
    assert issuer.run(dict(params, dns_names=['B.example.internal', 'a.example.internal'],
                           common_name='a.example.internal'))['reasons'] == []


def test_usage_changed(pki, issuer, host_dir):
    params = pki.host_params(host_dir)
    issuer.run(params)
    assert issuer.run(dict(params, extended_key_usage=['serverAuth', 'clientAuth']))['reasons'] == ['usage_changed']


def test_ca_changed(pki, issuer, host_dir, tmp_path):
    params = pki.host_params(host_dir, ca_certificate_path=os.path.join(host_dir, 'ca.pem'))
    issuer.run(params)
    other = str(tmp_path / 'other-ca')
    pki.make_ca(other, common_name='Another CA')
    result = pki.Issuer(other).run(params)
    assert result['reasons'] == ['ca_changed']
    assert _cert(params['certificate_path']).issuer.rfc4514_string() == 'CN=Another CA'
    assert _read(params['ca_certificate_path']) == _read(os.path.join(other, 'ca.pem'))


def test_same_subject_other_key_is_ca_changed(pki, issuer, host_dir, ca_dir):
    params = pki.host_params(host_dir)
    issuer.run(params)
    pki.make_ca(ca_dir, common_name='Test CA')  # same name, new key: old certificates no longer verify
    assert issuer.run(params)['reasons'] == ['ca_changed']


def test_ca_renewed_with_same_key_keeps_certificates_and_refreshes_ca_file(pki, issuer, host_dir, ca_dir):
    params = pki.host_params(host_dir, ca_certificate_path=os.path.join(host_dir, 'ca.pem'))
    issuer.run(params)
    serial = _cert(params['certificate_path']).serial_number
    key = pki_ca.load_ca(ca_dir).key
    pki.make_ca(ca_dir, common_name='Test CA', key=key)  # what the ca module does on renewal
    result = issuer.run(params)
    assert result['reasons'] == [] and result['installed']['written'] == ['ca_certificate_path']
    assert _cert(params['certificate_path']).serial_number == serial


def test_expiring(pki, issuer, host_dir):
    params = pki.host_params(host_dir, valid_days=60, renew_before_days=30)
    issuer.run(params)
    now = pki_x509.utcnow()
    assert issuer.run(params, now=now + datetime.timedelta(days=29))['reasons'] == []
    assert issuer.run(params, check_mode=True, now=now + datetime.timedelta(days=31))['reasons'] == ['expiring']
    serial = _cert(params['certificate_path']).serial_number
    assert issuer.run(params, now=now + datetime.timedelta(days=31))['reasons'] == ['expiring']
    assert _cert(params['certificate_path']).serial_number != serial


def test_key_replaced(pki, issuer, host_dir):
    params = pki.host_params(host_dir)
    issuer.run(params)
    with open(params['private_key_path'], 'wb') as handle:
        handle.write(pki_x509.private_key_pkcs8_pem(pki_x509.generate_key('ecdsa')))
    assert issuer.run(params)['reasons'] == ['key_changed']
    cert = _cert(params['certificate_path'])
    assert pki_x509.public_key_pem(cert.public_key()) == issuer.run(params)['state']['key']['public_key_pem']


@pytest.mark.parametrize('damage', ['delete', 'garbage', 'other_type'])
def test_key_missing_unreadable_or_wrong_type_is_regenerated(pki, issuer, host_dir, damage):
    params = pki.host_params(host_dir)
    issuer.run(params)
    old_key = _read(params['private_key_path'])
    if damage == 'delete':
        os.unlink(params['private_key_path'])
    elif damage == 'garbage':
        with open(params['private_key_path'], 'w') as handle:
            handle.write('garbage')
    else:
        params = dict(params, key_type='rsa', key_size=2048)
    check = issuer.run(params, check_mode=True)
    assert check['reasons'] == ['key_changed'] and check['state']['key']['state'] == 'would_generate'
    result = issuer.run(params)
    assert result['reasons'] == ['key_changed'] and result['state']['key']['state'] == 'generated'
    assert _read(params['private_key_path']) != old_key
    assert issuer.run(params)['reasons'] == []


def test_force_reissues_for_the_same_key(pki, issuer, host_dir):
    params = pki.host_params(host_dir)
    issuer.run(params)
    key, serial = _read(params['private_key_path']), _cert(params['certificate_path']).serial_number
    assert issuer.run(dict(params, force=True))['reasons'] == ['force']
    assert _read(params['private_key_path']) == key
    assert _cert(params['certificate_path']).serial_number != serial


def test_several_reasons_are_all_reported(pki, issuer, host_dir, tmp_path):
    params = pki.host_params(host_dir)
    issuer.run(params)
    other = str(tmp_path / 'other')
    pki.make_ca(other)
    reasons = pki.Issuer(other).run(dict(params, dns_names=['x.example.internal'], force=True))['reasons']
    assert reasons == ['force', 'ca_changed', 'names_changed']


def test_attributes_fixed_without_reissue(pki, issuer, host_dir):
    params = pki.host_params(host_dir)
    issuer.run(params)
    serial = _cert(params['certificate_path']).serial_number
    os.chmod(params['private_key_path'], 0o644)
    check = issuer.run(params, check_mode=True)
    assert check['changed'] and check['reasons'] == []
    assert stat.S_IMODE(os.stat(params['private_key_path']).st_mode) == 0o644
    result = issuer.run(params)
    assert result['reasons'] == [] and result['installed']['attributes_fixed'] == ['private_key_path']
    assert stat.S_IMODE(os.stat(params['private_key_path']).st_mode) == 0o600
    assert _cert(params['certificate_path']).serial_number == serial


def test_pkcs12_written_kept_and_rewritten_on_passphrase_change(pki, issuer, host_dir, ca_dir):
    params = pki.host_params(host_dir, pkcs12_path=os.path.join(host_dir, 'broker.p12'),
                             pkcs12_passphrase='first-passphrase', mode='0640')
    first = issuer.run(params)
    assert 'pkcs12_path' in first['installed']['written']
    assert stat.S_IMODE(os.stat(params['pkcs12_path']).st_mode) == 0o640
    assert issuer.run(params)['changed'] is False
    changed = dict(params, pkcs12_passphrase='second-passphrase')
    result = issuer.run(changed)
    assert result['reasons'] == [] and result['installed']['written'] == ['pkcs12_path']
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    private_key = load_pem_private_key(_read(params['private_key_path']), None)
    ca = pki_ca.load_ca(ca_dir).certificate
    assert pkcs12_matches(_read(params['pkcs12_path']), 'second-passphrase', private_key,
                          _cert(params['certificate_path']), [ca])
    assert not pkcs12_matches(_read(params['pkcs12_path']), 'first-passphrase', private_key,
                              _cert(params['certificate_path']), [ca])


def test_new_certificate_never_outlives_the_ca(pki, tmp_path, host_dir):
    short_ca = str(tmp_path / 'short')
    pki.make_ca(short_ca, valid_days=100)
    pki.Issuer(short_ca).run(pki.host_params(host_dir, valid_days=397))
    ca_cert = pki_ca.load_ca(short_ca).certificate
    assert pki_x509.not_valid_after(_cert(os.path.join(host_dir, 'server.pem'))) <= pki_x509.not_valid_after(ca_cert)


def test_names_come_from_the_inventory_not_from_the_csr(pki, issuer, host_dir, ca_dir):
    # A tampered CSR (other CN) must not change what is issued: the CA takes names from the task only.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID
    key = pki_x509.generate_key('ecdsa')
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'evil.example.com')]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName('evil.example.com')]), critical=False)
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
    import ipaddress
    ca = pki_ca.load_ca(ca_dir)
    cert = ca.sign_csr(csr, 'good.example.internal', ['good.example.internal'],
                       [ipaddress.ip_address('10.0.0.1')], ['serverAuth'], 30)
    facts = pki_x509.certificate_facts(cert)
    assert facts['dns_names'] == ['good.example.internal'] and facts['common_name'] == 'good.example.internal'
