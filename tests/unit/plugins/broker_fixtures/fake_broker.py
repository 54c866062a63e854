# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local HTTPS broker client API for unit tests: OAuth2 client credentials and the session calls.

It follows the documented contract (sm-dev, the Session Manager developer guide) and can misbehave on purpose: tokens revoked
early, sessions that never become READY, refused creations.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


def iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.') + \
        '%03dZ' % (moment.microsecond // 1000)


def make_jwt(claims):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip('=')
    return '%s.%s.%s' % (part({'alg': 'none', 'typ': 'JWT'}), part(claims), 'c2lnbmF0dXJl')


class BrokerState:
    """What the fake broker knows and how it should behave; tests change it directly."""

    def __init__(self):
        self.lock = threading.Lock()
        self.clients = {}                 # client id -> secret
        self.tokens = {}                  # access token -> monotonic expiry
        self.token_lifetime = 3600
        self.reject_every_token = False   # a broker that never accepts a bearer token
        self.token_requests = 0
        self.unauthorized_answers = 0
        self.calls = []                   # (method, path) of every API call, tokens excluded
        self.sessions = {}                # id -> session dict as describeSessions returns it
        self.polls_until_ready = 1        # describeSessions answers CREATING this many times first
        self.never_ready_reason = None    # keep new sessions in CREATING with this StateReason
        self.create_failure_reason = None
        self.requirements = []            # the Requirements of every CreateSessions request, in order
        self.create_requests = []         # every CreateSessions request as the broker received it
        self.connection_token_style = 'jwt'   # 'jwt' (carries exp) or 'opaque'
        self.connection_token_minutes = 60
        self.connection_data_users = []   # the User of every GetSessionConnectionData call, in order
        self.connection_data_refusals = {}   # user -> (HTTP status, error) the broker answers for them
        self.connection_tokens_issued = []   # every ConnectionToken handed out, to look for where they must not be
        self.web_url_path = '/'
        self.page_size = 2                # small pages so NextToken is exercised

    def add_client(self, client_id=None, secret=None):
        client_id = client_id or str(uuid.uuid4())
        secret = secret or uuid.uuid4().hex
        self.clients[client_id] = secret
        return client_id, secret

    def revoke_tokens(self):
        self.tokens.clear()

    def server_info(self, hostname):
        return {
            'Ip': '192.0.2.10',
            'Hostname': hostname,
            'Port': '8443',
            'Endpoints': [
                {'IpAddress': '192.0.2.10', 'Port': 8443, 'Protocol': 'HTTP', 'WebUrlPath': self.web_url_path},
            ],
            'Tags': [],
        }

    def add_session(self, owner, name='desktop', session_type='CONSOLE', state='READY', age_minutes=0,
                    hostname='dcv1.lab.internal', session_id=None, connections=0, disconnected_minutes_ago=None):
        """A session as DescribeSessions returns it (sm-dev "DescribeSessions": NumOfConnections, the active client
        connections; LastDisconnectionTime only once a client has disconnected)."""
        session_id = session_id or str(uuid.uuid4())
        now = datetime.datetime.now(datetime.timezone.utc)
        created = now - datetime.timedelta(minutes=age_minutes)
        self.sessions[session_id] = {
            'Id': session_id, 'Name': name, 'Owner': owner, 'Type': session_type, 'State': state,
            'CreationTime': iso(created), 'Server': self.server_info(hostname), 'NumOfConnections': connections,
            '_polls_left': 0,
        }
        if disconnected_minutes_ago is not None:
            self.sessions[session_id]['LastDisconnectionTime'] = iso(
                now - datetime.timedelta(minutes=disconnected_minutes_ago))
        return session_id


# sm-dev "CreateSessions": the optional request parameters and their documented types
CREATE_FIELD_TYPES = {
    'Requirements': 'string', 'InitFile': 'string', 'AutorunFile': 'string', 'PermissionsFile': 'base64 string',
    'StorageRoot': 'string', 'MaxConcurrents': 'integer', 'DcvGlEnabled': 'boolean', 'EnqueueRequest': 'boolean',
    'DisableRetryOnFailure': 'boolean', 'AutorunFileArguments': 'array of strings',
}


def create_field_problem(request):
    """Why the broker would refuse a CreateSessions request for the type of one of its fields, or None."""
    for key, kind in sorted(CREATE_FIELD_TYPES.items()):
        if key not in request:
            continue
        value = request[key]
        if kind == 'integer':
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind == 'boolean':
            ok = isinstance(value, bool)
        elif kind == 'array of strings':
            ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        else:
            ok = isinstance(value, str)
            if ok and kind == 'base64 string':
                try:
                    base64.b64decode(value.encode('ascii'), validate=True)
                except (ValueError, UnicodeError):
                    ok = False
        if not ok:
            return '%s: expected %s, got %r' % (key, kind, value)
    return None


def public(session):
    return {key: value for key, value in session.items() if not key.startswith('_')}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    state: BrokerState = None

    def log_message(self, format, *args):  # keep pytest output clean
        pass

    def _answer(self, status, payload):
        body = json.dumps(payload).encode() if payload is not None else b''
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        length = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(length) if length else b''
        return json.loads(raw) if raw.strip() else None

    def _authorized(self):
        header = self.headers.get('Authorization') or ''
        if not header.startswith('Bearer '):
            return False
        expiry = self.state.tokens.get(header[len('Bearer '):])
        return not self.state.reject_every_token and expiry is not None and time.monotonic() < expiry

    def _token(self, query):
        state = self.state
        state.token_requests += 1
        self._body()
        if parse_qs(query).get('grant_type') != ['client_credentials']:
            return self._answer(400, {'error': 'unsupported_grant_type'})
        header = self.headers.get('Authorization') or ''
        try:
            client_id, secret = base64.b64decode(header[len('Basic '):]).decode().split(':', 1)
        except (ValueError, UnicodeDecodeError):
            return self._answer(401, {'error': 'invalid_client'})
        if not header.startswith('Basic ') or state.clients.get(client_id) != secret:
            return self._answer(401, {'error': 'invalid_client'})
        token = uuid.uuid4().hex
        state.tokens[token] = time.monotonic() + state.token_lifetime
        return self._answer(200, {'access_token': token, 'token_type': 'bearer',
                                  'expires_in': state.token_lifetime})

    def _route(self, method):
        parts = urlsplit(self.path)
        with self.state.lock:
            if method == 'POST' and parts.path == '/oauth2/token':
                return self._token(parts.query)
            payload = self._body() if method == 'POST' else None
            handler = {
                ('POST', '/createSessions'): self._create,
                ('POST', '/describeSessions'): self._describe,
                ('POST', '/deleteSessions'): self._delete,
                ('POST', '/describeServers'): self._servers,
            }.get((method, parts.path))
            match = re.match(r'^/sessionConnectionData/([^/]+)/([^/]+)$', parts.path)
            if method == 'GET' and match:
                def handler(_payload):
                    return self._connection_data(unquote(match.group(1)), unquote(match.group(2)))
            if handler is None:
                return self._answer(404, {'error': 'Not Found', 'path': parts.path})
            if not self._authorized():
                self.state.unauthorized_answers += 1
                return self._answer(401, {'error': 'Unauthorized'})
            self.state.calls.append((method, parts.path))
            return handler(payload)

    def do_POST(self):
        self._route('POST')

    def do_GET(self):
        self._route('GET')

    def _create(self, payload):
        state = self.state
        successful, unsuccessful = [], []
        for request in payload:
            state.create_requests.append(request)
            reason = state.create_failure_reason or create_field_problem(request)
            if reason:
                unsuccessful.append({'CreateSessionRequestData': request, 'FailureReason': reason})
                continue
            state.requirements.append(request.get('Requirements'))
            hostname = 'dcv1.lab.internal'
            match = re.search(r"server:Hostname\s*=\s*'([^']+)'", request.get('Requirements') or '')
            if match:
                hostname = match.group(1)
            session_id = state.add_session(request['Owner'], request['Name'], request['Type'], 'CREATING',
                                           hostname=hostname)
            session = state.sessions[session_id]
            session['_polls_left'] = state.polls_until_ready
            if state.never_ready_reason:
                session['_polls_left'] = None
                session['Substate'] = 'SESSION_PLACING'
                session['StateReason'] = state.never_ready_reason
            successful.append(public(session))
        self._answer(200, {'RequestId': str(uuid.uuid4()), 'SuccessfulList': successful,
                           'UnsuccessfulList': unsuccessful})

    def _advance(self, session):
        if session['State'] == 'CREATING' and session['_polls_left'] is not None:
            if session['_polls_left'] <= 0:
                session['State'] = 'READY'
            else:
                session['_polls_left'] -= 1

    def _describe(self, payload):
        payload = payload or {}
        wanted = payload.get('SessionIds')
        sessions = [s for s in self.state.sessions.values() if not wanted or s['Id'] in wanted]
        for session in sessions:
            self._advance(session)
        start = int(payload.get('NextToken') or 0)
        page = sessions[start:start + self.state.page_size]
        answer = {'RequestId': str(uuid.uuid4()), 'Sessions': [public(s) for s in page]}
        if start + self.state.page_size < len(sessions):
            answer['NextToken'] = str(start + self.state.page_size)
        self._answer(200, answer)

    def _delete(self, payload):
        successful, unsuccessful = [], []
        for request in payload:
            session = self.state.sessions.get(request['SessionId'])
            if session is None or session['Owner'] != request['Owner']:
                unsuccessful.append({'SessionId': request['SessionId'], 'FailureReason': 'Session not found'})
                continue
            session['State'] = 'DELETED'
            successful.append({'SessionId': request['SessionId'], 'State': 'DELETING'})
        self._answer(200, {'RequestId': str(uuid.uuid4()), 'SuccessfulList': successful,
                           'UnsuccessfulList': unsuccessful})

    def _servers(self, payload):
        self._answer(200, {'RequestId': str(uuid.uuid4()), 'Servers': [self.state.server_info('dcv1.lab.internal')]})

    def _connection_data(self, session_id, user):
        state = self.state
        session = state.sessions.get(session_id)
        if session is None or session['State'] != 'READY':
            return self._answer(404, {'error': 'Session %s not found' % session_id})
        # sm-dev "GetSessionConnectionData": a token for the User asked about, owner or not; the DCV server decides
        # from the session's permissions what that user may do once connected
        state.connection_data_users.append(user)
        if user in state.connection_data_refusals:
            status, error = state.connection_data_refusals[user]
            return self._answer(status, {'error': error})
        if state.connection_token_style == 'jwt':
            expiry = time.time() + state.connection_token_minutes * 60
            token = make_jwt({'sub': user, 'sid': session_id, 'exp': int(expiry)})
        else:
            token = 'opaque+token/' + uuid.uuid4().hex + '='
        state.connection_tokens_issued.append(token)
        self._answer(200, {'Session': public(session), 'ConnectionToken': token})


class FakeBroker:
    """Serve the fake client API on 127.0.0.1 with a given certificate; use as a context manager."""

    def __init__(self, cert_file, key_file, state=None):
        self.state = state or BrokerState()
        handler = type('BoundHandler', (_Handler,), {'state': self.state})
        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), handler)
        self.httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.05})

    def url(self, host='127.0.0.1'):
        return 'https://%s:%d' % (host, self.port)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
