#!/usr/bin/env bash
# Proves rootful podman can run a systemd container here, and names the missing setting when it cannot.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
out=$(podman run --rm --network none localhost/dcvkit-lab-debian12:latest /bin/true 2>&1) && exit 0
case "$out" in
  *setrlimit*) die "podman cannot run containers: $out
missing setting: [containers] default_ulimits in /etc/containers/containers.conf (scripts/lab-host.sh writes it)" ;;
  *"cgroups in hybrid mode"*) die "podman cannot run containers: $out
missing setting: [engine] runtime = \"runc\" in /etc/containers/containers.conf (scripts/lab-host.sh writes it)" ;;
  *) die "podman cannot run containers: $out" ;;
esac
