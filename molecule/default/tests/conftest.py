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


@pytest.fixture(scope="session", autouse=True)
def role_reruns_on_host_a(fact_cache):
    """The re-runs the host-A tests share with the role scenarios (dcvtest.run_playbook: this scenario's converge.yml,
    which is site.yml) run on host A alone (--limit), with every host's facts from the cache. Only those tests call
    dcvtest.run_playbook here; the whole-stack tests run site.yml on both hosts through stack.run_site."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dcvtest, "run_playbook",
                      functools.partial(dcvtest.run_playbook, limit=stack.A_NAME, env=fact_cache))
        yield
