# -*- coding: utf-8 -*-
"""Bad input across the roles: site.yml refuses each case in its preflight play, names the variable, and no
managed file and no service on either host changes (checksums, owners, modes, mtimes, unit start times).

Every case is a run of site.yml as operators start it, against both hosts: the refusal must come from its real
preflight. What makes the table cheap is around the runs: every host's facts come from a cache filled once
(conftest.py's fact_cache), so a case costs the preflight alone, and the cases run side by side (each stops before
it changes a host, so none can disturb another), one state snapshot of both hosts taken before and after them all."""

import functools
import os
import tempfile

import pytest

import dcvtest
import stack

testinfra_hosts = ["podman://" + stack.A_NAME]

# (extra vars, words the failure must contain: the variable first)
BAD_INPUTS = [
    ({"dcv_package_source": "ftp"}, ["dcv_package_source", "ftp"]),
    ({"dcv_package_dir": ""}, ["dcv_package_dir"]),
    ({"dcv_broker_properties": {"enable-session-resolver": "true"}}, ["enable-session-resolver"]),
    ({"dcv_broker_properties": {"ca-file": "/etc/ca.pem"}}, ["ca-file"]),
    ({"dcv_broker_persistence": "mysql"}, ["dcv_broker_jdbc_url"]),
    ({"dcv_broker_heap_size": "lots"}, ["dcv_broker_heap_size", "lots"]),
    ({"dcv_broker_client_port": 8443}, ["8443"]),
    ({"dcv_gateway_public_names": []}, ["dcv_gateway_public_names"]),
    ({"dcv_gateway_web_listen_endpoints": ["https://0.0.0.0:8443"]}, ["dcv_gateway_web_listen_endpoints"]),
    ({"dcv_gateway_extra_settings": {"gateway": {"web-port": 8443}}}, ["web-port"]),
    ({"dcv_gateway_log_level": "loud"}, ["dcv_gateway_log_level"]),
    ({"dcv_gateway_web_resources_url": "http://cdn.example/www"}, ["dcv_gateway_web_resources_url"]),
    ({"dcv_gateway_certificate_src": "/tmp/gateway.pem"}, ["dcv_gateway_private_key_src"]),
    ({"dcv_server_desktop": "kde"}, ["dcv_server_desktop"]),
    ({"dcv_server_license_file": "license.lic"}, ["dcv_server_license_file"]),
    ({"dcv_server_web_port": 70000}, ["dcv_server_web_port", "70000"]),
    ({"dcv_server_extra_settings": {"security": {"auth-token-verifier": "https://x"}}},
     ["dcv_server_extra_settings", "auth-token-verifier"]),
    ({"dcv_agent_tls_strict": False}, ["dcv_agent_tls_strict", "dcv_allow_insecure_tls"]),
    ({"dcv_agent_broker_host": "elsewhere.dcvkit.test"}, ["dcv_agent_broker_host", "elsewhere.dcvkit.test"]),
    ({"dcv_agent_extra_settings": {"agent": {"tls_strict": False}}}, ["dcv_agent_extra_settings", "tls_strict"]),
    ({"dcv_agent_tags": {"bad name": {"pool": "x"}}}, ["dcv_agent_tags"]),
    ({"dcv_host_addresses": ["not-an-ip"]}, ["dcv_host_addresses", "not-an-ip"]),
    # gw-admin "Configuration File Reference": listen endpoints are IP socket addresses, never host names
    ({"dcv_gateway_web_listen_endpoints": ["gateway.dcvkit.test:8443"]},
     ["dcv_gateway_web_listen_endpoints", "gateway.dcvkit.test:8443"]),
    ({"dcv_agent_broker_update_interval": 0}, ["dcv_agent_broker_update_interval"]),
    ({"dcv_agent_extra_settings": {"agent": {"max_virtual_sessions": -1}}},
     ["dcv_agent_extra_settings", "max_virtual_sessions"]),
    ({"dcv_certificate_valid_days": 0}, ["dcv_certificate_valid_days"]),
    ({"dcv_certificate_renew_before_days": 397}, ["dcv_certificate_renew_before_days", "dcv_certificate_valid_days"]),
    ({"dcv_ca_key_type": "dsa"}, ["dcv_ca_key_type", "dsa"]),
    ({"dcv_server_extra_settings": {"security": {"no-tls-strict": True}}},
     ["dcv_server_extra_settings", "no-tls-strict", "dcv_allow_insecure_tls"]),
    # sm-admin "Broker configuration file": the broker runs <broker-java-home>/bin/java. The scenario lets the role
    # install Java 11; told not to, the role must find the Java it is pointed at. ("auto" without the role's Java
    # finds the Corretto the converge installed on host A: its refusal is in tests/unit/roles/test_role_vars.py.)
    ({"dcv_broker_install_java": False, "dcv_broker_java_home": "/opt/no-such-jdk"},
     ["dcv_broker_java_home", "/opt/no-such-jdk/bin/java does not exist"]),
    ({"dcv_broker_java_home": "jdk-11"}, ["dcv_broker_java_home is jdk-11"]),
]


# the control node's package directory that does not exist (test_missing_package_dir_on_the_control_node_is_refused)
MISSING_PACKAGE_DIR = os.path.join(tempfile.gettempdir(), "dcvkit-no-such-dir-%d" % os.getpid())

# With every fact cached, the preflight runs on the control node (a few cases read a host's state first): the runs
# are bound by the control node's cores, so one run more than there are cores.
WORKERS = (os.cpu_count() or 2) + 1


@pytest.fixture(scope="module")
def bad_input_runs(fact_cache):
    """Every case against both hosts (the table's, then the missing package directory), WORKERS at a time. The
    state of both hosts (managed files, unit start times) is taken before and after."""
    def state():
        return {name: stack.snapshot(name) for name in stack.HOSTS}, stack.all_started_at()

    before = state()
    cases = [extra_vars for extra_vars, _named in BAD_INPUTS] + [{"dcv_package_dir": MISSING_PACKAGE_DIR}]
    results = dcvtest.run_concurrently([functools.partial(stack.run_site, extra_vars, env=fact_cache)
                                        for extra_vars in cases], workers=WORKERS)
    return results, before, state()


@pytest.mark.parametrize("index", range(len(BAD_INPUTS)), ids=[next(iter(b[0])) + "-%d" % i for i, b in enumerate(BAD_INPUTS)])
def test_bad_input_fails_in_preflight(bad_input_runs, index):
    named = BAD_INPUTS[index][1]
    rc, output = bad_input_runs[0][index]
    assert rc != 0, output[-3000:]
    failed = output[output.find("fatal:"):] if "fatal:" in output else output
    for word in named:
        assert word in failed, (word, output[-3000:])
    # the run stopped in the preflight play: no play that changes hosts started
    assert "PLAY [Brokers, and the DCV servers beside them]" not in output, output[-3000:]
    assert all(count["changed"] == 0 for count in stack.recap(output).values()), output[-2000:]


def test_bad_inputs_changed_nothing(bad_input_runs):
    _results, before, after = bad_input_runs
    assert after == before


def test_missing_package_dir_on_the_control_node_is_refused(bad_input_runs):
    results, before, after = bad_input_runs
    rc, output = results[len(BAD_INPUTS)]
    assert rc != 0
    assert MISSING_PACKAGE_DIR in output or "dcv_package_dir" in output, output[-3000:]
    assert after[0] == before[0]
