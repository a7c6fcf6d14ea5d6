#!/bin/sh
# tests/install.sh SOURCE_ROOT BUILD_ROOT - install into a scratch folder, then build the
# seed example against the installed header and library through pkg-config, as a user would.
set -eu
src=$1 build=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null
pc=$(find "$dest" -name relstore.pc | head -n 1)
[ -n "$pc" ] || { echo "install: no relstore.pc installed"; exit 1; }
[ -n "$(find "$dest" -name store.h)" ] || { echo "install: no store.h installed"; exit 1; }

export PKG_CONFIG_PATH="$(dirname "$pc")"
prefix="$dest$(pkg-config --variable=prefix relstore)"
flags=$(pkg-config --define-variable=prefix="$prefix" --cflags relstore)
libs=$(pkg-config --define-variable=prefix="$prefix" --libs relstore)
libdir=$(pkg-config --define-variable=prefix="$prefix" --variable=libdir relstore)
# shellcheck disable=SC2086 # flags are words
cc -std=c11 -Wall -Wextra -Werror $flags "$src/examples/books.c" $libs -o "$dest/books"
out=$(LD_LIBRARY_PATH="$libdir" "$dest/books")
echo "$out" | grep -q '^Book 3$' || { echo "install: the example printed:"; echo "$out"; exit 1; }
echo "install: ok"
