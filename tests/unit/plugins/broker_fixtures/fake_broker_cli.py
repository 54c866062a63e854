# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for the `dcv-session-manager-broker` CLI's API client and DNS mapping commands (tests only).

`install(directory)` writes an executable named like the real CLI; it keeps its clients and mappings in a JSON
file next to it and prints what the documented CLI prints: the password once, on registration;
`describe-server-dns-mappings` and `register-server-dns-mappings` as sm-admin's pages of those names show them.
"""

from __future__ import annotations

import json
import os
import stat
import sys

CLI_NAME = 'dcv-session-manager-broker'

_SCRIPT = r'''#!%(python)s
import json, os, sys, uuid

STATE = %(state)r


def load():
    if not os.path.exists(STATE):
        return {"clients": [], "calls": [], "mappings": [], "mapping_files": []}
    with open(STATE) as handle:
        return json.load(handle)


def save(data):
    with open(STATE, "w") as handle:
        json.dump(data, handle)


def option(name):
    args = sys.argv[2:]
    if name in args and args.index(name) + 1 < len(args):
        return args[args.index(name) + 1]
    sys.stderr.write("missing %%s\n" %% name)
    sys.exit(2)


data = load()
command = sys.argv[1] if len(sys.argv) > 1 else ""
data["calls"].append(command)
if data.get("fail") == command:
    save(data)
    sys.stderr.write("Error: cannot reach the broker on port 47200\n")
    sys.exit(1)
if command == "register-api-client":
    name = option("--client-name")
    client = {"name": name, "id": str(uuid.uuid4()), "secret": uuid.uuid4().hex + "-S3CR3T", "active": True}
    data["clients"].append(client)
    save(data)
    print("client-id: %%s" %% client["id"])
    print("client-password: %%s" %% client["secret"])
    if data.get("fail") == "register-after-printing":
        # A CLI that prints the credentials and still exits non-zero (e.g. a warning turned error).
        sys.stderr.write("Error: could not flush the client store\n")
        sys.exit(1)
elif command == "describe-api-clients":
    save(data)
    print("Api clients")
    print(json.dumps([{"name": c["name"], "id": c["id"], "active": c["active"]} for c in data["clients"]],
                     indent=1))
elif command == "unregister-api-client":
    client_id = option("--client-id")
    found = [c for c in data["clients"] if c["id"] == client_id]
    if not found:
        save(data)
        sys.stderr.write("Client %%s not found\n" %% client_id)
        sys.exit(1)
    found[0]["active"] = False
    save(data)
    print("Client %%s unregistered." %% client_id)
elif command == "describe-server-dns-mappings":
    save(data)
    print(json.dumps([{"serverIdType": m["ServerIdType"], "serverId": m["ServerId"],
                       "dnsNames": {"internalDnsName": m["DnsNames"].get("InternalDnsName"),
                                    "externalDnsName": m["DnsNames"].get("ExternalDnsName")}}
                      for m in data.get("mappings", [])], indent=2, separators=(",", " : ")))
elif command == "register-server-dns-mappings":
    path = option("--file-path")
    status = os.stat(path)
    with open(path) as handle:
        mappings = json.load(handle)
    data.setdefault("mapping_files", []).append({"path": path, "mode": status.st_mode & 0o777,
                                                 "uid": status.st_uid, "gid": status.st_gid, "content": mappings})
    if data.get("fault") != "register-keeps-nothing":
        data["mappings"] = mappings
    save(data)
    count = len(mappings) - (1 if data.get("fault") == "register-loads-fewer" else 0)
    print("Successfully loaded %%d server id - dns name mappings from file %%s" %% (count, path))
else:
    save(data)
    sys.stderr.write("unknown command %%r\n" %% command)
    sys.exit(2)
'''


class FakeBrokerCli:
    def __init__(self, directory):
        self.directory = directory
        self.state_file = os.path.join(directory, 'cli-state.json')
        self.path = os.path.join(directory, CLI_NAME)
        with open(self.path, 'w') as handle:
            handle.write(_SCRIPT % {'python': sys.executable, 'state': self.state_file})
        os.chmod(self.path, os.stat(self.path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

    def data(self):
        if not os.path.exists(self.state_file):
            return {'clients': [], 'calls': [], 'mappings': [], 'mapping_files': []}
        with open(self.state_file) as handle:
            return json.load(handle)

    def _change(self, function):
        data = self.data()
        function(data)
        with open(self.state_file, 'w') as handle:
            json.dump(data, handle)

    @property
    def clients(self):
        return self.data()['clients']

    @property
    def calls(self):
        return self.data()['calls']

    def fail_next(self, command):
        self._change(lambda data: data.__setitem__('fail', command))

    def deactivate(self, client_id):
        def change(data):
            for client in data['clients']:
                if client['id'] == client_id:
                    client['active'] = False
        self._change(change)

    def forget(self, client_id):
        self._change(lambda data: data.__setitem__(
            'clients', [c for c in data['clients'] if c['id'] != client_id]))

    @property
    def mappings(self):
        return self.data().get('mappings', [])

    @property
    def mapping_files(self):
        return self.data().get('mapping_files', [])

    def set_mappings(self, mappings):
        self._change(lambda data: data.__setitem__('mappings', mappings))

    def fault(self, name):
        self._change(lambda data: data.__setitem__('fault', name))
