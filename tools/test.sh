#!/bin/sh
# tools/test.sh - build and run every test: a plain build, then an ASan+UBSan build.
#
# Ends with one line, "N passed, N failed", summing meson's counts over both builds, and
# exits non-zero if anything failed or did not build.
set -u
cd "$(dirname "$0")/.." || exit 1

passed=0 failed=0

run() { # DIR [MESON SETUP OPTIONS...]
    dir=$1; shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
    fi
    meson compile -C "$dir" || return 1
    meson test -C "$dir" --suite unit --print-errorlogs --num-processes 2
    rc=$?
    log="$dir/meson-logs/testlog.json"
    if [ -f "$log" ]; then
        ok=$(grep -c '"result": "OK"' "$log")
        bad=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log")
        passed=$((passed + ok))
        failed=$((failed + bad))
    fi
    return $rc
}

status=0
run build || status=1
# Halt on the first UBSan report, so that it fails the test instead of scrolling by.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run build-asan -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fno-sanitize-recover=all || status=1

[ $status -ne 0 ] && [ $failed -eq 0 ] && failed=1
echo "$passed passed, $failed failed"
exit $status
