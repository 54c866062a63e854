# TEST DOUBLE: part of the dcvkit test stand-ins for the Amazon DCV packages (tests/standins).
# Not Amazon software; used only by the collection's tests and lab.
"""Strict readers for the three config formats the DCV products use.

* TOML (agent.conf, dcv-connection-gateway.conf): ``tomllib`` when the interpreter has it
  (Python 3.11+), otherwise ``parse_toml_subset`` below.  The subset covers what those files
  use and raises ``ConfigError`` naming the construct for anything else, so a file never
  silently means something different on Ubuntu 22.04 (Python 3.10) than on Debian 12.
* Java properties (session-manager-broker.properties): ``parse_java_properties`` follows
  java.util.Properties.load: a ``#`` after a value is part of the value.
* INI (dcv.conf): ``parse_dcv_conf``.
"""

import configparser
import json
import re

try:  # Python 3.11+
    import tomllib
except ImportError:  # Python 3.10 (Ubuntu 22.04): the strict subset parser is used
    tomllib = None


class ConfigError(Exception):
    """A config file the stand-in refuses; the message names file, line and problem."""


# --------------------------------------------------------------------------------------------
# TOML subset
# --------------------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_INTEGER = re.compile(r"[+-]?(0|[1-9](_?[0-9])*)$")
_FLOAT = re.compile(r"[+-]?(0|[1-9](_?[0-9])*)(\.[0-9](_?[0-9])*)?([eE][+-]?[0-9](_?[0-9])*)?$")
_DATE_LIKE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}:[0-9]{2}")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


class _TomlSubsetParser:
    def __init__(self, text, filename):
        self.text = text
        self.filename = filename
        self.pos = 0

    # -- helpers -----------------------------------------------------------------------------
    def error(self, message):
        line = self.text.count("\n", 0, self.pos) + 1
        column = self.pos - (self.text.rfind("\n", 0, self.pos) + 1) + 1
        raise ConfigError("%s:%d:%d: %s" % (self.filename, line, column, message))

    def unsupported(self, what):
        self.error("%s is not supported by the stand-in's TOML subset parser "
                   "(Python < 3.11 has no tomllib); use simple tables and values" % what)

    def peek(self, n=1):
        return self.text[self.pos:self.pos + n]

    def eof(self):
        return self.pos >= len(self.text)

    def skip_spaces(self):
        while self.peek() in (" ", "\t") and not self.eof():
            self.pos += 1

    def skip_comment(self):
        if self.peek() == "#":
            while not self.eof() and self.peek() != "\n":
                if self.peek() != "\t" and ord(self.peek()) < 0x20:
                    self.error("control character in comment")
                self.pos += 1

    def expect_line_end(self):
        self.skip_spaces()
        self.skip_comment()
        if self.peek(2) == "\r\n":
            self.pos += 2
        elif self.peek() == "\n":
            self.pos += 1
        elif not self.eof():
            self.error("expected end of line after value, found %r" % self.peek())

    def skip_blank_lines_and_comments(self):
        while not self.eof():
            self.skip_spaces()
            self.skip_comment()
            if self.peek(2) == "\r\n":
                self.pos += 2
            elif self.peek() == "\n":
                self.pos += 1
            else:
                return

    # -- document ----------------------------------------------------------------------------
    def parse(self):
        root = {}
        current = root
        defined_tables = set()
        while True:
            self.skip_blank_lines_and_comments()
            if self.eof():
                return root
            if self.peek(2) == "[[":
                self.unsupported("an array of tables ([[...]])")
            if self.peek() == "[":
                self.pos += 1
                self.skip_spaces()
                path = [self.parse_key()]
                self.skip_spaces()
                while self.peek() == ".":
                    self.pos += 1
                    self.skip_spaces()
                    path.append(self.parse_key())
                    self.skip_spaces()
                if self.peek() != "]":
                    self.error("expected ']' at the end of the table header")
                self.pos += 1
                if tuple(path) in defined_tables:
                    self.error("table [%s] defined twice" % ".".join(path))
                defined_tables.add(tuple(path))
                current = root
                for part in path:
                    existing = current.setdefault(part, {})
                    if not isinstance(existing, dict):
                        self.error("key %r is already a value, not a table" % part)
                    current = existing
                self.expect_line_end()
                continue
            key_pos = self.pos
            key = self.parse_key()
            self.skip_spaces()
            if self.peek() == ".":
                self.unsupported("a dotted key")
            if self.peek() != "=":
                self.error("expected '=' after key %r" % key)
            self.pos += 1
            self.skip_spaces()
            value = self.parse_value()
            if key in current:
                self.pos = key_pos
                self.error("duplicate key %r" % key)
            current[key] = value
            self.expect_line_end()

    def parse_key(self):
        if self.peek() in ('"', "'"):
            self.unsupported("a quoted key")
        match = _BARE_KEY.match(self.text, self.pos)
        if not match:
            self.error("expected a key, found %r" % self.peek())
        self.pos = match.end()
        return match.group(0)

    # -- values ------------------------------------------------------------------------------
    def parse_value(self):
        char = self.peek()
        if self.eof() or char in ("\n", "\r", "#"):
            self.error("missing value")
        if char == '"':
            if self.peek(3) == '"""':
                self.unsupported("a multi-line string")
            return self.parse_basic_string()
        if char == "'":
            if self.peek(3) == "'''":
                self.unsupported("a multi-line literal string")
            return self.parse_literal_string()
        if char == "[":
            return self.parse_array()
        if char == "{":
            return self.parse_inline_table()
        for word, value in (("true", True), ("false", False)):
            if self.text.startswith(word, self.pos):
                end = self.pos + len(word)
                if end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "_-"):
                    break
                self.pos = end
                return value
        match = re.compile(r"[^\s,\]\}#]+").match(self.text, self.pos)
        if not match:
            self.error("invalid value")
        token = match.group(0)
        if _DATE_LIKE.match(token):
            self.unsupported("a date/time value")
        if token.lstrip("+-") in ("inf", "nan"):
            self.unsupported("inf/nan")
        if token.lower().startswith(("0x", "0o", "0b")):
            self.unsupported("a hexadecimal/octal/binary integer")
        if _INTEGER.match(token):
            self.pos = match.end()
            return int(token.replace("_", ""))
        if _FLOAT.match(token):
            self.pos = match.end()
            return float(token.replace("_", ""))
        self.error("invalid value %r (strings must be quoted)" % token)

    def parse_basic_string(self):
        self.pos += 1
        out = []
        while True:
            if self.eof() or self.peek() == "\n":
                self.error("unterminated string")
            char = self.peek()
            if char == '"':
                self.pos += 1
                return "".join(out)
            if char == "\\":
                code = self.text[self.pos + 1:self.pos + 2]
                if code in _ESCAPES:
                    out.append(_ESCAPES[code])
                    self.pos += 2
                elif code in ("u", "U"):
                    width = 4 if code == "u" else 8
                    digits = self.text[self.pos + 2:self.pos + 2 + width]
                    if not re.fullmatch(r"[0-9A-Fa-f]{%d}" % width, digits):
                        self.error("invalid unicode escape")
                    out.append(chr(int(digits, 16)))
                    self.pos += 2 + width
                else:
                    self.error("invalid escape sequence \\%s" % code)
                continue
            if char != "\t" and ord(char) < 0x20 or char == "\x7f":
                self.error("control character in string")
            out.append(char)
            self.pos += 1

    def parse_literal_string(self):
        end = self.text.find("'", self.pos + 1)
        newline = self.text.find("\n", self.pos + 1)
        if end < 0 or (0 <= newline < end):
            self.error("unterminated literal string")
        value = self.text[self.pos + 1:end]
        if any(c != "\t" and ord(c) < 0x20 for c in value):
            self.error("control character in string")
        self.pos = end + 1
        return value

    def parse_array(self):
        self.pos += 1
        items = []
        while True:
            self.skip_blank_lines_and_comments()
            if self.peek() == "]":
                self.pos += 1
                return items
            items.append(self.parse_value())
            self.skip_blank_lines_and_comments()
            if self.peek() == ",":
                self.pos += 1
                continue
            if self.peek() == "]":
                self.pos += 1
                return items
            self.error("expected ',' or ']' in array")

    def parse_inline_table(self):
        # Inline tables must stay on one line: a newline inside is the
        # "invalid inline table / expected `}`" failure seen with the real gateway.
        self.pos += 1
        table = {}
        self.skip_spaces()
        if self.peek() == "}":
            self.pos += 1
            return table
        while True:
            self.skip_spaces()
            if self.peek() in ("\n", "\r") or self.eof():
                self.error("invalid inline table: expected `}` before the end of the line")
            key = self.parse_key()
            self.skip_spaces()
            if self.peek() == ".":
                self.unsupported("a dotted key")
            if self.peek() != "=":
                self.error("invalid inline table: expected '=' after key %r" % key)
            self.pos += 1
            self.skip_spaces()
            if key in table:
                self.error("duplicate key %r in inline table" % key)
            table[key] = self.parse_value()
            self.skip_spaces()
            if self.peek() == ",":
                self.pos += 1
                continue
            if self.peek() == "}":
                self.pos += 1
                return table
            self.error("invalid inline table: expected `}` or ','")


def parse_toml_subset(text, filename="<string>"):
    """Parse the TOML subset DCV config files use; ConfigError on anything else."""
    return _TomlSubsetParser(text, filename).parse()


def parse_toml(text, filename="<string>"):
    """tomllib where available, the strict subset otherwise; errors name the file."""
    if tomllib is None:
        return parse_toml_subset(text, filename)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("%s: %s" % (filename, exc))


def toml_key_lines(text):
    """Map (table, key) to the 1-based line defining it, for error messages.

    ``table`` is the dotted table header ('' for the root).  Good enough for the simple
    files DCV uses; only used to point at a line, never to read values.
    """
    lines = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"\[\s*([A-Za-z0-9_.\- ]+?)\s*\]\s*(#.*)?$", stripped)
        if header:
            table = re.sub(r"\s*\.\s*", ".", header.group(1))
            continue
        key = re.match(r"([A-Za-z0-9_-]+)\s*=", stripped)
        if key:
            lines.setdefault((table, key.group(1)), number)
    return lines


# --------------------------------------------------------------------------------------------
# Java properties
# --------------------------------------------------------------------------------------------

def _logical_lines(text):
    """Yield (first physical line number, logical line) as java.util.Properties reads them."""
    physical = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    index = 0
    while index < len(physical):
        start = index + 1
        line = physical[index].lstrip(" \t\f")
        index += 1
        if not line or line[0] in "#!":
            continue
        while True:
            trailing = len(line) - len(line.rstrip("\\"))
            if trailing % 2 == 0 or index >= len(physical):
                if trailing % 2:
                    line = line[:-1]
                break
            line = line[:-1] + physical[index].lstrip(" \t\f")
            index += 1
        yield start, line


def _unescape_properties(text):
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
        code = text[i]
        if code == "u":
            digits = text[i + 1:i + 5]
            if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
                raise ConfigError("malformed \\uxxxx encoding")
            out.append(chr(int(digits, 16)))
            i += 5
            continue
        out.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(code, code))
        i += 1
    return "".join(out)


def parse_java_properties(text, filename="<string>"):
    """Return (properties dict, {key: line}) following java.util.Properties.load.

    Notably: ``key = value # note`` has the value ``value # note``; the last duplicate wins;
    trailing whitespace belongs to the value.
    """
    values = {}
    lines = {}
    for number, line in _logical_lines(text):
        i = 0
        while i < len(line):
            char = line[i]
            if char == "\\":
                i += 2
                continue
            if char in "=: \t\f":
                break
            i += 1
        raw_key = line[:i]
        rest = line[i:]
        rest = rest.lstrip(" \t\f")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t\f")
        try:
            key = _unescape_properties(raw_key)
            value = _unescape_properties(rest)
        except ConfigError as exc:
            raise ConfigError("%s:%d: %s" % (filename, number, exc))
        values[key] = value
        lines[key] = number
    return values, lines


# --------------------------------------------------------------------------------------------
# dcv.conf (INI)
# --------------------------------------------------------------------------------------------

def parse_dcv_conf(text, filename="/etc/dcv/dcv.conf"):
    """Parse dcv.conf into {section: {key: python value}}.

    Values: ``true``/``false``, integers, ``"quoted strings"``, ``["json", "lists"]``, or bare
    words.  Strict where the real server's behaviour is unknown: an inline ``#`` comment after a
    value is refused, duplicate sections/keys are refused.
    """
    parser = configparser.ConfigParser(strict=True, interpolation=None,
                                       comment_prefixes=("#", ";"), inline_comment_prefixes=None)
    parser.optionxform = str  # keys are case-sensitive and keep their dashes
    try:
        parser.read_string(text, source=filename)
    except configparser.Error as exc:
        raise ConfigError("%s: %s" % (filename, exc))
    result = {}
    for section in parser.sections():
        result[section] = {}
        for key, raw in parser.items(section, raw=True):
            result[section][key] = _dcv_value(raw.strip(), filename, section, key)
    return result


def _dcv_value(raw, filename, section, key):
    where = "%s: [%s] %s" % (filename, section, key)
    if re.search(r"\s#", raw) and not (raw.startswith('"') and raw.endswith('"') and raw.count('"') == 2):
        raise ConfigError("%s: inline comment after the value (%r); the stand-in refuses it "
                          "because the real parser's handling is unknown: put comments on "
                          "their own lines" % (where, raw))
    if raw in ("true", "false"):
        return raw == "true"
    if re.fullmatch(r"-?[0-9]+", raw):
        return int(raw)
    if raw.startswith("[") or raw.startswith('"'):
        try:
            return json.loads(raw)
        except ValueError:
            raise ConfigError("%s: cannot parse value %r" % (where, raw))
    return raw
