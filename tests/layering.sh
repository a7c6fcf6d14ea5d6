#!/bin/sh
# tests/layering.sh ROOT LIBRELSTORE_A - the dependency rules, checked.
#
# index/ includes nothing of store/ or persist/; store/ nothing of persist/ or api/
# internals; lmdb.h only in persist/, uv.h only in api/; a slot's words are reached by offset
# only in store/ (elsewhere through store/model.h's named accessors); a store's lock is taken
# only through store/lock.h; the static library defines no global symbol outside store_*
# and rs_*, and each rs_* symbol names its file: rs_<file>_... (store/object.c's are rs_obj_).
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

if ! nm "$lib" >/dev/null; then
    echo "layering: cannot read $lib"
    exit 1
fi

globals=$(nm -g --defined-only "$lib" | awk 'NF == 3 && $2 ~ /[A-Z]/ { print $3 }' |
          grep -v -E '^(store_|rs_)' || true)
report "globals outside store_* and rs_*" "$globals"

# nm -A prints "LIB:FILE.c.o: ADDRESS TYPE NAME" for each symbol an object defines.
misnamed=$(nm -g --defined-only -A "$lib" |
           awk 'NF == 3 && $2 ~ /[A-Z]/ && $3 ~ /^rs_/ {
                    n = split($1, part, ":"); file = part[n - 1]; sub(/\.c\.o$/, "", file)
                    if (file == "object") file = "obj"
                    if (index($3, "rs_" file "_") != 1) print $1 " " $3
                }' || true)
report "rs_* globals that do not name their file (rs_<file>_...)" "$misnamed"

[ $fail -eq 0 ] && echo "layering: ok"
exit $fail
