#!/bin/sh
# sstu.sh: posgw edms answer --result/--measures reaches the core's table,
# and posgw edms sstu writes the month's ССТУ.РФ report by topic and ЛКО, byte
# for byte as tests/data/sstu/expected-2026-03.{csv,xml}; bad months,
# formats and databases are refused with a message.
. "$(dirname "$0")/lib.sh"

if ! have sqlite3 || ! have certtool; then
	skip "sstu" "sqlite3 or certtool missing (apt-get install sqlite3 gnutls-bin)"
	done_testing
fi
make_pair
S=$WORK/src
sample_payload "$S"
IMP=$EDMS/import
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
TODAY=$(date +%Y-%m-%d)
EXPECT=$TESTDATA/sstu

# send_appeal POS-ID: the spec's appeal under another id, created now, sent
# by the edge and taken by the core (as in core.sh).
send_appeal() {
	sed -e "s/177073571/$1/g" -e "s/created=\"[^\"]*\"/created=\"$NOW\"/" \
		"$S/payload/appeal.xml" >"$WORK/appeal-$1.xml"
	printf 'JPEG' >"$WORK/att-$1.bin"
	"$POSGW" transfer enqueue --config "$EDGE_CONF" "$WORK/appeal-$1.xml" \
		"payload/att/$1-1.bin=$WORK/att-$1.bin" >/dev/null &&
		edge_once && core_once
}

# --- the answer's result --------------------------------------------------
"$POSGW" edms answer --help | grep -q -- '--result supported|explained|not-supported' &&
	"$POSGW" edms answer --help | grep -q -- '--measures'
ok $? "edms answer --help names --result and --measures"
send_appeal 177073581 && send_appeal 177073582 && send_appeal 177073583
"$POSGW" edms register 177073581 --number 1 --date "$TODAY" --config "$CORE_CONF" >/dev/null &&
	"$POSGW" edms register 177073582 --number 2 --date "$TODAY" --config "$CORE_CONF" >/dev/null &&
	"$POSGW" edms register 177073583 --number 3 --date "$TODAY" --config "$CORE_CONF" >/dev/null &&
	core_once
"$POSGW" edms answer 177073581 --text "Сделано." --result supported --measures \
	--config "$CORE_CONF" >/dev/null &&
	grep -q '<answer result="supported" measures="true">' "$IMP/177073581-e2.xml"
ok $? "edms answer --result supported --measures writes both attributes into the event file"
"$POSGW" edms answer 177073582 --text "Разъяснено." --config "$CORE_CONF" >/dev/null &&
	grep -q '<answer>' "$IMP/177073582-e2.xml"
ok $? "edms answer without --result writes no attribute"
"$POSGW" edms answer 177073583 --text "Нет." --result not-supported --config "$CORE_CONF" >/dev/null
core_once
[ "$(q "$CORE_DB" "SELECT pos_id || ' ' || state || ' ' || result || ' ' || measures FROM core_appeals
	WHERE pos_id IN ('177073581', '177073582', '177073583') ORDER BY pos_id" | tr '\n' ';')" = \
	"177073581 answered supported 1;177073582 answered explained 0;177073583 answered not-supported 0;" ]
ok $? "the core stores the result and measures (no --result: explained, no measures)"
send_appeal 177073584
"$POSGW" edms register 177073584 --number 4 --date "$TODAY" --config "$CORE_CONF" >/dev/null
core_once
for bad in "--result yes" "--result Supported" "--result ''" "--result"; do
	eval "\"\$POSGW\" edms answer 177073584 --text t $bad --config \"\$CORE_CONF\"" >/dev/null 2>"$WORK/err"
	rc=$?
	[ $rc -eq 2 ] && [ ! -e "$IMP/177073584-e2.xml" ] && [ -s "$WORK/err" ]
	ok $? "a bad $bad is a usage error (exit 2), no event written"
	[ $rc -eq 2 ] || diag "exit $rc: $(cat "$WORK/err")"
done
"$POSGW" edms answer 177073584 --text t --result Supported --config "$CORE_CONF" 2>&1 |
	grep -q "result is supported, explained or not-supported, not 'Supported'"
ok $? "the usage error names the allowed results and the value given"
"$POSGW" edms register 177073584 --number 4 --date "$TODAY" --measures --config "$CORE_CONF" >/dev/null 2>"$WORK/err"
[ $? -eq 2 ] && grep -q 'edms register does not take --measures' "$WORK/err"
ok $? "--measures on another event command is a usage error (exit 2)"

# --- the month's report ---------------------------------------------------
# A fixed data set for March 2026. The real programs close an appeal on the
# day its event is taken (today), so they cannot produce closures in a fixed
# past month: the rows are inserted into the core's table, which posgw-core
# made above (tables v2). Per row: what it counts in March (see
# cmd-edms-sstu.c for the definitions).
T1=0003.0009.0097.0690
T2=0003.0009.0097.0691
sqlite3 "$CORE_DB" "INSERT INTO core_appeals (pos_id, kind, created, state,
 exported_at, category, sstu, lko_id, oktmo, closed_at, result, measures) VALUES
 -- received, considered, supported, measures
 ('900000001', 'message', '2026-03-02T10:00:00Z', 'answered', 0, '21', '$T1', '268828', '29701000', '2026-03-20', 'supported', 1),
 -- considered, explained (no result given)
 ('900000002', 'message', '2026-02-25T10:00:00Z', 'answered', 0, '21', '$T1', '268828', '29701000', '2026-03-05', NULL, 0),
 -- received, in progress (answered after the month)
 ('900000003', 'message', '2026-03-10T10:00:00Z', 'answered', 0, '21', '$T1', '268828', '29701000', '2026-04-02', 'not-supported', 0),
 -- received, in progress
 ('900000004', 'appeal59', '2026-03-15T10:00:00Z', 'in_work', 0, '21', '$T1', '268828', '29701000', NULL, NULL, NULL),
 -- received (the month's last second), in progress
 ('900000005', 'message', '2026-03-31T23:59:59Z', 'new', 0, '22', '$T2', '268828', '29701000', NULL, NULL, NULL),
 -- received, considered, declined
 ('900000006', 'message', '2026-03-03T10:00:00Z', 'declined', 0, '22', '$T2', '268828', '29701000', '2026-03-04', NULL, NULL),
 -- received, forwarded (not considered here)
 ('900000007', 'appeal59', '2026-03-05T10:00:00Z', 'forwarded', 0, '22', '$T2', '268828', '29701000', '2026-03-06', NULL, NULL),
 -- received, considered, not supported (on the month's last day)
 ('900000008', 'message', '2026-03-05T10:00:00Z', 'answered', 0, '22', '$T2', '268828', '29701000', '2026-03-31', 'not-supported', 0),
 -- unmapped: received, in progress
 ('900000009', 'message', '2026-03-06T10:00:00Z', 'registered', 0, '99', NULL, '268828', '29701000', NULL, NULL, NULL),
 -- nothing in March (created at April's first second)
 ('900000010', 'message', '2026-04-01T00:00:00Z', 'new', 0, '21', '$T1', '268828', '29701000', NULL, NULL, NULL),
 -- nothing in March (closed before it)
 ('900000011', 'message', '2026-01-10T10:00:00Z', 'answered', 0, '21', '$T1', '268828', '29701000', '2026-02-10', 'supported', 1),
 -- in progress (created before the month, still open)
 ('900000012', 'message', '2026-02-28T23:59:59Z', 'registered', 0, '22', '$T2', '268828', '29701000', NULL, NULL, NULL),
 -- another ЛКО: received, considered, supported, measures
 ('900000013', 'message', '2026-03-12T10:00:00Z', 'answered', 0, '21', '$T1', '1000', '29615000', '2026-03-13', 'supported', 1),
 -- another ЛКО, topic '' (unmapped): received, in progress
 ('900000014', 'message', '2026-03-12T11:00:00Z', 'postponed', 0, '21', '', '1000', '29615000', NULL, NULL, NULL),
 -- no ЛКО: received, in progress
 ('900000015', 'message', '2026-03-20T10:00:00Z', 'new', 0, '21', '$T1', NULL, NULL, NULL, NULL, NULL)"
ok $? "the fixed March 2026 data set is in the core's table"

"$POSGW" edms sstu --help | grep -q '^usage: posgw edms sstu --month YYYY-MM'
ok $? "edms sstu --help prints its usage"
"$POSGW" edms sstu --month 2026-03 --config "$CORE_CONF" >"$WORK/2026-03.csv" 2>"$WORK/warn"
ok $? "edms sstu --month 2026-03 (CSV on stdout) exits 0"
cmp "$WORK/2026-03.csv" "$EXPECT/expected-2026-03.csv"
ok $? "the CSV equals tests/data/sstu/expected-2026-03.csv byte for byte"
[ "$(wc -l <"$WORK/warn")" -eq 2 ] &&
	grep -q "warning: 2026-03: 1 appeal(s) of ПОС category 21 have no ССТУ topic and are counted as 'unmapped'" "$WORK/warn" &&
	grep -q "warning: 2026-03: 1 appeal(s) of ПОС category 99 have no ССТУ topic" "$WORK/warn" &&
	grep -q 'posgw edms map import' "$WORK/warn"
ok $? "the appeals without a topic are named on stderr by category, never guessed"
[ $? -eq 0 ] || diag "$(cat "$WORK/warn")"
"$POSGW" edms sstu --month 2026-03 --format xml --out "$WORK/2026-03.xml" --config "$CORE_CONF" 2>/dev/null &&
	cmp "$WORK/2026-03.xml" "$EXPECT/expected-2026-03.xml"
ok $? "the XML (--out) equals tests/data/sstu/expected-2026-03.xml byte for byte"
if have xmllint; then
	xmllint --noout --schema "$SCHEMAS/sstu-report.xsd" "$WORK/2026-03.xml" 2>/dev/null
	ok $? "the XML is valid against formats/schemas/sstu-report.xsd"
else
	skip "the XML is valid against sstu-report.xsd" "xmllint missing"
fi
# every considered appeal has exactly one outcome
awk -F, 'NR > 1 && $4 != $5 + $6 + $7 + $8 { bad = 1 } END { exit bad }' "$WORK/2026-03.csv"
ok $? "considered = supported + explained + not_supported + declined on every row"
"$POSGW" edms sstu --month 2025-07 --config "$CORE_CONF" >"$WORK/empty.csv" 2>"$WORK/warn" &&
	[ "$(cat "$WORK/empty.csv")" = "lko_id,topic,received,considered,supported,explained,not_supported,declined,measures,forwarded,in_progress" ] &&
	[ ! -s "$WORK/warn" ]
ok $? "a month without appeals gives the header only, no warning"
"$POSGW" edms sstu --month 2026-03 --out "$WORK/nodir/x.csv" --config "$CORE_CONF" 2>"$WORK/err"
[ $? -eq 1 ] && grep -q "cannot write $WORK/nodir/x.csv" "$WORK/err"
ok $? "an unwritable --out fails (exit 1) naming the file"

# --- rejections -----------------------------------------------------------
for bad in 2026-13 26-01 text 2026-00 2026-3 2026-03-01 1969-12 "" 2026-0x; do
	"$POSGW" edms sstu --month "$bad" --config "$CORE_CONF" >"$WORK/out" 2>"$WORK/err"
	[ $? -eq 2 ] && [ ! -s "$WORK/out" ] && grep -q -- "--month $bad: give a month as YYYY-MM" "$WORK/err"
	ok $? "a bad month '$bad' is a usage error (exit 2) with a message"
done
"$POSGW" edms sstu --config "$CORE_CONF" >/dev/null 2>"$WORK/err"
[ $? -eq 2 ] && grep -q 'needs --month YYYY-MM' "$WORK/err"
ok $? "no --month is a usage error (exit 2)"
"$POSGW" edms sstu --month 2026-03 >/dev/null 2>"$WORK/err"
[ $? -eq 2 ] && grep -q -- '--config FILE is required' "$WORK/err"
ok $? "no --config is a usage error (exit 2)"
"$POSGW" edms sstu --month 2026-03 --format json --config "$CORE_CONF" >/dev/null 2>"$WORK/err"
[ $? -eq 2 ] && grep -q -- "--format is csv or xml, not 'json'" "$WORK/err"
ok $? "a bad --format is a usage error (exit 2)"
"$POSGW" edms sstu --month 2026-03 extra --config "$CORE_CONF" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "an extra argument is a usage error (exit 2)"
# a database without the core's tables: the edge's
sed "s|^state = .*|state = $WORK/edge-state|" "$CORE_CONF" >"$WORK/notables.conf"
"$POSGW" edms sstu --month 2026-03 --config "$WORK/notables.conf" >"$WORK/out" 2>"$WORK/err"
[ $? -eq 1 ] && [ ! -s "$WORK/out" ] && grep -q "$WORK/edge-state/posgw.db: posgw-core has not exported any appeal yet" "$WORK/err"
ok $? "a database without the core's tables fails (exit 1) saying so"
sed "s|^state = .*|state = $WORK/nowhere|" "$CORE_CONF" >"$WORK/nodb.conf"
"$POSGW" edms sstu --month 2026-03 --config "$WORK/nodb.conf" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'does not exist; has posgw-core run with this configuration' "$WORK/err"
ok $? "a missing database fails (exit 1) saying what to check"
mkdir -p "$WORK/old-state"
sqlite3 "$CORE_DB" ".backup '$WORK/old-state/posgw.db'"
sqlite3 "$WORK/old-state/posgw.db" "UPDATE meta SET value = '1' WHERE key = 'core_schema'"
sed "s|^state = .*|state = $WORK/old-state|" "$CORE_CONF" >"$WORK/old.conf"
"$POSGW" edms sstu --month 2026-03 --config "$WORK/old.conf" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'tables in .* are of an older posgw; start posgw-core once' "$WORK/err"
ok $? "the core's tables of an older posgw (v1) fail (exit 1) saying to start posgw-core once"
done_testing
