#!/bin/sh
# tests/live.sh WRITER RELSTORE [ROUNDS] - the inspector on a file another process is writing.
#
# WRITER (tests/live_writer.c) snapshots the seed's Author/Book store in a loop, without a
# pause; meanwhile RELSTORE runs info, verify and dump ROUNDS times each (100 by default), each
# under a timeout. Every run must succeed without blocking; every dump must be one snapshot:
# three books per author, each book's author in the same dump; every verify must pass. Then
# the writer is stopped: it must have gone on snapshotting throughout and exit 0 (no call of
# its failed), and the file must verify. Meanwhile: dumps through a symlink are whole
# snapshots too; a reader through a hard link, or on a read-only mount (where an
# unprivileged mount namespace is allowed), is refused as busy; so is a second writer. Then
# verify runs beside a writer that closes and reopens the store each round.
set -u
writer=$1 relstore=$2 rounds=${3:-100}
dir=$(mktemp -d)
db=$dir/live.db
fail=0
say() { echo "live: FAILED: $*"; fail=1; }

"$writer" "$db" "$dir/stop" >"$dir/writer.out" 2>&1 &
wpid=$!
trap 'touch "$dir/stop"; wait $wpid 2>/dev/null; rm -rf "$dir"' EXIT
for i in $(seq 200); do
    [ -f "$db.ready" ] && break
    sleep 0.05
done
[ -f "$db.ready" ] || { echo "live: the writer never snapshotted"; cat "$dir/writer.out"; exit 1; }

i=0
while [ $i -lt "$rounds" ]; do
    i=$((i + 1))
    timeout 20 "$relstore" info "$db" >"$dir/info" 2>&1 || { say "info (run $i): $(cat "$dir/info")"; break; }
    grep -q '^model Book: ' "$dir/info" || { say "info (run $i) shows no Book"; break; }
    timeout 20 "$relstore" verify "$db" >"$dir/verify" 2>&1 || { say "verify (run $i): $(cat "$dir/verify")"; break; }
    timeout 20 "$relstore" dump "$db" >"$dir/dump" 2>&1 || { say "dump (run $i): $(head -3 "$dir/dump")"; break; }
    # One snapshot: three books per author, and every book's author is in the dump.
    bad=$(awk '
        $1 == "Author" { authors[$2] = 1; n++ }
        $1 == "Book" { for (f = 3; f <= NF; f++) if ($f ~ /^author=/) { sub(/^author=/, "", $f); of[$f]++ } b++ }
        END {
            if (b != 3 * n) { print "books " b " for " n " authors"; exit }
            for (a in of) if (!(a in authors) || of[a] != 3) { print "author " a " has " of[a] " books"; exit }
        }' "$dir/dump")
    [ -z "$bad" ] || { say "dump (run $i) is not one snapshot: $bad"; break; }
done

# Through a symlink, the reader registers where the writer looks (the lock file is named
# after the resolved path): the same checks. Through a hard link it could not: refused.
ln -s "$db" "$dir/alias.db"
j=0
while [ $j -lt "$rounds" ] && [ $fail -eq 0 ]; do
    j=$((j + 1))
    timeout 20 "$relstore" dump "$dir/alias.db" >"$dir/dump" 2>&1 || { say "dump through a symlink (run $j): $(head -3 "$dir/dump")"; break; }
    books=$(grep -c '^Book ' "$dir/dump") authors=$(grep -c '^Author ' "$dir/dump")
    [ "$books" -eq $((3 * authors)) ] || { say "dump through a symlink (run $j): $books books for $authors authors"; break; }
done
ln "$db" "$dir/hard.db"
out=$(timeout 20 "$relstore" verify "$dir/hard.db" 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q 'busy' || say "a reader through a hard link beside the writer: $out"
rm -f "$dir/hard.db"

# On a read-only file system LMDB cannot register the reader at all: refused too (where an
# unprivileged mount namespace can show it).
if unshare -rm true 2>/dev/null; then
    mkdir "$dir/ro"
    out=$(unshare -rm sh -c 'mount --bind -o ro "$1" "$2" && "$3" verify "$2/live.db"' sh "$dir" "$dir/ro" "$relstore" 2>&1)
    echo "$out" | grep -q 'busy' || say "a reader on a read-only mount beside the writer: $out"
fi

# A second writer, in another process, is refused: the file is busy, not shared.
if out=$("$writer" "$db" "$dir/stop2" 2>&1); then
    say "a second writer opened the file"
else
    echo "$out" | grep -q 'busy' || say "the second writer failed otherwise: $out"
fi

touch "$dir/stop"
wait $wpid
wrc=$?
out=$(cat "$dir/writer.out")
[ $wrc -eq 0 ] || say "the writer failed beside the inspector: $out"
snaps=$(echo "$out" | sed -n 's/^live_writer: \([0-9]*\) snapshots$/\1/p')
[ -n "$snaps" ] && [ "$snaps" -ge "$rounds" ] ||
    say "the writer made ${snaps:-no} snapshots during $rounds rounds: it was held up"
timeout 20 "$relstore" verify "$db" >/dev/null 2>&1 || say "the file does not verify after"

# A writer that closes (a last snapshot) and opens again each round: the reader's other meta
# page may name a newer transaction than the one it pinned, which is no damage.
rm -f "$dir/stop"
"$writer" "$db" "$dir/stop" reopen >"$dir/writer.out" 2>&1 &
wpid=$!
k=0
while [ $k -lt "$rounds" ] && [ $fail -eq 0 ]; do
    k=$((k + 1))
    out=$(timeout 20 "$relstore" verify "$db" 2>&1) || echo "$out" | grep -q 'busy' ||
        { say "verify beside a reopening writer (run $k): $out"; break; }
done
touch "$dir/stop"
wait $wpid || say "the reopening writer failed: $(cat "$dir/writer.out")"
[ $fail -eq 0 ] && echo "live: ok: $i rounds of info, verify and dump beside $snaps snapshots"
exit $fail
