# -*- coding: utf-8 -*-
"""Each role README's variables table is exactly what scripts/role_docs.py makes from meta/argument_specs.yml, and
the generator's --check names a stale README (so CI fails on a table nobody regenerated)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import shutil

import pytest
import yaml

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")
ROLES_DIR = os.path.join(ROOT, "roles")
ROLES = sorted(r for r in os.listdir(ROLES_DIR) if os.path.isfile(os.path.join(ROLES_DIR, r, "meta", "argument_specs.yml")))

_spec = importlib.util.spec_from_file_location("role_docs", os.path.join(ROOT, "scripts", "role_docs.py"))
role_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(role_docs)


def test_every_role_has_a_spec():
    assert {"dcv_common", "dcv_broker", "dcv_gateway", "dcv_server", "dcv_agent"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_readme_table_is_generated_from_the_spec(role):
    readme, current, wanted = role_docs.rendered(os.path.join(ROLES_DIR, role))
    assert current == wanted, "%s is stale: run make docs (python scripts/role_docs.py)" % os.path.relpath(readme)


@pytest.mark.parametrize("role", ROLES)
def test_table_has_one_row_per_option_with_its_choices(role):
    """Every entry point's options, the main one first, each under its own heading line, in spec order."""
    with open(os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml")) as handle:
        entry_points = yaml.safe_load(handle)["argument_specs"]
    options = [(name, spec) for entry_point in ["main"] + sorted(set(entry_points) - {"main"}, key=list(entry_points).index)
               for name, spec in (entry_points[entry_point].get("options") or {}).items()]
    text = role_docs.table(os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml"))
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == [name for name, _spec in options]
    for row, (_name, spec) in zip(rows, options):
        for choice in spec.get("choices", []):
            assert '`"%s"`' % choice in row
    for entry_point in set(entry_points) - {"main"}:
        assert "Entry point `tasks_from: %s`: %s." % (entry_point, entry_points[entry_point]["short_description"]) \
            in text


def _copy_role(tmp_path, role="dcv_agent"):
    roles_dir = tmp_path / "roles"
    shutil.copytree(os.path.join(ROLES_DIR, role, "meta"), str(roles_dir / role / "meta"))
    shutil.copy(os.path.join(ROLES_DIR, role, "README.md"), str(roles_dir / role / "README.md"))
    return roles_dir, roles_dir / role / "README.md", roles_dir / role / "meta" / "argument_specs.yml"


def test_check_names_a_stale_readme_and_the_rewrite_keeps_the_prose(tmp_path, capsys):
    roles_dir, readme, specs_path = _copy_role(tmp_path)
    specs = yaml.safe_load(specs_path.read_text())
    options = specs["argument_specs"]["main"]["options"]
    options["dcv_agent_log_level"]["description"] = ["Changed in the spec | not yet in the README", "<on purpose>."]
    specs_path.write_text(yaml.safe_dump(specs, sort_keys=False))
    before = readme.read_text()

    assert role_docs.main(["--check", "--roles-dir", str(roles_dir)]) == 1
    assert "roles/dcv_agent/README.md" in capsys.readouterr().err.replace(os.sep, "/")
    assert readme.read_text() == before, "--check must change nothing"

    assert role_docs.main(["--roles-dir", str(roles_dir)]) == 0
    after = readme.read_text()
    assert "Changed in the spec \\| not yet in the README &lt;on purpose&gt;." in after
    assert after.split(role_docs.BEGIN)[0] == before.split(role_docs.BEGIN)[0]
    assert after.split(role_docs.END)[1] == before.split(role_docs.END)[1]
    assert role_docs.main(["--check", "--roles-dir", str(roles_dir)]) == 0


def test_a_readme_without_markers_is_refused(tmp_path, capsys):
    roles_dir, readme, _specs_path = _copy_role(tmp_path)
    readme.write_text(readme.read_text().replace(role_docs.END, ""))
    assert role_docs.main(["--check", "--roles-dir", str(roles_dir)]) == 1
    assert role_docs.END in capsys.readouterr().err
