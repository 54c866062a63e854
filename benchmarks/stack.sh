#!/usr/bin/env bash
# Whole-stack timings on the lab (benchmarks/README.md, section "stack.sh", records the figures):
#   1. first converge of site.yml on two fresh lab containers (host A: broker+gateway, host B: server+agent)
#   2. a no-change re-run (must report changed=0)
#   3. the floor: benchmarks/stack/floor.yml (facts + one stat per managed file) over the same hosts
#   4. ratio re-run / floor (target <= 2.0)
#   5. converge time with 1, 4 and 8 fresh DCV-server containers against the one converged host A
# Usage: benchmarks/stack.sh [--quick]   (--quick: only 1 and 4 servers)
# Uses its own containers (dcvkit-bench-*) and network, and removes them at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/env.sh
. "$root/scripts/env.sh"
cd "$root"

network=dcvkit-bench-net
image_a=${DCVKIT_IMAGE_A}
image_b=${DCVKIT_IMAGE_B}
server_counts=(1 4 8)
[ "${1:-}" = --quick ] && server_counts=(1 4)
work=$(mktemp -d /tmp/dcvkit-stack-bench.XXXXXX)
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0

bench_prefix=dcvkit-bench
# shellcheck source=benchmarks/stack/containers.sh
. "$here/stack/containers.sh"
trap cleanup EXIT

cleanup; work=$(mktemp -d /tmp/dcvkit-stack-bench.XXXXXX)
bash "$root/tests/standins/build.sh" >/dev/null
podman network create "$network" >/dev/null

echo "==> two fresh lab containers"
start_container dcvkit-bench-a "$image_a"
start_container dcvkit-bench-b1 "$image_b"
wait_booted dcvkit-bench-a dcvkit-bench-b1
inventory "$work/two.yml" dcvkit-bench-b1

first=$(timed "first converge" "$work/first.log" ansible-playbook -i "$work/two.yml" site.yml)
rerun=$(timed "re-run" "$work/rerun.log" ansible-playbook -i "$work/two.yml" site.yml)
rerun_changed=$(changed_total "$work/rerun.log")
floor=$(timed "floor" "$work/floor.log" ansible-playbook -i "$work/two.yml" benchmarks/stack/floor.yml)
ratio=$(python3 -c "print('%.2f' % ($rerun / $floor))")

echo
echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(date -u +%Y-%m-%d)"
printf '%-34s %8s\n' "first converge (2 hosts)" "${first} s"
printf '%-34s %8s\n' "no-change re-run (changed=$rerun_changed)" "${rerun} s"
printf '%-34s %8s\n' "floor (facts + stat)" "${floor} s"
printf '%-34s %8s\n' "ratio re-run / floor" "$ratio (target <= 2.0)"
[ "$rerun_changed" = 0 ] || echo "WARNING: the re-run changed $rerun_changed things; it must be 0"

echo
echo "==> DCV-server containers against one host A (fresh server containers each time)"
printf '%-8s %14s %14s\n' servers "converge s" "re-run s"
for count in "${server_counts[@]}"; do
  names=()
  for i in $(seq 1 "$count"); do names+=("dcvkit-bench-s$count-$i"); done
  for name in "${names[@]}"; do start_container "$name" "$image_b"; done
  wait_booted "${names[@]}"
  inventory "$work/n$count.yml" "${names[@]}"
  converge=$(timed "converge $count servers" "$work/n$count.log" ansible-playbook -i "$work/n$count.yml" site.yml)
  again=$(timed "re-run $count servers" "$work/n$count-again.log" ansible-playbook -i "$work/n$count.yml" site.yml)
  printf '%-8s %14s %14s\n' "$count" "$converge" "$again"
  for name in "${names[@]}"; do podman rm -f -t 2 "$name" >/dev/null; done
done
