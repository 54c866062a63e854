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


# The official file names (docs/packages.md), and what rpm -q --qf '%{VERSION}-%{RELEASE}' or dpkg-query
# reports once each is installed: every one is seen as installed in its own version, so a re-run installs nothing.
OFFICIAL = [
    ("nice-dcv-session-manager-broker-2025.0.539-1.amzn2023.noarch.rpm", "nice-dcv-session-manager-broker", "RedHat",
     "2025.0.539-1.amzn2023"),
    ("nice-dcv-session-manager-broker-2025.0.539-1.el9.noarch.rpm", "nice-dcv-session-manager-broker", "RedHat",
     "2025.0.539-1.el9"),
    ("nice-dcv-session-manager-agent-2025.0.886-1.amzn2023.x86_64.rpm", "nice-dcv-session-manager-agent", "RedHat",
     "2025.0.886-1.amzn2023"),
    # the gateway's name has no release; its header says 1.amzn2023
    ("nice-dcv-connection-gateway-2025.0.870.amzn2023.x86_64.rpm", "nice-dcv-connection-gateway", "RedHat",
     "2025.0.870-1.amzn2023"),
    ("nice-dcv-connection-gateway-2025.0.870.el8.x86_64.rpm", "nice-dcv-connection-gateway", "RedHat", "2025.0.870-1.el8"),
    ("nice-dcv-session-manager-broker_2025.0.539-1_all.ubuntu2204.deb", "nice-dcv-session-manager-broker", "Debian",
     "2025.0.539-1"),
    ("nice-dcv-session-manager-agent_2025.0.886-1_amd64.ubuntu2204.deb", "nice-dcv-session-manager-agent", "Debian",
     "2025.0.886-1"),
    ("nice-dcv-connection-gateway_2025.0.870_amd64.ubuntu2204.deb", "nice-dcv-connection-gateway", "Debian",
     "2025.0.870"),
    ("nice-dcv-connection-gateway_2025.0.870_amd64.ubuntu2204.deb", "nice-dcv-connection-gateway", "Debian",
     "2025.0.870-1"),
]


@pytest.mark.parametrize("path,name,family,installed", OFFICIAL, ids=[o[0] + "=" + o[3] for o in OFFICIAL])
def test_official_file_is_seen_installed(path, name, family, installed):
    assert dcv_packages_pending(["c"], {"c": name}, {"c": path}, {name: installed}, family) == []


@pytest.mark.parametrize("path,name,family,installed", [
    # another build, another release (a rebuild) or another distribution: the package manager decides
    ("nice-dcv-connection-gateway-2025.0.870.amzn2023.x86_64.rpm", "nice-dcv-connection-gateway", "RedHat",
     "2025.0.869-1.amzn2023"),
    ("nice-dcv-connection-gateway-2025.0.870.amzn2023.x86_64.rpm", "nice-dcv-connection-gateway", "RedHat",
     "2025.0.870-2.amzn2023"),
    ("nice-dcv-connection-gateway-2025.0.870.amzn2023.x86_64.rpm", "nice-dcv-connection-gateway", "RedHat",
     "2025.0.870-1.el9"),
    ("nice-dcv-connection-gateway-2025.0.870.amzn2023.x86_64.rpm", "nice-dcv-connection-gateway", "RedHat",
     "2025.0.870-11.amzn2023"),
    ("nice-dcv-session-manager-broker-2025.0.539-1.amzn2023.noarch.rpm", "nice-dcv-session-manager-broker", "RedHat",
     "2025.0.539-2.amzn2023"),
    ("nice-dcv-session-manager-broker-2025.0.539-1.amzn2023.noarch.rpm", "nice-dcv-session-manager-broker", "RedHat",
     "2025.0.539-1.1.amzn2023"),
    ("nice-dcv-connection-gateway_2025.0.870_amd64.ubuntu2204.deb", "nice-dcv-connection-gateway", "Debian",
     "2025.0.870-2"),
])
def test_other_version_is_pending(path, name, family, installed):
    assert dcv_packages_pending(["c"], {"c": name}, {"c": path}, {name: installed}, family) == ["c"]


def test_version_match_ignores_epoch_and_needs_both_sides():
    from ansible_collections.dcvkit.session_manager.plugins.filter.packages import dcv_package_version_matches
    assert dcv_package_version_matches("2025.0.870.amzn2023", "1:2025.0.870-1.amzn2023")
    assert not dcv_package_version_matches(None, "2025.0.870-1.amzn2023")
    assert not dcv_package_version_matches("2025.0.870.amzn2023", None)
    assert not dcv_package_version_matches("2025.0.870", "2025.0.871")
