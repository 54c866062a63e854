# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writers and strict readers for the three configuration formats of the DCV stack.

Java properties (broker), TOML (gateway, agent) and INI (DCV server). Every rendered file is read back
with these readers and compared with what was meant before it may replace a file on a host.
The Java properties reader follows java.util.Properties.load(Reader) rule by rule, because the broker
reads its file that way (a '#' after a value is part of the value, a trailing backslash joins lines).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import configparser
import re

try:
    import tomllib  # python >= 3.11 (the control node)
except ImportError:  # pragma: no cover - targets with older python never parse TOML here
    tomllib = None

_WHITESPACE = " \t\f"
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class ConfigFormatError(ValueError):
    pass


# ---------------------------------------------------------------- Java properties

def _logical_lines(text):
    """Yield logical lines as java.util.Properties.LineReader does."""
    natural = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(natural):
        line = natural[i].lstrip(_WHITESPACE)
        i += 1
        if not line or line[0] in "#!":
            continue
        parts = []
        while True:
            trailing = len(line) - len(line.rstrip("\\"))
            if trailing % 2 == 1:
                parts.append(line[:-1])
                if i >= len(natural):
                    break
                line = natural[i].lstrip(_WHITESPACE)
                i += 1
                continue
            parts.append(line)
            break
        yield "".join(parts)


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape(text):
    out = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        i += 1
        if i >= len(text):
            break
        char = text[i]
        if char == "u":
            digits = text[i + 1:i + 5]
            if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise ConfigFormatError("Malformed \\uxxxx encoding: \\u%s" % digits)
            out.append(chr(int(digits, 16)))
            i += 5
            continue
        out.append(_ESCAPES.get(char, char))
        i += 1
    return "".join(out)


def parse_java_properties(text):
    """Return (properties dict, duplicate keys list) read with java.util.Properties rules."""
    result = {}
    duplicates = []
    for line in _logical_lines(text):
        key_end = len(line)
        value_start = len(line)
        has_separator = False
        i = 0
        while i < len(line):
            char = line[i]
            if char == "\\":
                i += 2
                continue
            if char in "=:":
                key_end, value_start, has_separator = i, i + 1, True
                break
            if char in _WHITESPACE:
                key_end, value_start = i, i + 1
                break
            i += 1
        j = value_start
        while j < len(line) and line[j] in _WHITESPACE:
            j += 1
        if not has_separator and j < len(line) and line[j] in "=:":
            j += 1
            while j < len(line) and line[j] in _WHITESPACE:
                j += 1
        key = _unescape(line[:key_end])
        value = _unescape(line[j:])
        if key in result:
            duplicates.append(key)
        result[key] = value
    return result, duplicates


def _escape(text, is_key):
    out = []
    for index, char in enumerate(text):
        if char == "\\":
            out.append("\\\\")
        elif char in _ESCAPES.values():
            out.append("\\" + {v: k for k, v in _ESCAPES.items()}[char])
        elif char == " " and (is_key or index == 0):
            out.append("\\ ")
        elif char in "=:#!" and (is_key or index == 0):
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) > 0x7E:
            out.append("\\u%04x" % ord(char))
        else:
            out.append(char)
    return "".join(out)


def java_properties_key(key):
    return _escape(str(key), True)


def _java_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def java_properties_value(value):
    """Escape a value; booleans become the Java spelling true/false."""
    return _escape(_java_text(value), False)


def java_properties_problems(text, expected):
    """List why ``text`` does not read back as exactly ``expected`` (empty list when it does)."""
    try:
        parsed, duplicates = parse_java_properties(text)
    except ConfigFormatError as exc:
        return [str(exc)]
    problems = ["key %s appears more than once" % key for key in duplicates]
    wanted = dict((str(k), _java_text(v)) for k, v in expected.items())
    for key in sorted(set(parsed) | set(wanted)):
        if key not in parsed:
            problems.append("key %s is missing from the rendered file" % key)
        elif key not in wanted:
            problems.append("key %s is in the rendered file but was not asked for" % key)
        elif parsed[key] != wanted[key]:
            problems.append("key %s reads back as %r instead of %r" % (key, parsed[key], wanted[key]))
    return problems


# ---------------------------------------------------------------- TOML

def toml_string(value):
    """A TOML basic string (double quotes), escaped so no value can break the document."""
    out = ['"']
    for char in str(value):
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append("\\u%04X" % ord(char))
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join("%s = %s" % (toml_key(k), toml_value(v)) for k, v in value.items()) + " }"
    return toml_string(value)


def toml_key(key):
    key = str(key)
    if _BARE_KEY.match(key):
        return key
    return toml_string(key)


def is_bare_toml_key(key):
    return isinstance(key, str) and bool(_BARE_KEY.match(key))


def parse_toml(text):
    if tomllib is None:
        raise ConfigFormatError("TOML can only be checked with python 3.11+ (tomllib) on the control node")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFormatError("TOML does not parse: %s" % exc)


def _plain(value):
    if isinstance(value, dict):
        return dict((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, int, float)):
        return value
    return str(value)


def toml_problems(text, expected=None):
    """List why ``text`` is not TOML (or not exactly ``expected`` when given)."""
    try:
        parsed = parse_toml(text)
    except ConfigFormatError as exc:
        return [str(exc)]
    if expected is None:
        return []
    wanted = _plain(expected)
    if parsed != wanted:
        problems = []
        for key in sorted(set(parsed) | set(wanted)):
            if parsed.get(key) != wanted.get(key):
                problems.append("%s reads back as %r instead of %r" % (key, parsed.get(key), wanted.get(key)))
        return problems
    return []


# ---------------------------------------------------------------- INI (dcv.conf)

def ini_problems(text, expected=None):
    """List why ``text`` does not read back (with configparser) as ``expected`` {section: {key: value}}."""
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",),
                                       comment_prefixes=("#", ";"), inline_comment_prefixes=None)
    parser.optionxform = str
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        return ["INI does not parse: %s" % str(exc).replace("\n", " ")]
    if expected is None:
        return []
    problems = []
    for section, values in expected.items():
        for key, value in values.items():
            if not parser.has_option(section, key):
                problems.append("[%s] %s is missing" % (section, key))
            elif parser.get(section, key) != str(value):
                problems.append("[%s] %s reads back as %r instead of %r"
                                % (section, key, parser.get(section, key), str(value)))
    return problems


def ini_pending(items, text):
    """The ini_file items ({section, option, value} or {section, option, state: absent}) that ``text`` (the
    current file) does not already satisfy. A file that does not parse satisfies none: ini_file then writes every item."""
    parser = configparser.ConfigParser(interpolation=None, strict=False, delimiters=("=",),
                                       comment_prefixes=("#", ";"), inline_comment_prefixes=None)
    parser.optionxform = str
    try:
        parser.read_string(text or "")
    except configparser.Error:
        return list(items)
    pending = []
    for item in items:
        present = parser.has_option(item["section"], item["option"])
        if item.get("state", "present") == "absent":
            if present:
                pending.append(item)
        elif not present or parser.get(item["section"], item["option"]).strip() != str(item["value"]):
            pending.append(item)
    return pending


_INI_SECTION = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*$")


def _ini_section(line):
    """The name of the section LINE opens, or None."""
    match = _INI_SECTION.match(line)
    return match.group(1) if match else None


def _ini_option(line, option, inactive=False):
    """Whether LINE sets OPTION (``option=value``; with INACTIVE, a commented-out ``#option=value``)."""
    text = line.strip()
    if inactive:
        if not text.startswith(("#", ";")):
            return False
        text = text.lstrip("#;").strip()
    return text.partition("=")[1] == "=" and text.partition("=")[0].strip() == option


def ini_merged(text, items):
    """TEXT with the ini_file ITEMS ({section, option, value} or {section, option, state: absent}) that it does not
    already satisfy applied as ini_file applies them (no_extra_spaces, exclusive): an active line of the option is
    set (its other active lines go), else the vendor's commented-out line of it becomes the setting, else the option
    is added at the end of its section (a missing section at the end of the file); an absent item's active lines go.
    Every other line stays as it is, so a file that satisfies every item comes back unchanged."""
    pending = ini_pending(items, text)
    if not pending:
        return text or ""
    lines = (text or "").splitlines()
    for item in pending:
        section, option = item["section"], item["option"]
        setting = None if item.get("state", "present") == "absent" else "%s=%s" % (option, item["value"])
        start = next((i for i, line in enumerate(lines) if _ini_section(line) == section), None)
        if start is None:
            if setting is not None:
                lines += ([""] if lines and lines[-1].strip() else []) + ["[%s]" % section, setting]
            continue
        end = next((i for i in range(start + 1, len(lines)) if _ini_section(lines[i]) is not None), len(lines))
        active = [i for i in range(start + 1, end) if _ini_option(lines[i], option)]
        dropped = active[1:] if setting is not None else active
        for i in reversed(dropped):
            del lines[i]
        end -= len(dropped)
        if setting is None:
            continue
        if active:
            lines[active[0]] = setting
            continue
        inactive = [i for i in range(start + 1, end) if _ini_option(lines[i], option, inactive=True)]
        if inactive:
            lines[inactive[0]] = setting
            continue
        last = max([start] + [i for i in range(start + 1, end) if lines[i].strip()])
        lines.insert(last + 1, setting)
    return "\n".join(lines) + "\n"
