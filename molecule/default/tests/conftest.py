import contextlib
import functools
import os
import subprocess
import sys
import tempfile

import pytest

# stack.py (this directory) and the role scenarios' dcvtest.py
sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "roles_shared"))

import dcvtest  # noqa: E402
import stack  # noqa: E402


@pytest.fixture(scope="session")
def fact_cache():
    """Environment for site.yml runs that take every host's facts from a cache (gathering=smart), filled here once
    with what site.yml's preflight gathers (subsets min and network): a bad-input case then costs only the
    preflight itself, and a run limited to host A still sees host B's address, which the wiring reads (docs/fleet.md
    "Job slicing": a run gathers facts only for the hosts of its --limit)."""
    with tempfile.TemporaryDirectory() as directory:
        env = {"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": directory,
               "ANSIBLE_GATHERING": "smart"}
        result = subprocess.run(
            ["ansible", "-i", stack.inventory(), "dcv_brokers:dcv_gateways:dcv_servers", "-m",
             "ansible.builtin.gather_facts", "-a", "gather_subset=min,network"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ, **env), timeout=300, check=False)
        assert result.returncode == 0, result.stdout.decode("utf-8", "replace")[-3000:]
        yield env


# the helper as dcvtest defines it, before the fixtures below bind it to a host of this scenario
RUN_PLAYBOOK = dcvtest.run_playbook


@contextlib.contextmanager
def _reruns_limited_to(limit, env):
    """dcvtest.run_playbook (this scenario's converge.yml, which is site.yml) limited to ``limit`` (None: both hosts),
    with every host's facts from the cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dcvtest, "run_playbook", functools.partial(RUN_PLAYBOOK, limit=limit, env=env))
        yield


@pytest.fixture(scope="session", autouse=True)
def role_reruns_on_host_a(fact_cache):
    """The re-runs the host-A tests share with the role scenarios (dcvtest.run_playbook: this scenario's converge.yml,
    which is site.yml) run on host A alone (--limit), with every host's facts from the cache. Only the host-A and
    host-B tests call dcvtest.run_playbook here; the whole-stack tests run site.yml on both hosts through
    stack.run_site."""
    with _reruns_limited_to(stack.A_NAME, fact_cache):
        yield


@pytest.fixture(scope="module")
def role_reruns_on_host_b(fact_cache):
    """For a module of host-B tests (pytestmark usefixtures): its re-runs are site.yml limited to host B (its roles
    read host A's variables and cached facts, never change host A). Set up after the session's host-A binding (a
    wider scope comes first), undone at the end of the module."""
    with _reruns_limited_to(stack.B_NAME, fact_cache):
        yield


@pytest.fixture
def role_reruns_on_both_hosts(fact_cache):
    """For one test whose assertion reads every host's line of the PLAY RECAP: its re-runs are site.yml on both
    hosts."""
    with _reruns_limited_to(None, fact_cache):
        yield
