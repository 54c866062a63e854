# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The input checks of the roles, as plain functions of a host's variables (the preflight action runs them on the
control node). Each module names the variables it reads (NEEDS) and returns the problems it finds, each a message
that names the operator's variable and the fix. An empty list means the input is good."""
