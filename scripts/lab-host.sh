#!/usr/bin/env bash
# Prepares this machine (Debian-family, root) to run the container lab: apt packages and the two podman
# settings that rootful podman needs here (see docs/development.md). Idempotent and quiet when done.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

packages=(podman runc debootstrap openssl default-jdk-headless dpkg-dev curl shellcheck)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  [ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]}"
  step "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Root here lacks CAP_SYS_RESOURCE, so containers must not ask for more than the hard limits we have;
# crun cannot drive the hybrid cgroup v1 layout, runc can.
conf=/etc/containers/containers.conf
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu); [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
if ! grep -qs '^ *default_ulimits' "$conf" || ! grep -qs '^ *runtime *= *"runc"' "$conf"; then
  if [ -s "$conf" ] && grep -qsE '^[[:space:]]*[^#[:space:]]' "$conf"; then
    die "$conf exists with settings of its own but lacks default_ulimits and/or runtime=\"runc\";
add under [containers]: default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]
and under [engine]: runtime = \"runc\""
  fi
  step "writing $conf (ulimits nofile=$nofile nproc=$nproc, runtime runc)"
  mkdir -p /etc/containers
  cat >"$conf" <<CONF
# Written by dcvkit.session_manager scripts/lab-host.sh for the container lab.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
CONF
fi
