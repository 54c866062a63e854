# -*- coding: utf-8 -*-
"""Helpers for the whole-stack tests: the broker API from host A, the stand-in gateway route, site.yml runs
against the scenario's inventory, and the end-to-end check every fault test ends with."""

import json
import os
import shlex
import subprocess
import time

import testinfra

A_NAME, B_NAME = "default-a", "default-b"
A = testinfra.get_host("podman://" + A_NAME)
B = testinfra.get_host("podman://" + B_NAME)
BROKER = "host-a.dcvkit.test"
SERVER = "host-b.dcvkit.test"
PUBLIC = "desktops.dcvkit.test"
CLIENT_PORT, AGENT_PORT, RESOLVER_PORT, GATEWAY_PORT = 8448, 8445, 8447, 8443
HEALTH_PORT = 8989
OWNER = "alice"
BROKER_CA = "/etc/dcv-session-manager-broker/tls/ca.pem"
GATEWAY_CA = "/etc/dcv-connection-gateway/certs/ca.pem"
RESOLVER_404 = "The requested combination of transport and sessionId does not exist"
SERVICES = {
    A_NAME: ["dcv-session-manager-broker", "dcv-connection-gateway"],
    B_NAME: ["dcvserver", "dcv-session-manager-agent"],
}
# every file the roles manage (what a bad input must leave untouched, what a CA rotation must rewrite)
MANAGED_PATHS = {
    A_NAME: ["/etc/dcv-session-manager-broker", "/etc/dcv-connection-gateway",
             "/etc/systemd/system/dcv-session-manager-broker.service.d", "/var/cache/dcvkit"],
    B_NAME: ["/etc/dcv", "/etc/dcv-session-manager-agent", "/var/cache/dcvkit"],
}
HOSTS = {A_NAME: A, B_NAME: B}


def site_playbook():
    return os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "playbooks", "site.yml")


def inventory():
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory")


def ca_dir():
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "dcv-ca")


def run_site(extra_vars=None, options=(), timeout=900, env=None):
    """ansible-playbook site.yml against the scenario's hosts; returns (rc, output)."""
    command = ["ansible-playbook", "-i", inventory(), site_playbook()] + list(options)
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    full_env = dict(os.environ, ANSIBLE_FORCE_COLOR="false", ANSIBLE_NOCOLOR="1", NO_COLOR="1")
    full_env.update(env or {})
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full_env,
                            timeout=timeout, check=False)
    return result.returncode, result.stdout.decode("utf-8", "replace")


def recap(output):
    """{host: {'ok': n, 'changed': n, 'failed': n, 'unreachable': n}} from the last PLAY RECAP."""
    counts = {}
    for line in output.rsplit("PLAY RECAP", 1)[-1].splitlines():
        if " : ok=" not in line:
            continue
        name, _sep, rest = line.partition(" : ")
        counts[name.strip()] = {k: int(v) for k, v in (item.split("=") for item in rest.split())}
    return counts


def assert_converged(output, changed=None):
    counts = recap(output)
    assert set(counts) == {A_NAME, B_NAME}, output[-3000:]
    for name, count in counts.items():
        assert count["failed"] == 0 and count["unreachable"] == 0, output[-3000:]
        if changed is not None:
            assert count["changed"] == changed, (name, count, output[-3000:])


def snapshot(name):
    """Content hash, owner, mode and mtime of every managed file on one host."""
    target = HOSTS[name]
    existing = [p for p in MANAGED_PATHS[name] if target.file(p).exists]
    return target.check_output(
        "find %s -type f -exec stat -c '%%n %%U:%%G %%a %%Y' {} + -exec sha256sum {} + | sort" % " ".join(existing))


def started_at(name, service):
    """Changes exactly when the unit was (re)started."""
    return HOSTS[name].check_output(
        "systemctl show -p ActiveEnterTimestampMonotonic -p MainPID --value %s" % service)


def all_started_at():
    return {(name, service): started_at(name, service) for name, services in SERVICES.items() for service in services}


def wait_until(check, timeout=60, interval=1):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value or time.time() > deadline:
            return value
        time.sleep(interval)


def curl(host, url, *options, ca, data=None, resolve_to=None):
    """(HTTP status, body); status 0 when curl failed (body = its error). Strict TLS: --cacert only."""
    command = "curl -sS --max-time 20 --cacert %s %s -w '\\n%%{http_code}' %s" % (
        shlex.quote(ca), " ".join(options), shlex.quote(url))
    if data is not None:
        command += " -X POST -H 'Content-Type: application/json' --data %s" % shlex.quote(json.dumps(data))
    result = host.run(command)
    if result.rc != 0:
        return 0, result.stderr
    body, _newline, status = result.stdout.rpartition("\n")
    return int(status), body


class Api:
    """OAuth2 client of the broker's client port, used from host A with the broker's CA (strict TLS)."""

    def __init__(self, name="stack-verify"):
        out = A.check_output("dcv-session-manager-broker register-api-client --client-name %s-%d" % (name, os.getpid()))
        lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
        self.client_id, self.secret = lines["client-id"], lines["client-password"]
        self.login()

    def login(self):
        status, body = curl(A, "https://%s:%d/oauth2/token?grant_type=client_credentials" % (BROKER, CLIENT_PORT),
                            "-X POST -H 'Content-Type: application/x-www-form-urlencoded' --data ''",
                            "-u %s" % shlex.quote("%s:%s" % (self.client_id, self.secret)), ca=BROKER_CA)
        assert status == 200, body
        self.token = json.loads(body)["access_token"]

    def call(self, path, data=None):
        status, body = curl(A, "https://%s:%d%s" % (BROKER, CLIENT_PORT, path),
                            "-H %s" % shlex.quote("Authorization: Bearer " + self.token), ca=BROKER_CA, data=data)
        if status == 401:  # access tokens live in the broker's memory: a restarted broker forgot them
            self.login()
            status, body = curl(A, "https://%s:%d%s" % (BROKER, CLIENT_PORT, path),
                                "-H %s" % shlex.quote("Authorization: Bearer " + self.token), ca=BROKER_CA, data=data)
        return status, (json.loads(body) if body.startswith(("{", "[")) else body)

    def state(self, session_id):
        return self.call("/describeSessions", {"SessionIds": [session_id]})[1]["Sessions"][0]["State"]

    def ready_session(self, name):
        status, created = self.call("/createSessions", [{"Name": name, "Owner": OWNER, "Type": "VIRTUAL"}])
        assert status == 200 and created["UnsuccessfulList"] == [], created
        session_id = created["SuccessfulList"][0]["Id"]
        assert wait_until(lambda: self.state(session_id) == "READY", timeout=60), \
            "session %s stayed %s" % (session_id, self.state(session_id))
        return session_id

    def connection_token(self, session_id):
        status, data = self.call("/sessionConnectionData/%s/%s" % (session_id, OWNER))
        assert status == 200, data
        return data["ConnectionToken"]


def agent_registered():
    """The broker lists B's agent as active (reported within the last 60 s)."""
    out = A.check_output("dcv-session-manager-broker describe-agent-clients")
    agents = json.loads(out.split("\n", 1)[1])
    return [a for a in agents if a.get("active")]


def resolve(session_id):
    """POST /resolveSession as the gateway does: from host A, trusting the gateway's CA file."""
    return curl(A, "https://%s:%d/resolveSession?sessionId=%s&transport=HTTP&clientIpAddress=10.1.2.3"
                % (BROKER, RESOLVER_PORT, session_id), "-X POST", ca=GATEWAY_CA)


def connect(session_id, token, name=PUBLIC):
    """The stand-in gateway route from host B, as a browser reaches the public name (strict TLS, CA only)."""
    status, body = curl(B, "https://%s:%d/standin/connect?sessionId=%s&authToken=%s"
                        % (name, GATEWAY_PORT, session_id, token), ca=BROKER_CA_ON_B)
    return status, json.loads(body) if body.startswith("{") else body


# B holds the collection's CA as the agent's trust anchor: the "browser" on B trusts exactly that CA
BROKER_CA_ON_B = "/etc/dcv-session-manager-agent/ca.pem"


def end_to_end(api=None, label="e2e"):
    """The whole chain, strict TLS on every hop; returns the session id. Used after every fault's healing run."""
    api = api or Api()
    assert wait_until(agent_registered, timeout=60), A.run("dcv-session-manager-broker describe-agent-clients").stdout
    session_id = api.ready_session(label)
    status, body = resolve(session_id)
    assert status == 200, body
    resolved = json.loads(body)
    assert resolved["SessionId"] == session_id and resolved["TransportProtocol"] == "HTTP", resolved
    # the broker maps host B's address to its name (dcv_broker registers it), so the gateway connects by name and
    # B's certificate needs no IP address (sm-admin "Amazon DCV Session Manager Amazon DCV server - DNS mapping
    # reference")
    assert resolved["DcvServerEndpoint"] == SERVER, resolved
    token = api.connection_token(session_id)
    status, route = connect(session_id, token)
    assert status == 200 and route["Connected"] is True, route
    assert [hop["Hop"] for hop in route["Route"]] == [
        "gateway->resolver", "gateway->dcv-server", "dcv-server->auth-token-verifier"], route
    return session_id
