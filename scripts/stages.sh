#!/usr/bin/env bash
# Runs the named test stages in order, each timed, then prints one summary line `N passed, N failed`.
# A stage is a Makefile target; `molecule:NAME` runs one molecule scenario. Exits 1 if any stage failed.
# `bg:STAGE` starts STAGE in the background, beside the stages after it: its output goes to build/stages/STAGE.log
# and is printed once it has ended; the summary waits for it. `make test` runs its longest scenario that way, since
# the scenarios spend much of their time waiting on timers and services rather than on the two cores.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
passed=0; failed=0; report=()
logs=build/stages
declare -A bg_pid=()

run_stage() {
  case "$1" in
    molecule:*) make --no-print-directory molecule SCENARIO="${1#molecule:}" ;;
    *) make --no-print-directory "$1" ;;
  esac
}

record() {  # stage, exit code, seconds
  if [ "$2" = 0 ]; then passed=$((passed + 1)); report+=("  ok    ${3}s  $1")
  else failed=$((failed + 1)); report+=("  FAIL  ${3}s  $1 (exit $2)"); fi
}

for stage in "$@"; do
  if [ "${stage#bg:}" != "$stage" ]; then
    stage=${stage#bg:}
    mkdir -p "$logs"
    printf '\n######## stage %s (in the background, output in %s/%s.log)\n' "$stage" "$logs" "$stage"
    (t0=$SECONDS; run_stage "$stage"; rc=$?; echo $((SECONDS - t0)) >"$logs/$stage.seconds"; exit $rc) \
      >"$logs/$stage.log" 2>&1 </dev/null &
    bg_pid[$stage]=$!
    continue
  fi
  t0=$SECONDS
  printf '\n######## stage %s\n' "$stage"
  run_stage "$stage"
  record "$stage" $? $((SECONDS - t0))
done

for stage in "${!bg_pid[@]}"; do
  wait "${bg_pid[$stage]}"
  rc=$?
  printf '\n######## stage %s (ran in the background)\n' "$stage"
  cat "$logs/$stage.log"
  record "$stage" "$rc" "$(cat "$logs/$stage.seconds" 2>/dev/null || echo '?')"
done

printf '\n######## summary\n'
printf '%s\n' "${report[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" = 0 ]
