# shellcheck shell=bash
# Lab containers for the benchmarks, shared by benchmarks/stack.sh and benchmarks/fleet.sh (converge mode).
# The caller sets, before sourcing: root (the repository), work (a scratch directory, removed by cleanup),
# network (a podman network of the benchmark's own) and bench_prefix (container names: PREFIX-a is host A,
# broker + gateway; the DCV-server containers are named by the caller, under the same prefix).

containers() { podman ps -a --format '{{.Names}}' | grep "^${bench_prefix:?}-" || true; }
cleanup() {
  # only this benchmark's containers, one by one by name
  for name in $(containers); do podman rm -f -t 2 "$name" >/dev/null 2>&1 || true; done
  podman network rm -f "${network:?}" >/dev/null 2>&1 || true
  rm -rf "${work:?}"
}

start_container() { # NAME IMAGE
  podman run -d --name "$1" --hostname "$1" --network "${network:?}" --systemd=always "$2" /lib/systemd/systemd >/dev/null
}
wait_booted() { for name in "$@"; do podman exec "$name" systemctl is-system-running --wait >/dev/null 2>&1 || true; done; }

inventory() { # FILE SERVER-NAMES...   (host A is PREFIX-a)
  local file=$1; shift
  {
    echo "all:"
    echo "  vars:"
    echo "    ansible_connection: containers.podman.podman"
    echo "    ansible_python_interpreter: /usr/bin/python3"
    echo "    dcv_package_source: control_node"
    echo "    dcv_package_dir: ${root:?}/build/standins"
    echo "    dcv_ca_path: ${work:?}/pki"
    echo "    dcv_allow_unsupported_platform: \"{{ ansible_facts['distribution'] == 'Debian' }}\"  # Debian 12 images"
    echo "    dcv_broker_install_java: false"
    echo "    dcv_broker_java_home: \"\""
    echo "    dcv_broker_heap_size: 256m"
    echo "    dcv_agent_broker_update_interval: 5"
    echo "    dcv_server_desktop: none  # the benchmark measures the stack, not a desktop download"
    echo "  children:"
    echo "    dcv_brokers: {hosts: {${bench_prefix:?}-a: {dcv_gateway_public_names: [${bench_prefix:?}-a]}}}"
    echo "    dcv_gateways: {hosts: {${bench_prefix:?}-a: {}}}"
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
