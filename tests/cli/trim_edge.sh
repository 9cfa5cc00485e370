#!/bin/sh
# trim_edge.sh - screenshots of pictures whose own edge is the canvas's
# colour (wt-shot3): a photo of data/photos given a white (black) margin
# of its own, 6 % a side, is the known image; ImageMagick puts it on a
# phone's white (dark) screen (a status bar, an app bar with a title, the
# picture at 92 % of the width, text lines under it, a navigation bar).
# Nothing in the screenshot's pixels says where the picture's margin ends,
# so `match --robust` against a plain index misses it; with --augment the
# known image stores "trim-white" ("trim-black"), the picture cut to its
# content, and the screenshot's second trimmed box finds it through that.
# A photo without a plain edge stores neither, its screenshot is found
# as before, and an unrelated photo's screenshot matches nothing.
. "$(dirname "$0")/lib.sh"
t_need_phmatch
P=$PHMATCH
if ! t_have convert; then
    t_skip "screenshots of white-edged pictures" "ImageMagick convert not installed"
    t_done
fi
cd "$T" && mkdir img || exit 1
ph=$ROOT/data/photos
# margin SRC COLOUR OUT: 31 and 8 pixels left and right, 8 and 18 above
# and below (uneven: no stored crop is near the content alone)
margin() {
    convert "$1" -background "$2" -gravity northwest -splice 31x8 -gravity southeast \
        -splice 8x18 +repage -quality 92 "$3"
}
margin "$ph/labelme-q0291.jpg" white img/white.jpg
margin "$ph/labelme-q0746.jpg" black img/black.jpg
cp "$ph/bridge.jpg" img/plain.jpg
"$P" index create plain.phmi > /dev/null && "$P" index create aug.phmi > /dev/null || exit 1
"$P" index add --images --source k plain.phmi img > /dev/null 2>&1
t_is "plain add: exit 0" "$?" 0
t_entries "plain add: the 3 images stored" plain.phmi 3
t_ok "index add --augment" sh -c '"$0" index add --images --augment --source k aug.phmi img \
    > /dev/null 2>&1' "$P"
# The trim variants the export lists for img/NAME, in order.
kept() {
    "$P" index export --format jsonl aug.phmi | grep "\"id\":\"img/$1\"" |
        grep -o '"trim-[a-z]*":' | sed 's/[":]//g' | tr '\n' ' '
}
t_is "white.jpg: trim-white stored" "$(kept white.jpg)" "trim-white "
t_is "black.jpg: trim-black stored" "$(kept black.jpg)" "trim-black "
t_is "plain.jpg (no plain edge): neither" "$(kept plain.jpg)" ""

# shot SRC OUT CANVAS BARS INK: a 720x1280 phone screen
shot() {
    convert -size 720x1280 "xc:$3" \
        -fill "$4" -draw "rectangle 0,0 719,47" -fill "$4" -draw "rectangle 0,48 719,135" \
        -fill "$5" -draw "rectangle 30,80 200,100" -draw "rectangle 600,10 700,36" \
        \( "$1" -resize 662x \) -geometry +29+200 -composite \
        -fill "#a0a0a0" -draw "rectangle 29,900 600,916" -draw "rectangle 29,940 420,956" \
        -fill black -draw "rectangle 0,1190 719,1279" -fill white -draw "circle 360,1235 372,1235" \
        -quality 85 "$2"
}
shot img/white.jpg white-shot.jpg white "#1565c0" white
shot img/black.jpg black-shot.jpg "#101010" "#303030" "#e0e0e0"
shot img/plain.jpg plain-shot.jpg white "#1565c0" white
shot "$ph/labelme-q1050.jpg" other-shot.jpg white "#1565c0" white
for c in white:trim-white black:trim-black; do
    f=${c%%:*} v=${c#*:}
    m=$("$P" match --robust --index plain.phmi -f jsonl "$f-shot.jpg" 2>/dev/null)
    t_like "$f-shot: missed with a plain index" "$m" '"status":"ok".*"matches":\[\]'
    m=$("$P" match --robust --index aug.phmi -f jsonl "$f-shot.jpg" 2>/dev/null)
    t_like "$f-shot: found through the second trimmed box and $v" "$m" \
        "\"id\":\"img/$f.jpg\".*\"variant\":\"trimmed\",\"known_variant\":\"$v\""
done
m=$("$P" match --robust --index aug.phmi -f jsonl plain-shot.jpg 2>/dev/null)
t_like "plain-shot: found, trimmed, against the own hash" "$m" \
    "\"id\":\"img/plain.jpg\".*\"variant\":\"trimmed\",\"known_variant\":null"
t_is "plain-shot: no other entry" "$(printf '%s' "$m" | grep -o '"id":"img/[a-z]*.jpg"' | sort -u)" \
    '"id":"img/plain.jpg"'
m=$("$P" match --robust --index aug.phmi -f jsonl other-shot.jpg 2>/dev/null)
t_like "an unrelated photo's screenshot: no match" "$m" '"match_count":0'
t_done
