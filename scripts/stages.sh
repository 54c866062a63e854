#!/usr/bin/env bash
# Runs the named test stages in order, each timed, then prints one summary line `N passed, N failed`.
# A stage is a Makefile target; `molecule:NAME` runs one molecule scenario. Exits 1 if any stage failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
passed=0; failed=0; report=()
for stage in "$@"; do
  t0=$SECONDS
  printf '\n######## stage %s\n' "$stage"
  case "$stage" in
    molecule:*) make --no-print-directory molecule SCENARIO="${stage#molecule:}" ;;
    *) make --no-print-directory "$stage" ;;
  esac
  rc=$?
  secs=$((SECONDS - t0))
  if [ "$rc" = 0 ]; then passed=$((passed + 1)); report+=("  ok    ${secs}s  $stage")
  else failed=$((failed + 1)); report+=("  FAIL  ${secs}s  $stage (exit $rc)"); fi
done
printf '\n######## summary\n'
printf '%s\n' "${report[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" = 0 ]
