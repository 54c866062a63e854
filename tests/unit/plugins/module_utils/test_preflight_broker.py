# -*- coding: utf-8 -*-
"""The broker's preflight checks as plain functions: each refusal is the message the role printed, word for word, when
these checks were assert tasks; good input passes; a broker property the collection does not know is a warning; and no
message ever carries the database password."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_catalog import broker_property_problems
from ansible_collections.dcvkit.session_manager.plugins.module_utils.preflight import broker

ROLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))), "roles", "dcv_broker")
PASSWORD = "Pa55-w0rd-never-shown"
GOOD = {"inventory_hostname": "broker-1", "dcv_wiring": {"broker_hosts": ["broker-1"]}, "dcv_broker_properties": {},
        "dcv_broker_extra_properties": {}, "dcv_broker_heap_size": "", "dcv_broker_persistence": "none",
        "dcv_broker_jdbc_url": "", "dcv_broker_jdbc_user": "", "dcv_broker_jdbc_password": "",
        "dcv_broker_dynamodb_region": "", "dcv_broker_dynamodb_table_prefix": "DcvSm-",
        "dcv_broker_dynamodb_table_rcu": 10, "dcv_broker_dynamodb_table_wcu": 10,
        "dcv_broker_connect_session_token_minutes": 60, "dcv_session_max_age_minutes": 0,
        "dcv_session_idle_minutes": 0, "dcv_broker_session_expiry_python": "/usr/bin/python3",
        "dcv_broker_java_home": "auto"}
MYSQL = {"dcv_broker_persistence": "mysql", "dcv_broker_jdbc_url": "jdbc:mysql://db.example.internal:3306/dcvsm",
         "dcv_broker_jdbc_user": "dcvsm", "dcv_broker_jdbc_password": PASSWORD}


def role_file(*parts):
    with open(os.path.join(ROLE, *parts)) as handle:
        return yaml.safe_load(handle)


SPEC = role_file("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]


def spec_errors(variables):
    """What the preflight action's validation of the role's argument spec says of these variables."""
    arguments = dict((name, value) for name, value in variables.items() if name in SPEC)
    return list(ArgumentSpecValidator(SPEC).validate(arguments, validate_role_argument_spec=True).error_messages)


def check(changes):
    warnings = []
    problems = broker.problems(dict(GOOD, **changes), warnings.append)
    return problems, warnings


def test_the_checks_read_only_what_they_need():
    assert sorted(set(GOOD) - set(["inventory_hostname"])) == sorted(broker.NEEDS)


@pytest.mark.parametrize("changes", [
    {},
    MYSQL,
    {"dcv_broker_persistence": "dynamodb", "dcv_broker_dynamodb_region": "eu-west-1"},
    {"dcv_broker_properties": {"broker-to-broker-distributed-memory-max-size-mb": 512}},
    {"dcv_broker_heap_size": "512m"},
    {"dcv_broker_heap_size": "1G"},
    {"dcv_broker_connect_session_token_minutes": "90", "dcv_session_max_age_minutes": 90},
    {"dcv_broker_connect_session_token_minutes": 1440},
    {"dcv_session_idle_minutes": 60, "dcv_session_max_age_minutes": 480},
    {"dcv_session_idle_minutes": 1, "dcv_broker_connect_session_token_minutes": 1},
    {"dcv_broker_session_expiry_python": "/usr/bin/python3.11"},
    {"dcv_broker_java_home": ""},
    {"dcv_broker_java_home": "/opt/jdk-11"},
], ids=["defaults", "mysql", "dynamodb", "documented-property", "heap-512m", "heap-1G", "token-as-long-as-session",
        "token-long-without-age-limit", "idle-below-max-age", "idle-one-minute", "own-python", "java-home-unset",
        "java-home-path"])
def test_good_input_passes(changes):
    assert check(changes) == ([], [])
    # the argument spec accepts what the checks accept: the action reports its errors when the checks find nothing
    assert spec_errors(dict(GOOD, **changes)) == []


def test_the_argument_spec_accepts_the_role_defaults():
    defaults = role_file("defaults", "main.yml")
    assert sorted(defaults) == sorted(SPEC)
    assert spec_errors(defaults) == []
    assert dict((name, defaults[name]) for name in broker.NEEDS if name in defaults) == dict(
        (name, GOOD[name]) for name in broker.NEEDS if name in defaults)


# (id, changes, the message of the assert that refused it, word for word)
REFUSALS = [
    ("outside-the-brokers-group", {"dcv_wiring": {"broker_hosts": ["broker-2"]}},
     "broker-1 runs dcv_broker but is not in the dcv_brokers group; add it there"),
    # the assert printed the catalog's errors joined with " | ", and the catalog words them
    ("role-managed-property", {"dcv_broker_properties": {"client-to-broker-connector-https-port": 9000}},
     " | ".join(broker_property_problems({"client-to-broker-connector-https-port": 9000}, {})[0])),
    ("heap-size", {"dcv_broker_heap_size": "2 GB"}, "dcv_broker_heap_size must look like 512m or 1g (is 2 GB)."),
    ("heap-size-number", {"dcv_broker_heap_size": 512}, "dcv_broker_heap_size must look like 512m or 1g (is 512)."),
    ("persistence-unknown", {"dcv_broker_persistence": "postgresql"},
     "host broker-1: dcv_broker_persistence is postgresql: set none (memory only), dynamodb or mysql (MySQL and "
     "MariaDB)"),
    ("persistence-two-errors", {"dcv_broker_persistence": "mysql", "dcv_broker_jdbc_url": "jdbc:mysql://db/dcvsm",
                                "dcv_broker_jdbc_user": "", "dcv_broker_jdbc_password": ""},
     "host broker-1: dcv_broker_jdbc_user is empty but dcv_broker_persistence is mysql: set the database user the "
     "brokers connect as (jdbc-user) | dcv_broker_jdbc_password is empty but dcv_broker_persistence is mysql: set the "
     "password of dcv_broker_jdbc_user (jdbc-password), kept in Ansible Vault"),
    ("token-zero", {"dcv_broker_connect_session_token_minutes": 0},
     "dcv_broker_connect_session_token_minutes is 0: the minutes a connection token stays valid "
     "(connect-session-token-duration-minutes) must be a whole number of at least 1; set it to, e.g., 60 (the product "
     "default)."),
    ("token-words", {"dcv_broker_connect_session_token_minutes": "an hour"},
     "dcv_broker_connect_session_token_minutes is an hour: the minutes a connection token stays valid "
     "(connect-session-token-duration-minutes) must be a whole number of at least 1; set it to, e.g., 60 (the product "
     "default)."),
    ("max-age-negative", {"dcv_session_max_age_minutes": -5},
     "dcv_session_max_age_minutes is -5: set 0 (sessions live until deleted) or a whole number of minutes."),
    ("token-outlives-session", {"dcv_broker_connect_session_token_minutes": 120, "dcv_session_max_age_minutes": 90},
     "dcv_broker_connect_session_token_minutes is 120 but dcv_session_max_age_minutes is 90: a connection token would "
     "stay valid longer than the session it opens may live. Lower dcv_broker_connect_session_token_minutes to at most "
     "90, or raise dcv_session_max_age_minutes (0 = no age limit)."),
    ("idle-words", {"dcv_session_idle_minutes": "an hour"},
     "dcv_session_idle_minutes is an hour: set 0 (no idle limit) or a whole number of minutes."),
    ("idle-shorter-than-token", {"dcv_session_idle_minutes": 30},
     "dcv_session_idle_minutes is 30 but dcv_broker_connect_session_token_minutes is 60: a session nobody connects to "
     "is deleted 30 minutes after its creation, while the URL session.yml printed for it would still promise access "
     "for 60 minutes. Lower dcv_broker_connect_session_token_minutes to at most 30, or raise dcv_session_idle_minutes "
     "(0 = no idle limit)."),
    ("idle-equal-to-max-age", {"dcv_session_idle_minutes": 480, "dcv_session_max_age_minutes": 480},
     "dcv_session_idle_minutes is 480 but dcv_session_max_age_minutes is 480: a session without a client for that "
     "long is at least that old, so the maximum age ends every session no later than the idle limit could, which would "
     "never act. Set dcv_session_idle_minutes below 480, or 0 (no idle limit)."),
    ("expiry-python-bare-name", {"dcv_broker_session_expiry_python": "python3"},
     "dcv_broker_session_expiry_python is python3: set the absolute path, without spaces, of a Python 3.7 or later on "
     "the first broker host (default /usr/bin/python3); the session expiry service runs it by that path."),
    ("expiry-python-with-arguments", {"dcv_broker_session_expiry_python": "/usr/bin/env python3"},
     "dcv_broker_session_expiry_python is /usr/bin/env python3: set the absolute path, without spaces, of a Python 3.7 "
     "or later on the first broker host (default /usr/bin/python3); the session expiry service runs it by that path."),
    ("java-home-relative", {"dcv_broker_java_home": "jdk-11"},
     "host broker-1: dcv_broker_java_home is jdk-11: set it to auto (the Java the role installs or finds), to the "
     "absolute path of a Java 11 home (the broker runs <home>/bin/java), or to \"\" to leave broker-java-home unset "
     "and run the system's default java."),
]


@pytest.mark.parametrize("changes, message", [case[1:] for case in REFUSALS], ids=[case[0] for case in REFUSALS])
def test_each_refusal_is_the_message_the_assert_printed(changes, message):
    assert check(changes) == ([message], [])


def test_the_first_refusal_is_the_first_the_tasks_made():
    """The asserts ran in this order and the first refusal stopped the host: the checks report in the same order."""
    problems, _warnings = check({"dcv_broker_properties": {"enable-gatway": "true"}, "dcv_broker_heap_size": "lots",
                                 "dcv_broker_persistence": "sqlite", "dcv_broker_connect_session_token_minutes": 0,
                                 "dcv_session_max_age_minutes": "-1", "dcv_session_idle_minutes": "-1",
                                 "dcv_broker_session_expiry_python": "python3", "dcv_broker_java_home": "jdk"})
    assert [problem.split(" ")[0:2] for problem in problems] == [
        ["dcv_broker_properties:", "key"], ["dcv_broker_heap_size", "must"], ["host", "broker-1:"],
        ["dcv_broker_connect_session_token_minutes", "is"], ["dcv_session_max_age_minutes", "is"],
        ["dcv_session_idle_minutes", "is"], ["dcv_broker_session_expiry_python", "is"], ["host", "broker-1:"]]
    assert "dcv_broker_persistence is sqlite" in problems[2] and "dcv_broker_java_home is jdk" in problems[7]


def test_a_token_beyond_both_limits_is_refused_as_the_asserts_did():
    """The token's assert against the maximum age refused first; the idle limit's assert named the token, not the
    maximum age, when both its relations were broken."""
    problems, _warnings = check({"dcv_broker_connect_session_token_minutes": 60, "dcv_session_max_age_minutes": 20,
                                 "dcv_session_idle_minutes": 30})
    assert [problem.split(":")[0] for problem in problems] == [
        "dcv_broker_connect_session_token_minutes is 60 but dcv_session_max_age_minutes is 20",
        "dcv_session_idle_minutes is 30 but dcv_broker_connect_session_token_minutes is 60"]


def test_a_token_that_is_no_number_is_refused_once():
    """The assert that compared the token with the session limits never ran after the token's own refusal: no second
    message reads a number out of words."""
    problems, _warnings = check({"dcv_broker_connect_session_token_minutes": "an hour", "dcv_session_max_age_minutes": 30,
                                 "dcv_session_idle_minutes": 20})
    assert len(problems) == 1 and problems[0].startswith("dcv_broker_connect_session_token_minutes is an hour:")


def test_unchecked_extra_properties_are_warnings():
    extra = {"brand-new-key": "1", "another.new_key": 2}
    problems, warnings = check({"dcv_broker_extra_properties": extra})
    assert problems == []
    assert warnings == broker_property_problems({}, extra)[1] == [
        "dcv_broker_extra_properties: key 'brand-new-key' is not in this collection's list of broker properties; it is "
        "written as given, unchecked",
        "dcv_broker_extra_properties: key 'another.new_key' is not in this collection's list of broker properties; it "
        "is written as given, unchecked"]


def test_a_warning_does_not_hide_a_refusal():
    problems, warnings = check({"dcv_broker_extra_properties": {"brand-new-key": "1"}, "dcv_broker_heap_size": "big"})
    assert problems == ["dcv_broker_heap_size must look like 512m or 1g (is big)."]
    assert len(warnings) == 1


# every refusal with the password set beside it, and the refusals that quote the URL the password could be put in
BAD_WITH_PASSWORD = [dict(MYSQL, **dict(changes, dcv_broker_jdbc_password=PASSWORD)) for _id, changes, _message in REFUSALS] + [
    dict(MYSQL, dcv_broker_jdbc_url="jdbc:mysql://db.example.internal/dcvsm?password=%s" % PASSWORD),
    dict(MYSQL, dcv_broker_jdbc_url="jdbc:mysql://dcvsm:%s@db.example.internal/dcvsm" % PASSWORD),
    dict(MYSQL, dcv_broker_jdbc_url="jdbc:mysql://db.example.internal/dcvsm?useSSL=true&password1=%s" % PASSWORD),
    dict(MYSQL, dcv_broker_jdbc_url="jdbc:mariadb://db.example.internal/dcvsm"),
    dict(MYSQL, dcv_broker_jdbc_user=""),
    dict(MYSQL, dcv_broker_persistence="mariadb"),
    dict(MYSQL, dcv_broker_properties={"jdbc-password": PASSWORD}),
    dict(MYSQL, dcv_broker_extra_properties={"jdbc-password": PASSWORD}),
]


@pytest.mark.parametrize("changes", BAD_WITH_PASSWORD, ids=["%s-with-password" % case[0] for case in REFUSALS] + [
    "password-in-query", "password-in-authority", "password1-in-query", "mariadb-scheme", "no-user", "unknown-database",
    "password-property", "password-extra-property"])
def test_no_message_carries_the_database_password(changes):
    problems, warnings = check(changes)
    assert problems
    for message in problems + warnings:
        assert PASSWORD not in message, message
