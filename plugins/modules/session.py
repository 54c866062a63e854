#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: session
short_description: Create, reuse, list and delete Amazon DCV sessions through the Session Manager broker
version_added: "0.1.0"
description:
  - Talks to the client API of the DCV Session Manager broker with OAuth2 client credentials
    (C(POST /oauth2/token?grant_type=client_credentials)). The access token is renewed when it expires and
    once more when the broker answers 401.
  - TLS is verified against O(ca_file) and the broker's host name is checked. Nothing turns that off unless
    O(validate_certs=false) is set explicitly.
  - O(state=present) reuses a V(READY) or V(CREATING) session of O(owner) (and O(name), O(type),
    O(server_hostname) when given) or creates one (C(/createSessions)), waits until it is V(READY) and returns
    its ID, its server and a connection token (C(/sessionConnectionData)); with O(viewers), a connection token and
    a browser URL of their own for each viewer too.
  - O(state=absent) deletes sessions (C(/deleteSessions)) chosen by O(session_id), O(owner), O(name) and/or
    O(older_than_minutes), the last one for time-limited access.
  - O(list_only=true) describes the sessions, filtered like O(state=absent), and changes nothing.
  - Uses only the Python standard library, so it runs on any broker host. It runs where the task runs,
    usually the broker host itself, because the broker client port is rarely reachable from elsewhere.
author:
  - dcvkit contributors (@dcvkit)
attributes:
  check_mode:
    support: full
    description: In check mode no session is created or deleted; reads (describe, the owner's connection data) still
      happen. No connection token is fetched for O(viewers).
  diff_mode:
    support: none
    description: No diff is produced.
options:
  state:
    description:
      - V(present) ensures a READY session and returns how to connect; V(absent) deletes sessions.
      - Ignored when O(list_only=true).
    type: str
    choices: [present, absent]
    default: present
  list_only:
    description:
      - Only describe the sessions that match O(owner), O(name), O(session_id), O(server_hostname) and
        O(older_than_minutes); change nothing.
    type: bool
    default: false
  url:
    description:
      - Base URL of the broker client API, for example C(https://broker.example.internal:8443).
      - Mutually exclusive with O(broker_host).
    type: str
  broker_host:
    description:
      - Name of the broker to build C(https://broker_host:port) from. It must be a name the broker's client
        certificate covers.
      - Defaults to the fully qualified name of the host the module runs on.
    type: str
  port:
    description:
      - Broker client port (C(client-to-broker-connector-https-port)); 8448 where a gateway shares the host.
    type: int
    default: 8443
  ca_file:
    description:
      - PEM file with the CA that issued the broker's client port certificate. Without it the system CA store
        is used.
    type: path
  validate_certs:
    description:
      - Verify the broker certificate and its host name. Leave it on; V(false) is for throw-away tests only.
    type: bool
    default: true
  use_proxy:
    description:
      - Honour the E(https_proxy)/E(no_proxy) environment variables.
    type: bool
    default: true
  http_timeout:
    description: Seconds to wait for one answer from the broker.
    type: int
    default: 30
  client_id:
    description: API client ID (from M(dcvkit.session_manager.api_client)).
    type: str
  client_secret:
    description: API client password.
    type: str
  credentials_file:
    description:
      - JSON file written by M(dcvkit.session_manager.api_client) holding C(client_id) and C(client_secret),
        read on the host the module runs on. Use instead of O(client_id) and O(client_secret).
    type: path
  owner:
    description:
      - User the session belongs to. It must exist on the DCV server. Required with O(state=present).
    type: str
  name:
    description:
      - Session name. With O(state=present) only a session with this name is reused; a new session gets this
        name (default C(OWNER-desktop)).
    type: str
  type:
    description: Session type.
    type: str
    choices: [console, virtual]
    default: console
  server_hostname:
    description:
      - Run the session on this DCV server (the requirement C(server:Hostname = 'NAME')); reuse only sessions
        there. NAME is the host name the server's agent reports (C(Hostname) in C(/describeServers)).
    type: str
  requirements:
    description:
      - A CreateSessions C(Requirements) expression that picks the server, for example
        C(tag:pool = 'gpu' and server:Host.Memory.TotalBytes >= 17179869184). With O(server_hostname) both
        must hold; the module sends the server pin, C(and), then this expression in parentheses.
      - Server properties are C(Id), C(Hostname), C(Version), C(SessionManagerAgentVersion) and those under
        C(Host.Os.), C(Host.Memory.), C(Host.Swap.), C(Host.CpuLoadAverage.), C(Host.Aws.) and C(Host.CpuInfo.);
        tags are C(tag:KEY) (from the agent's tags files, C(dcv_agent_tags) of the C(dcv_agent) role).
        Operators C(= != > >= < <= :=), C(and), C(or), C(not) and parentheses.
      - An unknown server property such as C(server:Host.Hostname) is refused before the broker is asked.
      - Only used when a session is created; reuse is decided by O(owner), O(name), O(type) and
        O(server_hostname).
    type: str
  max_concurrents:
    description:
      - The maximum number of concurrent DCV clients of a new session (CreateSessions C(MaxConcurrents)), 1 to 100.
      - Like every CreateSessions option below, only used when a session is created; a reused session keeps what
        it was created with.
    type: int
  init_file:
    description:
      - Script the DCV server runs to initialise a new virtual session (CreateSessions C(InitFile)), as a path
        relative to the agent's C(init_folder) or a file name in it. Virtual sessions only.
    type: str
  autorun_file:
    description:
      - File run inside a new virtual session on behalf of O(owner) when it is created (CreateSessions
        C(AutorunFile)), as a path relative to the agent's C(autorun_folder) or a file name in it. Virtual
        sessions only (Linux DCV servers do not support it in console sessions).
    type: str
  autorun_file_arguments:
    description:
      - Command-line arguments of O(autorun_file), in order (CreateSessions C(AutorunFileArguments)). Needs
        O(autorun_file). The broker limits their number and length (C(autorun-file-arguments-max-size),
        C(autorun-file-arguments-max-argument-length)).
    type: list
    elements: str
  permissions:
    description:
      - Text of a DCV permissions file for a new session (adminguide "Configuring Amazon DCV authorization"); the
        module sends it Base64-encoded as CreateSessions C(PermissionsFile). Without it the server's defaults apply.
    type: str
  dcv_gl_enabled:
    description:
      - Whether a new virtual session uses hardware-based OpenGL (CreateSessions C(DcvGlEnabled)). Virtual sessions
        only. Not sent when omitted.
    type: bool
  enqueue_request:
    description:
      - Queue the creation when the broker cannot fulfil it at once (CreateSessions C(EnqueueRequest); the broker's
        default is false). The module then waits up to O(wait_timeout) for the session to become V(READY).
    type: bool
  storage_root:
    description:
      - Folder used for the new session's storage (CreateSessions C(StorageRoot); adminguide "Enabling session
        storage").
    type: str
  session_id:
    description:
      - With O(state=absent) or O(list_only=true), the session to act on.
      - With O(state=present), a new connection token for this existing session of O(owner); the module fails
        instead of creating a session when it is not V(READY) or V(CREATING).
    type: str
  older_than_minutes:
    description:
      - With O(state=absent) or O(list_only=true), only sessions created more than this many minutes ago
        (time-limited access). Alone with O(state=absent) it applies to every owner.
      - Not valid with O(state=present); delete old sessions in a task before it.
    type: int
  force:
    description: Delete sessions even when they are in use (C(Force) in C(/deleteSessions)).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for a session to become V(READY). On timeout the module fails with the last state and
        the broker's reason.
    type: int
    default: 300
  poll_interval:
    description: Seconds between two looks at a session that is not V(READY) yet.
    type: float
    default: 2.0
  gateway_url:
    description:
      - Public base URL of the Connection Gateway, for example C(https://desktop.example.com:8443). When given,
        RV(browser_url) is returned.
    type: str
  token_duration_minutes:
    description:
      - The broker's C(connect-session-token-duration-minutes), used to tell how long the connection token
        is valid when the token does not carry its own expiry.
    type: int
  deadline_minutes:
    description:
      - With O(state=present), the session's window in minutes. The module records, on the host it runs on, that the
        session is to be deleted this many minutes from now (the file O(deadlines_dir)/SESSION_ID, readable by root
        only, holding an ISO 8601 time). The session expiry timer the C(dcv_broker) role installs on the first broker
        host deletes the session once that time has passed, then removes the record.
      - A reused session gets a new deadline, counted from now. Nothing is written in check mode.
    type: int
  deadlines_dir:
    description:
      - Directory of the deadline records. It must exist when O(deadline_minutes) is given (the C(dcv_broker) role
        creates it, tasks C(session_expiry)).
      - With O(state=absent), the record of each deleted session is removed from it, when the directory exists.
    type: path
    default: /var/lib/dcvkit/session-deadlines
  viewers:
    description:
      - With O(state=present), users besides O(owner) who get a connection token of their own once the session is
        V(READY) (C(/sessionConnectionData) asked once per user), returned in RV(viewer_connections) and, with
        O(gateway_url), as RV(viewer_urls). Each token carries its user's name, so each viewer connects as
        themselves.
      - The broker hands a token out for any user; what a viewer may do, and whether they get in at all, is the
        DCV server's decision when they connect, from the session's permissions (O(permissions) when this run
        creates the session). A reused session keeps the permissions it was created with.
      - User names as the DCV server knows them; the owner is not one of them (RV(connection_token) is the owner's). A
        name given twice counts once. Nothing is fetched for viewers in check mode.
      - The module fails, returning no token at all, when the broker gives no token for one of them.
    type: list
    elements: str
notes:
  - RV(connection_token), RV(browser_url), RV(viewer_urls) and RV(viewer_connections) hold credentials that open the
    desktop. The module never puts them in messages or warnings, but returns them; use C(no_log) on the task, or
    print only what users need.
seealso:
  - module: dcvkit.session_manager.api_client
"""

EXAMPLES = r"""
- name: Open a console session for alice (reused when one is READY)
  dcvkit.session_manager.session:
    broker_host: broker.example.internal
    port: 8448
    ca_file: /etc/dcv-session-manager-broker/ca.pem
    credentials_file: /etc/dcv-session-manager-broker/api-client-dcvkit-automation.json
    owner: alice
    type: console
    server_hostname: dcv1.example.internal
    gateway_url: https://desktop.example.com:8443
    token_duration_minutes: 60
  become: true
  no_log: true
  register: dcv_session

- name: Open a virtual session on a server tagged pool = gpu with at least 16 GiB of memory
  dcvkit.session_manager.session:
    broker_host: broker.example.internal
    port: 8448
    ca_file: /etc/dcv-session-manager-broker/ca.pem
    credentials_file: /etc/dcv-session-manager-broker/api-client-dcvkit-automation.json
    owner: bob
    type: virtual
    requirements: "tag:pool = 'gpu' and server:Host.Memory.TotalBytes >= 17179869184"
  become: true
  no_log: true
  register: dcv_gpu_session

- name: A virtual session that runs an application with arguments, at most two clients, its own permissions
  dcvkit.session_manager.session:
    broker_host: broker.example.internal
    port: 8448
    ca_file: /etc/dcv-session-manager-broker/ca.pem
    credentials_file: /etc/dcv-session-manager-broker/api-client-dcvkit-automation.json
    owner: carol
    type: virtual
    autorun_file: start-cad.sh
    autorun_file_arguments: [--project, bridge]
    max_concurrents: 2
    permissions: "{{ lookup('ansible.builtin.file', 'permissions/carol.txt') }}"
  become: true
  no_log: true
  register: dcv_cad_session

- name: List alice's sessions
  dcvkit.session_manager.session:
    url: https://broker.example.internal:8448
    ca_file: /etc/dcv-session-manager-broker/ca.pem
    client_id: "{{ dcv_api_client.client_id }}"
    client_secret: "{{ dcv_api_client.client_secret }}"
    list_only: true
    owner: alice

- name: Open a session for alice that the broker host's session expiry timer deletes in 90 minutes
  dcvkit.session_manager.session:
    broker_host: broker.example.internal
    port: 8448
    ca_file: /etc/dcv-session-manager-broker/ca.pem
    credentials_file: /etc/dcv-session-manager-broker/api-client-dcvkit-automation.json
    owner: alice
    deadline_minutes: 90
    token_duration_minutes: 60
  become: true
  no_log: true
  register: dcv_window_session

- name: A virtual session bob and carol may only watch, each with a browser URL of their own
  dcvkit.session_manager.session:
    broker_host: broker.example.internal
    port: 8448
    ca_file: /etc/dcv-session-manager-broker/ca.pem
    credentials_file: /etc/dcv-session-manager-broker/api-client-dcvkit-automation.json
    owner: alice
    type: virtual
    permissions: "[permissions]\n%owner% allow builtin\nbob allow display\ncarol allow display\n"
    viewers: [bob, carol]
    gateway_url: https://desktop.example.com:8443
    token_duration_minutes: 60
  become: true
  no_log: true
  register: dcv_shared_session

- name: Delete every session older than eight hours (time-limited access)
  dcvkit.session_manager.session:
    url: https://broker.example.internal:8448
    ca_file: /etc/dcv-session-manager-broker/ca.pem
    credentials_file: /etc/dcv-session-manager-broker/api-client-dcvkit-automation.json
    state: absent
    older_than_minutes: 480
  become: true
"""

RETURN = r"""
session_id:
  description: ID of the session that was reused or created. Empty in check mode when one would be created.
  returned: state=present and not list_only
  type: str
  sample: 3d7a2a5c-6e0b-4f7e-9a43-0f1e2d3c4b5a
created:
  description: Whether this run created the session (or would have, in check mode).
  returned: state=present
  type: bool
session:
  description: The session as the broker describes it (C(Id), C(Name), C(Owner), C(Type), C(State), C(Server), ...).
  returned: state=present
  type: dict
server:
  description: Where the session runs.
  returned: state=present
  type: dict
  contains:
    hostname:
      description: Host name of the DCV server.
      type: str
    ip:
      description: Address of the DCV server.
      type: str
    port:
      description: Port of the server's HTTP (WebSocket) endpoint.
      type: int
    web_url_path:
      description: The server's web URL path (C(/) unless C(web-url-path) is set).
      type: str
    endpoints:
      description: All endpoints the broker reports for the server.
      type: list
      elements: dict
connection_token:
  description:
    - Token that lets the owner open the session through the gateway. B(A credential) that opens the desktop;
      keep it out of logs (C(no_log)).
  returned: state=present and not in check mode before creation
  type: str
connection_token_expires_at:
  description: When the connection token stops working (ISO 8601, UTC), if known.
  returned: state=present
  type: str
  sample: "2026-01-01T12:00:00+00:00"
connection_token_valid_minutes:
  description: Minutes the connection token remains valid from now, if known.
  returned: state=present
  type: int
  sample: 60
connection_token_expiry_source:
  description: Where the expiry comes from, V(token) (its own claim), V(broker_setting) (O(token_duration_minutes)) or V(unknown).
  returned: state=present
  type: str
browser_url:
  description:
    - C(GATEWAY_URL[/WebUrlPath]/?authToken=TOKEN#SESSION_ID). B(Contains the connection token.)
  returned: state=present and O(gateway_url) given
  type: str
sessions:
  description: The sessions that matched (O(list_only=true)), or that were deleted (O(state=absent)).
  returned: list_only or state=absent
  type: list
  elements: dict
deleted:
  description: IDs of the sessions deleted (or that would be, in check mode).
  returned: state=absent
  type: list
  elements: str
deadline:
  description: When the session expiry timer deletes the session (ISO 8601, UTC), as recorded (or as it would be, in
    check mode).
  returned: state=present and O(deadline_minutes) given
  type: str
  sample: "2026-01-01T13:30:00+00:00"
viewer_urls:
  description:
    - For each of O(viewers), by user name, their browser URL
      C(GATEWAY_URL[/WebUrlPath]/?authToken=TOKEN#SESSION_ID) with a connection token of their own.
      B(Each contains a connection token.)
  returned: state=present, O(viewers) and O(gateway_url) given, not in check mode
  type: dict
  sample:
    bob: https://desktop.example.com:8443/?authToken=TOKEN#3d7a2a5c-6e0b-4f7e-9a43-0f1e2d3c4b5a
viewer_connections:
  description:
    - For each of O(viewers), by user name, what the owner gets at the top level of the result, for that viewer
      alone - C(connection_token) (B(a credential)), C(connection_token_expires_at) and
      C(connection_token_valid_minutes) if known, C(connection_token_expiry_source), and C(browser_url) with
      O(gateway_url).
  returned: state=present and O(viewers) given, not in check mode
  type: dict
  sample:
    bob:
      connection_token: TOKEN
      connection_token_expires_at: "2026-01-01T12:00:00+00:00"
      connection_token_valid_minutes: 60
      connection_token_expiry_source: token
      browser_url: https://desktop.example.com:8443/?authToken=TOKEN#3d7a2a5c-6e0b-4f7e-9a43-0f1e2d3c4b5a
"""

import datetime
import os
import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dcvkit.session_manager.plugins.module_utils.broker_api import (
    BrokerApiClient,
    BrokerApiError,
    build_base_url,
)
from ansible_collections.dcvkit.session_manager.plugins.module_utils.broker_credentials import (
    CredentialsError,
    read_file,
)
from ansible_collections.dcvkit.session_manager.plugins.module_utils.broker_sessions import (
    FINAL_FAILURE_STATES,
    SessionNotReady,
    browser_url,
    connection_token_expiry,
    create_session_fields,
    matching_sessions,
    older_than,
    pick_reusable,
    requirements_for,
    requirements_problems,
    server_summary,
    wait_until_ready,
)
from ansible_collections.dcvkit.session_manager.plugins.module_utils import session_deadlines


def credentials(module):
    if not module.params['credentials_file']:
        return module.params['client_id'], module.params['client_secret']
    try:
        stored = read_file(module.params['credentials_file'])
    except CredentialsError as error:
        module.fail_json(msg=str(error))
    if stored is None:
        module.fail_json(msg='credentials_file %s does not exist: register the client first '
                             '(dcvkit.session_manager.api_client)' % module.params['credentials_file'])
    module.no_log_values.add(stored['client_secret'])
    return stored['client_id'], stored['client_secret']


def make_client(module):
    params = module.params
    host = params['broker_host']
    if not params['url'] and not host:
        host = socket.getfqdn()
    try:
        base_url = build_base_url(params['url'], host, params['port'])
    except BrokerApiError as error:
        module.fail_json(msg=str(error))
    client_id, client_secret = credentials(module)
    try:
        return BrokerApiClient(base_url, client_id, client_secret, ca_file=params['ca_file'],
                               validate_certs=params['validate_certs'], timeout=params['http_timeout'],
                               use_proxy=params['use_proxy'])
    except BrokerApiError as error:
        module.fail_json(msg=str(error))


def selected_sessions(module, client):
    params = module.params
    ids = [params['session_id']] if params['session_id'] else None
    found = matching_sessions(client.describe_sessions(ids), owner=params['owner'], name=params['name'],
                              server_hostname=params['server_hostname'])
    if params['session_id']:
        found = [item for item in found if item.get('Id') == params['session_id']]
    if params['older_than_minutes'] is not None:
        now = datetime.datetime.now(datetime.timezone.utc)
        aged = []
        for item in found:
            old = older_than(item, params['older_than_minutes'], now)
            if old is None:
                module.warn('session %s has no readable CreationTime (%r); not treated as old'
                            % (item.get('Id'), item.get('CreationTime')))
            elif old:
                aged.append(item)
        found = aged
    return found


def list_sessions(module, client, result):
    result['sessions'] = selected_sessions(module, client)


def delete_sessions(module, client, result):
    params = module.params
    if not (params['session_id'] or params['owner'] or params['older_than_minutes'] is not None):
        module.fail_json(msg='state=absent needs session_id, owner or older_than_minutes (refusing to delete '
                             'every session)')
    doomed = [item for item in selected_sessions(module, client) if item.get('State') not in FINAL_FAILURE_STATES]
    result['sessions'] = doomed
    result['deleted'] = [item.get('Id') for item in doomed]
    if not doomed:
        return
    result['changed'] = True
    if module.check_mode:
        return
    deleted, refused = client.delete_sessions([(item.get('Id'), item.get('Owner')) for item in doomed],
                                              force=params['force'])
    result['deleted'] = deleted
    forget_deadlines(params['deadlines_dir'], deleted)
    if refused:
        module.fail_json(msg='the broker refused to delete: %s' % '; '.join(
            '%s (%s)' % (sid, reason) for sid, reason in sorted(refused.items())), **result)


def forget_deadlines(directory, session_ids):
    """A deleted session's window has nothing left to end: its deadline record goes with it (when this host keeps
    the records), so the session expiry timer has no stale entry to clear."""
    if not os.path.isdir(directory):
        return
    for session_id in session_ids:
        if session_deadlines.valid_session_id(session_id):
            session_deadlines.remove(directory, session_id)


def connection(module, session_id, token, issued_at, web_url_path):
    """What a user opens the session with: the connection token, how long it works (its expiry, whence that is
    known, the minutes left) and, with gateway_url, the browser URL."""
    expires_at, source = connection_token_expiry(token, issued_at, module.params['token_duration_minutes'])
    opened = {'connection_token': token, 'connection_token_expiry_source': source}
    if expires_at is not None:
        opened['connection_token_expires_at'] = expires_at.replace(microsecond=0).isoformat()
        opened['connection_token_valid_minutes'] = max(0, int((expires_at - issued_at).total_seconds() // 60))
    if module.params['gateway_url']:
        opened['browser_url'] = browser_url(module.params['gateway_url'], session_id, token, web_url_path)
    return opened


def add_connection_data(module, client, session, result):
    params = module.params
    issued_at = datetime.datetime.now(datetime.timezone.utc)
    data = client.get_connection_data(session['Id'], params['owner'])
    token = data.get('ConnectionToken')
    if not token:
        module.fail_json(msg='the broker returned no ConnectionToken for session %s' % session['Id'], **result)
    described = data.get('Session') or {}
    if described.get('Server'):
        result['server'] = server_summary(described)
    result.update(connection(module, session['Id'], token, issued_at, result['server']['web_url_path']))


def fail_without_tokens(module, result, msg, **extra):
    """Fail with what is known about the session but no connection token: a half-served request hands out none."""
    for key in ('connection_token', 'browser_url', 'viewer_urls', 'viewer_connections'):
        result.pop(key, None)
    module.fail_json(msg=msg, **dict(result, **extra))


def add_viewer_connections(module, client, session, result):
    """A connection token per viewer. sm-dev "GetSessionConnectionData" takes the session and a User, any user, not
    only the owner: the token carries that user's name to the DCV server, which lets them in as far as the session's
    permissions allow. Fetched after the owner's, so the owner's result is the same with or without viewers."""
    params = module.params
    connections = {}
    for user in viewer_names(params['viewers']):
        issued_at = datetime.datetime.now(datetime.timezone.utc)
        try:
            data = client.get_connection_data(session['Id'], user)
        except BrokerApiError as error:
            # the broker's answer never holds a token: it is an error, not connection data
            fail_without_tokens(module, result, 'session %s is READY, but the broker gave no connection token for '
                                'viewer %s: %s' % (session['Id'], user, error), status=error.status)
        token = data.get('ConnectionToken')
        if not token:
            fail_without_tokens(module, result, 'session %s is READY, but the broker returned no ConnectionToken for '
                                'viewer %s' % (session['Id'], user))
        connections[user] = connection(module, session['Id'], token, issued_at, result['server']['web_url_path'])
    result['viewer_connections'] = connections
    if params['gateway_url']:
        result['viewer_urls'] = dict((user, item['browser_url']) for user, item in connections.items())


def viewer_names(viewers):
    """The viewers in the order given, blanks dropped, each once."""
    names = []
    for item in viewers or []:
        item = item.strip()
        if item and item not in names:
            names.append(item)
    return names


def viewer_problems(params):
    """Why O(viewers) cannot be served, checked before the broker is asked (None when they can)."""
    if not params['viewers']:
        return None
    if params['state'] != 'present' or params['list_only']:
        return ('viewers get connection tokens for the session state=present opens or reuses; leave it out with '
                'state=absent and list_only')
    if params['owner'] in viewer_names(params['viewers']):
        return ('viewers: %s is the owner of the session, whose connection token is connection_token already; leave '
                'the name out' % params['owner'])
    return None


def record_deadline(module, result):
    """Record when the session's window ends, for the session expiry timer; in check mode only say when."""
    params = module.params
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=params['deadline_minutes'])
    result['deadline'] = session_deadlines.format_deadline(moment)
    result['changed'] = True
    if module.check_mode or not result.get('session_id'):
        return
    try:
        session_deadlines.write(params['deadlines_dir'], result['session_id'], moment)
    except (session_deadlines.DeadlineError, OSError) as error:
        module.fail_json(msg='session %s is READY but its deadline could not be recorded, so nothing would delete it '
                             'at the end of its window: %s' % (result['session_id'], error), **result)


def ensure_session(module, client, result):
    params = module.params
    session_type = params['type'].upper()
    if params['session_id']:
        session = pick_reusable(client.describe_sessions([params['session_id']]), params['owner'])
        if session is None or session.get('Id') != params['session_id']:
            module.fail_json(msg='session %s of %s is not READY or CREATING on the broker (no session is created '
                                 'when session_id is given)' % (params['session_id'], params['owner']))
    else:
        session = pick_reusable(client.describe_sessions(), params['owner'], params['name'], session_type,
                                params['server_hostname'])
    result['created'] = session is None
    if session is None:
        result['changed'] = True
        if module.check_mode:
            result['msg'] = 'a %s session for %s would be created' % (params['type'], params['owner'])
            if params['deadline_minutes'] is not None:
                record_deadline(module, result)
            return
        try:
            requirements = requirements_for(params['server_hostname'], params['requirements'])
        except ValueError as error:
            module.fail_json(msg=str(error))
        fields, _problems = create_session_fields(session_type, params)
        session = client.create_session(params['name'] or '%s-desktop' % params['owner'], params['owner'],
                                        session_type, requirements, fields)
    result['session_id'] = session.get('Id')
    if session.get('State') != 'READY':
        try:
            session = wait_until_ready(client, session['Id'], params['wait_timeout'], params['poll_interval'])
        except SessionNotReady as error:
            result['session'] = error.session or session
            module.fail_json(msg=str(error), **result)
    result['session'] = session
    result['server'] = server_summary(session)
    # before the connection token exists: a failure here never returns a token that opens an unbounded session
    if params['deadline_minutes'] is not None:
        record_deadline(module, result)
    add_connection_data(module, client, session, result)
    # a viewer's token is a credential minted for them: check mode mints none
    if params['viewers'] and not module.check_mode:
        add_viewer_connections(module, client, session, result)


def deadline_problems(module):
    """Why a deadline could not be recorded, checked before any session is created (None when it can)."""
    minutes, directory = module.params['deadline_minutes'], module.params['deadlines_dir']
    if minutes is None:
        return None
    if minutes < 1:
        return 'deadline_minutes is %d: a window is a whole number of minutes, at least 1' % minutes
    if not module.check_mode and not os.path.isdir(directory):
        return ('deadlines_dir %s does not exist, so nothing would delete the session at the end of its window: '
                'install the session expiry timer first (role dcvkit.session_manager.dcv_broker, tasks_from '
                'session_expiry)' % directory)
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='present', choices=['present', 'absent']),
            list_only=dict(type='bool', default=False),
            url=dict(type='str'),
            broker_host=dict(type='str'),
            port=dict(type='int', default=8443),
            ca_file=dict(type='path'),
            validate_certs=dict(type='bool', default=True),
            use_proxy=dict(type='bool', default=True),
            http_timeout=dict(type='int', default=30),
            client_id=dict(type='str'),
            client_secret=dict(type='str', no_log=True),
            credentials_file=dict(type='path'),
            owner=dict(type='str'),
            name=dict(type='str'),
            type=dict(type='str', default='console', choices=['console', 'virtual']),
            server_hostname=dict(type='str'),
            requirements=dict(type='str'),
            session_id=dict(type='str'),
            older_than_minutes=dict(type='int'),
            force=dict(type='bool', default=False),
            wait_timeout=dict(type='int', default=300),
            poll_interval=dict(type='float', default=2.0),
            gateway_url=dict(type='str'),
            token_duration_minutes=dict(type='int', no_log=False),
            deadline_minutes=dict(type='int'),
            deadlines_dir=dict(type='path', default=session_deadlines.DEFAULT_DIRECTORY),
            max_concurrents=dict(type='int'),
            init_file=dict(type='str'),
            autorun_file=dict(type='str'),
            autorun_file_arguments=dict(type='list', elements='str'),
            permissions=dict(type='str'),
            dcv_gl_enabled=dict(type='bool'),
            enqueue_request=dict(type='bool'),
            storage_root=dict(type='str'),
            viewers=dict(type='list', elements='str'),
        ),
        mutually_exclusive=[('url', 'broker_host'), ('credentials_file', 'client_id'),
                            ('credentials_file', 'client_secret')],
        required_together=[('client_id', 'client_secret')],
        required_one_of=[('credentials_file', 'client_id')],

        supports_check_mode=True,
    )
    if module.params['state'] == 'present' and not module.params['list_only']:
        if not module.params['owner']:
            module.fail_json(msg='state=present needs owner (the user the session belongs to)')
        if module.params['older_than_minutes'] is not None:
            module.fail_json(msg='older_than_minutes selects sessions to delete or list: use it with state=absent '
                                 'or list_only=true, in a task before the state=present one')
        problems = requirements_problems(module.params['requirements'])
        if problems:
            module.fail_json(msg='requirements: %s' % '; '.join(problems))
        _fields, problems = create_session_fields(module.params['type'], module.params)
        if problems:
            module.fail_json(msg='; '.join(problems))
        deadline_problem = deadline_problems(module)
        if deadline_problem:
            module.fail_json(msg=deadline_problem)
    elif module.params['deadline_minutes'] is not None:
        module.fail_json(msg='deadline_minutes is the window of a session state=present opens or reuses; leave it out '
                             'with state=absent and list_only')
    viewer_problem = viewer_problems(module.params)
    if viewer_problem:
        module.fail_json(msg=viewer_problem)
    result = dict(changed=False)
    client = make_client(module)
    try:
        if module.params['list_only']:
            list_sessions(module, client, result)
        elif module.params['state'] == 'present':
            ensure_session(module, client, result)
        else:
            delete_sessions(module, client, result)
    except BrokerApiError as error:
        module.fail_json(msg=str(error), status=error.status, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
