#!/bin/sh
# tools/planted.sh - each crash and fault harness against a build with the bug it is for
# planted (meson option 'plant'), run by make test-long.
#
# A harness that passes on its planted build proves nothing: this prints one line per bug,
# "planted BUG: caught by HARNESS" or "planted BUG: NOT caught by HARNESS", and exits 1 if
# any bug went uncaught or a planted build failed. The builds go to build-plant-BUG/.
set -u
cd "$(dirname "$0")/.." || exit 1
status=0

run() { # BUG EXECUTABLE FILTER
    dir=build-plant-$1
    if [ ! -f "$dir/build.ninja" ] && ! meson setup "$dir" -Dplant="$1" >"$dir.setup.log" 2>&1; then
        cat "$dir.setup.log"
        echo "planted $1: the build could not be set up"
        status=1
        return
    fi
    if ! meson compile -C "$dir" "tests/$2" >"$dir/compile.log" 2>&1; then
        cat "$dir/compile.log"
        echo "planted $1: the build failed"
        status=1
        return
    fi
    if "./$dir/tests/$2" --filter "$3" >"$dir/planted.log" 2>&1; then
        echo "planted $1: NOT caught by $2 ($3)"
        status=1
    else
        why=$(grep -A2 -m1 'Assertion Failed' "$dir/planted.log" | tail -1 | sed 's/^\[----\] *//')
        echo "planted $1: caught by $2 ($3): ${why:-the harness failed}"
    fi
}

run split_txn test_crash 'crash/*'
run split_txn test_faults 'faults/a_kill*'
run early_clear test_faults 'faults/an_io*'
run no_size_check test_damage 'damage/truncation*'
run no_sync test_faults 'faults/a_power*'
exit $status
