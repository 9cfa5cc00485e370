#!/bin/sh
# augment_combo.sh - the 10 % corner crops in the --augment set (wt-combo):
# copies of the photos of data/ resized (ImageMagick, Lanczos or -sample),
# 10 % cut off at a corner and recompressed at quality 50-60 are missed by
# an index with the set of before (5, 8 and 15 % corners) and matched
# through a crop10 corner with the default set; the record names it.
. "$(dirname "$0")/lib.sh"
t_need_phmatch
P=$PHMATCH
if ! t_have convert; then
    t_skip "10 % corner crops" "ImageMagick convert not installed"
    t_done
fi
cd "$T" || exit 1
mkdir img
cp "$ROOT"/data/photos/bridge.jpg "$ROOT"/data/photos/labelme-q0291.jpg img/
"$P" index create aug.phmi
"$P" index create old.phmi
"$P" index add --images --augment --source k aug.phmi img > /dev/null 2>&1
t_is "augmented add: exit 0" "$?" 0
# the default set without the four 10 % corners
old=$(for v in crop5-c crop10-c crop15-c crop5-tl crop5-tr crop5-bl crop5-br crop15-tl \
    crop15-tr crop15-bl crop15-br crop8-tl crop8-tr crop8-bl crop8-br; do printf '%s,' "$v"; done)
"$P" index add --images --source k --variants "${old%,}" old.phmi img > /dev/null 2>&1
t_is "the set of before: exit 0" "$?" 0
names=$("$P" index export --format jsonl aug.phmi | grep -o '"crop10-[tb][lr]"' | sort -u |
    tr '\n' ' ')
t_is "--augment stores the 10 % corners" "$names" \
    '"crop10-bl" "crop10-br" "crop10-tl" "crop10-tr" '

convert img/bridge.jpg -resize 60% -gravity southeast -crop 90%x90%+0+0 +repage \
    -quality 50 c1.jpg
convert img/labelme-q0291.jpg -sample 70% -gravity southwest -crop 90%x90%+0+0 +repage \
    -quality 60 c2.jpg
for c in c1:bridge:crop10-br c2:labelme-q0291:crop10-bl; do
    f=${c%%:*}; rest=${c#*:}; id=${rest%%:*}; v=${rest#*:}
    m=$("$P" match --index old.phmi -f jsonl "$f.jpg" 2>/dev/null)
    t_like "$f: missed with the 5, 8 and 15 % corners" "$m" '"matches":\[\]'
    m=$("$P" match --index aug.phmi -f jsonl "$f.jpg" 2>/dev/null)
    t_like "$f: matched through $v" "$m" "\"id\":\"img/$id.jpg\".*\"known_variant\":\"$v\""
done
t_done
