# -*- coding: utf-8 -*-
"""The whole stack after `site.yml`, end to end with strict TLS on every hop.

Fast checks only; the slow fault cases live in test_zz_faults.py (run last, once), the bad-input table in
test_bad_input.py."""

import glob
import json
import os
import shutil
import subprocess

import pytest

import stack

# Extended whole-stack tests: each case runs site.yml again, so together they take longer than CI's budget on
# two cores. `make test-extended` runs them (DCVKIT_EXTENDED_TESTS=1); `make test` reports them as skipped.
EXTENDED = pytest.mark.skipif(os.environ.get("DCVKIT_EXTENDED_TESTS") != "1",
                              reason="extended whole-stack test: run with make test-extended")

testinfra_hosts = ["podman://" + stack.A_NAME]


@pytest.fixture(scope="module")
def api():
    return stack.Api()


@pytest.mark.parametrize("name,service", [(n, s) for n, services in stack.SERVICES.items() for s in services])
def test_services_running_and_enabled(name, service):
    unit = stack.HOSTS[name].service(service)
    assert unit.is_running and unit.is_enabled


def test_agent_registered_at_the_broker():
    agents = stack.wait_until(stack.agent_registered, timeout=60)
    assert agents, stack.A.run("dcv-session-manager-broker describe-agent-clients").stdout


def test_agent_reports_successfully_with_strict_tls():
    conf = stack.B.file("/etc/dcv-session-manager-agent/agent.conf").content_string
    assert "tls_strict = true" in conf and 'broker_host = "%s"' % stack.BROKER in conf
    # sm-admin "Step 5: Verify the installations": the last sessionsUpdateResponse line contains success
    last = stack.B.check_output("grep sessionsUpdateResponse /var/log/dcv-session-manager-agent/agent.log | tail -1")
    assert "success" in last and "unsuccess" not in last, last


def test_session_through_the_api_becomes_ready_resolves_and_the_gateway_route_reaches_the_dcv_server(api):
    session_id = stack.end_to_end(api, "stack-verify")
    # the same session through the host name of the gateway, too
    status, route = stack.connect(session_id, api.connection_token(session_id), name=stack.BROKER)
    assert status == 200 and route["Connected"] is True, route


def test_resolver_404_for_an_unknown_session():
    status, body = stack.resolve("no-such-session")
    assert status == 404 and stack.RESOLVER_404 in body, (status, body)


@pytest.mark.parametrize("name", [stack.PUBLIC, stack.BROKER])
def test_gateway_certificate_verifies_for_public_and_host_name(name):
    # from B (a browser elsewhere), trusting only the collection's CA, checking the host name
    result = stack.B.run("curl -sS --max-time 10 --cacert %s -o /dev/null -w '%%{http_code}' https://%s:%d/"
                         % (stack.BROKER_CA_ON_B, name, stack.GATEWAY_PORT))
    assert result.rc == 0 and result.stdout == "200", result.stderr


def test_gateway_certificate_refused_for_a_name_it_does_not_carry():
    # the same address under a name that is not in the SAN: strict clients must refuse it
    address = stack.B.check_output("getent hosts %s | cut -d' ' -f1" % stack.PUBLIC)
    result = stack.B.run("curl -sS --max-time 10 --cacert %s --resolve other.dcvkit.test:%d:%s https://other.dcvkit.test:%d/"
                         % (stack.BROKER_CA_ON_B, stack.GATEWAY_PORT, address, stack.GATEWAY_PORT))
    assert result.rc != 0 and "certificate" in result.stderr.lower(), result.stderr


def test_every_hop_is_strict():
    gateway = stack.A.file("/etc/dcv-connection-gateway/dcv-connection-gateway.conf").content_string
    assert "tls-strict = false" not in gateway
    dcv = stack.B.file("/etc/dcv/dcv.conf").content_string
    assert 'ca-file="/etc/dcv/ca.pem"' in dcv.replace(" ", "")


@EXTENDED
def test_check_mode_and_diff_on_a_converged_stack_are_quiet_and_readable():
    # check + diff with one changed input: only that line shows, and no key material
    rc, output = stack.run_site({"dcv_gateway_log_level": "debug"}, options=["--check", "--diff"])
    assert rc == 0, output[-3000:]
    assert '-level = "info"' in output and '+level = "debug"' in output, output[-3000:]
    assert "PRIVATE KEY" not in output
    counts = stack.recap(output)
    assert counts[stack.A_NAME]["changed"] >= 1 and counts[stack.B_NAME]["changed"] == 0, counts
    # and nothing happened
    assert 'level = "info"' in stack.A.file("/etc/dcv-connection-gateway/dcv-connection-gateway.conf").content_string


@EXTENDED
def test_component_tag_runs_one_role_after_the_preflight():
    before = stack.all_started_at()
    rc, output = stack.run_site(options=["--tags", "dcv_agent"])
    assert rc == 0, output[-3000:]
    # the preflight play (tag always) checks every host's input; no other role does any work
    for task in ("dcv_broker : Install", "dcv_broker : Issue", "dcv_gateway : Install", "dcv_server : Issue"):
        assert task not in output, task
    assert "dcv_agent : Install agent.conf" in output
    stack.assert_converged(output, changed=0)
    assert stack.all_started_at() == before


@EXTENDED
def test_certificates_phase_tag_reissues_and_restarts_only_what_it_must():
    before = stack.all_started_at()
    stack.A.run_expect([0], "rm -f /etc/dcv-connection-gateway/certs/gateway.pem")
    rc, output = stack.run_site(options=["--tags", "certificates"])
    assert rc == 0, output[-3000:]
    # no package or configuration work under this tag
    for task in ("Install the broker package", "Install agent.conf", "Install the configuration",
                 "Set the settings the role owns in dcv.conf"):
        assert task not in output, task
    counts = stack.recap(output)
    assert counts[stack.B_NAME]["changed"] == 0, counts
    after = stack.all_started_at()
    changed = sorted(key for key in before if before[key] != after[key])
    assert changed == [(stack.A_NAME, "dcv-connection-gateway")], changed
    assert stack.A.file("/etc/dcv-connection-gateway/certs/gateway.pem").exists


# Host A's firewalld (the Amazon Linux 2023 stand-in runs it) after the roles: the broker's client port (8448: the
# gateway shares the host), agent and resolver ports, the gateway's web and health-check ports. Nothing else.
A_FIREWALL_PORTS = {"%d/tcp" % port for port in (
    stack.CLIENT_PORT, stack.AGENT_PORT, stack.RESOLVER_PORT, stack.GATEWAY_PORT, stack.HEALTH_PORT)}


@pytest.mark.parametrize("permanent", [False, True], ids=["runtime", "permanent"])
def test_firewalld_on_host_a_is_active_and_opens_exactly_the_component_ports(permanent):
    assert stack.A.check_output("firewall-cmd --state") == "running"
    ports = stack.A.check_output("firewall-cmd %s--list-ports" % ("--permanent " if permanent else "")).split()
    assert sorted(ports) == sorted(A_FIREWALL_PORTS)


def test_firewalld_on_host_a_blocks_a_port_the_roles_did_not_open():
    """The end-to-end tests cross host A's firewall through the opened ports only: a listener on another port of A
    answers on A itself and is refused to host B."""
    port = 9099
    stack.A.run_expect([0], "systemd-run --unit dcvkit-firewall-probe python3 -m http.server %d" % port)
    try:
        assert stack.wait_until(lambda: stack.A.run("curl -sS --max-time 5 -o /dev/null http://127.0.0.1:%d/"
                                                    % port).rc == 0, timeout=30)
        result = stack.B.run("curl -sS --max-time 10 -o /dev/null http://%s:%d/" % (stack.BROKER, port))
        assert result.rc != 0, result.stdout
        # the gateway's port on the same address answers (strict TLS, the collection's CA)
        assert stack.B.run("curl -sS --max-time 10 --cacert %s -o /dev/null https://%s:%d/"
                           % (stack.BROKER_CA_ON_B, stack.BROKER, stack.GATEWAY_PORT)).rc == 0
    finally:
        stack.A.run("systemctl stop dcvkit-firewall-probe")


def test_describe_servers_names_host_b(api):
    status, data = api.call("/describeServers", {})
    assert status == 200, data
    assert stack.SERVER in json.dumps(data) or stack.B_NAME in json.dumps(data), data


def _rpm_version(name):
    """VERSION of an installed package on host A, as rpm reads it (testinfra would ask dpkg: the stand-in OS keeps
    Debian's dpkg)."""
    return stack.A.check_output("rpm -q --qf '%%{VERSION}' %s" % name)


def _newer_gateway_rpm(version, target_dir):
    """The gateway stand-in RPM at another version, under its official file name, signed with the NICE test key."""
    script = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "tests", "standins", "build-rpms.sh")
    subprocess.run([script, "--package", "nice-dcv-connection-gateway", "--version", version, str(target_dir)],
                   check=True, stdout=subprocess.DEVNULL)
    return target_dir / ("nice-dcv-connection-gateway-%s.amzn2023.x86_64.rpm" % version)


def _signing_key(path):
    """Key ID of an RPM file's header signature, "" when it is not signed."""
    signature = subprocess.run(["rpm", "-qp", "--qf", "%{RSAHEADER:pgpsig}", str(path)], check=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()
    return signature.rpartition("Key ID ")[2] if "Key ID " in signature else ""


def test_package_upgrade_restarts_only_its_service_and_the_next_run_is_quiet(tmp_path):
    """A newer gateway package in the package directory: the run upgrades it, restarts the gateway and nothing
    else, and the stack works; the next run changes nothing. The old package is put back at the end."""
    build = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "build")
    # one directory for both hosts, as the scenario's two: RPMs and the NICE key for A, .debs for B
    packages = tmp_path / "packages"
    shutil.copytree(os.path.join(build, "standins-rpm"), packages, ignore=shutil.ignore_patterns(".*", "bad"))
    for deb in glob.glob(os.path.join(build, "standins", "*.deb")):
        shutil.copy(deb, packages)
    old = next(packages.glob("nice-dcv-connection-gateway-*.amzn2023.x86_64.rpm"))
    old_version = _rpm_version("nice-dcv-connection-gateway")
    assert old.name == "nice-dcv-connection-gateway-%s.amzn2023.x86_64.rpm" % old_version
    new_version = old_version + "1"  # 2025.0.870 -> 2025.0.8701: rpm sorts it after
    new = _newer_gateway_rpm(new_version, packages)
    # the rebuilt file is signed by the key of the scenario's packages, which dnf checks (gpgcheck stays on)
    assert _signing_key(new) == _signing_key(old) != ""
    old.unlink()

    before = stack.all_started_at()
    rc, output = stack.run_site(extra_vars={"dcv_package_dir": str(packages)})
    assert rc == 0, output[-3000:]
    assert "upgraded in this run: gateway; restarting" in output
    assert _rpm_version("nice-dcv-connection-gateway") == new_version
    after = stack.all_started_at()
    assert sorted(key for key in before if before[key] != after[key]) == [(stack.A_NAME, "dcv-connection-gateway")]
    stack.end_to_end(label="upgraded")

    rc, output = stack.run_site(extra_vars={"dcv_package_dir": str(packages)})
    assert rc == 0, output[-3000:]
    stack.assert_converged(output, changed=0)
    assert stack.all_started_at() == after

    # back to the scenario's package, as an operator rolls back: the roles never downgrade (dnf refuses an older
    # file than the installed package), so dnf downgrades to the old file, its signature checked, and site.yml
    # then finds the stack in place
    original = os.path.join(build, "standins-rpm", old.name)
    subprocess.run(["podman", "cp", original, "%s:/tmp/%s" % (stack.A_NAME, old.name)], check=True)
    stack.A.run_expect([0], "dnf downgrade -y -q --setopt=localpkg_gpgcheck=1 /tmp/%s && rm /tmp/%s"
                       % (old.name, old.name))
    assert _rpm_version("nice-dcv-connection-gateway") == old_version
    rc, output = stack.run_site()
    assert rc == 0, output[-3000:]
    stack.end_to_end(label="rolled-back")
