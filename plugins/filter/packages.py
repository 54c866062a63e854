# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which DCV package files still need installing on a host.

A re-run must not copy every package to every host and ask apt or dnf about it: that is most of the cost of a
run that changes nothing. Module host_state reads the installed versions on the host, in the role's one read;
these filters compare them with the versions in the package file names on the control node.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os

from ansible_collections.dcvkit.session_manager.plugins.module_utils import host_state


def dcv_package_file_version(path, package_name, os_family):
    """The version in a package file name: NAME_VERSION_ARCH[.DIST].deb or NAME-VERSION-RELEASE.ARCH.rpm."""
    base = os.path.basename(path)
    if os_family == "Debian":
        parts = base.split("_")
        return parts[1] if len(parts) >= 3 and parts[0] == package_name else None
    prefix = package_name + "-"
    if not (base.startswith(prefix) and base.endswith(".rpm")):
        return None
    rest = base[len(prefix):-len(".rpm")]
    return rest.rsplit(".", 1)[0] if "." in rest else None  # drop the architecture


def dcv_package_version_matches(file_version, installed_version):
    """True when the package installed in ``installed_version`` is the one a file name carries in ``file_version``.

    Both sides use what the product's file name carries. rpm and dpkg report VERSION-RELEASE (rpm with the
    distribution tag inside the release: 2025.0.539-1.amzn2023); most official file names carry the same. The
    Connection Gateway's names carry no release (nice-dcv-connection-gateway-2025.0.870.amzn2023.x86_64.rpm,
    nice-dcv-connection-gateway_2025.0.870_amd64.ubuntu2204.deb) while its RPM header says release
    1.amzn2023. So a file name without a release matches an installed release 1: VERSION-1.DIST reads as
    VERSION.DIST, and VERSION-1 as VERSION. The RPM header itself cannot be read on the control node (no rpm
    there); any other release (a rebuild, -2) counts as a different version and the package manager decides.
    """
    if installed_version is None or file_version is None:
        return False
    file_version = host_state.strip_epoch(file_version)
    installed_version = host_state.strip_epoch(installed_version)
    if installed_version == file_version:
        return True
    version, separator, release = installed_version.rpartition("-")
    if not separator:
        return False
    if release == "1":
        return version == file_version
    return release.startswith("1.") and version + release[1:] == file_version


def dcv_package_files_in(directory, components, package_names, patterns):
    """{component: [matching file paths]} in ``directory`` on the control node.

    ``patterns`` are fnmatch patterns with ``{name}`` for the package name. A filter rather than a find task:
    it runs where the files are, without a task per host and run.
    """
    try:
        entries = sorted(os.listdir(directory))
    except OSError:
        entries = []
    found = {}
    for component in components:
        name = package_names[component]
        wanted = [pattern.format(name=name) for pattern in patterns]
        found[component] = [os.path.join(directory, entry) for entry in entries
                            if any(fnmatch.fnmatchcase(entry, pattern) for pattern in wanted)]
    return found


def dcv_components_installed(components, package_names, installed):
    """{component: True when its package is installed in any version}."""
    return dict((component, package_names[component] in installed) for component in components)


def dcv_packages_pending(components, package_names, files, installed, os_family):
    """The components whose package is missing or installed in another version than the file's.

    A file name whose version cannot be read counts as pending: the package manager decides then.
    """
    pending = []
    for component in components:
        name = package_names[component]
        wanted = dcv_package_file_version(files[component], name, os_family)
        if not dcv_package_version_matches(wanted, installed.get(name)):
            pending.append(component)
    return pending


class FilterModule(object):
    def filters(self):
        return {
            "dcv_components_installed": dcv_components_installed,
            "dcv_package_files_in": dcv_package_files_in,
            "dcv_packages_pending": dcv_packages_pending,
        }
