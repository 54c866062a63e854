# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of a Session Manager Broker's input (role dcv_broker). What needs the host follows in the role's
tasks/preflight.yml: whether the database host resolves there, whether its firewall would keep a cluster peer out,
and where its Java 11 home is."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.dcvkit.session_manager.plugins.module_utils.broker_persistence import persistence_problems
from ansible_collections.dcvkit.session_manager.plugins.module_utils.dcv_catalog import broker_property_problems
from ansible_collections.dcvkit.session_manager.plugins.module_utils.preflight.values import is_whole_number, text

# the variables module_utils/broker_persistence.py reads, the database password among them
PERSISTENCE = ("dcv_broker_persistence", "dcv_broker_jdbc_url", "dcv_broker_jdbc_user", "dcv_broker_jdbc_password",
               "dcv_broker_dynamodb_region", "dcv_broker_dynamodb_table_prefix", "dcv_broker_dynamodb_table_rcu",
               "dcv_broker_dynamodb_table_wcu")
NEEDS = ("dcv_wiring", "dcv_broker_properties", "dcv_broker_extra_properties", "dcv_broker_heap_size") + PERSISTENCE + (
    "dcv_broker_connect_session_token_minutes", "dcv_session_max_age_minutes", "dcv_session_idle_minutes",
    "dcv_broker_session_expiry_python", "dcv_broker_java_home")

_HEAP_SIZE = re.compile(r"^[0-9]+[kKmMgG]$")
_ABSOLUTE_WITHOUT_SPACES = re.compile(r"^/[^\s]*$")


def _properties(v, warn):
    errors, warnings = broker_property_problems(v["dcv_broker_properties"], v["dcv_broker_extra_properties"])
    for warning in warnings:
        warn(warning)
    return errors


def _heap_size(v):
    heap_size = v["dcv_broker_heap_size"]
    if heap_size == "" or _HEAP_SIZE.match(text(heap_size)):
        return []
    return ["dcv_broker_heap_size must look like 512m or 1g (is %s)." % text(heap_size)]


def _persistence(v):
    """Where the broker keeps its state. The settings hold the database password: no message carries it."""
    errors = persistence_problems(dict((name, v[name]) for name in PERSISTENCE))["errors"]
    if not errors:
        return []
    return ["host %s: %s" % (v["inventory_hostname"], " | ".join(errors))]


def _token(v):
    # sm-admin "Broker configuration file": connect-session-token-duration-minutes is a number of minutes (default 60)
    token = v["dcv_broker_connect_session_token_minutes"]
    if is_whole_number(token) and int(token) >= 1:
        return []
    return ["dcv_broker_connect_session_token_minutes is %s: the minutes a connection token stays valid "
            "(connect-session-token-duration-minutes) must be a whole number of at least 1; set it to, e.g., 60 (the "
            "product default)." % text(token)]


def _max_age(v):
    # A token that outlives the session it opens promises access the session's end takes away (and a longer window
    # for a leaked URL than the operator means to allow): the time limit is one fact, the token follows it
    token, max_age = v["dcv_broker_connect_session_token_minutes"], v["dcv_session_max_age_minutes"]
    if not is_whole_number(max_age):
        return ["dcv_session_max_age_minutes is %s: set 0 (sessions live until deleted) or a whole number of minutes."
                % text(max_age)]
    # a token that is no whole number is refused by its own check
    if int(max_age) == 0 or not is_whole_number(token) or int(token) <= int(max_age):
        return []
    return ["dcv_broker_connect_session_token_minutes is %s but dcv_session_max_age_minutes is %s: a connection token "
            "would stay valid longer than the session it opens may live. Lower dcv_broker_connect_session_token_minutes "
            "to at most %s, or raise dcv_session_max_age_minutes (0 = no age limit)."
            % (text(token), text(max_age), text(max_age))]


def _idle(v):
    # The idle limit deletes a session nobody opened at that many minutes after its creation: a connection token (the
    # URL session.yml prints) valid for longer would promise access to a session already gone, as with the maximum
    # age. And a limit not shorter than the maximum age could never act: a session with no client for N minutes is at
    # least N minutes old, so the maximum age has ended it by then.
    token, max_age, idle = (v["dcv_broker_connect_session_token_minutes"], v["dcv_session_max_age_minutes"],
                            v["dcv_session_idle_minutes"])
    if not is_whole_number(idle):
        return ["dcv_session_idle_minutes is %s: set 0 (no idle limit) or a whole number of minutes." % text(idle)]
    if int(idle) == 0:
        return []
    # a token or a maximum age that is no whole number is refused by its own check
    if is_whole_number(token) and int(token) > int(idle):
        return ["dcv_session_idle_minutes is %s but dcv_broker_connect_session_token_minutes is %s: a session nobody "
                "connects to is deleted %s minutes after its creation, while the URL session.yml printed for it would "
                "still promise access for %s minutes. Lower dcv_broker_connect_session_token_minutes to at most %s, or "
                "raise dcv_session_idle_minutes (0 = no idle limit)."
                % (text(idle), text(token), text(idle), text(token), text(idle))]
    if is_whole_number(max_age) and int(max_age) != 0 and int(idle) >= int(max_age):
        return ["dcv_session_idle_minutes is %s but dcv_session_max_age_minutes is %s: a session without a client for "
                "that long is at least that old, so the maximum age ends every session no later than the idle limit "
                "could, which would never act. Set dcv_session_idle_minutes below %s, or 0 (no idle limit)."
                % (text(idle), text(max_age), text(max_age))]
    return []


def _expiry_python(v):
    # The session expiry's service runs this interpreter by its path (ExecStart): a bare name or a relative path would
    # only fail on the host, a minute after the run, in the journal
    python = v["dcv_broker_session_expiry_python"]
    if _ABSOLUTE_WITHOUT_SPACES.match(text(python)):
        return []
    return ["dcv_broker_session_expiry_python is %s: set the absolute path, without spaces, of a Python 3.7 or later on "
            "the first broker host (default /usr/bin/python3); the session expiry service runs it by that path."
            % text(python)]


def _java_home(v):
    # sm-admin "Step 2: Set up the Amazon DCV Session Manager broker": the broker needs Java 11; when the default java
    # is another version, broker-java-home names a Java 11 home and the broker runs <broker-java-home>/bin/java
    # (sm-admin "Broker configuration file")
    java_home = v["dcv_broker_java_home"]
    if java_home in ("", "auto") or text(java_home).startswith("/"):
        return []
    return ["host %s: dcv_broker_java_home is %s: set it to auto (the Java the role installs or finds), to the absolute "
            "path of a Java 11 home (the broker runs <home>/bin/java), or to \"\" to leave broker-java-home unset and "
            "run the system's default java." % (v["inventory_hostname"], text(java_home))]


def problems(v, warn):
    """warn(MESSAGE) hands the operator a warning that refuses nothing: a broker property this collection does not
    know, written as given."""
    if v["inventory_hostname"] not in v["dcv_wiring"]["broker_hosts"]:
        return ["%s runs dcv_broker but is not in the dcv_brokers group; add it there" % v["inventory_hostname"]]
    return (_properties(v, warn) + _heap_size(v) + _persistence(v) + _token(v) + _max_age(v) + _idle(v)
            + _expiry_python(v) + _java_home(v))
