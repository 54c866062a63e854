# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The option of every module that runs the broker's command line on a broker host
    DOCUMENTATION = r"""
options:
  broker_cli:
    description:
      - The broker CLI. A bare name is looked up on E(PATH) and in the usual system directories.
    type: str
    default: dcv-session-manager-broker
"""
