#!/bin/sh
# tests/inspector.sh BOOKS RELSTORE - the inspector on a file written by the seed example.
#
# info, verify and dump (text, JSON Lines, one model) on a good file; find (filters, string
# lookups, paths through a foreign key and a reverse relation, lists, excludes, order and
# slices, the JSON array) with its exact output; verify and dump fail with exit 1 and a
# message on a damaged copy and on a file that is not a store; a term the query refuses is
# exit 1 naming the term; usage errors, bad values of a term included, exit 2.
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
same() { # EXPECTED COMMAND... : the command succeeds and prints exactly EXPECTED on stdout
    expected=$1; shift
    out=$("$@" 2>/dev/null) && [ "$out" = "$expected" ]
}
says() { # CODE PATTERN COMMAND... : the command exits with CODE and prints PATTERN on stderr
    code=$1 pattern=$2; shift 2
    err=$("$@" 2>&1 >/dev/null)
    [ $? -eq "$code" ] && printf '%s\n' "$err" | grep -q -- "$pattern"
}
lines() { # LINE... : the lines, for same
    printf '%s\n' "$@"
}

db=$dir/books.db
"$books" "$db" >/dev/null || { echo "inspector: the example failed"; exit 1; }

check "info lists the models" has 'model Book: 3 objects, next id 4' "$relstore" info "$db"
check "info shows the generation" has 'snapshot: generation 1' "$relstore" info "$db"
check "info shows the FK, its kind and rule" has 'author FK -> Author, related_name books, one-to-many, on_delete CASCADE' "$relstore" info "$db"
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

# find: the objects a query finds, printed as dump prints them, in the query's order.
b1='Book 1 title="Book 1" author=1'
b2='Book 2 title="Book 2" author=1'
b3='Book 3 title="Book 3" author=1'
a1='Author 1 name="John Doe"'
check "find with no term lists the model" same "$(lines "$b1" "$b2" "$b3")" \
    "$relstore" find "$db" Book
check "find filters on id" same "$(lines "$b2" "$b3")" "$relstore" find "$db" Book id__gte=2
check "find filters on a field" same "$b2" "$relstore" find "$db" Book 'title=Book 2'
check "find: a string lookup" same "$b3" "$relstore" find "$db" Book title__endswith=3
check "find: a lookup folding case" same "$(lines "$b1" "$b2" "$b3")" \
    "$relstore" find "$db" Book title__istartswith=bOOK
check "find: terms are ANDed" same "" "$relstore" find "$db" Book title__endswith=3 id__lt=3
check "find: a path through a FK" same "$(lines "$b1" "$b2" "$b3")" \
    "$relstore" find "$db" Book 'author__name=John Doe'
check "find: a path through a FK, no match" same "" \
    "$relstore" find "$db" Book author__name__startswith=Jane
check "find: a FK given its parent's id" same "$(lines "$b1" "$b2" "$b3")" \
    "$relstore" find "$db" Book author=1
check "find: a FK given an id no parent has matches nothing" same "" \
    "$relstore" find "$db" Book author=9
check "find: a reverse relation's count" same "$a1" "$relstore" find "$db" Author books__count=3
check "find: some child matches" same "$a1" "$relstore" find "$db" Author 'books__title=Book 2'
check "find: in takes a list" same "$(lines "$b1" "$b3")" "$relstore" find "$db" Book id__in=3,1
check "find: not_in takes a list" same "$b3" "$relstore" find "$db" Book id__not_in=1,2
check "find: range is inclusive" same "$(lines "$b2" "$b3")" \
    "$relstore" find "$db" Book id__range=2,3
check "find: a list of strings" same "$(lines "$b1" "$b3")" \
    "$relstore" find "$db" Book 'title__in=Book 3,Book 1'
check "find: an empty in matches nothing" same "" "$relstore" find "$db" Book id__in=
check "find: a null test" same "$(lines "$b1" "$b2" "$b3")" \
    "$relstore" find "$db" Book author__isnull=false
check "find: ! excludes" same "$(lines "$b1" "$b3")" "$relstore" find "$db" Book '!title=Book 2'
check "find: an exclude beside a filter" same "$b3" \
    "$relstore" find "$db" Book id__gte=2 '!author__name=Nobody' '!id=2'
check "find: order descending, then limit" same "$(lines "$b3" "$b2")" \
    "$relstore" find "$db" Book --order -id --limit 2
check "find: two order keys, offset and limit" same "$(lines "$b2" "$b1")" \
    "$relstore" find "$db" Book --order author --order -title --offset 1 --limit 2
check "find: options and terms in any order" same "$b2" \
    "$relstore" find "$db" --order=-title Book --offset=1 id__lte=3 --limit=1
check "find: --limit 0 prints nothing" same "" "$relstore" find "$db" Book --limit 0
check "find --json gives an array of dump's objects" same "$(lines '[' \
    '{"model":"Book","id":3,"fields":{"title":"Book 3","author":1}},' \
    '{"model":"Book","id":1,"fields":{"title":"Book 1","author":1}}' ']')" \
    "$relstore" find "$db" Book --json id__in=1,3 --order -id
check "find --json with nothing found is an empty array" same "$(lines '[' ']')" \
    "$relstore" find "$db" Author --json 'name=Jane Roe'
check "find: an unknown field is exit 1, naming the term" \
    says 1 'invalid argument: nope__gt: Book has no field' "$relstore" find "$db" Book nope__gt=1
check "find: a lookup that does not fit is exit 1, naming the term" \
    says 1 'author__contains' "$relstore" find "$db" Book author__contains=1
check "find: range of one is exit 1, naming the term" \
    says 1 'id__range' "$relstore" find "$db" Book id__range=1
check "find: an unknown order key is exit 1, naming it" \
    says 1 'titel' "$relstore" find "$db" Book --order -titel
check "find: an unknown model is exit 1" says 1 'no model Nope' "$relstore" find "$db" Nope
check "find: a value not of the field's type is exit 2, naming the term" \
    says 2 'id__gte=two: "two" is not an integer' "$relstore" find "$db" Book id__gte=two
check "find: a bad item of a list is exit 2, naming it" \
    says 2 'author__in=1,x: "x" is not an id' \
    "$relstore" find "$db" Book author__in=1,x
check "find: isnull takes true or false" \
    says 2 'is not true or false' "$relstore" find "$db" Book author__isnull=yes
check "find: a term without = is exit 2" says 2 'title: a term is' "$relstore" find "$db" Book title
check "find: a bad --limit is exit 2" says 2 'usage:' "$relstore" find "$db" Book --limit -1
check "find: a missing model is exit 2" exits 2 "$relstore" find "$db"
check "find takes no --model" exits 2 "$relstore" find "$db" Book --model Book
check "dump takes no --order" exits 2 "$relstore" dump "$db" --order id
check "the usage text shows find" has 'relstore find FILE MODEL' "$relstore" --help

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
