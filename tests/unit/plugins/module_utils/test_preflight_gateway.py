# -*- coding: utf-8 -*-
"""The gateway's preflight checks as plain functions: each refusal names the operator's variable in the words the role
printed when these checks were assert tasks, and good input passes, the real template rendered and proven."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import os

import jinja2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.dcvkit.session_manager.plugins.module_utils import dcv_config_formats as formats
from ansible_collections.dcvkit.session_manager.plugins.module_utils.preflight import gateway

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))), "roles", "dcv_gateway", "templates")
SETTINGS = {"gateway": {"web-listen-endpoints": ["0.0.0.0:8443"], "quic-listen-endpoints": [],
                        "cert-file": "/etc/dcv-connection-gateway/certs/gateway.pem",
                        "cert-key-file": "/etc/dcv-connection-gateway/certs/gateway.key"},
            "health-check": {"bind-addr": "::", "port": 8989},
            "resolver": {"url": "https://broker.example.internal:8447",
                         "ca-file": "/etc/dcv-connection-gateway/certs/ca.pem"},
            "web-resources": {"local-resources-path": "/usr/share/dcv/www"}, "log": {"level": "info"}}
GOOD = {"inventory_hostname": "gw-1", "dcv_wiring": {"gateway_hosts": ["gw-1"]},
        "dcv_gateway_web_listen_endpoints": [], "dcv_gateway_ports": {"dcv_gateway_web_port": 8443},
        "dcv_gateway_extra_settings": {}, "dcv_gateway_managed_keys": {"log.level": "dcv_gateway_log_level"},
        "dcv_allow_insecure_tls": False, "dcv_gateway_log_level": "info", "dcv_gateway_web_resources_url": "",
        "dcv_gateway_web_resources_path": "/usr/share/dcv/www", "dcv_gateway_certificate_src": "",
        "dcv_gateway_private_key_src": "", "dcv_gateway_allowed_sources": [], "dcv_gateway_health_check_sources": [],
        "dcv_gateway_names": ["gw.example.com", "10.0.0.5"], "dcv_gateway_settings": SETTINGS}
# the one message the role's check of its other variables has always printed, word for word
OTHER_VARIABLES = ("dcv_gateway_log_level must be error|warn|info|debug|trace; dcv_gateway_web_resources_url must be "
                   "https://...; dcv_gateway_web_resources_path must be absolute; dcv_gateway_certificate_src and "
                   "dcv_gateway_private_key_src go together (both set or both empty).")


def render(name, item):
    """The role's template as the template lookup renders it, with the host's dcv_gateway_settings."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), trim_blocks=True)
    environment.filters["dcvkit.session_manager.dcv_toml_key"] = formats.toml_key
    environment.filters["dcvkit.session_manager.dcv_toml_value"] = formats.toml_value
    return environment.get_template(name).render(ansible_managed="Ansible managed", item=item,
                                                 dcv_gateway_settings=render.settings)


def no_file(variable, path):
    raise AssertionError("%s (%s) must not be read" % (variable, path))


def check(changes, read=no_file, renderer=render):
    variables = dict(GOOD, **changes)
    render.settings = variables["dcv_gateway_settings"]
    return gateway.problems(variables, renderer, read)


def test_good_input_passes_with_the_real_template_proven():
    assert check({}) == []
    assert check({"dcv_gateway_web_listen_endpoints": ["[::]:8443", "0.0.0.0:8443"],
                  "dcv_gateway_allowed_sources": ["10.0.0.0/16", "2001:db8::/56"],
                  "dcv_gateway_web_resources_url": "https://cdn.example.com/www",
                  "dcv_gateway_web_resources_path": "relative/is/unused"}) == []


def test_a_host_outside_the_gateways_group_is_refused_before_its_wiring_entry_is_read():
    variables = dict((name, value) for name, value in GOOD.items()
                     if name not in ("dcv_gateway_ports", "dcv_gateway_names", "dcv_gateway_settings"))
    variables["dcv_wiring"] = {"gateway_hosts": ["gw-2"]}
    assert gateway.problems(variables, None, no_file) == [
        "gw-1 runs dcv_gateway but is not in the dcv_gateways group; add it there"]


@pytest.mark.parametrize("changes, message", [
    ({"dcv_gateway_web_listen_endpoints": ["https://0.0.0.0:8443"]},
     "dcv_gateway_web_listen_endpoints: 'https://0.0.0.0:8443' is not a socket address"),
    ({"dcv_gateway_web_listen_endpoints": ["gateway.dcvkit.test:8443"]},
     "dcv_gateway_web_listen_endpoints: 'gateway.dcvkit.test:8443' does not start with an IP address"),
    ({"dcv_gateway_web_listen_endpoints": ["0.0.0.0:9443"]},
     "dcv_gateway_web_listen_endpoints: '0.0.0.0:9443' listens on another port than dcv_gateway_web_port = 8443"),
    ({"dcv_gateway_extra_settings": {"gateway": {"web-port": 8443}}}, "dcv_gateway_extra_settings: "),
    ({"dcv_gateway_extra_settings": {"log": {"level": "debug"}}},
     "dcv_gateway_extra_settings: [log] level is set by the role from dcv_gateway_log_level; remove it"),
    ({"dcv_gateway_extra_settings": {"dcv": {"tls-strict": False}}},
     "dcv_gateway_extra_settings: [dcv] tls-strict = False turns TLS verification off"),
    ({"dcv_gateway_log_level": "loud"}, OTHER_VARIABLES),
    ({"dcv_gateway_web_resources_url": "http://cdn.example/www"}, OTHER_VARIABLES),
    ({"dcv_gateway_web_resources_path": "www"}, OTHER_VARIABLES),
    ({"dcv_gateway_certificate_src": "/tmp/gateway.pem"}, OTHER_VARIABLES),
    ({"dcv_gateway_private_key_src": "/tmp/gateway.key"}, OTHER_VARIABLES),
    ({"dcv_gateway_allowed_sources": ["10.0.3.0/16"]},
     "dcv_gateway_allowed_sources: '10.0.3.0/16' has host bits set; write the network '10.0.0.0/16'"),
    ({"dcv_gateway_allowed_sources": "10.0.0.0/16"},
     "dcv_gateway_allowed_sources must be a list of networks in CIDR notation"),
    ({"dcv_gateway_health_check_sources": ["2001:db8::1/64"]},
     "dcv_gateway_health_check_sources: '2001:db8::1/64' has host bits set; write the network '2001:db8::/64'"),
])
def test_each_refusal_names_the_variable(changes, message):
    problems = check(changes)
    assert len(problems) == 1, problems
    assert problems[0].startswith(message) if message != OTHER_VARIABLES else problems[0] == message, problems[0]


def test_the_dcv_allow_insecure_tls_switch_lets_tls_strict_off_through():
    assert check({"dcv_gateway_extra_settings": {"dcv": {"tls-strict": False}}, "dcv_allow_insecure_tls": True,
                  "dcv_gateway_settings": dict(SETTINGS, dcv={"tls-strict": False})}) == []


def certificate_pair(names):
    """A self-signed certificate for NAMES and its PKCS#8 key, both PEM text."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    sans = [x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n) for n in names]
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


@pytest.mark.parametrize("names, other_key, messages", [
    (["gw.example.com", "10.0.0.5"], False, []),
    (["gw.example.com"], False, ["dcv_gateway_certificate_src: the certificate does not cover 10.0.0.5 (SAN: gw.example.com)"]),
    (["gw.example.com", "10.0.0.5"], True,
     ["dcv_gateway_certificate_src: the first certificate does not belong to the private key"]),
])
def test_the_supplied_certificate_is_read_on_the_control_node_and_checked(names, other_key, messages):
    cert_pem, key_pem = certificate_pair(names)
    if other_key:
        key_pem = certificate_pair(names)[1]
    files = {("dcv_gateway_certificate_src", "/pki/gw.pem"): cert_pem,
             ("dcv_gateway_private_key_src", "/pki/gw.key"): key_pem}
    problems = check({"dcv_gateway_certificate_src": "/pki/gw.pem", "dcv_gateway_private_key_src": "/pki/gw.key"},
                     read=lambda variable, path: files[(variable, path)])
    assert problems == messages
    assert all("PRIVATE KEY" not in problem and key_pem.splitlines()[1] not in problem for problem in problems)


def test_a_rendering_that_does_not_read_back_is_refused():
    problems = check({}, renderer=lambda name, item: "[gateway]\nweb-listen-endpoints = ['0.0.0.0:8443']\n")
    assert len(problems) == 1, problems
    assert problems[0].startswith("dcv-connection-gateway.conf would be wrong, the old file stays: "), problems[0]


def test_gateways_that_share_settings_render_once():
    rendered = []

    def counting(name, item):
        rendered.append(name)
        return render(name, item)

    render.settings = SETTINGS
    proven = {}
    for host in ("gw-1", "gw-2"):
        variables = dict(GOOD, inventory_hostname=host, dcv_wiring={"gateway_hosts": ["gw-1", "gw-2"]})
        assert gateway.problems(variables, counting, no_file, proven) == []
    assert rendered == ["dcv-connection-gateway.conf.j2"]
