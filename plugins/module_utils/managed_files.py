# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a role declares about its files, and whether a host_state read already shows it (module files).

A role lists its files, directories and removals once; the action plugin of dcvkit.session_manager.files answers
from the role's host_state read whether the host already looks like that (then no module runs), and otherwise the
module compares and writes on the host in one execution. Only the Python standard library is used: the spec is
also the module's, on the managed host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import posixpath

from ansible_collections.dcvkit.session_manager.plugins.module_utils import host_state

ENTRY_STATES = ("file", "directory", "absent")


def files_argument_spec():
    return dict(
        files=dict(type="list", elements="dict", required=True, options=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", default="file", choices=list(ENTRY_STATES)),
            # not no_log: Ansible would then mask the content in the diff too; a secret entry's content is masked by the
            # module instead (secret)
            content=dict(type="str", no_log=False),
            content_base64=dict(type="str", no_log=False),
            src=dict(type="path"),
            owner=dict(type="str"),
            group=dict(type="str"),
            mode=dict(type="str"),
            force=dict(type="bool", default=True),
            secret=dict(type="bool", default=False),
        )),
        prune=dict(type="list", elements="dict", default=[], options=dict(
            path=dict(type="path", required=True),
            patterns=dict(type="list", elements="str", default=["*"]),
        )),
        host_state=dict(type="dict"),
    )


def entry_problems(entries):
    """Messages for entries no state could satisfy, naming the entry's path."""
    problems = []
    seen = set()
    for entry in entries:
        path = entry["path"]
        sources = [name for name in ("content", "content_base64", "src") if entry.get(name) is not None]
        if not posixpath.isabs(path):
            problems.append("files: %s is not an absolute path" % path)
        if path in seen:
            problems.append("files: %s is listed twice" % path)
        seen.add(path)
        if len(sources) > 1:
            problems.append("files: %s has %s; give one of them" % (path, " and ".join(sources)))
        if sources and entry.get("state", "file") != "file":
            problems.append("files: %s has state %s and %s; content is for state file only"
                            % (path, entry.get("state"), sources[0]))
        mode = entry.get("mode")
        if entry.get("secret") and mode is None and entry.get("state", "file") == "file":
            # without a mode a new file gets the umask's, which lets everyone read a key
            problems.append("files: %s is secret and has no mode; give one such as '0600'" % path)
        if mode is not None:
            try:
                if not 0 <= int(str(mode), 8) <= 0o7777:
                    raise ValueError(mode)
            except ValueError:
                problems.append("files: %s has mode %r; give an octal string such as '0640'" % (path, mode))
    return problems


def pruned_names(names, patterns, kept):
    """The names of a directory listing that match a pattern and are not kept, sorted."""
    return sorted(name for name in names or []
                  if name not in kept and any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns))


def kept_names(entries, directory):
    """Names of the files the entries keep in ``directory`` (state file, directly in it)."""
    return set(posixpath.basename(entry["path"]) for entry in entries
               if entry.get("state", "file") == "file" and posixpath.dirname(entry["path"]) == directory.rstrip("/"))


def read_shows_in_place(state, entries, prune, content_of):
    """True only when the host_state read ``state`` shows every entry as declared and nothing left to prune.

    ``content_of(entry)`` gives the bytes a file entry declares, or None when it declares attributes only. What the
    read did not cover, and an empty read (none, or no longer current), is never in place: the module then looks
    at the host itself.
    """
    if not state:
        return False
    for entry in entries:
        path, kind = entry["path"], entry.get("state", "file")
        if kind == "absent":
            in_place = host_state.path_absent(state, path)
        elif kind == "directory":
            in_place = host_state.directory_in_place(state, path, entry.get("owner"), entry.get("group"),
                                                     entry.get("mode"))
        else:
            content = content_of(entry) if entry.get("force", True) else None
            in_place = host_state.file_in_place(state, path, entry.get("owner"), entry.get("group"),
                                                entry.get("mode"), content=content)
        if not in_place:
            return False
    listings = state.get("listings") or {}
    for rule in prune:
        if rule["path"] not in listings:
            return False
        if pruned_names(listings[rule["path"]], rule.get("patterns") or ["*"], kept_names(entries, rule["path"])):
            return False
    return True


def unchanged_result():
    return dict(changed=False, written=[], directories=[], attributes_fixed=[], removed=[], content_changed=[])
