#!/bin/sh
# tests/pg_export.sh RICH_STORE RELSTORE - relstore export --sql loaded into a real PostgreSQL
# server, started for the test from Debian's postgresql package (make test-long installs it
# with tools/deps.sh pg).
#
# A throwaway cluster in a temporary folder (initdb, trust authentication, its socket in the
# folder, no TCP), run by the postgres user when this runs as root (the server refuses to run
# as root). RICH_STORE (tests/rich.c) writes the store of every field kind and relation; its
# --sql export must load with ON_ERROR_STOP, so every type, NOT NULL, UNIQUE, VARCHAR length
# and deferred foreign key is checked (at the COMMIT). Then every table's rows, as
# PostgreSQL's row_to_json gives them in id order, must equal the inspector's dump --json of
# the model, reshaped to {"id":N,...} (relstore writes 3.0 where PostgreSQL writes 3, and
# "inf" where it writes "Infinity"); and each FK with its ON DELETE rule, each unique
# constraint and each index the inspector's info lists must be in PostgreSQL's catalog, and
# each many-to-many relation's through table must hold each pair once (a unique pair).
set -u
rich=$1 relstore=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "pg_export: no PostgreSQL server here (make test-long installs it: tools/deps.sh pg)"
    exit 1
fi
dir=$(mktemp -d)
chmod 755 "$dir"
as_pg() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir" || exit 1
    as_pg() { runuser -u postgres -- "$@"; }
fi
port=54329 # names the socket file only: listen_addresses is empty
stop() {
    as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$dir"
}
trap stop EXIT
as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log"; exit 1; }
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-k $dir -p $port -c listen_addresses=''" start >/dev/null 2>&1 ||
    { echo "pg_export: the server did not start"; cat "$dir/server.log"; exit 1; }
sql() { as_pg "$bin/psql" -h "$dir" -p $port -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 "$@"; }

"$rich" "$dir/rich.db" || exit 1
"$relstore" export "$dir/rich.db" --sql "$dir/rich.sql" || exit 1
sql -f "$dir/rich.sql" >"$dir/load.log" 2>&1 ||
    { echo "pg_export: PostgreSQL refused the export:"; cat "$dir/load.log"; exit 1; }

fail=0
"$relstore" info "$dir/rich.db" >"$dir/info" || exit 1
models=$(sed -n 's/^model \([^:]*\):.*/\1/p' "$dir/info")
tables=0 rows=0
for m in $models; do
    "$relstore" dump --json --model "$m" "$dir/rich.db" | sed -E \
        -e 's/^\{"model":"[^"]*","id":([0-9]+),"fields":\{/{"id":\1,/' -e 's/\}\}$/}/' \
        -e 's/"-inf"/"-Infinity"/g; s/"inf"/"Infinity"/g' \
        -e 's/([:,])(-?[0-9]+)\.0([,}])/\1\2\3/g' >"$dir/want"
    sql -At -c "SELECT row_to_json(t) FROM \"$m\" t ORDER BY id" >"$dir/got"
    if ! cmp -s "$dir/want" "$dir/got"; then
        echo "pg_export: FAILED: the rows of $m differ (< relstore, > PostgreSQL):"
        diff "$dir/want" "$dir/got" | head -n 6
        fail=1
    fi
    tables=$((tables + 1))
    rows=$((rows + $(wc -l <"$dir/got")))
done

# What info lists, as "Model.field ..." lines, against PostgreSQL's catalog.
awk '
    /^model / { m = $2; sub(/:$/, "", m); next }
    /^  [^ ]+ FK -> / {
        rule = $0; sub(/.*on_delete /, "", rule); sub(/,.*/, "", rule); sub(/_/, " ", rule)
        print m "." $1 " " rule > "'"$dir"'/want_fk"
    }
    /^  [^ ]+ / && (/, unique/ || /one-to-one/) { print m "." $1 > "'"$dir"'/want_unique"; next }
    /^  [^ ]+ / && (/, index/ || /, ordered/ || / FK -> /) { print m "_" $1 "_idx" > "'"$dir"'/want_index" }
' "$dir/info"
for f in want_fk want_unique want_index; do sort -o "$dir/$f" "$dir/$f"; done
sql -At -c "SELECT tc.table_name || '.' || k.column_name || ' ' || r.delete_rule
            FROM information_schema.referential_constraints r
            JOIN information_schema.table_constraints tc USING (constraint_name)
            JOIN information_schema.key_column_usage k USING (constraint_name)
            WHERE tc.table_schema = 'public' AND tc.initially_deferred = 'YES'
            ORDER BY 1" | sort >"$dir/got_fk"
# Unique constraints of one column: the fields'; of two: a many-to-many's links, one a pair.
sql -At -c "SELECT min(tc.table_name || '.' || k.column_name)
            FROM information_schema.table_constraints tc
            JOIN information_schema.key_column_usage k USING (constraint_name)
            WHERE tc.table_schema = 'public' AND tc.constraint_type = 'UNIQUE'
            GROUP BY constraint_name HAVING count(*) = 1" | sort >"$dir/got_unique"
pairs=$(sql -At -c "SELECT count(*) FROM (SELECT constraint_name
            FROM information_schema.table_constraints tc
            JOIN information_schema.key_column_usage k USING (constraint_name)
            WHERE tc.table_schema = 'public' AND tc.constraint_type = 'UNIQUE'
            GROUP BY constraint_name HAVING count(*) = 2) p")
m2m=$(grep -c '^  [^ ]* M2M -> ' "$dir/info")
[ "$pairs" = "$m2m" ] && [ "$m2m" -gt 0 ] ||
    { echo "pg_export: FAILED: $pairs unique pairs for $m2m many-to-many relations"; fail=1; }
sql -At -c "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'
            AND indexname LIKE '%\_idx' ORDER BY 1" | sort >"$dir/got_index"
for what in fk unique index; do
    if ! cmp -s "$dir/want_$what" "$dir/got_$what"; then
        echo "pg_export: FAILED: the ${what}s differ (< relstore's info, > PostgreSQL):"
        diff "$dir/want_$what" "$dir/got_$what" | head -n 6
        fail=1
    fi
done
[ -s "$dir/want_fk" ] && [ -s "$dir/want_unique" ] && [ -s "$dir/want_index" ] ||
    { echo "pg_export: FAILED: info listed no FK, unique or index"; fail=1; }
[ $fail -eq 0 ] && echo "pg_export: ok: $tables tables, $rows rows, $(wc -l <"$dir/want_fk") foreign keys, $(wc -l <"$dir/want_unique") unique fields, $pairs unique pairs and $(wc -l <"$dir/want_index") indexes in PostgreSQL as in the store"
exit $fail
