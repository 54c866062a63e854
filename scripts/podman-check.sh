#!/usr/bin/env bash
# Proves the end state the lab needs: rootful podman runs a systemd image here, and two containers on one
# network resolve each other by name. Names the missing piece when either fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
image=localhost/dcvkit-lab-debian12:latest
out=$(podman run --rm --network none "$image" /bin/true 2>&1) || case "$out" in
  *setrlimit*) die "podman cannot run containers: $out
missing setting: [containers] default_ulimits in /etc/containers/containers.conf (scripts/lab-host.sh writes it)" ;;
  *"cgroups in hybrid mode"*) die "podman cannot run containers: $out
missing setting: [engine] runtime = \"runc\" in /etc/containers/containers.conf (scripts/lab-host.sh writes it)" ;;
  *) die "podman cannot run containers: $out" ;;
esac

backend=$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null)
[ "$backend" = netavark ] || die "podman's network backend is '$backend', not netavark: containers on a network cannot
resolve each other by name. Missing: packages netavark and aardvark-dns, and [network] network_backend = \"netavark\"
in /etc/containers/containers.conf (scripts/lab-host.sh does both; a backend change needs 'podman system reset'
when networks of the old backend exist)"

net=dcvkit-check-net; a=dcvkit-check-a; b=dcvkit-check-b
cleanup() { podman rm -f -t 0 "$a" "$b" >/dev/null 2>&1; podman network rm -f "$net" >/dev/null 2>&1; }
cleanup
trap cleanup EXIT
out=$(podman network create "$net" 2>&1) || die "podman network create failed: $out"
[ "$(podman network inspect -f '{{.DNSEnabled}}' "$net")" = true ] \
  || die "podman network $net has no DNS: install aardvark-dns (scripts/lab-host.sh installs it)"
out=$(podman run -d --name "$b" --network "$net" "$image" sleep 60 2>&1) || case "$out" in
  *"netavark: No such file"*) die "could not start a container on network $net: $out
missing: the iptables command, which netavark runs (apt-get install iptables; scripts/lab-host.sh installs it)" ;;
  *) die "could not start a container on network $net: $out" ;;
esac
if ! resolved=$(podman run --rm --name "$a" --network "$net" "$image" getent hosts "$b" 2>&1); then
  die "container $a cannot resolve $b on network $net: $resolved
missing: aardvark-dns (name resolution on podman networks)"
fi
echo "podman: systemd image runs; containers on one network resolve each other by name ($resolved)"
