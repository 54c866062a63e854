#!/usr/bin/env bash
# `make lab`: brings up the two lab containers (idempotent) and deploys site.yml to them with the lab
# inventory. Containers keep running afterwards; `scripts/lab.sh --destroy` removes them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
# shellcheck source=scripts/env.sh
. "$here/env.sh"
root=$(repo_root); cd "$root"

network=dcvkit-lab-net
declare -A image=([dcvkit-lab-a]="$DCVKIT_IMAGE_A" [dcvkit-lab-b]="$DCVKIT_IMAGE_B")

if [ "${1:-}" = --destroy ]; then
  podman rm -f -t 5 "${!image[@]}" >/dev/null 2>&1 || true
  podman network rm -f "$network" >/dev/null 2>&1 || true
  echo "lab removed"; exit 0
fi

podman network exists "$network" || podman network create "$network" >/dev/null
for name in dcvkit-lab-a dcvkit-lab-b; do
  state=$(podman container inspect -f '{{.State.Status}}' "$name" 2>/dev/null || echo absent)
  case "$state" in
    running) ;;
    absent)
      step "starting $name (${image[$name]})"
      podman run -d --name "$name" --hostname "$name" --network "$network" --systemd=always \
        "${image[$name]}" /lib/systemd/systemd >/dev/null ;;
    *) step "starting $name (was $state)"; podman start "$name" >/dev/null ;;
  esac
done
for name in dcvkit-lab-a dcvkit-lab-b; do
  podman exec "$name" systemctl is-system-running --wait >/dev/null 2>&1 || true
done

step "ansible-playbook -i inventories/lab site.yml"
t0=$SECONDS
ansible-playbook -i inventories/lab site.yml
echo
echo "lab deployed in $((SECONDS - t0)) s. Where to look next:"
echo "  hosts:    podman exec -it dcvkit-lab-a bash   (broker + gateway)"
echo "            podman exec -it dcvkit-lab-b bash   (DCV server + agent)"
echo "  re-run:   . scripts/env.sh && ansible-playbook -i inventories/lab site.yml   (expect changed=0)"
echo "  remove:   bash scripts/lab.sh --destroy"
