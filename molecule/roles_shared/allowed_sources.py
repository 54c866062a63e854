# -*- coding: utf-8 -*-
"""Who may reach the gateway: what the scenarios' dcv_gateway_allowed_sources tests share, whichever firewall
enforces the sources (firewalld on the Amazon Linux 2023 stand-in, ufw on Debian): the ports, networks no client of
a scenario is in, probes of a port from a client, and the converge steps that end on the scenario's defaults
whatever happens."""

import shlex
import subprocess
import sys

import dcvtest

WEB, HEALTH = 8443, 8989
# documentation networks (RFC 5737, RFC 3849): no client of a scenario is in them
ELSEWHERE = ["192.0.2.0/24", "2001:db8:dc::/48"]

# Connects to argv[1]:argv[2] (timeout argv[3]); with argv[4], sends it and prints the first line of the answer,
# else prints "connected". A connection that is refused, dropped (timeout) or reset prints "unreachable: ..." and
# exits 1.
_PROBE = (
    "import socket,sys\n"
    "try:\n"
    " c=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=float(sys.argv[3]))\n"
    " if len(sys.argv)>4:\n"
    "  c.sendall(sys.argv[4].encode())\n"
    "  print(c.recv(256).split(b'\\r\\n')[0].decode('latin-1'))\n"
    " else:\n"
    "  print('connected')\n"
    " c.close()\n"
    "except OSError as e:\n"
    " print('unreachable: %s'%(e or type(e).__name__))\n"
    " sys.exit(1)\n"
)


def probe(address, port, client=None, send=None, timeout=5):
    """(connected, what was printed) for a TCP connection to address:port from ``client`` (a testinfra host: a
    container of the scenario), or from this control node when it is None."""
    args = [address, str(port), str(timeout)] + ([send] if send else [])
    if client is None:
        result = subprocess.run([sys.executable, "-c", _PROBE] + args, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, timeout=timeout + 30, check=False)
        return result.returncode == 0, result.stdout.decode("utf-8", "replace").strip()
    result = client.run("python3 -c %s %s" % (shlex.quote(_PROBE), " ".join(shlex.quote(a) for a in args)))
    return result.rc == 0, (result.stdout + result.stderr).strip()


def connects(address, port, client=None):
    """Whether a TCP connection to address:port is established (a refused or dropped SYN is a no)."""
    return probe(address, port, client)[0]


def health(address, client=None):
    """The status line the health-check port answers GET /health with, or "unreachable: ..."."""
    return probe(address, HEALTH, client, send="GET /health HTTP/1.0\r\nHost: x\r\n\r\n")[1]


def status_code(line):
    """The status code of an HTTP status line ("HTTP/1.1 200 OK" -> "200"), "" for anything else."""
    words = line.split()
    return words[1] if len(words) > 1 and words[0].startswith("HTTP/") else ""


def recap(output):
    return output.rsplit("PLAY RECAP", 1)[-1]


def converge_steps(steps, observe, final):
    """Run converge.yml once per step, ``steps`` being [(name, extra_vars, check mode)], and call
    ``observe(rc, output)`` after each; then, whatever happened, converge with the scenario's own variables as step
    ``final``. Returns {step name: observation}."""
    seen = {}
    try:
        for name, variables, check in steps:
            seen[name] = observe(*dcvtest.run_playbook(variables, check=check))
    finally:
        seen[final] = observe(*dcvtest.run_playbook())
    return seen
