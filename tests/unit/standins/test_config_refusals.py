"""What the gateway, agent and DCV server stand-ins refuse, and how they say it."""

import os

import pytest

from dcvstandin.agent import load_agent_conf
from dcvstandin.configformats import ConfigError
from dcvstandin.gateway import check_pkcs8_key, load_gateway_conf
from dcvstandin.server import DcvServer, dcv_settings

GATEWAY = """\
[gateway]
web-listen-endpoints = ["0.0.0.0:8443"]
cert-file = "/c.pem"
cert-key-file = "/c.key"
[resolver]
url = "https://broker:8447"
"""


def gateway_conf(tmp_path, text):
    path = tmp_path / "dcv-connection-gateway.conf"
    path.write_text(text)
    warnings = []
    return load_gateway_conf(str(path), warnings.append), warnings, str(path)


@pytest.mark.parametrize("key,line", [("web-port = 8443", 3), ("quic-port = 8443", 3),
                                      ("web-url-path-regex = '.*'", 3)])
def test_gateway_refuses_keys_that_do_not_exist_with_file_line_and_key(tmp_path, key, line):
    text = GATEWAY.replace('web-listen-endpoints = ["0.0.0.0:8443"]\n',
                           'web-listen-endpoints = ["0.0.0.0:8443"]\n%s\n' % key)
    with pytest.raises(ConfigError) as info:
        gateway_conf(tmp_path, text)
    name = key.split(" ")[0]
    assert "dcv-connection-gateway.conf:%d: [gateway] %s: this key does not exist" % (line, name) in str(info.value)


def test_gateway_refuses_unknown_keys_and_tables(tmp_path):
    with pytest.raises(ConfigError, match=r"conf:7: \[resolver\] timeout: unknown key"):
        gateway_conf(tmp_path, GATEWAY + "timeout = 5\n")
    with pytest.raises(ConfigError, match=r"unknown table \[session\]"):
        gateway_conf(tmp_path, GATEWAY + "[session]\na = 1\n")


def test_gateway_accepts_unconfirmed_keys_with_a_warning(tmp_path):
    _conf, warnings, _path = gateway_conf(tmp_path, GATEWAY + "[log]\nlevel = \"info\"\ndirectory = \"/var/log/x\"\n")
    assert any("[log] directory: unconfirmed key" in w for w in warnings)


def test_gateway_refuses_urls_as_listen_endpoints(tmp_path):
    with pytest.raises(ConfigError, match="is not a socket address"):
        gateway_conf(tmp_path, GATEWAY.replace('"0.0.0.0:8443"', '"https://0.0.0.0:8443"'))


def test_gateway_refuses_a_multi_line_inline_table(tmp_path):
    with pytest.raises(ConfigError, match="dcv-connection-gateway.conf"):
        gateway_conf(tmp_path, GATEWAY + "[web-resources]\nlocal-resources-http-headers = [{\n name = 'a' }]\n")


def test_gateway_warns_when_tls_strict_is_off(tmp_path):
    _conf, warnings, _path = gateway_conf(tmp_path, GATEWAY + "tls-strict = false\n")
    assert any("TLS verification is OFF" in w for w in warnings)


def test_gateway_requires_an_owner_only_pkcs8_key(pki):
    leaf = pki.leaf("main", "gw")
    check_pkcs8_key(leaf["key"])
    with pytest.raises(ConfigError, match=r'must be a PKCS#8 PEM key \("BEGIN PRIVATE KEY"\), found "BEGIN EC PRIVATE KEY"'):
        check_pkcs8_key(leaf["key_traditional"])
    os.chmod(leaf["key"], 0o640)
    with pytest.raises(ConfigError, match="mode 0640; the key must be 0600"):
        check_pkcs8_key(leaf["key"])


AGENT = "version = '0.1'\n[agent]\nbroker_host = 'broker'\nbroker_port = 8445\n"


def agent_conf(tmp_path, text):
    path = tmp_path / "agent.conf"
    path.write_text(text)
    return load_agent_conf(str(path))


def test_agent_defaults_to_strict_tls(tmp_path):
    settings = agent_conf(tmp_path, AGENT)
    assert settings["tls_strict"] is True and settings["broker_update_interval"] == 30


@pytest.mark.parametrize("text,message", [
    (AGENT.replace("broker_host = 'broker'\n", ""), r"\[agent\] broker_host is required"),
    (AGENT.replace("broker_port = 8445\n", ""), r"\[agent\] broker_port is required"),
    (AGENT + "broker_ca = '/x'\n", r"unknown key\(s\) in \[agent\]: broker_ca"),
    (AGENT + "[session]\nx = 1\n", r"unknown table \[session\]"),
    (AGENT.replace("8445", "'8445'"), "broker_port must be a int"),
    (AGENT + "tls_strict = 'yes'\n", "tls_strict must be a bool"),
    (AGENT + "ca_file = \n", "agent.conf"),
])
def test_agent_refuses_bad_configs(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        agent_conf(tmp_path, text)


def test_dcv_settings_types_and_defaults():
    settings = dcv_settings({})
    assert (settings["web-port"], settings["web-url-path"], settings["create-session"]) == (8443, "/", False)
    with pytest.raises(ConfigError, match="web-port"):
        dcv_settings({"connectivity": {"web-port": "8443"}})
    with pytest.raises(ConfigError, match="web-url-path must start with '/'"):
        dcv_settings({"connectivity": {"web-url-path": "dcv"}})


def test_dcv_settings_idle_timeout_is_a_number_of_minutes():
    assert dcv_settings({})["idle-timeout"] == 60
    assert dcv_settings({"connectivity": {"idle-timeout": 0}})["idle-timeout"] == 0
    # a quoted number is a string to the server: the role must write idle-timeout=30, never idle-timeout="30"
    with pytest.raises(ConfigError, match=r"\[connectivity\] idle-timeout = '30': expected int"):
        dcv_settings({"connectivity": {"idle-timeout": "30"}})


def test_dcv_server_sessions_administrators_and_xdcv(tmp_path, pki):
    import getpass
    conf = tmp_path / "dcv.conf"
    conf.write_text("[session-management]\ncreate-session = true\n"
                    "[session-management/automatic-console-session]\nowner = \"%s\"\n"
                    "[connectivity]\nweb-port = 0\n[security]\nadministrators = [\"someone-else\"]\n"
                    % getpass.getuser())
    server = DcvServer(str(conf), str(tmp_path), str(tmp_path / "ctl.sock"), str(tmp_path / "dcv.log"),
                       xdcv=str(tmp_path / "no-Xdcv"), www_dir=str(tmp_path), bind_host="127.0.0.1")
    server.start()
    try:
        assert os.path.exists(str(tmp_path / "dcv.pem"))  # self-signed pair when none is given
        assert [s["id"] for s in server.control({"command": "list-sessions"}, 12345)["sessions"]] == ["console"]
        request = {"command": "create-session", "id": "s1", "owner": getpass.getuser(), "type": "virtual"}
        assert "not in [security] administrators" in server.control(request, 54321)["error"]
        assert "need nice-xdcv" in server.control(request, 0)["error"]
        request["owner"] = "no-such-user-here"
        assert "does not exist on this host" in server.control(request, 0)["error"]
        request.update(owner=getpass.getuser(), type="console")
        assert "console session already exists" in server.control(request, 0)["error"]
    finally:
        server.stop()


# sm-admin "Release notes and document history for Amazon DCV Session Manager": max_virtual_sessions and
# max_concurrent_sessions_per_user (2021.0-10242), enable_query_logged_in_users (2025.0-539) are [agent] keys.
def test_agent_accepts_the_keys_of_the_release_notes(tmp_path):
    settings = agent_conf(tmp_path, AGENT + "max_virtual_sessions = 4\nmax_concurrent_sessions_per_user = 0\n"
                                            "enable_query_logged_in_users = true\n")
    assert (settings["max_virtual_sessions"], settings["max_concurrent_sessions_per_user"],
            settings["enable_query_logged_in_users"]) == (4, 0, True)


@pytest.mark.parametrize("line, message", [
    ("max_virtual_sessions = -1", "max_virtual_sessions must be a non-negative integer"),
    ("max_virtual_sessions = '4'", "max_virtual_sessions must be a int"),
    ("max_concurrent_sessions_per_user = true", "max_concurrent_sessions_per_user must be a int"),
    ("enable_query_logged_in_users = 'yes'", "enable_query_logged_in_users must be a bool"),
    ("broker_update_interval = 0", "broker_update_interval must be a positive number of seconds"),
])
def test_agent_checks_the_types_of_those_keys(tmp_path, line, message):
    with pytest.raises(ConfigError, match=message):
        agent_conf(tmp_path, AGENT + line + "\n")


# gw-admin "Configuration File Reference": listen endpoints are socket addresses in IP address syntax.
@pytest.mark.parametrize("endpoint", ["gateway.example.internal:8443", "localhost:8443", "256.1.1.1:8443",
                                      "[gw]:8443", "[10.0.0.1]:8443", "::1:8443"])
def test_gateway_refuses_host_names_as_listen_endpoints(tmp_path, endpoint):
    with pytest.raises(ConfigError, match="is not a socket address IP:port"):
        gateway_conf(tmp_path, GATEWAY.replace('"0.0.0.0:8443"', '"%s"' % endpoint))


@pytest.mark.parametrize("endpoint", ["0.0.0.0:8443", "[::]:8443", "10.1.2.3:443", "[fe80::1]:8443"])
def test_gateway_accepts_ip_socket_addresses(tmp_path, endpoint):
    conf, _warnings, _path = gateway_conf(tmp_path, GATEWAY.replace('"0.0.0.0:8443"', '"%s"' % endpoint))
    assert conf["gateway"]["web-listen-endpoints"] == [endpoint]


# gw-admin "Configuration File Reference": without cert-file the gateway generates a self-signed certificate;
# cert-file and cert-key-file go together.
def test_gateway_without_a_certificate_serves_a_self_signed_one(tmp_path, ports):
    import ssl

    from dcvstandin import common
    from dcvstandin.gateway import Gateway
    text = ("[gateway]\nweb-listen-endpoints = [\"127.0.0.1:%(web)d\"]\n[health-check]\nbind-addr = \"127.0.0.1\"\n"
            "port = %(health)d\n[resolver]\nurl = \"https://broker:8447\"\n") % ports
    _conf, warnings, path = gateway_conf(tmp_path, text)
    assert any("no cert-file/cert-key-file" in w and "self-signed" in w for w in warnings)
    gateway = Gateway(path, str(tmp_path / "gateway.log"))
    gateway.start()
    try:
        # a strict client refuses the generated certificate; a client that trusts nothing in particular gets it
        with pytest.raises(ssl.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
            common.https_request("GET", "https://127.0.0.1:%d/" % ports["web"], common.client_context(None))
        status, _body, _peer = common.https_request("GET", "https://127.0.0.1:%d/" % ports["web"],
                                                    common.client_context(None, False))
        assert 200 <= status < 600  # TLS worked (what is served there does not matter here)
    finally:
        gateway.stop()
    assert "generated self-signed certificate" in (tmp_path / "gateway.log").read_text()


@pytest.mark.parametrize("drop", ["cert-file", "cert-key-file"])
def test_gateway_refuses_a_certificate_without_its_key_and_the_other_way_round(tmp_path, drop):
    text = "\n".join(line for line in GATEWAY.splitlines() if not line.startswith(drop + " ")) + "\n"
    with pytest.raises(ConfigError, match="set both or neither"):
        gateway_conf(tmp_path, text)
