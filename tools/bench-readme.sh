#!/bin/sh
# tools/bench-readme.sh RESULTS README [NAME] - put the benchmark tables into the README, between
# the lines "<!-- NAME:begin -->" and "<!-- NAME:end -->" (NAME is bench unless given),
# replacing what was there.
set -eu
results=$1 readme=$2 name=${3:-bench}
begin="<!-- $name:begin -->" end="<!-- $name:end -->"
grep -qxF "$begin" "$readme" || { echo "bench-readme: no $name markers in $readme"; exit 1; }
tmp=$(mktemp)
awk -v results="$results" -v begin="$begin" -v end="$end" '
    $0 == begin { print; while ((getline line < results) > 0) print line; skip = 1; next }
    $0 == end { skip = 0 }
    !skip { print }
' "$readme" >"$tmp"
mv "$tmp" "$readme"
