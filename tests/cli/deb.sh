#!/bin/sh
# deb.sh - the Debian packages (issue 16, point 5): `make deb` builds them
# lintian-clean; they install into the machine (dpkg -i); the installed
# tools hash, import and match data/; a program builds against
# libphmatch-dev through pkg-config and runs; the installed systemd unit
# passes `systemd-analyze verify`, and its ExecStart command line, run as
# the unit's user with the directories systemd would make, answers /readyz
# and a match over the installed socket path, with no writable and
# executable memory. Then the packages are purged and the machine is left
# as it was (the EXIT trap, whatever fails). Needs root; the plain build
# only (it builds its own packages: the ASan run would do it twice).
. "$(dirname "$0")/lib.sh"

PKGS="phmatch libphmatch0 libphmatch-dev"
UNIT=/lib/systemd/system/phmatchd.service
SOCK=/run/phmatch/phmatchd.sock

case $BUILD in
*asan*)
    t_skip "Debian packages from $BUILD" "checked once, in the plain build's run"
    t_done
    ;;
esac
if [ "$(id -u)" != 0 ]; then
    t_skip "Debian packages" "installing them needs root"
    t_done
fi
for c in dpkg-buildpackage dh lintian git systemd-analyze setpriv runuser curl \
    pkg-config readelf; do
    if ! t_have "$c"; then
        t_skip "Debian packages" "$c not installed (make deps)"
        t_done
    fi
done
if ! git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    t_skip "Debian packages" "make deb packages a git checkout's tracked files"
    t_done
fi
# pkg_present PKG - whether dpkg knows PKG as more than not installed
# (installed, half-installed, its conffiles left behind...).
pkg_present() {
    case $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) in
    '' | *' not-installed') return 1 ;;
    esac
    return 0
}
for p in $PKGS; do
    if pkg_present "$p"; then
        t_skip "Debian packages" "$p is already installed: the test would remove it"
        t_done
    fi
done
for d in /etc/phmatch /var/lib/phmatch /var/log/phmatch /run/phmatch; do
    if [ -e "$d" ]; then
        t_skip "Debian packages" "$d exists: the test would remove it"
        t_done
    fi
done
had_user=no
getent passwd phmatch >/dev/null && had_user=yes
had_group=no
getent group phmatch >/dev/null && had_group=yes

# dpkg takes the package database's lock at once or fails; other apt runs
# on the machine (make deps elsewhere) may hold it for a while.
dpkg_locked() { # dpkg args...: dpkg, retried while the database is locked
    _i=0
    while :; do
        dpkg "$@" >"$T/dpkg.out" 2>&1
        _rc=$?
        if [ $_rc -ne 0 ] && grep -q 'locked by another process' "$T/dpkg.out" &&
            [ $_i -lt 120 ]; then
            _i=$((_i + 1))
            sleep 5
            continue
        fi
        cat "$T/dpkg.out"
        return $_rc
    done
}

svc_pid=""
deb_cleanup() {
    if [ -n "$svc_pid" ]; then
        kill "$svc_pid" 2>/dev/null
        wait "$svc_pid" 2>/dev/null
    fi
    installed=""
    for p in $PKGS; do
        pkg_present "$p" && installed="$installed $p"
    done
    # shellcheck disable=SC2086
    [ -z "$installed" ] || dpkg_locked --purge $installed >/dev/null 2>&1
    rm -rf /var/lib/phmatch /var/log/phmatch /run/phmatch
    [ $had_user = yes ] || userdel phmatch 2>/dev/null
    [ $had_group = yes ] || groupdel phmatch 2>/dev/null
    t_cleanup
}
trap deb_cleanup EXIT

# ---- make deb ----
chmod 755 "$T" # the service's user reads the hash list below from here
start=$(date +%s)
make -s -C "$ROOT" deb DEB_DIR="$T/deb" >"$T/deb.log" 2>&1
rc=$?
t_is "make deb builds the packages and lintian passes them (exit 0)" "$rc" 0
t_diag "make deb: $(($(date +%s) - start)) s"
if [ $rc -ne 0 ]; then
    t_diag "$(tail -n 30 "$T/deb.log")"
    t_done
fi
t_is "lintian reports no error and no warning" \
    "$(grep -c '^[EW]: ' "$T/deb.log")" 0
ver=$(sed -n 's/^#define PHM_VERSION_STRING "\(.*\)"$/\1/p' "$ROOT/include/phmatch.h")
arch=$(dpkg --print-architecture)
debs=""
for p in $PKGS; do
    f=$T/deb/${p}_${ver}_$arch.deb
    t_ok "$p ${ver} (the version of include/phmatch.h) is built" test -f "$f"
    debs="$debs $f"
done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=/usr/lib/$multiarch
t_like "the library package's name follows its SONAME" \
    "$(dpkg-deb -x "$T/deb/libphmatch0_${ver}_$arch.deb" "$T/x" &&
        readelf -d "$T/x$libdir/libphmatch.so.$ver" | grep SONAME)" 'libphmatch\.so\.0\]'
t_is "/etc/phmatch/phmatchd.conf is a conffile" \
    "$(dpkg-deb --ctrl-tarfile "$T/deb/phmatch_${ver}_$arch.deb" | tar -xOf - ./conffiles)" \
    /etc/phmatch/phmatchd.conf

# ---- dpkg -i ----
# shellcheck disable=SC2086
dpkg_locked -i $debs >"$T/install.log" 2>&1
rc=$?
t_is "dpkg -i installs the three packages (dependencies from make deps)" "$rc" 0
[ $rc -eq 0 ] || {
    t_diag "$(tail -n 20 "$T/install.log")"
    t_done
}
t_like "the user phmatch exists (sysusers.d), with no login shell" \
    "$(getent passwd phmatch)" '^phmatch:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$'
t_is "/etc/phmatch/phmatchd.conf: root's, not writable by the service (0644)" \
    "$(stat -c '%U:%G %a' /etc/phmatch/phmatchd.conf)" "root:root 644"
t_is "phmatch --version is the package's" \
    "$(/usr/bin/phmatch --version | head -n 1)" "phmatch $ver"

# ---- the installed tools on data/ ----
w=$T/work
mkdir -p "$w"
(cd "$ROOT/data/known" && /usr/bin/phmatch hash -q --format pdq -- *.jpg) >"$w/known.pdq"
t_is "phmatch hash data/known: one hash per photo" "$(wc -l <"$w/known.pdq")" \
    "$(find "$ROOT/data/known" -name '*.jpg' | wc -l)"
/usr/bin/phmatch index create "$w/known.phmi" >/dev/null &&
    /usr/bin/phmatch index import --source deb --category test "$w/known.phmi" - \
        <"$w/known.pdq" >"$w/import.log" 2>&1
t_is "phmatch index create + index import (exit 0)" "$?" 0
/usr/bin/phmatch match -q --dihedral --format jsonl --index "$w/known.phmi" \
    "$ROOT/data/queries" >"$w/match.jsonl" 2>"$w/match.err"
t_ok "phmatch match --dihedral data/queries ran" test -s "$w/match.jsonl"
# Independent reference: each query is an altered copy of the known photo
# its name starts with (data/README.md); the unrelated ones match nothing.
got=$(python3 - "$w/match.jsonl" <<'PY'
import json, os, sys
rows = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type", "file") not in ("file", "image"):
        continue
    q = os.path.basename(r.get("path", r.get("file", "")))
    ids = sorted({m.get("id") for m in r.get("matches", [])})
    rows.append("%s=%s" % (q, ",".join(i for i in ids if i)))
print("\n".join(sorted(rows)))
PY
)
want=$(cd "$ROOT/data/queries" && for q in *.jpg; do
    case $q in
    unrelated-*) echo "$q=" ;;
    *) echo "$q=${q%-*}.jpg" ;;
    esac
done | sort)
t_is "every altered copy matches its known photo, the unrelated ones nothing" "$got" "$want"
CLIP=$ROOT/tests/data/vpdq/synthetic/mandelbrot-160x120.mp4
/usr/bin/phmatch hash -q -f vpdq "$CLIP" >"$w/clip.vpdq" 2>"$w/clip.err"
t_is "the installed phmatch hashes a video through the installed backend" "$?" 0
if [ -x "$PHMATCH" ]; then
    t_is "with the same frames as the build tree's phmatch" \
        "$(md5sum <"$w/clip.vpdq")" "$("$PHMATCH" hash -q -f vpdq "$CLIP" | md5sum)"
else
    t_skip "the same frames as the build tree's phmatch" "$PHMATCH not built"
fi

# ---- libphmatch-dev ----
# A program of its own: hashes an image (phm_hash_file) and prints the
# library's version and the distance to a hash given in hex.
cat >"$w/user.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <phmatch.h>
int main(int argc, char **argv)
{
    phm_decoder *dec = NULL;
    phm_hasher *hasher = NULL;
    phm_pdq_result res;
    phm_pdq want;
    char msg[PHM_ERRMSG_MAX] = "";
    int rc = 2;
    if (argc == 3 && phm_pdq_from_hex(argv[2], strlen(argv[2]), &want) == PHM_OK &&
        phm_decoder_new(&dec, NULL) == PHM_OK && phm_hasher_new(&hasher, PHM_SIMD_AUTO) == PHM_OK) {
        rc = phm_hash_file(dec, hasher, argv[1], PHM_MODE_FULL, 0, &res, NULL, msg, sizeof msg);
        if (rc == PHM_OK)
            printf("%s %d\n", phm_version(), phm_pdq_distance(&res.hash[0], &want));
        else
            fprintf(stderr, "user: %s\n", msg);
    }
    phm_hasher_free(hasher);
    phm_decoder_free(dec);
    return rc != PHM_OK;
}
C
# shellcheck disable=SC2046
cc -o "$w/user" "$w/user.c" $(pkg-config --cflags --libs phmatch) >"$w/cc.log" 2>&1
t_is "a program builds with pkg-config --cflags --libs phmatch" "$?" 0
[ -s "$w/cc.log" ] && t_diag "$(cat "$w/cc.log")"
t_is "it is linked to the installed libphmatch.so.0" \
    "$(readlink -f "$(ldd "$w/user" | awk '$1 == "libphmatch.so.0" { print $3 }')")" \
    "$(readlink -f "$libdir/libphmatch.so.0")"
img=images/bridge-mods/aaa-orig.jpg
golden=$(awk -F, -v f="$img" '$1 == f && $2 == "full" { print $5 }' \
    "$ROOT/tests/data/pdq/golden.csv")
t_is "and hashes as the reference PDQ does (distance 0 to tests/data/pdq/golden.csv)" \
    "$("$w/user" "$ROOT/tests/data/pdq/$img" "$golden" 2>&1)" "$ver 0"

# ---- the systemd unit ----
t_ok "the unit is installed" test -f "$UNIT"
systemd-analyze verify "$UNIT" >"$w/verify.log" 2>&1
t_is "systemd-analyze verify phmatchd.service: no complaint" \
    "$?:$(cat "$w/verify.log")" "0:"
systemd-analyze security --offline=true "$UNIT" >"$w/security.log" 2>&1
score=$(sed -n 's/.*Overall exposure level for phmatchd.service: \([0-9.]*\).*/\1/p' \
    "$w/security.log")
t_diag "systemd-analyze security --offline=true: exposure $score"
t_ok "systemd-analyze security rates the exposure under 2 (of 10)" \
    awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 < 2) }'
for k in ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes \
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' MemoryDenyWriteExecute=yes \
    SystemCallFilter=@system-service CapabilityBoundingSet= UMask=0077; do
    t_is "the unit sets $k" "$(grep -cx "$k" "$UNIT")" 1
done

# What systemd does before ExecStart: the directories the unit names
# (StateDirectory=, RuntimeDirectory=, LogsDirectory=) with their modes,
# owned by the unit's user; then the command line as that user, with its
# umask, no new privileges and no capabilities.
user=$(sed -n 's/^User=//p' "$UNIT")
t_is "the unit runs as the user phmatch" "$user" phmatch
mkdir_as_systemd() { # directory-setting mode-setting base
    _n=$(sed -n "s/^$1=//p" "$UNIT")
    _m=$(sed -n "s/^$2=//p" "$UNIT")
    install -d -o "$user" -g "$user" -m "${_m:-0755}" "$3/$_n"
}
mkdir_as_systemd StateDirectory StateDirectoryMode /var/lib
mkdir_as_systemd RuntimeDirectory RuntimeDirectoryMode /run
mkdir_as_systemd LogsDirectory LogsDirectoryMode /var/log
umask_unit=$(sed -n 's/^UMask=//p' "$UNIT")
as_unit() {
    exec setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs \
        --inh-caps=-all --bounding-set=-all \
        sh -c "umask $umask_unit && exec \"\$@\"" sh "$@"
}
pre=$(sed -n 's/^ExecStartPre=//p' "$UNIT")
cmd=$(sed -n 's/^ExecStart=//p' "$UNIT")
# shellcheck disable=SC2086 # the unit's command line, split as systemd does
(as_unit $pre) >"$w/pre.log" 2>&1
t_is "ExecStartPre (phmatchd -n) accepts the installed configuration" "$?" 0
# shellcheck disable=SC2086
(as_unit $cmd) 2>"$w/svc.log" &
svc_pid=$!
i=0
while [ $i -lt 100 ] && ! [ -S "$SOCK" ]; do
    kill -0 "$svc_pid" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
t_ok "phmatchd listens on $SOCK" test -S "$SOCK"
t_is "the socket: srw-rw---- phmatch:phmatch (socket_mode 0660)" \
    "$(stat -c '%A %U:%G' "$SOCK" 2>&1)" "srw-rw---- phmatch:phmatch"
ready=$(curl -s --max-time 10 --unix-socket "$SOCK" http://localhost/readyz)
t_like "/readyz: ready, with the index it created" "$ready" '"status":"ready","index":true'
t_is "the index is the service user's, mode 0600, in its StateDirectory" \
    "$(stat -c '%U %a' /var/lib/phmatch/known.phmi 2>&1)" "phmatch 600"
# Import as the conffile's comment says, while the service runs (LMDB).
runuser -u phmatch -- /usr/bin/phmatch index import --source deb --category test \
    /var/lib/phmatch/known.phmi "$w/known.pdq" >"$w/import2.log" 2>&1
t_is "runuser -u phmatch -- phmatch index import into the service's index" "$?" 0
m=$(curl -s --max-time 20 --unix-socket "$SOCK" -H 'Content-Type: image/jpeg' \
    --data-binary @"$ROOT/data/queries/bridge-half.jpg" http://localhost/v1/match)
t_like "a match over the socket finds the known photo" "$m" '"id":"bridge.jpg"'
t_is "the audit log: phmatch's, mode 0600, one record" \
    "$(stat -c '%U %a' /var/log/phmatch/audit.jsonl 2>&1) $(wc -l </var/log/phmatch/audit.jsonl)" \
    "phmatch 600 1"

# MemoryDenyWriteExecute: make phmatchd load everything it loads at run
# time (HEIF, JPEG XL and TIFF libraries, the FFmpeg video backend), then no
# mapping may be writable and executable, and no library it mapped may ask
# for text relocations or an executable stack (either would need W+X).
for f in fuzz_heif/d10.heic fuzz_heif/d12.avif fuzz_jxl/alpha.jxl \
    "fuzz_tiff/$(cd "$ROOT/tests/fuzz/corpus/fuzz_tiff" && find . -name '*.tif' | sort | head -n 1 | cut -c3-)"; do
    t_like "phmatchd hashes ${f#*/}" "$(curl -s --max-time 30 --unix-socket "$SOCK" \
        -H 'Content-Type: application/octet-stream' \
        --data-binary @"$ROOT/tests/fuzz/corpus/$f" http://localhost/v1/hash)" '"pdq":"[0-9a-f]\{64\}"'
done
t_like "phmatchd hashes a video" "$(curl -s --max-time 60 --unix-socket "$SOCK" \
    -H 'Content-Type: video/mp4' --data-binary @"$CLIP" http://localhost/v1/match)" \
    '"kind":"video"'
maps=/proc/$svc_pid/maps
t_is "the process checked is phmatchd" "$(readlink "/proc/$svc_pid/exe")" /usr/bin/phmatchd
libs=$(awk '$6 ~ /\.so/ { print $6 }' "$maps" | sort -u)
for l in libheif libde265 libdav1d libjxl libtiff phmatch-video libavcodec; do
    t_like "phmatchd mapped $l" "$libs" "/$l"
done
t_is "no mapping of phmatchd is writable and executable" \
    "$(awk '$2 ~ /w.x/' "$maps")" ""
bad=""
for l in /usr/bin/phmatchd $libs; do
    readelf -d "$l" 2>/dev/null | grep -q TEXTREL && bad="$bad $l(TEXTREL)"
    readelf -lW "$l" 2>/dev/null | awk '$1 == "GNU_STACK" && $7 ~ /E/ { f = 1 } END { exit !f }' &&
        bad="$bad $l(execstack)"
done
t_is "no library it mapped has text relocations or an executable stack" "$bad" ""
kill "$svc_pid"
wait "$svc_pid"
t_is "phmatchd stops on SIGTERM (exit 0)" "$?" 0
svc_pid=""

# ---- purge ----
# shellcheck disable=SC2086
dpkg_locked --purge $PKGS >"$w/purge.log" 2>&1
t_is "dpkg --purge removes the three packages" "$?" 0
left=""
for f in /usr/bin/phmatch /usr/bin/phmatchd /etc/phmatch "$UNIT" "$libdir/libphmatch.so.0" \
    "$libdir/phmatch" /usr/include/phmatch.h /var/lib/phmatch /var/log/phmatch \
    /etc/systemd/system/multi-user.target.wants/phmatchd.service; do
    [ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
t_is "nothing of them is left" "$left" ""
t_done
