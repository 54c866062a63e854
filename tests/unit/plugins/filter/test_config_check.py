# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dcvkit.session_manager.plugins.filter.config_check import (
    dcv_broker_property_problems,
    dcv_gateway_setting_problems,
)
from ansible_collections.dcvkit.session_manager.plugins.module_utils import dcv_catalog as catalog
from ansible_collections.dcvkit.session_manager.plugins.module_utils import dcv_config_formats as formats

TRICKY = {
    "plain": "value",
    "with-hash": "pa#ss",
    "leading-space": "  x",
    "backslash": "C:\\path\\",
    "colon:key": "a=b:c",
    "unicode": u"caf\u00e9",
    "empty": "",
    "flag": True,
    "number": 8443,
}


def _render(properties):
    return "".join("%s = %s\n" % (formats.java_properties_key(k), formats.java_properties_value(v))
                   for k, v in properties.items())


def test_properties_round_trip():
    assert formats.java_properties_problems(_render(TRICKY), TRICKY) == []


def test_properties_agree_with_javaproperties_library():
    javaproperties = pytest.importorskip("javaproperties")
    text = _render(TRICKY) + "continued = one\\\n    two\n! comment\n  # comment\nspaced    value here\n"
    mine, duplicates = formats.parse_java_properties(text)
    assert duplicates == []
    assert mine == javaproperties.loads(text)


def test_trailing_comment_becomes_part_of_value():
    parsed, duplicates = formats.parse_java_properties("enable-gateway = true # on\n")
    assert duplicates == []
    assert parsed["enable-gateway"] == "true # on"
    problems = formats.java_properties_problems("enable-gateway = true # on\n", {"enable-gateway": True})
    assert problems and "enable-gateway" in problems[0]


def test_duplicates_and_extra_keys_reported():
    problems = formats.java_properties_problems("a=1\na=2\nb=3\n", {"a": "2"})
    assert any("more than once" in p for p in problems)
    assert any("b is in the rendered file" in p for p in problems)


def test_malformed_unicode_escape_reported():
    assert "Malformed" in formats.java_properties_problems("a=\\u12\n", {"a": "x"})[0]


@pytest.mark.parametrize("key", sorted(catalog.BROKER_NONEXISTENT_KEYS))
def test_each_nonexistent_broker_key_refused_by_name(key):
    result = dcv_broker_property_problems({key: "x"})
    assert len(result["errors"]) == 1
    assert "'%s'" % key in result["errors"][0] and "dcv_broker_properties" in result["errors"][0]


def test_unknown_key_refused_and_escape_hatch_warns():
    result = dcv_broker_property_problems({"enable-gatway": "true"}, {"brand-new-key": "1"})
    assert "'enable-gatway'" in result["errors"][0]
    assert "dcv_broker_extra_properties" in result["errors"][0]
    assert len(result["warnings"]) == 1 and "brand-new-key" in result["warnings"][0]


def test_managed_key_points_to_variable():
    result = dcv_broker_property_problems({"client-to-broker-connector-https-port": 9000})
    assert "dcv_broker_client_port" in result["errors"][0]


def test_value_with_comment_refused():
    result = dcv_broker_property_problems({"create-sessions-queue-max-time-seconds": "1800 # half an hour"})
    assert "comment" in result["errors"][0]


def test_token_lifetime_is_set_through_its_variable():
    result = dcv_broker_property_problems({"connect-session-token-duration-minutes": 30})
    assert "dcv_broker_connect_session_token_minutes" in result["errors"][0]


def test_documented_key_accepted():
    assert dcv_broker_property_problems({"broker-to-broker-distributed-memory-max-size-mb": 512}) == {
        "errors": [], "warnings": []}


def test_toml_values_never_break_the_document():
    expected = {"gateway": {"web-listen-endpoints": ["0.0.0.0:8443"], "x": '{{Name}} "q" \\ \n'},
                "log": {"level": "info"}}
    text = ""
    for section, keys in expected.items():
        text += "[%s]\n" % formats.toml_key(section)
        for key, value in keys.items():
            text += "%s = %s\n" % (formats.toml_key(key), formats.toml_value(value))
    assert formats.toml_problems(text, expected) == []


def test_multiline_inline_table_fails_to_parse():
    problems = formats.toml_problems("[a]\nb = { c = 1,\n d = 2 }\n")
    assert problems and "does not parse" in problems[0]


def test_toml_mismatch_reported():
    assert formats.toml_problems('[a]\nb = "1"\n', {"a": {"b": 1}})


def test_gateway_section_with_brace_refused():
    result = dcv_gateway_setting_problems({"web-resources{": {"url": "x"}})
    assert "dcv_gateway_extra_settings" in result["errors"][0]


def test_gateway_nonexistent_key_refused():
    result = dcv_gateway_setting_problems({"gateway": {"web-port": 8443}})
    assert "web-port" in result["errors"][0]


# gw-admin "Configuration File Reference": listen endpoints are socket addresses in IP address syntax, so a host
# name (even one that resolves) is refused like a URL.
@pytest.mark.parametrize("endpoint,ok", [("0.0.0.0:8443", True), ("[::]:8443", True), ("10.0.0.5:8443", True),
                                         ("[fe80::1]:8443", True), ("gw:443", False),
                                         ("gateway.example.internal:8443", False), ("localhost:8443", False),
                                         ("999.1.1.1:8443", False), ("[10.0.0.5]:8443", False),
                                         ("https://0.0.0.0:8443", False), ("0.0.0.0", False),
                                         ("0.0.0.0:70000", False)])
def test_socket_addresses(endpoint, ok):
    assert (catalog.socket_address_problems([endpoint], "dcv_gateway_web_listen_endpoints") == []) is ok


def test_host_name_endpoint_names_the_variable_and_the_fix():
    problems = catalog.socket_address_problems(["gateway.example.internal:8443"], "dcv_gateway_web_listen_endpoints")
    assert len(problems) == 1
    assert problems[0].startswith("dcv_gateway_web_listen_endpoints: 'gateway.example.internal:8443'")
    assert '"0.0.0.0:8443"' in problems[0] and "not a host name" in problems[0]


# sm-admin "Release notes and document history for Amazon DCV Session Manager": [agent] max_virtual_sessions,
# max_concurrent_sessions_per_user (2021.0-10242) and enable_query_logged_in_users (2025.0-539).
def test_agent_keys_of_the_release_notes_are_accepted():
    from ansible_collections.dcvkit.session_manager.plugins.filter.config_check import dcv_agent_setting_problems
    result = dcv_agent_setting_problems({"agent": {"max_virtual_sessions": 4, "max_concurrent_sessions_per_user": 0,
                                                   "enable_query_logged_in_users": True}})
    assert result == {"errors": [], "warnings": []}


@pytest.mark.parametrize("key,value", [("max_virtual_sessions", -1), ("max_virtual_sessions", "4"),
                                       ("max_concurrent_sessions_per_user", True),
                                       ("enable_query_logged_in_users", "yes")])
def test_agent_keys_of_the_release_notes_are_type_checked(key, value):
    from ansible_collections.dcvkit.session_manager.plugins.filter.config_check import dcv_agent_setting_problems
    errors = dcv_agent_setting_problems({"agent": {key: value}})["errors"]
    assert len(errors) == 1 and errors[0].startswith("dcv_agent_extra_settings: [agent] %s must be" % key)


def test_ini_checks():
    text = '[connectivity]\nweb-port=8443\n[security]\nadministrators=["dcvsmagent"]\n'
    assert formats.ini_problems(text, {"connectivity": {"web-port": 8443}}) == []
    assert formats.ini_problems(text, {"connectivity": {"web-port": 8444}})
    assert formats.ini_problems("[a]\nb=1\n[a]\nc=2\n")


def test_dcv_conf_items_are_written_in_dcv_syntax():
    from ansible_collections.dcvkit.session_manager.plugins.filter.config_check import dcv_ini_items
    items = dcv_ini_items({"security": {"administrators": ["dcvsmagent"], "auth-token-verifier": "https://b:8445/x"},
                           "connectivity": {"web-port": 8443, "enable-quic-frontend": False}})
    assert {"section": "security", "option": "administrators", "value": '["dcvsmagent"]'} in items
    assert {"section": "security", "option": "auth-token-verifier", "value": '"https://b:8445/x"'} in items
    assert {"section": "connectivity", "option": "web-port", "value": "8443"} in items
    assert {"section": "connectivity", "option": "enable-quic-frontend", "value": "false"} in items


def test_dcv_conf_extra_settings_cannot_override_role_keys():
    from ansible_collections.dcvkit.session_manager.plugins.filter.config_check import dcv_ini_settings_problems
    managed = {"security.ca-file": "the collection's CA"}
    problems = dcv_ini_settings_problems({"security": {"ca-file": "x"}}, {"security": {"ca-file": "x"}}, managed)
    assert problems and "dcv_server_extra_settings" in problems[0] and "ca-file" in problems[0]
    assert dcv_ini_settings_problems({"display": {"target-fps": 30}}, {"display": {"target-fps": 30}}, managed) == []
    assert "not a plain name" in dcv_ini_settings_problems({}, {"bad]": {"a": 1}}, managed)[0]


def test_insecure_tls_needs_explicit_opt_in():
    from ansible_collections.dcvkit.session_manager.plugins.filter.config_check import (
        dcv_agent_setting_problems, dcv_gateway_setting_problems)
    assert dcv_gateway_setting_problems({"resolver": {"tls-strict": False}})["errors"]
    assert dcv_gateway_setting_problems({"resolver": {"tls-strict": False}}, {}, True)["errors"] == []
    assert dcv_agent_setting_problems({"agent": {"dcv_root": "/x"}}, {"agent.tls_strict": "dcv_agent_tls_strict"}) == {
        "errors": [], "warnings": []}
    result = dcv_agent_setting_problems({"agent": {"tls_strict": False}}, {"agent.tls_strict": "dcv_agent_tls_strict"})
    assert "dcv_agent_tls_strict" in result["errors"][0]


DCV_CONF = """# an operator's comment
[session-management]
create-session=false

[session-management/automatic-console-session]
owner = "dcv"

[security]
ca-file="/etc/dcv/ca.pem"
[license]
license-file="5053@rlm"
"""


def test_ini_pending_keeps_only_what_differs():
    from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_config_formats import ini_pending
    items = [{"section": "session-management", "option": "create-session", "value": "false"},
             {"section": "security", "option": "ca-file", "value": '"/etc/dcv/ca.pem"'},
             {"section": "session-management/automatic-console-session", "option": "owner", "value": '"dcv"'},
             {"section": "security", "option": "administrators", "value": '["dcvsmagent"]'},
             {"section": "connectivity", "option": "web-port", "value": "8443"},
             {"section": "license", "option": "license-file", "state": "absent"},
             {"section": "log", "option": "level", "state": "absent"}]
    assert [i["option"] for i in ini_pending(items, DCV_CONF)] == ["administrators", "web-port", "license-file"]


def test_ini_pending_writes_everything_into_a_file_that_does_not_parse_or_is_missing():
    from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_config_formats import ini_pending
    items = [{"section": "security", "option": "ca-file", "value": '"/etc/dcv/ca.pem"'}]
    assert ini_pending(items, "no section header\nkey=value\n") == items
    assert ini_pending(items, "") == items


@pytest.mark.parametrize("extra,refused", [
    ({"security": {"no-tls-strict": True}}, True),
    ({"security": {"no-tls-strict": "true"}}, True),
    ({"security": {"no-tls-strict": False}}, False),
    ({"security": {"tls-strict": False}}, True),
    ({"connectivity": {"no-verify-ssl": True}}, True),
    ({"clipboard": {"primary-selection-copy": True}}, False),
    ({"security": {"authentication": "system"}}, False),
])
def test_dcv_conf_settings_that_switch_verification_off(extra, refused):
    from ansible_collections.dcvkit.session_manager.plugins.filter.config_check import dcv_ini_settings_problems
    problems = dcv_ini_settings_problems(extra, extra, {})
    assert bool(problems) is refused, problems
    if refused:
        assert problems[0].startswith("dcv_server_extra_settings: [")
        assert "dcv_allow_insecure_tls: true" in problems[0]
    assert dcv_ini_settings_problems(extra, extra, {}, allow_insecure=True) == []
