#!/bin/sh
# bench/debs.sh DEBS ROOT PKG... - Debian packages' pictures for the
# benchmark's image sets (bench/devset.sh, bench/heldout.sh): each PKG's
# .deb fetched into DEBS with `apt-get download` unless one is there
# already (then it is used as it is, so a set can be made offline from
# saved .debs), and every one of them unpacked into ROOT with `dpkg-deb -x`.
# Nothing is installed. An error names the package and the log.
set -eu
[ $# -ge 3 ] || { echo "usage: bench/debs.sh DEBS ROOT PKG..." >&2; exit 2; }
die() { echo "debs: $*" >&2; exit 1; }
debs=$1 root=$2
shift 2
mkdir -p "$debs" "$root"
for pkg in "$@"; do
    ls "$debs/${pkg}_"*.deb >/dev/null 2>&1 && continue
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: put $pkg's .deb in $debs"
    (cd "$debs" && apt-get download "$pkg") >"$debs/apt.log" 2>&1 ||
        die "apt-get download $pkg failed ($debs/apt.log; run apt-get update?)"
done
for pkg in "$@"; do
    for d in "$debs/${pkg}_"*.deb; do
        dpkg-deb -x "$d" "$root" || die "dpkg-deb -x '$d' failed"
    done
done
