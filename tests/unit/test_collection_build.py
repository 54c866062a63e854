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


def test_tarball_installs_into_an_empty_path(built_tarball, tmp_path):
    # Only the empty path is configured, so the checkout linked into .collections cannot satisfy the install.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path))
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        ["ansible-galaxy", "collection", "install", "--offline", "-p", str(tmp_path), str(built_tarball)],
        capture_output=True, text=True, check=False, env=env,
    )
    assert result.returncode == 0, result.stderr
    installed = tmp_path / "ansible_collections" / "dcvkit" / "session_manager"
    assert (installed / "MANIFEST.json").is_file()
    listed = subprocess.run(
        ["ansible-galaxy", "collection", "list", "-p", str(tmp_path), "dcvkit.session_manager"],
        capture_output=True, text=True, check=True, env=env,
    )
    assert "dcvkit.session_manager 0.1.0" in " ".join(listed.stdout.split())
