#!/bin/sh
# report.sh: posgw journal report writes one self-contained HTML file for
# auditors from a realistic pair of databases (the e2e chain, shared mode).
. "$(dirname "$0")/lib.sh"
: "${POSGW_SIM:=$TOP_SRCDIR/posgw-sim}"
E2E_SELF=$TOP_SRCDIR/tests/e2e/shared.sh
. "$TOP_SRCDIR/tests/e2e/e2e.sh"

for t in certtool sqlite3; do
	if ! have $t; then
		skip "journal report" "$t missing"
		done_testing
	fi
done

# usage
"$POSGW" journal report --help | grep -q 'journal report DB'
ok $? "--help prints the usage"
"$POSGW" journal report >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "no database is a usage error (exit 2)"
"$POSGW" journal report "$WORK/none.db" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "no --out is a usage error (exit 2)"
"$POSGW" journal report "$WORK/none.db" --out "$WORK/x.html" 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'does not exist' "$WORK/err" && [ ! -e "$WORK/x.html" ]
ok $? "a missing database fails (exit 1) and writes nothing"

e2e_setup shared
trap 'e2e_stop; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
e2e_run 15 120
ok $? "the e2e chain ran 15 appeals"
e2e_stop

OUT=$WORK/out
mkdir -p "$OUT"
"$POSGW" journal report "$EDGE_DB" --peer "$CORE_DB" --out "$OUT/edge.html"
ok $? "report for the edge with --peer"
"$POSGW" journal report "$CORE_DB" --peer "$EDGE_DB" --out "$OUT/core.html"
ok $? "report for the core with --peer"
[ "$(ls "$OUT")" = "$(printf 'core.html\nedge.html')" ]
ok $? "each report is one file, no temporaries left"

for side in edge core; do
	f=$OUT/$side.html
	if [ $side = edge ]; then db=$EDGE_DB; else db=$CORE_DB; fi
	if have xmllint; then
		xmllint --noout "$f" && xmllint --html --noout "$f" 2>/dev/null
		ok $? "$side: the report is well-formed"
	else
		skip "$side: the report is well-formed" "xmllint missing"
	fi
	[ "$(grep -c '<svg ' "$f")" -ge 3 ] && grep -q '<rect ' "$f"
	ok $? "$side: charts are inline SVG with bars"
	ok=0
	for h in 'Проверка цепочки журнала и контрольных точек' 'Пакеты по дням' \
		'Отклонённые пакеты по кодам' 'Задержка доставки' \
		'Пропуски и пакеты в пути' 'Обращения по статусам' \
		'Просроченные обращения' 'Сверка с базой партнёра'; do
		grep -q "<h2 id=\"[a-z]*\">$h</h2>" "$f" || {
			ok=1
			diag "$side: no heading $h"
		}
	done
	ok $ok "$side: every section has its Russian heading"
	n_out=$(q "$db" "SELECT COUNT(*) FROM packages WHERE direction='out'")
	n_in=$(q "$db" "SELECT COUNT(*) FROM packages WHERE direction='in'")
	n_j=$(q "$db" "SELECT COUNT(*) FROM journal")
	grep -q "id=\"pkg-out\">$n_out<" "$f" && grep -q "id=\"pkg-in\">$n_in<" "$f" &&
		grep -q "id=\"journal-entries\">$n_j<" "$f" && [ "$n_out" -gt 0 ]
	ok $? "$side: package and journal counts equal the database's ($n_out out, $n_in in)"
	! grep -Eiq 'https?://|src=|href=|<script|<link|@import|url\(' "$f"
	ok $? "$side: no external references, no scripts"
	grep -q 'class="ok" id="verify-result">ПРОВЕРКА ПРОЙДЕНА' "$f" &&
		grep -q 'class="ok" id="peer-cp">' "$f"
	ok $? "$side: the chain, the checkpoints and the peer's copies verify"
	grep -q 'id="latency-pct">.*p50.*p95.*p99' "$f"
	ok $? "$side: latency percentiles are given"
	n_rec=$(sed -n 's/.*id="rec-received">\([0-9]*\)<.*/\1/p' "$f")
	[ "$n_rec" -gt 0 ] && grep -q 'id="rec-lost">0<' "$f"
	ok $? "$side: reconciliation counts ($n_rec received, none lost)"
done
n=$(q "$CORE_DB" "SELECT COUNT(*) FROM core_appeals WHERE state='answered'")
grep -q "<td>дан ответ</td><td class=\"n\">$n</td>" "$OUT/core.html"
ok $? "core: appeals by status from core_appeals ($n answered)"
grep -q '<td>дан ответ</td>' "$OUT/edge.html"
ok $? "edge: appeals by status from the exchanged documents"

# a tampered copy: the journal altered behind the triggers, a hostile string
sqlite3 "$CORE_DB" ".backup '$WORK/tampered.db'"
sqlite3 "$WORK/tampered.db" "DROP TRIGGER journal_no_update;
UPDATE journal SET detail = 'forged' WHERE seq = 5;
INSERT INTO packages (direction, name, sender, recipient, seq, uuid, created,
 state, code, reason) VALUES ('in', '<b>evil</b>.pkg', 'edge-01', 'core-01',
 999, 'x', strftime('%s','now'), 'rejected', 'E<x>&Y', '<script>alert(1)</script>');
UPDATE core_appeals SET state = 'in_work', due = '2000-01-01' WHERE rowid = 1;"
"$POSGW" journal report "$WORK/tampered.db" --peer "$EDGE_DB" --out "$OUT/tampered.html"
ok $? "a report on a tampered journal is still written (exit 0)"
f=$OUT/tampered.html
grep -q 'class="bad" id="verify-result">ПРОВЕРКА НЕ ПРОЙДЕНА: entry 5: content does not match its hash' "$f"
ok $? "the tampered journal shows the verification failure in red"
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$f" && grep -q 'E&lt;x&gt;&amp;Y' "$f" &&
	! grep -q '<script' "$f" && ! grep -q '<b>evil' "$f"
ok $? "strings from the database are escaped"
grep -q 'id="pkg-rejected">1<' "$f" && grep -q '<title>E&lt;x&gt;&amp;Y: 1</title>' "$f"
ok $? "rejects by code: counted and charted"
grep -q 'id="overdue-n">1<' "$f"
ok $? "an open appeal past its due date is overdue"
if have xmllint; then
	xmllint --noout "$f"
	ok $? "the tampered report is well-formed"
fi

# an unwritable destination fails and leaves nothing behind
"$POSGW" journal report "$CORE_DB" --out "$WORK/nodir/r.html" 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'cannot create' "$WORK/err"
ok $? "an unwritable destination fails (exit 1) saying what to do"

if [ -x /usr/bin/chromium ]; then
	/usr/bin/chromium --headless --no-sandbox --disable-gpu \
		--disable-background-networking --disable-component-update \
		--disable-sync --no-first-run --user-data-dir="$WORK/chrome" \
		--screenshot="$WORK/r.png" --window-size=1200,2000 \
		"file://$OUT/core.html" >/dev/null 2>&1
	[ -s "$WORK/r.png" ] && [ "$(stat -c %s "$WORK/r.png")" -gt 20000 ]
	ok $? "chromium renders the report (screenshot not blank)"
else
	skip "chromium renders the report" "chromium absent"
fi
done_testing
