#!/usr/bin/env bash
# Prepares this machine (Debian-family, root) to run the container lab: apt packages and the two podman
# settings that rootful podman needs here (see docs/development.md). Idempotent and quiet when done.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

# netavark + aardvark-dns: container networks with DNS, so lab hosts reach each other by name (Debian's podman
# only recommends them; without them podman falls back to CNI with no name resolution). netavark runs the
# iptables command, which nothing declares ("netavark: No such file or directory" without it).
# chromium + chromium-driver + libnss3-tools: the real browser at the end of `make lab` (its own NSS trust store).
# rpm (rpmbuild, rpmsign) + gnupg: the stand-in RPMs (tests/standins/build-rpms.sh) and the Amazon Linux 2023
# stand-in image's own RPMs (scripts/lab-images.sh), signed with test keys.
packages=(podman runc netavark aardvark-dns iptables debootstrap openssl default-jdk-headless dpkg-dev curl shellcheck
          chromium chromium-driver libnss3-tools rpm gnupg)
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
# network_backend = "netavark": the backend with DNS between containers (aardvark-dns).
if ! grep -qs '^ *default_ulimits' "$conf" || ! grep -qs '^ *runtime *= *"runc"' "$conf" \
    || ! grep -qs '^ *network_backend *= *"netavark"' "$conf"; then
  if [ -s "$conf" ] && ! grep -qs 'Written by dcvkit' "$conf" && grep -qsE '^[[:space:]]*[^#[:space:]]' "$conf"; then
    die "$conf exists with settings of its own but lacks default_ulimits, runtime=\"runc\" and/or network_backend;
add under [containers]: default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]
and under [network]: network_backend = \"netavark\"
and under [engine]: runtime = \"runc\""
  fi
  step "writing $conf (ulimits nofile=$nofile nproc=$nproc, runtime runc, network backend netavark)"
  mkdir -p /etc/containers
  cat >"$conf" <<CONF
# Written by dcvkit.session_manager scripts/lab-host.sh for the container lab.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[network]
network_backend = "netavark"
[engine]
runtime = "runc"
CONF
fi
