#!/bin/sh
# tools/long-summary.sh [BUILD] - the counts each long harness wrote to its log: crash
# points and outcomes (R1), kill points (R2), crash states (R3), faults (R4), flips (R5),
# R12's figures, the create/delete cycles' address space, the stress runs, and the export into
# PostgreSQL. make test-long
# prints it after the runs.
log=${1:-build}/meson-logs/testlog.txt
[ -f "$log" ] || { echo "long-summary: no $log"; exit 1; }
grep -hE '^\[----\] (crash: [0-9]+ points|crash: torn|R2:|R3:|R4:|R12:|random flips:|truncation:|[0-9]+ cycles:)' \
    "$log" | sed 's/^\[----\] //'
grep -hE '^# stress:|^[0-9]+ passed, [0-9]+ failed' "$log" | sort | uniq -c | sed 's/^ *//'
grep -hE '^pg_export: ' "$log"
