#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: files
short_description: Put a role's declared files, directories and removals in place in one execution
version_added: "0.2.0"
description:
  - A role declares what it manages once, as data (O(files), O(prune)); this module compares that with the host
    and writes only what differs, in one module execution, with check mode and diff.
  - Its action plugin first compares the declaration with the role's M(dcvkit.session_manager.host_state) read
    (O(host_state)) on the control node. When the read shows every entry in place, no module runs on the host.
  - A file gets its new content through a temporary file in the same directory, which gets the owner, group and
    mode before it is renamed over the old one, so the file is never seen half written or with other permissions.
  - RV(content_changed) tells a content change (a service that reads the file at start must restart) from an
    owner, group or mode fix (RV(attributes_fixed), which changes nothing a running service sees).
author:
  - dcvkit contributors (@dcvkit)
attributes:
  check_mode:
    support: full
    description: Reports what would be written, created, fixed or removed, and changes nothing.
  diff_mode:
    support: full
    description: One diff per path that differs; a secret entry (O(files[].secret)) shows no content.
options:
  files:
    description: The files and directories, in the order they are put in place (a directory before its files).
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path on the managed host.
        type: path
        required: true
      state:
        description:
          - V(file) a regular file (with its content when one of O(files[].content), O(files[].content_base64) or
            O(files[].src) is given, otherwise only its owner, group and mode; it must then exist).
          - V(directory) a directory, created with its parents when missing.
          - V(absent) nothing at this path (a directory is removed with its content).
        type: str
        choices: [file, directory, absent]
        default: file
      content:
        description: The file's content as text (UTF-8). It shows in the diff unless O(files[].secret) is set.
        type: str
      content_base64:
        description: The file's content, base64-encoded (for binary files such as a PKCS#12 store).
        type: str
      src:
        description: A file on the B(control node) whose bytes are the content; a relative path is searched in the
          role's C(files) directory. The action plugin reads it and sends it as O(files[].content_base64).
        type: path
      owner:
        description: Owner name. Unset keeps the owner of an existing path (a new one gets the module's user).
        type: str
      group:
        description: Group name. Unset keeps the group of an existing path.
        type: str
      mode:
        description: Octal mode as a string, for example V('0640'). Unset keeps the mode of an existing path (a new
          file gets 0644 less the umask, a new directory 0755 less the umask).
        type: str
      force:
        description: Replace the content of an existing file that differs. V(false) only creates a missing file
          (its owner, group and mode are still kept as declared).
        type: bool
        default: true
      secret:
        description: The content is a secret (a key, a password), so no diff shows it, before or after.
        type: bool
        default: false
  prune:
    description: Directories whose regular files matching O(prune[].patterns) are removed unless O(files) lists
      them (for example the agent's tags files the inventory no longer has).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The directory. Nothing happens when it does not exist.
        type: path
        required: true
      patterns:
        description: Shell patterns (C(fnmatch)) of the file names to consider.
        type: list
        elements: str
        default: ["*"]
  host_state:
    description:
      - The role's M(dcvkit.session_manager.host_state) read of this host, taken before this task. The action
        plugin compares it with O(files) and O(prune) on the control node and skips the host when it shows
        everything in place. It is never sent to the host.
      - Leave it unset (or empty) when the read is no longer current, for example after the run installed a
        package that writes these paths; the module then compares on the host.
    type: dict
notes:
  - A symbolic link at a file's path is replaced by a regular file; a directory there is an error.
"""

EXAMPLES = r"""
- name: Put the agent's files in place
  dcvkit.session_manager.files:
    host_state: "{{ agent_read }}"
    files:
      - path: /etc/dcv-session-manager-agent/ca.pem
        src: /srv/ca/ca.pem
        owner: root
        group: root
        mode: "0644"
      - path: /etc/dcv-session-manager-agent/agent.conf
        content: "{{ lookup('ansible.builtin.template', 'agent.conf.j2') }}"
        owner: root
        group: dcvsmagent
        mode: "0640"
      - path: /etc/dcv-session-manager-agent/tags
        state: directory
        owner: root
        group: dcvsmagent
        mode: "0750"
    prune:
      - path: /etc/dcv-session-manager-agent/tags
        patterns: ["*.toml"]
  register: agent_files

- name: Restart the agent when a file it reads at start got a new content
  ansible.builtin.systemd_service:
    name: dcv-session-manager-agent
    state: restarted
  when: agent_files.content_changed | length > 0
"""

RETURN = r"""
written:
  description: Files created or given a new content.
  returned: always
  type: list
  elements: str
directories:
  description: Directories created.
  returned: always
  type: list
  elements: str
attributes_fixed:
  description: Paths whose content was already right and whose owner, group or mode was fixed.
  returned: always
  type: list
  elements: str
removed:
  description: Paths removed (O(files[].state=absent) and O(prune)).
  returned: always
  type: list
  elements: str
content_changed:
  description: RV(written) and RV(removed) together, what a service that reads these paths at start sees.
  returned: always
  type: list
  elements: str
module_executions:
  description: Module executions on the host for this task, 0 when the O(host_state) read answered.
  returned: always
  type: int
"""

import base64
import grp
import os
import pwd
import shutil
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.dcvkit.session_manager.plugins.module_utils.managed_files import (
    entry_problems, files_argument_spec, kept_names, pruned_names, unchanged_result)

# A diff shows text up to this size; a larger or binary file is named, not shown
DIFF_MAX_BYTES = 64 * 1024


class FilesError(Exception):
    pass


def _declared_content(entry):
    if entry.get("content") is not None:
        return to_bytes(entry["content"], errors="surrogate_or_strict")
    if entry.get("content_base64") is not None:
        return base64.b64decode(entry["content_base64"])
    return None


def _uid(name):
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        raise FilesError("user %s does not exist on this host" % name)


def _gid(name):
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise FilesError("group %s does not exist on this host" % name)


def _describe(info):
    if info is None:
        return "(absent)\n"
    return _attributes_text(info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode))


def _attributes_text(uid, gid, mode):
    return "owner=%s group=%s mode=%04o\n" % (_name(pwd.getpwuid, uid), _name(grp.getgrgid, gid), mode)


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def _diff_text(data, entry):
    if data is None:
        return ""
    if entry.get("secret"):
        return "(secret content, %d bytes)\n" % len(data)
    if len(data) > DIFF_MAX_BYTES:
        return "(%d bytes)\n" % len(data)
    try:
        return to_text(data, errors="strict")
    except UnicodeError:
        return "(binary content, %d bytes)\n" % len(data)


class Converger(object):
    def __init__(self, module):
        self.module = module
        self.result = unchanged_result()
        self.diffs = []

    def _lstat(self, path):
        try:
            return os.lstat(path)
        except OSError:
            return None

    def _attributes_wanted(self, entry, info, kind):
        """(uid, gid, mode) to set: the declared ones, else the existing path's, else the defaults."""
        umask = os.umask(0)
        os.umask(umask)
        uid = _uid(entry["owner"]) if entry.get("owner") else (info.st_uid if info else os.geteuid())
        gid = _gid(entry["group"]) if entry.get("group") else (info.st_gid if info else os.getegid())
        if entry.get("mode"):
            mode = int(str(entry["mode"]), 8)
        elif info is not None:
            mode = stat.S_IMODE(info.st_mode)
        else:
            mode = (0o755 if kind == "directory" else 0o644) & ~umask
        return uid, gid, mode

    def _fix_attributes(self, path, info, wanted):
        uid, gid, mode = wanted
        if (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (uid, gid, mode):
            return False
        if not self.module.check_mode:
            os.chown(path, uid, gid)
            os.chmod(path, mode)
        self.diffs.append(dict(before_header="%s (attributes)" % path, after_header="%s (attributes)" % path,
                               before=_describe(info), after=_attributes_text(uid, gid, mode)))
        return True

    def directory(self, entry):
        path = entry["path"]
        info = self._lstat(path)
        if info is not None and not stat.S_ISDIR(info.st_mode):
            raise FilesError("%s exists and is not a directory; move it away, then run again" % path)
        wanted = self._attributes_wanted(entry, info, "directory")
        if info is None:
            if not self.module.check_mode:
                os.makedirs(path)
                os.chown(path, wanted[0], wanted[1])
                os.chmod(path, wanted[2])
                self._selinux(path, None)
            self.result["directories"].append(path)
            self.diffs.append(dict(before_header=path, after_header=path, before="(absent)\n",
                                   after="directory " + _attributes_text(*wanted)))
        elif self._fix_attributes(path, info, wanted):
            self.result["attributes_fixed"].append(path)

    def file(self, entry):
        path = entry["path"]
        info = self._lstat(path)
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise FilesError("%s is a directory where a file is declared; move it away, then run again" % path)
        regular = info is not None and stat.S_ISREG(info.st_mode)
        declared = _declared_content(entry)
        if declared is None:
            if not regular:
                raise FilesError("%s does not exist as a regular file, and no content is declared for it" % path)
            if self._fix_attributes(path, info, self._attributes_wanted(entry, info, "file")):
                self.result["attributes_fixed"].append(path)
            return
        current = None
        if regular:
            with open(path, "rb") as handle:
                current = handle.read()
        if regular and (current == declared or not entry.get("force", True)):
            if self._fix_attributes(path, info, self._attributes_wanted(entry, info, "file")):
                self.result["attributes_fixed"].append(path)
            return
        wanted = self._attributes_wanted(entry, info if regular else None, "file")
        if not self.module.check_mode:
            self._write(path, declared, wanted, existed=regular)
        self.result["written"].append(path)
        self.diffs.append(dict(before_header=path, after_header=path, before=_diff_text(current, entry),
                               after=_diff_text(declared, entry)))

    def _write(self, path, data, wanted, existed):
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            raise FilesError("the directory of %s does not exist; declare it first (state directory)" % path)
        context = self.module.selinux_context(path) if existed else None
        handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            # the declared owner and mode before the name appears: a key is never readable by others, not even
            # for a moment
            os.chown(temporary, wanted[0], wanted[1])
            os.chmod(temporary, wanted[2])
            os.rename(temporary, path)
        except Exception:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        self._selinux(path, context)

    def _selinux(self, path, context):
        if self.module.selinux_enabled():
            wanted = context if context else self.module.selinux_default_context(path)
            self.module.set_context_if_different(path, wanted, False)

    def absent(self, path):
        info = self._lstat(path)
        if info is None:
            return
        if not self.module.check_mode:
            if stat.S_ISDIR(info.st_mode):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        self.result["removed"].append(path)
        self.diffs.append(dict(before_header=path, after_header=path, before=_describe(info), after="(absent)\n"))

    def prune(self, rule, entries):
        directory = rule["path"]
        if not os.path.isdir(directory) or os.path.islink(directory):
            return
        names = [name for name in os.listdir(directory)
                 if stat.S_ISREG(os.lstat(os.path.join(directory, name)).st_mode)]
        for name in pruned_names(names, rule["patterns"] or ["*"], kept_names(entries, directory)):
            self.absent(os.path.join(directory, name))

    def run(self, entries, prune):
        for entry in entries:
            kind = entry["state"]
            if kind == "directory":
                self.directory(entry)
            elif kind == "absent":
                self.absent(entry["path"])
            else:
                self.file(entry)
        for rule in prune:
            self.prune(rule, entries)
        result = self.result
        result["content_changed"] = result["written"] + result["removed"]
        result["changed"] = bool(result["written"] or result["directories"] or result["attributes_fixed"]
                                 or result["removed"])
        if self.module._diff and self.diffs:
            result["diff"] = self.diffs
        return result


def main():
    module = AnsibleModule(argument_spec=files_argument_spec(), supports_check_mode=True)
    problems = entry_problems(module.params["files"])
    if any(entry.get("src") is not None for entry in module.params["files"]):
        problems.append("files: src is read on the control node by the action plugin; call the module through it")
    if problems:
        module.fail_json(msg="; ".join(problems))
    # a secret's content never shows in this result (its invocation included), whatever the verbosity
    for entry in module.params["files"]:
        if entry["secret"]:
            module.no_log_values.update(value for value in (entry["content"], entry["content_base64"]) if value)
    try:
        result = Converger(module).run(module.params["files"], module.params["prune"])
    except (FilesError, OSError) as exc:
        module.fail_json(msg=to_native(exc))
    result["module_executions"] = 1
    module.exit_json(**result)


if __name__ == "__main__":
    main()
