# -*- coding: utf-8 -*-
"""Faults, healed by a re-run of site.yml and proven by the end-to-end check.

Slow (site.yml runs): kept in this one module, which sorts last so it runs once after the quick checks. Faults
that do not touch each other share one healing run: the run heals all of them or the test names what it left.
Each run leaves the stack healthy for the next one."""

import datetime
import json
import os
import subprocess
import time

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

import stack

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


GATEWAY_CONFIG = "/etc/dcv-connection-gateway/dcv-connection-gateway.conf"


@pytest.fixture(scope="module")
def healed_at_once():
    """An expired DCV server certificate (first shown to break the gateway's strict hop to the DCV server), then a
    deleted gateway certificate, a gateway configuration that does not parse and a stopped broker; one site.yml run.
    Returns what the checks need."""
    expired = _issue_expired(stack.B.file("/etc/dcv/dcv.pem").content_string, stack.ca_dir())
    stack.B.check_output("cat > /etc/dcv/dcv.pem <<'EOF'\n%sEOF\nsystemctl restart dcvserver" % expired)
    api = stack.Api("fault-expired")
    session_id = api.ready_session("fault-expired-before")
    status, route = stack.connect(session_id, api.connection_token(session_id))
    good_config = stack.A.file(GATEWAY_CONFIG).content_string
    stack.A.check_output("rm -f /etc/dcv-connection-gateway/certs/gateway.pem")
    stack.A.check_output("printf '[gateway\\nweb-listen-endpoints = { broken\\n' > %s" % GATEWAY_CONFIG)
    stack.A.check_output("systemctl stop dcv-session-manager-broker")
    broken = {"expired route": (status, route), "gateway config": stack.A.file(GATEWAY_CONFIG).content_string,
              "broker running": stack.A.service("dcv-session-manager-broker").is_running}
    output = heal_and_check("faults-at-once")
    return broken, good_config, output


def test_the_faults_are_real_before_the_run(healed_at_once):
    broken, good_config, _output = healed_at_once
    # the gateway's strict hop to the DCV server fails on the expired certificate
    status, route = broken["expired route"]
    assert status == 502 and route["FailedHop"] == "dcv-server", route
    assert broken["gateway config"] != good_config and not broken["broker running"]


def test_one_run_changes_both_hosts(healed_at_once):
    output = healed_at_once[2]
    assert "changed: [default-b]" in output and "changed: [default-a]" in output


def test_a_deleted_gateway_certificate_is_reissued(healed_at_once):
    assert stack.A.file("/etc/dcv-connection-gateway/certs/gateway.pem").is_file


def test_an_expired_host_certificate_is_reissued(healed_at_once):
    fresh = x509.load_pem_x509_certificate(stack.B.file("/etc/dcv/dcv.pem").content)
    assert fresh.not_valid_after > datetime.datetime.utcnow() + datetime.timedelta(days=300)


def test_a_corrupted_gateway_config_is_restored(healed_at_once):
    assert stack.A.file(GATEWAY_CONFIG).content_string == healed_at_once[1]


def test_a_stopped_broker_is_started(healed_at_once):
    assert stack.A.service("dcv-session-manager-broker").is_running


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


@pytest.fixture(scope="module")
def rotated_under_vvv():
    """A rotated CA (a new CA key and certificate; the generated passwords in secrets/ stay) and the files that hold
    secrets removed, so every secret-bearing task does its work, healed by one site.yml run at -vvv. Returns the
    snapshots before and after, the epoch second the run started after, the old CA, the run's output, its log and the
    secrets the stack holds right after it."""
    ca_dir = stack.ca_dir()
    with open(os.path.join(ca_dir, "ca.pem")) as handle:
        old_ca = handle.read()
    before = {name: stack.snapshot(name) for name in stack.HOSTS}
    since = int(stack.A.check_output("date +%s")) + 1
    time.sleep(1.5)
    for name in ("ca.pem", "ca.key"):
        os.rename(os.path.join(ca_dir, name), os.path.join(ca_dir, name + ".rotated-%d" % since))
    stack.A.check_output("rm -f /etc/dcv-session-manager-broker/tls/*.p12 "
                         "/etc/dcv-session-manager-broker/session-manager-broker.properties "
                         "/etc/dcv-connection-gateway/certs/gateway.pem")
    stack.B.check_output("rm -f /etc/dcv/dcv.pem /etc/dcv-session-manager-agent/agent.conf")
    rc, output = stack.run_site(options=["-vvv"])
    log = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "site-vvv.log")
    with open(log, "w") as handle:
        handle.write(output)
    assert rc == 0, output[-4000:]
    stack.assert_converged(output)
    stack.end_to_end(label="fault-rotated-ca-vvv")
    after = {name: stack.snapshot(name) for name in stack.HOSTS}
    return {"before": before, "after": after, "since": since, "old CA": old_ca, "output": output, "log": log,
            "secrets": _secrets()}


def test_rotated_ca_restarts_every_service_once(rotated_under_vvv):
    with open(os.path.join(stack.ca_dir(), "ca.pem")) as handle:
        assert handle.read() != rotated_under_vvv["old CA"]
    for name, services in stack.SERVICES.items():
        for service in services:
            assert starts_since(name, service, rotated_under_vvv["since"]) == 1, (name, service)


def test_rotated_ca_reissues_every_certificate_and_nothing_else(rotated_under_vvv):
    before, after = rotated_under_vvv["before"], rotated_under_vvv["after"]
    for name in stack.HOSTS:
        # every certificate changed ...
        old_certs = {l for l in before[name].splitlines() if any(p in l for p in CERT_FILES[name]) and len(l.split()) == 2}
        new_certs = {l for l in after[name].splitlines() if any(p in l for p in CERT_FILES[name]) and len(l.split()) == 2}
        changed_paths = {l.split()[1] for l in old_certs - new_certs}
        assert any(p.endswith(".pem") or p.endswith(".p12") for p in changed_paths), (name, changed_paths)
        # ... and nothing else did: the removed configuration files came back with the content they had
        assert _content_only("\n".join(_config_lines(before[name], name))) == \
            _content_only("\n".join(_config_lines(after[name], name))), name
    # every host certificate now chains to the new CA
    with open(os.path.join(stack.ca_dir(), "ca.pem")) as handle:
        new_ca = handle.read()
    for target, path in ((stack.A, "/etc/dcv-session-manager-broker/tls/broker.pem"),
                         (stack.A, "/etc/dcv-connection-gateway/certs/gateway.pem"), (stack.B, "/etc/dcv/dcv.pem")):
        assert target.run("openssl verify -CAfile /dev/stdin %s <<'EOF'\n%sEOF" % (path, new_ca)).rc == 0, path


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


def test_no_secret_in_verbose_output(rotated_under_vvv):
    output, log, secrets = rotated_under_vvv["output"], rotated_under_vvv["log"], rotated_under_vvv["secrets"]
    assert any(label.startswith("password") for label in secrets) and any("private key" in l for l in secrets)
    for label, secret in secrets.items():
        for fragment in _fragments(secret):
            assert len(fragment) >= 16, label  # too short to search for safely: a weak secret is its own bug
            assert fragment not in output, "%s appears in the -vvv output (%s)" % (label, log)


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


def test_idempotent_after_all_faults():
    rc, output = stack.run_site()
    assert rc == 0, output[-3000:]
    stack.assert_converged(output, changed=0)
