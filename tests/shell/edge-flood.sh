#!/bin/sh
# edge-flood.sh: a flood bigger than one listing of the adapter's in/
# (EDGE_SCAN_MIN, 4096 names) is taken whole, each file exactly once,
# including files that arrive while it drains (edge_in_names keeps the
# first names of a listing and takes them round by round). To drive many
# listings, build the edge with small limits and run this again:
#   make CFLAGS='-g -O2 -DEDGE_SCAN_MIN=20 -DEDGE_SCAN_MAX=60 -DEDGE_SCAN_SHARE=2'
# (then touch gateway/edge/*.c and make again for the real limits).
. "$(dirname "$0")/lib.sh"
: "${POSGW_SIM:=$TOP_SRCDIR/posgw-sim}"

if ! have sqlite3; then
	skip "edge-flood" "sqlite3 missing (ops/scripts/deps installs it)"
	done_testing
fi
N=${POSGW_FLOOD_COUNT:-5000}
LATE=200
make_pair
IN=$SMEV/in
# all the appeals at once (the simulator numbers them from the same first
# id every run), the first N into in/ now, the rest mid-flood; not under
# eatmydata: a sanitizer build refuses to start with its LD_PRELOAD
mkdir -p "$WORK/gen"
"$POSGW_SIM" --base "$WORK/gen" --attachments-in "$SMEV/attachments-in" \
	--count $((N + LATE)) --seed 11 --rate 0 --issue-only >/dev/null 2>"$WORK/sim.log"
ok $? "posgw-sim wrote $((N + LATE)) appeals"
find "$WORK/gen/in" -maxdepth 1 -name '*.xml' | sort >"$WORK/all"
head -n "$N" "$WORK/all" | xargs mv -t "$IN"
tail -n +$((N + 1)) "$WORK/all" >"$WORK/late"
[ "$(ls "$IN" | wc -l)" -eq "$N" ] && [ "$(wc -l <"$WORK/late")" -ge "$LATE" ]
ok $? "$N of them in in/ before the edge starts"
"$POSGW_EDGE" --config "$EDGE_CONF" 2>"$WORK/edge.log" &
EDGE=$!
trap 'kill $EDGE 2>/dev/null; wait $EDGE 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

# appeals: how many appeals the edge holds (0 before its database).
appeals() {
	_c=$(q "$EDGE_DB" "SELECT COUNT(*) FROM edge_appeals" 2>/dev/null)
	echo "${_c:-0}"
}

# taken K: the edge holds at least K appeals.
taken() {
	[ "$(appeals)" -ge "$1" ]
}

# While the first listing's names are being taken, more arrive.
wait_for 60 taken $((N / 10))
ok $? "the edge is draining the flood ($(appeals) taken)"
xargs mv -t "$IN" <"$WORK/late"
ok $? "the other $(wc -l <"$WORK/late") arrived in the middle of the flood"

total=$((N + LATE))
wait_for 120 sh -c '[ -z "$(ls "$1")" ]' - "$IN"
ok $? "in/ is empty: every file was taken"
n=$(appeals)
[ "$n" -eq "$total" ]
ok $? "the edge holds every appeal ($n of $total)"
# exactly once at the ПОС boundary: one P:Received per appeal request
find "$SMEV/out" -maxdepth 1 -name '[!.]*.xml' -exec grep -l 'P:Received' {} + |
	xargs grep -h -o '<T:replyToClientId>[^<]*' | sed 's/.*>//' | sort >"$WORK/replied"
q "$EDGE_DB" "SELECT client_id FROM edge_appeals" | sort >"$WORK/clients"
dup=$(uniq -d "$WORK/replied" | wc -l)
missing=$(comm -23 "$WORK/clients" "$WORK/replied" | wc -l)
[ "$dup" -eq 0 ] && [ "$missing" -eq 0 ]
ok $? "every appeal acknowledged to ПОС exactly once ($dup twice, $missing never)"
grep -q "cannot read\|stuck\|will be ignored" "$WORK/edge.log"
[ $? -ne 0 ]
ok $? "no listing or removal trouble in the edge's log"
done_testing
