#!/bin/sh
# edge-idle.sh: an idle posgw-edge does not list the adapter's in/ folder
# again while its mtime shows no change (regression edge-idle-lists-in:
# after a flood of 1,000,000 appeals the emptied ext4 folder kept its size
# and the idle edge spent 2.8 % of a CPU listing it every round), and a
# file arriving afterwards is still taken at once. An idle daemon does not
# spin with max_wait_ms = 0. Both daemons watch the folders others drop
# files into (in/, the EDMS import folder) besides their inbox.
. "$(dirname "$0")/lib.sh"

for t in inotifywait sqlite3; do
	if ! have $t; then
		skip "edge-idle" "$t missing (ops/scripts/deps installs it)"
		done_testing
	fi
done
make_pair
IN=$SMEV/in
: "${POSGW_SIM:=$TOP_SRCDIR/posgw-sim}"
"$POSGW_EDGE" --config "$EDGE_CONF" 2>"$WORK/edge.log" &
EDGE=$!
trap 'kill $EDGE $WATCH 2>/dev/null; wait $EDGE 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
WATCH=""
wait_for 10 grep -q "exchanging with" "$WORK/edge.log"
ok $? "the edge started"

# opens SECONDS: how many times the edge opens (lists) in/ in that time;
# -1 if the watch did not work (it must see the control listing at the end).
opens() {
	: >"$WORK/opens"
	: >"$WORK/opens.err"
	inotifywait -m -e open --format '%e' "$IN" >"$WORK/opens" 2>"$WORK/opens.err" &
	WATCH=$!
	wait_for 5 grep -q "Watches established" "$WORK/opens.err"
	sleep "$1"
	ls "$IN" >/dev/null
	sleep 0.3
	kill $WATCH 2>/dev/null
	wait $WATCH 2>/dev/null
	WATCH=""
	echo $(($(wc -l <"$WORK/opens") - 1))
}

# Right after a change the edge must go on listing (rounds are 20 ms apart
# here): a file added in the same clock tick would not change the folder.
touch "$IN"
n=$(opens 1)
[ "$n" -ge 5 ]
ok $? "in/ changed a moment ago: listed every round ($n times in 1 s)"

# Unchanged for more than 2 s: one more listing finds it empty and settled,
# then none while nothing changes.
sleep 3.5
n=$(opens 3)
[ "$n" -eq 0 ]
ok $? "an empty in/ unchanged for 3 s is not listed again ($n opens in 3 s)"

# regression idle-spin-max-wait-0: with max_wait_ms = 0 (as here) an idle
# daemon polled without pause, a whole CPU; now at most every 20 ms.
cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000 / hz }' "/proc/$1/stat"
}
c0=$(cpu $EDGE)
sleep 2
c1=$(cpu $EDGE)
[ $((c1 - c0)) -lt 200 ]
ok $? "regression idle-spin-max-wait-0: the idle edge used $((c1 - c0)) ms of CPU in 2 s (max_wait_ms = 0)"

# A file arriving now changes in/'s mtime: taken at once.
"$POSGW_SIM" --base "$SMEV" --count 1 --seed 7 --rate 0 --issue-only \
	>/dev/null 2>"$WORK/sim.log"
ok $? "posgw-sim wrote an appeal into in/"
wait_for 10 sh -c '[ -z "$(ls "$1")" ]' - "$IN"
ok $? "the appeal that arrived after the idle rounds was taken"
n=$(q "$EDGE_DB" "SELECT COUNT(*) FROM edge_appeals")
[ "$n" = 1 ]
ok $? "the edge holds that appeal ($n)"

# watched PID DIR: the daemon's inotify watches DIR (its inode, in hex, in
# /proc/PID/fdinfo of its inotify descriptor), so a file arriving there
# wakes it at once instead of at the next idle round (up to a second).
watched() {
	_ino=$(printf '%x' "$(stat -c %i "$2")")
	for _fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$_fd")" = "anon_inode:inotify" ] || continue
		grep -q "^inotify wd:[0-9]* ino:$_ino " "/proc/$1/fdinfo/${_fd##*/}" && return 0
	done
	return 1
}
watched $EDGE "$IN"
ok $? "the edge watches the adapter's in/ with inotify: an appeal is taken as it arrives"
# a folder moved away and made anew (a remount, an adapter's cleanup) is
# watched again, not the old one
mv "$IN" "$IN.old" && mkdir "$IN"
wait_for 5 watched $EDGE "$IN" && ! watched $EDGE "$IN.old"
ok $? "in/ moved away and made anew: the new folder is watched, the old one no longer"
"$POSGW_CORE" --config "$CORE_CONF" 2>"$WORK/core.log" &
CORE=$!
wait_for 10 grep -q "exchanging with" "$WORK/core.log"
watched $CORE "$EDMS/import"
ok $? "the core watches the EDMS import folder with inotify: an event is taken as it arrives"
kill $CORE
wait $CORE 2>/dev/null
done_testing
