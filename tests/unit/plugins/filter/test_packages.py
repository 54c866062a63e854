# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dcvkit.session_manager.plugins.filter.packages import (
    dcv_package_file_version,
    dcv_packages_pending,
)

NAMES = {"server": "nice-dcv-server", "xdcv": "nice-xdcv"}


@pytest.mark.parametrize("path,name,family,version", [
    ("/x/nice-dcv-server_2024.0.17979-1_amd64.ubuntu2204.deb", "nice-dcv-server", "Debian", "2024.0.17979-1"),
    ("nice-dcv-connection-gateway_2025.0.870_amd64.deb", "nice-dcv-connection-gateway", "Debian", "2025.0.870"),
    ("nice-dcv-session-manager-broker_2025.0.539-1_all.deb", "nice-dcv-session-manager-broker", "Debian",
     "2025.0.539-1"),
    ("/x/nice-dcv-server-2024.0.17979-1.el9.x86_64.rpm", "nice-dcv-server", "RedHat", "2024.0.17979-1.el9"),
    ("nice-dcv-session-manager-broker-2024.0.504-1.el9.noarch.rpm", "nice-dcv-session-manager-broker", "RedHat",
     "2024.0.504-1.el9"),
    ("other_1.0_amd64.deb", "nice-dcv-server", "Debian", None),
    ("nice-dcv-server.deb", "nice-dcv-server", "Debian", None),
    ("nice-xdcv-1.rpm", "nice-dcv-server", "RedHat", None),
])
def test_file_version(path, name, family, version):
    assert dcv_package_file_version(path, name, family) == version


def test_pending_is_what_is_missing_or_in_another_version():
    files = {"server": "nice-dcv-server_2025.0.1-1_amd64.deb", "xdcv": "nice-xdcv_2025.0.2-1_amd64.deb"}
    assert dcv_packages_pending(["server", "xdcv"], NAMES, files,
                                {"nice-dcv-server": "2025.0.1-1", "nice-xdcv": "2025.0.1-1"}, "Debian") == ["xdcv"]
    assert dcv_packages_pending(["server", "xdcv"], NAMES, files, {}, "Debian") == ["server", "xdcv"]
    assert dcv_packages_pending(["server"], NAMES, files, {"nice-dcv-server": "2025.0.1-1"}, "Debian") == []


def test_unreadable_file_name_is_left_to_the_package_manager():
    assert dcv_packages_pending(["server"], NAMES, {"server": "custom.deb"}, {"nice-dcv-server": "1"},
                                "Debian") == ["server"]


def test_components_installed():
    from ansible_collections.dcvkit.session_manager.plugins.filter.packages import dcv_components_installed
    assert dcv_components_installed(["server", "xdcv"], NAMES, {"nice-xdcv": "1"}) == {"server": False, "xdcv": True}


def test_package_files_in(tmp_path):
    from ansible_collections.dcvkit.session_manager.plugins.filter.packages import dcv_package_files_in
    for name in ("nice-dcv-server_2025.0.1-1_amd64.ubuntu2204.deb", "nice-dcv-server_2025.0.1-1_arm64.deb",
                 "nice-xdcv_2025.0.1-1_amd64.deb", "nice-xdcv_2025.0.2-1_amd64.deb", "notes.txt"):
        (tmp_path / name).write_text("x")
    found = dcv_package_files_in(str(tmp_path), ["server", "xdcv"], NAMES, ["{name}_*_amd64*.deb", "{name}_*_all*.deb"])
    assert [p.rsplit("/", 1)[1] for p in found["server"]] == ["nice-dcv-server_2025.0.1-1_amd64.ubuntu2204.deb"]
    assert len(found["xdcv"]) == 2
    assert dcv_package_files_in(str(tmp_path / "missing"), ["server"], NAMES, ["{name}*"]) == {"server": []}
