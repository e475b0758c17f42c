#!/bin/sh
# demo.sh: the README's main job (ops/scripts/demo-run) completes with the
# built posgw and ends with its success line.
. "$(dirname "$0")/lib.sh"

out=$(sh "$TOP_SRCDIR/ops/scripts/demo-run" "$POSGW" 2>&1)
rc=$?
[ $rc -eq 0 ]
ok $? "demo-run exits 0"
[ $rc -eq 0 ] || diag "$out"
echo "$out" | tail -1 | grep -q '^demo: ok: 2 packages made, verified and extracted; 1 tampered package rejected$'
ok $? "demo-run ends with its summary line"
echo "$out" | grep -q ': ok$'
ok $? "demo-run verified packages"
done_testing
