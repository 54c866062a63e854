# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dcvkit.session_manager.files puts declared files in place in one execution; its action plugin's decision
(read_shows_in_place) skips the host when the role's host_state read shows everything in place."""

from __future__ import annotations

import base64
import grp
import os
import pwd
import stat

import pytest

from ansible_collections.dcvkit.session_manager.plugins.module_utils import host_state
from ansible_collections.dcvkit.session_manager.plugins.module_utils.managed_files import (
    entry_problems, read_shows_in_place)
from ansible_collections.dcvkit.session_manager.plugins.modules import files as files_module
from ansible_collections.dcvkit.session_manager.plugins.modules import host_state as host_state_module
from ansible_collections.dcvkit.session_manager.tests.unit.plugins.broker_fixtures.module_runner import run_module

OWNER = pwd.getpwuid(os.geteuid()).pw_name
GROUP = grp.getgrgid(os.getegid()).gr_name
SECRET = "-----BEGIN PRIVATE KEY-----\nnot-a-real-key-but-secret\n"


def declared(root, conf="a = 1\n"):
    tags = str(root / "tags")
    return [
        dict(path=str(root / "app.conf"), content=conf, owner=OWNER, group=GROUP, mode="0640"),
        dict(path=tags, state="directory", owner=OWNER, group=GROUP, mode="0750"),
        dict(path=tags + "/one.toml", content="x = 1\n", owner=OWNER, group=GROUP, mode="0640"),
        dict(path=str(root / "store.p12"), content_base64=base64.b64encode(b"\x00\xffbinary").decode(), mode="0600"),
    ]


def converge(files, prune=(), check_mode=False, diff=False):
    args = dict(files=files, prune=list(prune))
    if diff:
        args["_ansible_diff"] = True
    return run_module(files_module.main, args, check_mode=check_mode)


def mode_of(path):
    return "%04o" % stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_first_run_creates_everything_and_the_second_changes_nothing(tmp_path):
    first = converge(declared(tmp_path))
    assert not first.failed, first
    assert first["changed"] is True
    assert first["written"] == [str(tmp_path / "app.conf"), str(tmp_path / "tags/one.toml"),
                                str(tmp_path / "store.p12")]
    assert first["directories"] == [str(tmp_path / "tags")]
    assert first["content_changed"] == first["written"]
    assert (tmp_path / "app.conf").read_text() == "a = 1\n"
    assert (tmp_path / "store.p12").read_bytes() == b"\x00\xffbinary"
    assert [mode_of(tmp_path / name) for name in ("app.conf", "tags", "tags/one.toml", "store.p12")] == [
        "0640", "0750", "0640", "0600"]
    assert not [name for name in os.listdir(str(tmp_path)) if name.startswith(".")], "a temporary file was left"

    second = converge(declared(tmp_path))
    assert second["changed"] is False
    assert second["written"] == second["attributes_fixed"] == second["removed"] == second["directories"] == []


def test_a_mode_fix_is_no_content_change_and_new_content_is(tmp_path):
    converge(declared(tmp_path))
    (tmp_path / "app.conf").chmod(0o644)
    fixed = converge(declared(tmp_path))
    assert fixed["changed"] is True
    assert fixed["attributes_fixed"] == [str(tmp_path / "app.conf")]
    assert fixed["content_changed"] == []
    assert mode_of(tmp_path / "app.conf") == "0640"

    rewritten = converge(declared(tmp_path, conf="a = 2\n"))
    assert rewritten["written"] == [str(tmp_path / "app.conf")]
    assert rewritten["content_changed"] == [str(tmp_path / "app.conf")]
    assert rewritten["attributes_fixed"] == []
    assert (tmp_path / "app.conf").read_text() == "a = 2\n"


def test_check_mode_reports_and_changes_nothing(tmp_path):
    result = converge(declared(tmp_path), check_mode=True)
    assert result["changed"] is True
    assert result["directories"] == [str(tmp_path / "tags")]
    assert str(tmp_path / "app.conf") in result["written"]
    assert os.listdir(str(tmp_path)) == []

    converge(declared(tmp_path))
    (tmp_path / "app.conf").chmod(0o600)
    result = converge(declared(tmp_path, conf="a = 3\n"), check_mode=True)
    assert result["written"] == [str(tmp_path / "app.conf")]
    assert (tmp_path / "app.conf").read_text() == "a = 1\n"
    assert mode_of(tmp_path / "app.conf") == "0600"


def test_prune_removes_only_unlisted_matching_files(tmp_path):
    converge(declared(tmp_path))
    (tmp_path / "tags" / "gone.toml").write_text("")
    (tmp_path / "tags" / "README").write_text("")
    (tmp_path / "tags" / "sub.toml").mkdir()
    result = converge(declared(tmp_path), prune=[dict(path=str(tmp_path / "tags"), patterns=["*.toml"])])
    assert result["removed"] == [str(tmp_path / "tags" / "gone.toml")]
    assert result["content_changed"] == result["removed"]
    assert sorted(os.listdir(str(tmp_path / "tags"))) == ["README", "one.toml", "sub.toml"]
    # a directory to prune that does not exist is no error
    assert converge([], prune=[dict(path=str(tmp_path / "nowhere"), patterns=["*"])])["changed"] is False


def test_diff_shows_text_and_never_a_secret(tmp_path):
    files = declared(tmp_path) + [dict(path=str(tmp_path / "key.pem"), content=SECRET, mode="0600", secret=True)]
    result = converge(files, diff=True)
    diffs = dict((diff["after_header"], diff) for diff in result["diff"])
    assert diffs[str(tmp_path / "app.conf")]["after"] == "a = 1\n"
    assert diffs[str(tmp_path / "store.p12")]["after"].startswith("(binary content")
    assert diffs[str(tmp_path / "key.pem")]["after"] == "(secret content, %d bytes)\n" % len(SECRET)
    assert "not-a-real-key" not in result.raw
    assert (tmp_path / "key.pem").read_text() == SECRET
    assert mode_of(tmp_path / "key.pem") == "0600"


def test_force_false_keeps_an_existing_file_and_absent_removes(tmp_path):
    target = tmp_path / "keep.conf"
    target.write_text("operator's\n")
    target.chmod(0o644)
    gone = tmp_path / "old"
    gone.mkdir()
    (gone / "inside").write_text("")
    result = converge([dict(path=str(target), content="role's\n", mode="0600", force=False),
                       dict(path=str(gone), state="absent")])
    assert target.read_text() == "operator's\n"
    assert result["attributes_fixed"] == [str(target)]
    assert result["removed"] == [str(gone)]
    assert not gone.exists()


def test_a_link_becomes_a_regular_file(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("untouched\n")
    (tmp_path / "app.conf").symlink_to(elsewhere)
    result = converge([dict(path=str(tmp_path / "app.conf"), content="mine\n", mode="0644")])
    assert result["written"] == [str(tmp_path / "app.conf")]
    assert not (tmp_path / "app.conf").is_symlink()
    assert elsewhere.read_text() == "untouched\n"


@pytest.mark.parametrize("files, message", [
    ([dict(path="relative/app.conf", content="")], "relative/app.conf is not an absolute path"),
    ([dict(path="/x/a", content="", content_base64="")], "/x/a has content and content_base64"),
    ([dict(path="/x/a", state="directory", content="")], "/x/a has state directory and content"),
    ([dict(path="/x/a", content="", mode="rw-r--r--")], "give an octal string"),
    ([dict(path="/x/a", content=""), dict(path="/x/a", state="absent")], "/x/a is listed twice"),
    ([dict(path="/x/key.pem", content="k", secret=True)], "/x/key.pem is secret and has no mode"),
])
def test_bad_declarations_are_refused_naming_the_path(files, message):
    problems = "; ".join(entry_problems(files))
    assert message in problems
    result = converge(files)
    assert result.failed and message in result["msg"]


def test_host_problems_are_refused_before_writing_there(tmp_path):
    (tmp_path / "adir").mkdir()
    result = converge([dict(path=str(tmp_path / "adir"), content="x")])
    assert result.failed and "is a directory where a file is declared" in result["msg"]
    result = converge([dict(path=str(tmp_path / "no/such/dir/app.conf"), content="x")])
    assert result.failed and "declare it first" in result["msg"]
    result = converge([dict(path=str(tmp_path / "app.conf"), content="x", owner="no-such-user-dcvkit")])
    assert result.failed and "user no-such-user-dcvkit does not exist" in result["msg"]
    assert not (tmp_path / "app.conf").exists()


def _read(tmp_path, files):
    paths = [entry["path"] for entry in files]
    return run_module(host_state_module.main, dict(paths=paths, list=[str(tmp_path / "tags")]), check_mode=True)


def _content_of(entry):
    if entry.get("content") is not None:
        return entry["content"].encode()
    if entry.get("content_base64") is not None:
        return base64.b64decode(entry["content_base64"])
    return None


def test_the_read_of_a_converged_host_answers_without_the_module(tmp_path):
    files = declared(tmp_path)
    prune = [dict(path=str(tmp_path / "tags"), patterns=["*.toml"])]
    assert read_shows_in_place(_read(tmp_path, files), files, prune, _content_of) is False  # nothing there yet
    converge(files, prune)
    state = _read(tmp_path, files)
    assert read_shows_in_place(state, files, prune, _content_of) is True
    # each difference the module would act on makes the action run it
    assert read_shows_in_place(state, declared(tmp_path, conf="a = 2\n"), prune, _content_of) is False
    assert read_shows_in_place({}, files, prune, _content_of) is False
    assert read_shows_in_place(state, files + [dict(path=str(tmp_path / "unread"), content="")], prune,
                               _content_of) is False
    assert read_shows_in_place(state, files, prune + [dict(path=str(tmp_path / "unlisted"))], _content_of) is False
    (tmp_path / "tags" / "gone.toml").write_text("")
    assert read_shows_in_place(_read(tmp_path, files), files, prune, _content_of) is False
    (tmp_path / "tags" / "gone.toml").unlink()
    (tmp_path / "app.conf").chmod(0o600)
    assert read_shows_in_place(_read(tmp_path, files), files, prune, _content_of) is False


def test_content_changed_reads_the_modules_own_answer():
    results = [dict(changed=True, written=["/a"], removed=["/b"], attributes_fixed=["/c"], directories=["/d"],
                    content_changed=["/a", "/b"]),
               dict(changed=True, written=[], removed=[], attributes_fixed=["/e"], directories=[], content_changed=[])]
    assert host_state.content_changed(results, {}) == ["/a", "/b"]
