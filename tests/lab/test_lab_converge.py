"""A converge of the lab is clean: no warning an operator would have to read, and a re-run changes nothing."""

import os

from conftest import INVENTORY, ROOT, recap, run, warnings_in

FIRST_CONVERGE_LOG = os.path.join(ROOT, "build", "lab", "site.log")


def _slices(output):
    """The PLAY RECAPs of the first converge: one per --limit slice (scripts/lab-test.sh runs two)."""
    return [recap(part) for part in output.split("PLAY RECAP")[1:]]


def test_first_converge_of_fresh_hosts_printed_no_warning():
    # scripts/lab-test.sh destroys the lab first, so this log is the first converge of fresh containers
    with open(FIRST_CONVERGE_LOG, encoding="utf-8") as handle:
        output = handle.read()
    slices = _slices(output)
    assert slices, output[-2000:]
    counts = {host: c for part in slices for host, c in part.items()}
    assert set(counts) == {"dcvkit-lab-a", "dcvkit-lab-b"}, output[-2000:]
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in counts.values()), counts
    assert all(c["changed"] > 0 for c in counts.values()), "not a first converge: %s" % counts
    assert warnings_in(output) == []


def test_sliced_converge_equals_one_full_run():
    # Front ends in one --limit run, DCV servers in the next (as AWX job slicing runs them): the wiring still
    # saw the whole inventory, so a full run after them finds nothing to change (the next test) and each slice
    # touched only its own hosts
    with open(FIRST_CONVERGE_LOG, encoding="utf-8") as handle:
        slices = _slices(handle.read())
    assert [sorted(part) for part in slices] == [["dcvkit-lab-a"], ["dcvkit-lab-b"]]


def test_rerun_changes_nothing_and_prints_no_warning():
    result = run(["ansible-playbook", "-i", INVENTORY, "site.yml"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    counts = recap(result.stdout)
    assert counts and all(c["changed"] == 0 and c["failed"] == 0 for c in counts.values()), counts
    assert warnings_in(result.stdout + result.stderr) == []
