import os
import sys

# stack.py (this directory) and the role scenarios' dcvtest.py
sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "roles_shared"))
