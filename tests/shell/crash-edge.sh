#!/bin/sh
# crash-edge.sh: exactly once at the ПОС boundary under kill -9
# (regression edge-answers-twice-after-kill). The whole chain runs with
# posgw-sim as ПОС: POSGW_CRASH_EDGE_COUNT appeals (default 1000) arrive in a
# burst while posgw-edge is killed POSGW_CRASH_EDGE_KILLS times (default 15)
# 0.06-0.16 s after each start, then killed 10 more times while events and
# ПОС's verdicts flow, then left to finish. Afterwards the simulator saw
# every request answered exactly once (invalid 0), every appeal complete and
# in order, and the edge journal holds each effect exactly once.
. "$(dirname "$0")/lib.sh"
E2E_SELF=$TOP_SRCDIR/tests/e2e/e2e.sh
. "$TOP_SRCDIR/tests/e2e/e2e.sh"
: "${POSGW_SIM:=$TOP_SRCDIR/posgw-sim}"

for t in certtool sqlite3; do
	if ! have $t; then
		skip "crash-edge" "$t missing"
		done_testing
	fi
done
N=${POSGW_CRASH_EDGE_COUNT:-1000}
KILLS=${POSGW_CRASH_EDGE_KILLS:-15}
e2e_setup shared
trap 'e2e_stop; kill -9 $EDGE 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
EDGE=""

# rnd_sleep BASE SPREAD: sleep BASE + a random part below SPREAD (in 1/100 s).
rnd_sleep() {
	r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	t=$(($1 + r % $2))
	sleep "$((t / 100)).$(printf '%02d' $((t % 100)))"
}

# edge_kill_loop N BASE SPREAD: start the edge and kill -9 it after
# BASE + random(SPREAD) hundredths of a second, N times.
edge_kill_loop() {
	i=0
	while [ $i -lt "$1" ]; do
		"$POSGW_EDGE" --config "$EDGE_CONF" >/dev/null 2>>"$WORK/edge.log" &
		EDGE=$!
		rnd_sleep "$2" "$3"
		kill -9 $EDGE 2>/dev/null
		wait $EDGE 2>/dev/null
		i=$((i + 1))
	done
}

"$POSGW_CORE" --config "$CORE_CONF" >/dev/null 2>>"$WORK/core.log" &
E2E_PIDS="$E2E_PIDS $!"
POSGW=$POSGW sh "$E2E_DIR/edms-clerk.sh" "$CORE_CONF" "$EDMS/export" "$KEYS" "$WORK/clerk" >/dev/null 2>&1 &
E2E_PIDS="$E2E_PIDS $!"
"$POSGW_SIM" --base "$SMEV" --mnemonic POSGW_TEST --count "$N" --seed 7 \
	--rate 0 --signer-trust "$KEYS/official.crt" --until-complete \
	--timeout 500 --summary "$WORK/sim-summary.txt" 2>>"$WORK/sim.log" >"$WORK/sim.out" &
SIM=$!

# The burst: kills while appeals are taken and acknowledged.
edge_kill_loop "$KILLS" 6 11
taken=$(q "$EDGE_DB" "SELECT COUNT(*) FROM edge_appeals")
diag "appeals taken during $KILLS kills in the burst: $taken of $N"
# Then kills while the core's events go out and ПОС's verdicts come back.
edge_kill_loop 10 50 200
diag "events sent during 10 more kills: $(q "$EDGE_DB" "SELECT COUNT(*) FROM edge_events WHERE state != 'waiting'")"
"$POSGW_EDGE" --config "$EDGE_CONF" >/dev/null 2>>"$WORK/edge.log" &
EDGE=$!
E2E_PIDS="$E2E_PIDS $EDGE"
wait $SIM
rc=$?
# the simulator's last verdicts may still be in in/
wait_for 30 sh -c "[ -z \"\$(ls -A '$SMEV/in')\" ]"
e2e_stop
summary=$(tail -1 "$WORK/sim.out")
diag "$summary"
diag "in/ files finished after a restart: $(grep -c 'was handled before the edge stopped' "$WORK/edge.log")"

echo "$summary" | grep -q ' invalid 0,'
ok $? "regression edge-answers-twice-after-kill: every ПОС request answered exactly once over $N appeals and $((KILLS + 10)) kills (invalid 0)"
[ $rc -eq 0 ] && echo "$summary" | grep -q "out-of-order 0, invalid 0, missing 0, complete $N/$N\$"
ok $? "every appeal got its complete, in-order history"
[ "$(q "$EDGE_DB" "SELECT COUNT(*) || ' ' || COUNT(DISTINCT appeal) FROM journal WHERE kind = 'appeal.received'")" = "$N $N" ] &&
	[ "$(q "$EDGE_DB" "SELECT COUNT(*) || ' ' || COUNT(DISTINCT appeal) FROM journal WHERE kind = 'appeal.acknowledged'")" = "$N $N" ]
ok $? "the edge journal records each appeal's custody and acknowledgement exactly once"
# event.sent and event.accepted details start with "n=N "
dup=$(q "$EDGE_DB" "SELECT COUNT(*) FROM (SELECT 1 FROM journal WHERE kind IN ('event.sent', 'event.accepted') GROUP BY kind, appeal, substr(detail, 1, instr(detail, ' ')) HAVING COUNT(*) > 1)")
sent=$(q "$EDGE_DB" "SELECT COUNT(*) FROM journal WHERE kind = 'event.sent'")
[ "$dup" = 0 ] && [ "$sent" = "$(q "$EDGE_DB" "SELECT COUNT(*) FROM edge_events")" ]
ok $? "each event was sent and accepted exactly once ($sent events, $dup journaled twice)"
[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM edge_requests GROUP BY reply_to HAVING reply_to IS NOT NULL ORDER BY 1 DESC LIMIT 1")" = 1 ]
ok $? "the edge's table of requests holds one answer per ПОС request"
[ -z "$(ls -A "$SMEV/in")" ] && [ -z "$(ls -A "$SMEV/in-rejected" 2>/dev/null)" ]
ok $? "in/ is empty and nothing was refused"
[ -z "$(ls -a "$SMEV/out" | grep '^\.[^.]')" ]
ok $? "no unpublished answer is left in out/"
"$POSGW" journal verify "$EDGE_DB" --trust "$KEYS/edge-01.crt" >/dev/null &&
	"$POSGW" journal verify "$CORE_DB" --trust "$KEYS/core-01.crt" >/dev/null
ok $? "both journals verify"
[ "$(q "$CORE_DB" "SELECT COUNT(*) || ' ' || COUNT(DISTINCT pos_id) FROM documents WHERE direction='in' AND kind='appeal'")" = "$N $N" ]
ok $? "the core imported each appeal exactly once"
done_testing
