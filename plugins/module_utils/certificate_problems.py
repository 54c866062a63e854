# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What is wrong with an operator-supplied certificate chain and its key for the names browsers use: the filter
dcv_certificate_problems and the gateway's preflight check them with this one function, on the control node.
No message shows the key."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover
    HAS_CRYPTOGRAPHY = False


def _verify_signed_by(child, issuer):
    key = issuer.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(child.signature, child.tbs_certificate_bytes, padding.PKCS1v15(), child.signature_hash_algorithm)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(child.signature, child.tbs_certificate_bytes, ec.ECDSA(child.signature_hash_algorithm))
    else:
        key.verify(child.signature, child.tbs_certificate_bytes)


def dcv_certificate_problems(chain_pem, key_pem, names, variable="dcv_gateway_certificate_src"):
    """List what is wrong with a PEM chain (leaf first) + PKCS#8 key for ``names``; empty when fine."""
    if not HAS_CRYPTOGRAPHY:
        return ["python cryptography is needed on the control node to check %s" % variable]
    problems = []
    try:
        chain = x509.load_pem_x509_certificates(chain_pem.encode("ascii") if isinstance(chain_pem, str) else chain_pem)
    except ValueError as exc:
        return ["%s: no PEM certificate could be read (%s)" % (variable, exc)]
    if "BEGIN PRIVATE KEY" not in key_pem:
        problems.append("the key is not a PKCS#8 PEM key (\"BEGIN PRIVATE KEY\"); the gateway needs PKCS#8: "
                        "convert it with openssl pkcs8 -topk8 -nocrypt")
    try:
        key = serialization.load_pem_private_key(key_pem.encode("ascii"), password=None)
    except (ValueError, TypeError) as exc:
        return problems + ["the private key cannot be read without a passphrase (%s)" % exc]
    leaf = chain[0]
    own = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, own) != leaf.public_key().public_bytes(
            serialization.Encoding.DER, own):
        problems.append("%s: the first certificate does not belong to the private key" % variable)
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = [n.lower() for n in san.get_values_for_type(x509.DNSName)]
        ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        dns, ips = [], []
    for name in names:
        try:
            missing = str(ipaddress.ip_address(name)) not in ips
        except ValueError:
            lowered = name.lower()
            wildcard = "*." + lowered.split(".", 1)[1] if "." in lowered else None
            missing = lowered not in dns and wildcard not in dns
        if missing:
            problems.append("%s: the certificate does not cover %s (SAN: %s)" % (variable, name, ", ".join(dns + ips)))
    now = datetime.datetime.now(datetime.timezone.utc)
    if leaf.not_valid_after_utc < now:
        problems.append("%s: the certificate expired on %s" % (variable, leaf.not_valid_after_utc.isoformat()))
    for child, issuer in zip(chain, chain[1:]):
        try:
            _verify_signed_by(child, issuer)
        except Exception:  # pylint: disable=broad-except
            problems.append("%s: %s is not signed by the next certificate in the chain (%s)"
                            % (variable, child.subject.rfc4514_string(), issuer.subject.rfc4514_string()))
    return problems
