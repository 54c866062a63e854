# -*- coding: utf-8 -*-
"""Faults, each healed by one re-run of site.yml and proven by the end-to-end check.

Slow (one site.yml run or more per case): kept in this one module, which sorts last so it runs once after
the quick checks. Each case leaves the stack healthy for the next one."""

import datetime
import json
import os
import subprocess
import time

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

import stack

# Extended whole-stack tests: each case runs site.yml again, so together they take longer than CI's budget on
# two cores. `make test-extended` runs them (DCVKIT_EXTENDED_TESTS=1); `make test` reports them as skipped.
pytestmark = pytest.mark.skipif(os.environ.get("DCVKIT_EXTENDED_TESTS") != "1",
                                reason="extended whole-stack test: run with make test-extended")

testinfra_hosts = ["podman://" + stack.A_NAME]


def heal_and_check(label):
    rc, output = stack.run_site()
    assert rc == 0, output[-4000:]
    stack.assert_converged(output)
    stack.end_to_end(label=label)
    return output


def starts_since(name, service, since):
    """How many times systemd started the unit since the epoch second `since` (journal of the container)."""
    out = stack.HOSTS[name].run("journalctl -q -u %s --since @%d -o cat | grep -c '^Started' || true" % (service, since))
    return int(out.stdout.strip() or 0)


def test_deleted_certificate_is_reissued():
    stack.A.check_output("rm -f /etc/dcv-connection-gateway/certs/gateway.pem")
    stack.B.check_output("rm -f /etc/dcv/dcv.pem")
    output = heal_and_check("fault-deleted-cert")
    assert "changed: [default-b]" in output and "changed: [default-a]" in output
    assert stack.A.file("/etc/dcv-connection-gateway/certs/gateway.pem").is_file
    assert stack.B.file("/etc/dcv/dcv.pem").is_file


def test_corrupted_gateway_config_is_restored():
    path = "/etc/dcv-connection-gateway/dcv-connection-gateway.conf"
    good = stack.A.file(path).content_string
    stack.A.check_output("printf '[gateway\\nweb-listen-endpoints = { broken\\n' > %s" % path)
    heal_and_check("fault-gateway-config")
    assert stack.A.file(path).content_string == good


def test_stopped_broker_is_started():
    stack.A.check_output("systemctl stop dcv-session-manager-broker")
    assert not stack.A.service("dcv-session-manager-broker").is_running
    heal_and_check("fault-stopped-broker")
    assert stack.A.service("dcv-session-manager-broker").is_running


def _issue_expired(cert_pem, ca_dir):
    """The same subject, SAN and public key, signed by the collection's CA, expired since yesterday."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    with open(os.path.join(ca_dir, "ca.pem"), "rb") as handle:
        ca_cert = x509.load_pem_x509_certificate(handle.read())
    with open(os.path.join(ca_dir, "ca.key"), "rb") as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), password=None)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    builder = (x509.CertificateBuilder().subject_name(cert.subject).issuer_name(ca_cert.subject)
               .public_key(cert.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=2)).not_valid_after(now - datetime.timedelta(days=1)))
    for extension in cert.extensions:
        if extension.oid != x509.oid.ExtensionOID.AUTHORITY_KEY_IDENTIFIER:
            builder = builder.add_extension(extension.value, extension.critical)
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def test_expired_host_certificate_is_reissued():
    expired = _issue_expired(stack.B.file("/etc/dcv/dcv.pem").content_string, stack.ca_dir())
    stack.B.check_output("cat > /etc/dcv/dcv.pem <<'EOF'\n%sEOF\nsystemctl restart dcvserver" % expired)
    # the fault is real: the gateway's strict hop to the DCV server now fails on the expired certificate
    api = stack.Api("fault-expired")
    session_id = api.ready_session("fault-expired-before")
    status, route = stack.connect(session_id, api.connection_token(session_id))
    assert status == 502 and route["FailedHop"] == "dcv-server", route
    output = heal_and_check("fault-expired-after")
    assert "changed: [default-b]" in output
    fresh = x509.load_pem_x509_certificate(stack.B.file("/etc/dcv/dcv.pem").content)
    assert fresh.not_valid_after > datetime.datetime.utcnow() + datetime.timedelta(days=300)


CERT_FILES = {
    stack.A_NAME: ["/etc/dcv-session-manager-broker/tls/", "/etc/dcv-connection-gateway/certs/"],
    stack.B_NAME: ["/etc/dcv/dcv.pem", "/etc/dcv/dcv.key", "/etc/dcv/ca.pem", "/etc/dcv-session-manager-agent/ca.pem"],
}


def _config_lines(snapshot_text, name):
    """Snapshot lines of the files that are not certificate material (they must not change on a CA rotation)."""
    return sorted(line for line in snapshot_text.splitlines()
                  if not any(part in line for part in CERT_FILES[name]))


def _content_only(snapshot_text):
    # sha256sum lines only ("<hash>  <path>"): a rotation must not rewrite configs (mtimes of copies stay too)
    return sorted(line for line in snapshot_text.splitlines() if len(line.split()) == 2)


def test_rotated_ca_reissues_every_certificate_and_restarts_every_service_once():
    ca_dir = stack.ca_dir()
    with open(os.path.join(ca_dir, "ca.pem")) as handle:
        old_ca = handle.read()
    before = {name: stack.snapshot(name) for name in stack.HOSTS}
    since = int(stack.A.check_output("date +%s")) + 1
    time.sleep(1.5)
    # rotation = a new CA key and certificate; the generated passwords (secrets/) stay
    for name in ("ca.pem", "ca.key"):
        os.rename(os.path.join(ca_dir, name), os.path.join(ca_dir, name + ".rotated-%d" % since))
    heal_and_check("fault-rotated-ca")
    with open(os.path.join(ca_dir, "ca.pem")) as handle:
        assert handle.read() != old_ca
    for name, services in stack.SERVICES.items():
        for service in services:
            assert starts_since(name, service, since) == 1, (name, service)
    after = {name: stack.snapshot(name) for name in stack.HOSTS}
    for name in stack.HOSTS:
        # every certificate changed ...
        old_certs = {l for l in before[name].splitlines() if any(p in l for p in CERT_FILES[name]) and len(l.split()) == 2}
        new_certs = {l for l in after[name].splitlines() if any(p in l for p in CERT_FILES[name]) and len(l.split()) == 2}
        changed_paths = {l.split()[1] for l in old_certs - new_certs}
        assert any(p.endswith(".pem") or p.endswith(".p12") for p in changed_paths), (name, changed_paths)
        # ... and nothing else did
        assert _content_only("\n".join(_config_lines(before[name], name))) == \
            _content_only("\n".join(_config_lines(after[name], name))), name
    # every host certificate now chains to the new CA
    for target, path in ((stack.A, "/etc/dcv-session-manager-broker/tls/broker.pem"),
                         (stack.A, "/etc/dcv-connection-gateway/certs/gateway.pem"), (stack.B, "/etc/dcv/dcv.pem")):
        assert target.run("openssl verify -CAfile /dev/stdin %s <<'EOF'\n%sEOF" % (
            path, open(os.path.join(ca_dir, "ca.pem")).read())).rc == 0, path


def test_rerun_after_a_host_lost_mid_run_finishes_the_job():
    # work for both hosts, then B disappears while site.yml runs
    stack.A.check_output("rm -f /etc/dcv-connection-gateway/certs/gateway.pem")
    stack.B.check_output("rm -f /etc/dcv/dcv.pem /etc/dcv-session-manager-agent/agent.conf")
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="false", ANSIBLE_NOCOLOR="1")
    log_path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "partial-run.log")
    with open(log_path, "w") as log:
        run = subprocess.Popen(["ansible-playbook", "-i", stack.inventory(), stack.site_playbook()],
                               stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.time() + 600
            while time.time() < deadline and run.poll() is None:
                with open(log_path) as handle:
                    if "PLAY [Connection gateways, and the agents beside them]" in handle.read():
                        break
                time.sleep(0.5)
            subprocess.run(["podman", "stop", "-t", "2", stack.B_NAME], check=True, capture_output=True)
            run.wait(timeout=900)
        finally:
            if run.poll() is None:
                run.kill()
    with open(log_path) as handle:
        output = handle.read()
    assert run.returncode != 0, output[-3000:]
    assert stack.recap(output).get(stack.B_NAME, {}).get("unreachable", 0) + \
        stack.recap(output).get(stack.B_NAME, {}).get("failed", 0) >= 1, output[-3000:]
    # the host comes back (a restarted container gets its /etc/hosts rewritten: map the test names again)
    subprocess.run(["podman", "start", stack.B_NAME], check=True, capture_output=True)
    stack.B.run("systemctl is-system-running --wait")
    prepare = os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "prepare.yml")
    subprocess.run(["ansible-playbook", "-i", stack.inventory(), prepare], check=True, capture_output=True, env=env)
    heal_and_check("fault-partial-run")
    assert stack.B.file("/etc/dcv-session-manager-agent/agent.conf").is_file


def _secrets():
    """Every secret the stack holds, read from where it lives, with a label for the failure message."""
    found = {}
    secrets_dir = os.path.join(stack.ca_dir(), "secrets")
    for name in os.listdir(secrets_dir):
        with open(os.path.join(secrets_dir, name)) as handle:
            found["password " + name] = handle.read().strip()
    with open(os.path.join(stack.ca_dir(), "ca.key")) as handle:
        found["CA key"] = handle.read()
    for target, path in ((stack.A, "/etc/dcv-session-manager-broker/tls/broker.key"),
                         (stack.A, "/etc/dcv-connection-gateway/certs/gateway.key"), (stack.B, "/etc/dcv/dcv.key")):
        found["private key " + path] = target.file(path).content_string
    for line in stack.A.file("/etc/dcv-session-manager-broker/session-manager-broker.properties").content_string.splitlines():
        key, _sep, value = line.partition("=")
        if key.strip().endswith(("-pass", "password")) and value.strip():
            found["property " + key.strip()] = value.strip()
    # API client secrets stored on the broker host (session.yml's api_client), if any exist
    for path in stack.A.run("ls /etc/dcv-session-manager-broker/api-client-*.json 2>/dev/null").stdout.split():
        data = json.loads(stack.A.file(path).content_string)
        for key, value in data.items():
            if "secret" in key or "password" in key:
                found["API secret " + path] = value
    return found


def _fragments(secret):
    """What would give a secret away: the value itself, and each base64 line of PEM key material."""
    if "-----BEGIN" in secret:
        return [line for line in secret.splitlines() if line and not line.startswith("-----")]
    return [secret]


def test_no_secret_in_verbose_output():
    # make every secret-bearing task do its work: key stores, properties, certificates on both hosts
    stack.A.check_output("rm -f /etc/dcv-session-manager-broker/tls/broker.p12 /etc/dcv-session-manager-broker/tls/*.p12 "
                         "/etc/dcv-session-manager-broker/session-manager-broker.properties "
                         "/etc/dcv-connection-gateway/certs/gateway.pem")
    stack.B.check_output("rm -f /etc/dcv/dcv.pem /etc/dcv-session-manager-agent/agent.conf")
    rc, output = stack.run_site(options=["-vvv"])
    log = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "site-vvv.log")
    with open(log, "w") as handle:
        handle.write(output)
    assert rc == 0, output[-4000:]
    secrets = _secrets()
    assert any(label.startswith("password") for label in secrets) and any("private key" in l for l in secrets)
    for label, secret in secrets.items():
        for fragment in _fragments(secret):
            assert len(fragment) >= 16, label  # too short to search for safely: a weak secret is its own bug
            assert fragment not in output, "%s appears in the -vvv output (%s)" % (label, log)
    stack.end_to_end(label="after-vvv")


def test_idempotent_after_all_faults():
    rc, output = stack.run_site()
    assert rc == 0, output[-3000:]
    stack.assert_converged(output, changed=0)
