# -*- coding: utf-8 -*-
# Copyright (c) dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small cryptography helpers that work from cryptography 3.4.8 (Ubuntu 22.04) up to current releases."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii
import datetime

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    import cryptography
    CRYPTOGRAPHY_VERSION = tuple(int(part) for part in cryptography.__version__.split('.')[:2])
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # reported by the caller with fail_json
    CRYPTOGRAPHY_VERSION = (0, 0)
    CRYPTOGRAPHY_IMPORT_ERROR = exc

MINIMUM_CRYPTOGRAPHY = (3, 4)
USAGE_OIDS = {}
if CRYPTOGRAPHY_IMPORT_ERROR is None:
    USAGE_OIDS = {'serverAuth': ExtendedKeyUsageOID.SERVER_AUTH, 'clientAuth': ExtendedKeyUsageOID.CLIENT_AUTH}
USAGE_NAMES = dict((oid.dotted_string, name) for name, oid in USAGE_OIDS.items())


def cryptography_problem():
    """Return a message when cryptography is missing or too old on this Python, else None."""
    if CRYPTOGRAPHY_IMPORT_ERROR is not None:
        return 'the Python library "cryptography" (3.4 or newer) is not installed for this interpreter: %s' % (
            CRYPTOGRAPHY_IMPORT_ERROR)
    if CRYPTOGRAPHY_VERSION < MINIMUM_CRYPTOGRAPHY:
        return 'cryptography %s is too old; 3.4 or newer is needed' % cryptography.__version__
    return None


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def not_valid_after(cert):
    """Naive UTC datetime (the *_utc properties only exist from cryptography 42)."""
    value = getattr(cert, 'not_valid_after_utc', None)
    return value.replace(tzinfo=None) if value is not None else cert.not_valid_after


def not_valid_before(cert):
    value = getattr(cert, 'not_valid_before_utc', None)
    return value.replace(tzinfo=None) if value is not None else cert.not_valid_before


def iso(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def colon_hex(data):
    return ':'.join('%02x' % byte for byte in bytearray(data))


def fingerprint_sha256(cert):
    return colon_hex(cert.fingerprint(hashes.SHA256()))


def generate_key(key_type, key_size=None):
    if key_type == 'ecdsa':
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size or 3072)


def key_matches_type(key, key_type, key_size=None):
    if key_type == 'ecdsa':
        return isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == 'secp256r1'
    return isinstance(key, rsa.RSAPrivateKey) and (key_size is None or key.key_size == key_size)


def load_private_key(data, password=None):
    """Load a PEM private key this collection wrote itself (host key or CA key, both owner-only files).

    cryptography >= 39 re-validates RSA keys on every load (OpenSSL 3 primality checks: about 0.3 s for
    RSA 3072, paid on every host of every run); the keys here are our own, so that check is skipped
    where the option exists.  Older releases have neither the check's cost nor the option.
    """
    try:
        return serialization.load_pem_private_key(data, password=password, unsafe_skip_rsa_key_validation=True)
    except TypeError:
        return serialization.load_pem_private_key(data, password=password)


def public_key_pem(key_or_public_key):
    public = key_or_public_key.public_key() if hasattr(key_or_public_key, 'public_key') else key_or_public_key
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode('ascii')


def private_key_pkcs8_pem(key, passphrase=None):
    if passphrase:
        encryption = serialization.BestAvailableEncryption(passphrase.encode('utf-8'))
    else:
        encryption = serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def load_certificate(pem_bytes):
    return x509.load_pem_x509_certificate(pem_bytes)


def certificate_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode('ascii')


def common_name_of(name):
    attributes = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return attributes[0].value if attributes else None


def certificate_facts(cert):
    """Public metadata of a certificate: what diff output and the return values show."""
    dns_names, ip_addresses, usages = [], [], []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = [name.lower() for name in san.get_values_for_type(x509.DNSName)]
        ip_addresses = [str(address) for address in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        usages = [USAGE_NAMES.get(oid.dotted_string, oid.dotted_string) for oid in eku]
    except x509.ExtensionNotFound:
        pass
    return dict(
        subject=cert.subject.rfc4514_string(),
        common_name=common_name_of(cert.subject),
        issuer=cert.issuer.rfc4514_string(),
        serial=cert.serial_number,
        not_before=iso(not_valid_before(cert)),
        not_after=iso(not_valid_after(cert)),
        fingerprint_sha256=fingerprint_sha256(cert),
        dns_names=dns_names,
        ip_addresses=ip_addresses,
        extended_key_usage=usages,
    )


def public_keys_equal(first, second):
    return public_key_pem(first) == public_key_pem(second)


def b64_of(data):
    return binascii.b2a_base64(data).decode('ascii').strip()
