# TEST DOUBLE: part of the dcvkit test stand-ins for the Amazon DCV packages (tests/standins).
# Not Amazon software; used only by the collection's tests and lab.
"""Stand-in for the `dcv` command line (list-sessions, create-session, close-session,
describe-session).  Talks to the dcvserver stand-in over its Unix control socket."""

import argparse
import json
import os
import socket
import sys

from dcvstandin import common
from dcvstandin.server import CONTROL_SOCKET


def call(request, control_socket=None):
    path = control_socket or os.environ.get("DCV_STANDIN_CONTROL_SOCKET", CONTROL_SOCKET)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(path)
            sock.sendall((json.dumps(request) + "\n").encode("utf-8"))
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        return {"ok": False, "error": "cannot reach the DCV server (is dcvserver running?): %s" % exc}
    return json.loads(data.decode("utf-8"))


def _line(session):
    return "Session: '%s' (owner:%s type:%s name:%s)" % (session["id"], session["owner"],
                                                         session["type"], session["name"])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dcv", description="dcv CLI stand-in (%s)"
                                     % common.STANDIN_NOTICE)
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list-sessions")
    listing.add_argument("-j", "--json", action="store_true")
    create = sub.add_parser("create-session")
    create.add_argument("--type", default="virtual", choices=("virtual", "console"))
    create.add_argument("--owner", default=None)
    create.add_argument("--name", default=None)
    create.add_argument("id")
    close = sub.add_parser("close-session")
    close.add_argument("id")
    describe = sub.add_parser("describe-session")
    describe.add_argument("-j", "--json", action="store_true")
    describe.add_argument("id")
    args = parser.parse_args(argv)

    if args.command == "list-sessions":
        reply = call({"command": "list-sessions"})
        if reply["ok"]:
            if args.json:
                print(json.dumps(reply["sessions"], indent=2))
            elif not reply["sessions"]:
                print("There are no sessions available.")
            else:
                for session in reply["sessions"]:
                    print(_line(session))
    elif args.command == "create-session":
        owner = args.owner or os.environ.get("USER") or "root"
        reply = call({"command": "create-session", "id": args.id, "owner": owner,
                      "type": args.type, "name": args.name})
    elif args.command == "close-session":
        reply = call({"command": "close-session", "id": args.id})
        if reply["ok"]:
            print("Session '%s' closed" % args.id)
    else:
        reply = call({"command": "describe-session", "id": args.id})
        if reply["ok"]:
            print(json.dumps(reply["session"], indent=2) if args.json else _line(reply["session"]))
    if not reply["ok"]:
        print("error: %s" % reply["error"], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
