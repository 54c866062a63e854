# TEST DOUBLE: part of the dcvkit test stand-ins for the Amazon DCV packages (tests/standins).
# Not Amazon software; used only by the collection's tests and lab.
"""Stand-in for the DCV Session Manager Agent (package nice-dcv-session-manager-agent).

Reads /etc/dcv-session-manager-agent/agent.conf (TOML, strict), registers with the broker's
agent port over TLS (ca_file + host name check when tls_strict), then every
broker_update_interval seconds reports its DCV server (host name, address, endpoints from
dcv.conf) and sessions, and carries out the create/close commands the broker answers with.
"""

import argparse
import base64
import json
import os
import platform
import socket
import ssl
import sys
import threading

from dcvstandin import common, dcvcli
from dcvstandin.configformats import ConfigError, parse_toml
from dcvstandin.server import CONF_FILE as DCV_CONF_FILE, load_dcv_conf

CONF_FILE = "/etc/dcv-session-manager-agent/agent.conf"
STATE_FILE = "/var/lib/dcvsmagent/standin-agent.json"
VERSION = "2025.0.886-1 (stand-in)"
KNOWN_KEYS = {
    "": {"version"},
    # sm-admin "Agent Configuration File", plus the keys its "Release notes and document history"
    # add: max_virtual_sessions and max_concurrent_sessions_per_user (2021.0-10242),
    # enable_query_logged_in_users (2025.0-539).
    "agent": {"broker_host", "broker_port", "ca_file", "tls_strict", "init_folder",
              "autorun_folder", "tags_folder", "software_statement_path",
              "broker_update_interval", "dcv_root", "max_virtual_sessions",
              "max_concurrent_sessions_per_user", "enable_query_logged_in_users"},
    "log": {"level", "directory", "rotation"},
}


def load_agent_conf(path):
    """Typed agent settings; ConfigError on a parse error, unknown or missing keys."""
    conf = parse_toml(common.read_text(path), path)
    for table, value in conf.items():
        if isinstance(value, dict):
            if table not in KNOWN_KEYS or table == "":
                raise ConfigError("%s: unknown table [%s]" % (path, table))
            unknown = set(value) - KNOWN_KEYS[table]
            if unknown:
                raise ConfigError("%s: unknown key(s) in [%s]: %s (the stand-in refuses keys it does "
                                  "not know)" % (path, table, ", ".join(sorted(unknown))))
        elif table not in KNOWN_KEYS[""]:
            raise ConfigError("%s: unknown top-level key %r" % (path, table))
    agent, log = conf.get("agent", {}), conf.get("log", {})
    for key in ("broker_host", "broker_port"):
        if key not in agent:
            raise ConfigError("%s: [agent] %s is required" % (path, key))
    checks = [("broker_host", str), ("broker_port", int), ("ca_file", str), ("tls_strict", bool),
              ("broker_update_interval", int), ("tags_folder", str), ("max_virtual_sessions", int),
              ("max_concurrent_sessions_per_user", int), ("enable_query_logged_in_users", bool)]
    for key, kind in checks:
        if key in agent and (not isinstance(agent[key], kind)
                             or (kind is int and isinstance(agent[key], bool))):
            raise ConfigError("%s: [agent] %s must be a %s, got %r" % (path, key, kind.__name__,
                                                                       agent[key]))
    for key in ("max_virtual_sessions", "max_concurrent_sessions_per_user"):
        if key in agent and agent[key] < 0:
            raise ConfigError("%s: [agent] %s must be a non-negative integer, got %r" % (path, key, agent[key]))
    if "broker_update_interval" in agent and agent["broker_update_interval"] <= 0:
        raise ConfigError("%s: [agent] broker_update_interval must be a positive number of seconds, got %r"
                          % (path, agent["broker_update_interval"]))
    return {
        "broker_host": agent["broker_host"], "broker_port": agent["broker_port"],
        "ca_file": agent.get("ca_file"), "tls_strict": agent.get("tls_strict", True),
        "broker_update_interval": agent.get("broker_update_interval", 30),
        "tags_folder": agent.get("tags_folder", "/etc/dcv-session-manager-agent/tags"),
        "max_virtual_sessions": agent.get("max_virtual_sessions"),
        "max_concurrent_sessions_per_user": agent.get("max_concurrent_sessions_per_user"),
        "enable_query_logged_in_users": agent.get("enable_query_logged_in_users", False),
        "log_level": log.get("level", "info"),
        "log_directory": log.get("directory", "/var/log/dcv-session-manager-agent"),
    }


def host_info():
    """What the broker's DescribeServers reports under Host, as far as the standard library tells it: the
    properties CreateSessions requirements can name (server:Host.Os.Family, Host.Memory.TotalBytes, ...)."""
    os_release = {}
    try:
        with open("/etc/os-release", encoding="utf-8") as handle:
            for line in handle:
                key, sep, value = line.strip().partition("=")
                if sep:
                    os_release[key] = value.strip('"')
    except OSError:
        pass
    info = {"Os": {"Family": "linux", "Name": os_release.get("NAME", platform.system()),
                   "Version": os_release.get("VERSION_ID", ""), "KernelVersion": platform.release()},
            "CpuInfo": {"Architecture": platform.machine(), "NumberOfCpus": os.cpu_count() or 1}}
    try:
        info["Memory"] = {"TotalBytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")}
        one, five, fifteen = os.getloadavg()
        info["CpuLoadAverage"] = {"OneMinute": one, "FiveMinutes": five, "FifteenMinutes": fifteen}
    except (OSError, ValueError, AttributeError):
        pass
    return info


def read_tags(folder):
    tags = {}
    if not os.path.isdir(folder):
        return tags
    for name in sorted(os.listdir(folder)):
        if name.endswith(".toml"):
            path = os.path.join(folder, name)
            for key, value in parse_toml(common.read_text(path), path).items():
                if not isinstance(value, str):
                    raise ConfigError("%s: tag %s must be a string" % (path, key))
                tags[key] = value
    return tags


class Agent:
    def __init__(self, conf_file=CONF_FILE, dcv_conf_file=DCV_CONF_FILE, state_file=STATE_FILE,
                 control_socket=None, log_file=None):
        self.conf_file, self.dcv_conf_file, self.state_file = conf_file, dcv_conf_file, state_file
        self.control_socket = control_socket
        self.settings = load_agent_conf(conf_file)
        self.log = common.setup_logging(
            "agent", log_file or os.path.join(self.settings["log_directory"], "agent.log"),
            self.settings["log_level"])
        self.state = common.load_json(state_file, {})
        self.results = []
        self.stopping = threading.Event()
        s = self.settings
        self.base_url = "https://%s/agent/" % common.format_hostport(s["broker_host"], s["broker_port"])
        self.context = common.client_context(s["ca_file"], s["tls_strict"])

    def _post(self, path, body):
        headers = {}
        if self.state.get("AgentId"):
            pair = "%s:%s" % (self.state["AgentId"], self.state["AgentSecret"])
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        status, data, _peer = common.https_request("POST", self.base_url + path, self.context,
                                                   body=body, headers=headers)
        return status, (json.loads(data.decode("utf-8")) if data else {})

    def _my_address(self):
        # The address this host uses to reach the broker: what the broker would see.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((self.settings["broker_host"], self.settings["broker_port"]))
            return probe.getsockname()[0]

    def _dcv_state(self):
        dcv = load_dcv_conf(self.dcv_conf_file)
        listing = dcvcli.call({"command": "list-sessions"}, self.control_socket)
        # the connection count and last disconnection the broker answers DescribeSessions with (NumOfConnections,
        # LastDisconnectionTime), from the DCV server's num-of-connections and last-disconnection-time ("" = never)
        sessions = [{"Id": s["id"], "Owner": s["owner"], "Type": s["type"].upper(), "Name": s["name"],
                     "NumOfConnections": s.get("num-of-connections", 0),
                     "LastDisconnectionTime": s.get("last-disconnection-time") or None}
                    for s in listing.get("sessions", [])]
        return {"WebPort": dcv["web-port"], "WebUrlPath": dcv["web-url-path"],
                "QuicEnabled": dcv["enable-quic-frontend"], "QuicPort": dcv["quic-port"],
                "Running": listing["ok"]}, sessions

    def _run_command(self, command):
        if command["Action"] == "create":
            # CreateSessions PermissionsFile reaches the DCV server as the session's permissions file
            # (dcv create-session --permissions-file); the broker checked that it is Base64
            permissions = command.get("PermissionsFile")
            reply = dcvcli.call({"command": "create-session", "id": command["SessionId"],
                                 "owner": command["Owner"], "type": command["Type"].lower(),
                                 "name": command.get("Name"),
                                 "permissions-file": base64.b64decode(permissions).decode("utf-8")
                                 if permissions else None}, self.control_socket)
        else:
            reply = dcvcli.call({"command": "close-session", "id": command["SessionId"]},
                                self.control_socket)
        level = self.log.info if reply["ok"] else self.log.error
        level("%s session %s: %s", command["Action"], command["SessionId"],
              "ok" if reply["ok"] else reply["error"])
        self.results.append({"CommandId": command["CommandId"], "SessionId": command["SessionId"],
                             "Action": command["Action"], "Success": reply["ok"],
                             "Message": reply.get("error", "")})

    def report_once(self):
        """One registration/report round; returns True when the broker answered success."""
        where = "broker %s (ca_file %s, tls_strict %s)" % (
            self.base_url, self.settings["ca_file"] or "<system>", self.settings["tls_strict"])
        try:
            if not self.state.get("AgentId"):
                status, reply = self._post("register", {"Hostname": socket.gethostname()})
                if status != 200:
                    self.log.error("registration at %s failed: HTTP %s %s", where, status, reply)
                    return False
                self.state = reply
                common.save_json(self.state_file, reply)
                self.log.info("registered at the broker as agent client %s", reply["AgentId"])
            dcv, sessions = self._dcv_state()
            report = {"Hostname": socket.gethostname(), "Ip": self._my_address(),
                      "DcvServer": dcv, "Sessions": sessions, "CommandResults": self.results,
                      "AgentVersion": VERSION, "DcvServerVersion": "2025.0.20103",
                      "Tags": read_tags(self.settings["tags_folder"]), "Host": host_info()}
            status, reply = self._post("report", report)
        except (ssl.SSLError, ssl.CertificateError) as exc:
            self.log.error("sessionsUpdateResponse failed: TLS error talking to %s: %s", where,
                           common.explain_tls_error(exc))
            return False
        except (OSError, ConfigError, ValueError) as exc:
            self.log.error("sessionsUpdateResponse failed: %s: %s", where, exc)
            return False
        if status == 401:
            self.log.error("sessionsUpdateResponse failed: the broker does not know agent client "
                           "%s; registering again", self.state.get("AgentId"))
            self.state = {}
            return False
        if status != 200 or reply.get("Result") != "success":
            self.log.error("sessionsUpdateResponse failed: HTTP %s %s", status, reply)
            return False
        self.results = []
        self.log.info("sessionsUpdateResponse: sessions=%d commands=%d result=success",
                      len(sessions), len(reply.get("Commands", [])))
        for command in reply.get("Commands", []):
            self._run_command(command)
        return True

    def run(self):
        self.log.info("agent stand-in %s reporting to %s every %ds", VERSION, self.base_url,
                      self.settings["broker_update_interval"])
        limits = ["%s = %r" % (key, self.settings[key]) for key in
                  ("max_virtual_sessions", "max_concurrent_sessions_per_user") if self.settings[key] is not None]
        if limits or self.settings["enable_query_logged_in_users"]:
            self.log.info("accepted but not modelled by the stand-in: %s", ", ".join(
                limits + (["enable_query_logged_in_users = true"] if self.settings["enable_query_logged_in_users"]
                          else [])))
        while not self.stopping.is_set():
            self.report_once()
            if not self.results:  # command results go back at once, so sessions turn READY fast
                self.stopping.wait(self.settings["broker_update_interval"])


def main(argv=None):
    parser = argparse.ArgumentParser(description="Session Manager Agent stand-in (%s)"
                                     % common.STANDIN_NOTICE)
    parser.add_argument("--conf", default=CONF_FILE)
    args = parser.parse_args(argv)
    try:
        agent = Agent(args.conf)
    except (ConfigError, OSError) as exc:
        common.setup_logging("agent", "/var/log/dcv-session-manager-agent/agent.log").error(
            "refusing to start: %s", exc)
        return 1
    common.notify_ready()
    agent.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
