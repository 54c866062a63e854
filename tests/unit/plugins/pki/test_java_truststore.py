"""The gateway-mTLS trust store: idempotent, rewritten when its certificates change, and read by Java's own
keytool as trusted certificates (a PKCS#12 file without Java's trust attribute lists no entries)."""

import shutil
import subprocess

import pytest

from ansible_collections.dcvkit.session_manager.plugins.module_utils import pki_ca, pki_x509
from ansible_collections.dcvkit.session_manager.plugins.modules import java_truststore


def _certificate_pem(tmp_path, name):
    """A certificate as PEM (self-signed: the store format does not depend on the issuer)."""
    cert = pki_ca.build_ca_certificate(pki_x509.generate_key("ecdsa"), name, 30)
    path = tmp_path / ("%s.pem" % name)
    path.write_bytes(pki_x509.certificate_pem(cert).encode("ascii"))
    return str(path)


@pytest.fixture
def pems(tmp_path):
    return [_certificate_pem(tmp_path, "gw1.example.internal"), _certificate_pem(tmp_path, "gw2.example.internal")]


def test_round_trip_and_change_detection(tmp_path, pems):
    store = str(tmp_path / "trust.p12")
    certs = java_truststore.load_certificates(pems)
    wanted = [c.public_bytes(java_truststore.serialization.Encoding.DER) for c in certs]
    assert java_truststore.stored_certificates(store, "pw") is None
    with open(store, "wb") as handle:
        handle.write(java_truststore.build(certs, "pw"))
    assert java_truststore.stored_certificates(store, "pw") == wanted
    # another password or another certificate set means rewrite
    assert java_truststore.stored_certificates(store, "other") is None
    assert java_truststore.stored_certificates(store, "pw") != wanted[:1]


def test_not_a_pem_is_named(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ValueError):
        java_truststore.load_certificates([str(bad)])


def test_java_keytool_sees_trusted_certificate_entries(tmp_path, pems):
    if not shutil.which("keytool"):
        pytest.skip("keytool not installed: make setup installs a JDK for this check")
    store = str(tmp_path / "trust.p12")
    with open(store, "wb") as handle:
        handle.write(java_truststore.build(java_truststore.load_certificates(pems), "pw"))
    listing = subprocess.run(["keytool", "-list", "-storetype", "PKCS12", "-keystore", store, "-storepass", "pw"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False).stdout.decode()
    assert "contains 2 entries" in listing, listing
    assert listing.count("trustedCertEntry") == 2, listing
