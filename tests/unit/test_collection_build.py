"""The built collection is what users install: it must install cleanly and never carry the test doubles."""

import os
import subprocess
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def built_tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        ["ansible-galaxy", "collection", "build", "--force", "--output-path", str(out), ROOT],
        check=True, capture_output=True, text=True,
    )
    (tarball,) = list(out.glob("dcvkit-session_manager-*.tar.gz"))
    return tarball


def test_tarball_excludes_test_doubles_and_build_output(built_tarball):
    with tarfile.open(built_tarball) as tar:
        names = tar.getnames()
    assert "galaxy.yml" not in names and "MANIFEST.json" in names
    forbidden = ("tests/standins", "tests/unit", "molecule/", ".venv", ".collections", "build/", "benchmarks/")
    leaked = [n for n in names if n.startswith(forbidden)]
    assert leaked == []
    assert "meta/runtime.yml" in names and "README.md" in names


DEPENDENCY_SOURCES = [os.path.join(ROOT, ".collections", "ansible_collections", "community", "general"),
                      os.path.join(ROOT, ".collections", "ansible_collections", "ansible", "posix")]


def _install(tmp_path, *sources):
    # Only the empty path is configured, so the checkout linked into .collections cannot satisfy the install.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path))
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        ["ansible-galaxy", "collection", "install", "--offline", "-p", str(tmp_path)] + [str(s) for s in sources],
        capture_output=True, text=True, check=False, env=env,
    )
    return env, result


def test_tarball_installs_into_an_empty_path_with_its_dependencies(built_tarball, tmp_path):
    # Galaxy is unreachable here: the dependencies come from the test collections, as local sources
    env, result = _install(tmp_path, built_tarball, *DEPENDENCY_SOURCES)
    assert result.returncode == 0, result.stderr
    installed = tmp_path / "ansible_collections" / "dcvkit" / "session_manager"
    assert (installed / "MANIFEST.json").is_file()
    listed = subprocess.run(
        ["ansible-galaxy", "collection", "list", "-p", str(tmp_path)],
        capture_output=True, text=True, check=True, env=env,
    )
    listing = " ".join(listed.stdout.split())
    assert "dcvkit.session_manager 0.1.0" in listing
    assert "community.general " in listing and "ansible.posix " in listing


def test_tarball_declares_the_collections_its_roles_call(built_tarball, tmp_path):
    # The roles call community.general.ini_file/ufw and ansible.posix.firewalld: without a source for them the
    # install is refused instead of leaving a collection that fails at run time
    _env, result = _install(tmp_path, built_tarball)
    assert result.returncode != 0
    assert "community.general:>=" in result.stderr
