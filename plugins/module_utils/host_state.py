# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read, in one pass on a host, what the roles compare before they act (module host_state), and compare it
on the control node (filter plugin host_state).

A task per managed file, directory and unit costs one module execution each even when nothing differs; one
read per role and host, plus a comparison on the control node, lets a converged host skip all of them. Only
the Python standard library is used: this runs on the managed host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import hashlib
import os
import pwd
import stat

# One command per OS family lists installed packages: a line "NAME<TAB>VERSION<TAB>installed" each
VERSION_QUERY = {
    "Debian": ["dpkg-query", "-W", "-f=${Package}\t${Version}\t${db:Status-Status}\n"],
    "RedHat": ["rpm", "-q", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}\tinstalled\n"],
}

# A text file read back for the control node to parse (dcv.conf) is small; refuse to ship anything larger
MAX_READ_BYTES = 1024 * 1024


def strip_epoch(version):
    return version.split(":", 1)[1] if ":" in version else version


def parse_versions(query_output):
    """{package: version} from lines 'NAME<TAB>VERSION<TAB>installed'; any other line is not an installed package."""
    versions = {}
    for line in (query_output or "").splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[2].strip() == "installed":
            versions[fields[0]] = strip_epoch(fields[1].strip())
    return versions


def parse_unit_show(output):
    """{Id: {'active': ActiveState, 'enabled': UnitFileState}} from `systemctl show -p Id,ActiveState,UnitFileState`."""
    units = {}
    for block in (output or "").split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if props.get("Id"):
            units[props["Id"]] = {"active": props.get("ActiveState", ""), "enabled": props.get("UnitFileState", "")}
    return units


def unit_key(name):
    """systemctl's Id of a unit given with or without its .service suffix."""
    return name if "." in name else name + ".service"


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def sha1_of_file(path):
    """SHA-1 of a file's bytes, read in chunks (used on the host for what it has, on the control node for what a
    copy task would send)."""
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_state(path):
    """Type, owner and group names, octal mode, and sha1 of a regular file; exists False when missing.

    lstat: a symbolic link is reported as a link, never as the file it points to, so it is never taken as in
    place (the role's task then decides).
    """
    try:
        info = os.lstat(path)
    except OSError:
        return {"exists": False}
    kind = ("file" if stat.S_ISREG(info.st_mode) else "directory" if stat.S_ISDIR(info.st_mode)
            else "link" if stat.S_ISLNK(info.st_mode) else "other")
    state = {"exists": True, "type": kind, "owner": _name(pwd.getpwuid, info.st_uid),
             "group": _name(grp.getgrgid, info.st_gid), "mode": "%04o" % stat.S_IMODE(info.st_mode)}
    if kind == "file":
        state["sha1"] = sha1_of_file(path)
    return state


def read_text(path):
    """The text of a small file, or None when it is missing, unreadable, not UTF-8 or too large."""
    try:
        if os.path.getsize(path) > MAX_READ_BYTES:
            return None
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def listing(path):
    """Sorted names of the regular files in a directory (as ansible.builtin.find lists them: no directories,
    no links), or None when it is not a directory."""
    try:
        if not os.path.isdir(path) or os.path.islink(path):
            return None
        return sorted(name for name in os.listdir(path)
                      if stat.S_ISREG(os.lstat(os.path.join(path, name)).st_mode))
    except OSError:
        return None


def group_members(name):
    """The supplementary members of group ``name`` as the group database lists them; None without such a group."""
    try:
        return sorted(grp.getgrnam(name).gr_mem)
    except KeyError:
        return None


def passwd_database():
    """The passwd database in the shape of ansible.builtin.getent's getent_passwd fact."""
    return dict((entry.pw_name, [entry.pw_passwd, str(entry.pw_uid), str(entry.pw_gid), entry.pw_gecos,
                                 entry.pw_dir, entry.pw_shell]) for entry in pwd.getpwall())


# ---- control node side: is what the host reported already what the task would make? ----

def _mode(value):
    return int(str(value), 8) if value is not None else None


def _attributes_match(seen, kind, owner, group, mode):
    return (bool(seen) and seen.get("exists") is True and seen.get("type") == kind
            and (owner is None or seen.get("owner") == str(owner))
            and (group is None or seen.get("group") == str(group))
            and (mode is None or _mode(seen.get("mode")) == _mode(mode)))


def file_in_place(state, path, owner=None, group=None, mode=None, content=None, src=None):
    """True only when the host reported ``path`` as a regular file with these attributes and this content.

    ``content``: the text a copy task would write; ``src``: a file on the control node a copy task would send.
    With neither, only the attributes are compared. An empty ``state`` (not read, or no longer current) is never
    in place.
    """
    seen = ((state or {}).get("files") or {}).get(path)
    if not _attributes_match(seen, "file", owner, group, mode):
        return False
    if content is not None:
        data = content.encode("utf-8") if not isinstance(content, bytes) else content
        return hashlib.sha1(data).hexdigest() == seen.get("sha1")
    if src is not None:
        try:
            return sha1_of_file(src) == seen.get("sha1")
        except (OSError, IOError):
            return False
    return True


def directory_in_place(state, path, owner=None, group=None, mode=None):
    seen = ((state or {}).get("files") or {}).get(path)
    return _attributes_match(seen, "directory", owner, group, mode)


def path_absent(state, path):
    seen = ((state or {}).get("files") or {}).get(path)
    return bool(seen) and seen.get("exists") is False


def unit_running(state, name):
    """True when systemd reported the unit enabled and active: `enabled: true, state: started` would do nothing."""
    seen = ((state or {}).get("units") or {}).get(unit_key(name)) or {}
    return seen.get("enabled") == "enabled" and seen.get("active") == "active"


def packages_installed(state, names):
    """True when every package in ``names`` was reported installed (in any version)."""
    installed = (state or {}).get("packages")
    return installed is not None and all(name in installed for name in names)


def _task_results(results):
    flat = []
    for result in results or []:
        if isinstance(result, dict) and isinstance(result.get("results"), list):  # a loop's items
            flat.extend(_task_results(result["results"]))
        elif isinstance(result, dict):
            flat.append(result)
    return flat


def content_changed(results, state):
    """Labels of the files whose content these task results changed (or would change, in check mode).

    A service reads its configuration, keys and certificates when it starts: a new content needs a restart, while
    a fix of owner, group or mode alone changes nothing the running service sees. ``results`` are the registered
    results of the tasks that write such files: the files module, copy and template (one file each, loops
    included), ini_file, file with state absent, and the certificate module. An unchanged, skipped or failed
    result counts for nothing.

    * certificate: a content change when it wrote (or would write) a file (``written``) or issues a new
      certificate (``reasons``); ``attributes_fixed`` alone is none.
    * copy and template: no content change only when the result's checksum (the SHA-1 of what the task sends,
      which Ansible adds when the task ran the file module to fix attributes) is the one ``state`` (module
      host_state) reported for the destination before the task. A check-mode result that would write new content
      has no checksum; an empty ``state`` (no longer current) or a destination it did not read knows no SHA-1:
      each of these counts as a content change, so a restart is never missed.
    * files: its own ``content_changed`` (files written or removed; a directory or an owner or mode fix is none).
    * anything else that changed (ini_file, a removed file): a content change.
    """
    files = (state or {}).get("files") or {}
    changed = []
    for result in _task_results(results):
        if not result.get("changed") or result.get("failed") or result.get("skipped"):
            continue
        if "content_changed" in result:  # module files says which of its paths got a new content or went away
            changed.extend(result["content_changed"])
            continue
        if "written" in result or "reasons" in result:
            written = list(result.get("written") or [])
            if written or result.get("reasons"):
                changed.append("certificate (%s)" % ", ".join(written or ["certificate_path"]))
            continue
        path = result.get("dest") or result.get("path")
        checksum = result.get("checksum")
        if checksum and path and (files.get(path) or {}).get("sha1") == checksum:
            continue
        changed.append(path or "file of item %s" % result.get("item", "?"))
    return changed
