# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""session_deadlines: the records session.yml writes and the session expiry program reads; and the broker client the
program imports from its own directory needs nothing beyond the standard library."""

from __future__ import annotations

import ast
import datetime
import os
import stat
import sys

import pytest
import yaml

from ansible_collections.dcvkit.session_manager.plugins.module_utils import session_deadlines

UTC = datetime.timezone.utc
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MODULE_UTILS = os.path.join(ROOT, 'plugins', 'module_utils')
ROLE_VARS = os.path.join(ROOT, 'roles', 'dcv_broker', 'vars', 'main.yml')


def role_vars():
    with open(ROLE_VARS) as handle:
        return yaml.safe_load(handle)


def test_write_then_read_back(tmp_path):
    moment = datetime.datetime(2026, 1, 1, 13, 30, 15, 123456, tzinfo=UTC)
    path = session_deadlines.write(str(tmp_path), 'a1b2-c3', moment)
    assert path == str(tmp_path / 'a1b2-c3')
    assert (tmp_path / 'a1b2-c3').read_text() == '2026-01-01T13:30:15+00:00\n'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert session_deadlines.read_all(str(tmp_path)) == {'a1b2-c3': moment.replace(microsecond=0)}
    assert os.listdir(str(tmp_path)) == ['a1b2-c3']  # no temporary file left


def test_a_new_deadline_replaces_the_old_one(tmp_path):
    session_deadlines.write(str(tmp_path), 's1', datetime.datetime(2026, 1, 1, 10, tzinfo=UTC))
    session_deadlines.write(str(tmp_path), 's1', datetime.datetime(2026, 1, 1, 11, tzinfo=UTC))
    assert session_deadlines.read_all(str(tmp_path)) == {'s1': datetime.datetime(2026, 1, 1, 11, tzinfo=UTC)}


@pytest.mark.parametrize('session_id', ['../etc/passwd', 'a/b', '.hidden', '', None, 'x' * 129, 'a b'])
def test_session_ids_that_are_no_file_names_are_refused(tmp_path, session_id):
    with pytest.raises(session_deadlines.DeadlineError):
        session_deadlines.write(str(tmp_path), session_id, datetime.datetime(2026, 1, 1, tzinfo=UTC))
    assert os.listdir(str(tmp_path)) == []


def test_missing_directory_is_refused(tmp_path):
    with pytest.raises(session_deadlines.DeadlineError, match='does not exist'):
        session_deadlines.write(str(tmp_path / 'none'), 's1', datetime.datetime(2026, 1, 1, tzinfo=UTC))


def test_read_all_skips_what_is_no_record_and_flags_unreadable_ones(tmp_path):
    (tmp_path / 'good').write_text('2026-01-01T12:00:00+01:00\n')
    (tmp_path / 'no-offset').write_text('2026-01-01T12:00:00\n')
    (tmp_path / 'words').write_text('tomorrow\n')
    (tmp_path / '.deadline-tmp123').write_text('2026-01-01T12:00:00+00:00\n')
    (tmp_path / 'a-directory').mkdir()
    records = session_deadlines.read_all(str(tmp_path))
    assert records == {'good': datetime.datetime(2026, 1, 1, 11, 0, tzinfo=UTC), 'no-offset': None, 'words': None}
    assert session_deadlines.read_all(str(tmp_path / 'none')) == {}


def test_remove_is_quiet_when_the_record_is_gone(tmp_path):
    session_deadlines.write(str(tmp_path), 's1', datetime.datetime(2026, 1, 1, tzinfo=UTC))
    session_deadlines.remove(str(tmp_path), 's1')
    session_deadlines.remove(str(tmp_path), 's1')
    assert os.listdir(str(tmp_path)) == []


def test_the_role_and_the_module_agree_on_the_directory():
    variables = role_vars()
    directory = variables['dcv_broker_session_expiry_deadlines_dir'].replace(
        '{{ dcv_broker_session_expiry_state_dir }}', variables['dcv_broker_session_expiry_state_dir'])
    assert directory == session_deadlines.DEFAULT_DIRECTORY


def _imports(path):
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or '').split('.')[0])
    return names - {'__future__'}


@pytest.mark.parametrize('name', role_vars()['dcv_broker_session_expiry_libraries'])
def test_what_the_program_imports_needs_only_the_standard_library(name):
    # the role installs these beside the program on a broker host whose Python has nothing else
    outside = sorted(module for module in _imports(os.path.join(MODULE_UTILS, name))
                     if module not in sys.stdlib_module_names)
    assert outside == [], '%s imports %s' % (name, outside)
