#!/bin/sh
# video_backend.sh - FFmpeg only when a video is met (issue 11, point 6):
# phmatch, phmatchd and libphmatch.so have no FFmpeg dependency, a run
# without a video never maps FFmpeg's libraries, the video backend
# (phmatch-video.so) is opened at the first video and exports one symbol,
# and without it (or without FFmpeg) images still work while a video gets
# an error that names the file and the cause. TAP on stdout.
. "$(dirname "$0")/lib.sh"

t_need_phmatch
BDIR=$(dirname "$PHMATCH")
BACKEND=$BDIR/phmatch-video.so
IMG=$IMAGES/misc-images/small.jpg
CLIP=$ROOT/tests/data/vpdq/synthetic/mandelbrot-160x120.mp4
FFMPEG_RE='lib\(avcodec\|avformat\|avutil\|avfilter\|avdevice\|swscale\|swresample\|postproc\)'

# ------------------------------------------------------------------
# Link time: no FFmpeg among the dependencies

if t_have readelf; then
    for f in "$PHMATCH" "$BDIR/phmatchd" "$BDIR/libphmatch.so"; do
        needed=$(readelf -d "$f" 2>&1 | grep NEEDED)
        t_like "$(basename "$f") has dependencies (readelf works)" "$needed" 'libc\.so'
        t_is "$(basename "$f") needs no FFmpeg library" \
            "$(printf '%s\n' "$needed" | grep "$FFMPEG_RE")" ""
    done
    t_like "phmatch-video.so needs libavcodec" \
        "$(readelf -d "$BACKEND" | grep NEEDED)" 'libavcodec'
else
    t_skip "dependencies of the programs" "readelf not installed (binutils)"
fi
# ldd lists the whole tree (a dependency of a dependency too).
if t_have ldd; then
    t_is "ldd phmatch: no FFmpeg library in the whole tree" \
        "$(ldd "$PHMATCH" | grep "$FFMPEG_RE")" ""
fi
if t_have nm; then
    t_is "phmatch-video.so exports its table only" \
        "$(nm -D --defined-only "$BACKEND" | awk 'NF == 3 { print $3 }')" \
        "phm_video_backend_v1"
fi

# ------------------------------------------------------------------
# Run time: what the dynamic loader maps (LD_DEBUG=libs names each library
# it initialises; glibc's loader prints it for any program)

LD_DEBUG=libs "$PHMATCH" hash -q "$IMG" >"$T/img.out" 2>"$T/img.ld"
t_is "an image: exit 0" "$?" 0
if grep -q 'calling init' "$T/img.ld"; then
    t_is "an image: no FFmpeg library mapped" \
        "$(grep 'calling init' "$T/img.ld" | grep "$FFMPEG_RE")" ""
    LD_DEBUG=libs "$PHMATCH" hash -q "$CLIP" >/dev/null 2>"$T/video.ld"
    t_like "a video: the backend is opened" "$(grep 'calling init' "$T/video.ld")" \
        'phmatch-video\.so'
    t_like "a video: FFmpeg mapped then" "$(grep 'calling init' "$T/video.ld")" \
        'libavcodec'
    LD_DEBUG=libs "$BDIR/phmatchd" --version >/dev/null 2>"$T/d.ld"
    t_is "phmatchd --version: no FFmpeg library mapped" \
        "$(grep 'calling init' "$T/d.ld" | grep "$FFMPEG_RE")" ""
else
    t_skip "libraries mapped at run time" "LD_DEBUG not supported by this loader"
fi
# The same from /proc: a phmatch that reads an image from a pipe that stays
# open is alive while we look at its maps.
if [ -r /proc/self/maps ]; then
    fifo=$T/fifo
    mkfifo "$fifo"
    "$PHMATCH" hash -q - <"$fifo" >/dev/null 2>&1 &
    pid=$!
    exec 3>"$fifo"
    head -c 100 "$IMG" >&3
    i=0
    while [ $i -lt 50 ] && ! grep -q libjpeg "/proc/$pid/maps" 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
    done
    maps=$(cat "/proc/$pid/maps" 2>/dev/null)
    exec 3>&-
    wait $pid
    t_like "/proc/PID/maps of a running phmatch is readable" "$maps" 'libjpeg'
    t_is "/proc/PID/maps: no FFmpeg library" \
        "$(printf '%s\n' "$maps" | grep "$FFMPEG_RE")" ""
fi

# ------------------------------------------------------------------
# Without the backend

export PHMATCH_VIDEO_BACKEND=/nonexistent/phmatch-video.so
"$PHMATCH" hash -q "$IMG" >"$T/img.tsv" 2>"$T/img.err"
t_is "no backend: an image is hashed (exit 0)" "$?" 0
t_is "no backend: the image's hash" "$(tsv_get "$IMG" pdq "$T/img.tsv")" \
    "$(unset PHMATCH_VIDEO_BACKEND; "$PHMATCH" hash -q "$IMG" | tsv_col pdq /dev/stdin)"
"$PHMATCH" hash -q "$IMG" "$CLIP" >"$T/both.tsv" 2>"$T/both.err"
rc=$?
t_ok "no backend: a video fails (exit nonzero)" test "$rc" -ne 0
t_is "no backend: the image beside it is still hashed" \
    "$(tsv_get "$IMG" status "$T/both.tsv")" ok
t_is "no backend: the video's status" "$(tsv_get "$CLIP" status "$T/both.tsv")" \
    unsupported_format
t_like "no backend: the message names the file, the backend and the cause" \
    "$(cat "$T/both.err")" \
    "cannot hash '$CLIP': the video backend could not be loaded: /nonexistent/phmatch-video.so: cannot open"
out=$("$PHMATCH" --version)
t_is "no backend: --version still exits 0" "$?" 0
t_like "no backend: --version says why video is unavailable" "$out" \
    '^video: unavailable (/nonexistent/phmatch-video.so: '
"$PHMATCH" compare "$CLIP" "$CLIP" >/dev/null 2>"$T/cmp.err"
t_ok "no backend: compare of videos fails" test $? -ne 0
t_like "no backend: compare says why" "$(cat "$T/cmp.err")" \
    "cannot decode video '$CLIP': the video backend could not be loaded"

# A backend whose FFmpeg is missing: a shared object that needs a library
# that is not there, as the backend on a system without FFmpeg.
cc=${CC:-cc}
if t_have "$cc"; then
    printf 'int phm_fake_av(void);\nint phm_fake_av(void) { return 1; }\n' >"$T/av.c"
    printf 'int phm_fake_av(void);\nint phm_uses_av(void);\nint phm_uses_av(void) { return phm_fake_av(); }\n' >"$T/be.c"
    if "$cc" -shared -fPIC -o "$T/libavfake.so" "$T/av.c" 2>/dev/null &&
        "$cc" -shared -fPIC -o "$T/backend.so" "$T/be.c" -L"$T" -lavfake 2>/dev/null; then
        rm -f "$T/libavfake.so"
        PHMATCH_VIDEO_BACKEND=$T/backend.so "$PHMATCH" hash -q "$IMG" "$CLIP" \
            >"$T/nolib.tsv" 2>"$T/nolib.err"
        t_ok "no FFmpeg: exit nonzero" test $? -ne 0
        t_is "no FFmpeg: the image is hashed" "$(tsv_get "$IMG" status "$T/nolib.tsv")" ok
        t_like "no FFmpeg: the loader's reason is given" "$(cat "$T/nolib.err")" \
            "the video backend could not be loaded: libavfake.so: cannot open shared object file"
    else
        t_skip "a backend without its libraries" "cannot build a shared object with $cc"
    fi
    # A shared object that is not a backend.
    if "$cc" -shared -fPIC -o "$T/plain.so" "$T/av.c" 2>/dev/null; then
        out=$(PHMATCH_VIDEO_BACKEND=$T/plain.so "$PHMATCH" hash -q "$CLIP" 2>&1 >/dev/null)
        t_like "not a backend: refused with a message" "$out" \
            "is not a phmatch video backend (no phm_video_backend_v1)"
    fi
fi
unset PHMATCH_VIDEO_BACKEND

# The default search finds the backend next to the program.
"$PHMATCH" hash -q "$CLIP" >"$T/clip.tsv"
t_is "backend next to phmatch: a video is hashed" "$?" 0
t_done
