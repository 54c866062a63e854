"""Tests against the running local lab (scripts/lab.sh), run by scripts/lab-test.sh as a `make test` stage.

They drive the lab the way an operator and a user do: ansible-playbook with the lab inventory, and a real browser.
"""

import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INVENTORY = os.path.join(ROOT, "inventories", "lab")
LAB_CA = os.path.join(ROOT, "build", "lab", "pki", "ca.pem")
HOST_A, HOST_B = "dcvkit-lab-a", "dcvkit-lab-b"
HOST_A_ADDRESS = "10.213.61.11"  # scripts/lab.sh; the public name maps here, as in scripts/lab_browser.py
LAB_USER = "labuser"


def pytest_configure(config):
    if os.environ.get("DCVKIT_LAB") != "1":
        raise pytest.UsageError("tests/lab needs the running lab: run them through scripts/lab-test.sh")


def run(argv, env=None, cwd=ROOT, check=False):
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            check=False)
    if check and result.returncode:
        raise AssertionError("%s failed (rc %d):\n%s\n%s"
                             % (argv, result.returncode, result.stdout[-4000:], result.stderr[-4000:]))
    return result


def on_host(host, *argv, check=True):
    return run(["podman", "exec", host] + list(argv), check=check)


def recap(output):
    """{host: {ok, changed, failed, ...}} from an ansible-playbook PLAY RECAP."""
    counts = {}
    for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M):
        counts[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", fields)}
    return counts


def warnings_in(output):
    return [line for line in output.splitlines() if "[WARNING]" in line or "[DEPRECATION WARNING]" in line]


@pytest.fixture(scope="session")
def host_b_name():
    """The host name host B's agent reports to the broker (server:Hostname in a CreateSessions requirement)."""
    return on_host(HOST_B, "hostname").stdout.strip()


@pytest.fixture(scope="session")
def session_output(host_b_name):
    """session.yml's output for the lab user, as an operator runs it: the default session type, pinned to host B."""
    if on_host(HOST_B, "id", LAB_USER, check=False).returncode:
        on_host(HOST_B, "useradd", "-m", "-s", "/bin/bash", LAB_USER)
    return run(["ansible-playbook", "-i", INVENTORY, "playbooks/session.yml", "-e", "dcv_session_owner=" + LAB_USER,
                "-e", "dcv_session_server=" + host_b_name], check=True).stdout


@pytest.fixture(scope="session")
def desktop_url(session_output):
    """The browser URL of the lab user's session."""
    urls = re.findall(r"https://[^\s\"']*authToken=[^\s\"']*", session_output)
    assert urls, "session.yml printed no desktop URL:\n" + session_output[-3000:]
    return urls[-1]
