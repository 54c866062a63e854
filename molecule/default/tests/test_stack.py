# -*- coding: utf-8 -*-
"""The whole stack after `site.yml`, end to end with strict TLS on every hop (issue 7, "Must show").

Fast checks only; the slow fault cases live in test_zz_faults.py (run last, once), the bad-input table in
test_bad_input.py."""

import json
import os
import re
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


def test_describe_servers_names_host_b(api):
    status, data = api.call("/describeServers", {})
    assert status == 200, data
    assert stack.SERVER in json.dumps(data) or stack.B_NAME in json.dumps(data), data


def _repack_with_version(deb, version, target_dir, work_dir):
    """A copy of a stand-in .deb with another version in its control file, in target_dir under the name its
    builder would give it."""
    unpacked = work_dir / "unpacked"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(unpacked)], check=True)
    control = unpacked / "DEBIAN" / "control"
    control.write_text(re.sub(r"(?m)^Version: .*$", "Version: " + version, control.read_text()))
    name = deb.name.split("_")
    target = target_dir / "_".join([name[0], version] + name[2:])
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(unpacked), str(target)], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.rmtree(unpacked)
    return target


def test_package_upgrade_restarts_only_its_service_and_the_next_run_is_quiet(tmp_path):
    """A newer gateway package in the package directory: the run upgrades it, restarts the gateway and nothing
    else, and the stack works; the next run changes nothing. The old package is put back at the end."""
    original = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "build", "standins")
    packages = tmp_path / "packages"
    shutil.copytree(original, packages, ignore=shutil.ignore_patterns(".*"))
    old = next(packages.glob("nice-dcv-connection-gateway_*.deb"))
    old_version = old.name.split("_")[1]
    new_version = old_version + "1"  # 2025.0.870 -> 2025.0.8701: sorts after it
    _repack_with_version(old, new_version, packages, tmp_path)
    old.unlink()

    before = stack.all_started_at()
    rc, output = stack.run_site(extra_vars={"dcv_package_dir": str(packages)})
    assert rc == 0, output[-3000:]
    assert "upgraded in this run: gateway; restarting" in output
    assert stack.A.package("nice-dcv-connection-gateway").version == new_version
    after = stack.all_started_at()
    assert sorted(key for key in before if before[key] != after[key]) == [(stack.A_NAME, "dcv-connection-gateway")]
    stack.end_to_end(label="upgraded")

    rc, output = stack.run_site(extra_vars={"dcv_package_dir": str(packages)})
    assert rc == 0, output[-3000:]
    stack.assert_converged(output, changed=0)
    assert stack.all_started_at() == after

    # back to the scenario's package, as an operator rolls back: the roles never downgrade (apt and dnf refuse an
    # older file than the installed package), so dpkg installs the old file, then site.yml finds the stack in place
    subprocess.run(["podman", "cp", os.path.join(original, old.name), "%s:/tmp/%s" % (stack.A_NAME, old.name)],
                   check=True)
    stack.A.run_expect([0], "dpkg -i --force-confold /tmp/%s && rm /tmp/%s" % (old.name, old.name))
    assert stack.A.package("nice-dcv-connection-gateway").version == old_version
    rc, output = stack.run_site()
    assert rc == 0, output[-3000:]
    stack.end_to_end(label="rolled-back")
