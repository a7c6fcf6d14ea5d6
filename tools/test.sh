#!/bin/sh
# tools/test.sh - build and run every test: a plain build, then an ASan+UBSan build, then
# the threaded and async tests (suite 'tsan') in a ThreadSanitizer build.
#
# Ends with one line, "N passed, N failed", summing meson's counts over the three builds,
# and exits non-zero if anything failed or did not build.
set -u
cd "$(dirname "$0")/.." || exit 1

passed=0 failed=0

setup() { # DIR [MESON SETUP OPTIONS...]
    dir=$1; shift
    [ -f "$dir/build.ninja" ] && return 0
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
}

check() { # DIR SUITE [TARGETS...]: build (only TARGETS, if given), then run SUITE
    dir=$1 suite=$2; shift 2
    meson compile -C "$dir" "$@" || return 1
    meson test -C "$dir" --suite "$suite" --no-rebuild --print-errorlogs --num-processes 2
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
setup build && check build unit || status=1
# Halt on the first UBSan report, so that it fails the test instead of scrolling by; a leak
# report aborts the test process, so Criterion counts it as a failure.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# The random flips of damaged files run again under the sanitizers with other seeds, 150 of
# them (about 35 s saved, to keep the whole run inside its 8 minutes; the plain build's 500
# stand, and make test-long flips 10,000).
export RELSTORE_FLIPS=150
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false -Dpython=disabled \
    -Dc_args=-fno-sanitize-recover=all && check build-asan unit || status=1
unset RELSTORE_FLIPS
# Any data race report fails the test (exit code 66). Only the plain executables: Criterion
# cannot start under ThreadSanitizer.
export TSAN_OPTIONS=halt_on_error=1:exitcode=66
setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dbench=false -Dpython=disabled &&
    check build-tsan tsan tests/stress tests/async_close tests/txn_threads || status=1

[ $status -ne 0 ] && [ $failed -eq 0 ] && failed=1
echo "$passed passed, $failed failed"
exit $status
