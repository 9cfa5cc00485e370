#!/bin/sh
# service_video.sh - phmatchd's POST /v1/match on videos, over a real Unix
# socket: a video body (told from an image by its content) is decoded from
# memory and answered with the same match records as `phmatch match
# --format jsonl` gives for the same file (known videos with both
# percentages, known images with the frames they appear in), and so is an
# image; a vPDQ hash file as the body; max_frames, max_duration and
# max_body; a body that is neither image nor video. TAP on stdout.
. "$(dirname "$0")/lib.sh"

case $BUILD in
/*) D=$BUILD ;;
*) D=$ROOT/$BUILD ;;
esac
PHMATCHD=$D/phmatchd
VIDEOS=$ROOT/tests/data/vpdq/videos
EXPECTED=$ROOT/tests/data/vpdq/expected
SYNTH=$ROOT/tests/data/vpdq/synthetic/mandelbrot-160x120.mp4
JPG=$IMAGES/misc-images/wee.jpg

t_need_phmatch
if ! t_have curl; then
    echo "1..0 # SKIP curl not installed (make deps installs it)"
    exit 0
fi
if ! t_python; then
    echo "1..0 # SKIP no python3 to compare the answers"
    exit 0
fi
if [ ! -x "$PHMATCHD" ]; then
    t_fail "built: $PHMATCHD"
    t_done
fi

trap 'svc_kill_all; t_cleanup' EXIT

# start NAME ARGS... - phmatchd on $T/NAME.sock, log in $T/NAME.log.
start() {
    _n=$1
    shift
    svc_start "$_n" --socket "$T/$_n.sock" "$@"
}

# post SOCK FILE [CONTENT-TYPE] - POST /v1/match; prints the status, the
# answer goes to $T/out.
post() {
    curl -s -m 60 --unix-socket "$T/$1.sock" -o "$T/out" -w '%{http_code}' \
        -H "Content-Type: ${3:-application/octet-stream}" --data-binary @"$2" \
        http://localhost/v1/match
}

# same CLI_JSONL SERVICE_JSON - "same N" when the "matches" arrays are
# equal (N records), else both.
same() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
cli = json.loads(open(sys.argv[1]).readline())["matches"]
svc = json.load(open(sys.argv[2]))["matches"]
print("same %d" % len(cli) if cli == svc else "cli %s\nsvc %s" % (cli, svc))
EOF
}

# field JSON NAME - a top-level member of the answer.
field() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$1" "$2"
}

# The index: the reference videos (from their vPDQ files), a frame of the
# synthetic video as a known image, and a photo.
K=$T/k.phmi
"$PHMATCH" index create "$K" >/dev/null
"$PHMATCH" index import --source ref --category clips "$K" \
    "$EXPECTED/chair-19-sd-bar.txt" "$EXPECTED/doorknob-hd-no-bar.txt" >/dev/null
t_is "index: two known videos" "$?" 0
h=$("$PHMATCH" hash -q -f vpdq "$SYNTH" | awk -F, '$1 == 50 { print $3 }')
h2=$("$PHMATCH" hash -q -f pdq "$JPG" | cut -d, -f1)
printf '%s,100,frame50\n%s,100,photo\n' "$h" "$h2" |
    "$PHMATCH" index import --source img --category pics "$K" - >/dev/null
t_is "index: two known images" "$?" 0

if ! start main --index "$K"; then
    t_fail "phmatchd starts"
    t_diag "$(cat "$T/main.log")"
    t_done
fi
t_pass "phmatchd starts"

# The same file through phmatch match and through phmatchd.
for f in "$VIDEOS/chair-19-sd-bar.mp4" "$VIDEOS/doorknob-hd-no-bar.mp4" "$SYNTH" \
    "$VIDEOS/test-padded-dimensions.mp4" "$JPG"; do
    n=$(basename "$f")
    "$PHMATCH" match -q -f jsonl --index "$K" "$f" >"$T/cli.jsonl"
    t_is "$n: phmatchd answers 200" "$(post main "$f")" 200
    case $n in
    *.jpg) want="same 1" ;;
    test-padded*) want="same 0" ;;
    *) want="same 1" ;;
    esac
    t_is "$n: the same matches as phmatch match" "$(same "$T/cli.jsonl" "$T/out")" "$want"
done
post main "$VIDEOS/chair-19-sd-bar.mp4" >/dev/null
t_like "a known video: both percentages" "$(cat "$T/out")" \
    '"id":"chair-19-sd-bar","category":"clips","kind":"video","distance":0,.*"query_percent":[0-9.]*,"compared_percent":[0-9.]*,"suppressed_by":null}'
t_like "... and the video's description" "$(cat "$T/out")" '^{"kind":"video","format":"mov/h264",'
post main "$SYNTH" >/dev/null
t_like "a known image in a video: its frames with timestamps" "$(cat "$T/out")" \
    '"id":"frame50",.*"frame":50,"timestamp":[0-9.]*,"frames":\[{"frame":50,"timestamp":'
t_is "a video sent as video/mp4: 200" "$(post main "$SYNTH" video/mp4)" 200
t_is "phmatchd counts the videos it hashed" \
    "$(curl -s --unix-socket "$T/main.sock" http://localhost/metrics | sed -n 's/^phmatchd_videos_hashed_total //p')" 7

# A vPDQ hash file as the body: matched as the video it hashes.
"$PHMATCH" match -q -f jsonl --index "$K" "$EXPECTED/doorknob-hd-no-bar.txt" >"$T/cli.jsonl"
t_is "a vPDQ body (text/plain): 200" "$(post main "$EXPECTED/doorknob-hd-no-bar.txt" text/plain)" 200
t_is "... the same matches as phmatch match" "$(same "$T/cli.jsonl" "$T/out")" "same 1"

# Neither an image nor a video.
head -c 3000 /dev/urandom >"$T/noise.bin"
t_is "a body that is neither image nor video: 415" "$(post main "$T/noise.bin")" 415
t_like "... unsupported_format" "$(cat "$T/out")" '"code":"unsupported_format"'
printf 'x' >"$T/one.bin"
t_is "a one-byte body: 415" "$(post main "$T/one.bin")" 415

# Limits: max_frames, max_duration, max_body.
if ! start lim --index "$K" --max-frames 10 --max-duration 2 --max-body 1M; then
    t_fail "phmatchd starts with limits"
    t_diag "$(cat "$T/lim.log")"
    t_done
fi
t_is "max_frames: a longer video is 422" "$(post lim "$SYNTH")" 422
t_like "... too_large, naming the limit" "$(cat "$T/out")" '"code":"too_large".*limit of 10 frames'
kill -TERM "$PID"
wait "$PID" 2>/dev/null
start lim2 --index "$K" --max-duration 1 --max-body 1M || t_fail "phmatchd starts (lim2)"
t_is "max_duration: a longer video is 422" "$(post lim2 "$VIDEOS/doorknob-hd-no-bar.mp4")" 422
t_like "... too_large, naming the limit" "$(cat "$T/out")" '"code":"too_large".*limit of 1 seconds'
t_is "max_body: a larger video is 413" "$(post lim2 "$VIDEOS/chair-19-sd-bar.mp4")" 413
t_is "... and the server still answers" "$(post lim2 "$JPG")" 200

t_done
