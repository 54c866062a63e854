# TEST DOUBLE: part of the dcvkit test stand-ins for the Amazon DCV packages (tests/standins).
# Not Amazon software; used only by the collection's tests and lab.
"""X desktops of the DCV server stand-in's VIRTUAL sessions.

AWS DCV Administrator Guide, "Understanding Amazon DCV sessions": for a virtual session DCV starts
an X server instance, Xdcv (a dedicated X server per virtual session), and runs a desktop
environment inside it.  "Starting Amazon DCV sessions": `dcv create-session --init` can name a
custom init script; the stand-in does not model it and always starts the default desktop.
"Finding and stopping idle sessions": stopping a session closes all of the applications running in it.

Per VIRTUAL session, every process runs as the session owner, in its own process group, with its
output in <server log directory>/session-ID.log:
  1. ``/usr/bin/Xdcv :N`` (nice-xdcv stand-in: Xvfb) on the first free display from :10, then a wait
     until /tmp/.X11-unix/XN answers;
  2. ``dbus-run-session -- x-session-manager`` when x-session-manager is on PATH (the Debian
     alternative that xfce4-session or gnome-session register); without it the display stays empty;
  3. ``x11vnc -display :N -localhost -rfbport P`` (the VNC view of the display, loopback only);
  4. ``websockify 127.0.0.1:W 127.0.0.1:P`` (python3-websockify): the WebSocket bridge that the
     server's stream route connects to.
That bridge takes every input. A user whose permissions allow less (no ``keyboard`` or no ``mouse``, adminguide
"Adding permissions") gets a bridge of their own on the same display, started on their first connection and
shared by every later one with the same input: x11vnc ``-viewonly`` when neither is allowed, ``-input K``
(keystrokes) or ``-input MB`` (pointer motion and button clicks) when one of them is (``bridge_port``).
The real DCV server captures the display itself and speaks its own protocol: x11vnc, websockify
and noVNC are the stand-in's choice, not DCV's.
"""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# x11vnc -input letters (x11vnc -help): K keystrokes, M pointer motion, B button clicks. The session's first bridge
# takes all of them (and the clipboard, which the permissions' clipboard features do not restrict here).
FULL_INPUT = "KMB"
TOKEN = re.compile(rb"(authToken=)[^&\s'\"]*")


def input_letters(allowed):
    """The x11vnc input a user with the features ``allowed`` may send (adminguide "Adding permissions": ``keyboard``
    is input from the client keyboard, ``mouse`` input from the client pointer; ``pointer`` only shows the server's
    pointer, so it grants no input): FULL_INPUT, "K", "MB" or "" (view only)."""
    return ("K" if "keyboard" in allowed else "") + ("MB" if "mouse" in allowed else "")


def describe_input(letters):
    """How a stream's input reads in the server log."""
    return {FULL_INPUT: "with keyboard and mouse input", "K": "with keyboard input only",
            "MB": "with mouse input only", "": "view-only"}[letters]


class DesktopError(Exception):
    """A virtual session's desktop could not be started."""


class Owner:
    """The session owner's identity and login environment (from the password database)."""

    def __init__(self, name):
        entry = pwd.getpwnam(name)
        self.name, self.uid, self.gid = name, entry.pw_uid, entry.pw_gid
        self.home, self.shell = entry.pw_dir, entry.pw_shell or "/bin/sh"
        self.groups = os.getgrouplist(name, entry.pw_gid)

    def environment(self, display=None):
        env = {"PATH": PATH, "HOME": self.home, "USER": self.name, "LOGNAME": self.name,
               "SHELL": self.shell}
        for key in ("LANG", "LC_ALL"):
            if os.environ.get(key):
                env[key] = os.environ[key]
        runtime = "/run/user/%d" % self.uid
        if os.path.isdir(runtime):  # only when a login manager (systemd --user) made it
            env["XDG_RUNTIME_DIR"] = runtime
        if display:
            env["DISPLAY"] = display
        return env


class Desktop:
    """One virtual session's X display, VNC port, websockify port and processes."""

    def __init__(self, session_id, owner, number, log_path):
        self.session_id, self.owner, self.number, self.log_path = session_id, owner, number, log_path
        self.display = ":%d" % number
        self.vnc_port = self.ws_port = None
        self.desktop_environment = False
        self.processes = []  # (name, process), in start order
        self.bridges = {}  # input letters -> websockify port of a restricted bridge (DesktopLauncher.bridge_port)
        self.lock = threading.Lock()  # a restricted bridge starting, or the desktop stopping
        self.stopped = False


def spawn_process(argv, env, owner, output):
    """Start argv as ``owner`` in a new session (own process group); ``output`` is a file or PIPE."""
    kwargs = {}
    if os.geteuid() == 0:
        kwargs = {"user": owner.uid, "group": owner.gid, "extra_groups": owner.groups}
    elif os.geteuid() != owner.uid:
        raise DesktopError("cannot start %s as %s: the DCV server stand-in does not run as root"
                           % (argv[0], owner.name))
    cwd = owner.home if os.path.isdir(owner.home) else "/"
    return subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=output,
                            stderr=subprocess.STDOUT, start_new_session=True, **kwargs)


def terminate_process(process, grace=3.0):
    """SIGTERM the process group, wait, then SIGKILL whatever is left of the group."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            continue
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        pass


def port_listening(port):
    """True when something listens on TCP ``port`` (read from /proc: no probe connection)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 3 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pump(stream, log_path):
    """Copy a process's output to the session log, hiding connection tokens (websockify logs paths)."""
    with stream, open(log_path, "ab", buffering=0) as log:
        for line in iter(stream.readline, b""):
            log.write(TOKEN.sub(rb"\1<hidden>", line))


class DesktopLauncher:
    """Starts and stops the X desktops; every command and check is injectable for unit tests."""

    xdcv = "/usr/bin/Xdcv"
    session_manager = "x-session-manager"
    dbus_run_session = "dbus-run-session"
    x11vnc = "x11vnc"
    websockify = "websockify"
    x11_socket_dir = "/tmp/.X11-unix"
    x11_lock_dir = "/tmp"
    first_display = 10
    ready_timeout = 8.0  # below the dcv CLI's 10 s: the agent's create command must get its answer

    def __init__(self, log, log_dir, xdcv=None, spawn=spawn_process, terminate=terminate_process,
                 which=shutil.which, display_ready=None, port_ready=port_listening, pick_port=free_port,
                 x11_socket_dir=None, x11_lock_dir=None, ready_timeout=None):
        self.log, self.log_dir = log, log_dir
        self.xdcv = xdcv or self.xdcv
        self.spawn, self.terminate, self.which = spawn, terminate, which
        self.display_ready = display_ready or self._display_answers
        self.port_ready, self.pick_port = port_ready, pick_port
        self.x11_socket_dir = x11_socket_dir or self.x11_socket_dir
        self.x11_lock_dir = x11_lock_dir or self.x11_lock_dir
        self.ready_timeout = ready_timeout or self.ready_timeout
        self._lock = threading.Lock()
        self._displays = set()

    # -- X display ------------------------------------------------------------------------------
    def _socket_path(self, number):
        return os.path.join(self.x11_socket_dir, "X%d" % number)

    def _display_answers(self, number):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            try:
                sock.connect(self._socket_path(number))
            except OSError:
                return False
        return True

    def _free_display(self):
        with self._lock:
            for number in range(self.first_display, self.first_display + 500):
                if (number not in self._displays and not os.path.exists(self._socket_path(number))
                        and not os.path.exists(os.path.join(self.x11_lock_dir, ".X%d-lock" % number))):
                    self._displays.add(number)
                    return number
        raise DesktopError("no free X display from :%d" % self.first_display)

    def _prepare_socket_dir(self):
        # X servers started by a non-root owner cannot make a root-owned, sticky /tmp/.X11-unix
        if os.geteuid() == 0 and not os.path.isdir(self.x11_socket_dir):
            os.makedirs(self.x11_socket_dir, exist_ok=True)
            os.chmod(self.x11_socket_dir, 0o1777)

    # -- processes --------------------------------------------------------------------------------
    def _note(self, desktop, message):
        with open(desktop.log_path, "ab", buffering=0) as log:
            log.write(("%s dcvserver stand-in: %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"),
                                                        message)).encode("utf-8"))

    def _start(self, desktop, name, argv, env, pipe_output=False):
        self._note(desktop, "starting %s as %s: %s" % (name, desktop.owner.name, " ".join(argv)))
        try:
            if pipe_output:
                process = self.spawn(argv, env, desktop.owner, subprocess.PIPE)
                if getattr(process, "stdout", None) is not None:
                    threading.Thread(target=_pump, args=(process.stdout, desktop.log_path),
                                     daemon=True).start()
            else:
                with open(desktop.log_path, "ab", buffering=0) as log:
                    process = self.spawn(argv, env, desktop.owner, log)
        except FileNotFoundError as exc:
            raise DesktopError("%s: command not found (%s)" % (name, exc))
        except OSError as exc:
            raise DesktopError("%s could not start: %s" % (name, exc))
        desktop.processes.append((name, process))
        return process

    def _check_alive(self, desktop, processes=None):
        for name, process in desktop.processes if processes is None else processes:
            if process.poll() is not None:
                raise DesktopError("%s exited with status %s (see %s)"
                                   % (name, process.returncode, desktop.log_path))

    def _websockify_command(self, env):
        if self.which(self.websockify, path=env["PATH"]):
            return [self.websockify]
        return ["python3", "-m", "websockify"]  # the module without its script

    def start(self, session_id, owner_name):
        """Start the session's desktop; return a Desktop or raise DesktopError."""
        owner = Owner(owner_name)
        os.makedirs(self.log_dir, exist_ok=True)
        desktop = Desktop(session_id, owner, self._free_display(),
                          os.path.join(self.log_dir, "session-%s.log" % session_id))
        deadline = time.monotonic() + self.ready_timeout
        try:
            self._prepare_socket_dir()
            x_server = self._start(desktop, "Xdcv", [self.xdcv, desktop.display], owner.environment())
            while not self.display_ready(desktop.number):
                if x_server.poll() is not None:
                    raise DesktopError("Xdcv %s exited with status %s before the display answered (see %s)"
                                       % (desktop.display, x_server.returncode, desktop.log_path))
                if time.monotonic() > deadline:
                    raise DesktopError("X display %s did not answer within %.0f s (see %s)"
                                       % (desktop.display, self.ready_timeout, desktop.log_path))
                time.sleep(0.1)
            env = owner.environment(desktop.display)
            if self.which(self.session_manager, path=env["PATH"]):
                command = [self.session_manager]
                if self.which(self.dbus_run_session, path=env["PATH"]):
                    command = [self.dbus_run_session, "--"] + command
                self._start(desktop, "desktop", command, env)
                desktop.desktop_environment = True
            else:
                message = ("session %s: no desktop environment installed (x-session-manager not found): "
                           "the display stays empty" % session_id)
                self.log.warning(message)
                self._note(desktop, message)
            desktop.vnc_port, desktop.ws_port = self._start_bridge(desktop, env, FULL_INPUT)
            while not (self.port_ready(desktop.vnc_port) and self.port_ready(desktop.ws_port)):
                self._check_alive(desktop)
                if time.monotonic() > deadline:
                    self.log.warning("session %s: x11vnc (port %d) or websockify (port %d) not listening "
                                     "yet after %.0f s; going on", session_id, desktop.vnc_port,
                                     desktop.ws_port, self.ready_timeout)
                    break
                time.sleep(0.1)
            self._check_alive(desktop)
        except BaseException:
            self.stop(desktop)
            raise
        self._note(desktop, "desktop ready on %s (VNC 127.0.0.1:%d, websockify 127.0.0.1:%d)"
                   % (desktop.display, desktop.vnc_port, desktop.ws_port))
        return desktop

    def _start_bridge(self, desktop, env, letters):
        """Start x11vnc on the desktop's display, taking the input ``letters``, and its websockify bridge;
        return (VNC port, websockify port)."""
        restriction = [] if letters == FULL_INPUT else ["-viewonly"] if not letters else ["-input", letters]
        suffix = " ".join(restriction)
        vnc_port = self.pick_port()
        self._start(desktop, ("x11vnc " + suffix).strip(), [
            self.x11vnc, "-display", desktop.display, "-localhost", "-rfbport", str(vnc_port), "-nopw",
            "-forever", "-shared", "-quiet"] + restriction, env)
        ws_port = self.pick_port()
        self._start(desktop, ("websockify " + suffix).strip(), self._websockify_command(env) + [
            "127.0.0.1:%d" % ws_port, "127.0.0.1:%d" % vnc_port], env, pipe_output=True)
        return vnc_port, ws_port

    def bridge_port(self, desktop, letters):
        """The websockify port of a bridge that takes the input ``letters`` (input_letters) and nothing more: the
        session's own for FULL_INPUT, else one started on first use (x11vnc -viewonly or -input) and kept, for
        later users with the same input, until the session closes. Raises DesktopError when it cannot start."""
        if letters == FULL_INPUT:
            return desktop.ws_port
        with desktop.lock:
            if desktop.stopped:
                raise DesktopError("session %s is closing" % desktop.session_id)
            if letters in desktop.bridges:
                return desktop.bridges[letters]
            started = len(desktop.processes)
            try:
                vnc_port, ws_port = self._start_bridge(desktop, desktop.owner.environment(desktop.display), letters)
                deadline = time.monotonic() + self.ready_timeout
                while not (self.port_ready(vnc_port) and self.port_ready(ws_port)):
                    self._check_alive(desktop, desktop.processes[started:])
                    if time.monotonic() > deadline:
                        break  # the stream route waits for websockify itself, and says so when it never answers
                    time.sleep(0.1)
                self._check_alive(desktop, desktop.processes[started:])
            except BaseException:
                # the session itself goes on: only this bridge's processes go
                for _name, process in reversed(desktop.processes[started:]):
                    self.terminate(process)
                del desktop.processes[started:]
                raise
            desktop.bridges[letters] = ws_port
        self._note(desktop, "%s bridge ready (VNC 127.0.0.1:%d, websockify 127.0.0.1:%d)"
                   % (describe_input(letters), vnc_port, ws_port))
        return ws_port

    def stop(self, desktop):
        """Kill the session's process groups, newest first, and free the display number."""
        with desktop.lock:
            desktop.stopped = True
        for name, process in reversed(desktop.processes):
            self.terminate(process)
        if desktop.processes:
            self._note(desktop, "session processes stopped (%s)"
                       % ", ".join(name for name, _process in desktop.processes))
        desktop.processes = []
        with self._lock:
            self._displays.discard(desktop.number)
