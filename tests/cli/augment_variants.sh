#!/bin/sh
# augment_variants.sh - the photometric and 8 % corner stored variants
# (gamma-up, gamma-down, blur, down25, crop8-tl ... crop8-br): the names
# are accepted by --variants and are in the --augment set; a copy resized
# to 60 %, 8 % cut off the right and the bottom and recompressed (made by
# ImageMagick) is missed by a plain index and matched through crop8-tl; a
# darkened copy (ImageMagick -gamma 0.7) is matched nearer through
# gamma-down, and the match record names the variant.
. "$(dirname "$0")/lib.sh"
t_need_phmatch
P=$PHMATCH
if ! t_have convert; then
    t_skip "augmented variants" "ImageMagick convert not installed"
    t_done
fi
cd "$T" || exit 1
mkdir img
cp "$ROOT"/data/photos/*.jpg img/
"$P" index create plain.phmi
"$P" index create aug.phmi
"$P" index add --images --source k plain.phmi img > /dev/null 2>&1
t_is "plain add: exit 0" "$?" 0
t_entries "plain add: the 6 photos stored" plain.phmi 6
out=$("$P" index add --images --augment --source k aug.phmi img 2>&1)
t_is "augmented add: exit 0" "$?" 0
names=$("$P" index export --format jsonl aug.phmi | grep -o '"[a-z0-9+-]*":"[0-9a-f]\{64\}"' |
    sed 's/":.*//; s/"//' | sort -u | tr '\n' ' ')
t_like "--augment stores the 8 % corners" "$names" "crop8-br crop8-tl crop8-tr"
t_like "... and photometric variants" "$names" "blur .*down25 .*gamma-down"

out=$("$P" index create one.phmi && "$P" index add --images --source k --variants \
    gamma-up,gamma-down,blur,down25,crop8-tl,crop8-tr,crop8-bl,crop8-br one.phmi \
    img/labelme-q0122.jpg 2>&1)
t_is "--variants takes the new names: exit 0" "$?" 0
t_like "... and stores some" "$out" "1 image, [1-8] stored variant"
t_ok "verify" sh -c '"$0" index verify one.phmi > /dev/null' "$P"

convert img/bridge.jpg -resize 60% -gravity northwest -crop 92%x92%+0+0 +repage \
    -quality 50 combo.jpg
m=$("$P" match --index plain.phmi -f jsonl combo.jpg 2>/dev/null)
t_like "plain index: no match for the 8 %-cut copy" "$m" '"matches":\[\]'
m=$("$P" match --index aug.phmi -f jsonl combo.jpg 2>/dev/null)
t_like "augmented: matched through crop8-tl" "$m" \
    '"id":"img/bridge.jpg".*"known_variant":"crop8-tl"'

convert img/labelme-q0291.jpg -gamma 0.7 dark.jpg
dp=$("$P" match --index plain.phmi -f jsonl dark.jpg 2>/dev/null | grep -o '"distance":[0-9]*')
m=$("$P" match --index aug.phmi -f jsonl dark.jpg 2>/dev/null)
t_like "augmented: the darkened copy matched through gamma-down" "$m" \
    '"id":"img/labelme-q0291.jpg".*"known_variant":"gamma-down"'
da=$(printf '%s\n' "$m" | grep -o '"distance":[0-9]*')
t_ok "... nearer than its own hash (${dp#*:} -> ${da#*:})" test "${da#*:}" -lt "${dp#*:}"
t_done
