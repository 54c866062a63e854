# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the broker keeps its state (dcv_broker_persistence): the checks of the operator's settings, the JDBC URL
the broker connects with, and which settings move the state when they change.

sm-admin "Configuring broker persistence": enable-persistence = true with persistence-db = dynamodb (dynamodb-region,
dynamodb-table-rcu, dynamodb-table-wcu, dynamodb-table-name-prefix) or persistence-db = mysql for MySQL and MariaDB
alike (jdbc-connection-url = jdbc:mysql://<db_endpoint>:<db_port>/<db_name>?createDatabaseIfNotExist=true, jdbc-user,
jdbc-password). No message here ever carries the password.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.dcvkit.session_manager.plugins.module_utils import dcv_config_formats as formats
from ansible_collections.dcvkit.session_manager.plugins.module_utils.pki_names import PkiInputError, check_dns_name

CHOICES = ("none", "dynamodb", "mysql")
URL_FORM = "jdbc:mysql://HOST[:PORT]/DATABASE[?PARAMS]"
URL_EXAMPLE = "jdbc:mysql://db.example.internal:3306/dcvsm?createDatabaseIfNotExist=true"
DEFAULT_PORT = 3306
# sm-admin "Configuring broker persistence": only alphanumeric characters, dot, dash and underscore
_TABLE_PREFIX = re.compile(r"^[A-Za-z0-9._-]+$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
_DATABASE = re.compile(r"^[A-Za-z0-9_$-]{1,64}$")
_PARAM = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*=[^&=\s]*$")
# the query names that would put a credential into a URL the role prints in its messages
_CREDENTIAL_PARAMS = ("user", "password", "password1", "password2", "password3")

# The settings that say where the brokers keep their state: when one of them changes, every broker of a cluster
# stops before any starts (sm-admin "Configuring broker persistence"), so that no broker serves from another store
# than its peers. Credentials and table capacities change how a broker reaches the same store: a broker restarts on
# its own for them.
LOCATION_KEYS = ("enable-persistence", "persistence-db", "jdbc-connection-url", "dynamodb-region",
                 "dynamodb-table-name-prefix")


class JdbcUrlError(ValueError):
    """The URL is not one the broker documents; the message says what to write instead."""


def shown_url(url):
    """The URL as a message may show it: a user@ part and the query could carry credentials."""
    text = str(url)
    base, query = text.split("?", 1) if "?" in text else (text, None)
    base = re.sub(r"^(jdbc:[A-Za-z0-9]+://)[^/]*@", r"\1<hidden>@", base)
    return base + ("?..." if query is not None else "")


def parse_jdbc_url(url):
    """{"host", "port", "database", "params"} of jdbc:mysql://HOST[:PORT]/DATABASE[?PARAMS]; JdbcUrlError otherwise.

    One host, an optional port, one database: the form of sm-admin "Configuring broker persistence". MariaDB is
    reached through jdbc:mysql:// too; other schemes, several hosts and credentials in the URL are refused."""
    text = str(url or "")
    if not text:
        raise JdbcUrlError("is empty")
    scheme, sep, rest = text.partition("://")
    if not sep or scheme != "jdbc:mysql":
        extra = (" (MariaDB too is reached as jdbc:mysql://: the guide documents no jdbc:mariadb:// URL)"
                 if scheme == "jdbc:mariadb" else "")
        raise JdbcUrlError("does not start with jdbc:mysql://%s" % extra)
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        raise JdbcUrlError("carries credentials (user@ or user:password@); give the user in dcv_broker_jdbc_user and "
                           "the password in dcv_broker_jdbc_password")
    if "," in authority:
        raise JdbcUrlError("names several hosts; the broker documents one database host")
    match = re.match(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:]*))(?::(?P<port>[^:]*))?$", authority)
    host = match.group("v6") if match and match.group("v6") is not None else (match.group("host") if match else "")
    if not match or not host:
        raise JdbcUrlError("names no database host")
    if match.group("v6") is not None:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise JdbcUrlError("has [%s], which is not an IPv6 address" % host)
    elif not is_address(host):
        try:
            check_dns_name(host, option="dcv_broker_jdbc_url")
        except PkiInputError:
            raise JdbcUrlError("has %r as its host, which is not a host name or an IPv4 address" % host)
    port = match.group("port")
    if port is not None and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise JdbcUrlError("has port %r; a port is a number from 1 to 65535" % port)
    database, question, query = tail.partition("?")
    if not slash or not database:
        raise JdbcUrlError("names no database (/DATABASE after the host)")
    if not _DATABASE.match(database):
        raise JdbcUrlError("has database %r; use letters, digits, '_', '$' or '-' (at most 64)" % database)
    params = {}
    if question:
        for pair in query.split("&"):
            if not _PARAM.match(pair):
                raise JdbcUrlError("has %r in its query; write NAME=VALUE pairs joined by '&'"
                                   % pair.split("=", 1)[0])
            name, value = pair.split("=", 1)
            if name.lower() in _CREDENTIAL_PARAMS:
                raise JdbcUrlError("carries %s= in its query; give the user in dcv_broker_jdbc_user and the "
                                   "password in dcv_broker_jdbc_password" % name)
            params[name] = value
    return {"host": host, "port": int(port) if port else DEFAULT_PORT, "database": database, "params": params}


def is_address(host):
    try:
        ipaddress.ip_address(str(host))
    except ValueError:
        return False
    return True


def _whole_number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def persistence_problems(settings):
    """{"errors", "database_host", "database_host_is_address"} for the role's persistence variables.

    settings: {variable name: value} of dcv_broker_persistence, dcv_broker_jdbc_url, dcv_broker_jdbc_user,
    dcv_broker_jdbc_password, dcv_broker_dynamodb_region, dcv_broker_dynamodb_table_prefix,
    dcv_broker_dynamodb_table_rcu and dcv_broker_dynamodb_table_wcu. Each error names the variable and the fix."""
    errors = []
    host = ""
    choice = settings.get("dcv_broker_persistence")
    if choice not in CHOICES:
        errors.append("dcv_broker_persistence is %s: set none (memory only), dynamodb or mysql (MySQL and MariaDB)"
                      % choice)
    elif choice == "mysql":
        url = settings.get("dcv_broker_jdbc_url")
        try:
            host = parse_jdbc_url(url)["host"]
        except JdbcUrlError as exc:
            errors.append("dcv_broker_jdbc_url %s: write %s, e.g. %s"
                          % (("%s %s" % (shown_url(url), exc)) if url else exc, URL_FORM, URL_EXAMPLE))
        for variable, what in (("dcv_broker_jdbc_user", "the database user the brokers connect as (jdbc-user)"),
                               ("dcv_broker_jdbc_password", "the password of dcv_broker_jdbc_user (jdbc-password), "
                                                            "kept in Ansible Vault")):
            if not str(settings.get(variable) or "").strip():
                errors.append("%s is empty but dcv_broker_persistence is mysql: set %s" % (variable, what))
    elif choice == "dynamodb":
        region = str(settings.get("dcv_broker_dynamodb_region") or "")
        if not region:
            errors.append("dcv_broker_dynamodb_region is empty but dcv_broker_persistence is dynamodb: set the AWS "
                          "region of the broker's tables (dynamodb-region), e.g. eu-west-1")
        elif not _REGION.match(region):
            errors.append("dcv_broker_dynamodb_region is %s: write an AWS region code such as eu-west-1" % region)
        prefix = str(settings.get("dcv_broker_dynamodb_table_prefix") or "")
        if not _TABLE_PREFIX.match(prefix):
            errors.append("dcv_broker_dynamodb_table_prefix is %r: the prefix of the broker's table names "
                          "(dynamodb-table-name-prefix) takes letters, digits, '.', '-' and '_' only, e.g. DcvSm-"
                          % prefix)
        for variable, what in (("dcv_broker_dynamodb_table_rcu", "read"), ("dcv_broker_dynamodb_table_wcu", "write")):
            number = _whole_number(settings.get(variable))
            if number is None or number < 1:
                errors.append("%s is %s: the %s capacity units of each table must be a whole number of at least 1 "
                              "(the product default is 10)" % (variable, settings.get(variable), what))
    return {"errors": errors, "database_host": host, "database_host_is_address": bool(host) and is_address(host)}


def _text(value):
    if value is None:
        return ""
    return "true" if value is True else "false" if value is False else str(value)


def persistence_moved(properties_text, wanted):
    """The keys of LOCATION_KEYS whose value in the broker's current properties file differs from ``wanted``, the
    persistence properties the role renders now. An empty text (no broker installed yet) moves nothing."""
    if not properties_text:
        return []
    try:
        current, _duplicates = formats.parse_java_properties(properties_text)
    except formats.ConfigFormatError:
        # a file the broker cannot read either: whatever runs now, every persistence setting counts as new
        return list(LOCATION_KEYS)
    defaults = {"enable-persistence": "false"}
    moved = []
    for key in LOCATION_KEYS:
        before = current.get(key, defaults.get(key, ""))
        after = _text((wanted or {}).get(key, defaults.get(key)))
        if before != after:
            moved.append(key)
    return moved
