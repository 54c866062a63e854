# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The broker's command line, as the modules that run it on a broker host find it (doc fragment broker_cli)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

# where the broker package puts its CLI, beside the usual system directories (a root shell may not have them on PATH)
SYSTEM_DIRECTORIES = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/share/dcv-session-manager-broker/bin']

ARGUMENT_SPEC = dict(broker_cli=dict(type='str', default='dcv-session-manager-broker'))


def find_cli(module):
    """The CLI's path from the module's broker_cli option; fails the module when it is not there."""
    executable = module.params['broker_cli']
    if os.path.sep in executable:
        if not os.access(executable, os.X_OK):
            module.fail_json(msg='broker_cli %s is not an executable file' % executable)
        return executable
    return module.get_bin_path(executable, required=True, opt_dirs=SYSTEM_DIRECTORIES)
