# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dcv_content_changed: which files a role's tasks gave a new content (the service restarts), as opposed to an
owner, group or mode fix alone (it does not). The playbook test runs the real copy, ini_file and file modules, in
check mode and for real, so the result shapes the filter reads are Ansible's own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.dcvkit.session_manager.plugins.filter.host_state import FilterModule
from ansible_collections.dcvkit.session_manager.tests.unit.roles.role_playbook import run_plays

content_changed = FilterModule().filters()["dcv_content_changed"]

OLD = "key = old\n"
STATE = {"files": {"/etc/app.conf": {"exists": True, "type": "file", "owner": "root", "group": "root",
                                     "mode": "0600", "sha1": hashlib.sha1(OLD.encode()).hexdigest()}}}


def _copy(changed=True, checksum=None, dest="/etc/app.conf", **extra):
    result = dict(changed=changed, dest=dest, **extra)
    if checksum:
        result["checksum"] = checksum
    return result


def test_an_attribute_fix_is_no_content_change_and_new_content_is():
    same = hashlib.sha1(OLD.encode()).hexdigest()
    other = hashlib.sha1(b"key = new\n").hexdigest()
    assert content_changed([_copy(checksum=same)], STATE) == []
    assert content_changed([_copy(checksum=other)], STATE) == ["/etc/app.conf"]
    # check mode's copy result for new content carries neither checksum nor destination
    assert content_changed([{"changed": True}], STATE) == ["file of item ?"]


def test_what_the_read_did_not_cover_counts_as_new_content():
    same = hashlib.sha1(OLD.encode()).hexdigest()
    assert content_changed([_copy(checksum=same)], {}) == ["/etc/app.conf"]
    assert content_changed([_copy(checksum=same, dest="/etc/other.conf")], STATE) == ["/etc/other.conf"]
    assert content_changed([_copy(checksum=same)], {"files": {"/etc/app.conf": {"exists": False}}}) == [
        "/etc/app.conf"]


def test_unchanged_skipped_failed_and_undefined_results_count_for_nothing():
    assert content_changed([_copy(changed=False), {"changed": False, "skipped": True}, {},
                            {"changed": True, "failed": True, "dest": "/etc/app.conf"}], STATE) == []
    assert content_changed([], STATE) == [] and content_changed(None, STATE) == []


def test_loop_items_are_looked_at_one_by_one():
    same = hashlib.sha1(OLD.encode()).hexdigest()
    loop = {"changed": True, "results": [_copy(checksum=same, item="a"), _copy(changed=False, item="b"),
                                         {"changed": True, "path": "/etc/tags/c.toml", "state": "absent"}]}
    assert content_changed([loop], STATE) == ["/etc/tags/c.toml"]


def test_certificate_results_by_what_was_written():
    assert content_changed([{"changed": True, "reasons": [], "written": []}], STATE) == []
    assert content_changed([{"changed": True, "reasons": [], "written": ["ca_certificate_path"]}], STATE) == [
        "certificate (ca_certificate_path)"]
    # check mode before the CA exists: a new certificate is due, nothing is written yet
    assert content_changed([{"changed": True, "reasons": ["ca_changed"], "written": []}], STATE) == [
        "certificate (certificate_path)"]


def test_real_modules_in_check_mode_and_for_real(tmp_path):
    mode_only, new_content, ini, gone = (str(tmp_path / name) for name in ("mode-only", "new-content", "ini", "gone"))
    seeds = [(mode_only, OLD, "0600"), (new_content, OLD, "0640"), (ini, "[s]\nx=1\n", "0644"), (gone, "", "0644")]
    tasks = [{"ansible.builtin.copy": {"content": text, "dest": path, "mode": mode}} for path, text, mode in seeds]
    tasks.append({"dcvkit.session_manager.host_state": {"paths": [mode_only, new_content, ini, gone]},
                  "register": "state"})
    attribute_fix = {"content": OLD, "dest": mode_only, "mode": "0640"}
    new_text = {"content": "key = new\n", "dest": new_content, "mode": "0640"}
    for name, module, args in [("mode_check", "ansible.builtin.copy", attribute_fix),
                               ("content_check", "ansible.builtin.copy", new_text),
                               ("ini_check", "community.general.ini_file",
                                {"path": ini, "section": "s", "option": "x", "value": "2", "no_extra_spaces": True}),
                               ("mode_run", "ansible.builtin.copy", attribute_fix),
                               ("content_run", "ansible.builtin.copy", new_text),
                               ("again", "ansible.builtin.copy", new_text),
                               ("ini_run", "community.general.ini_file",
                                {"path": ini, "section": "s", "option": "x", "value": "2", "no_extra_spaces": True}),
                               ("removed", "ansible.builtin.file", {"path": gone, "state": "absent"})]:
        tasks.append({module: args, "register": name, "check_mode": name.endswith("_check"), "no_log": True})
    tasks.append({"ansible.builtin.debug": {"msg": {
        name: "{{ [%s] | dcvkit.session_manager.dcv_content_changed(state) }}" % name
        for name in ("mode_check", "content_check", "ini_check", "mode_run", "content_run", "again", "ini_run",
                     "removed")}}})
    tasks.append({"ansible.builtin.debug": {
        "msg": "{{ [mode_run] | dcvkit.session_manager.dcv_content_changed({}) }}"}})
    results = run_plays(tmp_path, [{"name": "files", "hosts": "testhost", "gather_facts": False, "tasks": tasks}],
                        ["testhost"])["files"]
    verdicts, without_state = results[-2]["msg"], results[-1]["msg"]
    # mode_check .. removed (again: the file already has the new content)
    assert [result.get("changed") for result in results[5:13]] == [True] * 5 + [False, True, True], results[5:13]
    assert verdicts["mode_check"] == [] and verdicts["mode_run"] == []
    assert verdicts["content_check"] and verdicts["content_run"] == [new_content]
    assert verdicts["again"] == []
    assert verdicts["ini_check"] and verdicts["ini_run"] == [ini]
    assert verdicts["removed"] == [gone]
    assert without_state == [mode_only]
