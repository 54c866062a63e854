#!/usr/bin/env bash
# Benchmark: issue certificates to N inventory hosts (local connection, one directory per host) with
# dcvkit.session_manager.certificate and with the community.crypto chain (openssl_privatekey +
# openssl_csr_pipe + slurp + x509_certificate_pipe/ownca + copy). First run and no-change re-run each.
# Usage: benchmarks/pki.sh [HOSTS]
#   env BENCH_FORKS (default 5, ansible's default), BENCH_PIPELINING (default false, ansible's default),
#   BENCH_KEY_TYPE (rsa = RSA 3072, the module default, or ecdsa = P-256) for the host keys of both chains;
#   this repository's ansible.cfg uses forks=25 and pipelining=true.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
hosts=${1:-50}
forks=${BENCH_FORKS:-5}
pipelining=${BENCH_PIPELINING:-false}
key_type=${BENCH_KEY_TYPE:-rsa}
if [ -f "$root/scripts/env.sh" ]; then . "$root/scripts/env.sh"; fi
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$root/.collections}"
for collection in dcvkit/session_manager community/crypto; do
  if [ ! -d "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/$collection" ]; then
    echo "pki.sh: $collection is not under $ANSIBLE_COLLECTIONS_PATH: run 'make setup' first" >&2
    exit 2
  fi
done
python=$(command -v python3)
work=$(mktemp -d /tmp/dcvkit-pki-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

cat >"$work/ansible.cfg" <<CFG
[defaults]
forks = $forks
host_key_checking = false
retry_files_enabled = false
interpreter_python = $python
stdout_callback = ansible.builtin.default
[connection]
pipelining = $pipelining
CFG
export ANSIBLE_CONFIG="$work/ansible.cfg" ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP="$work/.tmp"

inventory() {  # $1 = directory of the host directories
  echo "[bench]"
  for i in $(seq -w 1 "$hosts"); do
    echo "host$i ansible_connection=local bench_host_dir=$1/host$i bench_ip=10.99.$((10#$i / 250)).$((10#$i % 250 + 1))"
  done
  echo "[all:vars]"
  echo "bench_ca_dir=$work/ca"
  echo "bench_key_type=$key_type"
}

ansible-playbook -i localhost, -e "bench_ca_dir=$work/ca" "$root/benchmarks/pki/ca.yml" >"$work/ca.log"

declare -A seconds changed
run() {  # $1 = label, $2 = playbook, $3 = hosts root, $4 = pass
  local log="$work/$1-$4.log" start end
  start=$(date +%s.%N)
  ansible-playbook -i "$3/inventory.ini" "$root/benchmarks/pki/$2" >"$log" 2>&1 || {
    echo "pki.sh: $1 ($4) failed, log follows" >&2; tail -40 "$log" >&2; exit 1; }
  end=$(date +%s.%N)
  seconds[$1-$4]=$(echo "$end - $start" | bc)
  changed[$1-$4]=$(awk '/ changed=/ {sub(/.*changed=/, ""); sub(/ .*/, ""); if ($1 > 0) n++} END {print n+0}' "$log")
}

for label in dcvkit community; do
  mkdir -p "$work/$label"
  for i in $(seq -w 1 "$hosts"); do mkdir -p "$work/$label/host$i"; done
  inventory "$work/$label" >"$work/$label/inventory.ini"
done
for pass in first rerun; do
  run dcvkit dcvkit.yml "$work/dcvkit" "$pass"
  run community community_crypto.yml "$work/community" "$pass"
done

# Both chains produced verifiable certificates for every host.
for label in dcvkit community; do
  for i in $(seq -w 1 "$hosts"); do
    openssl verify -CAfile "$work/ca/ca.pem" -purpose sslserver "$work/$label/host$i/server.pem" >/dev/null
  done
done

printf '%s hosts, %s host keys, forks=%s, pipelining=%s, %s cores, %s, ansible-core %s, cryptography %s\n' "$hosts" "$key_type" "$forks" "$pipelining" "$(nproc)" \
  "$(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo)" \
  "$(ansible --version | awk 'NR==1 {print $NF}' | tr -d ']')" "$($python -c 'import cryptography; print(cryptography.__version__)')"
printf '%-10s %14s %14s %s\n' pass dcvkit community.crypto "ratio (community/dcvkit)"
for pass in first rerun; do
  printf '%-10s %13.1fs %13.1fs %6.2fx   (hosts changed: %s vs %s)\n' "$pass" "${seconds[dcvkit-$pass]}" \
    "${seconds[community-$pass]}" "$(echo "${seconds[community-$pass]} / ${seconds[dcvkit-$pass]}" | bc -l)" \
    "${changed[dcvkit-$pass]}" "${changed[community-$pass]}"
done
