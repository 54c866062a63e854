# -*- coding: utf-8 -*-
"""What the roles derive from their inputs, read by ansible-playbook on localhost from the roles' own files: the
gateway's firewall ports, the broker's rendered properties (broker-to-broker TLS, broker-java-home), the broker
preflight's choice of a Java home, and dcv_common's refusal of a CA that no longer parses.

The role files are loaded as they are (defaults, then vars, then the case's inputs; the wiring comes from the real
dcv_wiring filter), and the preflight tasks are read from the role by name, so these tests follow the roles.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.dcvkit.session_manager.plugins.filter.wiring import dcv_wiring
from ansible_collections.dcvkit.session_manager.plugins.module_utils import pki_ca, pki_files, pki_x509
from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_config_formats import parse_java_properties
from ansible_collections.dcvkit.session_manager.plugins.module_utils.preflight import broker
from ansible_collections.dcvkit.session_manager.tests.unit.roles.role_playbook import ROLES, role_tasks, run_plays

HOST = "testhost"


def role_file(role, *parts):
    return os.path.join(ROLES, role, *parts)


def wiring(groups, hostvars):
    result = dcv_wiring(groups, hostvars)
    assert result["errors"] == []
    return result


FRONTEND = wiring({"dcv_brokers": [HOST], "dcv_gateways": [HOST]},
                  {HOST: {"dcv_host_name": "host-a.example.internal", "dcv_gateway_public_names": ["desk.example.com"]}})
HEALTH_9000 = wiring({"dcv_brokers": ["broker"], "dcv_gateways": [HOST]},
                     {HOST: {"dcv_gateway_public_names": ["desk.example.com"], "dcv_gateway_health_port": 9000,
                             "dcv_gateway_web_port": 443}, "broker": {}})
CLUSTER = wiring({"dcv_brokers": [HOST, "b2"]},
                 {HOST: {"dcv_host_name": "b1.example.internal"}, "b2": {"dcv_host_name": "b2.example.internal"}})

# (id, wiring, inputs, expected dcv_gateway_firewall_ports)
GATEWAY_CASES = [
    # gw-admin "Scaling the Amazon DCV Connection Gateway": the load balancer checks the [health-check] port
    ("health-port-default", FRONTEND, {}, ["8443/tcp", "8989/tcp"]),
    ("health-port-moved", HEALTH_9000, {}, ["443/tcp", "9000/tcp"]),
    ("quic", FRONTEND, {"dcv_gateway_quic_enabled": True}, ["8443/tcp", "8989/tcp", "8443/udp"]),
]

# (id, wiring, inputs, keys that must be in the properties, keys that must not)
BROKER_CASES = [
    # no public source says what broker-to-broker-key-store-file/-pass change between brokers: only when asked
    ("cluster-tls-off", CLUSTER, {"_dcv_broker_java_home": ""}, [],
     ["broker-to-broker-key-store-file", "broker-to-broker-key-store-pass", "broker-java-home"]),
    ("cluster-tls-on", CLUSTER, {"dcv_broker_cluster_tls": True, "_dcv_broker_java_home": ""},
     ["broker-to-broker-key-store-file", "broker-to-broker-key-store-pass"], ["broker-java-home"]),
    # sm-admin "Broker configuration file": broker-java-home, the broker runs <broker-java-home>/bin/java
    ("java-home", FRONTEND, {"_dcv_broker_java_home": "/usr/lib/jvm/java-11-openjdk-amd64"}, ["broker-java-home"],
     ["broker-to-broker-key-store-file"]),
    # sm-admin "Configuring broker persistence": per database exactly the keys the guide names for it
    ("persistence-none", FRONTEND, {"_dcv_broker_java_home": ""}, ["enable-persistence"],
     ["persistence-db", "jdbc-connection-url", "jdbc-user", "jdbc-password", "dynamodb-region", "dynamodb-table-rcu",
      "dynamodb-table-wcu", "dynamodb-table-name-prefix"]),
    ("persistence-mysql", CLUSTER,
     {"_dcv_broker_java_home": "", "dcv_broker_persistence": "mysql",
      "dcv_broker_jdbc_url": "jdbc:mysql://db.example.internal:3306/dcvsm?createDatabaseIfNotExist=true",
      "dcv_broker_jdbc_user": "dcvsm", "dcv_broker_jdbc_password": "p#ss w0rd!"},
     ["enable-persistence", "persistence-db", "jdbc-connection-url", "jdbc-user", "jdbc-password"],
     ["dynamodb-region", "dynamodb-table-rcu", "dynamodb-table-wcu", "dynamodb-table-name-prefix"]),
    ("persistence-dynamodb", CLUSTER,
     {"_dcv_broker_java_home": "", "dcv_broker_persistence": "dynamodb", "dcv_broker_dynamodb_region": "eu-west-1",
      "dcv_broker_dynamodb_table_prefix": "Lab-", "dcv_broker_dynamodb_table_wcu": 5},
     ["enable-persistence", "persistence-db", "dynamodb-region", "dynamodb-table-rcu", "dynamodb-table-wcu",
      "dynamodb-table-name-prefix"], ["jdbc-connection-url", "jdbc-user", "jdbc-password"]),
]
# what the persistence keys read back as (java.util.Properties rules), per case
PERSISTENCE_VALUES = {
    "persistence-none": {"enable-persistence": "false"},
    "persistence-mysql": {"enable-persistence": "true", "persistence-db": "mysql",
                          "jdbc-connection-url": "jdbc:mysql://db.example.internal:3306/dcvsm?createDatabaseIfNotExist=true",
                          "jdbc-user": "dcvsm", "jdbc-password": "p#ss w0rd!"},
    "persistence-dynamodb": {"enable-persistence": "true", "persistence-db": "dynamodb", "dynamodb-region": "eu-west-1",
                             "dynamodb-table-rcu": "10", "dynamodb-table-wcu": "5", "dynamodb-table-name-prefix": "Lab-"},
}

# (id, facts, the Java home the role's own package installs): sm-admin "Step 2: Set up the Amazon DCV Session Manager
# broker" wants Java 11; Corretto 11 User Guide "Amazon Corretto 11 Installation Instructions for Amazon Linux 2":
# /usr/lib/jvm/java-11-amazon-corretto.<cpu_arch>
DERIVE_CASES = [
    ("derive-al2023", {"distribution": "Amazon", "os_family": "RedHat", "architecture": "x86_64"},
     "/usr/lib/jvm/java-11-amazon-corretto.x86_64"),
    ("derive-al2023-arm", {"distribution": "Amazon", "os_family": "RedHat", "architecture": "aarch64"},
     "/usr/lib/jvm/java-11-amazon-corretto.aarch64"),
    ("derive-ubuntu", {"distribution": "Ubuntu", "os_family": "Debian", "architecture": "x86_64"},
     "/usr/lib/jvm/java-11-openjdk-amd64"),
    ("derive-ubuntu-arm", {"distribution": "Ubuntu", "os_family": "Debian", "architecture": "aarch64"},
     "/usr/lib/jvm/java-11-openjdk-arm64"),
    ("derive-rocky", {"distribution": "Rocky", "os_family": "RedHat", "architecture": "x86_64"},
     "/usr/lib/jvm/jre-11-openjdk"),
    # Debian 12 has no Java 11: the role installs its Java 17 (vars/main.yml)
    ("derive-debian", {"distribution": "Debian", "os_family": "Debian", "architecture": "x86_64"},
     "/usr/lib/jvm/java-17-openjdk-amd64"),
]

UBUNTU = {"distribution": "Ubuntu", "os_family": "Debian"}
AL2023 = {"distribution": "Amazon", "os_family": "RedHat"}
# (id, facts, inputs, the packages the dcv_server role installs for the desktop, GDM's custom.conf): admin guide
# "Prerequisites for Linux Amazon DCV servers": a desktop with GDM (Wayland off in its custom.conf), and the XDummy
# driver for console sessions on hosts without a GPU
DESKTOP_CASES = [
    ("desktop-default-ubuntu", UBUNTU, {}, ["ubuntu-desktop-minimal", "gdm3"], "/etc/gdm3/custom.conf"),
    ("desktop-console-ubuntu", UBUNTU, {"dcv_server_session_type": "console"},
     ["ubuntu-desktop-minimal", "gdm3", "xserver-xorg-video-dummy"], "/etc/gdm3/custom.conf"),
    ("desktop-console-ubuntu-gpu", UBUNTU, {"dcv_server_session_type": "console", "dcv_server_gpu": True},
     ["ubuntu-desktop-minimal", "gdm3"], "/etc/gdm3/custom.conf"),
    ("desktop-console-al2023", AL2023, {"dcv_server_session_type": "console"}, ["@GNOME", "xorg-x11-drv-dummy"],
     "/etc/gdm/custom.conf"),
    ("desktop-console-own", UBUNTU, {"dcv_server_session_type": "console", "dcv_server_desktop": "none"}, [],
     "/etc/gdm3/custom.conf"),
    ("desktop-xfce", UBUNTU, {"dcv_server_desktop": "xfce"},
     ["xfce4-session", "xfwm4", "xfce4-panel", "xfdesktop4", "xfce4-terminal", "dbus-x11"], "/etc/gdm3/custom.conf"),
]

# (id, inputs, {path under /etc/dcv-connection-gateway/certs: secret}): each TLS file the gateway role declares is
# the gateway user's alone (0600), whichever inputs add it
CERTS = "/etc/dcv-connection-gateway/certs/"
GATEWAY_TLS_CASES = [
    ("gateway-tls-ca-issued", {}, {}),
    ("gateway-tls-client-auth", {"dcv_gateway_client_auth": True}, {"broker-client.pem": False, "broker-client.key": True}),
    ("gateway-tls-own-certificate", {"dcv_gateway_client_auth": True, "dcv_gateway_certificate_src": "/own/gw.pem",
                                     "dcv_gateway_private_key_src": "/own/gw.key"},
     {"broker-client.pem": False, "broker-client.key": True, "ca.pem": False, "gateway.pem": False, "gateway.key": True}),
]

JAVA_PREFLIGHT = ["Refuse bad input before anything changes (the broker's checks, on the control node)",
                  "Look for the Java 11 home on the host when the role installs no Java",
                  "Choose the broker's Java home (broker-java-home)",
                  "Refuse a broker without a Java home when the role installs none"]
DERIVED = "/usr/lib/jvm/java-11-amazon-corretto.x86_64"
# (id, inputs; @JDK@ is a Java home with bin/java made by the test, @NOJDK@ one without; expected chosen home or
# the words the refusal must contain)
JAVA_CASES = [
    ("auto-installed", {"dcv_broker_java_home": "auto", "dcv_broker_install_java": True}, DERIVED),
    ("path-installed", {"dcv_broker_java_home": "/opt/jdk-11", "dcv_broker_install_java": True}, "/opt/jdk-11"),
    ("empty-means-unset", {"dcv_broker_java_home": "", "dcv_broker_install_java": False}, ""),
    ("auto-found", {"dcv_broker_java_home": "auto", "dcv_broker_install_java": False,
                    "dcv_broker_java_home_candidates": ["@NOJDK@", "@JDK@"]}, "@JDK@"),
    ("path-found", {"dcv_broker_java_home": "@JDK@", "dcv_broker_install_java": False,
                    "dcv_broker_java_home_candidates": ["@JDK@"]}, "@JDK@"),
    ("auto-none", {"dcv_broker_java_home": "auto", "dcv_broker_install_java": False,
                   "dcv_broker_java_home_candidates": ["@NOJDK@"]},
     ["host testhost: dcv_broker_install_java is false and dcv_broker_java_home is auto but no Java 11 home was "
      "found (looked for @NOJDK@/bin/java)", "dcv_broker_install_java: true", 'dcv_broker_java_home: ""']),
    ("path-without-java", {"dcv_broker_java_home": "@NOJDK@", "dcv_broker_install_java": False,
                           "dcv_broker_java_home_candidates": ["@NOJDK@"]},
     ["dcv_broker_java_home is @NOJDK@ but @NOJDK@/bin/java does not exist", "set dcv_broker_java_home"]),
    ("relative-path", {"dcv_broker_java_home": "jdk-11", "dcv_broker_install_java": True},
     ["host testhost: dcv_broker_java_home is jdk-11", "absolute path of a Java 11 home"]),
]


CA_TASKS = ["Ensure the collection's CA on the control node", "Stop when the CA on the control node cannot be used as it is"]
# (id, dcv_ca_rotate, None when the run goes on, else the words the refusal must contain; @CA@ is the CA directory)
CA_CASES = [
    ("ca-truncated", False, ["dcv_ca_path @CA@: path: the CA certificate @CA@/ca.pem no longer parses",
                             "restore @CA@/ca.pem from a backup", "dcv_ca_rotate: true"]),
    ("ca-truncated-rotate", True, None),
]


def _truncated_ca(path):
    os.makedirs(path)
    key = pki_x509.generate_key("ecdsa")
    cert_path, key_path = pki_ca.ca_file_paths(path)
    pki_files.write_atomically(key_path, pki_x509.private_key_pkcs8_pem(key, None), -1, -1, 0o600)
    pem = pki_x509.certificate_pem(pki_ca.build_ca_certificate(key, "Test CA", 30)).encode("ascii")
    pki_files.write_atomically(cert_path, pem[:len(pem) // 2], -1, -1, 0o644)


def role_defaults(role, names):
    with open(role_file(role, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    return dict((name, defaults[name]) for name in names)


def _write_yaml(path, data):
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("role-vars")
    jdk, nojdk = tmp / "jdk-11", tmp / "no-jdk"
    (jdk / "bin").mkdir(parents=True)
    (jdk / "bin" / "java").write_text("#!/bin/sh\n")
    nojdk.mkdir()
    plays = []
    for case_id, case_wiring, inputs, _expected in GATEWAY_CASES:
        inputs_file = _write_yaml(tmp / ("%s.yml" % case_id), dict(inputs, dcv_wiring=case_wiring))
        plays.append({"name": case_id, "hosts": HOST, "gather_facts": False,
                      "vars_files": [role_file("dcv_common", "defaults", "main.yml"),
                                     role_file("dcv_gateway", "defaults", "main.yml"),
                                     role_file("dcv_gateway", "vars", "main.yml"), inputs_file],
                      "tasks": [{"name": "ports", "ansible.builtin.debug": {"var": "dcv_gateway_firewall_ports"}}]})
    for case_id, inputs, _expected in GATEWAY_TLS_CASES:
        inputs_file = _write_yaml(tmp / ("%s.yml" % case_id), dict(inputs, dcv_wiring=FRONTEND, dcv_ca_path="/ca"))
        plays.append({"name": case_id, "hosts": HOST, "gather_facts": False,
                      "vars_files": [role_file("dcv_common", "defaults", "main.yml"),
                                     role_file("dcv_gateway", "defaults", "main.yml"),
                                     role_file("dcv_gateway", "vars", "main.yml"), inputs_file],
                      "tasks": [{"name": "declared", "ansible.builtin.debug": {"var": "_dcv_gateway_tls_files"}}]})
    template = role_file("dcv_broker", "templates", "session-manager-broker.properties.j2")
    for case_id, case_wiring, inputs, _present, _absent in BROKER_CASES:
        inputs_file = _write_yaml(tmp / ("%s.yml" % case_id),
                                  dict(inputs, dcv_wiring=case_wiring, dcv_secrets_path=str(tmp / "secrets")))
        plays.append({"name": case_id, "hosts": HOST, "gather_facts": False,
                      "vars_files": [role_file("dcv_common", "defaults", "main.yml"),
                                     role_file("dcv_broker", "defaults", "main.yml"),
                                     role_file("dcv_broker", "vars", "main.yml"), inputs_file],
                      "tasks": [{"name": "render", "ansible.builtin.debug": {
                          "msg": "{{ lookup('ansible.builtin.template', '%s') }}" % template}}]})
    for case_id, facts, _expected in DERIVE_CASES:
        inputs_file = _write_yaml(tmp / ("%s.yml" % case_id), {"ansible_facts": facts})
        plays.append({"name": case_id, "hosts": HOST, "gather_facts": False,
                      "vars_files": [role_file("dcv_common", "vars", "main.yml"),
                                     role_file("dcv_broker", "defaults", "main.yml"),
                                     role_file("dcv_broker", "vars", "main.yml"), inputs_file],
                      "tasks": [{"name": "derive", "ansible.builtin.debug": {"var": "dcv_broker_java_home_candidates"}}]})
    for case_id, facts, inputs, _packages, _gdm in DESKTOP_CASES:
        inputs_file = _write_yaml(tmp / ("%s.yml" % case_id), dict(inputs, ansible_facts=facts))
        plays.append({"name": case_id, "hosts": HOST, "gather_facts": False,
                      "vars_files": [role_file("dcv_server", "defaults", "main.yml"),
                                     role_file("dcv_server", "vars", "main.yml"), inputs_file],
                      "tasks": [{"name": "desktop", "ansible.builtin.debug": {
                          "msg": {"packages": "{{ dcv_server_desktop_package_list }}", "gdm": "{{ dcv_server_gdm_conf }}"}}}]})
    for case_id, rotate, _expected in CA_CASES:
        ca_dir = str(tmp / case_id)
        _truncated_ca(ca_dir)
        # a host of its own: each case registers its own _dcv_common_ca
        plays.append({"name": case_id, "hosts": case_id, "gather_facts": False,
                      "vars": {"dcv_ca_path": ca_dir, "dcv_ca_common_name": "Test CA", "dcv_ca_valid_days": 30,
                               "dcv_ca_key_type": "ecdsa", "dcv_ca_key_passphrase": "", "dcv_ca_rotate": rotate},
                      "tasks": role_tasks("dcv_common", "ca.yml", *CA_TASKS)})
    # the broker's checks (the form of dcv_broker_java_home among them) read the role's defaults of every other
    # variable they check; testhost is the broker of the wiring
    checked = dict(role_defaults("dcv_broker", [name for name in broker.NEEDS if name.startswith("dcv_broker_")]),
                   dcv_wiring={"broker_hosts": [HOST]},
                   **role_defaults("dcv_common", ["dcv_session_max_age_minutes", "dcv_session_idle_minutes"]))
    for case_id, inputs, _expected in JAVA_CASES:
        variables = dict(checked, dcv_broker_java_home_derived=DERIVED, dcv_broker_java_home_candidates=[DERIVED])
        variables.update(inputs)
        plays.append({"name": case_id, "hosts": HOST, "gather_facts": False, "vars": variables,
                      "tasks": role_tasks("dcv_broker", "preflight.yml", *JAVA_PREFLIGHT)})
    results = run_plays(tmp, plays, [HOST] + [case[0] for case in CA_CASES],
                        {"@JDK@": str(jdk), "@NOJDK@": str(nojdk)})
    return results, str(jdk), str(nojdk), str(tmp)


@pytest.mark.parametrize("case", GATEWAY_CASES, ids=[case[0] for case in GATEWAY_CASES])
def test_gateway_firewall_ports(outcomes, case):
    case_id, _wiring, _inputs, expected = case
    result = outcomes[0][case_id][0]
    assert not result.get("failed"), result
    assert result["dcv_gateway_firewall_ports"] == expected


@pytest.mark.parametrize("case", GATEWAY_TLS_CASES, ids=[case[0] for case in GATEWAY_TLS_CASES])
def test_gateway_tls_files_are_the_gateway_users_alone(outcomes, case):
    case_id, _inputs, expected = case
    result = outcomes[0][case_id][0]
    assert not result.get("failed"), result
    declared = dict((entry["path"], entry) for entry in result["_dcv_gateway_tls_files"])
    assert sorted(declared) == sorted(CERTS + name for name in expected)
    for name, secret in expected.items():
        entry = declared[CERTS + name]
        assert (entry["owner"], entry["group"], entry["mode"]) == ("dcvcgw", "dcvcgw", "0600"), entry
        assert bool(entry.get("secret")) == secret, entry


@pytest.mark.parametrize("case", BROKER_CASES, ids=[case[0] for case in BROKER_CASES])
def test_broker_properties(outcomes, case):
    case_id, _wiring, inputs, present, absent = case
    result = outcomes[0][case_id][0]
    assert not result.get("failed"), result
    properties, duplicates = parse_java_properties(result["msg"])
    assert duplicates == []
    for key in present:
        assert key in properties, key
    for key in absent:
        assert key not in properties, key
    if "broker-to-broker-key-store-file" in present:
        assert properties["broker-to-broker-key-store-file"] == "/etc/dcv-session-manager-broker/tls/broker.p12"
        assert properties["broker-to-broker-key-store-pass"] == properties["client-to-broker-connector-key-store-pass"]
    if "broker-java-home" in present:
        assert properties["broker-java-home"] == inputs["_dcv_broker_java_home"]
    for key, value in PERSISTENCE_VALUES.get(case_id, {}).items():
        assert properties[key] == value, key
    # the cluster itself is wired either way
    assert "broker-to-broker-discovery-addresses" in properties


@pytest.mark.parametrize("case", DERIVE_CASES, ids=[case[0] for case in DERIVE_CASES])
def test_broker_java_home_per_os(outcomes, case):
    case_id, _facts, expected = case
    result = outcomes[0][case_id][0]
    assert not result.get("failed"), result
    # the home the role installs is the first place preflight looks, then the other Java 11 homes
    candidates = result["dcv_broker_java_home_candidates"]
    assert candidates[0] == expected
    assert len(candidates) == len(set(candidates)) and all(c.startswith("/usr/lib/jvm/") for c in candidates)


@pytest.mark.parametrize("case", JAVA_CASES, ids=[case[0] for case in JAVA_CASES])
def test_broker_java_home_preflight(outcomes, case):
    case_id, _inputs, expected = case
    results, jdk, nojdk, _tmp = outcomes
    failures = [r.get("msg", "") for r in results[case_id] if r.get("failed")]
    if isinstance(expected, list):
        # a real run stops at the first refusal (ignore_errors lets the later tasks run here too)
        assert failures, results[case_id]
        for words in expected:
            assert words.replace("@JDK@", jdk).replace("@NOJDK@", nojdk) in failures[0], failures[0]
    else:
        assert failures == []
        chosen = [r["ansible_facts"]["_dcv_broker_java_home"] for r in results[case_id]
                  if "_dcv_broker_java_home" in r.get("ansible_facts", {})]
        assert chosen == [expected.replace("@JDK@", jdk)]


@pytest.mark.parametrize("case", CA_CASES, ids=[case[0] for case in CA_CASES])
def test_ca_that_no_longer_parses(outcomes, case):
    case_id, _rotate, expected = case
    results, _jdk, _nojdk, tmp = outcomes
    ca_dir = os.path.join(tmp, case_id)
    ensure, stop = results[case_id]
    if expected is None:
        # dcv_ca_rotate: a new CA on purpose, the old files kept beside it
        assert not ensure.get("failed") and stop.get("skipped"), (ensure, stop)
        assert pki_ca.load_ca(ca_dir).certificate is not None
        assert sorted(name.split(".replaced-")[0] for name in os.listdir(ca_dir) if ".replaced-" in name) == \
            ["ca.key", "ca.pem"]
    else:
        # no_log hides the module's own result; the next task names the file and the ways out
        assert ensure.get("failed") and stop.get("failed"), (ensure, stop)
        for words in expected:
            assert words.replace("@CA@", ca_dir) in stop["msg"], stop["msg"]
        assert sorted(os.listdir(ca_dir)) == ["ca.key", "ca.pem"]


@pytest.mark.parametrize("case", DESKTOP_CASES, ids=[case[0] for case in DESKTOP_CASES])
def test_server_desktop_packages(outcomes, case):
    case_id, _facts, _inputs, packages, gdm = case
    result = outcomes[0][case_id][0]
    assert not result.get("failed"), result
    assert result["msg"] == {"packages": packages, "gdm": gdm}
