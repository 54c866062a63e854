# -*- coding: utf-8 -*-
# Copyright (c) dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host side of dcvkit.session_manager.certificate: keys, CSRs, and the files a service reads.

Runs on the targets with their distribution's cryptography (3.4.8 on Ubuntu 22.04 and newer).
Private keys are created here and never returned; only public keys, CSRs and certificates leave the host.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.dcvkit.session_manager.plugins.module_utils import pki_files, pki_x509
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_names import check_mode_string

try:
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID
except ImportError:  # reported through pki_x509.cryptography_problem()
    pass

DESTINATIONS = ('private_key_path', 'certificate_path', 'ca_certificate_path', 'pkcs12_path')

# PKCS#12 protection.  Java 11.0.12+ and 17 read PBES2 (PBKDF2-HMAC-SHA256 + AES-256-CBC) bags and an
# HMAC-SHA256 MAC (JDK-8153005); that is also what their own keytool writes by default.  10x Java's own
# 10000 PBKDF2 rounds, far below the 5000000 iteration ceiling the JDK enforces when loading.
PKCS12_KDF_ROUNDS = 100000
PKCS12_MODERN = 'PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for key and certificates, MAC HMAC-SHA256'
PKCS12_LEGACY = ('pbeWithSHA1And3-KeyTripleDES-CBC (20000 rounds) for key and certificates, MAC HMAC-SHA1 '
                 '(1 iteration): cryptography < 38 BestAvailableEncryption; every Java version reads it')


def pkcs12_encryption(passphrase, legacy=False):
    """Return (encryption, description) for a PKCS#12 store; legacy=True forces the pre-38 behaviour (tests)."""
    secret = passphrase.encode('utf-8')
    if not legacy and hasattr(serialization.PrivateFormat, 'PKCS12'):
        try:
            encryption = (serialization.PrivateFormat.PKCS12.encryption_builder()
                          .kdf_rounds(PKCS12_KDF_ROUNDS)
                          .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
                          .hmac_hash(hashes.SHA256())
                          .build(secret))
            return encryption, PKCS12_MODERN
        except (UnsupportedAlgorithm, AttributeError, ValueError):
            pass
    return serialization.BestAvailableEncryption(secret), PKCS12_LEGACY


def build_pkcs12(key, cert, ca_certs, passphrase, friendly_name, legacy=False):
    encryption, description = pkcs12_encryption(passphrase, legacy=legacy)
    data = pkcs12.serialize_key_and_certificates(
        friendly_name.encode('utf-8'), key, cert, ca_certs or None, encryption)
    return data, description


def pkcs12_matches(data, passphrase, key, cert, ca_certs):
    """True when the store opens with the passphrase and holds exactly this key, certificate and CA."""
    try:
        stored_key, stored_cert, stored_cas = pkcs12.load_key_and_certificates(data, passphrase.encode('utf-8'))
    except Exception:  # wrong passphrase, corrupt file, unsupported algorithm: all mean "rewrite it"
        return False
    if stored_key is None or stored_cert is None or stored_cert != cert:
        return False
    if not pki_x509.public_keys_equal(stored_key, key):
        return False
    return sorted(c.fingerprint(hashes.SHA256()) for c in (stored_cas or [])) == sorted(
        c.fingerprint(hashes.SHA256()) for c in ca_certs)


def _load_private_key(data):
    try:
        return pki_x509.load_private_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None


def build_csr(key, common_name):
    """The CSR only proves possession of the key; the controller takes names from the inventory, not the CSR."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode('ascii')


class HostFiles(object):
    """The destinations of one certificate task on one host."""

    def __init__(self, params, check_mode=False):
        """In check mode a missing directory, user or group is only a warning: the package or role task
        before this one would have created it.  Otherwise it fails before anything is written."""
        self.params = params
        self.warnings = []
        self.key_mode = check_mode_string(params.get('mode'), 'mode')
        self.cert_mode = check_mode_string(params.get('certificate_mode'), 'certificate_mode')
        try:
            self.uid, self.gid = pki_files.resolve_owner(params.get('owner'), params.get('group'))
        except pki_files.NotYetThere as exc:
            if not check_mode:
                raise
            self.warnings.append('%s (check mode: assuming an earlier task creates it)' % exc)
            self.uid, self.gid = -1, -1
        for option in DESTINATIONS:
            try:
                pki_files.check_destination(params.get(option), option)
            except pki_files.NotYetThere as exc:
                if not check_mode:
                    raise
                self.warnings.append('%s (check mode: assuming an earlier task creates it)' % exc)

    def mode_for(self, option):
        return self.key_mode if option in ('private_key_path', 'pkcs12_path') else self.cert_mode

    def attributes_out_of_sync(self):
        return [option for option in DESTINATIONS
                if self.params.get(option) and pki_files.attributes_differ(
                    self.params[option], self.uid, self.gid, self.mode_for(option))]

    def write(self, option, data):
        pki_files.write_atomically(self.params[option], data, self.uid, self.gid, self.mode_for(option))

    def fix_attributes(self, option):
        pki_files.fix_attributes(self.params[option], self.uid, self.gid, self.mode_for(option))


def inspect(params, ca_certificate_pem, check_mode):
    """Phase 1: keep or create the key, report the current state, hand back a CSR.

    Writes only a new private key (never in check mode).  Raises PkiInputError before writing anything.
    """
    files = HostFiles(params, check_mode)
    result = dict(changed=False, key={}, certificate={}, csr=None, warnings=files.warnings)
    key_path = params['private_key_path']
    key_type, key_size = params.get('key_type') or 'rsa', params.get('key_size')

    data, problem = pki_files.read_bytes(key_path)
    key = _load_private_key(data) if data is not None else None
    if data is not None and key is None:
        problem = 'unreadable: not an unencrypted PEM private key'
    elif key is not None and not pki_x509.key_matches_type(key, key_type, key_size if key_type == 'rsa' else None):
        problem = 'wrong_type: existing key is not %s' % (key_type if key_type == 'ecdsa' else 'RSA %s' % key_size)
        key = None
    result['key']['problem'] = problem
    if key is None:
        if check_mode:
            result['key']['state'] = 'would_generate'
        else:
            key = pki_x509.generate_key(key_type, key_size)
            files.write('private_key_path', pki_x509.private_key_pkcs8_pem(key))
            result['key']['state'] = 'generated'
            result['changed'] = True
    else:
        result['key']['state'] = 'kept'
    if key is not None:
        result['key']['public_key_pem'] = pki_x509.public_key_pem(key)
        result['csr'] = build_csr(key, params['common_name'])

    cert = None
    data, problem = pki_files.read_bytes(params['certificate_path'])
    if data is not None:
        try:
            cert = pki_x509.load_certificate(data)
        except ValueError:
            problem = 'unreadable: not a PEM certificate'
    result['certificate'] = dict(problem=problem)
    if cert is not None:
        result['certificate']['pem'] = pki_x509.certificate_pem(cert)
        result['certificate']['facts'] = pki_x509.certificate_facts(cert)

    result['ca_certificate_in_sync'] = True
    if params.get('ca_certificate_path'):
        data, problem = pki_files.read_bytes(params['ca_certificate_path'])
        result['ca_certificate_in_sync'] = data is not None and data == ca_certificate_pem.encode('ascii')

    result['pkcs12_in_sync'] = True
    if params.get('pkcs12_path'):
        data, problem = pki_files.read_bytes(params['pkcs12_path'])
        ca_certs = [pki_x509.load_certificate(ca_certificate_pem.encode('ascii'))]
        result['pkcs12_in_sync'] = (data is not None and cert is not None and key is not None
                                    and pkcs12_matches(data, params['pkcs12_passphrase'], key, cert, ca_certs))

    result['attributes_out_of_sync'] = files.attributes_out_of_sync()
    return result


def install(params, certificate_pem, ca_certificate_pem):
    """Phase 2: write certificate, CA certificate and PKCS#12 store where they differ; fix owner/group/mode."""
    files = HostFiles(params)
    written, fixed = [], []
    data, problem = pki_files.read_bytes(params['private_key_path'])
    key = _load_private_key(data) if data is not None else None
    cert = pki_x509.load_certificate(certificate_pem.encode('ascii'))
    if key is None or not pki_x509.public_keys_equal(key, cert.public_key()):
        # The key changed between the phases (another run?): refuse rather than install a mismatching pair.
        raise RuntimeError('private_key_path %s no longer matches the signed certificate; run again'
                           % params['private_key_path'])

    desired = [('certificate_path', certificate_pem.encode('ascii'))]
    if params.get('ca_certificate_path'):
        desired.append(('ca_certificate_path', ca_certificate_pem.encode('ascii')))
    for option, content in desired:
        current, problem = pki_files.read_bytes(params[option])
        if current != content:
            files.write(option, content)
            written.append(option)

    pkcs12_description = None
    if params.get('pkcs12_path'):
        ca_certs = [pki_x509.load_certificate(ca_certificate_pem.encode('ascii'))]
        current, problem = pki_files.read_bytes(params['pkcs12_path'])
        if current is None or not pkcs12_matches(
                current, params['pkcs12_passphrase'], key, cert, ca_certs):
            store, pkcs12_description = build_pkcs12(key, cert, ca_certs, params['pkcs12_passphrase'],
                                                     params['common_name'])
            files.write('pkcs12_path', store)
            written.append('pkcs12_path')

    for option in files.attributes_out_of_sync():
        files.fix_attributes(option)
        fixed.append(option)
    return dict(changed=bool(written or fixed), written=written, attributes_fixed=fixed,
                pkcs12_encryption=pkcs12_description)
