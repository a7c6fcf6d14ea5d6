#!/bin/sh
# tools/python-asan.sh - the Python package's tests (python/tests) with the extension and the
# library built with AddressSanitizer + UndefinedBehaviorSanitizer, in build-pyasan/. The
# interpreter is not instrumented, so the sanitizer's runtime is preloaded into it; leaks are
# not checked (the interpreter keeps memory to its exit), every other report fails the run.
# make test-long runs it; it prints unittest's summary and "python-asan: ok".
set -eu
cd "$(dirname "$0")/.."
dir=build-pyasan
if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false \
        -Dpython=enabled -Dc_args=-fno-sanitize-recover=all >"$dir.setup.log" 2>&1 ||
        { cat "$dir.setup.log"; exit 1; }
fi
meson compile -C "$dir" python-package >/dev/null
asan=$(${CC:-cc} -print-file-name=libasan.so)
[ -f "$asan" ] || { echo "python-asan: no libasan.so beside the compiler"; exit 1; }
LD_PRELOAD=$asan ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 PYTHONPATH=$dir/python \
    python3 -m unittest discover -s python/tests
echo "python-asan: ok"
