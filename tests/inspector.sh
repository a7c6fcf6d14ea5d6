#!/bin/sh
# tests/inspector.sh BOOKS RELSTORE - the inspector on a file written by the seed example.
#
# info, verify and dump (text, JSON Lines, one model) on a good file; verify and dump fail
# with exit 1 and a message on a damaged copy and on a file that is not a store; usage
# errors exit 2.
set -u
books=$1 relstore=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
check() { # WHAT COMMAND... : run, and report a failure
    what=$1; shift
    if ! "$@" >/dev/null 2>&1; then
        echo "inspector: FAILED: $what"
        fail=1
    fi
}
has() { # PATTERN COMMAND... : the command succeeds and prints PATTERN
    pattern=$1; shift
    out=$("$@" 2>&1) && printf '%s\n' "$out" | grep -q -- "$pattern"
}
exits() { # CODE COMMAND... : the command exits with CODE
    code=$1; shift
    "$@" >/dev/null 2>&1
    [ $? -eq "$code" ]
}

db=$dir/books.db
"$books" "$db" >/dev/null || { echo "inspector: the example failed"; exit 1; }

check "info lists the models" has 'model Book: 3 objects, next id 4' "$relstore" info "$db"
check "info shows the generation" has 'snapshot: generation 1' "$relstore" info "$db"
check "info shows the FK" has 'author FK -> Author' "$relstore" info "$db"
check "verify passes" has 'ok: 4 objects in 2 models' "$relstore" verify "$db"
check "dump prints each object" has 'Book 2 title="Book 2" author=1' "$relstore" dump "$db"
check "dump --json" has '^{"model":"Author","id":1,"fields":{"name":"John Doe"}}$' \
    "$relstore" dump --json "$db"
check "dump --json gives a FK as the parent's id" \
    has '^{"model":"Book","id":1,"fields":{"title":"Book 1","author":1}}$' \
    "$relstore" dump --json "$db"
check "the usage text tells how infinities are shown" has '"inf", "-inf"' "$relstore" --help
lines=$("$relstore" dump --json "$db" | wc -l)
[ "$lines" -eq 4 ] || { echo "inspector: FAILED: dump --json gave $lines lines"; fail=1; }
lines=$("$relstore" dump --model Book "$db" | wc -l)
[ "$lines" -eq 3 ] || { echo "inspector: FAILED: dump --model Book gave $lines lines"; fail=1; }
check "an unknown model is exit 1" exits 1 "$relstore" dump --model Nope "$db"
check "usage errors are exit 2" exits 2 "$relstore" frobnicate "$db"
check "a missing argument is exit 2" exits 2 "$relstore" info

# A flipped byte inside a stored title.
bad=$dir/damaged.db
cp "$db" "$bad"
off=$(grep -boa 'Book 2' "$bad" | head -n 1 | cut -d: -f1)
if [ -z "$off" ]; then
    echo "inspector: FAILED: the title is not in the file"
    fail=1
else
    printf 'X' | dd of="$bad" bs=1 seek="$off" conv=notrunc 2>/dev/null
    check "verify finds the damage" exits 1 "$relstore" verify "$bad"
    check "and says what it is" has 'damaged' sh -c "'$relstore' verify '$bad' 2>&1; true"
    check "dump refuses it too" exits 1 "$relstore" dump "$bad"
fi

# Not a store at all.
head -c 20000 /dev/urandom >"$dir/random.db"
check "verify rejects random bytes" exits 1 "$relstore" verify "$dir/random.db"
check "verify of a missing file is exit 1" exits 1 "$relstore" verify "$dir/missing.db"

# A FIFO is refused before it is opened: exit 1, not a block (timeout's 124).
mkfifo "$dir/fifo.db"
check "info of a FIFO is exit 1 at once" exits 1 timeout 20 "$relstore" info "$dir/fifo.db"

[ $fail -eq 0 ] && echo "inspector: ok"
exit $fail
