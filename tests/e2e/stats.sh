#!/bin/sh
# stats.sh: statistics for the ПОС витрина end to end: posgw-sim issues
# appeals over two ЛКО and three territories, the chain answers them all,
# then the operator sends the statistics (posgw edms stats send); the core
# queues them, the edge uploads P:Statistics, and the simulator checks the
# new counts per ЛКО x category x territory against what it issued and the
# other counts for consistency: "stats 1 (totals match)" in its summary.
. "$(dirname "$0")/../shell/lib.sh"
E2E_SELF=$0
. "$(dirname "$0")/e2e.sh"
: "${POSGW_SIM:=$TOP_SRCDIR/posgw-sim}"
for t in certtool sqlite3; do
	if ! have $t; then
		skip "e2e stats" "$t missing"
		done_testing
	fi
done
N=${POSGW_E2E_COUNT:-30}
e2e_setup shared
trap 'e2e_stop; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
# the simulator's appeals were filed up to an hour ago (UTC)
FROM=$(TZ=UTC date -d '-2 hours' +%Y-%m-%d)
TO=$(TZ=UTC date +%Y-%m-%d)
closed() {
	[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM edge_appeals WHERE closed IS NOT NULL" 2>/dev/null)" = "$N" ]
}
# the operator: once every appeal is closed in ПОС, send the statistics
(
	wait_for 300 closed &&
		TZ=UTC "$POSGW" edms stats send --from "$FROM" --to "$TO" --config "$CORE_CONF"
) >"$WORK/send.out" 2>&1 &
E2E_PIDS="$E2E_PIDS $!"
E2E_SIM_ARGS="--lko-id 268828,1000002 --oktmo 29701000,29615000,29606000 --expect-stats 1"
e2e_run "$N" 300
rc=$?
# ПОС's verdict on the upload may still be in in/ when the simulator stops
accepted() {
	[ "$(q "$EDGE_DB" "SELECT state FROM edge_stats")" = accepted ]
}
wait_for 30 accepted
e2e_stop
summary=$(cat "$WORK/summary")
diag "$summary"
[ $rc -eq 0 ] && echo "$summary" | grep -q "complete $N/$N, stats 1 (totals match)$"
ok $? "the simulator received the statistics once and their totals match what it issued"
grep -q "^queued statistics .* for $FROM..$TO" "$WORK/send.out"
ok $? "the operator queued them with posgw edms stats send"
[ "$(q "$EDGE_DB" "SELECT state FROM edge_stats")" = accepted ] &&
	[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM journal WHERE kind='stats.sent'")" = 1 ] &&
	[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM journal WHERE kind='stats.accepted'")" = 1 ]
ok $? "the edge uploaded them once and ПОС accepted them (stats.sent, stats.accepted)"
rows=$(q "$CORE_DB" "SELECT rows FROM core_stats_sent")
lkos=$(q "$CORE_DB" "SELECT COUNT(DISTINCT lko_id) || ' ' || COUNT(DISTINCT oktmo) FROM core_appeals")
diag "statistics rows: $rows; ЛКО and territories: $lkos"
[ "$lkos" = "2 3" ] && [ "$rows" -gt 3 ]
ok $? "the appeals spread over two ЛКО and three territories, one row per ЛКО x category x territory"
"$POSGW" journal verify "$EDGE_DB" --trust "$KEYS/edge-01.crt" >/dev/null &&
	"$POSGW" journal verify "$CORE_DB" --trust "$KEYS/core-01.crt" >/dev/null
ok $? "both journals verify"
done_testing
