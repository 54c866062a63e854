"""Write each role README's variables table from the role's meta/argument_specs.yml (the one source of the
interface), between the markers below; the prose around them stays as written.

    python scripts/role_docs.py           rewrite the tables that differ
    python scripts/role_docs.py --check   change nothing; exit 1 naming every README whose table is stale

tests/unit/roles/test_role_docs.py runs the same comparison, so CI fails on a stale table.
"""

import argparse
import json
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "<!-- BEGIN GENERATED: variables (scripts/role_docs.py) -->"
END = "<!-- END GENERATED: variables -->"
SECTION = re.compile(re.escape(BEGIN) + r"\n.*?" + re.escape(END), re.DOTALL)


class RoleDocsError(Exception):
    pass


def _cell(text):
    """One table cell: a single line, with the characters Markdown would read as table or HTML syntax escaped."""
    text = " ".join(str(text).split())
    for char, escaped in (("|", "\\|"), ("<", "&lt;"), (">", "&gt;"), ("*", "\\*")):
        text = text.replace(char, escaped)
    return text


def _code(value):
    """A literal as inline code, in JSON spelling so a string never looks like a number or a boolean (Markdown
    reads no HTML inside code, so only the table's own separator is escaped)."""
    return "`%s`" % json.dumps(value, ensure_ascii=False).replace("|", "\\|").replace("`", "'")


def _type(spec):
    kind = spec.get("type", "str")
    return "%s of %s" % (kind, spec["elements"]) if spec.get("elements") else kind


def _description(spec):
    text = spec.get("description", "")
    return " ".join(text) if isinstance(text, list) else text


def _options_table(options):
    lines = ["| variable | type | default | choices | description |", "|---|---|---|---|---|"]
    for name, spec in options.items():
        default = _code(spec["default"]) if "default" in spec else "computed (see description)"
        choices = ", ".join(_code(choice) for choice in spec.get("choices", []))
        lines.append("| `%s` | %s | %s | %s | %s |" % (name, _type(spec), default, choices, _cell(_description(spec))))
    return lines


def table(specs_path):
    """The generated block (markers included) of one argument_specs.yml: the main entry point's variables, then
    each other entry point (include_role tasks_from) with its own."""
    with open(specs_path) as handle:
        specs = yaml.safe_load(handle) or {}
    try:
        entry_points = specs["argument_specs"]
        options = entry_points["main"]["options"]
    except (KeyError, TypeError):
        raise RoleDocsError("%s has no argument_specs.main.options" % specs_path)
    lines = [BEGIN] + _options_table(options)
    for name, entry_point in entry_points.items():
        if name == "main":
            continue
        heading = "Entry point `tasks_from: %s`: %s." % (name, entry_point["short_description"])
        lines += ["", "%s %s" % (heading, _cell(_description(entry_point))), ""]
        lines += _options_table(entry_point.get("options") or {})
    lines.append(END)
    return "\n".join(lines)


def rendered(role_dir):
    """(README path, current text, text with the generated table) of one role."""
    readme = os.path.join(role_dir, "README.md")
    if not os.path.isfile(readme):
        raise RoleDocsError("%s is missing" % readme)
    with open(readme) as handle:
        current = handle.read()
    if current.count(BEGIN) != 1 or current.count(END) != 1:
        raise RoleDocsError("%s needs exactly one %s ... %s section (under its \"## Variables\" heading)"
                            % (readme, BEGIN, END))
    block = table(os.path.join(role_dir, "meta", "argument_specs.yml"))
    return readme, current, SECTION.sub(lambda _match: block, current)


def roles(roles_dir):
    return [os.path.join(roles_dir, name) for name in sorted(os.listdir(roles_dir))
            if os.path.isfile(os.path.join(roles_dir, name, "meta", "argument_specs.yml"))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="exit 1 naming the stale READMEs, change nothing")
    parser.add_argument("--roles-dir", default=os.path.join(ROOT, "roles"))
    args = parser.parse_args(argv)
    stale = []
    try:
        for role_dir in roles(args.roles_dir):
            readme, current, wanted = rendered(role_dir)
            if current == wanted:
                continue
            stale.append(readme)
            if not args.check:
                with open(readme, "w") as handle:
                    handle.write(wanted)
    except RoleDocsError as exc:
        print("ERROR: %s" % exc, file=sys.stderr)
        return 1
    for readme in stale:
        if args.check:
            print("%s: the variables table is stale; run: python scripts/role_docs.py (make docs)"
                  % os.path.relpath(readme), file=sys.stderr)
        else:
            print("rewrote %s" % os.path.relpath(readme))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
