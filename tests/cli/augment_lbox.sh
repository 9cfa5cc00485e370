#!/bin/sh
# augment_lbox.sh - the letterbox and pillarbox stored variants
# (letterbox10, pillarbox10, letterbox20, pillarbox20, letterbox10-blur,
# pillarbox10-blur): in the --augment set, taken by --variants; copies with
# bars of other sizes than the stored 10 and 20 % (made by mkqueries -b)
# are missed by a plain index without trimming and matched through a
# letterbox or pillarbox variant of an augmented one; mkqueries -b sets
# the bars' size.
. "$(dirname "$0")/lib.sh"
t_need_phmatch
P=$PHMATCH
case $BUILD in
/*) TOOLS=$BUILD/tools ;;
*) TOOLS=$ROOT/$BUILD/tools ;;
esac
if [ ! -x "$TOOLS/mkqueries" ]; then
    t_skip "letterbox variants" "no $TOOLS/mkqueries (make tools)"
    t_done
fi
cd "$T" || exit 1
mkdir img
cp "$ROOT"/data/known/*.jpg img/
for db in plain aug; do
    "$P" index create $db.phmi || exit 1
done
"$P" index add --images --source k plain.phmi img > /dev/null 2>&1
t_is "plain add: exit 0" "$?" 0
t_entries "plain add: the 4 images stored" plain.phmi 4
"$P" index add --images --augment --source k aug.phmi img > /dev/null 2>&1
t_is "augmented add: exit 0" "$?" 0
# the variant names stored, one a line
"$P" index export --format jsonl aug.phmi | tr ',{}' '\n\n\n' | sed -n 's/^"\([a-z0-9-]*box[0-9a-z-]*\)":.*/\1/p' |
    sort -u > names
t_is "--augment stores the six bar variants" "$(tr '\n' ' ' < names)" \
    "letterbox10 letterbox10-blur letterbox20 pillarbox10 pillarbox10-blur pillarbox20 "

out=$("$P" index create one.phmi && "$P" index add --images --source k --variants \
    letterbox10,pillarbox10,letterbox20,pillarbox20,letterbox10-blur,pillarbox10-blur \
    one.phmi img/bridge.jpg 2>&1)
t_is "--variants takes the names: exit 0" "$?" 0
t_like "... and stores them" "$out" "1 image, [3-6] stored variant"

# mkqueries -b: bars adding 20 % of 401 rows (80) and 6 % of 640 columns (38)
"$TOOLS/mkqueries" -b 20 -t letterbox-black q20 img/bridge.jpg &&
    "$TOOLS/mkqueries" -b 6 -t pillarbox-white q6 img/bridge.jpg &&
    "$TOOLS/mkqueries" -b 14 -t letterbox-blur,pillarbox-blur q14 img/*.jpg
t_is "mkqueries -b: exit 0" "$?" 0
t_is "mkqueries -b 20: 80 rows added" "$("$P" hash -q --no-progress q20 | cut -f5,6 | tail -1)" \
    "$(printf '640\t481')"
t_is "mkqueries -b 6: 38 columns added" "$("$P" hash -q --no-progress q6 | cut -f5,6 | tail -1)" \
    "$(printf '678\t401')"
"$TOOLS/mkqueries" -b 0 -t letterbox-black q0 img/bridge.jpg 2>/dev/null
t_is "mkqueries -b 0: usage error" "$?" 2

for f in q20/bridge-letterbox-black.jpg q6/bridge-pillarbox-white.jpg q14/*.jpg; do
    id=img/$(basename "$f" | sed 's/-[a-z]*box-[a-z]*\.jpg$/.jpg/')
    m=$("$P" match --no-trim --index plain.phmi -f jsonl "$f" 2>/dev/null)
    t_like "$f: plain index, no trimming: no match" "$m" '"matches":\[\]'
    m=$("$P" match --no-trim --index aug.phmi -f jsonl "$f" 2>/dev/null)
    t_like "$f: augmented: matched through a bar variant" "$m" \
        "\"id\":\"$id\".*\"known_variant\":\"[a-z]*box[12]0[a-z-]*\""
done
t_done
