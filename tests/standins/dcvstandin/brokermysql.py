# TEST DOUBLE: part of the dcvkit test stand-ins for the Amazon DCV packages (tests/standins).
# Not Amazon software; used only by the collection's tests and lab.
"""The broker stand-in's MySQL/MariaDB store (``enable-persistence = true``, ``persistence-db = mysql``).

sm-admin "Configuring broker persistence": ``jdbc-connection-url = jdbc:mysql://<db_endpoint>:<db_port>/<db_name>
?createDatabaseIfNotExist=true`` with ``jdbc-user`` and ``jdbc-password``; MariaDB is reached the same way. The real
broker's schema is not documented: the stand-in keeps one table of its own per record kind (``dcvsm_standin_*``),
each row an id and the record as JSON, and creates them when they are missing. It talks to the database through
PyMySQL (Debian package python3-pymysql), imported only when this store is used. Nothing here ever writes the
password to a message.
"""

import json
import re
import threading
import urllib.parse

from dcvstandin.brokerstore import KINDS, Store, StoreError, _check_kind
from dcvstandin.configformats import ConfigError

DEFAULT_PORT = 3306  # MySQL Connector/J's port when the URL names none
TABLE_PREFIX = "dcvsm_standin_"
CONNECT_TIMEOUT_SECONDS = 10
_JDBC_URL = re.compile(r"^jdbc:mysql://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(?P<port>[0-9]{1,5}))?"
                       r"/(?P<database>[A-Za-z0-9_$-]+)(?:\?(?P<query>[^#]*))?$")


def _without_query(url):
    """The URL as it may appear in a message: a query or a user@ part could carry credentials."""
    text = re.sub(r"//[^/]*@", "//<hidden>@", str(url).split("?", 1)[0])
    return text + ("?..." if "?" in str(url) else "")


def parse_jdbc_url(url):
    """{"host", "port", "database", "params"} of jdbc:mysql://HOST[:PORT]/DATABASE[?PARAMS]; ConfigError otherwise."""
    match = _JDBC_URL.match(str(url or ""))
    if not match:
        raise ConfigError("jdbc-connection-url = %s is not jdbc:mysql://HOST[:PORT]/DATABASE[?PARAMS] (sm-admin "
                          "\"Configuring broker persistence\")" % _without_query(url))
    port = int(match.group("port") or DEFAULT_PORT)
    if not 1 <= port <= 65535:
        raise ConfigError("jdbc-connection-url = %s: port %d is out of range" % (_without_query(url), port))
    params = dict(urllib.parse.parse_qsl(match.group("query") or "", keep_blank_values=True))
    return {"host": match.group("host").strip("[]"), "port": port, "database": match.group("database"),
            "params": params}


def _hide(text, secret):
    return text.replace(secret, "<hidden>") if secret else text


class MySQLStore(Store):
    """Records in MySQL/MariaDB tables, one per kind; every call asks the database (brokers sharing it see one
    another's records)."""

    def __init__(self, connection, target, driver):
        self._connection = connection
        self._driver = driver
        self._lock = threading.RLock()
        self.description = "MySQL database %s, tables %s*" % (target, TABLE_PREFIX)

    @classmethod
    def connect(cls, url, user, password, driver=None, logger=None):
        """Connect, create the database when the URL asks for it (createDatabaseIfNotExist=true) and the tables
        when they are missing. ConfigError, naming host, port, database and user, when it cannot."""
        parsed = parse_jdbc_url(url)
        if not user:
            raise ConfigError("persistence-db = mysql needs jdbc-user (the database user; sm-admin \"Configuring "
                              "broker persistence\")")
        if driver is None:
            try:
                import pymysql as driver  # pylint: disable=import-outside-toplevel
            except ImportError:
                raise ConfigError("persistence-db = mysql: the Python module pymysql is missing (Debian package "
                                  "python3-pymysql; the stand-in broker package does not depend on it: install it on this host)")
        target = "%s:%d/%s" % (parsed["host"], parsed["port"], parsed["database"])
        create = parsed["params"].get("createDatabaseIfNotExist", "").lower() == "true"
        ignored = sorted(key for key in parsed["params"] if key != "createDatabaseIfNotExist")
        if ignored and logger:
            logger.info("jdbc-connection-url parameters not modelled by the stand-in: %s", ", ".join(ignored))

        def open_connection(database):
            return driver.connect(host=parsed["host"], port=parsed["port"], user=user, password=password or "",
                                  database=database, charset="utf8mb4", autocommit=True,
                                  connect_timeout=CONNECT_TIMEOUT_SECONDS)

        try:
            if create:
                # what the JDBC driver does with createDatabaseIfNotExist=true; the connection the store keeps names
                # the database, so that a reconnect comes back to it
                server = cls(open_connection(None), target, driver)
                server._execute("CREATE DATABASE IF NOT EXISTS `%s`" % parsed["database"])
                server.close()
            store = cls(open_connection(parsed["database"]), target, driver)
            store._create_tables()
        except driver.MySQLError as exc:
            raise ConfigError("persistence-db = mysql: cannot use the database %s (host %s, port %d, database %s) as "
                              "user %s: %s" % (target, parsed["host"], parsed["port"], parsed["database"], user,
                                               _hide(str(exc), password)))
        return store

    # -- SQL ----------------------------------------------------------------------------------
    @staticmethod
    def table(kind):
        _check_kind(kind)
        return "`%s%s`" % (TABLE_PREFIX, kind)

    def _create_tables(self):
        for kind in KINDS:
            # seq keeps the order records were first stored (describe-api-clients, DNS mappings as a list)
            self._execute("CREATE TABLE IF NOT EXISTS %s (seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
                          "id VARCHAR(191) NOT NULL, record LONGTEXT NOT NULL, UNIQUE KEY id (id)) "
                          "DEFAULT CHARSET=utf8mb4" % self.table(kind))

    def _execute(self, sql, args=None, fetch=False):
        with self._lock:
            with self._connection.cursor() as cursor:
                cursor.execute(sql, args)
                return cursor.fetchall() if fetch else None

    def _call(self, sql, args=None, fetch=False):
        try:
            # a connection the server closed while idle is opened again
            self._connection.ping(reconnect=True)
            return self._execute(sql, args, fetch)
        except self._driver.MySQLError as exc:
            raise StoreError("%s: %s" % (self.description, exc))

    # -- the interface ------------------------------------------------------------------------
    def get(self, kind, record_id):
        rows = self._call("SELECT record FROM %s WHERE id = %%s" % self.table(kind), (record_id,), fetch=True)
        return json.loads(rows[0][0]) if rows else None

    def put(self, kind, record_id, record):
        self._call("INSERT INTO %s (id, record) VALUES (%%s, %%s) ON DUPLICATE KEY UPDATE record = VALUES(record)"
                   % self.table(kind), (record_id, json.dumps(record, sort_keys=True)))

    def delete(self, kind, record_id):
        existed = self.get(kind, record_id) is not None
        self._call("DELETE FROM %s WHERE id = %%s" % self.table(kind), (record_id,))
        return existed

    def items(self, kind):
        rows = self._call("SELECT id, record FROM %s ORDER BY seq" % self.table(kind), fetch=True)
        return [(row[0], json.loads(row[1])) for row in rows]

    def replace(self, kind, records):
        with self._lock:
            try:
                self._connection.ping(reconnect=True)
                self._connection.begin()
                self._execute("DELETE FROM %s" % self.table(kind))
                for record_id, record in records:
                    self._execute("INSERT INTO %s (id, record) VALUES (%%s, %%s)" % self.table(kind),
                                  (record_id, json.dumps(record, sort_keys=True)))
                self._connection.commit()
            except self._driver.MySQLError as exc:
                try:
                    self._connection.rollback()
                except self._driver.MySQLError:
                    pass
                raise StoreError("%s: %s" % (self.description, exc))

    def close(self):
        try:
            self._connection.close()
        except self._driver.MySQLError:
            pass
