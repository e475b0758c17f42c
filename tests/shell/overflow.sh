#!/bin/sh
# overflow.sh: POSGW_OVERFLOW_COUNT (default 10,000) packages dropped into a
# running core's inbox at once, while it is stopped, so the inotify queue
# overflows (its limit is lowered for the test when we may): all are
# processed exactly once.
. "$(dirname "$0")/lib.sh"

if ! have sqlite3; then
	skip "overflow" "sqlite3 missing (apt-get install sqlite3)"
	done_testing
fi
N=${POSGW_OVERFLOW_COUNT:-10000}
make_pair "max_documents = 1"
DROP=$WORK/drop
sed -i "s|^outbox = .*|outbox = $DROP|" "$EDGE_CONF"

"$SPOOLGEN" "$EDGE_CONF" "$N" --pack >/dev/null
[ "$(ls "$DROP" | grep -c '\.pkg$')" -eq "$N" ]
ok $? "$N packages made by the edge"

QE=/proc/sys/fs/inotify/max_queued_events
old=$(cat $QE 2>/dev/null)
lowered=0
if [ -w $QE ] && echo 256 >$QE 2>/dev/null; then
	lowered=1
	trap 'echo "$old" >'$QE'; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
fi
"$POSGW_CORE" --config "$CORE_CONF" --verbose 2>"$WORK/core-run.log" &
pid=$!
wait_for 10 grep -q exchanging "$WORK/core-run.log"
[ $lowered -eq 1 ] && echo "$old" >$QE
kill -STOP $pid
find "$DROP" -name '*.pkg' -exec mv -t "$E2C" {} +
kill -CONT $pid
wait_for 600 sh -c "[ \$(ls '$E2C' | wc -l) -eq 0 ]"
ok $? "the inbox is drained"
kill -TERM $pid
wait $pid
if [ $lowered -eq 1 ]; then
	grep -q 'inotify queue overflow' "$WORK/core-run.log"
	ok $? "the inotify queue overflowed and a full scan followed"
else
	skip "inotify queue overflow seen" "cannot lower $QE here"
fi
[ "$(q "$CORE_DB" "SELECT COUNT(*) || ' ' || COUNT(DISTINCT seq) FROM packages WHERE direction='in' AND state='accepted'")" = "$N $N" ]
ok $? "all $N packages accepted exactly once"
[ "$(q "$CORE_DB" "SELECT COUNT(*) || ' ' || COUNT(DISTINCT pos_id) FROM documents WHERE direction='in' AND kind='appeal'")" = "$N $N" ]
ok $? "all $N appeals imported exactly once"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind IN ('package.duplicate', 'package.rejected')")" = 0 ]
ok $? "no duplicates or rejects along the way"
"$POSGW" journal verify "$CORE_DB" >/dev/null
ok $? "the journal verifies"
done_testing
