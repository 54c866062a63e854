#!/usr/bin/env bash
# pytest over tests/unit, one worker per core (pytest-xdist); "no tests collected" (exit 5) is a failure: a
# stage that tests nothing must not pass.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
pytest -q -n auto tests/unit "$@"
