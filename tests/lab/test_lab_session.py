"""The lab as an operator checks it after site.yml: where session.yml places a session, how the gateway reaches the
DCV server, what verify.yml reports, which ports the firewall opened, and the desktop prerequisites on host B."""

import re

from cryptography import x509

from conftest import HOST_A, HOST_B, INVENTORY, LAB_USER, on_host, run

# The lab's ports are the wiring's defaults (plugins/filter/wiring.py PORT_DEFAULTS)
GATEWAY_WEB_PORT, GATEWAY_HEALTH_PORT = 8443, 8989


def test_session_yml_places_a_virtual_session_on_the_named_server_by_default(session_output, host_b_name):
    # the default session type, and dcv_session_server as the documented requirement server:Hostname = 'NAME'
    # (sm-dev "CreateSessions": Hostname is a server property a requirement may use)
    # the URL's line, as the callback folds it: "URL (virtual session created for USER on SERVER; token ...)"
    shown = " ".join(session_output[session_output.rindex("authToken="):].split())
    assert re.search(r"\(virtual session (created|reused) for %s on %s;" % (LAB_USER, re.escape(host_b_name)),
                     shown), shown[:300]


def test_a_session_pinned_to_a_server_that_does_not_exist_is_refused_with_the_brokers_reason():
    result = run(["ansible-playbook", "-i", INVENTORY, "playbooks/session.yml", "-e", "dcv_session_owner=" + LAB_USER,
                  "-e", "dcv_session_server=no-such-server.dcvkit.test", "-e", "dcv_session_name=pinned-nowhere"])
    assert result.returncode != 0, result.stdout[-2000:]
    assert "authToken=" not in result.stdout
    assert "the broker did not create the session for %s" % LAB_USER in result.stdout, result.stdout[-2000:]


def test_the_dcv_server_certificate_has_dns_names_only():
    # the brokers map host B's address to its DNS name (DCV server DNS mappings): the gateway connects by name
    certificate = x509.load_pem_x509_certificate(on_host(HOST_B, "cat", "/etc/dcv/dcv.pem").stdout.encode())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName)
    assert names.get_values_for_type(x509.IPAddress) == []


def test_verify_yml_reports_every_row_ok(session_output):
    result = run(["ansible-playbook", "-i", INVENTORY, "playbooks/verify.yml"])
    # verify.yml fails when any row is not ok; the rows below are those of the DNS mapping at work
    assert result.returncode == 0 and re.search(r"\d+ link\(s\) checked, 0 not ok", result.stdout), result.stdout[-4000:]
    assert "broker DNS mapping of DCV server %s" % HOST_B in result.stdout, result.stdout[-4000:]
    assert "gateway -> DCV server %s" % HOST_B in result.stdout, result.stdout[-4000:]


def test_firewalld_on_host_a_opens_the_gateway_web_and_health_check_ports():
    if on_host(HOST_A, "firewall-cmd", "--state", check=False).returncode:
        raise AssertionError("firewalld is not running on host A (the AL2023 stand-in runs it)")
    ports = on_host(HOST_A, "firewall-cmd", "--list-ports").stdout.split()
    assert "%d/tcp" % GATEWAY_WEB_PORT in ports, ports
    assert "%d/tcp" % GATEWAY_HEALTH_PORT in ports, ports


def test_host_b_has_the_desktop_prerequisites():
    # admin guide "Prerequisites for Linux Amazon DCV servers": graphical.target is the default and running; on
    # Ubuntu the dcv user is in the video group
    assert on_host(HOST_B, "systemctl", "get-default").stdout.strip() == "graphical.target"
    assert on_host(HOST_B, "systemctl", "is-active", "graphical.target", check=False).stdout.strip() == "active"
    os_release = on_host(HOST_B, "cat", "/etc/os-release").stdout
    if "ID=ubuntu" in os_release:
        assert "video" in on_host(HOST_B, "id", "-nG", "dcv").stdout.split()
