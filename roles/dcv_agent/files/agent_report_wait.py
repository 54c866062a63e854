#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dcvkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until the agent log, from byte OFFSET on, shows that the agent's latest report to the broker succeeded.

usage: agent_report_wait.py LOG_FILE OFFSET TIMEOUT_SECONDS
Exit 0 and print the success line; else exit 1 and print the log's last error (or say there was none).
"""
import os
import re
import sys
import time

# sm-admin "Step 5: Verify the installations": a sessionsUpdateResponse line that contains success (a word:
# "unsuccessful" does not count; plugins/module_utils/verify_rows.py applies the same rule)
SUCCESS = re.compile(r"sessionsUpdateResponse.*\bsuccess\b", re.IGNORECASE)
ERROR = re.compile(r"\b(ERROR|FATAL|failed|refusing)\b", re.IGNORECASE)


def main(argv):
    path, offset, timeout = argv[1], int(argv[2]), float(argv[3])
    deadline = time.time() + timeout
    last_error = None
    while True:
        latest = None
        if os.path.exists(path):
            with open(path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                handle.seek(offset if offset <= size else 0)  # rotated or truncated: read it all
                for raw in handle.read().decode("utf-8", "replace").splitlines():
                    if SUCCESS.search(raw):
                        latest = ("ok", raw.strip())
                    elif ERROR.search(raw):
                        latest = ("error", raw.strip())
                        last_error = raw.strip()
        if latest and latest[0] == "ok":
            print("ok: %s" % latest[1])
            return 0
        if time.time() >= deadline:
            print("the agent did not report successfully to the broker within %ds; last error in %s: %s"
                  % (timeout, path, last_error or "none logged"))
            return 1
        time.sleep(2)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
