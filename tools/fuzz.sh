#!/bin/sh
# tools/fuzz.sh BUILD SECONDS - run each libFuzzer target of BUILD for SECONDS (R8).
#
# Each target grows its corpus in tests/fuzz/corpus/TARGET (kept in the repository: make test
# replays it); a crashing input is written to tests/fuzz/crashes/ and fails the run. Prints
# one line per target: runs, corpus size, crashes.
set -u
cd "$(dirname "$0")/.." || exit 1
build=$1 seconds=$2
status=0
mkdir -p tests/fuzz/crashes
for target in record catalog load api; do
    corpus=tests/fuzz/corpus/$target
    log=$build/fuzz_$target.log
    "./$build/tests/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix=tests/fuzz/crashes/"$target"- "$corpus" >"$log" 2>&1
    rc=$?
    runs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || echo "?")
    crashes=$(find tests/fuzz/crashes -name "$target-*" | wc -l)
    echo "fuzz_$target: ${runs:-?} runs in ${seconds} s, corpus $(ls "$corpus" | wc -l) inputs, $crashes crashes"
    if [ $rc -ne 0 ] || [ "$crashes" -ne 0 ]; then
        tail -30 "$log"
        status=1
    fi
done
exit $status
