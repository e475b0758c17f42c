#!/bin/sh
# reporting-regress.sh: one regression test per bug an outside tester found
# in the reporting commands (issue 15), each with the input that showed it.
. "$(dirname "$0")/lib.sh"

if ! have sqlite3; then
	skip "reporting regressions" "sqlite3 missing"
	done_testing
fi
make_pair
S=$WORK/src
sample_payload "$S"
"$POSGW" transfer enqueue --config "$EDGE_CONF" "$S/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" >/dev/null
edge_once && core_once
M=$(date -u +%Y-%m)
H=period_from,period_to,lko_id,sstu_code,oktmo,new,in_work,overdue,answered
D=$(date -d "$(date +%Y-%m-01)" +%Y-%m-%d)
stored() {
	q "$CORE_DB" "SELECT COUNT(*) FROM core_stats_other"
}

# regression out-replaces-devices: --out over a device or FIFO replaced it
# with a regular file (as root, /dev/full became a CSV file)
mkfifo "$WORK/fifo"
"$POSGW" edms sstu --month "$M" --out "$WORK/fifo" --config "$CORE_CONF" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && [ -p "$WORK/fifo" ] && grep -q 'exists and is not a regular file' "$WORK/err"
ok $? "regression out-replaces-devices: edms sstu --out refuses a FIFO and leaves it"
"$POSGW" journal report "$CORE_DB" --out "$WORK/fifo" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && [ -p "$WORK/fifo" ] && grep -q 'exists and is not a regular file' "$WORK/err"
ok $? "regression out-replaces-devices: journal report --out refuses a FIFO and leaves it"
ln -s "$WORK/elsewhere.csv" "$WORK/link.csv"
"$POSGW" edms sstu --month "$M" --out "$WORK/link.csv" --config "$CORE_CONF" >/dev/null 2>&1
[ $? -eq 1 ] && [ -L "$WORK/link.csv" ] && [ ! -e "$WORK/elsewhere.csv" ]
ok $? "... and a symbolic link"
"$POSGW" edms sstu --month "$M" --out "$WORK/ok.csv" --config "$CORE_CONF" >/dev/null 2>&1 &&
	"$POSGW" edms sstu --month "$M" --out "$WORK/ok.csv" --config "$CORE_CONF" >/dev/null 2>&1 &&
	[ -f "$WORK/ok.csv" ]
ok $? "a regular file is still written and replaced"

# regression stats-import-nul-truncates: a NUL byte cut the rest of a line
printf '%s\n%s,%s,268828,S1,,5,0,0,0\000,999,garbage\n' "$H" "$D" "$D" >"$WORK/nul.csv"
"$POSGW" edms stats import "$WORK/nul.csv" --config "$CORE_CONF" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'nul.csv:2: contains a NUL byte' "$WORK/err" && [ "$(stored)" = 0 ]
ok $? "regression stats-import-nul-truncates: a NUL byte is refused naming the line, nothing stored"

# regression stats-import-fifo-hangs: a FIFO blocked the import for ever
timeout 10 "$POSGW" edms stats import "$WORK/fifo" --config "$CORE_CONF" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'not a regular file' "$WORK/err"
ok $? "regression stats-import-fifo-hangs: a FIFO is refused at once"

# regression stats-import-too-many-for-a-document: 10,001 rows of one
# period were stored, then no statistics could be sent or shown
awk -v d="$D" -v h="$H" 'BEGIN { print h; for (i = 0; i < 10001; i++) printf "%s,%s,268828,S%d,,1,0,0,0\n", d, d, i }' >"$WORK/many.csv"
"$POSGW" edms stats import "$WORK/many.csv" --config "$CORE_CONF" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'more than 10000 rows for the period' "$WORK/err" && [ "$(stored)" = 0 ]
ok $? "regression stats-import-too-many-for-a-document: a period over 10000 rows is refused"

# regression stats-import-journal-flood: one journal entry per unmapped row
awk -v d="$D" -v h="$H" 'BEGIN { print h; for (i = 0; i < 300; i++) printf "%s,%s,268828,S%d,,1,0,0,0\n", d, d, i }' >"$WORK/unmapped.csv"
n0=$(q "$CORE_DB" "SELECT COUNT(*) FROM journal")
"$POSGW" edms stats import "$WORK/unmapped.csv" --config "$CORE_CONF" >"$WORK/out" 2>&1
n1=$(q "$CORE_DB" "SELECT COUNT(*) FROM journal")
[ "$(stored)" = 300 ] && [ $((n1 - n0)) -le 52 ] && grep -q '300 unmapped' "$WORK/out"
ok $? "regression stats-import-journal-flood: 300 unmapped rows make a few journal entries and one summary"

# regression stats-period-exit-code: a bad period is a usage error
"$POSGW" edms stats show --from 2026-02-30 --to 2026-03-01 --config "$CORE_CONF" >/dev/null 2>&1
r1=$?
"$POSGW" edms stats show --from 2026-11-30 --to 2026-11-01 --config "$CORE_CONF" >/dev/null 2>&1
r2=$?
[ $r1 -eq 2 ] && [ $r2 -eq 2 ]
ok $? "regression stats-period-exit-code: bad or reversed periods exit 2"

# regression stats-show-ignores-write-errors
if [ -w /dev/full ]; then
	"$POSGW" edms stats show --config "$CORE_CONF" >/dev/full 2>/dev/null
	[ $? -eq 1 ]
	ok $? "regression stats-show-ignores-write-errors: a full standard output is a failure"
else
	skip "stats show to /dev/full" "no /dev/full"
fi

# regression stats-import-creates-database: a missing database was created
sed "s|^state = .*|state = $WORK/empty-state|" "$CORE_CONF" >"$WORK/empty.conf"
mkdir -p "$WORK/empty-state"
printf '%s\n%s,%s,268828,S1,,1,0,0,0\n' "$H" "$D" "$D" >"$WORK/one.csv"
"$POSGW" edms stats import "$WORK/one.csv" --config "$WORK/empty.conf" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'does not exist; has posgw-core run' "$WORK/err" && [ ! -e "$WORK/empty-state/posgw.db" ]
ok $? "regression stats-import-creates-database: no database is created"

# regression forward-to-org-bad-id: a non-id was a failure (1) naming it as
# an organization to add
"$POSGW" edms forward 177073571 --to-org abc --reason x --config "$CORE_CONF" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "regression forward-to-org-bad-id: --to-org abc is a usage error"

# regression repeated-decisions-out-of-order: files applied in name order
# let a decision of 2020 override one of today; two decisions in one second
# overwrote each other's file
q "$CORE_DB" "UPDATE core_appeals SET repeated = 'candidate', repeated_of = '177000001' WHERE pos_id = '177073571'"
"$POSGW" edms repeated 177073571 --confirm --config "$CORE_CONF" >/dev/null &&
	"$POSGW" edms repeated 177073571 --confirm --config "$CORE_CONF" >/dev/null
[ "$(ls "$EDMS/import" | grep -c '^repeated-177073571-')" = 2 ]
ok $? "regression repeated-decisions-out-of-order: two decisions in a second are two files"
core_once
"$POSGW" edms repeated 177073571 --reject --config "$CORE_CONF" >/dev/null
sleep 1
core_once
printf '<?xml version="1.0" encoding="UTF-8"?>\n<repeated xmlns="urn:posgw:exchange:1" pos-id="177073571" decision="confirmed" at="2020-01-01T00:00:00Z"/>\n' >"$EDMS/import/.a.xml"
mv "$EDMS/import/.a.xml" "$EDMS/import/a.xml"
core_once
[ "$(q "$CORE_DB" "SELECT repeated FROM core_appeals WHERE pos_id = '177073571'")" = rejected ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind = 'appeal.repeated-stale'")" = 1 ] &&
	[ ! -e "$EDMS/import/a.xml" ]
ok $? "... and a decision older than the one applied is journaled and ignored"

# regression repeated-decision-twice-after-kill: a kill between the commit
# and the file's removal journaled the same decision again on restart
"$POSGW" edms repeated 177073571 --confirm --config "$CORE_CONF" >/dev/null
cp "$EDMS/import"/repeated-177073571-*.xml "$WORK/decision.xml"
core_once
j0=$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE appeal = '177073571' AND kind LIKE 'appeal.%repeated%'")
cp "$WORK/decision.xml" "$EDMS/import/again.xml"
core_once
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE appeal = '177073571' AND kind LIKE 'appeal.%repeated%'")" = "$j0" ] &&
	[ ! -e "$EDMS/import/again.xml" ] &&
	[ "$(q "$CORE_DB" "SELECT repeated FROM core_appeals WHERE pos_id = '177073571'")" = confirmed ]
ok $? "regression repeated-decision-twice-after-kill: a decision left after its commit is removed, not journaled again"
done_testing
