# -*- coding: utf-8 -*-
# Copyright: dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""broker_persistence: the JDBC URL the broker connects with, the checks of the persistence variables, which settings
move the brokers' state, and the persistence keys refused through dcv_broker_properties (sm-admin "Configuring broker
persistence")."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dcvkit.session_manager.plugins.filter.broker_persistence import (
    dcv_broker_persistence_moved, dcv_broker_persistence_problems)
from ansible_collections.dcvkit.session_manager.plugins.filter.config_check import dcv_broker_property_problems
from ansible_collections.dcvkit.session_manager.plugins.module_utils.broker_persistence import (
    JdbcUrlError, parse_jdbc_url)

PASSWORD = "Pa55-w0rd-never-shown"


@pytest.mark.parametrize("url, expected", [
    # the guide's form
    ("jdbc:mysql://db.example.internal:3306/dcvsm?createDatabaseIfNotExist=true",
     {"host": "db.example.internal", "port": 3306, "database": "dcvsm", "params": {"createDatabaseIfNotExist": "true"}}),
    # MySQL's port when none is given
    ("jdbc:mysql://db.example.internal/dcvsm", {"host": "db.example.internal", "port": 3306, "database": "dcvsm",
                                                "params": {}}),
    ("jdbc:mysql://10.0.0.9:3307/dcv_sm?useSSL=true&createDatabaseIfNotExist=true",
     {"host": "10.0.0.9", "port": 3307, "database": "dcv_sm",
      "params": {"useSSL": "true", "createDatabaseIfNotExist": "true"}}),
    ("jdbc:mysql://[2001:db8::9]:3306/dcvsm", {"host": "2001:db8::9", "port": 3306, "database": "dcvsm", "params": {}}),
])
def test_jdbc_url(url, expected):
    assert parse_jdbc_url(url) == expected


@pytest.mark.parametrize("url, reason", [
    ("", "is empty"),
    ("mysql://db.example.internal/dcvsm", "does not start with jdbc:mysql://"),
    # the guide writes jdbc:mysql:// for MariaDB too and documents no other scheme
    ("jdbc:mariadb://db.example.internal/dcvsm", "the guide documents no jdbc:mariadb:// URL"),
    ("jdbc:postgresql://db.example.internal/dcvsm", "does not start with jdbc:mysql://"),
    ("jdbc:mysql://db.example.internal:3306", "names no database"),
    ("jdbc:mysql://db.example.internal:3306/", "names no database"),
    ("jdbc:mysql://db.example.internal:3306/?createDatabaseIfNotExist=true", "names no database"),
    ("jdbc:mysql://:3306/dcvsm", "names no database host"),
    ("jdbc:mysql://db.example.internal:port/dcvsm", "has port 'port'"),
    ("jdbc:mysql://db.example.internal:70000/dcvsm", "has port '70000'"),
    ("jdbc:mysql://db one/dcvsm", "is not a host name"),
    ("jdbc:mysql://[db]/dcvsm", "is not an IPv6 address"),
    ("jdbc:mysql://db1.example.internal,db2.example.internal/dcvsm", "names several hosts"),
    ("jdbc:mysql://dcvsm:%s@db.example.internal/dcvsm" % PASSWORD, "carries credentials"),
    ("jdbc:mysql://db.example.internal/dcvsm?password=%s" % PASSWORD, "carries password= in its query"),
    ("jdbc:mysql://db.example.internal/dcvsm?user=dcvsm", "carries user= in its query"),
    ("jdbc:mysql://db.example.internal/dcv/sm", "has database 'dcv/sm'"),
    ("jdbc:mysql://db.example.internal/dcvsm?createDatabaseIfNotExist", "write NAME=VALUE pairs"),
])
def test_jdbc_url_refused(url, reason):
    with pytest.raises(JdbcUrlError, match=reason.replace("?", r"\?")):
        parse_jdbc_url(url)


def settings(**overrides):
    values = {"dcv_broker_persistence": "mysql",
              "dcv_broker_jdbc_url": "jdbc:mysql://db.example.internal:3306/dcvsm?createDatabaseIfNotExist=true",
              "dcv_broker_jdbc_user": "dcvsm", "dcv_broker_jdbc_password": PASSWORD, "dcv_broker_dynamodb_region": "",
              "dcv_broker_dynamodb_table_prefix": "DcvSm-", "dcv_broker_dynamodb_table_rcu": 10,
              "dcv_broker_dynamodb_table_wcu": 10}
    values.update(overrides)
    return values


@pytest.mark.parametrize("overrides, database_host", [
    ({}, "db.example.internal"),
    ({"dcv_broker_jdbc_url": "jdbc:mysql://10.0.0.9/dcvsm"}, "10.0.0.9"),
    ({"dcv_broker_persistence": "none", "dcv_broker_jdbc_url": "", "dcv_broker_jdbc_password": ""}, ""),
    ({"dcv_broker_persistence": "dynamodb", "dcv_broker_dynamodb_region": "eu-west-1"}, ""),
    ({"dcv_broker_persistence": "dynamodb", "dcv_broker_dynamodb_region": "us-gov-west-1",
      "dcv_broker_dynamodb_table_prefix": "cluster.b_2-", "dcv_broker_dynamodb_table_rcu": "5"}, ""),
])
def test_persistence_settings_accepted(overrides, database_host):
    result = dcv_broker_persistence_problems(settings(**overrides))
    assert result["errors"] == []
    assert result["database_host"] == database_host
    assert result["database_host_is_address"] == (database_host == "10.0.0.9")


@pytest.mark.parametrize("overrides, words", [
    ({"dcv_broker_persistence": "postgresql"}, ["dcv_broker_persistence is postgresql", "none", "dynamodb or mysql"]),
    ({"dcv_broker_jdbc_url": ""}, ["dcv_broker_jdbc_url is empty", "jdbc:mysql://HOST[:PORT]/DATABASE[?PARAMS]"]),
    ({"dcv_broker_jdbc_url": "jdbc:mariadb://db.example.internal/dcvsm"},
     ["dcv_broker_jdbc_url jdbc:mariadb://db.example.internal/dcvsm does not start with jdbc:mysql://",
      "e.g. jdbc:mysql://db.example.internal:3306/dcvsm?createDatabaseIfNotExist=true"]),
    ({"dcv_broker_jdbc_url": "jdbc:mysql://dcvsm:%s@db.example.internal/dcvsm" % PASSWORD},
     ["dcv_broker_jdbc_url jdbc:mysql://<hidden>@db.example.internal/dcvsm carries credentials",
      "dcv_broker_jdbc_password"]),
    ({"dcv_broker_jdbc_url": "jdbc:mysql://db.example.internal/dcvsm?password=%s" % PASSWORD},
     ["dcv_broker_jdbc_url jdbc:mysql://db.example.internal/dcvsm?... carries password="]),
    ({"dcv_broker_jdbc_user": ""}, ["dcv_broker_jdbc_user is empty but dcv_broker_persistence is mysql"]),
    ({"dcv_broker_jdbc_password": ""}, ["dcv_broker_jdbc_password is empty but dcv_broker_persistence is mysql",
                                        "Ansible Vault"]),
    ({"dcv_broker_persistence": "dynamodb"}, ["dcv_broker_dynamodb_region is empty but dcv_broker_persistence is "
                                              "dynamodb", "e.g. eu-west-1"]),
    ({"dcv_broker_persistence": "dynamodb", "dcv_broker_dynamodb_region": "Frankfurt"},
     ["dcv_broker_dynamodb_region is Frankfurt", "region code"]),
    ({"dcv_broker_persistence": "dynamodb", "dcv_broker_dynamodb_region": "eu-west-1",
      "dcv_broker_dynamodb_table_prefix": "dcv sm/"},
     ["dcv_broker_dynamodb_table_prefix is 'dcv sm/'", "letters, digits, '.', '-' and '_' only"]),
    ({"dcv_broker_persistence": "dynamodb", "dcv_broker_dynamodb_region": "eu-west-1",
      "dcv_broker_dynamodb_table_rcu": 0}, ["dcv_broker_dynamodb_table_rcu is 0", "at least 1"]),
    ({"dcv_broker_persistence": "dynamodb", "dcv_broker_dynamodb_region": "eu-west-1",
      "dcv_broker_dynamodb_table_wcu": "many"}, ["dcv_broker_dynamodb_table_wcu is many"]),
])
def test_persistence_settings_refused(overrides, words):
    errors = dcv_broker_persistence_problems(settings(**overrides))["errors"]
    assert len(errors) == 1, errors
    for word in words:
        assert word in errors[0], errors[0]
    assert PASSWORD not in errors[0]


PROPERTIES = """enable-persistence = true
persistence-db = mysql
jdbc-connection-url = jdbc:mysql://db.example.internal:3306/dcvsm
jdbc-user = dcvsm
jdbc-password = old-password
client-to-broker-connector-https-port = 8448
"""
MYSQL = {"enable-persistence": True, "persistence-db": "mysql",
         "jdbc-connection-url": "jdbc:mysql://db.example.internal:3306/dcvsm", "jdbc-user": "dcvsm",
         "jdbc-password": "old-password"}


@pytest.mark.parametrize("text, wanted, moved", [
    # nothing installed yet: nothing runs from another store
    ("", MYSQL, []),
    (PROPERTIES, MYSQL, []),
    # a new password or user reaches the same store: each broker restarts on its own
    (PROPERTIES, dict(MYSQL, **{"jdbc-password": "new-password", "jdbc-user": "dcvsm2"}), []),
    (PROPERTIES, dict(MYSQL, **{"jdbc-connection-url": "jdbc:mysql://db2.example.internal:3306/dcvsm"}),
     ["jdbc-connection-url"]),
    # persistence switched on, or off
    ("enable-persistence = false\n", MYSQL, ["enable-persistence", "persistence-db", "jdbc-connection-url"]),
    ("client-to-broker-connector-https-port = 8448\n", MYSQL,
     ["enable-persistence", "persistence-db", "jdbc-connection-url"]),
    (PROPERTIES, {"enable-persistence": False}, ["enable-persistence", "persistence-db", "jdbc-connection-url"]),
    ("enable-persistence = false\n", {"enable-persistence": False}, []),
    # from MySQL to DynamoDB; a new table prefix is another set of tables
    (PROPERTIES, {"enable-persistence": True, "persistence-db": "dynamodb", "dynamodb-region": "eu-west-1",
                  "dynamodb-table-rcu": 10, "dynamodb-table-wcu": 10, "dynamodb-table-name-prefix": "DcvSm-"},
     ["persistence-db", "jdbc-connection-url", "dynamodb-region", "dynamodb-table-name-prefix"]),
    ("enable-persistence = true\npersistence-db = dynamodb\ndynamodb-region = eu-west-1\ndynamodb-table-rcu = 10\n"
     "dynamodb-table-name-prefix = DcvSm-\n",
     {"enable-persistence": True, "persistence-db": "dynamodb", "dynamodb-region": "eu-west-1",
      "dynamodb-table-rcu": 20, "dynamodb-table-name-prefix": "Other-"}, ["dynamodb-table-name-prefix"]),
])
def test_which_settings_move_the_state(text, wanted, moved):
    assert dcv_broker_persistence_moved(text, wanted) == moved


@pytest.mark.parametrize("key, variable", [
    ("enable-persistence", "dcv_broker_persistence"),
    ("persistence-db", "dcv_broker_persistence"),
    ("jdbc-connection-url", "dcv_broker_jdbc_url"),
    ("jdbc-user", "dcv_broker_jdbc_user"),
    ("jdbc-password", "dcv_broker_jdbc_password"),
    ("dynamodb-region", "dcv_broker_dynamodb_region"),
    ("dynamodb-table-rcu", "dcv_broker_dynamodb_table_rcu"),
    ("dynamodb-table-wcu", "dcv_broker_dynamodb_table_wcu"),
    ("dynamodb-table-name-prefix", "dcv_broker_dynamodb_table_prefix"),
])
@pytest.mark.parametrize("source", ["dcv_broker_properties", "dcv_broker_extra_properties"])
def test_persistence_keys_have_one_way_in(key, variable, source):
    args = ({key: PASSWORD}, {}) if source == "dcv_broker_properties" else ({}, {key: PASSWORD})
    errors = dcv_broker_property_problems(*args)["errors"]
    assert errors == ["%s: key '%s' is set by the role from %s; remove it from %s" % (source, key, variable, source)]
