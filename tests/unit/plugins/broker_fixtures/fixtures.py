# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Building blocks for the broker tests' fixtures: the lab PKI and a running fake broker."""

from __future__ import annotations

import contextlib

from ansible_collections.dcvkit.session_manager.tests.unit.plugins.broker_fixtures.fake_broker import FakeBroker
from ansible_collections.dcvkit.session_manager.tests.unit.plugins.broker_fixtures.pki import TestCa

BROKER_NAME = 'broker.lab.internal'


def make_pki(directory):
    """The lab CA, a broker certificate for 127.0.0.1 and broker.lab.internal, and an unrelated CA."""
    lab_ca = TestCa(str(directory), 'dcvkit lab CA')
    other_ca = TestCa(str(directory), 'some other CA')
    cert_file, key_file = lab_ca.issue_server('broker', dns_names=[BROKER_NAME], ip_addresses=['127.0.0.1'])
    return {'ca_file': lab_ca.cert_file, 'other_ca_file': other_ca.cert_file,
            'cert_file': cert_file, 'key_file': key_file}


@contextlib.contextmanager
def running_broker(pki):
    """A running fake broker with one registered API client (``broker.client_id``/``client_secret``)."""
    with FakeBroker(pki['cert_file'], pki['key_file']) as server:
        server.client_id, server.client_secret = server.state.add_client()
        yield server
