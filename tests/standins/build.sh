#!/bin/sh
# TEST DOUBLE builder: makes the dcvkit stand-in .deb packages (not Amazon DCV) with dpkg-deb
# only, offline, into build/standins/ (or $1).  Rebuilds only when a file under tests/standins
# changed (hash of the sources compared with a stamp file); prints one line per package.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-${STANDINS_OUT_DIR:-$repo/build/standins}}
mkdir -p "$out"
# Several scenarios may build at once: one builder at a time, and each .deb appears atomically.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$out/.lock"
    flock 9
fi

# name|deb file|python modules|module dir inside the package
packages="
nice-dcv-session-manager-broker|nice-dcv-session-manager-broker_2025.0.539-1_all.deb|common configformats broker brokercli brokerstore brokermysql|usr/share/dcv-session-manager-broker/standin
nice-dcv-session-manager-agent|nice-dcv-session-manager-agent_2025.0.886-1_amd64.deb|common configformats agent dcvcli server permissions relay xsession|usr/share/nice-dcv-session-manager-agent/standin
nice-dcv-connection-gateway|nice-dcv-connection-gateway_2025.0.870_amd64.deb|common configformats gateway relay|usr/share/nice-dcv-connection-gateway/standin
nice-dcv-server|nice-dcv-server_2025.0.20103-1_amd64.deb|common configformats server permissions dcvcli relay xsession|usr/share/nice-dcv-server/standin
nice-dcv-web-viewer|nice-dcv-web-viewer_2025.0.20103-1_amd64.deb||
nice-xdcv|nice-xdcv_2025.0.20103-1_amd64.deb||
"

sources_hash=$(cd "$here" && find . -type f ! -name '*.pyc' -print0 | LC_ALL=C sort -z \
    | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
stamp="$out/.sources.sha256"

debs=$(echo "$packages" | cut -s -d'|' -f2)
all_present=yes
for deb in $debs; do
    [ -f "$out/$deb" ] || all_present=no
done
if [ "$all_present" = yes ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sources_hash" ]; then
    for deb in $debs; do
        echo "up to date: $out/$deb"
    done
    exit 0
fi

# noVNC's modules, bundled into the web viewer (shared with build-rpms.sh)
# shellcheck source=tests/standins/novnc.sh
. "$here/novnc.sh"

stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
echo "$packages" | while IFS='|' read -r name deb modules moddir; do
    [ -n "$name" ] || continue
    src="$here/packages/$name"
    root="$stage/$name"
    mkdir -p "$root/DEBIAN" "$root/usr/share/doc/$name"
    if [ -d "$src/root" ]; then
        cp -a "$src/root/." "$root/"
    fi
    if [ "$name" = nice-dcv-web-viewer ]; then
        add_novnc "$out/.novnc" "$root/usr/share/dcv/www/novnc" "$stage/novnc"
    fi
    cp "$src/control" "$root/DEBIAN/control"
    for script in postinst prerm postrm; do
        if [ -f "$src/$script" ]; then
            install -m 0755 "$src/$script" "$root/DEBIAN/$script"
        fi
    done
    if [ -n "$modules" ]; then
        mkdir -p "$root/$moddir/dcvstandin"
        install -m 0644 "$here/dcvstandin/__init__.py" "$root/$moddir/dcvstandin/"
        for module in $modules; do
            install -m 0644 "$here/dcvstandin/$module.py" "$root/$moddir/dcvstandin/"
        done
    fi
    printf '%s\n' "TEST DOUBLE: $name built by dcvkit tests/standins/build.sh; not Amazon DCV." \
        "Used only by the dcvkit.session_manager tests and lab. See tests/standins/README.md." \
        > "$root/usr/share/doc/$name/README.standin"
    if [ -d "$root/etc" ]; then
        (cd "$root" && find etc -type f | LC_ALL=C sort | sed 's|^|/|') > "$root/DEBIAN/conffiles"
    fi
    find "$root" -type d -exec chmod 0755 {} +
    dpkg-deb --root-owner-group -Zgzip --build "$root" "$stage/$deb" >/dev/null
    mv -f "$stage/$deb" "$out/$deb"
    echo "built: $out/$deb"
done
echo "$sources_hash" > "$stamp"
