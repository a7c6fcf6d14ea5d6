#!/bin/sh
# tests/install.sh SOURCE_ROOT BUILD_ROOT - the README's "Use it in your program", as a user
# would follow it: install into a scratch folder; the headers are under include/relstore/ and
# nowhere else; relstore.pc names the licence; then the README's program (the block after
# "<!-- readme-test: hello.c -->") is built and run by the README's own commands (the block
# after "<!-- readme-test: build -->"), run as they are written, and must print the README's
# output block. pkg-config is pointed at the scratch prefix by a wrapper on PATH that only
# adds --define-variable=prefix=...; no word of the commands is changed. Then
# examples/async_books.c against the installed store_async.h: refused under a strict
# -std=c11 with the header's own message, built with -D_POSIX_C_SOURCE=200809L, and run. Last,
# pip install of python/ into a venv against the same install, and the seed's Python program.
set -eu
src=$1 build=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fail() { echo "install: $*"; exit 1; }

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null
pc=$(find "$dest" -name relstore.pc | head -n 1)
[ -n "$pc" ] || fail "no relstore.pc installed"
for h in store.h store_async.h; do
    found=$(find "$dest" -name "$h")
    [ -n "$found" ] || fail "no $h installed"
    case "$found" in
    */include/relstore/"$h") ;;
    *) fail "$h installed as $found, not under include/relstore/" ;;
    esac
done

real=$(command -v pkg-config)
export PKG_CONFIG_PATH="$(dirname "$pc")"
prefix="$dest$("$real" --variable=prefix relstore)"
libdir=$("$real" --define-variable=prefix="$prefix" --variable=libdir relstore)
[ "$("$real" --variable=license relstore)" = MIT ] || fail "relstore.pc names no MIT licence"
mkdir "$dest/bin" "$dest/work"
printf '#!/bin/sh\nexec "%s" --define-variable=prefix="%s" "$@"\n' "$real" "$prefix" \
    >"$dest/bin/pkg-config"
chmod +x "$dest/bin/pkg-config"
export PATH="$dest/bin:$PATH"

# The fenced block that follows the marker "<!-- readme-test: NAME -->" in the README.
block() {
    awk -v mark="<!-- readme-test: $1 -->" '
        $0 == mark { found = 1; next }
        found && !inside && /^```/ { inside = 1; next }
        inside && /^```/ { exit }
        inside { print }' "$src/README.md"
}
block hello.c >"$dest/work/hello.c"
block build >"$dest/work/build.sh"
block output >"$dest/work/expected"
for f in hello.c build.sh expected; do
    [ -s "$dest/work/$f" ] || fail "the README has no readme-test block for $f"
done

cd "$dest/work"
out=$(LD_LIBRARY_PATH="$libdir" sh -e build.sh 2>&1) || {
    echo "install: the README's commands failed:"
    echo "$out"
    exit 1
}
[ "$out" = "$(cat expected)" ] || {
    echo "install: the README's program printed:"
    echo "$out"
    echo "install: where the README says:"
    cat expected
    exit 1
}
# The static build needs no librelstore.so; the shared one does.
readelf -d hello-static | grep -q 'NEEDED.*librelstore' && fail "hello-static needs librelstore.so"
readelf -d hello | grep -q 'NEEDED.*librelstore' || fail "hello does not use librelstore.so"

# store_async.h: a strict -std=c11 gets the header's message; POSIX declared, it builds.
cflags=$(pkg-config --cflags relstore)
libs=$(pkg-config --libs relstore)
# shellcheck disable=SC2086 # flags are words
if err=$(cc -std=c11 $cflags -c "$src/examples/async_books.c" -o async.o 2>&1); then
    fail "store_async.h compiled under a strict -std=c11"
fi
echo "$err" | grep -q 'store_async.h includes <uv.h>, which needs POSIX' ||
    fail "a strict -std=c11 did not get the header's message: $err"
# shellcheck disable=SC2086 # flags are words
cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror $cflags \
    "$src/examples/async_books.c" $libs -o async_books ||
    fail "async_books.c did not build with -std=c11 -D_POSIX_C_SOURCE=200809L"
out=$(LD_LIBRARY_PATH="$libdir" ./async_books "$dest/work/async.db")
echo "$out" | grep -q '^Book 3$' || fail "async_books printed: $out"
# The Python package from the checkout, with Debian's own tools: pip (offline, Debian's
# setuptools) in a venv, built against the installed library; then the seed's program.
if [ -f "$src/python/setup.py" ] && /usr/bin/python3 -c 'import venv, setuptools, pip' 2>/dev/null; then
    /usr/bin/python3 -m venv --system-site-packages "$dest/venv" >/dev/null ||
        fail "python3 -m venv failed"
    cp -r "$src/python" "$dest/pysrc"
    out=$("$dest/venv/bin/pip" install --no-build-isolation --no-index "$dest/pysrc" 2>&1) ||
        fail "pip install ./python failed: $out"
    out=$(cd / && "$dest/venv/bin/python" "$src/examples/seed.py" 2>&1)
    [ "$out" = "$(printf 'Book 1\nBook 2\nBook 3')" ] ||
        fail "the pip-installed package ran the seed's program as: $out"
else
    fail "python3-venv, python3-pip and python3-setuptools are needed (tools/deps.sh)"
fi
echo "install: ok"
