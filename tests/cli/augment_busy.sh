#!/bin/sh
# augment_busy.sh - the stored variants for busy images (down50, jpeg30,
# mirror, rot90): the 256-pixel labelme photos of data/photos are busy
# (a flip, a turn, a re-encode or a resize moves their PDQ hashes by more
# than 31 bits), bridge.jpg is not. With --augment, each labelme photo
# stores mirror and rot90 and bridge.jpg none of the four; copies made by
# ImageMagick (flopped, turned 90 degrees clockwise, quality 30, scaled to
# 50 %) of labelme-q0122 that `match --robust` misses against a plain
# index are found, each through the variant for its edit.
. "$(dirname "$0")/lib.sh"
t_need_phmatch
P=$PHMATCH
if ! t_have convert; then
    t_skip "busy-image variants" "ImageMagick convert not installed"
    t_done
fi
cd "$T" && mkdir img || exit 1
for f in bridge labelme-q0122 labelme-q0291 labelme-q0746 labelme-q1050 labelme-q2821; do
    cp "$ROOT/data/photos/$f.jpg" img/
done
for db in plain aug; do
    "$P" index create "$db.phmi" || exit 1
done
"$P" index add --images --source k plain.phmi img > /dev/null 2>&1
t_is "plain add: exit 0" "$?" 0
t_entries "plain add: the 6 photos stored" plain.phmi 6
t_ok "augmented add" sh -c '"$0" index add --images --augment --source k aug.phmi img \
    > /dev/null 2>&1' "$P"
kept() {
    "$P" index export --format jsonl aug.phmi | grep "\"id\":\"img/$1\"" |
        grep -o '"\(mirror\|rot90\|down50\|jpeg30\)":"' | tr -d '":' | sort | tr '\n' ' '
}
t_is "bridge.jpg (stable): none of the four stored" "$(kept bridge.jpg)" ""
for f in labelme-q0122 labelme-q0291 labelme-q0746 labelme-q1050 labelme-q2821; do
    t_like "$f (busy): mirror and rot90 stored" "$(kept $f.jpg)" "mirror rot90"
done
t_like "labelme-q0122: down50 and jpeg30 too" "$(kept labelme-q0122.jpg)" "down50 jpeg30"

b=img/labelme-q0122.jpg
convert "$b" -flop -quality 85 flop.jpg
convert "$b" -rotate 90 -quality 85 rot90.jpg
convert "$b" -quality 30 q30.jpg
convert "$b" -scale 50% -quality 85 half.jpg
for c in flop:mirror rot90:rot90 q30:jpeg30 half:down50; do
    f=${c%%:*} v=${c#*:}
    m=$("$P" match --robust --index plain.phmi -f jsonl "$f.jpg" 2>/dev/null)
    t_like "$f: missed with a plain index" "$m" '"matches":\[\]'
    m=$("$P" match --robust --index aug.phmi -f jsonl "$f.jpg" 2>/dev/null)
    t_like "$f: found through $v" "$m" "\"id\":\"img/labelme-q0122.jpg\".*\"known_variant\":\"$v\""
done
t_ok "verify" sh -c '"$0" index verify aug.phmi > /dev/null' "$P"
t_done
