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

containers() { podman ps -a --format '{{.Names}}' | grep '^dcvkit-bench-' || true; }
cleanup() {
  # only this script's containers, one by one by name
  for name in $(containers); do podman rm -f -t 2 "$name" >/dev/null 2>&1 || true; done
  podman network rm -f "$network" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

start_container() { # NAME IMAGE
  podman run -d --name "$1" --hostname "$1" --network "$network" --systemd=always "$2" /lib/systemd/systemd >/dev/null
}
wait_booted() { for name in "$@"; do podman exec "$name" systemctl is-system-running --wait >/dev/null 2>&1 || true; done; }

inventory() { # FILE SERVER-NAMES...
  local file=$1; shift
  {
    echo "all:"
    echo "  vars:"
    echo "    ansible_connection: containers.podman.podman"
    echo "    ansible_python_interpreter: /usr/bin/python3"
    echo "    dcv_package_source: control_node"
    echo "    dcv_package_dir: $root/build/standins"
    echo "    dcv_ca_path: $work/pki"
    echo "    dcv_allow_unsupported_platform: \"{{ ansible_facts['distribution'] == 'Debian' }}\"  # Debian 12 images"
    echo "    dcv_broker_install_java: false"
    echo "    dcv_broker_java_home: \"\""
    echo "    dcv_broker_heap_size: 256m"
    echo "    dcv_agent_broker_update_interval: 5"
    echo "  children:"
    echo "    dcv_brokers: {hosts: {dcvkit-bench-a: {dcv_gateway_public_names: [dcvkit-bench-a]}}}"
    echo "    dcv_gateways: {hosts: {dcvkit-bench-a: {}}}"
    echo "    dcv_servers:"
    echo "      hosts:"
    for name in "$@"; do
      echo "        $name: {dcv_host_addresses: [\"{{ ansible_facts['default_ipv4']['address'] }}\"]}"
    done
  } >"$file"
}

timed() { # LABEL LOG COMMAND... -> prints seconds, fails with the log's tail when the command fails
  local label=$1 log=$2; shift 2
  local t0 t1
  t0=$(date +%s.%N)
  if ! "$@" >"$log" 2>&1; then
    echo "FAILED: $label (log $log)" >&2; tail -30 "$log" >&2; exit 1
  fi
  t1=$(date +%s.%N)
  python3 -c "print('%.1f' % ($t1 - $t0))"
}

changed_total() { grep -E ' : ok=' "$1" | sed -E 's/.*changed=([0-9]+).*/\1/' | awk '{s += $1} END {print s + 0}'; }

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
