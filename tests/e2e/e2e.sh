# e2e.sh: the whole chain, sourced by the e2e tests and the demo:
# posgw-sim (ПОС + adapter) -> posgw-edge -> transfer -> posgw-core -> EDMS
# folder <- edms-clerk.sh, and back to the simulator.
#   e2e_setup MODE      MODE: shared (transfer folders shared by both
#                       gateways), media (an operator carries packages with
#                       posgw media export/import), lost (media, one
#                       package lost on the way and resent)
#   e2e_run N TIMEOUT   run the round trip for N appeals; the simulator's
#                       summary line lands in $WORK/summary; returns its
#                       status (call it directly, not in $(...): it starts
#                       background processes that e2e_stop must reach)
#   e2e_stop            stop everything started
# E2E_SIM_ARGS adds options to posgw-sim (several ЛКО, territories,
# re-appeals); E2E_ROLL_CORE_AFTER=N rolls the core's key after N appeals.
# Needs from the caller: $WORK, $POSGW, $POSGW_EDGE, $POSGW_CORE, $POSGW_SIM,
# make_pair from tests/shell/lib.sh. E2E_SIGNER_TRUST: the certificate the
# simulator checks the answers' signatures against (default the official's).
# E2E_SIM_ARGS: more posgw-sim options (split on blanks).

E2E_DIR=$(cd "$(dirname "${E2E_SELF:-$0}")" && pwd)
E2E_PIDS=""

# e2e_setup MODE: keys, configurations and folders for the chain.
e2e_setup() {
	E2E_MODE=$1
	make_pair "resend_interval = 3
max_wait_ms = 50
receipt_delay = 1" "resend_interval = 3
max_wait_ms = 50
receipt_delay = 1"
	if [ "$E2E_MODE" != shared ]; then
		# separate outbox and inbox per side; the carrier moves packages
		mkdir -p "$WORK/edge-out" "$WORK/edge-in" "$WORK/core-out" "$WORK/core-in" "$WORK/media"
		sed -i -e "s|^inbox = .*|inbox = $WORK/edge-in|" -e "s|^outbox = .*|outbox = $WORK/edge-out|" "$EDGE_CONF"
		sed -i -e "s|^inbox = .*|inbox = $WORK/core-in|" -e "s|^outbox = .*|outbox = $WORK/core-out|" "$CORE_CONF"
	fi
}

# e2e_carrier: an operator carrying a medium between the zones, both ways.
e2e_carrier() {
	lost_done=0
	round=0
	while :; do
		"$POSGW" media export --from "$WORK/edge-out" --to "$WORK/media" --operator carrier >/dev/null 2>>"$WORK/carrier.log"
		if [ "$E2E_MODE" = lost ] && [ $lost_done -eq 0 ]; then
			victim=$(ls "$WORK/media" 2>/dev/null | grep '^edge-01\.000000000001\..*\.pkg$' | head -1)
			if [ -n "$victim" ]; then
				# the medium loses one package: gone from media and inventory
				rm -f "$WORK/media/$victim"
				grep -v " $victim " "$WORK/media/posgw-inventory.txt" >"$WORK/inv.tmp" &&
					mv "$WORK/inv.tmp" "$WORK/media/posgw-inventory.txt"
				echo "lost $victim" >>"$WORK/carrier.log"
				lost_done=1
			fi
		fi
		"$POSGW" media import --from "$WORK/media" --to "$WORK/core-in" --for core-01 >/dev/null 2>>"$WORK/carrier.log"
		"$POSGW" media export --from "$WORK/core-out" --to "$WORK/media" --operator carrier >/dev/null 2>>"$WORK/carrier.log"
		"$POSGW" media import --from "$WORK/media" --to "$WORK/edge-in" --for edge-01 >/dev/null 2>>"$WORK/carrier.log"
		round=$((round + 1))
		# the operator's routine: when the core reports gaps, or the edge
		# has offered a package again (no receipt in time), export again
		if [ $((round % 5)) -eq 0 ] &&
			{ "$POSGW" transfer status --config "$CORE_CONF" 2>/dev/null | grep -q '^gaps: [0-9]' ||
				"$POSGW" transfer status --config "$EDGE_CONF" 2>/dev/null | grep -q 'offered [2-9]'; }; then
			"$POSGW" media export --from "$WORK/edge-out" --to "$WORK/media" --resend --operator carrier >/dev/null 2>>"$WORK/carrier.log"
			echo "resend after gaps or re-offers" >>"$WORK/carrier.log"
		fi
		sleep 0.3
	done
}

# e2e_tap: someone on the way keeps a copy (a hard link) of every package
# that shows in the transfer folders or on the medium, what an eavesdropper
# gets: inotifywait links each as it is renamed into place; a look every
# 0.1 s catches what it misses.
e2e_tap() {
	mkdir -p "$WORK/tap"
	_dirs=""
	for d in "$E2C" "$C2E" "$WORK/media" "$WORK/edge-out" "$WORK/core-out"; do
		[ -d "$d" ] && _dirs="$_dirs $d"
	done
	_ipid="" _rpid=""
	if command -v inotifywait >/dev/null 2>&1 && mkfifo "$WORK/tap.fifo"; then
		# shellcheck disable=SC2086
		inotifywait -m -q -e moved_to -e close_write --format '%w%f' $_dirs \
			>"$WORK/tap.fifo" 2>/dev/null &
		_ipid=$!
		while read -r f; do
			case $f in *.pkg) ln "$f" "$WORK/tap/" 2>/dev/null ;; esac
		done <"$WORK/tap.fifo" &
		_rpid=$!
	fi
	trap 'kill $_ipid $_rpid 2>/dev/null; exit 0' TERM
	while :; do
		for d in $_dirs; do
			ln "$d"/*.pkg "$WORK/tap/" 2>/dev/null
		done
		sleep 0.1
	done
}

# e2e_tap_check: the packages seen on the way (and the medium, the transfer
# folders now) hold none of the applicants' surnames or e-mails that reached
# the EDMS folder; prints what it checked, returns 1 if any is found.
e2e_tap_check() {
	find "$EDMS/export" -name appeal.xml -exec cat {} + 2>/dev/null |
		sed -n 's/.*<\(surname\|email\)>\([^<]*\)<.*/\2/p' | sort -u >"$WORK/pd.txt"
	_n=$(ls "$WORK/tap" 2>/dev/null | wc -l)
	_k=$(wc -l <"$WORK/pd.txt")
	if [ "$_n" -eq 0 ] || [ "$_k" -eq 0 ]; then
		echo "nothing to check: $_n packages seen, $_k names and e-mails in the EDMS folder"
		return 1
	fi
	_hits=$(grep -r -a -l -F -f "$WORK/pd.txt" "$WORK/tap" "$E2C" "$C2E" $(ls -d "$WORK/media" 2>/dev/null) | wc -l)
	echo "$_n packages seen on the way, $_k applicants' surnames and e-mails looked for: found in $_hits files"
	[ "$_hits" -eq 0 ]
}

# e2e_run N TIMEOUT: start the chain, run the simulator to completion.
e2e_run() {
	e2e_tap >/dev/null 2>&1 &
	E2E_PIDS="$E2E_PIDS $!"
	"$POSGW_EDGE" --config "$EDGE_CONF" >/dev/null 2>>"$WORK/edge.log" &
	E2E_PIDS="$E2E_PIDS $!"
	"$POSGW_CORE" --config "$CORE_CONF" >/dev/null 2>>"$WORK/core.log" &
	E2E_PIDS="$E2E_PIDS $!"
	echo $! >"$WORK/core.pid"
	if [ -n "${E2E_ROLL_CORE_AFTER:-}" ]; then
		e2e_roll_core "$E2E_ROLL_CORE_AFTER" >>"$WORK/roll.log" 2>&1 &
		E2E_PIDS="$E2E_PIDS $!"
	fi
	POSGW=$POSGW sh "$E2E_DIR/edms-clerk.sh" "$CORE_CONF" "$EDMS/export" "$KEYS" "$WORK/clerk" >/dev/null 2>&1 &
	E2E_PIDS="$E2E_PIDS $!"
	if [ "$E2E_MODE" != shared ]; then
		e2e_carrier >/dev/null 2>&1 &
		E2E_PIDS="$E2E_PIDS $!"
	fi
	# shellcheck disable=SC2086
	"$POSGW_SIM" --base "$SMEV" --mnemonic POSGW_TEST --count "$1" --seed 42 \
		--rate 0 --signer-trust "${E2E_SIGNER_TRUST:-$KEYS/official.crt}" --until-complete \
		--timeout "$2" --summary "$WORK/sim-summary.txt" ${E2E_SIM_ARGS:-} 2>>"$WORK/sim.log" >"$WORK/sim.out"
	E2E_STATUS=$?
	tail -1 "$WORK/sim.out" >"$WORK/summary"
	return $E2E_STATUS
}

# e2e_roll_core N: the core's operator rolls its key in the middle of the
# exchange (formats/rollover.md), once the core has imported N appeals: a
# new pair (from the agency CA when $PKI_CA is set), cert/key name it and
# previous_cert/previous_key the old one, the core restarts; nothing else
# changes, the edge learns the new certificate in band.
e2e_roll_core() {
	wait_for 600 e2e_imported_at_least "$1" || return 1
	_ca=""
	[ -n "${PKI_CA:-}" ] && _ca="--ca-key $PKI_CA/agency-ca.key --ca-cert $PKI_CA/agency-ca.crt"
	mkdir -p "$WORK/rolled"
	# shellcheck disable=SC2086
	"$POSGW" keys generate --id core-01 $_ca --out "$WORK/rolled" >/dev/null || return 1
	_old_key=$(sed -n 's/^key = //p' "$CORE_CONF")
	_old_cert=$(sed -n 's/^cert = //p' "$CORE_CONF")
	sed -i -e "s|^key = .*|key = $WORK/rolled/core-01.key\nprevious_key = $_old_key|" \
		-e "s|^cert = .*|cert = $WORK/rolled/core-01.crt\nprevious_cert = $_old_cert|" "$CORE_CONF"
	_pid=$(cat "$WORK/core.pid")
	kill -TERM "$_pid"
	wait_for 60 e2e_gone "$_pid" || return 1
	echo "rolled after $(e2e_imported) appeals"
	"$POSGW_CORE" --config "$CORE_CONF" >/dev/null 2>>"$WORK/core.log" &
	echo $! >"$WORK/core.pid"
	wait
}
e2e_imported() {
	q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='appeal'" 2>/dev/null
}
e2e_imported_at_least() {
	[ "$(e2e_imported)" -ge "$1" ] 2>/dev/null
}
# e2e_unseen DB PEER: how many packages DB sent or is building that PEER
# has not received (by uuid and number), plus the documents DB has queued
# for PEER but not packed yet (a receipt waits for receipt_delay).
e2e_unseen() {
	[ -f "$1" ] && [ -f "$2" ] || return 1
	sqlite3 -batch -noheader -cmd '.timeout 5000' "$1" \
		"ATTACH '$2' AS peer; SELECT (SELECT COUNT(*) FROM packages o WHERE o.direction = 'out' AND NOT EXISTS (SELECT 1 FROM peer.packages i WHERE i.direction = 'in' AND i.uuid = o.uuid AND i.seq = o.seq)) + (SELECT COUNT(*) FROM documents WHERE direction = 'out' AND package_id IS NULL)"
}
# e2e_settled: neither side has anything for the other that the other has
# not received: nothing queued, nothing in flight. After the sim saw every
# history complete, the receipts for the last packages may still travel.
e2e_settled() {
	[ "$(e2e_unseen "$EDGE_DB" "$CORE_DB")" = 0 ] && [ "$(e2e_unseen "$CORE_DB" "$EDGE_DB")" = 0 ]
}
# e2e_gone PID: the process has exited (a zombie not yet reaped counts).
e2e_gone() {
	! kill -0 "$1" 2>/dev/null || grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null
}

# e2e_stop: stop the daemons (SIGTERM, so they sign a last checkpoint).
e2e_stop() {
	for p in $E2E_PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $E2E_PIDS; do
		wait "$p" 2>/dev/null
	done
	E2E_PIDS=""
	# the core may have been restarted by e2e_roll_core (not our child)
	if [ -f "$WORK/core.pid" ]; then
		_pid=$(cat "$WORK/core.pid")
		kill -TERM "$_pid" 2>/dev/null
		wait_for 60 e2e_gone "$_pid"
		rm -f "$WORK/core.pid"
	fi
}

# e2e_test MODE N: the whole e2e test of one hand-over mode (TAP): run N
# appeals and check completeness, exactly-once import and both journals.
e2e_test() {
	: "${POSGW_SIM:=$TOP_SRCDIR/posgw-sim}"
	for t in certtool sqlite3; do
		if ! have $t; then
			skip "e2e $1" "$t missing"
			done_testing
		fi
	done
	N=$2
	e2e_setup "$1"
	trap 'e2e_stop; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
	e2e_run "$N" 300
	rc=$?
	e2e_stop
	summary=$(cat "$WORK/summary")
	diag "$summary"
	[ $rc -eq 0 ] && echo "$summary" | grep -q "complete $N/$N$"
	ok $? "every one of $N appeals got its complete, in-order history ($1 hand-over)"
	echo "$summary" | grep -q 'out-of-order 0, invalid 0, missing 0'
	ok $? "nothing out of order, invalid or missing"
	[ "$(q "$CORE_DB" "SELECT COUNT(*) || ' ' || COUNT(DISTINCT pos_id) FROM documents WHERE direction='in' AND kind='appeal'")" = "$N $N" ]
	ok $? "the core imported each appeal exactly once"
	"$POSGW" journal verify "$EDGE_DB" --trust "$KEYS/edge-01.crt" >/dev/null &&
		"$POSGW" journal verify "$CORE_DB" --trust "$KEYS/core-01.crt" >/dev/null
	ok $? "both journals verify"
	"$POSGW" journal reconcile "$EDGE_DB" "$CORE_DB" >"$WORK/reconcile.txt"
	ok $? "the journals reconcile"
	tap=$(e2e_tap_check)
	ok $? "packages leave encrypted: $tap"
}
