import os
import sys

# the tests' shared helpers (operator_runs.py) sit beside them
sys.path.insert(0, os.path.dirname(__file__))
