# -*- coding: utf-8 -*-
"""Every filter of the collection has its ansible-doc page, plugins/filter/<filter name>.yml, and the page's options
are the filter's parameters (the first one is _input), so a new filter or a changed signature cannot go undocumented."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import importlib
import inspect
import os

import pytest
import yaml

FILTER_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "filter")


def _filters():
    found = {}
    for path in sorted(glob.glob(os.path.join(FILTER_DIR, "*.py"))):
        module = importlib.import_module("ansible_collections.dcvkit.session_manager.plugins.filter."
                                         + os.path.basename(path)[:-3])
        found.update(module.FilterModule().filters())
    return found


FILTERS = _filters()


def test_filters_found():
    assert {"dcv_wiring", "dcv_toml_problems", "verify_table"} <= set(FILTERS)


def test_no_doc_page_without_a_filter():
    pages = set(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(FILTER_DIR, "*.yml")))
    assert sorted(pages - set(FILTERS)) == []


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_filter_has_a_doc_page_matching_its_signature(name):
    path = os.path.join(FILTER_DIR, name + ".yml")
    assert os.path.isfile(path), "plugins/filter/%s.yml is missing (ansible-doc -t filter shows nothing)" % name
    with open(path) as handle:
        page = yaml.safe_load(handle)
    assert set(page) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    doc = page["DOCUMENTATION"]
    assert doc["name"] == name
    assert doc["short_description"] and doc["description"]
    assert "dcvkit.session_manager.%s" % name in page["EXAMPLES"]
    assert "_value" in page["RETURN"]
    parameters = list(inspect.signature(FILTERS[name]).parameters.values())
    wanted = ["_input"] + [p.name for p in parameters[1:]]
    assert sorted(doc["options"]) == sorted(wanted)
    required = sorted(["_input"] + [p.name for p in parameters[1:] if p.default is inspect.Parameter.empty])
    assert sorted(o for o, spec in doc["options"].items() if spec.get("required")) == required
