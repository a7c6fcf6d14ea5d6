#!/bin/sh
# tests/layering.sh ROOT LIBRELSTORE_A - the dependency rules, checked.
#
# index/ includes nothing of store/ or persist/; store/ nothing of persist/ or api/
# internals; lmdb.h only in persist/, uv.h only in api/; and the static library defines no
# global symbol outside store_* and rs_*.
set -u
root=$1 lib=$2
fail=0

stray() { # PATTERN DIRS... : lines that include PATTERN under DIRS
    pattern=$1; shift
    for d in "$@"; do
        [ -d "$root/$d" ] || continue
        grep -rn --include='*.[ch]' -E "#include [<\"]$pattern" "$root/$d"
    done
}

report() { # WHAT OUTPUT
    if [ -n "$2" ]; then
        echo "layering: $1:"
        echo "$2"
        fail=1
    fi
}

report "index/ includes store/, persist/ or api/ code" "$(stray '(store|persist|api)/' index)"
report "store/ includes persist/ or api/ code" "$(stray '(persist|api)/' store)"
report "lmdb.h outside persist/" "$(stray 'lmdb\.h' index store api tools)"
report "uv.h outside api/" "$(stray 'uv\.h' index store persist)"

globals=$(nm -g --defined-only "$lib" | awk 'NF == 3 && $2 ~ /[A-Z]/ { print $3 }' |
          grep -v -E '^(store_|rs_)' || true)
report "globals outside store_* and rs_*" "$globals"

[ $fail -eq 0 ] && echo "layering: ok"
exit $fail
