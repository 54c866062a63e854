# TEST DOUBLE: part of the dcvkit test stand-ins for the Amazon DCV packages (tests/standins).
# Not Amazon software; used only by the collection's tests and lab.
"""Stand-in for the `dcv-session-manager-broker` CLI.

Talks to the running broker stand-in on 127.0.0.1:<cli-to-broker-port>, authenticated by the
token file the broker writes under <state dir>/security/ (readable by root only).  Output
formats follow the sm-admin CLI reference pages: a title line, then pretty JSON.
"""

import argparse
import json
import os
import sys

from dcvstandin import common
from dcvstandin.broker import PROPERTIES_FILE, STATE_DIR, load_properties
from dcvstandin.configformats import ConfigError


def _pretty(value):
    return json.dumps(value, indent=2, separators=(",", " : "))


def _call(args, method, path, body=None):
    try:
        settings = load_properties(common.read_text(args.properties), args.properties,
                                   common.setup_logging("broker-cli", level="error"))
        token = common.read_text(os.path.join(args.state_dir, "security", "cli-token")).strip()
    except (OSError, ConfigError) as exc:
        raise SystemExit("error: cannot reach the broker (is it running, and are you root?): %s" % exc)
    url = "http://127.0.0.1:%d%s" % (settings["cli-to-broker-port"], path)
    try:
        status, data, _peer = common.https_request(method, url, None, body=body,
                                                   headers={"X-Standin-Cli-Token": token})
    except OSError as exc:
        raise SystemExit("error: the broker is not answering on %s: %s" % (url, exc))
    payload = json.loads(data.decode("utf-8")) if data else None
    if status != 200:
        raise SystemExit("error: %s" % (payload or {}).get("message", status))
    return payload


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dcv-session-manager-broker",
                                     description="Broker CLI stand-in (%s)" % common.STANDIN_NOTICE)
    parser.add_argument("--properties", default=PROPERTIES_FILE, help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", default=STATE_DIR, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("register-api-client").add_argument("--client-name", required=True)
    sub.add_parser("describe-api-clients")
    sub.add_parser("unregister-api-client").add_argument("--client-id", required=True)
    sub.add_parser("describe-agent-clients")
    sub.add_parser("unregister-agent-client").add_argument("--client-id", required=True)
    sub.add_parser("register-server-dns-mappings").add_argument("--file-path", required=True)
    sub.add_parser("describe-server-dns-mappings")
    for unsupported in ("generate-software-statement", "describe-software-statements",
                        "deactivate-software-statement", "register-auth-server",
                        "list-auth-servers", "unregister-auth-server", "renew-auth-server-api-key"):
        sub.add_parser(unsupported)
    args = parser.parse_args(argv)

    if args.command == "register-api-client":
        result = _call(args, "POST", "/cli/register-api-client", {"ClientName": args.client_name})
        print("client-id: %s" % result["ClientId"])
        print("client-password: %s" % result["ClientPassword"])
    elif args.command == "describe-api-clients":
        print("Api clients")
        print(_pretty(_call(args, "GET", "/cli/describe-api-clients")))
    elif args.command == "unregister-api-client":
        _call(args, "POST", "/cli/unregister-api-client", {"ClientId": args.client_id})
        # the output of the sm-admin "unregister-api-client" example
        print("Client %s unregistered." % args.client_id)
    elif args.command == "describe-agent-clients":
        print("Session manager agent clients")
        print(_pretty(_call(args, "GET", "/cli/describe-agent-clients")))
    elif args.command == "unregister-agent-client":
        _call(args, "POST", "/cli/unregister-agent-client", {"ClientId": args.client_id})
        print("agent client %s unregistered" % args.client_id)
    elif args.command == "register-server-dns-mappings":
        with open(args.file_path, encoding="utf-8") as handle:
            mappings = json.load(handle)
        result = _call(args, "POST", "/cli/register-server-dns-mappings", mappings)
        print("Successfully loaded %d server id - dns name mappings from file %s"
              % (result["Count"], args.file_path))
    elif args.command == "describe-server-dns-mappings":
        print(_pretty(_call(args, "GET", "/cli/describe-server-dns-mappings")))
    else:
        print("error: %s is not modelled by the stand-in" % args.command, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
