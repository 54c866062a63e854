# -*- coding: utf-8 -*-
# Copyright (c) dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's certificate authority: a directory on the control node holding ca.pem and ca.key (0600).

Used by the ca module (create, renew) and by the certificate action plugin (load, sign).
Works with cryptography 3.4 and newer, because a delegated task may run under the system Python.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import os

from ansible_collections.dcvkit.session_manager.plugins.module_utils import pki_x509
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_names import PkiInputError

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.x509.oid import NameOID
except ImportError:  # reported through pki_x509.cryptography_problem()
    pass

CA_CERTIFICATE_FILE = 'ca.pem'
CA_KEY_FILE = 'ca.key'
# Certificates start 5 minutes in the past so a host whose clock lags a little accepts them at once.
BACKDATE = datetime.timedelta(minutes=5)
RSA_CA_KEY_SIZE = 3072


class CertificateAuthority(object):
    def __init__(self, path, certificate, key):
        self.path = path
        self.certificate = certificate
        self.key = key

    @property
    def certificate_pem(self):
        return pki_x509.certificate_pem(self.certificate)

    def sign_csr(self, csr_pem, common_name, dns_names, ip_addresses, usages, valid_days):
        """Issue a leaf certificate for the CSR's key; names come from the caller (the inventory), not the CSR."""
        csr = x509.load_pem_x509_csr(csr_pem.encode('ascii'))
        if not csr.is_signature_valid:
            raise ValueError('the CSR from the host has an invalid signature')
        public_key = csr.public_key()
        now = pki_x509.utcnow()
        not_after = min(now + datetime.timedelta(days=valid_days), pki_x509.not_valid_after(self.certificate))
        alt_names = [x509.DNSName(name) for name in dns_names] + [x509.IPAddress(ip) for ip in ip_addresses]
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
                   .issuer_name(self.certificate.subject)
                   .public_key(public_key)
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - BACKDATE)
                   .not_valid_after(not_after)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(_leaf_key_usage(public_key), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([pki_x509.USAGE_OIDS[u] for u in usages]), critical=False)
                   .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
                   .add_extension(_authority_key_identifier(self.certificate), critical=False))
        return builder.sign(self.key, hashes.SHA256())

    def issued(self, cert):
        """True when cert was signed by this CA's key under this CA's subject."""
        if cert.issuer != self.certificate.subject:
            return False
        return signature_verifies(self.certificate.public_key(), cert)


def signature_verifies(issuer_public_key, cert):
    try:
        if isinstance(issuer_public_key, rsa.RSAPublicKey):
            issuer_public_key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                                     cert.signature_hash_algorithm)
        elif isinstance(issuer_public_key, ec.EllipticCurvePublicKey):
            issuer_public_key.verify(cert.signature, cert.tbs_certificate_bytes,
                                     ec.ECDSA(cert.signature_hash_algorithm))
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return False
    return True


def _leaf_key_usage(public_key):
    # RSA keys may be used for key transport (TLS 1.2 RSA kex in old clients); EC keys only sign.
    encipher = isinstance(public_key, rsa.RSAPublicKey)
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=encipher,
                         data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                         encipher_only=False, decipher_only=False)


def _authority_key_identifier(ca_certificate):
    try:
        ski = ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_certificate.public_key())


def build_ca_certificate(key, common_name, valid_days, serial=None):
    """Self-signed CA certificate; a renewal with the same key and name keeps issued certificates valid."""
    now = pki_x509.utcnow()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    public_key = key.public_key()
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(subject)
               .public_key(public_key)
               .serial_number(serial or x509.random_serial_number())
               .not_valid_before(now - BACKDATE)
               .not_valid_after(now + datetime.timedelta(days=valid_days))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    return builder.sign(key, hashes.SHA256())


def ca_file_paths(path):
    return os.path.join(path, CA_CERTIFICATE_FILE), os.path.join(path, CA_KEY_FILE)


def load_ca(path, passphrase=None, path_option='ca_path', passphrase_option='ca_key_passphrase'):
    """Load and check the CA directory; every problem names the option to fix."""
    if not path or not os.path.isdir(path):
        raise PkiInputError(path_option, 'CA directory %s does not exist (create it with dcvkit.session_manager.ca)'
                            % path)
    cert_path, key_path = ca_file_paths(path)
    for file_path in (cert_path, key_path):
        if not os.path.isfile(file_path):
            raise PkiInputError(path_option, '%s is missing from the CA directory' % file_path)
    try:
        with open(cert_path, 'rb') as handle:
            certificate = pki_x509.load_certificate(handle.read())
    except (IOError, OSError, ValueError) as exc:
        raise PkiInputError(path_option, 'cannot read CA certificate %s: %s' % (cert_path, exc))
    key = load_ca_key(key_path, passphrase, passphrase_option)
    if not pki_x509.public_keys_equal(key, certificate.public_key()):
        raise PkiInputError(path_option, 'the key %s does not match the certificate %s' % (key_path, cert_path))
    return CertificateAuthority(path, certificate, key)


def load_ca_key(key_path, passphrase, passphrase_option):
    try:
        with open(key_path, 'rb') as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        raise PkiInputError(passphrase_option.replace('key_passphrase', 'path'), 'cannot read %s: %s'
                            % (key_path, exc))
    encrypted = b'ENCRYPTED' in data.split(b'\n', 1)[0]
    if encrypted and not passphrase:
        raise PkiInputError(passphrase_option, 'the CA key %s is encrypted; give its passphrase' % key_path)
    try:
        return pki_x509.load_private_key(data, passphrase.encode('utf-8') if (passphrase and encrypted) else None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        if encrypted:
            raise PkiInputError(passphrase_option, 'wrong passphrase for the CA key %s' % key_path)
        raise PkiInputError(passphrase_option.replace('key_passphrase', 'path'),
                            '%s is not a readable PEM private key' % key_path)
