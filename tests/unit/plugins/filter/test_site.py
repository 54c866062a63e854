# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dcvkit.session_manager.plugins.filter.site_batches import dcv_site_batches

SERVERS = ["s%d" % i for i in range(10)]


def test_no_setting_is_one_batch_so_both_sides_work_at_once():
    assert dcv_site_batches(["a"], ["b"]) == "100%"
    assert dcv_site_batches(["a"], ["b"], "", "") == "100%"


def test_front_ends_first_in_their_batches_then_the_servers():
    assert dcv_site_batches(["g1", "g2", "g3"], SERVERS, 1, "25%") == [1, 1, 1, 2, 2, 2, 2, 2]
    assert dcv_site_batches(["g1", "g2", "g3"], SERVERS, 2, None) == [2, 1, 10]
    assert dcv_site_batches(["g1"], SERVERS, None, 4) == [1, 4, 4, 2]


def test_a_host_in_both_groups_counts_once_as_a_front_end():
    assert dcv_site_batches(["a"], ["a", "b", "c"], 1, 1) == [1, 1, 1]


def test_only_one_side():
    assert dcv_site_batches([], SERVERS, None, "50%") == [5, 5]
    assert dcv_site_batches(["g1", "g2"], [], 1, None) == [1, 1]


@pytest.mark.parametrize("bad", [0, "0", "-1", "lots", "0%", "150%"])
def test_bad_batch_sizes_name_the_variable(bad):
    with pytest.raises(Exception, match="dcv_site_serial_servers"):
        dcv_site_batches(["a"], ["b"], None, bad)
