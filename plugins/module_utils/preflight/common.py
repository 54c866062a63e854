# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks every host of the stack gets (role dcv_common): its platform, the package source and the PKI settings.
They run before anything on a host or the control node changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dcvkit.session_manager.plugins.module_utils.preflight.values import (
    as_bool, is_whole_number, text)

NEEDS = ("dcv_allow_unsupported_platform", "dcv_common_platform", "dcv_common_supported_platforms",
         "dcv_common_platform_refusals", "dcv_package_source", "dcv_package_dir", "dcv_ca_key_type",
         "dcv_certificate_valid_days", "dcv_certificate_renew_before_days")

PACKAGE_SOURCES = ("download", "control_node", "repository")
OS_FAMILIES = ("Debian", "RedHat")
# the choices of dcvkit.session_manager.ca
CA_KEY_TYPES = ("rsa", "ecdsa")


def _platform(v, facts):
    # Only platforms the AWS guides list and this collection knows the package builds of (dcv_common_download_files:
    # amzn2023, el8, el9, ubuntu2204, ubuntu2404). sm-admin "Amazon DCV Session Manager requirements" lists for the
    # broker and the agent Amazon Linux 2 and 2023, RHEL 8.x and 9.x, Rocky Linux 8.5+ and 9.x, Ubuntu 22.04 and
    # 24.04 (and older or other systems) and never Debian; the gateway has its own "System requirements" page in
    # gw-admin ("What is Amazon DCV Connection Gateway?"). Amazon Linux 2 reaches its end of support on 2026-06-30
    # and has packages of its own (.el7 builds, an amzn2 server bundle, agent build 801): refused rather than guessed.
    if as_bool(v["dcv_allow_unsupported_platform"]) or v["dcv_common_platform"] in v["dcv_common_supported_platforms"]:
        return []
    refusals = v["dcv_common_platform_refusals"]
    why = refusals.get(v["dcv_common_platform"], refusals.get(facts.get("distribution"), ""))
    return ["Host %s runs %s %s, a platform this collection does not support%s. Supported: Amazon Linux 2023, RHEL, "
            "Rocky Linux and AlmaLinux 8 and 9, Ubuntu 22.04 and 24.04. To deploy on it anyway, at your own risk, set "
            "dcv_allow_unsupported_platform: true for this host."
            % (v["inventory_hostname"], facts.get("distribution"), facts.get("distribution_version"), why)]


def _package_source(v, facts):
    source = v["dcv_package_source"]
    if (source in PACKAGE_SOURCES and (source != "control_node" or len(v["dcv_package_dir"] or "") > 0)
            and facts.get("os_family") in OS_FAMILIES):
        return []
    return ["dcv_package_source must be download, control_node or repository (is %s); with control_node set "
            "dcv_package_dir to a directory of package files on the control node. Supported OS families: Debian, "
            "RedHat (this host: %s)." % (text(source), facts.get("os_family"))]


def _pki(v):
    problems = []
    if v["dcv_ca_key_type"] not in CA_KEY_TYPES:
        problems.append("dcv_ca_key_type is %s: the collection's CA key is rsa or ecdsa (the choices of "
                        "dcvkit.session_manager.ca); set one of them (default rsa)." % text(v["dcv_ca_key_type"]))
    valid, renew = v["dcv_certificate_valid_days"], v["dcv_certificate_renew_before_days"]
    if not (is_whole_number(valid) and int(valid) >= 1):
        problems.append("dcv_certificate_valid_days is %s: host certificates must be valid for at least 1 day; set a "
                        "whole number of days (default 397)." % text(valid))
    elif not (is_whole_number(renew) and int(renew) < int(valid)):
        # a certificate is reissued once it expires within the renewal window
        problems.append("dcv_certificate_renew_before_days is %s but dcv_certificate_valid_days is %s: a certificate is "
                        "reissued once it expires within the renewal window, so a window as long as the validity "
                        "would reissue every certificate (and restart every service) on every run. Set "
                        "dcv_certificate_renew_before_days to a whole number of days smaller than "
                        "dcv_certificate_valid_days (default 30)." % (text(renew), text(valid)))
    return problems


def problems(v):
    facts = v.get("ansible_facts") or {}
    return _platform(v, facts) + _package_source(v, facts) + _pki(v)
