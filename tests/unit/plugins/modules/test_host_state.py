# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dcvkit.session_manager.host_state reads a host, and the dcv_*_in_place filters compare what it read."""

from __future__ import annotations

import grp
import hashlib
import os
import pwd

import pytest

from ansible_collections.dcvkit.session_manager.plugins.filter.host_state import FilterModule
from ansible_collections.dcvkit.session_manager.plugins.module_utils import host_state
from ansible_collections.dcvkit.session_manager.plugins.modules import host_state as host_state_module
from ansible_collections.dcvkit.session_manager.tests.unit.plugins.broker_fixtures.module_runner import run_module

FILTERS = FilterModule().filters()
OWNER = pwd.getpwuid(os.geteuid()).pw_name
GROUP = grp.getgrgid(os.getegid()).gr_name


@pytest.fixture
def tree(tmp_path):
    conf = tmp_path / "app.conf"
    conf.write_text("key = value\n")
    conf.chmod(0o640)
    (tmp_path / "tags").mkdir(mode=0o750)
    (tmp_path / "tags" / "b.toml").write_text("")
    (tmp_path / "tags" / "a.toml").write_text("")
    (tmp_path / "link.conf").symlink_to(conf)
    return tmp_path


def read(tree, **extra):
    args = dict(paths=[str(tree / "app.conf"), str(tree / "tags"), str(tree / "link.conf"), str(tree / "missing")],
                read=[str(tree / "app.conf"), str(tree / "missing")], list=[str(tree / "tags"), str(tree / "app.conf")])
    args.update(extra)
    return run_module(host_state_module.main, args, check_mode=True)


def test_reports_files_directories_links_and_missing_paths(tree):
    result = read(tree)
    assert not result.failed and result["changed"] is False
    conf = result["files"][str(tree / "app.conf")]
    assert conf == {"exists": True, "type": "file", "owner": OWNER, "group": GROUP, "mode": "0640",
                    "sha1": hashlib.sha1(b"key = value\n").hexdigest()}
    assert result["files"][str(tree / "tags")]["type"] == "directory"
    assert result["files"][str(tree / "link.conf")]["type"] == "link"
    assert result["files"][str(tree / "missing")] == {"exists": False}
    assert result["contents"] == {str(tree / "app.conf"): "key = value\n", str(tree / "missing"): None}
    assert result["listings"] == {str(tree / "tags"): ["a.toml", "b.toml"], str(tree / "app.conf"): None}
    assert "ansible_facts" not in result


def test_accounts_have_the_shape_of_getent_passwd(tree):
    facts = read(tree, accounts=True)["ansible_facts"]["getent_passwd"]
    entry = pwd.getpwuid(0)
    assert facts[entry.pw_name] == [entry.pw_passwd, "0", str(entry.pw_gid), entry.pw_gecos, entry.pw_dir,
                                    entry.pw_shell]


def test_group_members_from_the_group_database(tree):
    some = next(group for group in grp.getgrall())
    result = read(tree, groups=[some.gr_name, "dcvkit-no-such-group"])
    assert result["groups"] == {some.gr_name: sorted(some.gr_mem), "dcvkit-no-such-group": None}
    assert "default_target" not in result


def test_default_target_from_systemctl(tree, monkeypatch):
    calls = []

    def fake_run_command(self, args, **kwargs):
        calls.append(args)
        return 0, "graphical.target\n", ""

    monkeypatch.setattr(host_state_module.AnsibleModule, "run_command", fake_run_command)
    assert read(tree, default_target=True)["default_target"] == "graphical.target"
    assert calls == [["systemctl", "get-default"]]


def test_packages_need_the_os_family(tree):
    result = read(tree, packages=["nice-dcv-server"])
    assert result.failed and "os_family" in result["msg"]


def test_version_lines_ignore_missing_and_half_installed_packages():
    output = ("nice-dcv-server\t1:2025.0.1-1\tinstalled\n"
              "nice-xdcv\t2025.0.1-1\tconfig-files\n"
              "package nice-dcv-web-viewer is not installed\n")
    assert host_state.parse_versions(output) == {"nice-dcv-server": "2025.0.1-1"}


def test_unit_states_from_systemctl_show():
    output = ("Id=dcvserver.service\nActiveState=active\nUnitFileState=enabled\n\n"
              "Id=ufw.service\nActiveState=inactive\nUnitFileState=\n")
    assert host_state.parse_unit_show(output) == {
        "dcvserver.service": {"active": "active", "enabled": "enabled"},
        "ufw.service": {"active": "inactive", "enabled": ""}}
    assert host_state.unit_key("dcvserver") == "dcvserver.service"
    assert host_state.unit_key("dcv.socket") == "dcv.socket"


def test_file_in_place_only_when_content_and_every_attribute_match(tree, tmp_path):
    state = read(tree)
    path = str(tree / "app.conf")
    in_place = FILTERS["dcv_file_in_place"]
    assert in_place(state, path, OWNER, GROUP, "0640", content="key = value\n")
    assert not in_place(state, path, OWNER, GROUP, "0640", content="key = other\n")
    assert not in_place(state, path, OWNER, GROUP, "0644", content="key = value\n")
    assert not in_place(state, path, "nobody-else", GROUP, "0640", content="key = value\n")
    assert in_place(state, path, OWNER, GROUP, "0640")  # attributes only
    source = tmp_path / "source"
    source.write_bytes(b"key = value\n")
    assert in_place(state, path, OWNER, GROUP, "0640", src=str(source))
    source.write_bytes(b"changed\n")
    assert not in_place(state, path, OWNER, GROUP, "0640", src=str(source))
    assert not in_place(state, path, OWNER, GROUP, "0640", src=str(tmp_path / "no-such-source"))
    # a link is never taken for the file it points to, a missing file is never in place
    assert not in_place(state, str(tree / "link.conf"), OWNER, GROUP, None)
    assert not in_place(state, str(tree / "missing"), OWNER, GROUP, "0640")


def test_an_empty_state_is_never_in_place(tree):
    path = str(tree / "app.conf")
    assert not FILTERS["dcv_file_in_place"]({}, path, OWNER, GROUP, "0640", content="key = value\n")
    assert not host_state.directory_in_place({}, str(tree / "tags"), OWNER, GROUP, "0750")
    assert not FILTERS["dcv_path_absent"]({}, str(tree / "missing"))
    assert not FILTERS["dcv_unit_running"]({}, "dcvserver")
    assert not FILTERS["dcv_packages_installed"]({}, ["nice-dcv-server"])


def test_directory_absent_units_and_packages(tree):
    state = read(tree)
    assert host_state.directory_in_place(state, str(tree / "tags"), OWNER, GROUP, "0750")
    assert not host_state.directory_in_place(state, str(tree / "tags"), OWNER, GROUP, "0700")
    assert not host_state.directory_in_place(state, str(tree / "app.conf"), OWNER, GROUP, "0640")
    assert FILTERS["dcv_path_absent"](state, str(tree / "missing"))
    assert not FILTERS["dcv_path_absent"](state, str(tree / "app.conf"))
    units = {"units": {"dcvserver.service": {"active": "active", "enabled": "enabled"},
                       "dcv-connection-gateway.service": {"active": "active", "enabled": "disabled"},
                       "dcv-session-manager-agent.service": {"active": "failed", "enabled": "enabled"}}}
    assert FILTERS["dcv_unit_running"](units, "dcvserver")
    assert not FILTERS["dcv_unit_running"](units, "dcv-connection-gateway")
    assert not FILTERS["dcv_unit_running"](units, "dcv-session-manager-agent")
    assert not FILTERS["dcv_unit_running"](units, "unknown")
    packages = {"packages": {"gdm3": "43.0-3"}}
    assert FILTERS["dcv_packages_installed"](packages, ["gdm3"])
    assert not FILTERS["dcv_packages_installed"](packages, ["gdm3", "gnome-core"])
