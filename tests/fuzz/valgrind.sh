#!/bin/sh
# tests/fuzz/valgrind.sh [TARGET...] - the fuzz targets' corpora run under
# valgrind's memcheck, for reads of uninitialised memory: the one kind of
# fault ASan does not see and MemorySanitizer cannot look for here
# (libtiff, libjxl, jansson, LMDB, libmicrohttpd and the other libraries
# are not built with it). Each target's own checks run too (its abort is a
# failure).
#
# Each TARGET (default: every tests/fuzz/fuzz_*.c) is built with gcc -O1
# against BUILD's libphmatch.a and phmatchd's objects (default build; make
# it first) with a main that feeds it every file of tests/fuzz/corpus/TARGET and of
# build-fuzz/corpus/TARGET (a fuzzing campaign's, when there is one), and
# run once under valgrind. Slow (a campaign's corpora take minutes a
# target), so not part of `make check`. Prints a line per target; exit
# status 1 when any reported an error (its log is kept in
# BUILD/fuzz-valgrind/TARGET.log), 77 when valgrind is missing.
set -eu
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
out=$build/fuzz-valgrind
command -v valgrind >/dev/null 2>&1 || { echo "valgrind.sh: valgrind not installed" >&2; exit 77; }
[ -f "$build/libphmatch.a" ] && [ -f "$build/daemon/http.o" ] ||
    { echo "valgrind.sh: no $build/libphmatch.a or phmatchd's objects: run make first" >&2; exit 1; }
targets=${*:-$(for s in tests/fuzz/fuzz_*.c; do basename "$s" .c; done)}
mkdir -p "$out"
# phmatchd's objects but its main, for the targets of its request handling
rm -f "$out/libphmatchd.a"
# shellcheck disable=SC2046 # the object files' names: no spaces
ar rcs "$out/libphmatchd.a" $(ls "$build"/daemon/*.o | grep -v '/main\.o$')

cat > "$out/driver.c" <<'EOF'
/* Feeds LLVMFuzzerTestOneInput every file named on stdin, one a line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* weak: a target without start-up has none */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    char path[4096];
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    while (fgets(path, sizeof path, stdin)) {
        path[strcspn(path, "\n")] = '\0';
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        uint8_t *b = NULL;
        size_t n = 0, cap = 0, got;
        do {
            if (n == cap) {
                uint8_t *nb = realloc(b, cap = cap ? 2 * cap : 65536);
                if (!nb)
                    abort();
                b = nb;
            }
            got = fread(b + n, 1, cap - n, f);
            n += got;
        } while (got > 0);
        fclose(f);
        fprintf(stderr, "input %s\n", path);
        LLVMFuzzerTestOneInput(b, n);
        free(b);
    }
    return 0;
}
EOF

libs="$(pkg-config --libs libturbojpeg libjpeg libpng libwebp libwebpdemux lmdb libcrypto jansson libmicrohttpd) -lgif -lm -ldl -fopenmp -pthread"
for l in heif jxl tiff xml2; do
    pkg-config --exists "lib$l" 2>/dev/null && libs="$libs -l$l"
done
failed=0
for t in $targets; do
    [ -f "tests/fuzz/$t.c" ] || { echo "valgrind.sh: no tests/fuzz/$t.c" >&2; failed=1; continue; }
    # shellcheck disable=SC2086,SC2046 # $libs, pkg-config's: the compiler's arguments
    if ! cc -std=c11 -D_DEFAULT_SOURCE -g -O1 -Iinclude -Isrc/lib -Isrc/daemon -Itests/fuzz \
        $(pkg-config --cflags libmicrohttpd) "$out/driver.c" "tests/fuzz/$t.c" \
        "$out/libphmatchd.a" "$build/libphmatch.a" $libs -o "$out/$t" 2>"$out/$t.build.log"; then
        echo "$t: does not build (see $out/$t.build.log)"
        failed=1
        continue
    fi
    find "tests/fuzz/corpus/$t" "build-fuzz/corpus/$t" -type f 2>/dev/null | LC_ALL=C sort > "$out/$t.list"
    n=$(wc -l < "$out/$t.list" | tr -d ' ')
    if OMP_NUM_THREADS=1 valgrind -q --error-exitcode=9 --leak-check=no "$out/$t" \
        < "$out/$t.list" > /dev/null 2> "$out/$t.log"; then
        echo "$t: $n inputs, no error"
    else
        echo "$t: $n inputs, FAILED (the input before the first report: $out/$t.log)"
        failed=1
    fi
done
exit "$failed"
