#!/usr/bin/env bash
# Fleet scale (benchmarks/README.md, section "fleet.sh", records the figures).
#
#   benchmarks/fleet.sh [preflight] [SIZES...]      (default sizes: 10 100 1000; no containers, no host contacted)
#     site.yml's preflight play alone (its first play, taken from playbooks/site.yml unchanged) over generated
#     inventories of SIZES hosts: one broker+gateway host (Amazon Linux 2023) and SIZES-1 DCV servers (Ubuntu
#     22.04), each with dcv_host_name and dcv_host_addresses. Facts come from a jsonfile fact cache filled from
#     benchmarks/fleet/facts.json, so gathering = smart skips every host; the CA goes to a scratch directory.
#     Prints wall time, time per host and the growth 10 -> 100 -> 1000 (linear: 10x per step), and fails when a
#     host is not ok or when a module ran on a host (the preflight must only reason about the inventory).
#     BENCH_PROFILE=1 adds ansible.posix.profile_tasks (the slowest tasks, per run, in the logs).
#
#   benchmarks/fleet.sh converge N
#     Lab containers (benchmarks/stack/containers.sh, like benchmarks/stack.sh): host A (broker + gateway) and N
#     fresh DCV-server containers; converges site.yml, then re-runs it, and prints for each run the wall time, the
#     control node's CPU time, the machine's busy CPU time and the floor it sets (that CPU time over the cores), and,
#     per host, the tasks that executed a module (benchmarks/callback_plugins/module_count.py). Needs podman and the lab
#     images (make setup); uses containers dcvkit-fleet-* and removes them at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/env.sh
. "$root/scripts/env.sh"
cd "$root"

mode=preflight
case "${1:-}" in
  preflight) shift ;;
  converge) mode=converge; shift ;;
esac

export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
export ANSIBLE_CALLBACK_PLUGINS="$here/callback_plugins"
callbacks=module_count
[ "${BENCH_PROFILE:-}" = 1 ] && callbacks="$callbacks,ansible.posix.profile_tasks"
export ANSIBLE_CALLBACKS_ENABLED="$callbacks"

machine() {
  local os
  os=$(. /etc/os-release && echo "$PRETTY_NAME")
  echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $os, $(date -u +%Y-%m-%d)," \
    "ansible-core $(python3 -c "import ansible.release; print(ansible.release.__version__)"), load $(cut -d' ' -f1-3 /proc/loadavg)"
}

per_host() { python3 -c "import sys; print('%.1f' % (1000 * float(sys.argv[1]) / int(sys.argv[2])))" "$1" "$2"; }

# ---- preflight: no containers ----------------------------------------------------------------------------------
preflight() {
  local sizes=("$@") work size dir wall cpu rc log counts
  [ ${#sizes[@]} -gt 0 ] || sizes=(10 100 1000)
  work=$(mktemp -d /tmp/dcvkit-fleet-bench.XXXXXX)
  # shellcheck disable=SC2064  # the directory is known now
  trap "rm -rf '$work'" EXIT
  python3 "$here/fleet/generate.py" preflight "$root/playbooks/site.yml" "$work/preflight.yml"

  machine
  printf '%-7s %9s %10s %9s %10s  %s\n' hosts "wall s" "ms/host" "CPU s" "CPU ms/host" \
    "modules on hosts (delegated to the control node)"
  declare -A walls=() cpus=()
  for size in "${sizes[@]}"; do
    dir="$work/$size"
    python3 "$here/fleet/generate.py" inventory "$size" "$dir" "$here/fleet/facts.json" "$dir/ca"
    log="$work/preflight-$size.log"
    counts="$dir/module-counts.json"
    # wall time and CPU time (user + system of ansible-playbook and its workers): on a shared machine the
    # CPU time is the steadier figure
    read -r wall cpu rc < <(ANSIBLE_CACHE_PLUGIN=ansible.builtin.jsonfile ANSIBLE_CACHE_PLUGIN_CONNECTION="$dir/facts" \
      ANSIBLE_CACHE_PLUGIN_TIMEOUT=0 ANSIBLE_GATHERING=smart DCVKIT_COUNT_MODULES_FILE="$counts" \
      python3 "$here/fleet/generate.py" run "$log" ansible-playbook -v -i "$dir/inventory.yml" "$work/preflight.yml")
    if [ "$rc" != 0 ]; then echo "FAILED: preflight over $size hosts" >&2; tail -40 "$log" >&2; exit 1; fi
    walls[$size]=$wall cpus[$size]=$cpu
    # every host in the recap, none failed or unreachable, and no module executed on any of them
    python3 - "$log" "$counts" "$size" <<'PY'
import json, re, sys
log, counts, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
recap = re.findall(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", open(log).read(), re.M)
bad = [r[0] for r in recap if int(r[3]) or int(r[4])]
if not recap or bad:
    sys.exit("%d hosts in the recap, not ok: %s" % (len(recap), bad[:5]))
# the DCV servers' checks run as one task per role on the first host (-v shows how many hosts each checked;
# the dcv_common checks of a front end report 1)
checked = [int(n) for n in re.findall(r"checked_hosts['\"]?:\s*(\d+)", open(log).read())]
if checked.count(size - 1) < 2:
    sys.exit("the DCV server and agent checks covered %s hosts, expected %d each" % (checked, size - 1))
total = json.load(open(counts))["total"]
if total["tasks"]:
    sys.exit("%d tasks executed a module on a host; the preflight must not contact hosts" % total["tasks"])
PY
    printf '%-7s %9s %10s %9s %10s  %s\n' "$size" "$wall" "$(per_host "$wall" "$size")" \
      "$cpu" "$(per_host "$cpu" "$size")" "$(python3 -c "import json, sys
t = json.load(open(sys.argv[1]))['total']
print('%d (%d)' % (t['tasks'], t['delegated']))" "$counts")"
  done
  local previous=""
  for size in "${sizes[@]}"; do
    if [ -n "$previous" ]; then
      python3 -c "import sys
a, b, c, d, n, m = sys.argv[1:]
print('growth %s -> %s hosts: wall %.1fx, CPU %.1fx (linear: %.0fx)'
      % (n, m, float(b) / float(a), float(d) / float(c), int(m) / int(n)))" \
        "${walls[$previous]}" "${walls[$size]}" "${cpus[$previous]}" "${cpus[$size]}" "$previous" "$size"
    fi
    previous=$size
  done
  if [ "${BENCH_PROFILE:-}" = 1 ]; then echo "logs with profile_tasks: $work (kept)"; trap - EXIT; fi
}

# ---- converge N: lab containers ----------------------------------------------------------------------------------
# CPU seconds this machine's cores spent busy since boot (user, nice, system, irq, softirq, steal)
busy_seconds() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / {printf "%.1f\n", ($2 + $3 + $4 + $7 + $8 + $9) / hz}' /proc/stat; }

# LABEL LOG: runs site.yml on the fleet; prints "wall control-node-CPU machine-CPU floor" (seconds), where the
# control node's CPU is ansible-playbook's and its workers' (podman exec included), and the floor is the machine's
# busy CPU time over its cores
measured() {
  local label=$1 log=$2 before after wall cpu rc
  before=$(busy_seconds)
  read -r wall cpu rc < <(python3 "$here/fleet/generate.py" run "$log" ansible-playbook -i "$work/fleet.yml" site.yml)
  after=$(busy_seconds)
  if [ "$rc" != 0 ]; then echo "FAILED: $label (log $log)" >&2; tail -30 "$log" >&2; exit 1; fi
  python3 -c "import sys; busy = float(sys.argv[3]) - float(sys.argv[2]); \
print('%s %s %.1f %.1f' % (sys.argv[1], sys.argv[4], busy, busy / int(sys.argv[5])))" "$wall" "$before" "$after" "$cpu" "$(nproc)"
}

converge() {
  local count=${1:?usage: benchmarks/fleet.sh converge N} names=() i
  network=dcvkit-fleet-net
  bench_prefix=dcvkit-fleet
  work=$(mktemp -d /tmp/dcvkit-fleet-converge.XXXXXX)
  # shellcheck source=benchmarks/stack/containers.sh
  . "$here/stack/containers.sh"
  trap cleanup EXIT
  cleanup; work=$(mktemp -d /tmp/dcvkit-fleet-converge.XXXXXX)
  bash "$root/tests/standins/build.sh" >/dev/null
  podman network create "$network" >/dev/null

  for i in $(seq 1 "$count"); do names+=("$bench_prefix-s$i"); done
  echo "==> host A and $count fresh DCV-server containers"
  start_container "$bench_prefix-a" "$DCVKIT_IMAGE_A"
  for name in "${names[@]}"; do start_container "$name" "$DCVKIT_IMAGE_B"; done
  wait_booted "$bench_prefix-a" "${names[@]}"
  inventory "$work/fleet.yml" "${names[@]}"

  local first_row again_row first again
  first_row=$(DCVKIT_COUNT_MODULES_FILE="$work/first.json" measured "converge" "$work/first.log")
  again_row=$(DCVKIT_COUNT_MODULES_FILE="$work/again.json" measured "re-run" "$work/again.log")
  read -r -a first <<<"$first_row"
  read -r -a again <<<"$again_row"

  echo
  machine
  # Every container runs on this machine: its cores are shared by the control node, podman and every host's own
  # work (package installs), so a run cannot take less than the machine's busy CPU time over its cores (the floor).
  # Real hosts bring their own CPUs; then only the control node's share is common to all of them.
  printf '%-34s %8s %18s %14s %9s\n' "" "wall s" "control node CPU s" "machine CPU s" "floor s"
  printf '%-34s %8s %18s %14s %9s\n' "converge (1 + $count hosts)" "${first[@]}"
  printf '%-34s %8s %18s %14s %9s\n' "no-change re-run (changed=$(changed_total "$work/again.log"))" "${again[@]}"
  echo
  echo "converge:"; sed -n '/MODULE EXECUTIONS PER HOST/,$p' "$work/first.log" | tail -n +2
  echo
  echo "re-run:"; sed -n '/MODULE EXECUTIONS PER HOST/,$p' "$work/again.log" | tail -n +2
}

if [ "$mode" = converge ]; then converge "$@"; else preflight "$@"; fi
