"""The stand-ins' config readers: Java properties, the strict TOML subset (compared with
tomllib on the same inputs), and dcv.conf INI."""

import pytest

from dcvstandin.configformats import (ConfigError, parse_dcv_conf, parse_java_properties,
                                      parse_toml_subset, toml_key_lines)

try:
    import tomllib
except ImportError:  # Python 3.10: only the subset parser can be checked
    tomllib = None


# --------------------------------------------------------------------------- Java properties

def test_properties_hash_after_value_is_part_of_the_value():
    values = parse_java_properties("enable-gateway = true # turn it on\n")[0]
    assert values == {"enable-gateway": "true # turn it on"}


def test_properties_comments_separators_and_continuations():
    text = ("# comment\n! also a comment\n  \n"
            "a=1\nb : 2\nc 3\nd=\n"
            "long = first \\\n    second\n"
            "key\\=with\\:escapes = v\\tx\\u0041\n"
            "a = last wins\n"
            "trailing = keep   \n")
    values, lines = parse_java_properties(text, "x.properties")
    assert values == {"a": "last wins", "b": "2", "c": "3", "d": "", "long": "first second",
                      "key=with:escapes": "v\txA", "trailing": "keep   "}
    assert lines["b"] == 5 and lines["long"] == 8


def test_properties_comment_line_does_not_continue():
    values = parse_java_properties("# comment \\\nreal = yes\n")[0]
    assert values == {"real": "yes"}


def test_properties_bad_unicode_escape_names_the_line():
    with pytest.raises(ConfigError, match=r"x.properties:2: malformed"):
        parse_java_properties("ok = 1\nbad = \\u12\n", "x.properties")


# --------------------------------------------------------------------------- TOML subset

AGENT_CONF = """\
version = '0.1'
[agent]
broker_host = 'broker.example.internal'   # must be a name the broker certificate covers
broker_port = 8445
ca_file = '/etc/dcv-session-manager-agent/ca.pem'
tls_strict = true
broker_update_interval = 5
[log]
level = 'info'
rotation = 'daily'
"""

GATEWAY_CONF = """\
# comment
[gateway]
web-listen-endpoints = ["0.0.0.0:8443", "[::]:8443"]      # socket addresses
quic-listen-endpoints = []
cert-file = "/etc/dcv-connection-gateway/certs/gateway.pem"
cert-key-file = "/etc/dcv-connection-gateway/certs/gateway.key"

[health-check]
bind-addr = "::"
port = 8989

[resolver]
url = "https://broker.example.internal:8447"
ca-file = "/etc/dcv-connection-gateway/certs/ca.pem"
tls-strict = true

[web-resources]
local-resources-path = "/usr/share/dcv/www"
local-resources-http-headers = [{ name = "X-Frame-Options", value = "DENY" }]

[log]
level = "info"
"""

VALID = [
    AGENT_CONF,
    GATEWAY_CONF,
    'a = "esc \\" \\\\ \\n \\t \\u00e9 \\U0001F600"\n',
    "a = 'C:\\path\\literal'\n",
    "a = [\n  1,\n  2, # comment\n  3,\n]\n",
    "a = [[1, 2], ['x', \"y\"], []]\n",
    "a = -17\nb = +3\nc = 1_000\nd = 3.25\ne = -1e3\nf = 0\n",
    "t = { a = 1, b = 'two', c = { d = true } }\n",
    "[a.b]\nc = 1\n[a.d]\ne = 2\n",
    "[ spaced ]\nkey-with_dash = false\n",
    "",
    "# only a comment\n",
    "a = 1\r\nb = 2\r\n",
]

INVALID = [
    # multi-line inline table: the real gateway's "invalid inline table / expected `}`"
    "t = {\n  a = 1\n}\n",
    # Jinja-style placeholder parses as an (invalid) inline table
    "name = {{Name}}\n",
    "a = 1\na = 2\n",
    "[x]\na = 1\n[x]\nb = 2\n",
    "a = \"unterminated\n",
    "a = bare\n",
    "a = 1 2\n",
    "a = \n",
    "= 1\n",
    "a = [1, 2\n",
    "a = 'x' junk\n",
    "[x\na = 1\n",
    "a = \"bad \\q escape\"\n",
    "a = 1\n[a]\nb = 2\n",
    "a = 01\n",
]

UNSUPPORTED = [
    ("[[servers]]\nname = 'a'\n", "array of tables"),
    ("a.b = 1\n", "dotted key"),
    ('a = """multi\nline"""\n', "multi-line string"),
    ("a = '''multi\nline'''\n", "multi-line literal"),
    ("a = 1979-05-27\n", "date"),
    ('"quoted key" = 1\n', "quoted key"),
    ("a = 0x1F\n", "hexadecimal"),
    ("a = inf\n", "inf"),
]


@pytest.mark.parametrize("text", VALID)
def test_toml_subset_agrees_with_tomllib(text):
    parsed = parse_toml_subset(text, "in.toml")
    if tomllib is not None:
        assert parsed == tomllib.loads(text)


def test_toml_subset_reads_agent_conf_values():
    parsed = parse_toml_subset(AGENT_CONF)
    assert parsed["agent"] == {"broker_host": "broker.example.internal", "broker_port": 8445,
                               "ca_file": "/etc/dcv-session-manager-agent/ca.pem",
                               "tls_strict": True, "broker_update_interval": 5}


@pytest.mark.parametrize("text", INVALID)
def test_toml_subset_rejects_what_tomllib_rejects(text):
    with pytest.raises(ConfigError, match=r"^bad.toml:\d+:\d+: "):
        parse_toml_subset(text, "bad.toml")
    if tomllib is not None:
        with pytest.raises(tomllib.TOMLDecodeError):
            tomllib.loads(text)


def test_toml_subset_multiline_inline_table_message():
    with pytest.raises(ConfigError, match=r"bad.toml:1:\d+: invalid inline table: expected `}`"):
        parse_toml_subset("t = {\n  a = 1\n}\n", "bad.toml")


@pytest.mark.parametrize("text,what", UNSUPPORTED)
def test_toml_subset_fails_loudly_on_constructs_outside_the_subset(text, what):
    with pytest.raises(ConfigError, match="not supported by the stand-in's TOML subset parser") as info:
        parse_toml_subset(text, "u.toml")
    assert what in str(info.value)


def test_toml_key_lines_point_at_the_defining_line():
    lines = toml_key_lines(GATEWAY_CONF)
    assert lines[("gateway", "cert-file")] == 5
    assert lines[("resolver", "url")] == 13


# --------------------------------------------------------------------------- dcv.conf

def test_dcv_conf_values():
    conf = parse_dcv_conf('[session-management]\ncreate-session = false\n'
                          '[connectivity]\nweb-port = 8443\nenable-quic-frontend = false\n'
                          '[security]\nadministrators = ["dcvsmagent"]\n'
                          'auth-token-verifier = "https://b:8445/agent/validate-authentication-token"\n'
                          '# a comment on its own line\nca-file = "/etc/dcv/ca.pem"\n'
                          'authentication = none\n')
    assert conf["session-management"]["create-session"] is False
    assert conf["connectivity"]["web-port"] == 8443
    assert conf["security"]["administrators"] == ["dcvsmagent"]
    assert conf["security"]["ca-file"] == "/etc/dcv/ca.pem"
    assert conf["security"]["authentication"] == "none"


def test_dcv_conf_refuses_inline_comments():
    with pytest.raises(ConfigError, match=r"\[session-management\] create-session: inline comment"):
        parse_dcv_conf("[session-management]\ncreate-session = false   # no console\n")


def test_dcv_conf_refuses_duplicates():
    with pytest.raises(ConfigError):
        parse_dcv_conf("[connectivity]\nweb-port = 8443\nweb-port = 8444\n")
