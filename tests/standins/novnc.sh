# shellcheck shell=sh
# Sourced by build.sh (.deb) and build-rpms.sh (RPM): the stand-in web viewer shows the desktop with noVNC's ES
# modules (core/, vendor/), taken from Debian's novnc package (apt checks its signature) and bundled into the
# viewer, as the real viewer bundles its own client. A dependency on novnc instead would pull nodejs onto gateway
# hosts and has no Amazon Linux counterpart. Both builders share one download: build/standins/.novnc/.

# add_novnc CACHE DEST WORK: copy noVNC's core/, vendor/ and its copyright into DEST; the .deb is downloaded once
# into CACHE and unpacked into WORK (a directory of the caller's own, so builders running at once never share it)
add_novnc() {
    mkdir -p "$1"
    (
        if command -v flock >/dev/null 2>&1; then
            exec 8>"$1/.lock"
            flock 8
        fi
        ls "$1"/novnc_*.deb >/dev/null 2>&1 && exit 0
        cd "$1" && { apt-get download novnc >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && apt-get download novnc >/dev/null 2>&1; }; }
    ) || { echo "$0: could not download Debian's novnc package (apt-get download novnc)" >&2; exit 1; }
    for novnc_deb in "$1"/novnc_*.deb; do break; done
    rm -rf "$3" && dpkg-deb -x "$novnc_deb" "$3"
    mkdir -p "$2"
    cp -a "$3/usr/share/novnc/core" "$3/usr/share/novnc/vendor" "$2/"
    cp "$3/usr/share/doc/novnc/copyright" "$2/COPYRIGHT.novnc"
}
