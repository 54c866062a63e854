# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by the tests of the modules that run the broker CLI."""

from __future__ import annotations

import os

import pytest

from ansible_collections.dcvkit.session_manager.tests.unit.plugins.broker_fixtures.fake_broker_cli import (
    FakeBrokerCli,
)


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """A fake `dcv-session-manager-broker` first on PATH."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    fake = FakeBrokerCli(str(bin_dir))
    monkeypatch.setenv('PATH', '%s:%s' % (bin_dir, os.environ.get('PATH', '/usr/bin:/bin')))
    return fake
