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
