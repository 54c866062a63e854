# -*- coding: utf-8 -*-
"""The preflight's checks as plain functions: what the role tests cannot reach because a role's argument spec refuses
the same input first where the role is entered (site.yml checks every DCV server but the first with these alone)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dcvkit.session_manager.plugins.module_utils.preflight import common, values

GOOD = {"inventory_hostname": "dcv-1", "dcv_allow_unsupported_platform": False, "dcv_common_platform": "Ubuntu 22.04",
        "dcv_common_supported_platforms": ["Ubuntu 22.04"], "dcv_common_platform_refusals": {},
        "dcv_package_source": "download", "dcv_package_dir": "", "dcv_ca_key_type": "rsa",
        "dcv_certificate_valid_days": 397, "dcv_certificate_renew_before_days": 30,
        "ansible_facts": {"distribution": "Ubuntu", "distribution_version": "22.04", "os_family": "Debian"}}


@pytest.mark.parametrize("changes, words", [
    ({}, None),
    ({"dcv_ca_key_type": "dsa"}, ["dcv_ca_key_type is dsa", "rsa or ecdsa"]),
    ({"dcv_package_source": "ftp"}, ["dcv_package_source must be download, control_node or repository (is ftp)"]),
    ({"dcv_package_source": "control_node"}, ["set dcv_package_dir"]),
    ({"dcv_certificate_valid_days": "397"}, None),
    ({"dcv_certificate_valid_days": True}, ["dcv_certificate_valid_days is True"]),
    ({"dcv_certificate_renew_before_days": "-1"}, ["dcv_certificate_renew_before_days is -1"]),
    ({"dcv_common_platform": "Debian 12", "dcv_common_platform_refusals": {"Debian": ": no guide"},
      "ansible_facts": {"distribution": "Debian", "distribution_version": "12.5", "os_family": "Debian"}},
     ["Host dcv-1 runs Debian 12.5, a platform this collection does not support: no guide."]),
    ({"dcv_common_platform": "Debian 12", "dcv_allow_unsupported_platform": "yes"}, None),
])
def test_common_checks(changes, words):
    problems = common.problems(dict(GOOD, **changes))
    if words is None:
        assert problems == []
    else:
        assert len(problems) == 1, problems
        for word in words:
            assert word in problems[0], problems[0]


@pytest.mark.parametrize("value, whole", [(0, True), ("30", True), (-1, False), ("30m", False), (1.5, False),
                                          (True, False), (None, False)])
def test_whole_number_reads_as_jinja_string_match(value, whole):
    assert values.is_whole_number(value) is whole


@pytest.mark.parametrize("value, expected", [(True, True), ("yes", True), ("1", True), ("no", False), ("maybe", False),
                                             (None, False)])
def test_as_bool_reads_as_jinja_bool(value, expected):
    assert values.as_bool(value) is expected
