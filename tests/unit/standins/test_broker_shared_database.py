"""Two stand-in brokers on one MySQL database (persistence-db = mysql), as the brokers of a cluster share theirs: a
broker reads its records from the database at every request, never only when it starts, so a session created through
one broker after the other started is described and resolved by both, and still is after the first restarts.

The database is a fake PyMySQL over one shared set of tables that understands exactly the statements of
brokermysql.MySQLStore (each broker gets its own connection, as each broker process has its own); the round trip
through a real MariaDB server, with a broker on each of two hosts, is molecule/verify's test_two_brokers.py. Ignite
clustering between brokers is not modelled (tests/standins/README.md)."""

import base64
import json
import os
import re
import socket
import sys
import threading
import types

import pytest

from dcvstandin import brokercli, common
from dcvstandin.broker import RESOLVER_404, Broker
from dcvstandin.brokermysql import MySQLStore

MYSQL = ("enable-persistence = true\npersistence-db = mysql\n"
         "jdbc-connection-url = jdbc:mysql://db.example.internal:3306/dcvsm?createDatabaseIfNotExist=true\n"
         "jdbc-user = dcvsm\njdbc-password = shared-Pa55\n")


class FakeMySQLError(Exception):
    """Stands in for pymysql.MySQLError."""


class SharedDatabase:
    """Tables every connection sees at once, for the statements MySQLStore sends and nothing else (an unknown
    statement fails the test, so a change of MySQLStore's SQL shows here)."""

    STATEMENTS = [
        (re.compile(r"^CREATE DATABASE IF NOT EXISTS `(\w+)`$"), "create_database"),
        (re.compile(r"^CREATE TABLE IF NOT EXISTS `(\w+)` \(.*\) DEFAULT CHARSET=utf8mb4$", re.S), "create_table"),
        (re.compile(r"^SELECT record FROM `(\w+)` WHERE id = %s$"), "select_one"),
        (re.compile(r"^SELECT id, record FROM `(\w+)` ORDER BY seq$"), "select_all"),
        (re.compile(r"^INSERT INTO `(\w+)` \(id, record\) VALUES \(%s, %s\)"
                    r"( ON DUPLICATE KEY UPDATE record = VALUES\(record\))?$"), "insert"),
        (re.compile(r"^DELETE FROM `(\w+)` WHERE id = %s$"), "delete_one"),
        (re.compile(r"^DELETE FROM `(\w+)`$"), "delete_all"),
    ]

    def __init__(self):
        self.lock = threading.RLock()
        self.databases, self.tables, self.connections = set(), {}, []
        self.seq = 0
        self.selects = 0

    def driver(self):
        """A module with PyMySQL's connect() and MySQLError."""
        def connect(**kwargs):
            connection = FakeConnection(self, kwargs)
            self.connections.append(connection)
            return connection
        return types.SimpleNamespace(connect=connect, MySQLError=FakeMySQLError)

    def execute(self, sql, args):
        for pattern, name in self.STATEMENTS:
            match = pattern.match(sql)
            if match:
                with self.lock:
                    return getattr(self, name)(match, args or ())
        raise AssertionError("statement the fake database does not know: %s" % sql)

    def create_database(self, match, _args):
        self.databases.add(match.group(1))
        return ()

    def create_table(self, match, _args):
        self.tables.setdefault(match.group(1), {})
        return ()

    def select_one(self, match, args):
        self.selects += 1
        row = self.tables[match.group(1)].get(args[0])
        return ((row[1],),) if row else ()

    def select_all(self, match, _args):
        self.selects += 1
        rows = sorted(self.tables[match.group(1)].items(), key=lambda item: item[1][0])
        return tuple((record_id, row[1]) for record_id, row in rows)

    def insert(self, match, args):
        table = self.tables[match.group(1)]
        record_id, record = args
        if record_id in table:
            if not match.group(2):
                raise FakeMySQLError(1062, "Duplicate entry %r for key 'id'" % record_id)
            table[record_id] = (table[record_id][0], record)
        else:
            self.seq += 1
            table[record_id] = (self.seq, record)
        return ()

    def delete_one(self, match, args):
        self.tables[match.group(1)].pop(args[0], None)
        return ()

    def delete_all(self, match, _args):
        self.tables[match.group(1)].clear()
        return ()


class FakeConnection:
    def __init__(self, database, kwargs):
        self.database, self.kwargs, self.closed = database, kwargs, False

    def cursor(self):
        return FakeCursor(self)

    def ping(self, reconnect=False):
        if self.closed and not reconnect:
            raise FakeMySQLError(2006, "MySQL server has gone away")
        self.closed = False

    def begin(self):
        pass

    def commit(self):
        pass

    def rollback(self):
        pass

    def close(self):
        self.closed = True


class FakeCursor:
    def __init__(self, connection):
        self.connection, self.rows = connection, ()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, args=None):
        self.rows = self.connection.database.execute(sql, args)

    def fetchall(self):
        return self.rows


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def database(monkeypatch):
    shared = SharedDatabase()
    monkeypatch.setitem(sys.modules, "pymysql", shared.driver())
    return shared


@pytest.fixture
def make_broker(make_broker, database):
    """The stack's broker (broker 1, the one its agent and gateway talk to) keeps its records in the shared database."""
    return lambda extra="", **kwargs: make_broker(extra=MYSQL + extra, **kwargs)


@pytest.fixture
def second_broker(tmp_path, pki, helpers, database):
    """Broker 2: properties, state directory, log and ports of its own, on the shared database; stopped at the end."""
    directory = tmp_path / "broker-2"
    directory.mkdir()
    ports = {port: free_port() for port in ("client", "agent", "gateway", "cli")}
    path = helpers.write(directory / "broker.properties", helpers.broker_properties(ports, pki, MYSQL), 0o640)
    broker = Broker(path, str(directory), str(directory / "broker.log"), owner_uid=os.getuid(),
                    owner_gid=os.getgid(), hostname="broker-2")
    broker.start()
    yield broker
    broker.stop()


def call(broker, ca, method, path, body=None, token=None, cert=None, port="client"):
    headers = {"Authorization": "Bearer " + token} if token else {}
    status, data, _peer = common.https_request(
        method, "https://localhost:%d%s" % (broker.ports[port], path),
        common.client_context(ca, True, *(cert or (None, None))), body=body, headers=headers)
    return status, (json.loads(data) if data[:1] in (b"{", b"[") else data.decode())


def access_token(broker, ca, client_id, secret):
    basic = base64.b64encode(("%s:%s" % (client_id, secret)).encode()).decode()
    status, data, _peer = common.https_request(
        "POST", "https://localhost:%d/oauth2/token?grant_type=client_credentials" % broker.ports["client"],
        common.client_context(ca), body="", headers={"Authorization": "Basic " + basic})
    assert status == 200, data
    return json.loads(data)["access_token"]


def resolve(broker, ca, client, session_id):
    return call(broker, ca, "POST", "/resolveSession?sessionId=%s&transport=HTTP&clientIpAddress=10.0.0.9" % session_id,
                cert=(client["cert"], client["key"]), port="gateway")


def test_mysql_stores_on_one_database_read_each_others_records(database):
    first = MySQLStore.connect("jdbc:mysql://db:3306/dcvsm?createDatabaseIfNotExist=true", "dcvsm", "pw")
    second = MySQLStore.connect("jdbc:mysql://db:3306/dcvsm", "dcvsm", "pw")
    first.put("sessions", "s1", {"Id": "s1", "State": "CREATING"})
    assert second.get("sessions", "s1") == {"Id": "s1", "State": "CREATING"}
    second.put("sessions", "s1", {"Id": "s1", "State": "READY"})
    second.put("sessions", "s2", {"Id": "s2", "State": "CREATING"})
    assert first.items("sessions") == [("s1", {"Id": "s1", "State": "READY"}),
                                       ("s2", {"Id": "s2", "State": "CREATING"})]
    assert first.delete("sessions", "s2") is True and second.get("sessions", "s2") is None
    second.replace("dns_mappings", [("000000", {"ServerId": "10.0.0.5"})])
    assert first.values("dns_mappings") == [{"ServerId": "10.0.0.5"}]
    assert database.databases == {"dcvsm"} and len(database.connections) == 3  # one to create the database


def test_a_session_created_through_one_broker_is_described_and_resolved_by_the_other(stack, second_broker, capsys,
                                                                                     pki, make_broker):
    """Broker 2 starts before any session exists, so what it answers later it can only have read from the database
    when asked."""
    ca, first, second = stack.ca, stack.broker, second_broker
    assert stack.agent.report_once()
    client_id, secret = register_client(first, capsys)
    token = access_token(first, ca, client_id, secret)
    status, created = call(first, ca, "POST", "/createSessions",
                           [{"Name": "desk", "Owner": stack.user, "Type": "VIRTUAL"}], token)
    assert status == 200 and created["UnsuccessfulList"] == [], created
    session_id = created["SuccessfulList"][0]["Id"]
    assert stack.agent.report_once() and stack.agent.report_once()  # create command run, then the session reported

    # broker 2: its own access token for the client registered through broker 1 (the client is in the database)
    token_2 = access_token(second, ca, client_id, secret)
    _status, described = call(second, ca, "POST", "/describeSessions", {"SessionIds": [session_id]}, token_2)
    assert [(s["Id"], s["State"], s["Server"]["Ip"]) for s in described["Sessions"]] == \
        [(session_id, "READY", "127.0.0.1")]
    client = pki.leaf("main", "gateway-client")
    answers = [resolve(broker, ca, client, session_id) for broker in (first, second)]
    assert answers[0][0] == 200 and answers[0] == answers[1], answers
    assert answers[0][1]["DcvServerEndpoint"] == "127.0.0.1" and answers[0][1]["SessionId"] == session_id

    # broker 1 restarts (its memory is gone): both still resolve the session from the database
    first.stop()
    first = make_broker()
    assert [resolve(broker, ca, client, session_id) for broker in (first, second)] == answers
    # a session deleted through broker 2 is gone for broker 1 as soon as the agent has closed it
    _status, deleted = call(second, ca, "POST", "/deleteSessions", [{"SessionId": session_id, "Owner": stack.user}],
                            token_2)
    assert deleted["SuccessfulList"] == [{"SessionId": session_id, "State": "DELETING"}], deleted
    assert stack.agent.report_once() and stack.agent.report_once()  # the agent gets the close command from broker 1
    assert resolve(first, ca, client, session_id) == (404, RESOLVER_404)
    assert resolve(second, ca, client, session_id) == (404, RESOLVER_404)


def register_client(broker, capsys):
    assert brokercli.main(["--properties", broker.properties_file, "--state-dir", broker.state_dir,
                           "register-api-client", "--client-name", "automation"]) == 0
    lines = capsys.readouterr().out.splitlines()
    return lines[0].split(": ", 1)[1], lines[1].split(": ", 1)[1]


def verify_token(broker, ca, session_id, token):
    """The DCV server's question to a broker's token verifier (agent port): whose token is this?"""
    status, data, _peer = common.https_request(
        "POST", "https://localhost:%d/agent/validate-authentication-token" % broker.ports["agent"],
        common.client_context(ca), body="sessionId=%s&authenticationToken=%s&clientAddress=10.0.0.9" % (session_id, token),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, data
    return data.decode()


def test_a_connection_token_outlives_its_brokers_restart_and_works_through_the_other(stack, second_broker, capsys,
                                                                                     make_broker):
    """sm-admin "Configuring broker persistence": the keys that set up connections with clients persist, so a URL
    handed out before a restart still opens its session, through any broker of the cluster; the database holds the
    token's SHA-256, never the token."""
    ca, first, second = stack.ca, stack.broker, second_broker
    assert stack.agent.report_once()
    client_id, secret = register_client(first, capsys)
    api = access_token(first, ca, client_id, secret)
    _status, created = call(first, ca, "POST", "/createSessions", [{"Name": "desk", "Owner": stack.user,
                                                                    "Type": "VIRTUAL"}], api)
    session_id = created["SuccessfulList"][0]["Id"]
    assert stack.agent.report_once() and stack.agent.report_once()
    status, data = call(first, ca, "GET", "/sessionConnectionData/%s/%s" % (session_id, stack.user), token=api)
    assert status == 200, data
    token = data["ConnectionToken"]
    yes = '<auth result="yes"><username>%s</username></auth>' % stack.user
    assert verify_token(first, ca, session_id, token) == yes
    assert verify_token(second, ca, session_id, token) == yes
    first.stop()
    first = make_broker()
    assert verify_token(first, ca, session_id, token) == yes
    assert 'result="no"' in verify_token(first, ca, session_id, token + "x")
    stored = json.dumps(database_rows(first))
    assert token not in stored and common_hash(token) in stored


def database_rows(broker):
    return broker.store.items("connection_tokens")


def common_hash(token):
    import hashlib
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
