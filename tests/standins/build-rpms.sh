#!/bin/sh
# TEST DOUBLE builder: makes the dcvkit stand-in RPM packages (not Amazon DCV) with rpmbuild, offline, into
# build/standins-rpm/ (or $1 / $STANDINS_RPM_OUT_DIR), from the same sources as the .debs of build.sh:
# dcvstandin/*.py, packages/*/root, noVNC's modules for the web viewer (novnc.sh), and the Debian maintainer
# scripts, which run unchanged inside %post/%preun/%postun with the argument dpkg would give them. Every RPM is signed with a
# TEST GPG key generated once into OUT_DIR/.gnupg; its public key is OUT_DIR/NICE-GPG-KEY (the file name the
# roles import where the real NICE key would be). OUT_DIR/bad/ holds the broker RPM signed by ANOTHER test key
# (bad/other-key/) and unsigned (bad/unsigned/), each beside the good NICE-GPG-KEY, for refusal tests.
# Rebuilds only when a file under tests/standins changed or an output or the key is missing; prints one line
# per package. Needs rpmbuild and rpmsign (Debian package rpm; scripts/lab-host.sh installs it) and gpg.
#
# --package NAME --version VERSION OUT_DIR: builds only NAME, at VERSION (same release), under its official file
# name with that version, into OUT_DIR, signed with the NICE test key of the default build (which must have run
# first: $STANDINS_RPM_OUT_DIR or build/standins-rpm). Always builds; writes no stamp, key file or bad/ RPMs.
# Upgrade tests use it to offer a newer package that dnf accepts with its signature check on.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
default_out=${STANDINS_RPM_OUT_DIR:-$repo/build/standins-rpm}
only_package=
only_version=
while [ $# -gt 0 ]; do
    case $1 in
        --package) only_package=${2:?--package needs a package name}; shift 2 ;;
        --version) only_version=${2:?--version needs a version}; shift 2 ;;
        -*) echo "build-rpms.sh: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
if [ -n "$only_package$only_version" ]; then
    if [ -z "$only_package" ] || [ -z "$only_version" ] || [ $# -ne 1 ]; then
        echo "usage: build-rpms.sh --package NAME --version VERSION OUT_DIR" >&2
        exit 2
    fi
fi
out=${1:-$default_out}
for tool in rpmbuild rpmsign gpg gpgconf; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "build-rpms.sh: $tool not found; install the Debian packages rpm and gnupg (scripts/lab-host.sh)" >&2
        exit 1
    }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Several scenarios may build at once: one builder at a time, and each .rpm appears atomically.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$out/.lock"
    flock 9
fi

# Official Amazon Linux 2023 file names (docs/packages.md). The server bundle's RPMs are those of
# nice-dcv-2025.0-20103-amzn2023-x86_64.tgz: nice-dcv-server-2025.0.20103-1.amzn2023.x86_64.rpm,
# nice-xdcv-2025.0.688-1.amzn2023.x86_64.rpm, nice-dcv-web-viewer-2025.0.20103-1.amzn2023.x86_64.rpm (and
# nice-dcv-gl, which has no stand-in). The AWS page listing them is DCV Administrator Guide "Install the Amazon
# DCV Server on Linux" (https://docs.aws.amazon.com/dcv/latest/adminguide/setting-up-installing-linux-server.html);
# the names were taken from public install scripts that unpack that tarball, as the page was not in the stored
# documentation. The real nice-xdcv has its own version (688); the .deb stand-in uses the server's.
# The gateway's official file name has no "-RELEASE": rpmbuild always writes NAME-VERSION-RELEASE.ARCH.rpm, so
# the file is renamed after the build while its header keeps release 1.amzn2023 (dnf and rpm -q report
# nice-dcv-connection-gateway-2025.0.870-1.amzn2023.x86_64).
#
# Requires: what the package needs on host A (broker, gateway, web viewer) to start; for host B packages
# (agent, server, xdcv) only what the daemons need to start. The desktop tools the .deb stand-ins gained for
# virtual sessions (xvfb, x11vnc, python3-websockify, dbus) are NOT declared: AL2023 runs host A here. The web
# viewer requires nothing: it bundles noVNC's modules under www/novnc, as the .deb does (novnc.sh).
#
# name|rpm file|version|release|arch|requires
rpms="
nice-dcv-session-manager-broker|nice-dcv-session-manager-broker-2025.0.539-1.amzn2023.noarch.rpm|2025.0.539|1.amzn2023|noarch|python3 python3-cryptography
nice-dcv-connection-gateway|nice-dcv-connection-gateway-2025.0.870.amzn2023.x86_64.rpm|2025.0.870|1.amzn2023|x86_64|python3 python3-cryptography
nice-dcv-session-manager-agent|nice-dcv-session-manager-agent-2025.0.886-1.amzn2023.x86_64.rpm|2025.0.886|1.amzn2023|x86_64|python3 python3-cryptography
nice-dcv-server|nice-dcv-server-2025.0.20103-1.amzn2023.x86_64.rpm|2025.0.20103|1.amzn2023|x86_64|python3 python3-cryptography
nice-dcv-web-viewer|nice-dcv-web-viewer-2025.0.20103-1.amzn2023.x86_64.rpm|2025.0.20103|1.amzn2023|x86_64|
nice-xdcv|nice-xdcv-2025.0.688-1.amzn2023.x86_64.rpm|2025.0.688|1.amzn2023|x86_64|
"
bad_source=nice-dcv-session-manager-broker-2025.0.539-1.amzn2023.noarch.rpm

# The python modules and module directory of each package come from build.sh's table, so both builders ship
# the same code: lines "name|deb file|python modules|module dir" between 'packages="' and '"'.
debtable=$(sed -n '/^packages="$/,/^"$/p' "$here/build.sh" | grep '|' || true)
[ -n "$debtable" ] || { echo "build-rpms.sh: no package table found in $here/build.sh" >&2; exit 1; }

if [ -n "$only_package" ]; then
    row=$(echo "$rpms" | awk -F'|' -v n="$only_package" '$1 == n')
    [ -n "$row" ] || { echo "build-rpms.sh: no package $only_package in the RPM table" >&2; exit 2; }
    [ -d "$default_out/.gnupg" ] || {
        echo "build-rpms.sh: no NICE test key in $default_out/.gnupg: run build-rpms.sh without options first" >&2
        exit 1
    }
    rpms=$row
    bad_source=
fi

gnupg="$out/.gnupg"
key_uid_nice="dcvkit TEST stand-in NICE signing key (not Amazon) <standins@dcvkit.invalid>"
key_uid_other="dcvkit TEST other key, must be refused (not Amazon) <standins-other@dcvkit.invalid>"
gpgq() { gpg --homedir "$gnupg" --batch --quiet "$@"; }
fingerprint() {  # uid -> fingerprint of its key, empty when absent
    gpgq --with-colons --list-secret-keys "=$1" 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }'
}
stop_agent() { gpgconf --homedir "$gnupg" --kill gpg-agent >/dev/null 2>&1 || true; }
ensure_key() {  # uid: generate once (no passphrase, signing only, no expiry)
    [ -n "$(fingerprint "$1")" ] && return 0
    gpgq --passphrase '' --pinentry-mode loopback --quick-gen-key "$1" rsa3072 sign never
}
if [ -n "$only_package" ]; then
    # a private copy of the default build's keyring: its gpg-agent is this run's alone, and the original is only
    # read. Under a short path: gpg-agent's sockets live in it, and a socket path has at most 107 characters.
    gnupg=$(mktemp -d "${TMPDIR:-/tmp}/dcvkit-gpg.XXXXXX")
    cp -a "$default_out/.gnupg/." "$gnupg/"
    rm -f "$gnupg"/S.* "$gnupg"/*.lock "$gnupg"/.#*
    trap 'stop_agent; rm -rf "$gnupg"' EXIT
    fpr_nice=$(fingerprint "$key_uid_nice")
    [ -n "$fpr_nice" ] || { echo "build-rpms.sh: no NICE test key in $default_out/.gnupg" >&2; exit 1; }
fi
mkdir -p "$gnupg"
chmod 0700 "$gnupg"
[ -n "$only_package" ] || trap stop_agent EXIT
ensure_key "$key_uid_nice"
[ -n "$only_package" ] || ensure_key "$key_uid_other"
fpr_nice=$(fingerprint "$key_uid_nice")
fpr_other=$(fingerprint "$key_uid_other")

sources_hash=$( (cd "$here" && find . -type f ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum;
                 echo "$fpr_nice $fpr_other") | sha256sum | cut -d' ' -f1)
stamp="$out/.sources.sha256"
files=$(echo "$rpms" | cut -s -d'|' -f2)
all_present=yes
for f in $files NICE-GPG-KEY "bad/other-key/$bad_source" "bad/unsigned/$bad_source"; do
    [ -f "$out/$f" ] || all_present=no
done
if [ -z "$only_package" ] && [ "$all_present" = yes ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sources_hash" ]; then
    for f in $files; do
        echo "up to date: $out/$f"
    done
    exit 0
fi

# noVNC's modules, bundled into the web viewer (shared with build.sh)
# shellcheck source=tests/standins/novnc.sh
. "$here/novnc.sh"

stage=$(mktemp -d "$out/.stage.XXXXXX")
if [ -n "$only_package" ]; then
    trap 'stop_agent; rm -rf "$stage" "$gnupg"' EXIT
else
    trap 'stop_agent; rm -rf "$stage"' EXIT
fi
mkdir -p "$stage/rpms" "$stage/bad/other-key" "$stage/bad/unsigned"

# Directories every system has: never owned by a stand-in package.
system_dirs=" / /etc /usr /usr/bin /usr/sbin /usr/lib /usr/lib/systemd /usr/lib/systemd/system /usr/share /usr/share/doc /var /var/lib /var/log "

# A Debian maintainer script run as an RPM scriptlet with the argument dpkg would give it ("%" escaped).
scriptlet() {  # file dpkg-argument
    [ -f "$1" ] || return 0
    printf 'set -- %s\n' "$2"
    sed -e 's/%/%%/g' "$1"
}

# Control field value (first line) of a .deb stand-in
control_field() {  # control-file field
    sed -n "s/^$2: *//p" "$1" | head -n 1
}

echo "$rpms" | while IFS='|' read -r name file version release arch requires; do
    [ -n "$name" ] || continue
    src="$here/packages/$name"
    control="$src/control"
    # The .deb and the RPM must be the same release of the stand-in (nice-xdcv excepted, see above).
    debversion=$(control_field "$control" Version)
    if [ -n "$only_version" ]; then
        # the official file name with the other version in place of the table's
        file="${file%%"$version"*}$only_version${file#*"$version"}"
        version=$only_version
    elif [ "$name" != nice-xdcv ] && [ "${debversion%-*}" != "$version" ]; then
        echo "build-rpms.sh: $name: control says Version $debversion, the RPM table $version; update both" >&2
        exit 1
    fi
    row=$(echo "$debtable" | awk -F'|' -v n="$name" '$1 == n')
    [ -n "$row" ] || { echo "build-rpms.sh: $name is not in build.sh's package table" >&2; exit 1; }
    modules=$(echo "$row" | cut -d'|' -f3)
    moddir=$(echo "$row" | cut -d'|' -f4)

    root="$stage/root-$name"
    mkdir -p "$root/usr/share/doc/$name"
    if [ -d "$src/root" ]; then
        cp -a "$src/root/." "$root/"
    fi
    # Amazon Linux keeps units in /usr/lib/systemd/system (Debian's .debs ship them in /lib/systemd/system)
    if [ -d "$root/lib/systemd/system" ]; then
        mkdir -p "$root/usr/lib/systemd"
        mv "$root/lib/systemd/system" "$root/usr/lib/systemd/system"
        rmdir "$root/lib/systemd" "$root/lib"
    fi
    if [ "$name" = nice-dcv-web-viewer ]; then
        # the same download as build.sh's (build/standins/.novnc), whatever OUT_DIR is
        add_novnc "$repo/build/standins/.novnc" "$root/usr/share/dcv/www/novnc" "$stage/novnc"
    fi
    if [ -n "$modules" ]; then
        mkdir -p "$root/$moddir/dcvstandin"
        install -m 0644 "$here/dcvstandin/__init__.py" "$root/$moddir/dcvstandin/"
        for module in $modules; do
            install -m 0644 "$here/dcvstandin/$module.py" "$root/$moddir/dcvstandin/"
        done
    fi
    printf '%s\n' "TEST DOUBLE: $name built by dcvkit tests/standins/build-rpms.sh; not Amazon DCV." \
        "Used only by the dcvkit.session_manager tests and lab. See tests/standins/README.md." \
        > "$root/usr/share/doc/$name/README.standin"
    find "$root" -type d -exec chmod 0755 {} +

    spec="$stage/$name.spec"
    {
        echo "# TEST DOUBLE: generated by dcvkit tests/standins/build-rpms.sh (not Amazon DCV)"
        echo "Name: $name"
        echo "Version: $version"
        echo "Release: $release"
        echo "Summary: $(control_field "$control" Description)"
        echo "License: GPL-3.0-or-later"
        echo "Vendor: dcvkit test stand-ins (not Amazon)"
        echo "Packager: $(control_field "$control" Maintainer)"
        echo "BuildArch: $arch"
        echo "AutoReqProv: no"
        for r in $requires; do echo "Requires: $r"; done
        if [ -f "$src/postinst" ]; then
            echo "Requires(post): /bin/sh, shadow-utils, systemd, coreutils, glibc-common"
        fi
        [ -f "$src/prerm" ] && echo "Requires(preun): /bin/sh, systemd"
        [ -f "$src/postrm" ] && echo "Requires(postun): /bin/sh, systemd"
        echo
        echo "%description"
        sed -n '/^Description:/,$p' "$control" | sed -e '1d' -e 's/^ //' -e 's/^\.$//' -e 's/%/%%/g'
        echo "RPM build of the .deb stand-in (tests/standins/README.md)."
        echo
        echo "%install"
        echo "cp -a '$root/.' '%{buildroot}/'"
        if [ -f "$src/postinst" ]; then
            echo
            echo "%post"
            scriptlet "$src/postinst" configure
        fi
        if [ -f "$src/prerm" ]; then
            echo
            echo "%preun"
            # shellcheck disable=SC2016 # $1 is the scriptlet's argument, written as is
            printf '%s\n' '# rpm: $1 = 0 on erase, 1 on upgrade; dpkg runs prerm "remove" only on removal' \
                '[ "$1" = 0 ] || exit 0'
            scriptlet "$src/prerm" remove
        fi
        if [ -f "$src/postrm" ]; then
            echo
            echo "%postun"
            echo '# rpm has no purge: state and log directories stay, as after dpkg --remove'
            scriptlet "$src/postrm" remove
        fi
        echo
        echo "%files"
        echo "%defattr(-,root,root,-)"
        (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | sed 's|^\.||') | while read -r path; do
            if [ -d "$root$path" ] && [ ! -L "$root$path" ]; then
                case "$system_dirs" in *" $path "*) ;; *) echo "%dir \"$path\"" ;; esac
            elif [ "${path#/etc/}" != "$path" ]; then
                echo "%config(noreplace) \"$path\""
            else
                echo "\"$path\""
            fi
        done
    } > "$spec"

    rpmbuild -bb --quiet \
        --define "_topdir $stage/rpmbuild" \
        --define "_rpmdir $stage/rpms" \
        --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
        --define "_binary_payload w9.gzdio" \
        --define "__os_install_post %{nil}" \
        --define "_build_id_links none" \
        --define "debug_package %{nil}" \
        "$spec" >"$stage/$name.log" 2>&1 \
        || { cat "$stage/$name.log" >&2; exit 1; }
    built="$stage/rpms/$name-$version-$release.$arch.rpm"
    [ -f "$built" ] || { echo "build-rpms.sh: rpmbuild made no $built" >&2; exit 1; }
    if [ "$file" = "$bad_source" ]; then
        cp "$built" "$stage/bad/unsigned/$file"
        cp "$built" "$stage/bad/other-key/$file"
        rpmsign --addsign --define "_gpg_name $fpr_other" --define "_gpg_path $gnupg" --define "__gpg $(command -v gpg)" \
            --define "_gpg_digest_algo sha256" "$stage/bad/other-key/$file" >"$stage/sign.log" 2>&1 \
            || { cat "$stage/sign.log" >&2; exit 1; }
    fi
    rpmsign --addsign --define "_gpg_name $fpr_nice" --define "_gpg_path $gnupg" --define "__gpg $(command -v gpg)" \
        --define "_gpg_digest_algo sha256" "$built" >"$stage/sign.log" 2>&1 || { cat "$stage/sign.log" >&2; exit 1; }
    mv -f "$built" "$out/$file"
    echo "built: $out/$file"
done
[ -z "$only_package" ] || exit 0

# Public keys: the good one where the roles look for NICE's key, beside the bad RPMs too
gpgq --armor --export "$fpr_nice" > "$stage/NICE-GPG-KEY"
gpgq --armor --export "$fpr_other" > "$stage/bad/OTHER-TEST-KEY"
cp "$stage/NICE-GPG-KEY" "$stage/bad/other-key/NICE-GPG-KEY"
cp "$stage/NICE-GPG-KEY" "$stage/bad/unsigned/NICE-GPG-KEY"
mkdir -p "$out/bad"
rm -rf "$out/bad/other-key" "$out/bad/unsigned"
mv "$stage/bad/other-key" "$stage/bad/unsigned" "$stage/bad/OTHER-TEST-KEY" "$out/bad/"
mv -f "$stage/NICE-GPG-KEY" "$out/NICE-GPG-KEY"
echo "built: $out/bad/other-key/$bad_source (signed by the other test key), $out/bad/unsigned/$bad_source"
echo "$sources_hash" > "$stamp"
