"""The collection as users get it: the built tarball installed with ansible-galaxy into an empty collections
path, run from a virtualenv made from requirements.txt alone (not the development tools), against the lab.

Galaxy is unreachable here, so the dependencies come from the test collections (.collections/, taken from the
`ansible` package on PyPI) as local sources; ansible-galaxy still resolves them from galaxy.yml's dependencies.
containers.podman is the lab inventory's connection plugin, not a dependency of the collection.
"""

import hashlib
import os
import shutil
import subprocess
import sys

import pytest

from conftest import INVENTORY, ROOT, recap, run, warnings_in

COLLECTIONS = os.path.join(ROOT, ".collections", "ansible_collections")
DEPENDENCIES = ["community/general", "ansible/posix"]
LAB_CONNECTION = "containers/podman"


@pytest.fixture(scope="module")
def user_venv():
    """A venv from requirements.txt only, reused while requirements.txt is unchanged."""
    with open(os.path.join(ROOT, "requirements.txt"), "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()[:12]
    venv = os.path.join(ROOT, "build", "lab", "user-venv-" + digest)
    if not os.path.exists(os.path.join(venv, ".complete")):
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "-r",
                        os.path.join(ROOT, "requirements.txt")], check=True)
        open(os.path.join(venv, ".complete"), "w").close()
    return venv


@pytest.fixture(scope="module")
def tarball(tmp_path_factory, user_venv):
    out = tmp_path_factory.mktemp("dist")
    run([os.path.join(user_venv, "bin", "ansible-galaxy"), "collection", "build", "--output-path", str(out), ROOT],
        env=_user_env(user_venv, out, out), cwd=str(out), check=True)
    (built,) = [p for p in out.iterdir() if p.name.endswith(".tar.gz")]
    return built


def _user_env(venv, collections_path, home):
    # Nothing of the development setup: no ansible.cfg of this checkout, no .collections, no .venv on PATH
    cfg = os.path.join(str(home), "ansible.cfg")
    if not os.path.exists(cfg):
        with open(cfg, "w", encoding="utf-8") as handle:
            handle.write("[defaults]\ninterpreter_python = auto_silent\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "VIRTUAL_ENV"}
    env.update(PATH=os.path.join(venv, "bin") + ":/usr/sbin:/usr/bin:/sbin:/bin", ANSIBLE_CONFIG=cfg,
               ANSIBLE_COLLECTIONS_PATH=str(collections_path), ANSIBLE_NOCOLOR="1")
    return env


def _install(venv, tarball, target, with_dependencies):
    requirements = target / "requirements.yml"
    entries = ["  - {name: %s, type: file}" % tarball]
    entries += ["  - {name: %s, type: dir}" % os.path.join(COLLECTIONS, c) for c in
                ([LAB_CONNECTION] + (DEPENDENCIES if with_dependencies else []))]
    requirements.write_text("collections:\n" + "\n".join(entries) + "\n")
    argv = [os.path.join(venv, "bin", "ansible-galaxy"), "collection", "install", "--offline", "-r", str(requirements)]
    if not with_dependencies:
        argv.append("--no-deps")
    env = _user_env(venv, target / "collections", target)
    result = run(argv, env=env, cwd=str(target))
    assert result.returncode == 0, result.stdout + result.stderr
    return env, result.stdout


def _site(env, cwd):
    return run(["ansible-playbook", "-i", INVENTORY, "dcvkit.session_manager.site"], env=env, cwd=str(cwd))


def test_installed_tarball_with_its_dependencies_deploys_the_lab(tmp_path, user_venv, tarball):
    env, installed = _install(user_venv, tarball, tmp_path, with_dependencies=True)
    for name in ("community.general", "ansible.posix", "dcvkit.session_manager"):
        assert "%s:" % name in installed and "was installed successfully" in installed, installed
    result = _site(env, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    counts = recap(result.stdout)
    assert set(counts) == {"dcvkit-lab-a", "dcvkit-lab-b"}
    assert all(c["failed"] == 0 and c["changed"] == 0 for c in counts.values()), counts
    assert warnings_in(result.stdout + result.stderr) == []


def test_installed_tarball_without_its_dependencies_fails_naming_the_missing_module(tmp_path, user_venv, tarball):
    env = _install(user_venv, tarball, tmp_path, with_dependencies=False)[0]
    assert not (tmp_path / "collections" / "ansible_collections" / "community" / "general").exists()
    result = _site(env, tmp_path)
    assert result.returncode != 0
    assert "couldn't resolve module/action 'community.general.ini_file'" in result.stdout + result.stderr, (
        result.stdout[-2000:] + result.stderr[-2000:])
