#!/usr/bin/env bash
# Builds the lab's systemd container images from the distributions' archives with debootstrap (there is no
# container registry here). Debian 12 is required; Ubuntu 22.04 is built when its archive answers, otherwise
# the lab runs on Debian only and says so. The Amazon Linux 2023 TEST STAND-IN (a Debian 12 root with AL2023's
# release files, an RPM database, dnf and firewalld; DCVKIT_SKIP_AL2023=1 skips it) needs rpmbuild on this machine.
# Skips images that already exist.
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

# Amazon Linux 2023 TEST STAND-IN (host A of the reference topology). No RPM mirror answers here, so this image is
# a Debian 12 root dressed as AL2023 for the roles' RedHat-family code: AL2023's release files (ansible facts
# Amazon / RedHat / 2023 / dnf / systemd), an RPM database at /var/lib/rpm holding al2023-standin-base (it
# Provides, under AL2023 package names, what Debian installed), Debian's dnf, firewalld enabled, and a local
# signed dnf repository with the stand-in Corretto 11. It is NOT Amazon Linux:
# /etc/dcvkit-standin-os and a comment in os-release say so (tests/standins/README.md, last section).
al2023_image=localhost/dcvkit-lab-al2023standin:latest
al2023_release=2023.10.20260216
al2023_packages="rpm dnf python3-dnf python3-rpm createrepo-c firewalld nftables netbase"
# AL2023 package name = Debian package that stands in for it (versions come from dpkg)
al2023_provides="bash=bash coreutils=coreutils glibc=libc6 glibc-common=libc-bin shadow-utils=passwd systemd=systemd
  systemd-libs=libsystemd0 util-linux=util-linux procps-ng=procps iproute=iproute2 findutils=findutils grep=grep
  sed=sed tar=tar gzip=gzip sudo=sudo ca-certificates=ca-certificates openssl=openssl curl=curl gnupg2=gnupg
  dbus=dbus python3=python3 python3-cryptography=python3-cryptography rpm=rpm python3-rpm=python3-rpm dnf=dnf
  python3-dnf=python3-dnf createrepo_c=createrepo-c firewalld=firewalld python3-firewall=python3-firewall
  nftables=nftables python3-nftables=python3-nftables"
al2023_file_provides="/bin/sh /usr/bin/sh /bin/bash /usr/bin/bash /usr/bin/python3 /usr/bin/systemctl /usr/bin/getent
  /usr/sbin/useradd /usr/sbin/groupadd /usr/sbin/nologin /usr/bin/env"
al2023_corretto=11.0.30+7
al2023_repo=/var/lib/dcvkit-standin-repo
al2023_key=/etc/pki/rpm-gpg/RPM-GPG-KEY-dcvkit-standin-al2023

# %files of a staged tree: directories of its own (%dir), files under /etc as %config(noreplace)
_al2023_files() { # staged-root
  local path owned=" / /etc /etc/pki /usr /usr/bin /usr/lib /usr/share /usr/share/doc /var /var/lib "  # by the system
  echo "%files"
  echo "%defattr(-,root,root,-)"
  (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | sed 's|^\.||') | while read -r path; do
    if [ -d "$1$path" ] && [ ! -L "$1$path" ]; then
      case "$owned" in *" $path "*) ;; *) echo "%dir \"$path\"" ;; esac
    elif [ "${path#/etc/}" != "$path" ]; then
      echo "%config(noreplace) \"$path\""
    else
      echo "\"$path\""
    fi
  done
}

# rpmbuild with a spec read on stdin; the package lands in $2
_al2023_rpmbuild() { # work-dir rpm-dir
  cat >"$1/pkg.spec"
  rpmbuild -bb --quiet --define "_topdir $1/rpmbuild" --define "_rpmdir $2" \
    --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" --define "_binary_payload w9.gzdio" \
    --define "__os_install_post %{nil}" --define "_build_id_links none" --define "debug_package %{nil}" \
    "$1/pkg.spec" >"$1/rpmbuild.log" 2>&1 || { cat "$1/rpmbuild.log" >&2; return 1; }
}

# Release files, the stand-in RPMs (signed with a key made for this build and thrown away), the repository
_al2023_customize() { # root work
  local root=$1 work=$2 rpms=$2/rpms v p deb name
  mkdir -p "$rpms" "$work/base/etc" "$work/base/usr/lib" "$work/base/usr/share/doc/al2023-standin-base"
  # -- al2023-standin-base: AL2023's release files (system-release) + Provides for what Debian installed
  cat >"$work/base/usr/lib/os-release" <<OSREL
# dcvkit TEST STAND-IN of the OS, not Amazon Linux: a Debian 12 root with Amazon Linux 2023's release files (/etc/dcvkit-standin-os)
NAME="Amazon Linux"
VERSION="2023"
ID="amzn"
ID_LIKE="fedora"
VERSION_ID="2023"
PLATFORM_ID="platform:al2023"
PRETTY_NAME="Amazon Linux $al2023_release"
ANSI_COLOR="0;33"
CPE_NAME="cpe:2.3:o:amazon:amazon_linux:2023"
HOME_URL="https://aws.amazon.com/linux/amazon-linux-2023/"
DOCUMENTATION_URL="https://docs.aws.amazon.com/linux/"
SUPPORT_URL="https://aws.amazon.com/premiumsupport/"
BUG_REPORT_URL="https://github.com/amazonlinux/amazon-linux-2023"
VENDOR_NAME="AWS"
VENDOR_URL="https://aws.amazon.com/"
SUPPORT_END="2029-06-30"
OSREL
  echo "Amazon Linux release $al2023_release (Amazon Linux)" >"$work/base/etc/amazon-linux-release"
  echo "cpe:2.3:o:amazon:amazon_linux:2023" >"$work/base/etc/amazon-linux-release-cpe"
  ln -s amazon-linux-release "$work/base/etc/system-release"
  ln -s amazon-linux-release-cpe "$work/base/etc/system-release-cpe"
  printf '%s\n' "dcvkit TEST STAND-IN of Amazon Linux $al2023_release: a Debian 12 (bookworm) root with Amazon Linux 2023's" \
    "release files, RPM database, dnf and firewalld, built by dcvkit scripts/lab-images.sh for the collection's" \
    "tests. It is NOT Amazon Linux. See tests/standins/README.md (Amazon Linux 2023 stand-in host)." \
    >"$work/base/etc/dcvkit-standin-os"
  cp "$work/base/etc/dcvkit-standin-os" "$work/base/usr/share/doc/al2023-standin-base/README.standin"
  {
    cat <<SPEC
# TEST STAND-IN: generated by dcvkit scripts/lab-images.sh (not Amazon Linux)
Name: al2023-standin-base
Version: $al2023_release
Release: 1.amzn2023
Summary: TEST STAND-IN of Amazon Linux 2023's base (dcvkit): release files and Provides for Debian's packages
License: GPL-3.0-or-later
Vendor: dcvkit test stand-ins (not Amazon)
BuildArch: x86_64
AutoReqProv: no
Provides: system-release = $al2023_release, system-release(releasever) = 2023, amazon-linux-release = $al2023_release
SPEC
    for p in $al2023_provides; do
      name=${p%%=*}; deb=${p#*=}
      # shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
      v=$(chroot "$root" dpkg-query -W -f='${Version}' "$deb")
      v=${v#*:}; v=${v%-*}; v=${v//-/_}   # upstream version: no epoch, no Debian revision
      echo "Provides: $name = $v"
    done
    for p in $al2023_file_provides; do echo "Provides: $p"; done
    cat <<SPEC

%description
dcvkit TEST STAND-IN, not Amazon Linux: the image localhost/dcvkit-lab-al2023standin is a Debian 12 root
whose software comes from Debian packages. This package puts Amazon Linux 2023's release files in place and
Provides, under Amazon Linux package names, what Debian installed, so that dnf can resolve the dependencies of
RPM packages on it.

%install
cp -a '$work/base/.' '%{buildroot}/'

SPEC
    _al2023_files "$work/base"
  } | _al2023_rpmbuild "$work" "$rpms"

  # -- java-11-amazon-corretto-headless: the Java 11 home the broker expects; no JVM (the broker stand-in is Python)
  local jhome=/usr/lib/jvm/java-11-amazon-corretto.x86_64 jv=${al2023_corretto%+*} jb=${al2023_corretto#*+}
  mkdir -p "$work/java$jhome/bin" "$work/java/usr/bin" "$work/java/usr/share/doc/java-11-amazon-corretto-headless"
  cat >"$work/java$jhome/bin/java" <<JAVA
#!/bin/sh
# TEST STAND-IN of Amazon Corretto 11's java (dcvkit, AL2023 stand-in image): there is no JVM here. It answers
# -version like Corretto $al2023_corretto and refuses everything else; the broker stand-in is Python.
version() {
    echo 'openjdk version "$jv" 2026-01-20 LTS'
    echo 'OpenJDK Runtime Environment Corretto-$jv.$jb.1 (build $al2023_corretto-LTS)'
    echo 'OpenJDK 64-Bit Server VM Corretto-$jv.$jb.1 (build $al2023_corretto-LTS, mixed mode)'
}
case "\${1:-}" in
    -version|-showversion) version >&2; exit 0 ;;
    --version|--show-version) version; exit 0 ;;
esac
echo "java: dcvkit TEST STAND-IN of Corretto 11 (AL2023 stand-in image): no JVM is installed; only -version works" >&2
exit 1
JAVA
  chmod 0755 "$work/java$jhome/bin/java"
  printf 'JAVA_VERSION="%s"\nIMPLEMENTOR="Amazon.com Inc."\nIMPLEMENTOR_VERSION="Corretto-%s.%s.1"\n' \
    "$jv" "$jv" "$jb" >"$work/java$jhome/release"
  ln -s java-11-amazon-corretto.x86_64 "$work/java/usr/lib/jvm/java-11-amazon-corretto"
  ln -s java-11-amazon-corretto.x86_64 "$work/java/usr/lib/jvm/jre-11"
  ln -s "$jhome/bin/java" "$work/java/usr/bin/java"
  echo "TEST STAND-IN of java-11-amazon-corretto-headless (dcvkit): a java that only answers -version." \
    >"$work/java/usr/share/doc/java-11-amazon-corretto-headless/README.standin"
  {
    cat <<SPEC
# TEST STAND-IN: generated by dcvkit scripts/lab-images.sh (not Amazon Corretto)
Name: java-11-amazon-corretto-headless
Epoch: 1
Version: $al2023_corretto
Release: 1.amzn2023
Summary: TEST STAND-IN of Amazon Corretto 11 (headless) for the dcvkit AL2023 stand-in image: no JVM
License: GPL-3.0-or-later
Vendor: dcvkit test stand-ins (not Amazon)
BuildArch: x86_64
AutoReqProv: no
Requires: /bin/sh
Provides: java-11-headless = 1:$jv, jre-11-headless = 1:$jv, java-headless, jre-headless

%description
dcvkit TEST STAND-IN, not Amazon Corretto: $jhome (also reached as /usr/lib/jvm/java-11-amazon-corretto
and /usr/bin/java) holds a bin/java script that answers -version like Corretto 11 and refuses to run anything.
The broker stand-in is Python and needs no JVM.

%install
cp -a '$work/java/.' '%{buildroot}/'

SPEC
    _al2023_files "$work/java"
  } | _al2023_rpmbuild "$work" "$rpms"

  # -- sign them with a key made for this build (its secret part goes away with $work), publish the repository
  export GNUPGHOME=$work/gnupg
  mkdir -m 0700 "$GNUPGHOME"
  gpg --batch --quiet --passphrase '' --pinentry-mode loopback --quick-gen-key \
    "dcvkit TEST stand-in Amazon Linux 2023 repository key (not Amazon) <standins@dcvkit.invalid>" rsa3072 sign never
  rpmsign --addsign --define "_gpg_name standins@dcvkit.invalid" --define "__gpg $(command -v gpg)" \
    --define "_gpg_digest_algo sha256" "$rpms"/*.rpm >"$work/sign.log" 2>&1 || { cat "$work/sign.log" >&2; return 1; }
  mkdir -p "$root$al2023_repo" "$root$(dirname "$al2023_key")" "$root/etc/yum.repos.d" "$root/etc/rpm"
  gpg --batch --armor --export standins@dcvkit.invalid >"$root$al2023_key"
  gpgconf --kill gpg-agent
  unset GNUPGHOME
  cp "$rpms"/*.rpm "$root$al2023_repo/"
  chroot "$root" createrepo_c --quiet "$al2023_repo"
  cat >"$root/etc/yum.repos.d/dcvkit-standin.repo" <<REPO
# dcvkit TEST STAND-IN repository of the Amazon Linux 2023 stand-in image (not Amazon Linux): local and offline.
# Holds al2023-standin-base and java-11-amazon-corretto-headless (no JVM), signed by a key made for this
# image. No other repository is configured: dnf never tries the network here.
[dcvkit-standin]
name=dcvkit AL2023 TEST STAND-IN packages
baseurl=file://$al2023_repo
enabled=1
gpgcheck=1
repo_gpgcheck=0
gpgkey=file://$al2023_key
metadata_expire=never
skip_if_unavailable=False
REPO
  # The RPM database where Amazon Linux keeps it (Debian's rpm uses ~/.rpmdb); then the key and the base package.
  # dnf installs the base package (Debian's rpm -i works too, but warns that alien should be used instead).
  printf '%s\n' "# dcvkit AL2023 TEST STAND-IN: the RPM database where Amazon Linux keeps it" "%_dbpath /var/lib/rpm" \
    >"$root/etc/rpm/macros.dcvkit-standin"
  chroot "$root" rpm --initdb
  chroot "$root" rpm --import "$al2023_key"
  chroot "$root" dnf --quiet --assumeyes install al2023-standin-base >"$work/dnf.log" 2>&1 \
    || { cat "$work/dnf.log" >&2; return 1; }
  rm -rf "$root"/var/cache/dnf/* "$root"/var/log/dnf*.log "$root"/var/log/hawkey.log
}

# A subshell, so that its EXIT trap cleans up after any failure (set -e) as after success
build_al2023standin() (
  image=$al2023_image
  if podman image exists "$image"; then echo "image $image: present"; exit 0; fi
  for tool in rpmbuild rpmsign gpg gpgconf; do
    command -v "$tool" >/dev/null || die "$tool not found: scripts/lab-host.sh installs the Debian packages rpm and gnupg"
  done
  root=$(mktemp -d /var/tmp/dcvkit-rootfs.XXXXXX); work=$(mktemp -d /var/tmp/dcvkit-al2023.XXXXXX)
  trap 'GNUPGHOME="$work/gnupg" gpgconf --kill gpg-agent >/dev/null 2>&1 || true; rm -rf "$root" "$work" "$root.log"' EXIT
  step "debootstrap bookworm -> $image (Amazon Linux 2023 TEST STAND-IN)"
  t0=$SECONDS
  debootstrap --variant=minbase --include="$include" bookworm "$root" http://deb.debian.org/debian >"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; exit 1; }
  # netbase: firewalld refuses to start without /etc/protocols.
  # shellcheck disable=SC2086
  chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c "apt-get -qq update \
      && apt-get -qq install -y --no-install-recommends $extra $al2023_packages" \
    >"$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; exit 1; }
  _al2023_customize "$root" "$work"
  : >"$root/etc/machine-id"
  rm -f "$root/etc/resolv.conf"; : >"$root/etc/resolv.conf"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  for unit in getty.target console-getty.service systemd-logind.service systemd-resolved.service \
              systemd-remount-fs.service dev-hugepages.mount sys-kernel-debug.mount; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  chroot "$root" systemctl enable firewalld.service >/dev/null 2>&1
  tar --numeric-owner -C "$root" -cf - . | podman import \
    --change 'CMD=["/usr/lib/systemd/systemd"]' --change 'STOPSIGNAL=SIGRTMIN+3' \
    --change 'ENV=container=podman' - "$image" >/dev/null 2>&1
  echo "image $image: built in $((SECONDS - t0)) s, $(podman image inspect --format '{{.Size}}' "$image" \
    | awk '{ printf "%d MB", $1 / 1000000 }') (Debian 12 dressed as Amazon Linux 2023: a TEST STAND-IN)"
)

build debian12 bookworm http://deb.debian.org/debian

if [ "${DCVKIT_SKIP_AL2023:-}" = 1 ]; then
  echo "Amazon Linux 2023 stand-in image: skipped (DCVKIT_SKIP_AL2023=1)"
else
  build_al2023standin
fi

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
