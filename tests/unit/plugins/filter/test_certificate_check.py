# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.dcvkit.session_manager.plugins.filter.certificate_check import dcv_certificate_problems


def _pair(names, issuer_key=None, issuer_name=None, days=30):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    sans = [x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n) for n in names]
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name or subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(issuer_key or key, hashes.SHA256()))
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_key, key, cert


def test_good_chain_key_and_names():
    ca_pem, _k, ca_key, ca_cert = _pair(["corp-ca.example.com"])
    leaf_pem, leaf_key, _l, _c = _pair(["gw.example.com", "10.0.0.5"], ca_key, ca_cert.subject)
    assert dcv_certificate_problems(leaf_pem + ca_pem, leaf_key, ["gw.example.com", "10.0.0.5"]) == []


def test_wrong_key_missing_name_and_broken_chain():
    ca_pem, _k, _ca_key, ca_cert = _pair(["corp-ca.example.com"])
    other_pem, other_key, other_signing_key, _c = _pair(["x.example.com"])
    leaf_pem, _leaf_key, _l, _c = _pair(["gw.example.com"], other_signing_key, ca_cert.subject)
    problems = dcv_certificate_problems(leaf_pem + ca_pem, other_key, ["gw.example.com", "vpce.example.com"])
    text = " ".join(problems)
    assert "does not belong to the private key" in text
    assert "does not cover vpce.example.com" in text
    assert "is not signed by the next certificate" in text


def test_traditional_key_format_refused():
    pem, _key, key, _cert = _pair(["gw.example.com"])
    traditional = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()).decode()
    assert "PKCS#8" in dcv_certificate_problems(pem, traditional, ["gw.example.com"])[0]
