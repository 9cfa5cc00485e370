#!/bin/sh
# tests/fuzz/build.sh [BUILD_DIR] - builds the libFuzzer targets (`make fuzz`).
#
# Compiles src/lib/*.c with clang into an archive, coverage-instrumented for
# libFuzzer and with ASan + UBSan, with the Makefile's language flags
# (-std=c11, -ffp-contract=off, the _avx2/_avx512 instruction-set flags),
# and phmatchd's sources but main.c (src/daemon, with libmicrohttpd's flags)
# into a second one, then links each tests/fuzz/fuzz_*.c into
# BUILD_DIR/fuzz_NAME and makes its seed corpus in BUILD_DIR/seeds/fuzz_NAME
# from small test files and generated ones.
# Objects are rebuilt when a source, a header or the flags changed; the
# archives and the targets' links only when something they are made of did
# (a run with nothing changed took 13 s of CPU, now 5.6 s).
#
# The compiles and links run FUZZ_BUILD_JOBS at a time (default: the
# number of CPUs; one after the other, the build was most of the smoke
# run's time).
#
# Environment: FUZZ_CC (default clang), FUZZ_BUILD_JOBS. Exit status: 0 built, 1 error,
# 77 skipped (no clang or no libFuzzer runtime; the reason is on stderr).
set -eu
cd "$(dirname "$0")/../.."

out=${1:-build-fuzz}
cc=${FUZZ_CC:-clang}
jobs=${FUZZ_BUILD_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
case $jobs in '' | *[!0-9]* | 0) echo "fuzz: FUZZ_BUILD_JOBS must be a positive number" >&2; exit 2 ;; esac
die() { echo "fuzz: $*" >&2; exit 1; }
skip() { echo "fuzz: skipped: $*" >&2; exit 77; }

command -v "$cc" >/dev/null 2>&1 ||
    skip "$cc not found (run 'make deps', which installs clang)"
command -v pkg-config >/dev/null 2>&1 || die "pkg-config not found (run 'make deps')"
mkdir -p "$out/obj" "$out/seeds"
# One build of BUILD_DIR at a time: a second waits for the first (make
# check starts one beside the plain build, and the smoke run's own then
# finds the targets made). flock(1) is util-linux's; without it, no lock.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$out/.lock"
    flock 9
fi

# Can this clang link a libFuzzer program with the sanitizers?
probe=$out/probe
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
    >"$probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" >"$probe.log" 2>&1; then
    skip "$cc cannot link -fsanitize=fuzzer,address,undefined: the libFuzzer" \
        "runtime is missing (Debian: libclang-rt-14-dev; see $probe.log)"
fi

# Flags: the Makefile's language and warning flags, libFuzzer coverage, and
# sanitizers that stop at the first error so libFuzzer saves the input.
# (Makefile lines ending in a backslash are joined to the next first.)
makevars=$(sed -e ':a' -e '/\\$/N' -e 's/\\\n//' -e 'ta' Makefile)
# PKGS := ..., any PKGS += ... lines, and DL_PKGS (the libraries libphmatch
# opens at first use: their headers; linking them too does no harm here)
pkgs=$(printf '%s\n' "$makevars" | sed -n 's/^\(DL_\)*PKGS[[:space:]]*[:+]=[[:space:]]*//p' |
    tr '\n' ' ')
[ -n "$pkgs" ] || die "cannot read PKGS from the Makefile"
# shellcheck disable=SC2086
pkg_cflags=$(pkg-config --cflags $pkgs) || die "pkg-config: missing $pkgs (run 'make deps')"
# shellcheck disable=SC2086
pkg_libs="$(pkg-config --libs $pkgs) -lgif" # giflib ships no pkg-config file
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
warn="-Wall -Wextra -Wshadow -Wconversion -Wstrict-prototypes -Wmissing-prototypes
 -Wpointer-arith -Wformat=2 -Wvla -Wundef"
base="-std=c11 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -g -O1 -ffp-contract=off
 -fno-fast-math -Iinclude -Isrc/lib $warn $pkg_cflags $san"
# The library needs OpenMP only if it uses it; clang's is libomp
# (Debian: libomp-14-dev, which tools/deps.sh installs).
omp=""
if grep -q 'pragma omp\|<omp\.h>' src/lib/*.c src/lib/*.h 2>/dev/null; then
    omp=-fopenmp
    printf '%s\n' '#include <omp.h>' 'int main(void) { return omp_get_max_threads() < 1; }' \
        >"$probe-omp.c"
    "$cc" -fopenmp "$probe-omp.c" -o "$probe-omp" >"$probe.log" 2>&1 ||
        die "$cc cannot build an OpenMP program: install libomp-14-dev (see $probe.log)"
fi
# phmatchd's code needs libmicrohttpd's headers and library.
svc_pkgs=$(printf '%s\n' "$makevars" | sed -n 's/^SVC_PKGS[[:space:]]*:=[[:space:]]*//p')
[ -n "$svc_pkgs" ] || die "cannot read SVC_PKGS from the Makefile"
# shellcheck disable=SC2086
svc_cflags=$(pkg-config --cflags $svc_pkgs) ||
    die "pkg-config: missing $svc_pkgs (run 'make deps')"
# shellcheck disable=SC2086
svc_libs="$(pkg-config --libs $svc_pkgs) -pthread"
libflags="$base $omp -fsanitize=fuzzer-no-link"

# Start over when the flags or the compiler changed.
stamp="$cc $("$cc" --version | head -n 1) | $libflags"
if [ ! -f "$out/flags" ] || [ "$(cat "$out/flags")" != "$stamp" ]; then
    rm -f "$out"/obj/*.o
    echo "$stamp" >"$out/flags"
fi

# newer A B - A was modified after B ([ -nt ] is not POSIX).
newer() { [ -n "$(find "$1" -prune -newer "$2" 2>/dev/null)" ]; }
# Commands to run (one a line, each a sh command) go to $todo, run by
# run_todo `jobs` at a time; it fails when one did (each prints why). They
# read the flags from the environment.
export cc libflags base omp svc_cflags svc_libs pkg_libs
todo=$out/todo
: >"$todo"
run_todo() {
    # shellcheck disable=SC2016 # $0 is the command, for the inner sh
    tr '\n' '\0' <"$todo" | xargs -0 -r -n 1 -P "$jobs" sh -c 'eval "$0"' ||
        die "$1 (see the messages above)"
    : >"$todo"
}
objs=""
for src in src/lib/*.c; do
    name=$(basename "$src" .c)
    obj=$out/obj/$name.o
    objs="$objs $obj"
    case $name in
    *_avx512) isa="-mavx512f -mavx512bw -mavx512vl -mavx512vpopcntdq -mavx2 -mpopcnt -mbmi2" ;;
    *_avx2) isa="-mavx2 -mpopcnt -mbmi2" ;;
    *) isa="" ;;
    esac
    if [ -f "$obj" ] && ! newer "$src" "$obj" &&
        [ -z "$(find include src/lib -name '*.h' -newer "$obj" 2>/dev/null)" ]; then
        continue
    fi
    echo "echo 'fuzz: CC $src'; \"\$cc\" \$libflags $isa -c $src -o $obj ||" \
        "{ echo 'fuzz: cannot compile $src' >&2; exit 255; }" >>"$todo"
done
mkdir -p "$out/obj-daemon"
svc_objs=""
for src in src/daemon/*.c; do
    name=$(basename "$src" .c)
    [ "$name" != main ] || continue
    obj=$out/obj-daemon/$name.o
    svc_objs="$svc_objs $obj"
    if [ -f "$obj" ] && ! newer "$src" "$obj" &&
        [ -z "$(find include src/daemon -name '*.h' -newer "$obj" 2>/dev/null)" ] &&
        ! newer "$out/flags" "$obj"; then
        continue
    fi
    echo "echo 'fuzz: CC $src'; \"\$cc\" \$libflags \$svc_cflags -c $src -o $obj ||" \
        "{ echo 'fuzz: cannot compile $src' >&2; exit 255; }" >>"$todo"
done
run_todo "cannot compile the library"
# Objects of files that no longer exist must not be linked.
for obj in "$out"/obj/*.o; do
    [ -f "src/lib/$(basename "$obj" .o).c" ] || rm -f "$obj"
done
for obj in "$out"/obj-daemon/*.o; do
    [ -f "src/daemon/$(basename "$obj" .o).c" ] || rm -f "$obj"
done
# An archive, as the Makefile links the CLI: a target pulls in only the
# objects it needs. archive A OBJ... makes A of the objects unless it holds
# just them (A.list) and none is newer: then the targets need no new link.
archive() {
    a=$1
    shift
    if [ -f "$a" ] && [ "$(cat "$a.list" 2>/dev/null)" = "$*" ]; then
        stale=0
        for o in "$@"; do
            if newer "$o" "$a"; then
                stale=1
                break
            fi
        done
        [ "$stale" = 1 ] || return 0
    fi
    rm -f "$a"
    ar rcs "$a" "$@" || die "cannot make $a"
    echo "$*" >"$a.list"
}
lib=$out/libphmatch-fuzz.a
# shellcheck disable=SC2086
archive "$lib" $objs
svclib=$out/libphmatchd-fuzz.a
# shellcheck disable=SC2086
archive "$svclib" $svc_objs

# A target is linked again only when something it is made of is newer:
# its source, an archive, a header, the flags or the Makefile (libraries),
# or a file of src/cli (fuzz_inputs.c and fuzz_recfile.c include the CLI's
# inputs.c and recfile.c, which are in no archive).
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    t=$out/$name
    if [ -f "$t" ] && ! newer "$src" "$t" && ! newer "$lib" "$t" && ! newer "$svclib" "$t" &&
        ! newer "$out/flags" "$t" && ! newer Makefile "$t" &&
        [ -z "$(find include src/lib src/daemon tests/fuzz -name '*.h' -newer "$t" 2>/dev/null)" ] &&
        [ -z "$(find src/cli -name '*.[ch]' -newer "$t" 2>/dev/null)" ]; then
        continue
    fi
    echo "echo 'fuzz: LINK $out/$name'; \"\$cc\" \$base \$omp -Isrc/daemon \$svc_cflags" \
        "-fsanitize=fuzzer $src $svclib $lib \$pkg_libs -lgif \$svc_libs -lm -o $out/$name ||" \
        "{ echo 'fuzz: cannot build $out/$name' >&2; exit 255; }" >>"$todo"
done
run_todo "cannot build the targets"

# ---------------------------------------------------------------------------
# Seed corpora, made here so that none is committed.

seeds=$out/seeds/fuzz_decode
rm -rf "$seeds"
mkdir -p "$seeds"
img=tests/data/pdq/images
for f in "$img/misc-images/wee.jpg" "$img/misc-images/small.jpg" \
    "$img/bridge-mods/square-128x128.jpg" "$img/reg-test-input/labelme-subset"/*.jpg; do
    [ -f "$f" ] || die "seed image '$f' not found"
    cp "$f" "$seeds/$(basename "$f")"
done
if [ ! -f "$out/mkseeds" ] || newer tests/fuzz/mkseeds.c "$out/mkseeds" ||
    newer Makefile "$out/mkseeds"; then
    # shellcheck disable=SC2086
    "$cc" -std=c11 -D_DEFAULT_SOURCE -O1 $warn $pkg_cflags tests/fuzz/mkseeds.c \
        $pkg_libs -o "$out/mkseeds" || die "cannot build $out/mkseeds"
fi
"$out/mkseeds" "$seeds" || die "cannot make the generated seeds"
# Truncated and empty inputs are the commonest real-world breakage.
head -c 700 "$img/bridge-mods/square-128x128.jpg" >"$seeds/truncated.jpg"
head -c 90 "$seeds/rgb8-adam7.png" >"$seeds/truncated.png"
: >"$seeds/empty"

seeds=$out/seeds/fuzz_hex
rm -rf "$seeds"
mkdir -p "$seeds"
h=f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22
printf '%s' "$h" >"$seeds/lower"
printf '%s' "$h" | tr a-f A-F >"$seeds/upper"
printf '%s' "$h" | cut -c 2- | tr -d '\n' >"$seeds/short"
printf '%s0' "$h" >"$seeds/long"
printf '%s' "$h" | sed 's/e/g/' | tr -d '\n' >"$seeds/badchar"
printf '%s' "$h" | cut -c 1-32 | tr -d '\n' >"$seeds/raw32"
printf 'avx512' >"$seeds/simd"
printf 'cli512' >"$seeds/mode"

# fuzz_hashlist: the sample lists, each once with format "auto" and once
# with its own format, once from memory. The first byte chooses: bits 0-2
# 0 auto, 1 pdq, 2 hex, 3 hma, 4 csv, 5 tsv, 6 jsonl, 7 vpdq; +8 skips
# other signal types, +32 reads from memory, +64 takes videos (see
# fuzz_hashlist.c).
seeds=$out/seeds/fuzz_hashlist
rm -rf "$seeds"
mkdir -p "$seeds"
for f in tests/data/hashlists/sample.* tests/data/hashlists/bad.*; do
    [ -f "$f" ] || die "seed list '$f' not found"
    b=$(basename "$f")
    case $b in
    *.pdq) x='\001' ;; *.hex) x='\002' ;; *.hma) x='\013' ;;
    *.csv) x='\004' ;; *.tsv) x='\005' ;; *) x='\006' ;;
    esac
    { printf '\000'; cat "$f"; } >"$seeds/auto-$b"
    { printf '\040'; cat "$f"; } >"$seeds/mem-$b"
    # shellcheck disable=SC2059
    { printf "$x"; cat "$f"; } >"$seeds/fmt-$b"
done
{ printf '\100'; head -n 20 tests/data/vpdq/expected/chair-19-sd-bar-128x128.txt; } \
    >"$seeds/auto-video.vpdq"
{ printf '\147'; head -n 20 tests/data/vpdq/expected/chair-19-sd-bar-128x128.txt; } \
    >"$seeds/mem-video.vpdq"
# fuzz_hashlist, the publishers' formats: +128 chooses them (bits 0-2: 0
# vics, 1 ncmec, 2 stopncii, 3 threatexchange, 4 threatexchange-csv, 5
# tat, 6 icse), each once detected (format auto is bit 0-2 = 7) and named.
for f in tests/data/hashlists/feed.*; do
    [ -f "$f" ] || die "seed list '$f' not found"
    b=$(basename "$f")
    case $b in
    *vics*) x='\200' ;; *ncmec*) x='\201' ;; *stopncii*) x='\202' ;;
    *te.json) x='\203' ;; *te.csv) x='\204' ;; *tat*) x='\205' ;; *) x='\206' ;;
    esac
    { printf '\207'; cat "$f"; } >"$seeds/auto-$b"
    { printf '\257'; cat "$f"; } >"$seeds/mem-$b"
    # shellcheck disable=SC2059
    { printf "$x"; cat "$f"; } >"$seeds/fmt-$b"
done
# fuzz_vpdq: the reference's vPDQ files of the test videos, a synthetic
# one, and broken lines.
seeds=$out/seeds/fuzz_vpdq
rm -rf "$seeds"
mkdir -p "$seeds"
for f in tests/data/vpdq/expected/doorknob-hd-no-bar.txt \
    tests/data/vpdq/expected/pattern-hd-no-bar-128x128.txt; do
    [ -f "$f" ] || die "seed vPDQ file '$f' not found"
    head -n 40 "$f" >"$seeds/$(basename "$f")"
done
printf '0,100,%s,0.000\r\n\r\n30,49,%s,1.001' "$h" "$h" >"$seeds/crlf-no-final-newline"
printf '0,100,%s,0.000\n1,101,%s,0.033\n' "$h" "$h" >"$seeds/bad-quality"
printf '0,100,%s,0.\n' "$h" >"$seeds/bad-timestamp"
printf '18446744073709551615,0,%s,99999999999999999.99999999999999999999\n' "$h" \
    >"$seeds/huge"

# fuzz_request: the first byte chooses the part (see fuzz_request.c).
seeds=$out/seeds/fuzz_request
rm -rf "$seeds"
mkdir -p "$seeds"
printf '\000\001/v1/lookup\napplication/json; charset=utf-8' >"$seeds/route-lookup"
printf '\000\002/v1/index/entries/case%%201/a%%2Fb\n' >"$seeds/route-delete"
printf '\000\000/v1/hash\nimage/jpeg' >"$seeds/route-405"
printf '\000\001/h/hash\nmultipart/form-data; boundary=x' >"$seeds/route-multipart"
printf '\001signal_type=pdq&signal=%s&dihedral=1&max_distance=12&digest=sha256,md5' \
    "$h" >"$seeds/query-hma"
printf '\001url=http%%3A%%2F%%2Fx&digest=all&dihedral=yes&max_distance=%%33' \
    >"$seeds/query-escapes"
# percent-decoding at its bounds: a path segment decoding to PATH_ARG_MAX - 1
# bytes (fits) and PATH_ARG_MAX (too long), an escape cut at the end, and a
# query value whose escapes decode past every argument buffer
# (awk repeats; printf writes the NUL of the part byte)
escapes() { awk -v n="$1" -v e="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s", e }'; }
{ printf '\000\003/v1/index/disabled/s/'; escapes 1023 %41; } >"$seeds/route-segment-1023"
{ printf '\000\003/v1/index/disabled/s/'; escapes 1024 %41; } >"$seeds/route-segment-1024"
printf '\000\003/v1/index/disabled/s/abc%%4' >"$seeds/route-escape-cut"
{ printf '\001max_distance='; escapes 300 %33; printf '&signal=%%'; } \
    >"$seeds/query-escapes-long"
printf '\002{"hashes":["%s","%s"],"max_distance":31,"k":5}' "$h" "$h" >"$seeds/lookup"
printf '\002{"hashes":["xyz"]}' >"$seeds/lookup-bad"
printf '\003\000{"entries":[{"source":"s","id":"a/b","hash":"%s","quality":90},' "$h" \
    >"$seeds/entries"
printf '{"source":"s","id":"c","md5":"0123456789abcdef0123456789abcdef"}]}' \
    >>"$seeds/entries"
printf '\003\001{"hash":"%s","id":"x","added":"2024-01-02T03:04:05Z","note":null}\n' "$h" \
    >"$seeds/entries-jsonl"
printf '\003\002hash,id,md5\n%s,a,\n,b,0123456789abcdef0123456789abcdef\n' "$h" \
    >"$seeds/entries-csv"
printf '\003\003pdq %s\n' "$h" >"$seeds/entries-hma"
printf '\004Bearer lookup-token-0123456789abcdef\nops admin admin-token-0123456789abcdef\n' \
    >"$seeds/auth"
printf '\004bearer\tadmin-token-0123456789abcdef \n# c\nx lookup short\n' >"$seeds/auth-bad"
printf '\005\000\020aaaaaaaaaaaaaaaa\002\003xyz\002\004photo\006\001\004\010' \
    >"$seeds/body"

# The JPEG paths' targets start from fuzz_decode's JPEGs and the JPEG
# regression files (they skip other formats).
for t in fuzz_jpeg_stream fuzz_jpeg_diff; do
    seeds=$out/seeds/$t
    rm -rf "$seeds"
    mkdir -p "$seeds"
    cp "$out"/seeds/fuzz_decode/*.jpg tests/data/jpeg/*.jpg "$seeds/"
done

# fuzz_gif: the checked-in GIFs (tests/fuzz/corpus/fuzz_gif, joined below),
# cut inside their image data and before their first image.
seeds=$out/seeds/fuzz_gif
rm -rf "$seeds"
mkdir -p "$seeds"
for f in tests/fuzz/corpus/fuzz_gif/*.gif; do
    [ -f "$f" ] || die "seed GIF '$f' not found"
    b=$(basename "$f" .gif)
    n=$(wc -c <"$f")
    head -c $((n * 2 / 3)) "$f" >"$seeds/cut-$b.gif"
    head -c 13 "$f" >"$seeds/screen-$b.gif"
done

# fuzz_webp: its checked-in WebPs (below), and each cut in half, as a
# truncated download is.
seeds=$out/seeds/fuzz_webp
rm -rf "$seeds"
mkdir -p "$seeds"
for f in tests/fuzz/corpus/fuzz_webp/*.webp; do
    [ -f "$f" ] || die "seed WebP '$f' not found"
    head -c $(($(wc -c <"$f") / 2)) "$f" >"$seeds/half-$(basename "$f")"
done

# fuzz_bmp: its seeds are all checked in (tests/fuzz/corpus/fuzz_bmp: every
# variant of tests/cli/mkbmp.py made from a 13x7 image, and ImageMagick's
# RLE8, RGB565 and OS/2 1.x files of the same size).

# fuzz_mih: headers (hash set, query seed, radius, flags: see fuzz_mih.c) of
# tables without damage at each size and at several radii (two that scan),
# then damage records (table and where, 24-bit position, XOR byte) in a
# directory (a bucket's offset and zeros, the total of zeros that sizes the
# area), in a run's partners, in the bit vector and anywhere in an area.
# bytes B... writes the bytes B.
seeds=$out/seeds/fuzz_mih
rm -rf "$seeds"
mkdir -p "$seeds"
bytes() {
    for b in "$@"; do
        # shellcheck disable=SC2059 # the format is the octal escape
        printf "\\$(printf %o "$b")"
    done
}
bytes 0 1 0 0 >"$seeds/n2048-r0"
bytes 1 2 8 25 >"$seeds/n2049-uniform-r8"
bytes 2 3 16 2 >"$seeds/n3001-r16-long-runs"
bytes 3 4 12 7 >"$seeds/n4097-r12-duplicates"
bytes 4 5 170 8 >"$seeds/n6000-r40-scan"
bytes 5 6 194 0 >"$seeds/n5003-r64-scan"
bytes 6 7 20 16 >"$seeds/n65537-r20-high-parts"
bytes 7 8 161 1 >"$seeds/n70001-r31"
{ bytes 1 2 8 25; bytes 18 8 0 1 1 18 12 0 2 255 18 16 0 1 128; } >"$seeds/dir-offset-zeros"
{ bytes 2 3 16 2; bytes 7 4 0 8 64; } >"$seeds/dir-zeros-total"
{ bytes 2 3 16 2; bytes 53 2 0 2 64 53 40 0 1 3; } >"$seeds/run-partners"
{ bytes 6 7 20 16; bytes 48 8 128 1 2 49 12 128 2 240; } >"$seeds/bit-vector"
{ bytes 0 1 0 0; bytes 36 1 2 3 4 42 5 6 7 8; } >"$seeds/area-bytes"

# Every target's checked-in corpus (tests/fuzz/corpus/NAME: hand-written
# seeds and inputs its campaigns found, merged small) joins its seeds.
for src in tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    mkdir -p "$out/seeds/$t"
    [ -d "tests/fuzz/corpus/$t" ] || continue
    find "tests/fuzz/corpus/$t" -type f -exec cp {} "$out/seeds/$t/" \;
done
echo "fuzz: built the targets in $out/"
