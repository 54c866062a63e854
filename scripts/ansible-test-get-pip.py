"""Stand-in for the get-pip bootstrap script that ansible-test downloads from a host this machine cannot reach.

ansible-test creates each sanity test's virtual environment without pip, then runs this file inside it with
pip's own arguments (the pinned pip and its packages). The Python's bundled ensurepip provides a pip; that
pip then installs the pinned versions from PyPI, which is reachable. scripts/sanity.sh seeds ansible-test's
cache with this file.
"""

import subprocess
import sys

# get-pip.py understands these two flags; plain `pip install` does not.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)
