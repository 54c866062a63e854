# -*- coding: utf-8 -*-
"""dcv.conf is the vendor's file with the role's settings merged in: what the role owns changes, every other line
stays, and a file that already holds the settings comes back byte for byte."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_config_formats import (
    ini_merged, ini_pending, ini_problems)

VENDOR = """# Amazon DCV configuration (vendor comments stay)
[license]

[log]
#level="info"

[session-management]
#create-session = false

[connectivity]
#web-port=8443
idle-timeout=60

[security]
#ca-file="..."
"""

ITEMS = [{"section": "session-management", "option": "create-session", "value": "false"},
         {"section": "connectivity", "option": "web-port", "value": "8443"},
         {"section": "connectivity", "option": "enable-quic-frontend", "value": "true"},
         {"section": "connectivity", "option": "idle-timeout", "value": "30"},
         {"section": "security", "option": "ca-file", "value": '"/etc/dcv/ca.pem"'},
         {"section": "clipboard", "option": "primary-selection-copy", "value": "true"},
         {"section": "license", "option": "license-file", "state": "absent"}]
EXPECTED = {"session-management": {"create-session": "false"},
            "connectivity": {"web-port": "8443", "enable-quic-frontend": "true", "idle-timeout": "30"},
            "security": {"ca-file": '"/etc/dcv/ca.pem"'}, "clipboard": {"primary-selection-copy": "true"}}


def test_the_settings_read_back_and_nothing_else_changes():
    merged = ini_merged(VENDOR, ITEMS)
    assert ini_problems(merged, EXPECTED) == []
    assert ini_pending(ITEMS, merged) == []
    assert merged.splitlines() == [
        "# Amazon DCV configuration (vendor comments stay)", "[license]", "", "[log]", '#level="info"', "",
        "[session-management]", "create-session=false", "", "[connectivity]", "web-port=8443", "idle-timeout=30",
        "enable-quic-frontend=true", "", "[security]", 'ca-file="/etc/dcv/ca.pem"', "", "[clipboard]",
        "primary-selection-copy=true"]


def test_a_file_that_holds_the_settings_comes_back_byte_for_byte():
    merged = ini_merged(VENDOR, ITEMS)
    assert ini_merged(merged, ITEMS) == merged
    spaced = merged.replace("web-port=8443", "web-port = 8443")
    assert ini_merged(spaced, ITEMS) == spaced


def test_an_absent_item_removes_every_active_line_of_it_and_a_duplicate_goes():
    text = "[license]\nlicense-file=5053@old\n#license-file=keep me\n[connectivity]\nweb-port=1\nweb-port=2\n"
    merged = ini_merged(text, [ITEMS[1], ITEMS[-1]])
    assert merged == "[license]\n#license-file=keep me\n[connectivity]\nweb-port=8443\n"


@pytest.mark.parametrize("text", ["", None, "[connectivity]"])
def test_an_empty_or_unterminated_file_gets_the_settings(text):
    merged = ini_merged(text, ITEMS[:2])
    assert ini_problems(merged, {"session-management": {"create-session": "false"},
                                 "connectivity": {"web-port": "8443"}}) == []
    assert merged.endswith("\n")
