#!/bin/sh
# tests/layering.sh ROOT LIBRELSTORE_A - the dependency rules, checked.
#
# index/ includes nothing of store/ or persist/; store/ nothing of persist/ or api/
# internals; lmdb.h only in persist/, uv.h only in api/; a slot's words are reached by offset
# only in store/ (elsewhere through store/model.h's named accessors); a store's lock is taken
# only through store/lock.h; and the static library defines no global symbol outside store_*
# and rs_*.
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

lines() { # REGEX DIRS... : lines of the C files under DIRS that match REGEX
    regex=$1; shift
    for d in "$@"; do
        [ -d "$root/$d" ] || continue
        grep -rn --include='*.[ch]' -E "$regex" "$root/$d"
    done
}

report "slot words reached by offset outside store/" \
    "$(lines 'rs_word(_set)?(_ptr)?\(|->w\[|->(word|link|head|ilink|nullw|nullb)\b' \
        api persist index tools)"
report "the store's lock taken outside store/lock.h" \
    "$(lines 'pthread_rwlock_' api persist index tools store | grep -v '/store/lock\.[ch]:')"

globals=$(nm -g --defined-only "$lib" | awk 'NF == 3 && $2 ~ /[A-Z]/ { print $3 }' |
          grep -v -E '^(store_|rs_)' || true)
report "globals outside store_* and rs_*" "$globals"

[ $fail -eq 0 ] && echo "layering: ok"
exit $fail
