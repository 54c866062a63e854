#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: link_check
short_description: Probe the links of a DCV Session Manager stack from the host that uses them
version_added: "0.1.0"
description:
  - Runs on the host that uses a link (the agent's host for agent to broker, the gateway's host for gateway to
    resolver, ...) and reports what that host sees, so a diagnosis names the real cause.
  - TLS probes verify the chain against the given CA file and check the host name, as the product does; one
    HTTP request can follow the handshake. Failures are results, classified (C(dns), C(refused), C(timeout),
    C(tls_untrusted), C(tls_hostname), C(tls_expired), C(proxy_auth), ...), never task failures.
  - Also reports listening TCP sockets with the process holding each, systemd unit states, selected live files
    (Java properties with secrets redacted, text, or matching log lines), command outputs, and the host's clock.
  - With O(broker_api), describes the broker's servers and sessions with stored API client credentials.
  - Uses only the Python standard library, so it runs on any target. It changes nothing.
  - Used by C(playbooks/verify.yml), which turns the results into one table.
author:
  - dcvkit contributors (@dcvkit)
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: No diff is produced.
options:
  probes:
    description: TLS probes to run from this host.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Key of this probe in RV(probes).
        type: str
        required: true
      host:
        description: Host name to connect to (also the name checked against the certificate).
        type: str
        required: true
      port:
        description: TCP port.
        type: int
        required: true
      server_name:
        description: Name to send (SNI) and check in the certificate, when it differs from O(probes[].host).
        type: str
      address:
        description: Address to connect to instead of resolving O(probes[].host).
        type: str
      ca_file:
        description: PEM CA file to verify the peer against; the system store when omitted.
        type: path
      cert_file:
        description: Client certificate (PEM) to present, for mutual TLS.
        type: path
      key_file:
        description: Private key of O(probes[].cert_file).
        type: path
      method:
        description: HTTP method of one request sent after the handshake; no request when omitted.
        type: str
      path:
        description: Path (and query) of the HTTP request.
        type: str
        default: /
      headers:
        description: Extra HTTP request headers.
        type: dict
      body:
        description: HTTP request body.
        type: str
      use_proxy:
        description: Go through the https proxy of the environment (E(https_proxy), E(no_proxy)), as browsers do.
        type: bool
        default: false
      timeout:
        description: Seconds for connecting and for each read.
        type: int
        default: 10
  listeners:
    description: Report the listening TCP sockets and the processes that hold them.
    type: bool
    default: false
  units:
    description: systemd units whose state and main PID to report.
    type: list
    elements: str
    default: []
  files:
    description: Live files to report.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: File path.
        type: path
        required: true
      kind:
        description:
          - V(text) returns the content, V(properties) the parsed Java properties with every value whose key
            names a password or secret replaced by C((secret)), V(log) the last matching lines.
        type: str
        choices: [text, properties, log]
        default: text
      pattern:
        description: With O(files[].kind=log), a regular expression the returned lines match.
        type: str
      last:
        description: With O(files[].kind=log), how many matching lines to return.
        type: int
        default: 5
  commands:
    description: Read-only commands to run; their rc, stdout and stderr are returned under their name.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Key of this command in RV(commands).
        type: str
        required: true
      argv:
        description: The command and its arguments (no shell).
        type: list
        elements: str
        required: true
  broker_api:
    description:
      - Describe the broker's servers and sessions through its client API with the credentials that
        M(dcvkit.session_manager.api_client) stored. Skipped (C(skipped) in RV(broker_api)) when the file is missing.
    type: dict
    suboptions:
      url:
        description: Base URL of the broker client API.
        type: str
        required: true
      ca_file:
        description: CA of the broker client certificate.
        type: path
      credentials_file:
        description: JSON credentials file written by M(dcvkit.session_manager.api_client).
        type: path
        required: true
seealso:
  - module: dcvkit.session_manager.session
"""

EXAMPLES = r"""
- name: Agent to broker, from the agent's host, with the agent's CA
  dcvkit.session_manager.link_check:
    probes:
      - name: agent_broker
        host: broker.example.internal
        port: 8445
        ca_file: /etc/dcv-session-manager-agent/ca.pem
        method: GET
        path: /health
    files:
      - path: /var/log/dcv-session-manager-agent/agent.log
        kind: log
        pattern: sessionsUpdateResponse
        last: 1
  become: true
  register: link
"""

RETURN = r"""
probes:
  description:
    - One result per probe name; C(ok) is true when the TLS handshake verified (and an HTTP answer came back when a
      request was asked for). C(category) classifies a failure; C(peer) holds the names and issuer of the peer
      certificate, also when it failed verification.
  returned: always
  type: dict
listeners:
  description: Listening TCP sockets, each with C(address), C(port), C(pid) and C(process).
  returned: always
  type: list
  elements: dict
units:
  description: Per unit, C(ActiveState), C(MainPID) and C(LoadState) as systemctl shows them.
  returned: always
  type: dict
files:
  description: Per path, C(exists) and C(content), C(properties) or C(lines).
  returned: always
  type: dict
commands:
  description: Per command name, C(rc), C(stdout) and C(stderr).
  returned: always
  type: dict
broker_api:
  description:
    - C(sessions) and C(servers) as the broker describes them; C(sessions_error) / C(servers_error) (and the HTTP
      status) when a call failed; C(error) when the credentials file is unusable; C(skipped) when it is missing.
  returned: when O(broker_api) is given
  type: dict
hostname:
  description: The host's own name (C(socket.gethostname())), the name an agent registers with.
  returned: always
  type: str
fqdn:
  description: The host's fully qualified name as its resolver gives it.
  returned: always
  type: str
time:
  description: The host's clock (seconds since the epoch) when the module ran.
  returned: always
  type: float
"""

import socket

from http.client import HTTPException

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dcvkit.session_manager.plugins.module_utils import verify_probe
from ansible_collections.dcvkit.session_manager.plugins.module_utils.broker_api import BrokerApiClient, BrokerApiError
from ansible_collections.dcvkit.session_manager.plugins.module_utils.broker_credentials import (
    CredentialsError, read_file as read_credentials)

_PROBE_KEYS = ("host", "port", "server_name", "address", "ca_file", "cert_file", "key_file", "method", "path",
               "headers", "use_proxy", "timeout")


def run_probe(spec):
    kwargs = dict((key, spec[key]) for key in _PROBE_KEYS if spec.get(key) is not None)
    if spec.get("body") is not None:
        kwargs["body"] = spec["body"].encode("utf-8")
    return verify_probe.tls_probe(**kwargs)


def describe_broker(spec):
    try:
        credentials = read_credentials(spec["credentials_file"])
    except CredentialsError as error:
        return {"error": str(error)}
    if credentials is None:
        return {"skipped": "no API client credentials at %s (playbooks/session.yml registers them)"
                           % spec["credentials_file"]}
    client = BrokerApiClient(spec["url"], credentials["client_id"], credentials["client_secret"],
                             ca_file=spec.get("ca_file"), use_proxy=False, timeout=15)
    result = {}
    # sessions first: the resolver diagnosis needs them; servers are for the operator's eye
    for key, call in (("sessions", client.describe_sessions), ("servers", client.describe_servers)):
        try:
            answer = call()
        except BrokerApiError as error:
            result["%s_error" % key] = str(error)
            result["%s_status" % key] = error.status
            continue
        except (HTTPException, OSError, ValueError) as error:
            result["%s_error" % key] = "the broker client API broke off its answer: %r" % error
            continue
        if key == "sessions":
            result[key] = [{"Id": s.get("Id"), "State": s.get("State"), "Owner": s.get("Owner"), "Type": s.get("Type"),
                            "Server": s.get("Server")} for s in answer]
        else:
            result[key] = [{"Id": s.get("Id"), "Ip": s.get("Ip"), "Hostname": s.get("Hostname"),
                            "Availability": s.get("Availability")} for s in answer]
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            probes=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                host=dict(type="str", required=True),
                port=dict(type="int", required=True),
                server_name=dict(type="str"),
                address=dict(type="str"),
                ca_file=dict(type="path"),
                cert_file=dict(type="path"),
                key_file=dict(type="path", no_log=False),
                method=dict(type="str"),
                path=dict(type="str", default="/"),
                headers=dict(type="dict"),
                body=dict(type="str"),
                use_proxy=dict(type="bool", default=False),
                timeout=dict(type="int", default=10),
            )),
            listeners=dict(type="bool", default=False),
            units=dict(type="list", elements="str", default=[]),
            files=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                kind=dict(type="str", default="text", choices=["text", "properties", "log"]),
                pattern=dict(type="str"),
                last=dict(type="int", default=5),
            )),
            commands=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                argv=dict(type="list", elements="str", required=True),
            )),
            broker_api=dict(type="dict", options=dict(
                url=dict(type="str", required=True),
                ca_file=dict(type="path"),
                credentials_file=dict(type="path", required=True),
            )),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result = {"changed": False, "time": verify_probe.now(), "hostname": socket.gethostname(),
              "fqdn": socket.getfqdn()}
    result["probes"] = dict((spec["name"], run_probe(spec)) for spec in params["probes"])
    result["listeners"] = verify_probe.listeners() if params["listeners"] else []
    result["units"] = dict((unit, verify_probe.unit_state(module.run_command, unit)) for unit in params["units"])
    result["files"] = dict((spec["path"], verify_probe.read_file(spec["path"], spec["kind"], pattern=spec["pattern"],
                                                                 last=spec["last"])) for spec in params["files"])
    commands = {}
    for spec in params["commands"]:
        try:
            rc, out, err = module.run_command(spec["argv"], handle_exceptions=False)
        except OSError as error:
            rc, out, err = 127, "", str(error)
        commands[spec["name"]] = {"rc": rc, "stdout": out, "stderr": err}
    result["commands"] = commands
    if params["broker_api"]:
        result["broker_api"] = describe_broker(params["broker_api"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
