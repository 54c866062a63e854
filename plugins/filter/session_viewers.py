# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who may join a session besides its owner: playbooks/session.yml -e dcv_session_viewers=bob,carol.

The viewers become the session's permissions file (CreateSessions PermissionsFile), in the syntax of adminguide
"Configuring Amazon DCV authorization" ("Adding permissions"): a ``[permissions]`` section of ``actor rule features``
lines. ``%owner%`` is the session owner and ``builtin`` the alias of every feature, so ``%owner% allow builtin`` is
the full control the default permissions file gives the owner; ``display`` is the feature that receives the
server's visual data, so a viewer granted only that sees the desktop and can neither type, point, copy nor transfer
files. Without viewers no file is sent and the server's default applies (the owner only).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# A plain user name (the Linux account a DCV server knows): no group:/osgroup:/user: prefix, no %reference%, nothing
# the permissions syntax reads (spaces, '=', ',', '[', '#', ';', quotes); at most 32 characters like useradd's
_USER_NAME = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$')
VIEWER_FEATURES = ('display',)


def _names(viewers):
    """The viewers as a list: a YAML list, or the comma-separated string -e gives; blanks dropped."""
    if viewers is None or viewers == '':
        return []
    items = viewers.split(',') if isinstance(viewers, str) else viewers
    if not isinstance(items, (list, tuple)):
        return None
    return [item.strip() if isinstance(item, str) else item for item in items
            if not (isinstance(item, str) and not item.strip())]


def dcv_session_viewers_problems(viewers, owner, permissions_file='', name='dcv_session_viewers'):
    """What is wrong with the viewers of a session of ``owner``, one sentence each naming ``name``; [] when none."""
    names = _names(viewers)
    if names is None:
        return ['%s must be a list of user names or a comma-separated string of them, not %r' % (name, viewers)]
    problems = []
    if names and permissions_file:
        problems.append('%s and dcv_session_permissions_file both describe who may do what in the session; set one: '
                        'the viewers (the owner keeps full control, each viewer may only view) or your own permissions '
                        'file' % name)
    for item in names:
        if not isinstance(item, str) or not _USER_NAME.match(item):
            problems.append('%s: %r is not a plain user name (letters, digits, "_", "." and "-", at most 32, not '
                            'starting with "." or "-"; no group:, osgroup: or %%owner%% references)' % (name, item))
        elif item == owner:
            problems.append('%s: %s is the owner of the session, who has full control already; leave the name out'
                            % (name, item))
    return problems


def dcv_session_viewers_permissions(viewers):
    """The permissions file text: the owner with every feature, each viewer with display only; "" without viewers."""
    names = _names(viewers) or []
    if not names:
        return ''
    lines = ['[permissions]', '%owner% allow builtin']
    seen = set()
    for item in names:
        if item not in seen:
            seen.add(item)
            lines.append('%s allow %s' % (item, ' '.join(VIEWER_FEATURES)))
    return '\n'.join(lines) + '\n'


class FilterModule(object):
    def filters(self):
        return {
            "dcv_session_viewers_problems": dcv_session_viewers_problems,
            "dcv_session_viewers_permissions": dcv_session_viewers_permissions,
        }
