#!/bin/sh
# install.sh - `make install` into a DESTDIR: files in place, and a program
# built against the installed header and library through pkg-config runs
# and hashes an image. Only on the plain build (the ASan one would need the
# sanitizer runtime in the test program too).
. "$(dirname "$0")/lib.sh"

case $BUILD in
*asan*)
    t_skip "install from $BUILD" "install is checked on the plain build"
    t_done
    exit
    ;;
esac

dest=$T/root
make -s -C "$ROOT" BUILD="$BUILD" install DESTDIR="$dest" PREFIX=/opt/phm >"$T/install.log" 2>&1
t_is "make install DESTDIR=... PREFIX=/opt/phm" "$?" 0
for f in bin/phmatch include/phmatch.h lib/libphmatch.a lib/libphmatch.so \
    lib/phmatch/phmatch-video.so lib/pkgconfig/phmatch.pc share/man/man1/phmatch.1; do
    t_ok "installed $f" test -e "$dest/opt/phm/$f"
done
t_like "phmatch.pc names the prefix installed to" \
    "$(cat "$dest/opt/phm/lib/pkgconfig/phmatch.pc")" "prefix=/opt/phm"
t_is "phmatch.pc does not require FFmpeg (only the video backend links it)" \
    "$(grep -i 'libav\|swscale' "$dest/opt/phm/lib/pkgconfig/phmatch.pc")" ""

# The installed phmatch finds the installed video backend (../lib/phmatch
# from its directory: the tree works wherever DESTDIR put it).
CLIP=$ROOT/tests/data/vpdq/synthetic/mandelbrot-160x120.mp4
"$dest/opt/phm/bin/phmatch" hash -q -f vpdq "$CLIP" >"$T/inst.vpdq" 2>"$T/inst.err"
t_is "the installed phmatch hashes a video (exit 0)" "$?" 0
"$PHMATCH" hash -q -f vpdq "$CLIP" >"$T/build.vpdq"
t_is "with the same frames as the build tree's" \
    "$(md5sum <"$T/inst.vpdq")" "$(md5sum <"$T/build.vpdq")"
t_like "the installed phmatch --version names FFmpeg" \
    "$("$dest/opt/phm/bin/phmatch" --version)" '^video: libavformat '

cat >"$T/user.c" <<'C'
#include <stdio.h>
#include <phmatch.h>
int main(int argc, char **argv)
{
    phm_decoder *d; phm_hasher *h; phm_image img; phm_pdq_result r;
    char err[PHM_ERRMSG_MAX], hex[PHM_PDQ_HEX_LEN + 1];
    if (argc != 2 || phm_decoder_new(&d, NULL) || phm_hasher_new(&h, PHM_SIMD_AUTO))
        return 2;
    if (phm_decode_file(d, argv[1], &img, err, sizeof err) ||
        phm_hash_image(h, &img, PHM_MODE_FULL, 0, &r)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    phm_pdq_to_hex(&r.hash[0], hex);
    printf("%s,%d\n", hex, r.quality);
    phm_hasher_free(h);
    phm_decoder_free(d);
    return 0;
}
C
cat >"$T/vuser.c" <<'C'
#include <stdio.h>
#include <phmatch.h>
int main(int argc, char **argv)
{
    phm_video_hasher *vh; phm_vpdq v; char err[PHM_ERRMSG_MAX];
    if (argc != 2 || phm_video_hasher_new(&vh, NULL))
        return 2;
    phm_vpdq_init(&v);
    int rc = phm_hash_video_file(vh, argv[1], &v, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    else
        printf("%s %zu frames\n", phm_version(), v.count);
    phm_vpdq_clear(&v);
    phm_video_hasher_free(vh);
    return rc < 0;
}
C
# The .pc file says prefix=/opt/phm; point the compiler at the DESTDIR copy.
pc=$dest/opt/phm/lib/pkgconfig
flags=$(PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$dest pkg-config --cflags --libs phmatch)
cc -o "$T/user" "$T/user.c" $flags >"$T/cc.log" 2>&1
t_is "a program builds against the installed library (pkg-config)" "$?" 0
t_is "and, linked to the installed libphmatch.so, hashes as the reference does" \
    "$(LD_LIBRARY_PATH=$dest/opt/phm/lib "$T/user" "$IMAGES/bridge-mods/aaa-orig.jpg")" \
    "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,100"
# A program linked to the installed libphmatch.so: no FFmpeg among its
# libraries, and the backend found beside the library (lib/phmatch/).
cc -o "$T/vuser" "$T/vuser.c" $flags >"$T/vcc.log" 2>&1
t_is "a video program builds against the installed library" "$?" 0
t_is "its libraries include no FFmpeg" \
    "$(LD_LIBRARY_PATH=$dest/opt/phm/lib ldd "$T/vuser" | grep -c 'libav')" 0
t_is "and it hashes a video through the installed backend" \
    "$(LD_LIBRARY_PATH=$dest/opt/phm/lib "$T/vuser" "$CLIP" 2>&1)" \
    "$("$PHMATCH" --version | sed -n 's/^phmatch //p') $(wc -l <"$T/build.vpdq") frames"
t_done
