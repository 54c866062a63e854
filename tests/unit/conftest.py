"""Makes `ansible_collections.dcvkit.session_manager` importable for the unit tests.

`make setup` links the repository into .collections/ansible_collections/dcvkit/session_manager; putting
.collections on sys.path lets the tests import the plugins exactly as Ansible does.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "dcvkit", "session_manager")

if not os.path.isdir(LINK):
    raise RuntimeError("%s is missing: run `make setup` (scripts/venv.sh creates it)" % LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

# pylint: disable=wrong-import-position
import pytest  # noqa: E402

from ansible_collections.dcvkit.session_manager.tests.unit.plugins.broker_fixtures.fixtures import (  # noqa: E402
    make_pki,
    running_broker,
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """The lab PKI of the broker tests (broker_fixtures.fixtures.make_pki); a test module may define its own."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def broker(pki):  # pylint: disable=redefined-outer-name
    """A running fake broker with one registered API client."""
    with running_broker(pki) as server:
        yield server
