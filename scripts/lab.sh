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
# Host A is the Amazon Linux 2023 TEST stand-in when that image exists (the reference topology), Debian 12
# otherwise; DCVKIT_LAB_IMAGE_A chooses another. firewalld runs on it, which needs NET_ADMIN.
lab_image_a=${DCVKIT_LAB_IMAGE_A:-}
if [ -z "$lab_image_a" ]; then
  if podman image exists localhost/dcvkit-lab-al2023standin:latest; then
    lab_image_a=localhost/dcvkit-lab-al2023standin:latest
  else
    lab_image_a=$DCVKIT_IMAGE_A
    echo "host A: the Amazon Linux 2023 stand-in image is missing; host A runs $lab_image_a"
  fi
fi
declare -A image=([dcvkit-lab-a]="$lab_image_a" [dcvkit-lab-b]="$DCVKIT_IMAGE_B")
declare -A caps=([dcvkit-lab-a]="--cap-add=NET_ADMIN" [dcvkit-lab-b]="")
# Fixed addresses, as real hosts have fixed private IPs: inventories/lab/host_vars lists them in
# dcv_host_addresses, so playbooks that gather no facts (session.yml) derive the same wiring as site.yml.
# Keep these three in step with inventories/lab/host_vars/.
subnet=10.213.61.0/24
declare -A address=([dcvkit-lab-a]=10.213.61.11 [dcvkit-lab-b]=10.213.61.12)

if [ "${1:-}" = --destroy ]; then
  podman rm -f -t 5 "${!image[@]}" >/dev/null 2>&1 || true
  podman network rm -f "$network" >/dev/null 2>&1 || true
  echo "lab removed"; exit 0
fi

if podman network exists "$network" \
    && [ "$(podman network inspect -f '{{range .Subnets}}{{.Subnet}}{{end}}' "$network")" != "$subnet" ]; then
  step "recreating $network on $subnet (it was created by an older lab.sh)"
  podman rm -f -t 5 "${!image[@]}" >/dev/null 2>&1 || true
  podman network rm -f "$network" >/dev/null
fi
podman network exists "$network" || podman network create --subnet "$subnet" "$network" >/dev/null
for name in dcvkit-lab-a dcvkit-lab-b; do
  state=$(podman container inspect -f '{{.State.Status}}' "$name" 2>/dev/null || echo absent)
  case "$state" in
    running) ;;
    absent)
      step "starting $name (${image[$name]})"
      # shellcheck disable=SC2086
      podman run -d --name "$name" --hostname "$name" --network "$network" --ip "${address[$name]}" --systemd=always \
        ${caps[$name]} "${image[$name]}" /lib/systemd/systemd >/dev/null ;;
    *) step "starting $name (was $state)"; podman start "$name" >/dev/null ;;
  esac
done
for name in dcvkit-lab-a dcvkit-lab-b; do
  podman exec "$name" systemctl is-system-running --wait >/dev/null 2>&1 || true
done

# DCVKIT_COUNT_MODULES=1: at the end of each run, print per host how many tasks executed a module
# (benchmarks/callback_plugins/module_count.py, benchmarks/README.md); unset, the runs are as always
if [ "${DCVKIT_COUNT_MODULES:-}" = 1 ]; then
  export ANSIBLE_CALLBACK_PLUGINS="$root/benchmarks/callback_plugins${ANSIBLE_CALLBACK_PLUGINS:+:$ANSIBLE_CALLBACK_PLUGINS}"
  export ANSIBLE_CALLBACKS_ENABLED="module_count${ANSIBLE_CALLBACKS_ENABLED:+,$ANSIBLE_CALLBACKS_ENABLED}"
fi

mkdir -p build/lab
t0=$SECONDS
if [ -z "${DCVKIT_LAB_SLICES:-}" ]; then
  step "ansible-playbook -i inventories/lab site.yml   (output also in build/lab/site.log)"
  ansible-playbook -i inventories/lab site.yml 2>&1 | tee build/lab/site.log
else
  # Job slicing, as AWX runs a sliced job template: one run per --limit slice, one after another (front ends
  # first). DCVKIT_LAB_SLICES lists the slices, e.g. "dcv_brokers:dcv_gateways dcv_servers".
  : >build/lab/site.log
  for slice in $DCVKIT_LAB_SLICES; do
    step "ansible-playbook -i inventories/lab site.yml --limit $slice   (output also in build/lab/site.log)"
    ansible-playbook -i inventories/lab site.yml --limit "$slice" 2>&1 | tee -a build/lab/site.log
  done
fi
deployed=$((SECONDS - t0))

# Open a desktop the way an operator does (playbooks/session.yml), then follow its URL through the stand-in
# gateway route from host B with strict TLS. Without a URL, show the resolver check instead.
lab_user=labuser
# session.yml's default session type (virtual), placed on host B by the host name its agent reports
lab_server=$(podman exec dcvkit-lab-b hostname)
podman exec dcvkit-lab-b id "$lab_user" >/dev/null 2>&1 || podman exec dcvkit-lab-b useradd -m -s /bin/bash "$lab_user"
step "ansible-playbook -i inventories/lab playbooks/session.yml -e dcv_session_owner=$lab_user -e dcv_session_server=$lab_server"
url=""
if session_out=$(ansible-playbook -i inventories/lab playbooks/session.yml \
    -e dcv_session_owner="$lab_user" -e dcv_session_server="$lab_server" 2>&1); then
  url=$(printf '%s\n' "$session_out" | grep -o 'https://[^ "]*authToken=[^ "]*' | tail -1 || true)
else
  printf '%s\n' "$session_out" | tail -15
fi
desktop_ok=0
if [ -n "$url" ]; then
  # A real browser on this machine, as a user behind the endpoint: the public name maps to host A, only the
  # lab CA is trusted besides the defaults. The URL travels in the environment, not on a command line.
  step "opening the desktop in headless Chromium (scripts/lab_browser.py)"
  DCVKIT_LAB_URL=$url python3 scripts/lab_browser.py || desktop_ok=$?
  echo
  echo "desktop URL (valid for the broker's connection-token lifetime):"
  echo "  $url"
  echo "screenshot of it: $root/build/lab/desktop.png"
  echo "to open it in your own browser, on your machine:"
  echo "  ssh -L 8443:${address[dcvkit-lab-a]}:8443 root@THIS-MACHINE     (keep it open)"
  echo "  add '127.0.0.1 dcvkit-lab-a' to your hosts file, trust $root/build/lab/pki/ca.pem as an authority"
  echo "  in the browser (for this name only), then open the URL above"
else
  echo
  echo "no session URL; the resolver check from host A (strict TLS, the gateway's CA, unknown session -> 404):"
  podman exec dcvkit-lab-a curl -sS --max-time 20 --cacert /etc/dcv-connection-gateway/certs/ca.pem -X POST \
    -w ' (HTTP %{http_code})\n' \
    'https://dcvkit-lab-a:8447/resolveSession?sessionId=lab-check&transport=HTTP&clientIpAddress=127.0.0.1' || true
  desktop_ok=1
fi

echo
echo "lab deployed in $deployed s. Where to look next:"
echo "  hosts:    podman exec -it dcvkit-lab-a bash   (broker + gateway)"
echo "            podman exec -it dcvkit-lab-b bash   (DCV server + agent)"
echo "  re-run:   . scripts/env.sh && ansible-playbook -i inventories/lab site.yml   (expect changed=0)"
echo "  remove:   bash scripts/lab.sh --destroy"
[ "$desktop_ok" = 0 ] || die "the desktop did not open in the browser (see above)"
