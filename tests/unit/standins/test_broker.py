"""Broker stand-in: properties rules, TLS identities, OAuth2 client credentials, the CLI,
persistence across restarts, and the resolver's 404."""

import base64
import json
import os
import ssl

import pytest
from cryptography import x509

from dcvstandin import brokercli, common
from dcvstandin.broker import RESOLVER_404, Broker
from dcvstandin.configformats import ConfigError


def request(method, port, path, ca, body=None, headers=None, cert=None):
    context = common.client_context(ca, True, *(cert or (None, None)))
    status, data, _peer = common.https_request(method, "https://localhost:%d%s" % (port, path), context,
                                               body=body, headers=headers)
    return status, data


def register_client(broker, capsys, name="automation"):
    assert brokercli.main(["--properties", broker.properties_file, "--state-dir", broker.state_dir,
                           "register-api-client", "--client-name", name]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("client-id: ") and out[1].startswith("client-password: ")
    return out[0].split(": ", 1)[1], out[1].split(": ", 1)[1]


def token(broker, ca, client_id, secret):
    basic = base64.b64encode(("%s:%s" % (client_id, secret)).encode()).decode()
    return request("POST", broker.ports["client"], "/oauth2/token?grant_type=client_credentials", ca,
                   body="", headers={"Authorization": "Basic " + basic,
                                     "Content-Type": "application/x-www-form-urlencoded"})


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o660])
def test_refuses_properties_with_wrong_mode(make_broker, mode):
    with pytest.raises(ConfigError, match="must be owned by uid .* mode 0640"):
        make_broker(mode=mode)


def test_refuses_properties_with_wrong_group(tmp_path, ports, pki, helpers):
    path = helpers.write(tmp_path / "b.properties", helpers.broker_properties(ports, pki), 0o640)
    broker = Broker(path, str(tmp_path), str(tmp_path / "b.log"), owner_uid=os.getuid(),
                    owner_gid=os.getgid() + 1)
    with pytest.raises(ConfigError, match="group dcvsmbroker"):
        broker.start()


def test_trailing_comment_makes_a_boolean_invalid(make_broker):
    with pytest.raises(ConfigError, match=r"enable-gateway = 'true # resolver' is not a boolean"):
        make_broker(properties="enable-gateway = true # resolver\n")


def test_unknown_keys_are_ignored_with_a_log_line(make_broker, tmp_path):
    make_broker(extra="enable-session-resolver = true\nca-file = /etc/ca.pem\n")
    log = (tmp_path / "broker.log").read_text()
    assert "enable-session-resolver: unknown property ignored" in log
    assert "ca-file: unknown property ignored" in log


def test_pkcs12_identity_verifies_with_the_ca_and_host_name(make_broker, pki):
    broker = make_broker()
    status, _body = request("GET", broker.ports["client"], "/health", pki.ca("main"))
    assert status == 200
    with pytest.raises(ssl.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        request("GET", broker.ports["client"], "/health", pki.ca("other"))


def test_self_signed_identity_names_only_the_short_host_name(tmp_path, ports, helpers):
    properties = ("client-to-broker-connector-https-port = %(client)d\n"
                  "client-to-broker-connector-bind-host = 127.0.0.1\n"
                  "agent-to-broker-connector-https-port = %(agent)d\n"
                  "agent-to-broker-connector-bind-host = 127.0.0.1\n"
                  "cli-to-broker-port = %(cli)d\n") % ports
    path = helpers.write(tmp_path / "b.properties", properties, 0o640)
    broker = Broker(path, str(tmp_path / "state"), str(tmp_path / "b.log"), owner_uid=os.getuid(),
                    owner_gid=os.getgid(), hostname="brokerhost")
    broker.start()
    try:
        ca = str(tmp_path / "state" / "security" / "dcvsmbroker_ca.pem")
        cert = x509.load_pem_x509_certificate(open(ca, "rb").read())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert [n.value for n in san] == ["brokerhost"]
        # trusting the CA is not enough for "localhost": the certificate only names brokerhost
        with pytest.raises(ssl.SSLError, match="Hostname mismatch|IP address mismatch"):
            request("GET", broker.ports["client"], "/health", ca)
        assert "gateway" not in broker.ports  # enable-gateway defaults to false
    finally:
        broker.stop()


def test_oauth2_client_credentials_flow_and_restart_keeps_clients(make_broker, pki, capsys):
    ca = pki.ca("main")
    broker = make_broker()
    client_id, secret = register_client(broker, capsys)
    # readiness probe from the reference: unauthenticated request -> authorization error
    assert request("GET", broker.ports["client"], "/sessionConnectionData/x/y", ca)[0] == 401
    assert token(broker, ca, client_id, "wrong")[0] == 401
    assert token(broker, ca, "unknown", secret)[0] == 401
    status, data = token(broker, ca, client_id, secret)
    assert status == 200
    answer = json.loads(data)
    assert answer["token_type"] == "bearer" and answer["expires_in"] > 0
    auth = {"Authorization": "Bearer " + answer["access_token"]}
    assert request("POST", broker.ports["client"], "/describeSessions", ca, body={}, headers=auth)[0] == 200
    assert request("POST", broker.ports["client"], "/describeSessions", ca, body={},
                   headers={"Authorization": "Bearer nope"})[0] == 401

    broker.stop()
    restarted = make_broker()
    assert token(restarted, ca, client_id, secret)[0] == 200

    assert brokercli.main(["--properties", restarted.properties_file, "--state-dir", restarted.state_dir,
                           "describe-api-clients"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Api clients\n")
    assert json.loads(out.split("\n", 1)[1]) == [{"name": "automation", "id": client_id, "active": True}]
    assert brokercli.main(["--properties", restarted.properties_file, "--state-dir", restarted.state_dir,
                           "unregister-api-client", "--client-id", client_id]) == 0
    assert token(restarted, ca, client_id, secret)[0] == 401


def test_resolver_404_body_and_mtls(make_broker, pki):
    ca = pki.ca("main")
    broker = make_broker()
    client = pki.leaf("main", "gateway-client")
    status, data = request("POST", broker.ports["gateway"],
                           "/resolveSession?sessionId=console&transport=HTTP&clientIpAddress=1.2.3.4",
                           ca, cert=(client["cert"], client["key"]))
    assert (status, data.decode()) == (404, RESOLVER_404)
    assert RESOLVER_404 == "The requested combination of transport and sessionId does not exist"
    with pytest.raises((ssl.SSLError, ConnectionError)):
        request("POST", broker.ports["gateway"], "/resolveSession?sessionId=x&transport=HTTP", ca)
    stranger = pki.leaf("other", "stranger")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        request("POST", broker.ports["gateway"], "/resolveSession?sessionId=x&transport=HTTP", ca,
                cert=(stranger["cert"], stranger["key"]))


def test_token_verification_rejects_unknown_tokens(make_broker, pki):
    broker = make_broker()
    status, data = request("POST", broker.ports["agent"], "/agent/validate-authentication-token",
                           pki.ca("main"), body="sessionId=s&authenticationToken=t&clientAddress=1.1.1.1",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and data.decode().startswith('<auth result="no">')


# -- CreateSessions Requirements (sm-dev "CreateSessions") ------------------------------------------------------

SERVER_PROPERTIES = {"Id": "srv-1", "Hostname": "dcv1", "Version": "2025.0.20103",
                     "SessionManagerAgentVersion": "2025.0.886", "Host.Os.Family": "linux",
                     "Host.Memory.TotalBytes": 17179869184, "Host.CpuInfo.NumberOfCpus": 8}
SERVER_TAGS = {"pool": "gpu", "color": "pink"}


@pytest.mark.parametrize("expression, expected", [
    ("server:Hostname = 'dcv1'", True),
    ("server:Hostname = 'dcv2'", False),
    ("server:Id = 'srv-1' and server:Host.Os.Family = 'linux'", True),
    # the example of sm-dev "CreateSessions"
    ("tag:color = 'pink' and (server:Host.Os.Family = 'windows' or tag:color := 'red')", False),
    ("tag:color = 'pink' and (server:Host.Os.Family = 'linux' or tag:color := 'red')", True),
    ("server:Host.Memory.TotalBytes > 1024", True),
    ("server:Host.Memory.TotalBytes >= 17179869185", False),
    ("server:Host.CpuInfo.NumberOfCpus <= 8 and server:Host.CpuInfo.NumberOfCpus < 9", True),
    ("not server:Hostname != 'dcv1'", True),
    ("NOT (tag:pool = 'cpu' OR tag:pool = 'big')", True),
    ("tag:color := 'in'", True),
    ("tag:color := 'p%k'", True),
    ("tag:missing = 'x'", False),
    ("server:Host.Aws.Region = 'eu-west-1'", False),  # documented family, not reported: no match
])
def test_requirements_grammar(expression, expected):
    from dcvstandin.broker import parse_requirements, requirements_match
    assert requirements_match(parse_requirements(expression), SERVER_PROPERTIES, SERVER_TAGS) is expected


@pytest.mark.parametrize("expression, message", [
    ("server:Host.Hostname = 'dcv1'", r"server property 'Host.Hostname' does not exist.*server:Hostname = 'dcv1'"),
    ("server:Ip = '10.0.0.1'", "server property 'Ip' does not exist"),
    ("server:Hostname == 'dcv1'", "expected a 'quoted' value"),
    ("server:Hostname = 'dcv1' and", "expected operand"),
    ("(server:Hostname = 'dcv1'", "expected rparen"),
    ("server:Hostname = dcv1", "expected a 'quoted' value"),
    ("", "empty"),
])
def test_requirements_the_product_refuses(expression, message):
    from dcvstandin.broker import RequirementError, parse_requirements
    with pytest.raises(RequirementError, match=message):
        parse_requirements(expression)


# -- persistence keys (sm-admin "Configuring broker persistence", "Broker configuration file") ----------------

def test_dynamodb_persistence_is_accepted_and_the_log_says_state_stays_in_memory(make_broker, tmp_path):
    make_broker(extra="enable-persistence = true\npersistence-db = dynamodb\ndynamodb-region = eu-west-1\n"
                      "dynamodb-table-rcu = 10\ndynamodb-table-wcu = 10\ndynamodb-table-name-prefix = DcvSm-\n"
                      "jdbc-connection-url = jdbc:mysql://db:3306/dcv?createDatabaseIfNotExist=true\n"
                      "jdbc-user = dcv\njdbc-password = secret\n")
    log = (tmp_path / "broker.log").read_text()
    assert "DynamoDB is not modelled by the stand-in" in log and "in memory" in log
    assert "unknown property" not in log and "secret" not in log


# -- unregister-api-client deactivates (sm-admin "unregister-api-client") -------------------------------------

def test_unregister_api_client_deactivates_the_client(make_broker, pki, capsys):
    ca = pki.ca("main")
    broker = make_broker()
    client_id, secret = register_client(broker, capsys)
    assert token(broker, ca, client_id, secret)[0] == 200
    assert brokercli.main(["--properties", broker.properties_file, "--state-dir", broker.state_dir,
                           "unregister-api-client", "--client-id", client_id]) == 0
    assert capsys.readouterr().out == "Client %s unregistered.\n" % client_id
    assert brokercli.main(["--properties", broker.properties_file, "--state-dir", broker.state_dir,
                           "describe-api-clients"]) == 0
    listed = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert listed == [{"name": "automation", "id": client_id, "active": False}]
    assert token(broker, ca, client_id, secret)[0] == 401


def test_broker_java_home_must_hold_bin_java(make_broker, tmp_path):
    # sm-admin "Broker configuration file": with broker-java-home set the broker runs <broker-java-home>/bin/java
    missing = tmp_path / "no-jdk"
    with pytest.raises(ConfigError, match=r"broker-java-home = %s: %s/bin/java does not exist" % (missing, missing)):
        make_broker(extra="broker-java-home = %s\n" % missing)
    home = tmp_path / "jdk-11"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text("#!/bin/sh\n")
    java.chmod(0o644)
    with pytest.raises(ConfigError, match="is not executable"):
        make_broker(extra="broker-java-home = %s\n" % home)
    java.chmod(0o755)
    broker = make_broker(extra="broker-java-home = %s\n" % home)
    assert broker.settings["broker-java-home"] == str(home)
    assert "broker-java-home = %s: the real broker would run %s" % (home, java) in (tmp_path / "broker.log").read_text()


def test_refusal_to_start_is_logged(tmp_path, ports, pki, helpers, monkeypatch):
    from dcvstandin import broker as broker_module
    path = helpers.write(tmp_path / "b.properties",
                         helpers.broker_properties(ports, pki, "broker-java-home = /nonexistent/jdk\n"), 0o640)
    log = tmp_path / "b.log"
    original = broker_module.Broker.__init__
    # the properties file belongs to the test user, so the stand-in is told to expect that owner
    monkeypatch.setattr(broker_module.Broker, "__init__", lambda self, *args, **kwargs: original(
        self, *args, **dict(kwargs, owner_uid=os.getuid(), owner_gid=os.getgid())))
    assert broker_module.main(["--properties", path, "--state-dir", str(tmp_path), "--log-file", str(log)]) == 1
    assert "refusing to start: broker-java-home = /nonexistent/jdk: /nonexistent/jdk/bin/java does not exist" \
        in log.read_text()
