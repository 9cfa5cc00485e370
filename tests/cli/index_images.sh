#!/bin/sh
# index_images.sh - `phmatch index add --images [--augment]`: ids are the
# paths as given (as `phmatch hash` prints them), a 10 %-cropped copy is
# missed by a plain index and matched by the augmented one with
# known_variant crop10-c, stored variants are counted, verified, exported
# to jsonl and imported back without loss, and bad files are reported by
# name while the good ones are stored (exit 1).
. "$(dirname "$0")/lib.sh"
t_need_phmatch
P=$PHMATCH
if ! t_have convert; then
    t_skip "index add --images" "ImageMagick convert not installed"
    t_done
fi
cd "$T" || exit 1
mkdir img
cp "$ROOT"/data/photos/*.jpg img/
convert img/bridge.jpg -gravity center -crop 90%x90%+0+0 +repage crop10.jpg
"$P" index create plain.phmi
"$P" index create aug.phmi
out=$("$P" index add --images --source k plain.phmi img 2>&1)
t_is "plain add: exit 0" "$?" 0
n=$(ls img | wc -l | tr -d ' ')
t_like "plain add: counts" "$out" "^added $n, unchanged 0"
out=$("$P" index add --images --augment --source k --category c --note n aug.phmi img 2>&1)
t_is "augmented add: exit 0" "$?" 0
t_like "augmented add: images and variants" "$out" "$n images, [1-9][0-9]* stored variants"

# ids: what `phmatch hash img` prints as paths
t_is "ids are the paths as given" \
    "$("$P" index export aug.phmi | awk -F '\t' 'NR > 1 { print $4 }' | sort)" \
    "$("$P" hash img 2>/dev/null | awk -F '\t' 'NR > 1 { print $1 }' | sort)"
t_is "the own hashes are phmatch hash's" \
    "$("$P" index export aug.phmi | awk -F '\t' 'NR > 1 { print $1 }' | sort)" \
    "$("$P" hash img 2>/dev/null | awk -F '\t' 'NR > 1 { print $8 }' | sort)"

# the cropped copy
m=$("$P" match --index plain.phmi -f jsonl crop10.jpg 2>/dev/null)
t_like "plain index: no match for the 10 % crop" "$m" '"matches":\[\]'
m=$("$P" match --index aug.phmi -f jsonl crop10.jpg 2>/dev/null)
t_like "augmented index: matched, with known_variant" "$m" \
    '"id":"img/bridge.jpg".*"known_variant":"crop10-c"'
m=$("$P" match --index aug.phmi -f jsonl img/bridge.jpg 2>/dev/null)
t_like "the original matches its own hash: known_variant null" "$m" \
    '"id":"img/bridge.jpg".*"distance":0.*"known_variant":null'
t_is "one record for the entry" "$(printf '%s\n' "$m" | grep -o '"entry":' | wc -l | tr -d ' ')" 1

# stats, verify, compaction
st=$("$P" index stats aug.phmi)
t_is "stats: format 6" "$(printf '%s\n' "$st" | awk '$1 == "format_version" { print $2 }')" 6
t_is "stats: variant entries" "$(printf '%s\n' "$st" | awk '$1 == "variant_entries" { print $2 }')" "$n"
t_is "stats: pdq entries" "$(printf '%s\n' "$st" | awk '$1 == "pdq_entries" { print $2 }')" "$n"
t_ok "verify" sh -c '"$0" index verify aug.phmi > /dev/null' "$P"
t_ok "compact" "$P" index compact aug.phmi
t_ok "verify after compaction" sh -c '"$0" index verify aug.phmi > /dev/null' "$P"
m=$("$P" match --index aug.phmi -f jsonl crop10.jpg 2>/dev/null)
t_like "matched after compaction" "$m" '"known_variant":"crop10-c"'

# jsonl round trip; the same images again: unchanged
"$P" index export --format jsonl aug.phmi > e.jsonl
t_like "jsonl carries the variants" "$(head -1 e.jsonl)" '"variants":{"'
"$P" index create back.phmi
"$P" index import back.phmi e.jsonl > /dev/null
t_is "export | import loses nothing" "$("$P" index export --format jsonl back.phmi)" "$(cat e.jsonl)"
out=$("$P" index add --images --augment --source k --category c --note n aug.phmi img 2>&1)
t_like "adding again: unchanged" "$out" "^added 0, unchanged $n, updated 0"
out=$("$P" index add --images --source k --category c --note n aug.phmi img/bridge.jpg 2>&1)
t_like "without --augment: updated" "$out" "^added 0, unchanged 0, updated 1"
m=$("$P" match --index aug.phmi -f jsonl crop10.jpg 2>/dev/null)
t_like "its variants are gone" "$m" '"matches":\[\]'
t_ok "verify after the update" sh -c '"$0" index verify aug.phmi > /dev/null' "$P"
out=$("$P" index add --images --variants crop5-c,rot+3 --source k aug.phmi img/bridge.jpg 2>&1)
t_like "--variants picks the set" "$out" "1 image, [0-2] stored variant"
out=$("$P" index add --images --variants crop11-c --source k aug.phmi img/bridge.jpg 2>&1)
t_is "an unknown variant: usage error" "$?" 2
t_like "named" "$out" "unknown variant 'crop11-c'"

# bad files
printf 'not an image' > img/bad.jpg
printf 'P5\n2 2\n255\nabcd' > img/tiny.pgm
out=$("$P" index add --images --augment --source b aug.phmi img missing.jpg 2>&1)
t_is "bad files: exit 1" "$?" 1
t_like "the undecodable file is named" "$out" "img/bad.jpg"
t_like "the too-small file is named" "$out" "img/tiny.pgm"
t_like "the missing file is named" "$out" "missing.jpg"
t_like "the good ones are stored" "$out" "^added $n,"
t_like "the refusals are counted" "$out" "3 files refused"
out=$("$P" index add --images --source b --hash 00 aug.phmi img 2>&1)
t_is "--images with --hash: usage error" "$?" 2
out=$("$P" index add --augment --hash "$(printf '%064d' 1)" --source b --id x aug.phmi 2>&1)
t_is "--augment without --images: usage error" "$?" 2
t_done
