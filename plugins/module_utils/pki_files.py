# -*- coding: utf-8 -*-
# Copyright (c) dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atomic, permission-first file writes for key material (pure Python, runs on the targets)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import grp
import os
import pwd
import stat
import tempfile

from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_names import PkiInputError


class NotYetThere(PkiInputError):
    """A user, group or directory that is missing now but that an earlier task may create (check mode)."""


def resolve_owner(owner, group):
    """Return (uid, gid) with -1 for 'leave as is'; unknown names fail naming the option."""
    uid, gid = -1, -1
    if owner is not None:
        try:
            uid = int(owner) if str(owner).isdigit() else pwd.getpwnam(owner).pw_uid
        except KeyError:
            raise NotYetThere('owner', 'user %r does not exist on this host' % owner)
    if group is not None:
        try:
            gid = int(group) if str(group).isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            raise NotYetThere('group', 'group %r does not exist on this host' % group)
    return uid, gid


def check_destination(path, option):
    """Fail (naming the option) unless path can be written: parent exists and is writable, path is no directory."""
    if path is None:
        return
    parent = os.path.dirname(path) or '/'
    if not os.path.isdir(parent):
        raise NotYetThere(option, 'directory %s does not exist (create it first)' % parent)
    if os.path.isdir(path):
        raise PkiInputError(option, '%s is a directory' % path)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PkiInputError(option, 'directory %s is not writable by this user' % parent)
    if os.path.exists(path) and not os.access(path, os.R_OK):
        raise PkiInputError(option, '%s exists but is not readable by this user' % path)


def read_bytes(path):
    """Return (data, problem): data None with problem 'missing' or 'unreadable: ...'."""
    try:
        with open(path, 'rb') as handle:
            return handle.read(), None
    except (IOError, OSError) as exc:
        if not os.path.exists(path):
            return None, 'missing'
        return None, 'unreadable: %s' % exc


def attributes_differ(path, uid, gid, mode):
    try:
        info = os.stat(path)
    except OSError:
        return True
    if mode is not None and stat.S_IMODE(info.st_mode) != mode:
        return True
    if uid != -1 and info.st_uid != uid:
        return True
    if gid != -1 and info.st_gid != gid:
        return True
    return False


def fix_attributes(path, uid, gid, mode):
    if uid != -1 or gid != -1:
        os.chown(path, uid, gid)
    if mode is not None:
        os.chmod(path, mode)


def write_atomically(path, data, uid, gid, mode):
    """Write a sibling temp file with final owner and mode already set, fsync it, then rename it into place.

    The content is never readable with wider permissions than requested, and readers see either the old
    or the new file, never a partial one.
    """
    directory = os.path.dirname(path) or '/'
    handle, temp_path = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp', dir=directory)
    try:
        os.fchmod(handle, 0o600)
        if uid != -1 or gid != -1:
            os.fchown(handle, uid, gid)
        os.write(handle, data)
        os.fsync(handle)
        if mode is not None:
            os.fchmod(handle, mode)
        os.close(handle)
        handle = None
        os.rename(temp_path, path)
        temp_path = None
        directory_handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_handle)
        finally:
            os.close(directory_handle)
    finally:
        if handle is not None:
            os.close(handle)
        if temp_path is not None and os.path.exists(temp_path):
            os.unlink(temp_path)
