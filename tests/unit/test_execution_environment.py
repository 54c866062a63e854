"""meta/execution-environment.yml: ansible-builder turns it into a build context offline (building the image
needs a registry), and its introspection of the installed collection finds the Python and system needs."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EE_FILE = os.path.join(ROOT, "meta", "execution-environment.yml")


def test_ansible_builder_create_accepts_the_definition(tmp_path):
    context = tmp_path / "context"
    result = subprocess.run(["ansible-builder", "create", "-f", EE_FILE, "-c", str(context)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    build = context / "_build"
    assert not (build / "requirements.txt").is_symlink()
    with open(os.path.join(ROOT, "meta", "requirements.txt"), encoding="utf-8") as handle:
        assert (build / "requirements.txt").read_text() == handle.read()
    assert "dcvkit.session_manager" in (build / "requirements.yml").read_text()


def test_introspection_of_the_installed_collection_finds_its_requirements(tmp_path):
    # What ansible-builder runs inside the image, over the collections it installed: here over this checkout,
    # laid out as an installed collection
    tree = tmp_path / "ansible_collections" / "dcvkit"
    tree.mkdir(parents=True)
    os.symlink(ROOT, tree / "session_manager")
    import ansible_builder

    script = os.path.join(os.path.dirname(ansible_builder.__file__), "_target_scripts", "introspect.py")
    result = subprocess.run([sys.executable, script, "introspect", str(tmp_path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "cryptography" in result.stdout and "javaproperties" in result.stdout
    # ansible-core comes from the definition's ansible_core entry, never from a collection's requirements
    assert "ansible-core" not in result.stdout
