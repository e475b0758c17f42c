#!/bin/sh
# faults.sh: the disk fails under the gateways (tests/tools/faultfs.so,
# LD_PRELOAD). For each step of the exchange -- the edge packing, the core
# importing and exporting to the EDMS, the edge taking receipts, posgw
# media export and import -- every call that changes a file (write, pwrite,
# writev, fsync, fdatasync, syncfs, rename, link, and open or mkdir of a
# file not there yet) fails in turn: odd calls with ENOSPC and every call
# after it (a full disk), even ones with EIO once. The database's own calls are swept at
# POSGW_FAULTS_DB_POINTS points (default 10; POSGW_FAULTS_FULL=1: every
# call). After each fault the gateways run on with a healthy disk, and
# then: every appeal reached the EDMS exactly once, every package has its
# receipt, both databases pass integrity_check, both journals verify and
# reconcile, and the faulted run said what failed. POSGW_FAULTS_STRIDE=K
# tries every Kth call only (CI's sanitizer pass). Then SQLite busy (the
# database locked by another process beyond the busy timeout) and the
# wall clock jumping back a day.
. "$(dirname "$0")/lib.sh"

if ! have sqlite3; then
	skip "faults" "sqlite3 missing (apt-get install sqlite3)"
	done_testing
fi
if [ ! -f "${FAULTFS:-}" ]; then
	skip "faults" "tests/tools/faultfs.so is not built (make check builds it)"
	done_testing
fi
STRIDE=${POSGW_FAULTS_STRIDE:-1}
DB_POINTS=${POSGW_FAULTS_DB_POINTS:-10}
APPEALS=4
make_pair "max_documents = 2"
# back CMD...: run CMD with the wall clock a day behind
back() {
	LD_PRELOAD=$FAULTFS POSGW_FAULT_CLOCK=-86400 \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
}
# keys valid since a day ago (for the clock jump at the end)
for id in edge-01 core-01; do
	rm -f "$KEYS/$id.key" "$KEYS/$id.crt"
	back "$POSGW" keys generate --id $id --out "$KEYS" >/dev/null || exit 1
done
"$SPOOLGEN" "$EDGE_CONF" $APPEALS --size 3000 >/dev/null
ok $? "$APPEALS appeals with attachments queued at the edge"
MEDIA=$WORK/media
CORE_IN=$WORK/core-in
mkdir -p "$MEDIA" "$CORE_IN"
DIRS="edge-state core-state e2c c2e smev edms media core-in"

# snap NAME / restore NAME: the gateways' directories saved and put back.
snap() {
	rm -rf "$WORK/snap.$1"
	mkdir "$WORK/snap.$1"
	for d in $DIRS; do
		[ -e "$WORK/$d" ] && cp -a "$WORK/$d" "$WORK/snap.$1/"
	done
}
restore() {
	for d in $DIRS; do rm -rf "${WORK:?}/$d"; done
	cp -a "$WORK/snap.$1/." "$WORK/"
	: >"$WORK/edge.log"
	: >"$WORK/core.log"
}

# faulty N PATH SKIP CMD...: run CMD with the Nth counted call under PATH
# failing (N = 0: count only); its output goes to $WORK/run.log, the
# injector's to $WORK/fault.log.
faulty() {
	_n=$1 _path=$2 _skip=$3
	shift 3
	if [ $((_n % 2)) -eq 1 ]; then _e=ENOSPC _s=1; else _e=EIO _s=0; fi
	: >"$WORK/fault.log"
	LD_PRELOAD=$FAULTFS POSGW_FAULT_PATH=$_path POSGW_FAULT_SKIP=$_skip \
		POSGW_FAULT_AT=$_n POSGW_FAULT_STICKY=$_s POSGW_FAULT_ERRNO=$_e \
		POSGW_FAULT_LOG=$WORK/fault.log \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		"$@" >"$WORK/run.log" 2>&1
}

# settle: the gateways run on a healthy disk until the exchange is done.
settle() {
	for _i in 1 2 3; do
		edge_once
		core_once
	done
	edge_once
}

# media_settle: the same with a medium carried between them.
media_settle() {
	for _i in 1 2 3; do
		edge_once
		"$POSGW" media export --from "$E2C" --to "$MEDIA" --operator test >/dev/null 2>&1
		"$POSGW" media import --from "$MEDIA" --to "$CORE_IN" >/dev/null 2>&1
		core_once
	done
	edge_once
}

# wrong: print what is wrong with the end state, nothing if all is well.
wrong() {
	_v=$(q "$CORE_DB" "SELECT COUNT(*) || ' ' || COUNT(DISTINCT pos_id) FROM documents WHERE direction='in' AND kind='appeal'")
	[ "$_v" = "$APPEALS $APPEALS" ] || echo "core holds appeals (all, distinct): $_v"
	_v=$(find "$EDMS/export" -name appeal.xml | wc -l)
	[ "$_v" -eq $APPEALS ] || echo "the EDMS export folder holds $_v appeal.xml"
	_v=$(q "$EDGE_DB" "SELECT COUNT(*) || ' ' || COUNT(DISTINCT package_id) FROM documents WHERE direction='out' AND kind='appeal'")
	[ "${_v%% *}" = $APPEALS ] || echo "edge holds appeals (all, packages): $_v"
	_v=$(q "$EDGE_DB" "SELECT COUNT(*) FROM packages WHERE direction='out' AND control=0 AND state != 'delivered'")
	[ "$_v" = 0 ] || echo "$_v package(s) without a receipt"
	_v=$(q "$EDGE_DB" "SELECT COUNT(*) = MAX(seq) AND MIN(seq) = 1 FROM packages WHERE direction='out'")
	[ "$_v" = 1 ] || echo "edge seqs have gaps or repeats"
	for _db in "$EDGE_DB" "$CORE_DB"; do
		[ "$(q "$_db" "PRAGMA integrity_check")" = ok ] || echo "$_db fails integrity_check"
		"$POSGW" journal verify "$_db" >/dev/null 2>&1 || echo "$_db: journal verify fails"
	done
	"$POSGW" journal reconcile "$EDGE_DB" "$CORE_DB" >/dev/null 2>&1 || echo "the journals do not reconcile"
}

# said: the faulted run's output names the failure, if one was injected.
# SQLite alone may pass over two: a failed sync of the database's directory
# (ignored by design, os_unix.c) and a failed write to its -shm file (the
# shared-memory index, not data: SQLite carries on, and the end state is
# checked as always);
# nothing else may fail unsaid.
said() {
	_f=$(grep '^fault ' "$WORK/fault.log" | head -1)
	[ -n "$_f" ] || return 0
	# shellcheck disable=SC2086
	set -- $_f
	[ "$3" = fdatasync ] && [ -d "$4" ] && return 0
	case $4 in *-shm) return 0 ;; esac
	grep -q -E 'No space left on device|Input/output error|disk I/O error|database or disk is full|unable to open database file .it or its -wal/-shm file; check' "$WORK/run.log"
}

# sweep STEP SNAP PATH SKIP POINTS SETTLE CMD...: fail each counted call
# of CMD in turn (POINTS: at most that many, evenly spread; 0: all).
sweep() {
	_step=$1 _snap=$2 _path=$3 _skip=$4 _points=$5 _settle=$6
	shift 6
	restore "$_snap"
	faulty 0 "$_path" "$_skip" "$@"
	_m=$(sed -n 's/^calls //p' "$WORK/fault.log" | tail -1)
	_by=$STRIDE
	if [ "$_points" -gt 0 ] && [ "${FULL:-0}" != 1 ] && [ "${_m:-0}" -gt "$_points" ]; then
		_by=$(((_m + _points - 1) / _points))
	fi
	_bad_state="" _bad_log="" _tried=0 _hit=0
	_n=1
	while [ "$_n" -le "${_m:-0}" ]; do
		restore "$_snap"
		faulty "$_n" "$_path" "$_skip" "$@"
		grep -q '^fault ' "$WORK/fault.log" && _hit=$((_hit + 1))
		said || _bad_log="$_bad_log $_n"
		if [ -n "${FAULTS_DEBUG:-}" ] && ! said; then
			diag "call $_n: $(grep '^fault ' "$WORK/fault.log" | head -1)"
			sed 's/^/#   /' "$WORK/run.log" | head -5
		fi
		$_settle
		_w=$(wrong)
		if [ -n "$_w" ]; then
			_bad_state="$_bad_state $_n"
			diag "$_step, call $_n failing ($(grep '^fault ' "$WORK/fault.log" | head -1)): $(echo "$_w" | head -3 | tr '\n' ';')"
		fi
		_tried=$((_tried + 1))
		_n=$((_n + _by))
	done
	[ "${_m:-0}" -gt 0 ] && [ -z "$_bad_state" ]
	ok $? "$_step: $_tried of ${_m:-0} calls failed in turn ($_hit injected): nothing lost or doubled, receipts, databases and journals intact${_bad_state:+ (wrong after:$_bad_state)}"
	[ -z "$_bad_log" ]
	ok $? "$_step: every failed run said what failed${_bad_log:+ (silent:$_bad_log)}"
}

FULL=${POSGW_FAULTS_FULL:-0}
snap queued
# the step's own files, then the database's
sweep "edge packing (files)" queued "$WORK" posgw.db 0 settle "$POSGW_EDGE" --config "$EDGE_CONF" --once
sweep "edge packing (database)" queued "$WORK/edge-state/posgw.db" "" "$DB_POINTS" settle "$POSGW_EDGE" --config "$EDGE_CONF" --once

restore queued
edge_once
snap packed
sweep "core import and export (files)" packed "$WORK" posgw.db 0 settle "$POSGW_CORE" --config "$CORE_CONF" --once
sweep "core import and export (database)" packed "$WORK/core-state/posgw.db" "" "$DB_POINTS" settle "$POSGW_CORE" --config "$CORE_CONF" --once

restore packed
core_once
snap imported
sweep "edge taking receipts (files)" imported "$WORK" posgw.db 0 settle "$POSGW_EDGE" --config "$EDGE_CONF" --once
sweep "edge taking receipts (database)" imported "$WORK/edge-state/posgw.db" "" "$DB_POINTS" settle "$POSGW_EDGE" --config "$EDGE_CONF" --once

# removable media: the core reads its own inbox, filled from the medium
sed -i "s|^inbox = .*|inbox = $CORE_IN|" "$CORE_CONF"
restore packed
snap media
sweep "posgw media export" media "$WORK" posgw.db 0 media_settle "$POSGW" media export --from "$E2C" --to "$MEDIA" --operator test
restore media
"$POSGW" media export --from "$E2C" --to "$MEDIA" --operator test >/dev/null 2>&1
snap exported
sweep "posgw media import" exported "$WORK" posgw.db 0 media_settle "$POSGW" media import --from "$MEDIA" --to "$CORE_IN"
sed -i "s|^inbox = .*|inbox = $E2C|" "$CORE_CONF"

# --- regressions: one per bug the sweep found ---------------------------------
# media-inventory-stale-error: a failed inventory write was reported with
# the text of the earlier "no inventory yet" lookup (No such file...).
restore media
faulty 1 "$MEDIA/.posgw-inventory.txt" "" "$POSGW" media export --from "$E2C" --to "$MEDIA" --operator test
grep -q 'writing the inventory failed: cannot create .*posgw-inventory.txt: No space left on device' "$WORK/run.log" &&
	! grep -q 'No such file' "$WORK/run.log"
ok $? "regression media-inventory-stale-error: a failed inventory write names its own cause"
# archive-write-errno: libarchive's "Write error" alone hid a full disk.
restore queued
faulty 2 "$WORK/edge-state/sent/" "" "$POSGW_EDGE" --config "$EDGE_CONF" --once
grep -q '^fault 2 write' "$WORK/fault.log" && grep -Eq '(Write error \(|writing .*: )Input/output error' "$WORK/run.log"
ok $? "regression archive-write-errno: a package write failure names the system error"
# link-fallback-silent: a link into the outbox failing for another reason
# than another file system fell back to a copy without a word.
restore queued
faulty 1 "$E2C/" "" "$POSGW_EDGE" --config "$EDGE_CONF" --once
grep -q '^fault 1 link' "$WORK/fault.log" && grep -q 'copying it instead: No space left on device' "$WORK/run.log"
ok $? "regression link-fallback-silent: a failed link into the outbox is logged before the copy"
# db-cantopen-reason: SQLite said only "unable to open database file".
restore queued
faulty 1 "$WORK/edge-state/posgw.db-wal" "" "$POSGW_EDGE" --config "$EDGE_CONF" --once
grep -q 'unable to open database file (it or its -wal/-shm file; check that the directory is writable and its file system not full)' "$WORK/run.log"
ok $? "regression db-cantopen-reason: a database that cannot be opened says what to check"

# --- SQLite busy --------------------------------------------------------------
# Another process holds the core's database write lock longer than the busy
# timeout (10 s): the round fails saying so, and the next one does the work.
restore packed
"$POSGW_CORE" --config "$CORE_CONF" --check-config >/dev/null 2>&1 # makes the database
npk=$(ls "$E2C" | grep -c '\.pkg$')
# the lock is held until the round is over, however slow the machine
{
	echo ".timeout 30000"
	echo "BEGIN IMMEDIATE;"
	while [ ! -e "$WORK/unlock" ]; do sleep 0.2; done
	echo "ROLLBACK;"
} | sqlite3 "$CORE_DB" &
lock=$!
locked() { ! sqlite3 "$CORE_DB" "BEGIN IMMEDIATE; ROLLBACK;" 2>/dev/null; }
wait_for 30 locked
core_once
rc=$?
touch "$WORK/unlock"
wait $lock
grep -q 'database is locked' "$WORK/core.log"
ok $? "a database locked by another process: the round says 'database is locked' (status $rc)"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='appeal'")" = 0 ] &&
	[ "$(ls "$E2C" | grep -c '\.pkg$')" = "$npk" ]
ok $? "while it was locked nothing was imported and the $npk package(s) stay in the inbox"
settle
w=$(wrong)
[ -z "$w" ]
ok $? "once the lock is gone the exchange completes, nothing lost or doubled${w:+: $w}"

# --- the wall clock jumps back ------------------------------------------------
# A day back in the middle of the exchange: packages are still made at once
# (max_wait_ms = 0), unreceipted ones are still offered again, receipts
# still close them, and the journals verify and reconcile.
restore queued
sed -i 's/^receipt_delay = 0$/receipt_delay = 0\nresend_interval = 1/' "$EDGE_CONF"
edge_once
mv "$E2C"/*.pkg "$WORK/" 2>/dev/null
sent=$(q "$EDGE_DB" "SELECT COUNT(*) FROM packages WHERE direction='out' AND control=0")
sleep 1
back "$POSGW_EDGE" --config "$EDGE_CONF" --once 2>>"$WORK/edge.log"
[ "$(ls "$E2C" | grep -c '\.pkg$')" -eq "$sent" ]
ok $? "a day back, the edge offers its $sent unreceipted package(s) again"
for i in 1 2 3; do
	back "$POSGW_CORE" --config "$CORE_CONF" --once 2>>"$WORK/core.log"
	back "$POSGW_EDGE" --config "$EDGE_CONF" --once 2>>"$WORK/edge.log"
done
w=$(wrong)
[ -z "$w" ]
ok $? "a day back, the exchange completes: nothing lost or doubled, journals verify and reconcile${w:+: $w}"
settle
w=$(wrong)
[ -z "$w" ] && [ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM journal WHERE at < (SELECT MAX(at) FROM journal) - 3600")" -gt 0 ]
ok $? "with the clock right again, the journals still verify (they hold entries a day apart)"
out=$("$POSGW" journal verify "$EDGE_DB" 2>&1)
[ $? -eq 0 ] && echo "$out" | grep -q "^time: the entries' times go back [0-9]* time(s), first at entry [0-9]*, by at most 86[0-9][0-9][0-9] s: the gateway's clock was set back"
ok $? "journal verify tells the auditor where the clock went back, and still passes"
done_testing
