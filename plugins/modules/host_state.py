#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_state
short_description: Read in one call what a role compares before it changes a host
version_added: "0.1.0"
description:
  - Reports installed package versions, the passwd database, systemd unit states, file attributes and
    checksums, directory listings and the text of small files, all in one module execution.
  - The component roles run it once per role and host, then compare on the control node (module
    M(dcvkit.session_manager.files), filters C(dcvkit.session_manager.dcv_unit_running) and its siblings) and skip
    every task whose result is already on the host. A task that is not skipped does its own work as before, so the
    read only saves time; it never decides a change.
  - Files are examined with C(lstat); a symbolic link is reported as a link. Of a regular file only a SHA-1
    digest is returned, never its content, unless the file is in O(read).
  - Uses only the Python standard library. It changes nothing.
author:
  - dcvkit contributors (@dcvkit)
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: No diff is produced.
options:
  os_family:
    description: OS family of the host, which chooses the package query (C(dpkg-query) or C(rpm)).
    type: str
    choices: [Debian, RedHat]
  packages:
    description: Package names whose installed version to report in RV(packages). Needs O(os_family).
    type: list
    elements: str
    default: []
  accounts:
    description: Return the user accounts (the passwd database, no secrets in it) as the fact C(getent_passwd),
      in the shape M(ansible.builtin.getent) gives it.
    type: bool
    default: false
  units:
    description: systemd units (C(.service) is assumed without a suffix) whose states to report in RV(units).
    type: list
    elements: str
    default: []
  paths:
    description: Files and directories to report in RV(files).
    type: list
    elements: path
    default: []
  read:
    description: Small UTF-8 text files (up to 1 MiB) whose content to return in RV(contents). Never list a secret.
    type: list
    elements: path
    default: []
  list:
    description: Directories whose regular files to name in RV(listings) (no subdirectories, no links).
    type: list
    elements: path
    default: []
  groups:
    description: Groups whose members (the supplementary members the group database lists) to report in RV(groups).
    type: list
    elements: str
    default: []
  default_target:
    description: Report systemd's default target (C(systemctl get-default)) in RV(default_target).
    type: bool
    default: false
notes:
  - The result describes the host at the time of the call. A role that installs a package after the call stops
    trusting it for the rest of the run (see the role's C(_state) variable).
"""

EXAMPLES = r"""
- name: Read the broker's state in one call
  dcvkit.session_manager.host_state:
    os_family: "{{ ansible_facts['os_family'] }}"
    packages: [nice-dcv-session-manager-broker]
    accounts: true
    units: [dcv-session-manager-broker, firewalld, ufw]
    paths:
      - /etc/dcv-session-manager-broker/session-manager-broker.properties
      - /etc/dcv-session-manager-broker/tls
  register: broker_state

- name: Install the properties file; no module runs on the host when the read shows it in place
  dcvkit.session_manager.files:
    host_state: "{{ broker_state }}"
    files:
      - path: /etc/dcv-session-manager-broker/session-manager-broker.properties
        content: "{{ rendered }}"
        owner: root
        group: dcvsmbroker
        mode: "0640"
        secret: true
"""

RETURN = r"""
packages:
  description: Installed version (epoch removed) of each package of O(packages) that is installed.
  returned: always
  type: dict
  sample: {nice-dcv-session-manager-broker: "2025.0.650-1"}
units:
  description: For each unit of O(units), keyed by its systemd Id, its C(active) state and its C(enabled) unit
    file state (empty for a unit systemd does not know).
  returned: always
  type: dict
  sample: {dcv-session-manager-broker.service: {active: active, enabled: enabled}}
files:
  description: For each path of O(paths), C(exists); when it exists also C(type) (C(file), C(directory), C(link),
    C(other)), C(owner), C(group), C(mode) (octal string) and, for a regular file, C(sha1).
  returned: always
  type: dict
  sample: {/etc/dcv/dcv.conf: {exists: true, type: file, owner: root, group: root, mode: "0644", sha1: "4e1243..."}}
contents:
  description: Text of each file of O(read); null when it is missing, unreadable, not UTF-8 or over 1 MiB.
  returned: always
  type: dict
listings:
  description: Sorted names of the regular files in each directory of O(list); null when it is not a directory.
  returned: always
  type: dict
groups:
  description: Members of each group of O(groups); null for a group the host does not have.
  returned: always
  type: dict
  sample: {video: [dcv]}
default_target:
  description: systemd's default target, when O(default_target) is set.
  returned: when O(default_target) is set
  type: str
  sample: graphical.target
ansible_facts:
  description: C(getent_passwd) when O(accounts) is set.
  returned: when O(accounts) is set
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dcvkit.session_manager.plugins.module_utils import host_state


def _packages(module, names):
    if not names:
        return {}
    if not module.params["os_family"]:
        module.fail_json(msg="os_family is required with packages")
    # a package that is not installed is an answer (a non-zero exit, a line on stderr), not an error
    dummy, out, dummy = module.run_command(host_state.VERSION_QUERY[module.params["os_family"]] + list(names))
    return host_state.parse_versions(out)


def _units(module, names):
    if not names:
        return {}
    keys = [host_state.unit_key(name) for name in names]
    rc, out, err = module.run_command(["systemctl", "show", "-p", "Id", "-p", "ActiveState", "-p", "UnitFileState",
                                       "--"] + keys)
    if rc != 0:
        module.fail_json(msg="systemctl show failed (rc %s): %s" % (rc, err.strip()))
    shown = host_state.parse_unit_show(out)
    return dict((key, shown.get(key, {"active": "", "enabled": ""})) for key in keys)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            os_family=dict(type="str", choices=["Debian", "RedHat"]),
            packages=dict(type="list", elements="str", default=[]),
            accounts=dict(type="bool", default=False),
            units=dict(type="list", elements="str", default=[]),
            paths=dict(type="list", elements="path", default=[]),
            read=dict(type="list", elements="path", default=[]),
            list=dict(type="list", elements="path", default=[]),
            groups=dict(type="list", elements="str", default=[]),
            default_target=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result = dict(
        changed=False,
        packages=_packages(module, params["packages"]),
        units=_units(module, params["units"]),
        files=dict((path, host_state.file_state(path)) for path in params["paths"]),
        contents=dict((path, host_state.read_text(path)) for path in params["read"]),
        listings=dict((path, host_state.listing(path)) for path in params["list"]),
        groups=dict((name, host_state.group_members(name)) for name in params["groups"]),
    )
    if params["default_target"]:
        rc, out, err = module.run_command(["systemctl", "get-default"])
        if rc != 0:
            module.fail_json(msg="systemctl get-default failed (rc %s): %s" % (rc, err.strip()))
        result["default_target"] = out.strip()
    if params["accounts"]:
        result["ansible_facts"] = dict(getent_passwd=host_state.passwd_database())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
