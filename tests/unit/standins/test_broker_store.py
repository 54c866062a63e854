"""The broker stand-in's store: the interface on the in-memory stores, the state file persistence off keeps, and the
refusals of persistence-db = mysql (a fake PyMySQL: the database round trip is proven against a real server in
molecule), each logged with host, port, database and user, never the password."""

import json
import os
import sys
import types

import pytest

from dcvstandin import broker as broker_module
from dcvstandin.brokermysql import parse_jdbc_url
from dcvstandin.brokerstore import KINDS, LocalStore, MemoryStore
from dcvstandin.configformats import ConfigError

PASSWORD = "Pa55-w0rd-never-logged"


@pytest.fixture(params=["memory", "local"])
def store(request, tmp_path):
    return MemoryStore() if request.param == "memory" else LocalStore(str(tmp_path / "standin-state.json"))


# -- the interface -----------------------------------------------------------------------------------------------

def test_records_come_back_in_the_order_first_stored(store):
    store.put("sessions", "b", {"Id": "b", "State": "CREATING"})
    store.put("sessions", "a", {"Id": "a", "State": "CREATING"})
    store.put("sessions", "b", {"Id": "b", "State": "READY"})
    assert store.items("sessions") == [("b", {"Id": "b", "State": "READY"}), ("a", {"Id": "a", "State": "CREATING"})]
    assert store.values("sessions")[0]["State"] == "READY"
    assert store.get("sessions", "a") == {"Id": "a", "State": "CREATING"}
    assert store.get("sessions", "missing") is None


def test_a_change_counts_only_once_it_is_stored(store):
    # the MySQL store hands out copies too: a broker that forgets put() fails here, not only against a database
    store.put("servers", "agent-1", {"Id": "agent-1", "Sessions": []})
    server = store.get("servers", "agent-1")
    server["Sessions"].append({"Id": "s1"})
    assert store.get("servers", "agent-1")["Sessions"] == []
    record = {"Id": "agent-2", "Sessions": []}
    store.put("servers", "agent-2", record)
    record["Sessions"].append({"Id": "s2"})
    assert store.get("servers", "agent-2")["Sessions"] == []
    store.values("servers")[0]["Id"] = "changed"
    assert [record_id for record_id, _record in store.items("servers")] == ["agent-1", "agent-2"]


def test_delete_pop_and_replace(store):
    store.put("commands", "agent-1", {"Commands": [{"Action": "create"}]})
    assert store.pop("commands", "agent-1") == {"Commands": [{"Action": "create"}]}
    assert store.pop("commands", "agent-1") is None
    assert store.delete("commands", "agent-1") is False
    store.put("agent_clients", "x", {"name": "host-b"})
    assert store.delete("agent_clients", "x") is True and store.items("agent_clients") == []
    store.replace("dns_mappings", [("000000", {"ServerId": "10.0.0.5"}), ("000001", {"ServerId": "10.0.0.6"})])
    store.replace("dns_mappings", [("000000", {"ServerId": "10.0.0.7"})])
    assert store.values("dns_mappings") == [{"ServerId": "10.0.0.7"}]


def test_kinds_are_a_closed_list(store):
    assert set(KINDS) == {"sessions", "servers", "commands", "connection_tokens", "api_clients", "agent_clients",
                          "dns_mappings"}
    with pytest.raises(KeyError, match="unknown record kind 'tokens'"):
        store.put("tokens", "t", {})


def test_without_persistence_only_clients_and_mappings_outlive_the_process(tmp_path):
    state_file = str(tmp_path / "standin-state.json")
    first = LocalStore(state_file)
    first.put("api_clients", "c1", {"name": "automation", "secret_sha256": "ab", "active": True})
    first.put("agent_clients", "a1", {"name": "host-b", "secret_sha256": "cd"})
    first.replace("dns_mappings", [("000000", {"ServerIdType": "Ip", "ServerId": "10.0.0.5",
                                               "DnsNames": {"InternalDnsName": "dcv-b.example"}})])
    first.put("sessions", "s1", {"Id": "s1"})
    first.put("servers", "a1", {"Id": "a1"})
    first.put("connection_tokens", "0f" * 32, {"SessionId": "s1", "User": "alice", "Expiry": 2e9})
    # the file keeps the layout the stand-in always wrote, so state left on a host by an older stand-in still loads
    with open(state_file) as handle:
        assert json.load(handle) == {
            "api_clients": {"c1": {"name": "automation", "secret_sha256": "ab", "active": True}},
            "agent_clients": {"a1": {"name": "host-b", "secret_sha256": "cd"}},
            "dns_mappings": [{"ServerIdType": "Ip", "ServerId": "10.0.0.5",
                              "DnsNames": {"InternalDnsName": "dcv-b.example"}}]}
    second = LocalStore(state_file)
    assert second.get("api_clients", "c1")["name"] == "automation"
    assert second.values("dns_mappings")[0]["ServerId"] == "10.0.0.5"
    assert second.items("sessions") == [] and second.items("servers") == []
    # a restart without persistence forgets the connection tokens with the sessions: old URLs open nothing
    assert second.items("connection_tokens") == []


def test_broker_without_persistence_keeps_its_state_as_before(make_broker, tmp_path):
    broker = make_broker()
    assert isinstance(broker.store, LocalStore)
    assert "state: memory (API clients, agent clients and DNS mappings also in" in (tmp_path / "broker.log").read_text()


# -- persistence-db = mysql: what makes the broker refuse to start ------------------------------------------------

class FakeMySQLError(Exception):
    """Stands in for pymysql.MySQLError."""


def fake_pymysql(connect_error=None, execute_error=None):
    """A module with PyMySQL's connect() and MySQLError; records what the stand-in asked of it."""
    calls = []

    class Cursor:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, sql, args=None):
            calls.append(("execute", sql))
            if execute_error:
                raise FakeMySQLError(*execute_error)

        def fetchall(self):
            return ()

    class Connection:
        def cursor(self):
            return Cursor()

        def close(self):
            calls.append(("close",))

    def connect(**kwargs):
        calls.append(("connect", kwargs))
        if connect_error:
            raise FakeMySQLError(*connect_error)
        return Connection()

    return types.SimpleNamespace(connect=connect, MySQLError=FakeMySQLError, calls=calls)


MYSQL = ("enable-persistence = true\npersistence-db = mysql\n"
         "jdbc-connection-url = jdbc:mysql://db.example.internal:3306/dcvsm?createDatabaseIfNotExist=true\n"
         "jdbc-user = dcvsm\njdbc-password = %s\n" % PASSWORD)


def run_broker(tmp_path, ports, pki, helpers, monkeypatch, extra):
    """broker.main() as systemd runs it: its exit code and its log."""
    path = helpers.write(tmp_path / "b.properties", helpers.broker_properties(ports, pki, extra), 0o640)
    log = tmp_path / "b.log"
    original = broker_module.Broker.__init__
    # the properties file belongs to the test user, so the stand-in is told to expect that owner
    monkeypatch.setattr(broker_module.Broker, "__init__", lambda self, *args, **kwargs: original(
        self, *args, **dict(kwargs, owner_uid=os.getuid(), owner_gid=os.getgid())))
    code = broker_module.main(["--properties", path, "--state-dir", str(tmp_path), "--log-file", str(log)])
    return code, log.read_text()


def test_unreachable_database_refuses_start_naming_it_without_the_password(tmp_path, ports, pki, helpers,
                                                                           monkeypatch, capsys):
    driver = fake_pymysql(connect_error=(2003, "Can't connect to MySQL server on 'db.example.internal' "
                                               "([Errno 111] Connection refused)"))
    monkeypatch.setitem(sys.modules, "pymysql", driver)
    code, log = run_broker(tmp_path, ports, pki, helpers, monkeypatch, MYSQL)
    assert code == 1
    assert ("refusing to start: persistence-db = mysql: cannot use the database db.example.internal:3306/dcvsm (host "
            "db.example.internal, port 3306, database dcvsm) as user dcvsm: (2003, \"Can't connect to MySQL server on "
            "'db.example.internal' ([Errno 111] Connection refused)\")") in log
    assert PASSWORD not in log and PASSWORD not in capsys.readouterr().err
    # createDatabaseIfNotExist=true: the first connection names no database, so that it can create it
    connect = [call[1] for call in driver.calls if call[0] == "connect"]
    assert connect == [dict(host="db.example.internal", port=3306, user="dcvsm", password=PASSWORD, database=None,
                            charset="utf8mb4", autocommit=True, connect_timeout=10)]
    # no port was bound: nothing answers for a broker that has no state to serve
    assert "started; listening" not in log


def test_a_driver_error_that_echoes_the_password_is_hidden(tmp_path, ports, pki, helpers, monkeypatch):
    monkeypatch.setitem(sys.modules, "pymysql", fake_pymysql(connect_error=(1045, "login with %s refused" % PASSWORD)))
    code, log = run_broker(tmp_path, ports, pki, helpers, monkeypatch, MYSQL)
    assert code == 1 and "(1045, 'login with <hidden> refused')" in log and PASSWORD not in log


def test_tables_that_cannot_be_created_refuse_start(tmp_path, ports, pki, helpers, monkeypatch):
    driver = fake_pymysql(execute_error=(1142, "CREATE command denied to user 'dcvsm'@'10.0.0.4'"))
    monkeypatch.setitem(sys.modules, "pymysql", driver)
    code, log = run_broker(tmp_path, ports, pki, helpers, monkeypatch,
                           MYSQL.replace("?createDatabaseIfNotExist=true", ""))
    assert code == 1
    assert "as user dcvsm: (1142, \"CREATE command denied to user 'dcvsm'@'10.0.0.4'\")" in log
    assert driver.calls[0][1]["database"] == "dcvsm"
    assert driver.calls[1][1].startswith("CREATE TABLE IF NOT EXISTS `dcvsm_standin_sessions` (")
    assert PASSWORD not in log


def test_missing_driver_refuses_start(tmp_path, ports, pki, helpers, monkeypatch):
    monkeypatch.setitem(sys.modules, "pymysql", None)  # import pymysql raises ImportError
    code, log = run_broker(tmp_path, ports, pki, helpers, monkeypatch, MYSQL)
    assert code == 1 and "the Python module pymysql is missing (Debian package python3-pymysql" in log


@pytest.mark.parametrize("extra, message", [
    ("enable-persistence = true\n", "enable-persistence = true needs persistence-db = dynamodb or mysql"),
    ("enable-persistence = true\npersistence-db = postgresql\n", "not postgresql"),
    (MYSQL.replace("jdbc-user = dcvsm\n", ""), "persistence-db = mysql needs jdbc-user"),
    (MYSQL.replace("jdbc:mysql://", "jdbc:mariadb://"),
     "jdbc-connection-url = jdbc:mariadb://db.example.internal:3306/dcvsm?... is not jdbc:mysql://HOST[:PORT]/DATABASE"),
])
def test_persistence_settings_the_stand_in_refuses(tmp_path, ports, pki, helpers, monkeypatch, extra, message):
    monkeypatch.setitem(sys.modules, "pymysql", fake_pymysql(connect_error=(2003, "not reached")))
    code, log = run_broker(tmp_path, ports, pki, helpers, monkeypatch, extra)
    assert code == 1 and message in log and PASSWORD not in log and "not reached" not in log


@pytest.mark.parametrize("url, expected", [
    ("jdbc:mysql://db.example.internal:3306/dcvsm?createDatabaseIfNotExist=true",
     {"host": "db.example.internal", "port": 3306, "database": "dcvsm", "params": {"createDatabaseIfNotExist": "true"}}),
    ("jdbc:mysql://10.0.0.9/dcvsm", {"host": "10.0.0.9", "port": 3306, "database": "dcvsm", "params": {}}),
    ("jdbc:mysql://[2001:db8::9]:3307/dcvsm", {"host": "2001:db8::9", "port": 3307, "database": "dcvsm", "params": {}}),
])
def test_jdbc_url(url, expected):
    assert parse_jdbc_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://db/dcvsm", "jdbc:mysql://db", "jdbc:mysql://db:3306/", "jdbc:mysql://db:0/x",
                                 "jdbc:mysql://user:pw@db/dcvsm", ""])
def test_jdbc_url_refused(url):
    with pytest.raises(ConfigError, match="is not jdbc:mysql://HOST|out of range") as refused:
        parse_jdbc_url(url)
    assert "pw" not in str(refused.value)
