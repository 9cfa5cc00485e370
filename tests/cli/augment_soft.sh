#!/bin/sh
# augment_soft.sh - the soft hashes in the --augment set and in --robust
# (wt-combo2; docs/ROBUST.md, "Combinations of busy images"): a fine
# grey texture (ImageMagick noise, quality 100 to PDQ) resized to 60 %,
# cut 8 % off the right and the bottom and saved at quality 50 is missed
# by every plain hash and found by the copy's soft hash against the stored
# soft-crop8-tl; the corners' soft hashes are stored by default, and a query hash
# other than a soft one never reaches them: not in match, lookup, index
# audit nor phmatchd's /m/raw_lookup (phm_search_radius_plain). The whole
# image's soft hash is stored by default too (wt-tpr): a quarter-size copy
# is found through it.
. "$(dirname "$0")/lib.sh"
t_need_phmatch
P=$PHMATCH
if ! t_have convert; then
    t_skip "soft hashes" "ImageMagick convert not installed"
    t_done
fi
cd "$T" || exit 1
mkdir img
convert -seed 2 -size 822x594 xc:gray +noise Random -colorspace Gray -blur 0x0.7 -normalize \
    -quality 90 img/busy.jpg
convert img/busy.jpg -resize 60% -gravity NorthWest -crop 92%x92%+0+0 +repage -quality 50 c.jpg
"$P" index create aug.phmi
"$P" index add --images --augment --source k aug.phmi img > /dev/null 2>&1
t_is "augmented add: exit 0" "$?" 0
names=$("$P" index export --format jsonl aug.phmi | grep -o '"soft[a-z0-9-]*"' | sort -u |
    tr '\n' ' ')
t_is "--augment stores the whole image's and the corners' soft hashes" "$names" \
    '"soft" "soft-crop8-bl" "soft-crop8-br" "soft-crop8-tl" "soft-crop8-tr" '
# wt-tpr (docs/ROBUST.md, "Busy images at a quarter"): the texture shrunk
# to a quarter a side by area averaging is missed by every plain hash
# and found by its soft hash against the stored whole image's soft hash
convert img/busy.jpg -scale 25% -quality 85 q.jpg
m=$("$P" match --index aug.phmi --no-trim --dihedral -f jsonl q.jpg 2>/dev/null)
t_like "the quarter: missed by its plain hashes" "$m" '"matches":\[\]'
m=$("$P" match --index aug.phmi --robust -f jsonl q.jpg 2>/dev/null)
t_like "the quarter: --robust finds it through the stored soft" "$m" \
    '"id":"img/busy.jpg".*"variant":"soft","known_variant":"soft"'
m=$("$P" match --index aug.phmi --no-trim --dihedral -f jsonl c.jpg 2>/dev/null)
t_like "the combination: missed by its plain hashes" "$m" '"matches":\[\]'
m=$("$P" match --index aug.phmi --robust -f jsonl c.jpg 2>/dev/null)
t_like "the combination: --robust finds it through soft-crop8-tl" "$m" \
    '"id":"img/busy.jpg".*"variant":"soft","known_variant":"soft-crop8-tl"'
m=$("$P" match --index aug.phmi --no-trim --soft -f jsonl c.jpg 2>/dev/null)
t_like "the combination: --soft alone finds it" "$m" '"known_variant":"soft-crop8-tl"'
# The stored soft-crop8-tl looked up as a plain hash: no match (only a
# query's soft hash is compared with it); its plain twin crop8-tl is.
h=$("$P" index export --format jsonl aug.phmi | sed 's/.*"soft-crop8-tl":"\([0-9a-f]*\)".*/\1/')
t_like "the stored soft-crop8-tl read back" "$h" '^[0-9a-f]\{64\}$'
m=$(echo "$h" | "$P" lookup --index aug.phmi - 2>/dev/null | tail -n 1 | cut -f 4)
t_is "a plain hash equal to a stored soft hash is no match" "$m" none
SOFT=$h
# index audit (wt-soft): an entry whose own hash is that soft hash does
# not count img/busy.jpg as a hit (before, 0 bits through soft-crop8-tl)
"$P" index add aug.phmi --hash "$SOFT" --source other --id twin --quality 90 > /dev/null 2>&1
t_is "an entry of the soft hash as its own: exit 0" "$?" 0
a=$("$P" index audit --min-hits 1 --format jsonl aug.phmi 2>/dev/null)
t_is "index audit: exit 0" "$?" 0
t_is "index audit: no hit through a soft slot" "$a" ""
"$P" index remove aug.phmi --source other --id twin > /dev/null 2>&1
h=$("$P" index export --format jsonl aug.phmi | sed 's/.*"crop8-tl":"\([0-9a-f]*\)".*/\1/')
# the control: an entry of the plain crop8-tl hash has its hit (img/busy.jpg)
"$P" index add aug.phmi --hash "$h" --source other --id twin2 --quality 90 > /dev/null 2>&1
a=$("$P" index audit --min-hits 1 --format jsonl aug.phmi 2>/dev/null)
t_like "index audit: an entry of the plain crop8-tl has a hit" "$a" '"id":"twin2",.*"hits":1'
"$P" index remove aug.phmi --source other --id twin2 > /dev/null 2>&1
m=$(echo "$h" | "$P" lookup --index aug.phmi - 2>/dev/null | tail -n 1 | cut -f 4,13)
t_is "one equal to its plain crop8-tl is" "$m" "$(printf 'match\tcrop8-tl')"

# phmatchd: ?robust=1 searches the soft hash too.
svc_need_phmatchd
svc_match_start "$T/aug.phmi"
t_is "phmatchd started" "$?" 0
t_is "POST /v1/match, the combination: 200" "$(svc_post c.jpg "")" 200
t_like "... no match without ?robust=1" "$(cat "$T/out")" '"matches":\[\]'
t_is "?robust=1: 200" "$(svc_post c.jpg "?robust=1")" 200
t_like "... matched through soft-crop8-tl" "$(cat "$T/out")" \
    '"id":"img/busy.jpg".*"variant":"soft","known_variant":"soft-crop8-tl"'
t_is "?robust=1, the quarter: 200" "$(svc_post q.jpg "?robust=1")" 200
t_like "... matched through the stored soft" "$(cat "$T/out")" \
    '"id":"img/busy.jpg".*"variant":"soft","known_variant":"soft"'
# /m/raw_lookup (wt-soft): the stored soft hash as a plain signal finds
# nothing; the plain crop8-tl finds the image at 0
raw() {
    curl -s -m 20 -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:$PORT/m/raw_lookup?signal_type=pdq&signal=$1&include_distance=true"
}
t_is "GET /m/raw_lookup of the stored soft hash: no match" "$(raw "$SOFT")" '{"matches":[]}'
t_like "... of its plain crop8-tl: at 0" "$(raw "$h")" '"distance":"0"'
svc_stop "$PID"
t_is "phmatchd stops on SIGTERM" "$RC" 0
t_done
