# -*- coding: utf-8 -*-
"""What the session tests of this scenario do as an operator would: run a playbook of the collection against the
scenario's inventory (or a test's own copy of it), open a desktop with session.yml, look at what the DCV server runs,
bring the database an operator brings for broker persistence, and reach the broker and the gateway as their clients
do (strict TLS, the collection's CA only)."""

import json
import os
import re
import shlex
import subprocess
import time
import urllib.parse

import testinfra
import yaml

A, B = "verify-a", "verify-b"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
OWNER = "labuser"
BROKER = "dcv-session-manager-broker"
BROKER_LOG = "/var/log/dcv-session-manager-broker/broker.log"
# host A's broker and gateway, as the inventory names them (molecule.yml)
BROKER_NAME, PUBLIC_NAME, SERVER_NAME = "host-a.dcvkit.test", "desktops.dcvkit.test", "host-b.dcvkit.test"
CLIENT_PORT, RESOLVER_PORT = 8448, 8447
BROKER_CA = "/etc/dcv-session-manager-broker/tls/ca.pem"
# its [resolver] section says how the gateway on host A talks to the resolver (ca-file, and cert-file with mTLS)
GATEWAY_CONF = "/etc/dcv-connection-gateway/dcv-connection-gateway.conf"
# the root-only credentials of the API client session.yml registers on the first broker host
API_CREDENTIALS = "/etc/dcv-session-manager-broker/api-client-dcvkit-automation.json"
# host B holds the collection's CA as the agent's trust anchor: the "browser" on B trusts exactly that CA
CA_ON_B = "/etc/dcv-session-manager-agent/ca.pem"


def host(name):
    return testinfra.get_host("podman://" + name)


def inventory_path():
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory")


def playbook(name, *extra_vars, inventory=None):
    """ansible-playbook playbooks/NAME with each mapping of extra_vars as one -e, against the scenario's inventory or
    the one given (a directory or file); returns (rc, output)."""
    command = ["ansible-playbook", "-i", inventory or inventory_path(), os.path.join(ROOT, "playbooks", name)]
    for extra in extra_vars:
        command += ["-e", json.dumps(extra)]
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900, check=False,
                            env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="false"))
    return result.returncode, result.stdout.decode("utf-8", "replace")


def changed_total(output):
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.rsplit("PLAY RECAP", 1)[1]))


def ensure_user(name):
    """The Linux account a session's user has on the DCV server host."""
    if host(B).run("id %s" % name).rc != 0:
        host(B).check_output("useradd -m %s" % name)


def open_session(*extra_vars, inventory=None):
    """session.yml for OWNER; returns (session id, 'created' or 'reused', output). verify-b's dcv_host_addresses
    comes from facts that session.yml does not gather (test_verify.py says why it is emptied)."""
    ensure_user(OWNER)
    rc, output = playbook("session.yml", {"dcv_session_owner": OWNER, "dcv_host_addresses": []}, *extra_vars,
                          inventory=inventory)
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


def restart_broker_and_wait(name=A, timeout=90):
    """Restart the broker on host NAME and wait until its client API port listens again."""
    host(name).check_output("systemctl restart %s" % BROKER)
    wait_for_port(host(name), CLIENT_PORT, timeout)


def wait_for_port(target, port, timeout=90):
    deadline = time.monotonic() + timeout
    while target.run("ss -ltn | grep -q ':%d '" % port).rc != 0:
        assert time.monotonic() < deadline, target.run("tail -n 20 %s" % BROKER_LOG).stdout
        time.sleep(2)


# -- the database an operator brings for broker persistence ------------------------------------------------------

MARIADB_NETWORK_CONF = "/etc/mysql/mariadb.conf.d/99-dcvkit-test-network.cnf"


def start_mariadb(password, user_host="localhost", network=False, driver_hosts=(A,)):
    """MariaDB (Debian's mariadb-server) on host A with the database user 'dcvsm'@USER_HOST, which the test makes as
    an operator brings RDS or their own (the collection never makes it), allowed everything on the databases dcvsm*.
    network: listen on every address (bind-address), so that brokers on other hosts reach it. The stand-in broker's
    driver, python3-pymysql, goes on each of driver_hosts (the real broker carries its own JDBC driver)."""
    for name in driver_hosts:
        packages = "mariadb-server python3-pymysql" if name == A else "python3-pymysql"
        host(name).check_output("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                                "--no-install-recommends %s >/dev/null" % packages)
    a = host(A)
    if network:
        a.check_output("printf '[mysqld]\\nbind-address = 0.0.0.0\\n' > %s" % MARIADB_NETWORK_CONF)
    a.check_output("systemctl restart mariadb" if network else "systemctl start mariadb")
    a.check_output("mysql -e \"CREATE USER IF NOT EXISTS 'dcvsm'@'%s' IDENTIFIED BY '%s'; "
                   "GRANT ALL PRIVILEGES ON \\`dcvsm%%\\`.* TO 'dcvsm'@'%s'\"" % (user_host, password, user_host))
    return a


def stop_mariadb(user_host="localhost", network=False):
    """Undo start_mariadb: the user it made, the network setting, the server stopped (its packages stay)."""
    a = host(A)
    a.check_output("mysql -e \"DROP USER IF EXISTS 'dcvsm'@'%s'\"" % user_host)
    if network:
        a.check_output("rm -f %s" % MARIADB_NETWORK_CONF)
    a.check_output("systemctl stop mariadb")


# -- the broker's clients ---------------------------------------------------------------------------------------

# Runs on host A as root: the collection's own broker client (plugins/module_utils, copied beside it) with the
# credentials session.yml keeps root-only there, so the secret never leaves the host. Prints the answer as JSON.
_API_PROGRAM = """
import json, sys
sys.path.insert(0, sys.argv[1])
import broker_api, broker_credentials
credentials, broker, method, path, payload = sys.argv[2:7]
stored = broker_credentials.read_file(credentials)
client = broker_api.BrokerApiClient(broker_api.build_base_url(url=broker), stored["client_id"],
                                    stored["client_secret"], ca_file=sys.argv[7])
try:
    print(json.dumps({"answer": client.call(method, path, json.loads(payload))}))
except broker_api.BrokerApiError as error:
    print(json.dumps({"error": str(error), "status": error.status}))
"""
_API_DIR = "/root/dcvkit-test-broker-client"


def broker_api(method, path, payload=None, broker=BROKER_NAME):
    """One call of the broker's client API from host A, with session.yml's API client; returns the answer, or
    {"error", "status"} when the broker refused."""
    a = host(A)
    a.check_output("mkdir -p -m 0700 %s" % _API_DIR)
    for library in ("broker_api.py", "broker_credentials.py"):
        subprocess.run(["podman", "cp", os.path.join(ROOT, "plugins", "module_utils", library),
                        "%s:%s/%s" % (A, _API_DIR, library)], check=True)
    result = subprocess.run(
        ["podman", "exec", "-i", A, "python3", "-", _API_DIR, API_CREDENTIALS, "https://%s:%d" % (broker, CLIENT_PORT),
         method, path, json.dumps(payload), BROKER_CA],
        input=_API_PROGRAM.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    data = json.loads(result.stdout.decode("utf-8"))
    return data.get("answer", data)


def connection_token(session_id, user, broker=BROKER_NAME):
    """GetSessionConnectionData for any user (sm-dev: the broker sets no condition on who)."""
    answer = broker_api("GET", "/sessionConnectionData/%s/%s" % (session_id, user), broker=broker)
    assert "ConnectionToken" in answer, answer
    return answer["ConnectionToken"]


def resolve(session_id, broker=BROKER_NAME):
    """POST /resolveSession as the gateway on host A does: its [resolver] ca-file, and its client certificate when it
    has one (dcv_gateway_client_auth); returns (HTTP status, body)."""
    conf = host(A).file(GATEWAY_CONF).content_string
    resolver = dict(re.findall(r'^([\w-]+) = "([^"]*)"$', conf.split("[resolver]", 1)[1].split("\n[", 1)[0], re.M))
    options = "-X POST --cacert %s" % resolver["ca-file"]
    if resolver.get("cert-file"):
        options += " --cert %s --key %s" % (resolver["cert-file"], resolver["cert-key-file"])
    return _curl(host(A), "https://%s:%d/resolveSession?sessionId=%s&transport=HTTP&clientIpAddress=10.1.2.3"
                 % (broker, RESOLVER_PORT, session_id), options)


def browser_url(output):
    """The owner's URL session.yml printed (the callback may fold the line)."""
    return re.search(r"https://\S+?authToken=\S+?#[\w-]+", " ".join(output.split())).group(0)


def url_parts(browser_url):
    """(session id, connection token) of a browser URL session.yml prints (https://NAME:PORT/?authToken=T#ID)."""
    split = urllib.parse.urlsplit(browser_url)
    return split.fragment, urllib.parse.parse_qs(split.query)["authToken"][0]


def connect(session_id, token):
    """What a browser does with a URL: the stand-in gateway's route (GET /standin/connect) from host B to the public
    name, strict TLS (the collection's CA only); the gateway resolves the session and opens it on the DCV server,
    which asks the broker's token verifier whose token it is and lets that user in or not. (HTTP status, answer)."""
    status, body = _curl(host(B), "https://%s:8443/standin/connect?sessionId=%s&authToken=%s"
                         % (PUBLIC_NAME, session_id, token), "--cacert %s" % CA_ON_B)
    return status, json.loads(body) if body.startswith("{") else body


def _curl(target, url, options):
    result = target.run("curl -sS --max-time 20 %s -w '\\n%%{http_code}' %s" % (options, shlex.quote(url)))
    if result.rc != 0:
        return 0, result.stderr
    body, _newline, status = result.stdout.rpartition("\n")
    return int(status), body


def delete_session_and_wait(session_id, owner=OWNER):
    """DeleteSessions through the broker, then the DCV server closes it (the agent polls every 5 s)."""
    answer = broker_api("POST", "/deleteSessions", [{"SessionId": session_id, "Owner": owner}])
    assert [item["SessionId"] for item in answer.get("SuccessfulList", [])] == [session_id], answer
    wait_until_closed_on_the_server(session_id)


# playbooks/verify.yml's table, read row by row
VERIFY = os.path.join(ROOT, "playbooks", "verify.yml")


def run_verify(extra_vars=None, env=None):
    """Run verify.yml against the scenario inventory; return (rc, rows by link prefix, output)."""
    command = ["ansible-playbook", "-i", os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory"), VERIFY]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    environment = dict(os.environ, ANSIBLE_FORCE_COLOR="false", ANSIBLE_NOCOLOR="1", NO_COLOR="1")
    environment.update(env or {})
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment, timeout=300,
                            check=False)
    output = result.stdout.decode("utf-8", "replace")
    tables = re.findall(r'TASK \[Links of the stack\][^\n]*\nok: \[localhost\] => *\n?(.*?)\n(?:TASK|PLAY) ', output, re.S)
    assert len(tables) == 1, "exactly one table expected:\n" + output[-4000:]
    lines = yaml.safe_load(tables[0])["msg"]  # the default callback prints JSON or YAML (both load as YAML)
    rows = []
    for line in lines[1:-1]:
        match = re.match(r"^(ok|FAIL)\s+(.+?)\s{2,}(\S+)\s{2,}(.*)$", line)
        assert match, line
        rows.append({"status": match.group(1), "link": match.group(2), "from": match.group(3),
                     "result": match.group(4)})
    return result.returncode, rows, output


def row(rows, link_prefix, origin=None):
    found = [r for r in rows if r["link"].startswith(link_prefix) and (origin is None or r["from"] == origin)]
    assert found, "no row %r in %s" % (link_prefix, [r["link"] for r in rows])
    return found[0]


def assert_healthy(rows, rc, output):
    bad = [r for r in rows if r["status"] != "ok"]
    assert not bad, bad
    assert rc == 0, output[-3000:]
