# -*- coding: utf-8 -*-
"""The package sources on the Amazon Linux 2023 stand-in, each from a host without the DCV packages, their users
or the NICE key: RPMs signed by another key or not signed, and a download whose checksum does not match, are
refused before anything is installed; ``download`` (a local HTTPS server in the official directory layout, with a
.sha256sum beside every file) and ``repository`` (a local dnf repository, gpgcheck=1 with the NICE test key)
install and start broker and gateway. ``control_node`` is the scenario's own converge. Each run is site.yml
limited to host A (conftest.py): host B is left as it is."""

import contextlib
import hashlib
import http.server
import os
import shutil
import ssl
import subprocess
import tarfile
import threading

import pytest

import dcvtest
from broker_gateway_host import A

testinfra_hosts = ["podman://" + A]

RPM_DIR = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "build", "standins-rpm")
BROKER_RPM = "nice-dcv-session-manager-broker-2025.0.539-1.amzn2023.noarch.rpm"
GATEWAY_RPM = "nice-dcv-connection-gateway-2025.0.870.amzn2023.x86_64.rpm"
BUNDLE = "nice-dcv-2025.0-20103-amzn2023-x86_64"
BUNDLE_RPMS = ["nice-dcv-server-2025.0.20103-1.amzn2023.x86_64.rpm", "nice-xdcv-2025.0.688-1.amzn2023.x86_64.rpm",
               "nice-dcv-web-viewer-2025.0.20103-1.amzn2023.x86_64.rpm"]
# what rpm -q reports once installed (the gateway's header has release 1.amzn2023, its file name none)
INSTALLED = {"nice-dcv-session-manager-broker": "2025.0.539-1.amzn2023",
             "nice-dcv-connection-gateway": "2025.0.870-1.amzn2023",
             "nice-dcv-web-viewer": "2025.0.20103-1.amzn2023"}
USERS = ["dcvsmbroker", "dcvcgw"]
SERVICES = ["dcv-session-manager-broker", "dcv-connection-gateway"]
REPO_ID = "dcvkit-test-nice"
REPO_DIR = "/var/lib/dcvkit-test-nice-repo"


def _without_dcv(target):
    """Remove the DCV packages, their users, the copied package files and the NICE test key from the host."""
    installed = [name for name in INSTALLED if target.run("rpm -q %s" % name).rc == 0]
    if installed:
        target.check_output("dnf --quiet --assumeyes remove %s" % " ".join(installed))
    for user in USERS:
        target.run("userdel %s; groupdel %s" % (user, user))
    target.check_output("rm -rf /var/cache/dcvkit/packages /etc/yum.repos.d/%s.repo" % REPO_ID)
    keys = target.run("rpm -q gpg-pubkey --qf '%{NAME}-%{VERSION}-%{RELEASE}\\t%{SUMMARY}\\n'").stdout
    for line in keys.splitlines():
        name, _tab, summary = line.partition("\t")
        if "stand-in NICE signing key" in summary:
            target.check_output("rpm -e %s" % name)
    _assert_nothing_installed(target)


def _assert_nothing_installed(target):
    assert not [name for name in INSTALLED if target.run("rpm -q %s" % name).rc == 0]
    assert not [user for user in USERS if target.run("getent passwd %s" % user).rc == 0]


def _assert_installed_and_running(target):
    for name, version in INSTALLED.items():
        assert target.check_output("rpm -q --qf '%%{VERSION}-%%{RELEASE}' %s" % name) == version
    for service in SERVICES:
        assert target.service(service).is_running


def _recap(output):
    return output.rsplit("PLAY RECAP", 1)[-1]


@pytest.mark.parametrize("case,refusal", [("other-key", "Public key for %s is not installed" % BROKER_RPM),
                                          ("unsigned", "Package %s is not signed" % BROKER_RPM)])
def test_badly_signed_rpm_is_refused_before_anything_is_installed(host, case, refusal):
    _without_dcv(host)
    rc, output = dcvtest.run_playbook({"dcv_package_dir": os.path.join(RPM_DIR, "bad", case)})
    assert rc != 0, output[-3000:]
    # dnf's own refusal, from the roles' install task (signature checks stay on for local files)
    assert "Install the package files (RedHat family)" in output
    assert refusal in output, output[-3000:]
    _assert_nothing_installed(host)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


def _openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


def _official_layout(root):
    """The files the roles download, where the official host keeps them (docs/packages.md), each with a
    .sha256sum beside it; the server bundle (a .tgz of the bundled RPMs) holds the web viewer."""
    files = {"2025.0/SessionManagerBrokers": [BROKER_RPM], "2025.0/Gateway": [GATEWAY_RPM]}
    for folder, names in files.items():
        os.makedirs(os.path.join(root, folder))
        for name in names:
            shutil.copy(os.path.join(RPM_DIR, name), os.path.join(root, folder, name))
    os.makedirs(os.path.join(root, "2025.0/Servers"))
    with tarfile.open(os.path.join(root, "2025.0/Servers", BUNDLE + ".tgz"), "w:gz") as bundle:
        for name in BUNDLE_RPMS:
            bundle.add(os.path.join(RPM_DIR, name), arcname=BUNDLE + "/" + name)
    shutil.copy(os.path.join(RPM_DIR, "NICE-GPG-KEY"), os.path.join(root, "NICE-GPG-KEY"))
    for folder, _dirs, names in os.walk(root):
        for name in names:
            with open(os.path.join(folder, name), "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
            with open(os.path.join(folder, name + ".sha256sum"), "w") as handle:
                handle.write("%s  %s\n" % (digest, name))


@pytest.fixture(scope="module")
def download_host(tmp_path_factory):
    """A local HTTPS server (its own CA, trusted by the control node through SSL_CERT_FILE for these runs only)
    serving the official layout; yields the role variables that point the download at it."""
    tmp = tmp_path_factory.mktemp("download")
    root = str(tmp / "www")
    _official_layout(root)
    ca_key, ca_pem, key, csr, pem = (str(tmp / n) for n in ("ca.key", "ca.pem", "tls.key", "tls.csr", "tls.pem"))
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
             "-subj", "/CN=dcvkit TEST download CA", "-keyout", ca_key, "-out", ca_pem)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
             "-keyout", key, "-out", csr)
    extensions = tmp / "san.cnf"
    extensions.write_text("subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
             "-extfile", str(extensions), "-out", pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _Quiet(*a, directory=root))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = "https://localhost:%d" % server.server_address[1]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SSL_CERT_FILE", ca_pem)
        yield {"dcv_package_source": "download", "dcv_package_base_url": base,
               "dcv_package_gpg_key_url": base + "/NICE-GPG-KEY"}
    server.shutdown()


def test_download_with_a_wrong_checksum_is_refused_before_install(host, download_host, tmp_path):
    _without_dcv(host)
    cache = tmp_path / "cache"
    rc, output = dcvtest.run_playbook(dict(download_host, dcv_package_cache_dir=str(cache),
                                           dcv_package_checksums={BROKER_RPM: "0" * 64}))
    assert rc != 0, output[-3000:]
    assert "Download the component packages once" in output
    assert "checksum" in output.lower() and BROKER_RPM in output, output[-3000:]
    assert not (cache / BROKER_RPM).exists()
    assert "Install the package files (RedHat family)" not in output
    _assert_nothing_installed(host)


def test_download_from_the_official_layout(host, download_host, tmp_path):
    _without_dcv(host)
    cache = tmp_path / "cache"
    rc, output = dcvtest.run_playbook(dict(download_host, dcv_package_cache_dir=str(cache)))
    assert rc == 0, output[-3000:]
    assert "failed=0" in _recap(output)
    # checked against the .sha256sum beside each file, downloaded once into the control node's cache
    for name in (BROKER_RPM, GATEWAY_RPM, BUNDLE + ".tgz", "NICE-GPG-KEY"):
        assert (cache / name).is_file(), name
    _assert_installed_and_running(host)


@contextlib.contextmanager
def _nice_repository(target):
    """A dnf repository of the stand-in RPMs on the host (createrepo_c), configured with gpgcheck=1 and the NICE
    test key, as an operator's mirror of NICE's packages would be."""
    target.check_output("rm -rf %s && mkdir -p %s" % (REPO_DIR, REPO_DIR))
    for name in [BROKER_RPM, GATEWAY_RPM] + BUNDLE_RPMS + ["NICE-GPG-KEY"]:
        subprocess.run(["podman", "cp", os.path.join(RPM_DIR, name), "%s:%s/%s" % (A, REPO_DIR, name)], check=True)
    target.check_output("createrepo_c --quiet %s" % REPO_DIR)
    target.check_output("printf '%%s\\n' '[%s]' 'name=dcvkit TEST stand-in NICE packages (not Amazon)' "
                        "'baseurl=file://%s' 'enabled=1' 'gpgcheck=1' 'gpgkey=file://%s/NICE-GPG-KEY' "
                        "'metadata_expire=never' > /etc/yum.repos.d/%s.repo" % (REPO_ID, REPO_DIR, REPO_DIR, REPO_ID))
    try:
        yield
    finally:
        target.run("rm -rf %s /etc/yum.repos.d/%s.repo" % (REPO_DIR, REPO_ID))


def test_repository_installs_by_name_with_signature_checks(host):
    _without_dcv(host)
    with _nice_repository(host):
        rc, output = dcvtest.run_playbook({"dcv_package_source": "repository"})
        assert rc == 0, output[-3000:]
        assert "failed=0" in _recap(output)
        _assert_installed_and_running(host)
        # from the repository by name (dnf imported the key its .repo names), nothing copied to the host
        listed = host.check_output("dnf --quiet list installed %s" % " ".join(INSTALLED))
        for name in INSTALLED:
            assert any(line.startswith(name + ".") and line.endswith("@" + REPO_ID) for line in listed.splitlines()), \
                listed
        assert not host.file("/var/cache/dcvkit/packages").exists
