#!/bin/sh
# tools/bench-readme.sh RESULTS README - put the benchmark tables into the README, between
# the lines "<!-- bench:begin -->" and "<!-- bench:end -->", replacing what was there.
set -eu
results=$1 readme=$2
grep -q '^<!-- bench:begin -->$' "$readme" || { echo "bench-readme: no markers in $readme"; exit 1; }
tmp=$(mktemp)
awk -v results="$results" '
    /^<!-- bench:begin -->$/ { print; while ((getline line < results) > 0) print line; skip = 1; next }
    /^<!-- bench:end -->$/ { skip = 0 }
    !skip { print }
' "$readme" >"$tmp"
mv "$tmp" "$readme"
