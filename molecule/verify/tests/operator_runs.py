# -*- coding: utf-8 -*-
"""What the session tests of this scenario do as an operator would: run a playbook of the collection against the
scenario's inventory, open a desktop with session.yml, and look at what the DCV server runs."""

import json
import os
import re
import subprocess
import time

import testinfra

A, B = "verify-a", "verify-b"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
OWNER = "labuser"
BROKER = "dcv-session-manager-broker"


def host(name):
    return testinfra.get_host("podman://" + name)


def playbook(name, *extra_vars):
    """ansible-playbook playbooks/NAME with each mapping of extra_vars as one -e; returns (rc, output)."""
    command = ["ansible-playbook", "-i", os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory"),
               os.path.join(ROOT, "playbooks", name)]
    for extra in extra_vars:
        command += ["-e", json.dumps(extra)]
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900, check=False,
                            env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="false"))
    return result.returncode, result.stdout.decode("utf-8", "replace")


def changed_total(output):
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.rsplit("PLAY RECAP", 1)[1]))


def open_session(*extra_vars):
    """session.yml for OWNER; returns (session id, 'created' or 'reused', output). verify-b's dcv_host_addresses
    comes from facts that session.yml does not gather (test_verify.py says why it is emptied)."""
    if host(B).run("id %s" % OWNER).rc != 0:
        host(B).check_output("useradd -m %s" % OWNER)
    rc, output = playbook("session.yml", {"dcv_session_owner": OWNER, "dcv_host_addresses": []}, *extra_vars)
    assert rc == 0, output[-3000:]
    session_id = re.search(r"authToken=[^#\s\"]+#([^\s\"]+)", output).group(1)
    how = re.search(r"session (created|reused) for %s" % OWNER, output).group(1)
    return session_id, how, output


def dcv_sessions():
    return re.findall(r"Session: '([^']+)'", host(B).check_output("dcv list-sessions"))


def close_dcv_sessions():
    for session_id in dcv_sessions():
        host(B).check_output("dcv close-session %s" % session_id)


def wait_until_closed_on_the_server(session_id, timeout=60):
    """The broker deletes through the agent, which polls it (every 5 s here): the DCV server closes the session."""
    deadline = time.monotonic() + timeout
    while session_id in dcv_sessions():
        assert time.monotonic() < deadline, "session %s still runs on %s" % (session_id, B)
        time.sleep(2)


def restart_broker_and_wait(timeout=90):
    """Restart the broker and wait until its client API port listens again."""
    a = host(A)
    a.check_output("systemctl restart %s" % BROKER)
    deadline = time.monotonic() + timeout
    while a.run("ss -ltn | grep -q ':8448 '").rc != 0:
        assert time.monotonic() < deadline, a.run("tail -n 20 /var/log/dcv-session-manager-broker/broker.log").stdout
        time.sleep(2)
