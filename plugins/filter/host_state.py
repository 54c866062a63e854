# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare what module host_state read on a host with what a task would make (docs/performance.md).

Each dcv_*_in_place filter answers True only when the task would change nothing; a role then skips that task.
Anything the read did not cover, or an empty state (not read, or no longer current), answers False and the task
runs. dcv_content_changed tells, from the results of the tasks that ran, which files got a new content (a restart
is due) rather than only a new owner, group or mode (none is); what the read did not cover counts as new content.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dcvkit.session_manager.plugins.module_utils import host_state


class FilterModule(object):
    def filters(self):
        return {
            "dcv_file_in_place": host_state.file_in_place,
            "dcv_path_absent": host_state.path_absent,
            "dcv_unit_running": host_state.unit_running,
            "dcv_packages_installed": host_state.packages_installed,
            "dcv_content_changed": host_state.content_changed,
        }
