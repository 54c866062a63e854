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
