# -*- coding: utf-8 -*-
"""Helpers for the role scenarios' testinfra tests: run the scenario's playbook again with other
variables, snapshot what the roles manage on a host, and read service start times."""

import concurrent.futures
import json
import os
import subprocess

import testinfra

MANAGED_PATHS = ["/etc/dcv-session-manager-broker", "/etc/dcv-connection-gateway", "/etc/dcv",
                 "/etc/dcv-session-manager-agent", "/etc/systemd/system/dcv-session-manager-broker.service.d",
                 "/var/cache/dcvkit"]


def host(name):
    return testinfra.get_host("podman://" + name)


def run_playbook(extra_vars=None, playbook="converge.yml", check=False, inventory=None, limit=None, env=None):
    """Run the scenario's playbook against the scenario's instances (or those of ``limit``), with ``env`` added to
    the environment; return (rc, output)."""
    scenario_dir = os.environ["MOLECULE_SCENARIO_DIRECTORY"]
    inventory = inventory or os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory")
    command = ["ansible-playbook", "-i", inventory, os.path.join(scenario_dir, playbook)]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    if check:
        command.append("--check")
    if limit:
        command += ["--limit", limit]
    full_env = dict(os.environ, ANSIBLE_FORCE_COLOR="false", ANSIBLE_NOCOLOR="1", NO_COLOR="1")
    full_env.update(env or {})
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full_env, timeout=900,
                            check=False)
    return result.returncode, result.stdout.decode("utf-8", "replace")


def snapshot(target):
    """Content hash, owner, mode and mtime of every file under the managed paths."""
    existing = [p for p in MANAGED_PATHS if target.file(p).exists]
    if not existing:
        return ""
    out = target.check_output(
        "find %s -type f -exec stat -c '%%n %%U:%%G %%a %%Y' {} + -exec sha256sum {} + | sort" % " ".join(existing))
    return out


def started_at(target, service):
    """Monotonic start time and PID of a unit: changes exactly when the unit was (re)started."""
    return target.check_output("systemctl show -p ActiveEnterTimestampMonotonic -p MainPID --value %s" % service)


def tls_probe(target, port, name, ca_file, method=None, path=None, address="127.0.0.1"):
    """Verify TLS on address:port for ``name`` against ``ca_file``, from the host itself (strict)."""
    script = (
        "import socket,ssl,sys\n"
        "ctx=ssl.create_default_context(cafile=sys.argv[3])\n"
        "a=sys.argv[6] if len(sys.argv)>6 else sys.argv[4]\n"
        "s=ctx.wrap_socket(socket.create_connection((a,int(sys.argv[1])),timeout=10),server_hostname=sys.argv[2])\n"
        "if len(sys.argv)>5:\n"
        " s.sendall(('%s %s HTTP/1.1\\r\\nHost: %s\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n'"
        "%(sys.argv[4],sys.argv[5],sys.argv[2])).encode())\n"
        " data=b''\n"
        " while True:\n"
        "  chunk=s.recv(65536)\n"
        "  if not chunk: break\n"
        "  data+=chunk\n"
        " print(data.decode('latin-1'))\n"
        "else:\n"
        " print('verified', s.version())\n"
    )
    args = [str(port), name, ca_file] + ([method, path, address] if method else [address])
    return target.run("python3 -c %s %s" % (_quote(script), " ".join(_quote(a) for a in args)))


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def run_concurrently(calls, workers=3):
    """Run independent playbook calls at the same time and return their results in order.

    For the bad-input tables: each case must fail in the preflight play and change nothing, so the cases cannot
    disturb each other; together they take a third of the time they take one after the other.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda call: call(), calls))


def starts(target, service):
    """How many times systemd has started the unit since the host booted: its journal's "Started" messages (message
    id SD_MESSAGE_UNIT_STARTED), one per start or restart."""
    return len(target.check_output(
        "journalctl --no-pager -o cat UNIT=%s.service MESSAGE_ID=39f53479d3a045ac8e11786248231fbf" % service)
        .splitlines())


def handler_runs(output, role, handler):
    """How many times a role's handler ran in an ansible-playbook output."""
    return output.count("RUNNING HANDLER [dcvkit.session_manager.%s : %s]" % (role, handler))


def changed_tasks(output, host_name):
    """The number of changed tasks the PLAY RECAP gives a host."""
    recap = output.rsplit("PLAY RECAP", 1)[1]
    line = next(line for line in recap.splitlines() if line.startswith(host_name + " "))
    return int(line.split("changed=", 1)[1].split()[0])


def changed_task_names(output, host_name):
    """The names (without the role) of the tasks that reported a change on a host, in the order they ran."""
    names, task = [], None
    for line in output.splitlines():
        if line.startswith("TASK [") or line.startswith("RUNNING HANDLER ["):
            task = line.split("[", 1)[1].rsplit("]", 1)[0].split(" : ", 1)[-1]
        elif line.startswith("changed: [%s]" % host_name) and task not in names:
            names.append(task)
    return names


def break_modes(target, wrong_modes):
    """Give managed files a wrong mode ({path: octal string}); their content stays as it is."""
    target.check_output("; ".join("chmod %s %s" % (mode, path) for path, mode in wrong_modes.items()))


def assert_mode_fixes_restart_nothing(target, host_name, mode_fixes, services, other_hosts=()):
    """Give each file of ``mode_fixes`` ({task name: {path: (a wrong mode, the mode the role sets)}}) its wrong mode,
    converge, and check that the named tasks put the modes back and are the only changes: no other task, no handler,
    no restart of ``services``, no change on ``other_hosts``. A restart ends what a service carries, and a mode fix
    changes nothing a running service has read."""
    fixes = dict((path, modes) for paths in mode_fixes.values() for path, modes in paths.items())
    break_modes(target, dict((path, wrong) for path, (wrong, _right) in fixes.items()))
    before = [started_at(target, service) for service in services]
    rc, output = run_playbook()
    assert rc == 0, output[-3000:]
    assert dict((path, target.file(path).mode) for path in fixes) == dict(
        (path, right) for path, (_wrong, right) in fixes.items())
    assert sorted(changed_task_names(output, host_name)) == sorted(mode_fixes), output[-3000:]
    assert changed_tasks(output, host_name) == len(mode_fixes), output[-3000:]
    for other in other_hosts:
        assert changed_tasks(output, other) == 0, output[-3000:]
    assert "RUNNING HANDLER" not in output, output[-3000:]
    assert [started_at(target, service) for service in services] == before


def assert_each_service_restarts_once(target, extra_vars, restarts):
    """Converge with ``extra_vars``, which give several files of each service a new content, and check that each
    service restarted exactly once: ``restarts`` is {unit: (role, handler name)}. Returns the run's output."""
    counts = dict((service, starts(target, service)) for service in restarts)
    before = dict((service, started_at(target, service)) for service in restarts)
    rc, output = run_playbook(extra_vars)
    assert rc == 0, output[-3000:]
    for service, (role, handler) in restarts.items():
        assert handler_runs(output, role, handler) == 1, output[-3000:]
        assert started_at(target, service) != before[service], service
        assert starts(target, service) == counts[service] + 1, service
    return output


def assert_back_to_the_inventory_and_quiet():
    """Converge with the inventory's own variables (after tests that ran with others), then again: the second run
    changes nothing on any host."""
    rc, output = run_playbook()
    assert rc == 0, output[-3000:]
    rc, output = run_playbook()
    assert rc == 0, output[-3000:]
    recap = output.rsplit("PLAY RECAP", 1)[1]
    for line in recap.strip().splitlines():
        if "ok=" in line:
            assert "changed=0" in line and "failed=0" in line, recap
