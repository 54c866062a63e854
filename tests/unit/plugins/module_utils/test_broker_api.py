# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""broker_api against a local HTTPS broker: OAuth2 token life cycle, TLS checks, errors."""

from __future__ import annotations

import socketserver
import threading
import time

import pytest

from ansible_collections.dcvkit.session_manager.plugins.module_utils.broker_api import (
    BrokerApiClient,
    BrokerApiError,
    BrokerAuthError,
    BrokerTlsError,
    build_base_url,
)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def client_for(broker, pki, clock=None, **overrides):
    options = dict(base_url=broker.url(), client_id=broker.client_id, client_secret=broker.client_secret,
                   ca_file=pki['ca_file'], use_proxy=False, clock=clock)
    options.update(overrides)
    return BrokerApiClient(**options)


def test_token_is_fetched_once_and_reused(broker, pki):
    client = client_for(broker, pki)
    assert client.describe_sessions() == []
    assert client.describe_sessions() == []
    assert broker.state.token_requests == 1
    assert broker.state.unauthorized_answers == 0


def test_expired_token_is_renewed_before_the_call(broker, pki):
    clock = FakeClock()
    broker.state.token_lifetime = 600
    client = client_for(broker, pki, clock=clock)
    client.describe_sessions()
    clock.now += 599  # inside the renewal margin: the token would expire during the call
    client.describe_sessions()
    assert broker.state.token_requests == 2
    assert broker.state.unauthorized_answers == 0  # renewed proactively, never refused


def test_token_with_real_short_lifetime_is_renewed(broker, pki):
    broker.state.token_lifetime = 1
    client = client_for(broker, pki)
    client.describe_sessions()
    time.sleep(1.1)  # the broker now refuses the first token
    client.describe_sessions()
    assert broker.state.token_requests == 2
    assert broker.state.unauthorized_answers == 0


def test_token_revoked_early_gets_401_then_renewed(broker, pki):
    client = client_for(broker, pki)
    client.describe_sessions()
    broker.state.revoke_tokens()  # the broker forgot the token although its lifetime is not over
    assert client.describe_sessions() == []
    assert broker.state.unauthorized_answers == 1
    assert broker.state.token_requests == 2


def test_401_after_renewal_is_final(broker, pki):
    broker.state.reject_every_token = True
    client = client_for(broker, pki)
    with pytest.raises(BrokerAuthError) as failure:
        client.describe_sessions()
    assert failure.value.status == 401
    assert broker.state.token_requests == 2  # one renewal, no loop
    assert broker.state.unauthorized_answers == 2


def test_wrong_client_secret_is_refused_with_advice(broker, pki):
    client = client_for(broker, pki, client_secret='not-the-secret')
    with pytest.raises(BrokerAuthError) as failure:
        client.describe_sessions()
    assert failure.value.status == 401
    assert 'api_client' in str(failure.value)
    assert 'not-the-secret' not in str(failure.value)


def test_404_for_an_unknown_session(broker, pki):
    client = client_for(broker, pki)
    with pytest.raises(BrokerApiError) as failure:
        client.get_connection_data('no-such-session', 'alice')
    assert failure.value.status == 404
    assert '404' in str(failure.value) and 'sessionConnectionData' in str(failure.value)


def test_404_for_a_wrong_base_path(broker, pki):
    client = client_for(broker, pki, base_url=broker.url() + '/api')
    with pytest.raises(BrokerApiError) as failure:
        client.describe_sessions()
    assert failure.value.status == 404


def test_host_name_not_in_certificate_is_refused(broker, pki):
    client = client_for(broker, pki, base_url=broker.url('localhost'))
    with pytest.raises(BrokerTlsError) as failure:
        client.describe_sessions()
    assert "does not cover the name 'localhost'" in str(failure.value)
    assert broker.state.token_requests == 0  # the credentials never left the client


def test_certificate_from_another_ca_is_refused(broker, pki):
    client = client_for(broker, pki, ca_file=pki['other_ca_file'])
    with pytest.raises(BrokerTlsError) as failure:
        client.describe_sessions()
    assert 'not signed by the CA in ca_file' in str(failure.value)
    assert broker.state.token_requests == 0


def test_system_store_does_not_trust_the_lab_ca(broker, pki):
    client = client_for(broker, pki, ca_file=None)
    with pytest.raises(BrokerTlsError):
        client.describe_sessions()


def test_ca_file_that_is_not_pem_is_a_clear_error(broker, pki, tmp_path):
    not_pem = tmp_path / 'ca.pem'
    not_pem.write_text('not a certificate')
    with pytest.raises(BrokerTlsError) as failure:
        client_for(broker, pki, ca_file=str(not_pem))
    assert 'cannot load ca_file %s' % not_pem in str(failure.value)


def test_validate_certs_false_is_an_explicit_opt_out(broker, pki):
    client = client_for(broker, pki, base_url=broker.url('localhost'), ca_file=None, validate_certs=False)
    assert client.describe_sessions() == []


def test_nothing_listening_is_a_clear_error(pki):
    client = BrokerApiClient('https://127.0.0.1:1', 'id', 'secret', ca_file=pki['ca_file'], use_proxy=False)
    with pytest.raises(BrokerApiError) as failure:
        client.describe_sessions()
    assert 'cannot reach the broker client API at https://127.0.0.1:1' in str(failure.value)


def test_describe_sessions_follows_next_token(broker, pki):
    ids = {broker.state.add_session('user%d' % number) for number in range(5)}
    client = client_for(broker, pki)
    assert {session['Id'] for session in client.describe_sessions()} == ids
    assert broker.state.calls.count(('POST', '/describeSessions')) == 3  # page size 2


def test_create_session_failure_carries_the_broker_reason(broker, pki):
    broker.state.create_failure_reason = 'The requested user does not exist on the DCV server'
    client = client_for(broker, pki)
    with pytest.raises(BrokerApiError) as failure:
        client.create_session('desk', 'ghost', 'CONSOLE')
    assert 'The requested user does not exist' in str(failure.value)


def test_delete_sessions_reports_refusals(broker, pki):
    session_id = broker.state.add_session('alice')
    client = client_for(broker, pki)
    deleted, refused = client.delete_sessions([(session_id, 'alice'), ('missing', 'bob')])
    assert deleted == [session_id]
    assert refused == {'missing': 'Session not found'}


@pytest.mark.parametrize('url, host, port, expected', [
    ('https://b.example:8448/', None, None, 'https://b.example:8448'),
    (None, 'b.example', 8443, 'https://b.example:8443'),
    (None, '::1', 8448, 'https://[::1]:8448'),
])
def test_build_base_url(url, host, port, expected):
    assert build_base_url(url, host, port) == expected


def test_build_base_url_refuses_plain_http():
    with pytest.raises(BrokerApiError):
        build_base_url('http://b.example:8443')


class _ProxyDemandingCredentials(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.recv(4096)
        self.request.sendall(b'HTTP/1.1 407 Proxy Authentication Required\r\n'
                             b'Proxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\n\r\n')


def test_a_proxy_asking_for_credentials_is_named_as_such(broker, pki, monkeypatch):
    proxy = socketserver.ThreadingTCPServer(('127.0.0.1', 0), _ProxyDemandingCredentials)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        for name in ('no_proxy', 'NO_PROXY'):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv('https_proxy', 'http://127.0.0.1:%d' % proxy.server_address[1])
        client = client_for(broker, pki, use_proxy=True)
        with pytest.raises(BrokerApiError) as failure:
            client.describe_sessions()
        assert failure.value.status == 407
        assert 'an HTTP proxy refused the tunnel' in str(failure.value) and 'no_proxy' in str(failure.value)
        assert broker.state.token_requests == 0
        assert client_for(broker, pki, use_proxy=False).describe_sessions() == []  # the way around it
    finally:
        proxy.shutdown()
        proxy.server_close()
