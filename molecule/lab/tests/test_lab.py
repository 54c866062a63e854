"""The lab's own facts: systemd is PID 1 and running, Python is there, hosts reach each other by name."""

import os

import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]
).get_hosts("all")

PEERS = {"lab-a": "lab-b", "lab-b": "lab-a"}


def test_systemd_is_pid_1_and_running(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running --wait").stdout.strip()
    assert state in ("running", "degraded"), state
    failed = host.run("systemctl --failed --no-legend --plain").stdout.strip()
    assert failed == "", failed


def test_python3_present(host):
    assert host.run("python3 -c 'import sys; print(sys.version_info[0])'").stdout.strip() == "3"


def test_probe_service_started_by_systemd(host):
    assert host.service("lab-probe").is_running


def test_reaches_peer_by_name(host):
    me = host.backend.get_hostname()
    peer = PEERS[me]
    resolved = host.run("getent hosts %s", peer)
    assert resolved.rc == 0, "%s cannot resolve %s" % (me, peer)
    fetched = host.run(
        "python3 -c 'import urllib.request,sys; "
        "sys.stdout.write(urllib.request.urlopen(\"http://%s:8000/hostname\", timeout=5).read().decode())'",
        peer,
    )
    assert fetched.rc == 0, fetched.stderr
    assert fetched.stdout.strip() == peer
