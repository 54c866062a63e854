#!/usr/bin/env bash
# `make test` stage: the README's `make lab` path from fresh containers, then the tests that need the running lab
# (tests/lab: a clean converge, the desktop in a real browser, the installed collection). Removes the lab after.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/env.sh"
cd "$here/.." || exit 1
bash scripts/lab.sh --destroy >/dev/null
rc=0
# The first converge runs in two --limit slices (front ends, then DCV servers), as a sliced AWX job does; the
# tests then prove that a full run finds nothing left to change (tests/lab/test_lab_converge.py).
DCVKIT_LAB_SLICES="dcv_brokers:dcv_gateways dcv_servers" bash scripts/lab.sh || rc=$?
if [ "$rc" = 0 ]; then
  DCVKIT_LAB=1 python3 -m pytest -p no:cacheprovider -o addopts= -o testpaths= -v tests/lab "$@" || rc=$?
fi
[ "${DCVKIT_KEEP_LAB:-}" = 1 ] || bash scripts/lab.sh --destroy >/dev/null
exit "$rc"
