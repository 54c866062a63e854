"""What the PKI modules left on both hosts, checked with the hosts' own OpenSSL, across the pki-net network."""

import os
import time

import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]
).get_hosts("all")

PEER = {"pki-debian": "pki-ubuntu", "pki-ubuntu": "pki-debian"}
STORE_PASS = "molecule-store-pass"


def _name(host):
    return host.backend.get_hostname()


def test_key_files_are_pkcs8_and_only_readable_by_the_service_group(host):
    for path in ("/etc/dcv/dcv.key", "/etc/dcvkit-broker/broker.key", "/etc/dcvkit-broker/broker.p12"):
        key = host.file(path)
        assert key.user == "root" and key.group == "dcvpki" and key.mode == 0o640, path
    assert host.file("/etc/dcv/dcv.key").content_string.startswith("-----BEGIN PRIVATE KEY-----")
    assert host.file("/etc/dcvkit-client/client.key").mode == 0o600
    assert host.file("/etc/dcv/dcv.pem").mode == 0o644
    leftovers = host.run("find /etc/dcv /etc/dcvkit-broker /etc/dcvkit-client -name '*.tmp'").stdout.strip()
    assert leftovers == ""


def test_chain_verifies_with_the_hosts_openssl(host):
    for cert, purpose in (("/etc/dcv/dcv.pem", "sslserver"), ("/etc/dcvkit-broker/broker.pem", "sslserver"),
                          ("/etc/dcvkit-client/client.pem", "sslclient")):
        result = host.run("openssl verify -CAfile /etc/dcv/ca.pem -purpose %s %s", purpose, cert)
        assert result.rc == 0, result.stdout + result.stderr


def test_names_after_the_rename(host):
    text = host.run("openssl x509 -in /etc/dcv/dcv.pem -noout -text").stdout
    for name in (_name(host), _name(host) + ".pki.test", "renamed.pki.test"):
        assert "DNS:%s" % name in text
    assert "IP Address:127.0.0.1" in text


def test_pkcs12_store_algorithms_follow_the_hosts_cryptography(host):
    version = host.run("python3 -c 'import cryptography; print(cryptography.__version__)'").stdout.strip()
    info = host.run("openssl pkcs12 -in /etc/dcvkit-broker/broker.p12 -info -noout -passin pass:%s", STORE_PASS)
    assert info.rc == 0, info.stderr
    output = info.stdout + info.stderr
    if int(version.split(".")[0]) >= 38:
        assert "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC" in output and "MAC: sha256" in output, output
    else:
        assert "pbeWithSHA1And3-KeyTripleDES-CBC" in output, output


@pytest.mark.parametrize("mutual", [False, True])
def test_tls_to_the_peer_by_name_trusting_only_the_ca(host, mutual):
    """This host serves its DCV certificate; the peer connects by this host's name with the CA only."""
    port = 9443 if mutual else 8443
    peer = host.get_host("podman://" + PEER[_name(host)])
    verify = "-Verify 1 -CAfile /etc/dcv/ca.pem" if mutual else ""
    host.run("timeout 30 openssl s_server -accept %d -cert /etc/dcv/dcv.pem -key /etc/dcv/dcv.key %s "
             "-verify_return_error -www >/tmp/s_server-%d.log 2>&1 & echo $! >/tmp/s_server-%d.pid"
             % (port, verify, port, port))
    time.sleep(1.5)
    client_cert = "-cert /etc/dcvkit-client/client.pem -key /etc/dcvkit-client/client.key" if mutual else ""
    result = peer.run("openssl s_client -connect %s:%d -servername %s -verify_hostname %s -CAfile /etc/dcv/ca.pem "
                      "-verify_return_error %s </dev/null" % (_name(host), port, _name(host), _name(host),
                                                              client_cert))
    host.run("kill $(cat /tmp/s_server-%d.pid) 2>/dev/null || true" % port)
    assert result.rc == 0, result.stdout + result.stderr
    assert "Verify return code: 0 (ok)" in result.stdout


def test_wrong_name_is_refused_by_the_peer(host):
    peer = host.get_host("podman://" + PEER[_name(host)])
    host.run("timeout 30 openssl s_server -accept 8444 -cert /etc/dcv/dcv.pem -key /etc/dcv/dcv.key "
             ">/dev/null 2>&1 & echo $! >/tmp/s_server-8444.pid")
    time.sleep(1.5)
    result = peer.run("openssl s_client -connect %s:8444 -verify_hostname not-this-host.pki.test "
                      "-CAfile /etc/dcv/ca.pem -verify_return_error </dev/null" % _name(host))
    host.run("kill $(cat /tmp/s_server-8444.pid) 2>/dev/null || true")
    assert result.rc != 0
