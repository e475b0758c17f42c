#!/bin/sh
# shared.sh: the whole round trip, hand-over mode "shared" (see e2e.sh);
# POSGW_E2E_COUNT appeals (default 40).
. "$(dirname "$0")/../shell/lib.sh"
E2E_SELF=$0
. "$(dirname "$0")/e2e.sh"
: "${POSGW_SIM:=$TOP_SRCDIR/posgw-sim}"

for t in certtool sqlite3; do
	if ! have $t; then
		skip "e2e shared" "$t missing"
		done_testing
	fi
done
N=${POSGW_E2E_COUNT:-40}
e2e_setup shared
trap 'e2e_stop; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
e2e_run "$N" 300
rc=$?
e2e_stop
summary=$(cat "$WORK/summary")
diag "$summary"
[ $rc -eq 0 ] && echo "$summary" | grep -q "complete $N/$N$"
ok $? "every one of $N appeals got its complete, in-order history (shared hand-over)"
echo "$summary" | grep -q 'out-of-order 0, invalid 0, missing 0'
ok $? "nothing out of order, invalid or missing"
[ "$(q "$CORE_DB" "SELECT COUNT(*) || ' ' || COUNT(DISTINCT pos_id) FROM documents WHERE direction='in' AND kind='appeal'")" = "$N $N" ]
ok $? "the core imported each appeal exactly once"
"$POSGW" journal verify "$EDGE_DB" --trust "$KEYS/edge-01.crt" >/dev/null &&
	"$POSGW" journal verify "$CORE_DB" --trust "$KEYS/core-01.crt" >/dev/null
ok $? "both journals verify"
"$POSGW" journal reconcile "$EDGE_DB" "$CORE_DB" >"$WORK/reconcile.txt"
ok $? "the journals reconcile"

done_testing
