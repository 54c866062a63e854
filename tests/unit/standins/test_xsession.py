"""The DCV server stand-in's desktop launcher (xsession.py) with injected fakes: which commands it
starts, as whom, with which environment, and what it logs.  No process is started."""

import io
import logging
import os
import pwd

import pytest

from dcvstandin import xsession


class FakeProcess:
    def __init__(self, pid, exit_status=None):
        self.pid, self.returncode, self.stdout = pid, exit_status, None

    def poll(self):
        return self.returncode


class Recorder:
    """Fake spawn/terminate/which; ``exits`` names commands whose process has already exited."""

    def __init__(self, installed=("x11vnc", "websockify", "dbus-run-session"), exits=()):
        self.installed, self.exits = set(installed), set(exits)
        self.spawned, self.terminated = [], []

    def which(self, name, path=None):
        assert path == xsession.PATH
        return "/usr/bin/" + name if name in self.installed else None

    def spawn(self, argv, env, owner, output):
        self.spawned.append({"argv": argv, "env": env, "uid": owner.uid, "gid": owner.gid,
                             "groups": owner.groups})
        return FakeProcess(1000 + len(self.spawned), 1 if os.path.basename(argv[0]) in self.exits else None)

    def terminate(self, process):
        self.terminated.append(process.pid)


@pytest.fixture
def owner():
    """Another user than the test runner when the system has one: the fakes record whose uid they got."""
    for name in ("nobody", "daemon"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if entry.pw_uid != os.getuid():
            return entry
    return pwd.getpwuid(os.getuid())


@pytest.fixture
def make_launcher(tmp_path):
    def factory(recorder, display_ready=lambda number: True, **kwargs):
        log = logging.getLogger("test-xsession")
        log.handlers[:] = []
        log.propagate = False
        stream = io.StringIO()
        log.addHandler(logging.StreamHandler(stream))
        x11 = tmp_path / "x11"
        x11.mkdir(exist_ok=True)
        launcher = xsession.DesktopLauncher(
            log, str(tmp_path / "logs"), xdcv="/usr/bin/Xdcv", spawn=recorder.spawn,
            terminate=recorder.terminate, which=recorder.which, display_ready=display_ready,
            port_ready=lambda port: True, pick_port=iter(range(5900, 6000)).__next__,
            x11_socket_dir=str(x11), x11_lock_dir=str(tmp_path), **kwargs)
        launcher.log_text = stream.getvalue
        return launcher
    return factory


def test_without_x_session_manager_the_x_server_still_starts_and_it_is_logged(make_launcher, owner, tmp_path):
    recorder = Recorder()
    launcher = make_launcher(recorder)
    desktop = launcher.start("s1", owner.pw_name)
    message = ("session s1: no desktop environment installed (x-session-manager not found): "
               "the display stays empty")
    assert message in launcher.log_text()
    session_log = (tmp_path / "logs" / "session-s1.log").read_text()
    assert message in session_log
    assert [entry["argv"] for entry in recorder.spawned] == [
        ["/usr/bin/Xdcv", ":10"],
        ["x11vnc", "-display", ":10", "-localhost", "-rfbport", "5900", "-nopw", "-forever", "-shared",
         "-quiet"],
        ["websockify", "127.0.0.1:5901", "127.0.0.1:5900"],
    ]
    # every command runs as the owner, with the owner's login environment
    assert {(entry["uid"], entry["gid"]) for entry in recorder.spawned} == {(owner.pw_uid, owner.pw_gid)}
    assert all(owner.pw_gid in entry["groups"] for entry in recorder.spawned)
    for entry in recorder.spawned:
        env = entry["env"]
        assert (env["HOME"], env["USER"], env["LOGNAME"]) == (owner.pw_dir, owner.pw_name, owner.pw_name)
        assert env["SHELL"] == (owner.pw_shell or "/bin/sh")
        assert ("XDG_RUNTIME_DIR" in env) == os.path.isdir("/run/user/%d" % owner.pw_uid)
    assert "DISPLAY" not in recorder.spawned[0]["env"]  # the X server itself gets no DISPLAY
    assert recorder.spawned[1]["env"]["DISPLAY"] == ":10"
    assert (desktop.display, desktop.vnc_port, desktop.ws_port, desktop.desktop_environment) == (
        ":10", 5900, 5901, False)
    assert "starting Xdcv as %s: /usr/bin/Xdcv :10" % owner.pw_name in session_log


def test_the_desktop_environment_runs_in_its_own_dbus_session(make_launcher, owner):
    recorder = Recorder(installed=("x-session-manager", "dbus-run-session", "x11vnc", "websockify"))
    launcher = make_launcher(recorder)
    desktop = launcher.start("s2", owner.pw_name)
    desktop_entry = recorder.spawned[1]
    assert desktop_entry["argv"] == ["dbus-run-session", "--", "x-session-manager"]
    assert desktop_entry["env"]["DISPLAY"] == ":10" and desktop_entry["uid"] == owner.pw_uid
    assert desktop.desktop_environment is True
    assert "no desktop environment" not in launcher.log_text()


def test_websockify_without_its_script_runs_as_a_module(make_launcher, owner):
    recorder = Recorder(installed=("x11vnc",))
    make_launcher(recorder).start("s3", owner.pw_name)
    assert recorder.spawned[-1]["argv"][:3] == ["python3", "-m", "websockify"]


def test_display_numbers_skip_used_displays_and_are_freed_on_stop(make_launcher, owner, tmp_path):
    recorder = Recorder()
    launcher = make_launcher(recorder)
    (tmp_path / "x11" / "X10").write_text("")   # an X server already owns :10
    (tmp_path / ".X11-lock").write_text("")     # and a lock file holds :11
    first = launcher.start("a", owner.pw_name)
    second = launcher.start("b", owner.pw_name)
    assert (first.display, second.display) == (":12", ":13")
    launcher.stop(first)
    # close-session and server stop kill the process groups, newest first
    assert recorder.terminated == [1003, 1002, 1001]
    assert launcher.start("c", owner.pw_name).display == ":12"


def test_an_x_server_that_exits_fails_the_session_and_nothing_is_left(make_launcher, owner):
    recorder = Recorder(exits=("Xdcv",))
    launcher = make_launcher(recorder, display_ready=lambda number: False)
    with pytest.raises(xsession.DesktopError, match=r"Xdcv :10 exited with status 1 before the display answered"):
        launcher.start("s4", owner.pw_name)
    assert len(recorder.spawned) == 1 and recorder.terminated == [1001]


def test_a_display_that_never_answers_times_out(make_launcher, owner):
    recorder = Recorder()
    launcher = make_launcher(recorder, display_ready=lambda number: False, ready_timeout=0.3)
    with pytest.raises(xsession.DesktopError, match=r"X display :10 did not answer within"):
        launcher.start("s5", owner.pw_name)
    assert recorder.terminated == [1001]


def test_a_bridge_that_exits_fails_the_session(make_launcher, owner):
    recorder = Recorder(exits=("websockify",))
    with pytest.raises(xsession.DesktopError, match=r"websockify exited with status 1"):
        make_launcher(recorder).start("s6", owner.pw_name)
    assert recorder.terminated == [1003, 1002, 1001]


def test_connection_tokens_never_reach_the_session_log(tmp_path):
    log_path = tmp_path / "session.log"
    xsession._pump(io.BytesIO(b"127.0.0.1: Path: '/standin/stream?sessionId=s&authToken=SECRET-1'\n"),
                   str(log_path))
    assert log_path.read_text() == "127.0.0.1: Path: '/standin/stream?sessionId=s&authToken=<hidden>'\n"


def test_the_server_refuses_to_switch_users_without_root(owner):
    if os.geteuid() == 0 or owner.pw_uid == os.getuid():
        pytest.skip("needs a non-root test runner and another user")
    with pytest.raises(xsession.DesktopError, match="does not run as root"):
        xsession.spawn_process(["true"], {}, xsession.Owner(owner.pw_name), None)


def test_a_restricted_user_gets_a_bridge_of_their_own_started_once(make_launcher, owner, tmp_path):
    recorder = Recorder()
    launcher = make_launcher(recorder)
    desktop = launcher.start("s7", owner.pw_name)
    # full input: the session's own bridge, nothing started
    assert launcher.bridge_port(desktop, xsession.FULL_INPUT) == desktop.ws_port == 5901
    assert len(recorder.spawned) == 3
    # view only: x11vnc -viewonly on the same display, as the owner, with its own websockify
    assert launcher.bridge_port(desktop, "") == 5903
    assert [entry["argv"] for entry in recorder.spawned[3:]] == [
        ["x11vnc", "-display", ":10", "-localhost", "-rfbport", "5902", "-nopw", "-forever", "-shared", "-quiet",
         "-viewonly"],
        ["websockify", "127.0.0.1:5903", "127.0.0.1:5902"],
    ]
    assert {entry["uid"] for entry in recorder.spawned[3:]} == {owner.pw_uid}
    assert recorder.spawned[3]["env"]["DISPLAY"] == ":10"
    # a second view-only user shares it; keyboard-only and mouse-only users get x11vnc -input
    assert launcher.bridge_port(desktop, "") == 5903 and len(recorder.spawned) == 5
    assert launcher.bridge_port(desktop, "K") == 5905
    assert launcher.bridge_port(desktop, "MB") == 5907
    assert [entry["argv"][-2:] for entry in recorder.spawned[5::2]] == [["-input", "K"], ["-input", "MB"]]
    assert "view-only bridge ready (VNC 127.0.0.1:5902, websockify 127.0.0.1:5903)" in (
        tmp_path / "logs" / "session-s7.log").read_text()
    # closing the session stops the restricted bridges too, and none starts after that
    launcher.stop(desktop)
    assert recorder.terminated == [1009, 1008, 1007, 1006, 1005, 1004, 1003, 1002, 1001]
    with pytest.raises(xsession.DesktopError, match="is closing"):
        launcher.bridge_port(desktop, "")


def test_a_restricted_bridge_that_exits_is_cleaned_up_and_the_session_goes_on(make_launcher, owner):
    recorder = Recorder()
    launcher = make_launcher(recorder)
    desktop = launcher.start("s8", owner.pw_name)
    recorder.exits.add("x11vnc")
    with pytest.raises(xsession.DesktopError, match=r"x11vnc -viewonly exited with status 1"):
        launcher.bridge_port(desktop, "")
    assert recorder.terminated == [1005, 1004] and len(desktop.processes) == 3 and desktop.bridges == {}
    recorder.exits.clear()
    assert launcher.bridge_port(desktop, "") == 5905  # the next connection tries again
