# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Client for the DCV Session Manager broker's client API.

OAuth2 client credentials against ``/oauth2/token``, then JSON calls with a bearer token.
Standard library only (urllib, ssl): the modules run on broker hosts whose Python has nothing else.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import re
import socket
import ssl
import time

from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlsplit
from urllib.request import HTTPRedirectHandler, HTTPSHandler, ProxyHandler, Request, build_opener

# OpenSSL verify codes that get their own explanation (X509_V_ERR_*).
_HOSTNAME_MISMATCH = 62
_UNTRUSTED_ISSUER_CODES = (2, 18, 19, 20, 21)
_EXPIRED_CODES = (9, 10)

# Renew a token this long before the broker says it expires, so a call never races the expiry.
_MAX_RENEWAL_MARGIN_SECONDS = 30

_BODY_EXCERPT_CHARS = 300

# http.client reports a refused CONNECT as "Tunnel connection failed: 407 Proxy Authentication Required".
_PROXY_TUNNEL_REFUSED = re.compile(r'Tunnel connection failed: (\d{3}[^\r\n]*)')


class BrokerApiError(Exception):
    """A broker call failed; ``str()`` says why and, where known, what to do."""

    def __init__(self, message, status=None, body=None):
        super(BrokerApiError, self).__init__(message)
        self.status = status
        self.body = body


class BrokerTlsError(BrokerApiError):
    """The TLS handshake with the broker failed (untrusted issuer, wrong host name, ...)."""


class BrokerAuthError(BrokerApiError):
    """The broker refused the client credentials or the access token."""


class _RefuseRedirects(HTTPRedirectHandler):
    # A redirect would carry the bearer token (or turn a POST into a GET) somewhere unplanned.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def build_base_url(url=None, host=None, port=None):
    """Return ``https://host:port`` from either a full URL or a host and a port."""
    if url:
        base = url.rstrip('/')
        if not base.lower().startswith('https://'):
            raise BrokerApiError('url must start with https:// (the client API is TLS only), got %r' % url)
        return base
    if not host:
        raise BrokerApiError('either url or broker_host is required')
    if ':' in host and not host.startswith('['):
        host = '[%s]' % host  # IPv6 literal
    return 'https://%s:%d' % (host, int(port))


def make_tls_context(ca_file=None, validate_certs=True):
    """TLS context that verifies the chain against ``ca_file`` and checks the host name."""
    if not validate_certs:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        context = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    except (ssl.SSLError, OSError) as error:
        raise BrokerTlsError('cannot load ca_file %s as PEM CA certificates: %s' % (ca_file, error))
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _excerpt(raw):
    if raw is None:
        return ''
    if isinstance(raw, bytes):
        raw = raw.decode('utf-8', 'replace')
    raw = raw.strip()
    if len(raw) > _BODY_EXCERPT_CHARS:
        raw = raw[:_BODY_EXCERPT_CHARS] + '...'
    return raw


def describe_tls_failure(error, host, ca_file):
    """Explain a certificate verification failure in terms of what to fix."""
    code = getattr(error, 'verify_code', None)
    detail = getattr(error, 'verify_message', None) or str(error)
    trust = ('the CA in ca_file %s' % ca_file) if ca_file else 'the system CA store (no ca_file given)'
    if code == _HOSTNAME_MISMATCH:
        return ('TLS: the broker certificate does not cover the name %r (%s); use a name that is in the '
                'certificate SAN, or reissue the broker certificate with this name' % (host, detail))
    if code in _UNTRUSTED_ISSUER_CODES:
        return ('TLS: the broker certificate is not signed by %s (%s); point ca_file at the CA that '
                'issued the broker key stores, or install the broker identity from that CA' % (trust, detail))
    if code in _EXPIRED_CODES:
        return 'TLS: the broker certificate is expired or not yet valid (%s); check clocks and renew it' % detail
    return 'TLS verification of the broker at %s failed against %s: %s' % (host, trust, detail)


class BrokerApiClient(object):
    """Calls the broker's client API; obtains and renews the OAuth2 access token by itself."""

    def __init__(self, base_url, client_id, client_secret, ca_file=None, validate_certs=True,
                 timeout=30, use_proxy=True, clock=None):
        self.base_url = base_url.rstrip('/')
        self.host = urlsplit(self.base_url).hostname
        self.ca_file = ca_file
        self.timeout = timeout
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock or time.monotonic
        self._access_token = None
        self._renew_at = None
        self.token_requests = 0
        handlers = [HTTPSHandler(context=make_tls_context(ca_file, validate_certs)), _RefuseRedirects()]
        if not use_proxy:
            handlers.append(ProxyHandler({}))
        self._opener = build_opener(*handlers)

    # -- transport ---------------------------------------------------------------------------------

    def _send(self, method, path, headers, body):
        """Return (status, raw body); HTTP errors come back as a status, transport errors raise."""
        request = Request(self.base_url + path, data=body, headers=headers, method=method)
        try:
            response = self._opener.open(request, timeout=self.timeout)
            try:
                return response.status, response.read()
            finally:
                response.close()
        except HTTPError as error:
            try:
                return error.code, error.read()
            finally:
                error.close()
        except URLError as error:
            reason = error.reason
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise BrokerTlsError(describe_tls_failure(reason, self.host, self.ca_file))
            if isinstance(reason, ssl.SSLError):
                raise BrokerTlsError('TLS handshake with the broker at %s failed: %s' % (self.base_url, reason))
            proxy_status = _PROXY_TUNNEL_REFUSED.search(str(reason))
            if proxy_status:
                # Only a forward proxy answers HTTP here: the broker, an NLB or PrivateLink never send 407.
                raise BrokerApiError(
                    'an HTTP proxy refused the tunnel to %s with %s (not a network or broker failure): add the '
                    'broker name to no_proxy/NO_PROXY or set use_proxy=false' % (self.base_url, proxy_status.group(1)),
                    status=int(proxy_status.group(1).split()[0]))
            raise BrokerApiError('cannot reach the broker client API at %s: %s (is the broker running and '
                                 'is this its client port?)' % (self.base_url, reason))
        except ssl.SSLCertVerificationError as error:
            raise BrokerTlsError(describe_tls_failure(error, self.host, self.ca_file))
        except ssl.SSLError as error:
            raise BrokerTlsError('TLS handshake with the broker at %s failed: %s' % (self.base_url, error))
        except (socket.timeout, OSError) as error:
            raise BrokerApiError('no answer from the broker client API at %s: %s' % (self.base_url, error))

    # -- OAuth2 ------------------------------------------------------------------------------------

    def _fetch_token(self):
        pair = ('%s:%s' % (self._client_id, self._client_secret)).encode('utf-8')
        headers = {
            'Authorization': 'Basic ' + base64.b64encode(pair).decode('ascii'),
            'Content-Type': 'application/x-www-form-urlencoded',
            'Accept': 'application/json',
        }
        self.token_requests += 1
        issued_at = self._clock()
        status, raw = self._send('POST', '/oauth2/token?grant_type=client_credentials', headers, b'')
        if status in (400, 401, 403):
            raise BrokerAuthError(
                'the broker refused the API client credentials (HTTP %d on /oauth2/token) for client_id %r: '
                'register the client again (dcvkit.session_manager.api_client) or fix client_id/client_secret'
                % (status, self._client_id), status=status, body=_excerpt(raw))
        if status == 404:
            raise BrokerApiError('no token endpoint at %s/oauth2/token (HTTP 404): the url must be the broker '
                                 'client port with no path, and the broker must run with '
                                 'enable-authorization-server = true' % self.base_url, status=status,
                                 body=_excerpt(raw))
        if status != 200:
            raise BrokerApiError('token request failed with HTTP %d: %s' % (status, _excerpt(raw)),
                                 status=status, body=_excerpt(raw))
        try:
            answer = json.loads(raw.decode('utf-8'))
            token = answer['access_token']
        except (ValueError, KeyError, TypeError, AttributeError):
            raise BrokerApiError('the token endpoint answered without an access_token: %s' % _excerpt(raw))
        self._access_token = token
        self._renew_at = None
        lifetime = answer.get('expires_in')
        try:
            lifetime = float(lifetime)
        except (TypeError, ValueError):
            lifetime = None  # unknown lifetime: renew only when the broker answers 401
        if lifetime is not None:
            margin = min(_MAX_RENEWAL_MARGIN_SECONDS, lifetime / 10.0)
            self._renew_at = issued_at + lifetime - margin
        return token

    def _current_token(self):
        if self._access_token is None or (self._renew_at is not None and self._clock() >= self._renew_at):
            return self._fetch_token()
        return self._access_token

    def forget_token(self):
        self._access_token = None
        self._renew_at = None

    # -- API ---------------------------------------------------------------------------------------

    def call(self, method, path, payload=None):
        """Authenticated JSON call; one token renewal on 401, then the error is final."""
        body = None if payload is None else json.dumps(payload).encode('utf-8')
        for attempt in (1, 2):
            headers = {'Authorization': 'Bearer ' + self._current_token(), 'Accept': 'application/json'}
            if body is not None:
                headers['Content-Type'] = 'application/json'
            status, raw = self._send(method, path, headers, body)
            if status == 401 and attempt == 1:
                self.forget_token()  # expired or revoked early: the broker decides, not our clock
                continue
            break
        if status == 401:
            raise BrokerAuthError('the broker refused a freshly issued access token for %s %s (HTTP 401): %s'
                                  % (method, path, _excerpt(raw)), status=status, body=_excerpt(raw))
        if status == 404:
            raise BrokerApiError('the broker answered 404 Not Found for %s %s: %s'
                                 % (method, path, _excerpt(raw) or 'no body'), status=status, body=_excerpt(raw))
        if status < 200 or status >= 300:
            raise BrokerApiError('the broker answered HTTP %d for %s %s: %s'
                                 % (status, method, path, _excerpt(raw)), status=status, body=_excerpt(raw))
        if not raw or not raw.strip():
            return {}
        try:
            return json.loads(raw.decode('utf-8'))
        except ValueError:
            raise BrokerApiError('the broker answered %s %s with something that is not JSON: %s'
                                 % (method, path, _excerpt(raw)), status=status, body=_excerpt(raw))

    def describe_sessions(self, session_ids=None):
        """All sessions the broker knows (following NextToken), or only the given ids."""
        sessions = []
        request = {}
        if session_ids:
            request['SessionIds'] = list(session_ids)
        seen_tokens = set()
        while True:
            answer = self.call('POST', '/describeSessions', request)
            sessions.extend(answer.get('Sessions') or [])
            next_token = answer.get('NextToken')
            if not next_token or next_token in seen_tokens:
                return sessions
            seen_tokens.add(next_token)
            request['NextToken'] = next_token

    def describe_servers(self):
        servers = []
        request = {}
        seen_tokens = set()
        while True:
            answer = self.call('POST', '/describeServers', request)
            servers.extend(answer.get('Servers') or [])
            next_token = answer.get('NextToken')
            if not next_token or next_token in seen_tokens:
                return servers
            seen_tokens.add(next_token)
            request['NextToken'] = next_token

    def create_session(self, name, owner, session_type, requirements=None, fields=None):
        """Create one session; return its description or raise with the broker's reason. ``fields`` are further
        CreateSessions request parameters (MaxConcurrents, InitFile, ...), sent as given."""
        request = dict(fields or {})
        request.update({'Name': name, 'Owner': owner, 'Type': session_type})
        if requirements:
            request['Requirements'] = requirements
        answer = self.call('POST', '/createSessions', [request])
        created = answer.get('SuccessfulList') or []
        if created:
            return created[0]
        failures = answer.get('UnsuccessfulList') or []
        reasons = [failure.get('FailureReason') or json.dumps(failure, sort_keys=True) for failure in failures]
        raise BrokerApiError('the broker did not create the session for %s: %s'
                             % (owner, '; '.join(reasons) or 'no reason given (empty answer)'))

    def delete_sessions(self, sessions, force=False):
        """Delete ``[(session_id, owner), ...]``; return (deleted ids, {id: reason} refused)."""
        if not sessions:
            return [], {}
        request = [{'SessionId': sid, 'Owner': owner, 'Force': bool(force)} for sid, owner in sessions]
        answer = self.call('POST', '/deleteSessions', request)
        deleted = [item.get('SessionId') for item in answer.get('SuccessfulList') or []]
        refused = {}
        for item in answer.get('UnsuccessfulList') or []:
            refused[item.get('SessionId')] = item.get('FailureReason') or 'no reason given'
        return deleted, refused

    def get_connection_data(self, session_id, user):
        path = '/sessionConnectionData/%s/%s' % (quote(session_id, safe=''), quote(user, safe=''))
        return self.call('GET', path)
