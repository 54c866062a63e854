#!/usr/bin/env bash
# Builds the lab's systemd container images from the distributions' archives with debootstrap (there is no
# container registry here). Debian 12 is required; Ubuntu 22.04 is built when its archive answers, otherwise
# the lab runs on Debian only and says so. Skips images that already exist.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

# Packages every lab host needs: systemd as PID 1, Python for Ansible, the distribution's cryptography
# (the PKI module runs on it: 3.4.8 on jammy, 38.x on bookworm), TLS tools for the tests.
# debootstrap cannot configure python3-* modules in its first pass, so they are added with apt in a chroot.
include=systemd,systemd-sysv,dbus,python3,sudo,iproute2,procps,ca-certificates
extra="python3-cryptography openssl curl gnupg"

build() { # name suite mirror [debootstrap args...]
  local name=$1 suite=$2 mirror=$3; shift 3
  local image=localhost/dcvkit-lab-$name:latest
  if podman image exists "$image"; then echo "image $image: present"; return 0; fi
  local root; root=$(mktemp -d /var/tmp/dcvkit-rootfs.XXXXXX)
  # The RETURN trap outlives this function in bash: it clears itself so that the caller's return does not
  # run it again after $root is gone (set -u).
  trap 'rm -rf "$root"; trap - RETURN' RETURN
  step "debootstrap $suite -> $image"
  local t0=$SECONDS
  debootstrap --variant=minbase --include="$include" "$@" "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; rm -f "$root.log"; return 1; }
  # shellcheck disable=SC2086
  chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
    sh -c "apt-get -qq update && apt-get -qq install -y --no-install-recommends $extra" >"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; rm -f "$root.log"; return 1; }
  rm -f "$root.log"
  # A container gets its identity and resolver from podman; units that need real hardware are masked.
  : >"$root/etc/machine-id"
  rm -f "$root/etc/resolv.conf"; : >"$root/etc/resolv.conf"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  for unit in getty.target console-getty.service systemd-logind.service systemd-resolved.service \
              systemd-remount-fs.service dev-hugepages.mount sys-kernel-debug.mount; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  tar --numeric-owner -C "$root" -cf - . | podman import \
    --change 'CMD=["/lib/systemd/systemd"]' --change 'STOPSIGNAL=SIGRTMIN+3' \
    --change 'ENV=container=podman' - "$image" >/dev/null 2>&1
  echo "image $image: built in $((SECONDS - t0)) s"
}

build debian12 bookworm http://deb.debian.org/debian

if [ "${DCVKIT_SKIP_UBUNTU:-}" = 1 ]; then
  echo "Ubuntu 22.04 image: skipped (DCVKIT_SKIP_UBUNTU=1); host B runs Debian 12"
  exit 0
fi
ubuntu_mirror=http://archive.ubuntu.com/ubuntu
# Debian has no ubuntu-keyring package: the keyring .deb comes from Ubuntu's pool, pinned by its sha256, so
# that debootstrap still checks the archive's Release signature with a key we did not take on trust.
keyring_deb=pool/main/u/ubuntu-keyring/ubuntu-keyring_2021.03.26_all.deb
keyring_sha256=0d0e7ed6b112f5d03eabf3c7eb01ebdacf9c57714b279e90495cfc58c8c4520f

build_ubuntu() {
  # No RETURN trap here: build() sets its own, and bash keeps one RETURN trap for the whole shell.
  local keydir rc=0; keydir=$(mktemp -d)
  if curl -fsS --max-time 60 -o "$keydir/k.deb" "$ubuntu_mirror/$keyring_deb" \
      && { echo "$keyring_sha256  $keydir/k.deb" | sha256sum --quiet -c - || { echo "ubuntu-keyring checksum mismatch" >&2; false; }; } \
      && dpkg-deb -x "$keydir/k.deb" "$keydir/x"; then
    build ubuntu2204 jammy "$ubuntu_mirror" \
      --keyring="$keydir/x/usr/share/keyrings/ubuntu-archive-keyring.gpg" --components=main,universe || rc=$?
  else
    rc=1
  fi
  rm -rf "$keydir"
  return "$rc"
}

if podman image exists localhost/dcvkit-lab-ubuntu2204:latest; then
  echo "image localhost/dcvkit-lab-ubuntu2204:latest: present"
elif ! curl -fsS --max-time 15 -o /dev/null "$ubuntu_mirror/dists/jammy/Release"; then
  echo "Ubuntu 22.04 image: archive did not answer; continuing with Debian 12 only (host B runs Debian 12)"
elif ! build_ubuntu; then
  echo "Ubuntu 22.04 image: build failed (see above); continuing with Debian 12 only (host B runs Debian 12)"
fi
