#!/bin/sh
# make demo: hash a photo, build an index of known photos (data/known/) and
# match transformed copies and unrelated photos (data/queries/) against it.
set -eu
build=${1:-build}
cd "$(dirname "$0")/.."
phmatch="$build/phmatch"
work="$build/demo"
rm -rf "$work"
mkdir -p "$work"

echo "== $("$phmatch" --version | head -n 1), $("$phmatch" --version | grep '^simd')"
echo "== phmatch hash data/photos/bridge.jpg   (PDQ hash and quality; -f pdq: the reference CLI's lines)"
"$phmatch" hash -q --format pdq data/photos/bridge.jpg
echo
echo "== phmatch index create known.phmi; phmatch hash -f pdq *.jpg | phmatch index import"
echo "   (in data/known/: the id of each entry is its file name; source 'demo', category 'sample')"
"$phmatch" index create "$work/known.phmi" >/dev/null
top=$(pwd)
(cd data/known && "$top/$phmatch" hash -q --format pdq -- *.jpg) >"$work/known.pdq"
"$phmatch" index import --source demo --category sample "$work/known.phmi" - <"$work/known.pdq"
sed 's/^/   /' "$work/known.pdq"
echo
echo "== phmatch match --index known.phmi data/queries   (distance <= 31, then again with --dihedral)"
echo
"$phmatch" match -q --index "$work/known.phmi" data/queries >"$work/plain.tsv"
"$phmatch" match -q --dihedral --index "$work/known.phmi" data/queries >"$work/dihedral.tsv"
# One row per query: the closest match without and with --dihedral.
awk -F '\t' '
    FNR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    { p = $col["path"]; sub(".*/", "", p)
      if ($col["entry"] == "") m = "-"
      else m = $col["source"] ":" $col["id"] " d=" $col["distance"]
      if (FILENAME ~ /plain/) { if (!(p in plain)) { plain[p] = m; order[n++] = p } }
      else if (!(p in dih)) {
          dih[p] = m
          if ($col["entry"] != "") dih[p] = dih[p] " " $col["orientation"]
      } }
    END {
      printf "%-28s %-31s %s\n", "query", "match", "match with --dihedral"
      printf "%-28s %-31s %s\n", "-----", "-----", "---------------------"
      for (i = 0; i < n; i++) printf "%-28s %-31s %s\n", order[i], plain[order[i]], dih[order[i]]
    }' "$work/plain.tsv" "$work/dihedral.tsv"
echo
echo "Re-encoded (q20), resized (half) and slightly cropped (crop: 1 % a side) copies"
echo "match at small distances; rotated and mirrored ones only with --dihedral, which"
echo "names the orientation of the query that matched; unrelated photos match nothing."
echo "Full records: $work/plain.tsv, $work/dihedral.tsv; see 'phmatch match --help'."
