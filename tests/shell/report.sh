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
# regression report-in-flight-race: stopped the moment the sim saw every
# history, the receipts for the last packages were still on their way and
# counted (rightly) as in flight; let the exchange settle first
diag "unseen before settling: edge $(e2e_unseen "$EDGE_DB" "$CORE_DB") core $(e2e_unseen "$CORE_DB" "$EDGE_DB")"
wait_for 120 e2e_settled
ok $? "the exchange settled: each side has received every package of the other"
e2e_stop

OUT=$WORK/out
mkdir -p "$OUT"
"$POSGW" journal report "$EDGE_DB" --peer "$CORE_DB" --trust "$KEYS/edge-01.crt" --out "$OUT/edge.html"
ok $? "report for the edge with --peer and --trust"
"$POSGW" journal report "$CORE_DB" --peer "$EDGE_DB" --trust "$KEYS/core-01.crt" --out "$OUT/core.html"
ok $? "report for the core with --peer and --trust"
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
	for h in 'Сводка за период' 'Проверка цепочки журнала и контрольных точек' 'Пакеты по дням' \
		'Отклонённые пакеты по кодам' 'Задержка доставки' \
		'Пропуски и пакеты в пути' 'Обращения по статусам' \
		'Просроченные обращения' 'Сверка с базой партнёра'; do
		grep -q "<h2 id=\"[a-z]*\">$h</h2>" "$f" || {
			ok=1
			diag "$side: no heading $h"
		}
	done
	ok $ok "$side: every section has its Russian heading"
	n_out=$(q "$db" "SELECT COUNT(*) FROM packages WHERE direction='out' AND state != 'building'")
	n_in=$(q "$db" "SELECT COUNT(*) FROM packages WHERE direction='in'")
	n_j=$(q "$db" "SELECT COUNT(*) FROM journal")
	grep -q "id=\"pkg-out\">$n_out<" "$f" && grep -q "id=\"pkg-in\">$n_in<" "$f" &&
		grep -q "id=\"journal-entries\">$n_j<" "$f" && [ "$n_out" -gt 0 ]
	ok $? "$side: package and journal counts equal the database's ($n_out out, $n_in in)"
	! grep -Eiq 'https?://|src=|<script|<link|@import|url\(' "$f" &&
		! grep -o 'href="[^"]*"' "$f" | grep -qv 'href="#[a-z-]*"'
	ok $? "$side: no external references (links only inside the page), no scripts"
	# the verdict is the first box, before any section
	first=$(grep -n -m1 -E '<div class="verdict|<h2 id=' "$f" | cut -d: -f2-)
	case $first in *'id="verdict"'*) r=0 ;; *) r=1 ;; esac
	[ $r -eq 0 ] && grep -q '<div class="verdict ok" id="verdict">' "$f" &&
		sed -n '/id="verdict"/,/<\/div>/p' "$f" | grep -q '<h2>ПРОВЕРКА ПРОЙДЕНА</h2>' &&
		! sed -n '/id="verdict"/,/<\/div>/p' "$f" | grep -q 'class="problem"' &&
		grep -q 'id="peer-cp">Копии совпадают с журналом (проверено копий: [1-9]' "$f"
	ok $? "$side: with --trust and --peer the first box is green: ПРОВЕРКА ПРОЙДЕНА, no problem listed"
	n_flight=$(q "$db" "SELECT COUNT(*) FROM packages WHERE direction='out' AND state='sent' AND control=0 AND receipted IS NULL")
	grep -q 'id="in-flight">0<' "$f" && grep -q 'id="rec-flight">0<' "$f"
	ok $? "$side: in flight: 0 with --peer, as the reconciliation says (the receipt-only packages the peer accepted do not count)"
	"$POSGW" journal report "$db" --out "$OUT/$side-alone.html" &&
		grep -q "id=\"in-flight\">$n_flight<" "$OUT/$side-alone.html"
	ok $? "$side: in flight without --peer: the $n_flight package(s) without a receipt, receipt-only packages not counted"
	grep -q '<div class="verdict warn" id="verdict">' "$OUT/$side-alone.html" &&
		grep -q '<h2>ПРОВЕРКА НЕ ЗАВЕРШЕНА</h2>' "$OUT/$side-alone.html" &&
		grep -q 'Контрольные точки не проверены независимо' "$OUT/$side-alone.html" &&
		! grep -q 'ПРОВЕРКА ПРОЙДЕНА' "$OUT/$side-alone.html"
	ok $? "$side: without --trust the verdict is not green: the checkpoints are not independently verified"
	bad=$(grep -o 'class="tick"[^>]*>[^<]*<' "$f" | sed 's/.*>\([^<]*\)</\1/' | grep -cv '^[0-9][0-9]*$')
	[ "$bad" -eq 0 ] && grep -q 'class="tick"' "$f"
	ok $? "$side: every chart's axis counts whole numbers"
	grep -q 'id="latency-pct">.*p50.*p95.*p99' "$f"
	ok $? "$side: latency percentiles are given"
	n_rec=$(sed -n 's/.*id="rec-received">\([0-9]*\)<.*/\1/p' "$f")
	[ "$n_rec" -gt 0 ] && grep -q 'id="rec-lost">0<' "$f"
	ok $? "$side: reconciliation counts ($n_rec received, none lost)"
done
n=$(q "$CORE_DB" "SELECT COUNT(*) FROM core_appeals WHERE state='answered'")
grep -q "<td><span title=\"answered\">дан ответ</span> <code class=\"raw\">answered</code></td><td class=\"n\">$n</td>" "$OUT/core.html"
ok $? "core: appeals by status from core_appeals ($n answered), in words with the raw state"
grep -q '<span title="answered">дан ответ</span>' "$OUT/edge.html"
ok $? "edge: appeals by status from the exchanged documents"

# the wrong certificate given as --trust: the checkpoints do not verify
"$POSGW" journal report "$CORE_DB" --trust "$KEYS/edge-01.crt" --out "$OUT/wrongtrust.html"
f=$OUT/wrongtrust.html
grep -q '<div class="verdict bad" id="verdict">' "$f" && grep -q '<h2>ПРОВЕРКА НЕ ПРОЙДЕНА</h2>' "$f" &&
	grep -q 'class="problem"><a href="#verify">Журнал: подпись контрольной точки [0-9]* (запись [0-9]*) не проверяется по указанному сертификату' "$f"
ok $? "a wrong --trust: red, the checkpoint's signature does not verify against it"

# a gap: one package of the peer never arrived (removed from a copy)
sqlite3 "$CORE_DB" ".backup '$WORK/gap.db'"
sqlite3 "$WORK/gap.db" "PRAGMA foreign_keys = OFF; DELETE FROM packages WHERE direction = 'in' AND seq = 2"
"$POSGW" journal report "$WORK/gap.db" --trust "$KEYS/core-01.crt" --out "$OUT/gap.html"
f=$OUT/gap.html
grep -q '<div class="verdict bad" id="verdict">' "$f" &&
	grep -q 'class="problem"><a href="#gaps">Пропущено пакетов партнёра: 1 ' "$f" &&
	grep -q 'Цепочка хешей журнала цела' "$f" && grep -q 'id="gaps-n">1<' "$f" &&
	grep -q '<tr><td>2–2</td><td class="n">1</td></tr>' "$f"
ok $? "a journal with a gap: red, the first box names the missing package and links to the gaps"

# a rejected package and an old one without a receipt, the chain intact
sqlite3 "$CORE_DB" ".backup '$WORK/rej.db'"
sqlite3 "$WORK/rej.db" "INSERT INTO packages (direction, name, sender, recipient, seq, uuid, created,
 state, code, reason) VALUES ('in', 'edge-01.x.pkg', 'edge-01', 'core-01',
 999, 'x', strftime('%s','now'), 'rejected', 'signature', 'bad signature');
INSERT INTO packages (direction, name, sender, recipient, seq, uuid, created, state, control)
 VALUES ('out', 'core-01.old.pkg', 'core-01', 'edge-01', 9999, 'y',
 strftime('%s','now') - 45 * 86400 - 7200, 'sent', 0)"
"$POSGW" journal report "$WORK/rej.db" --trust "$KEYS/core-01.crt" --out "$OUT/rej.html"
f=$OUT/rej.html
grep -q '<div class="verdict bad" id="verdict">' "$f" &&
	grep -q 'class="problem"><a href="#rejects">Отклонено пакетов партнёра этим шлюзом: 1.' "$f" &&
	grep -q 'class="problem"><a href="#gaps">Без квитанции более суток: 1 ' "$f" &&
	grep -q '<span title="signature">подпись не верна</span> <code class="raw">signature</code>' "$f"
ok $? "a rejected package: red, the reject in words with its code; an old package without a receipt named too"
grep -q '<td class="n">45 сут 2 ч</td>' "$f" && ! grep -Eq '[0-9]{3,} (мин|с)<' "$f"
ok $? "ages are in days and hours (45 сут 2 ч), not in minutes"

# the period: only the packages and appeals of those days count
sqlite3 "$CORE_DB" ".backup '$WORK/period.db'"
sqlite3 "$WORK/period.db" "DROP TRIGGER IF EXISTS packages_no_delete;
UPDATE packages SET created = CAST(strftime('%s', '2026-01-15 10:00:00') AS INTEGER)
 WHERE direction = 'out' AND seq <= 3"
n_old=$(q "$WORK/period.db" "SELECT COUNT(*) FROM packages WHERE direction='out' AND seq <= 3")
"$POSGW" journal report "$WORK/period.db" --from 2026-01-15 --to 2026-01-15 --out "$OUT/p1.html" &&
	grep -q "id=\"pkg-out\">$n_old<" "$OUT/p1.html" && grep -q 'id="pkg-in">0<' "$OUT/p1.html" &&
	grep -q '<b id="period">с 2026-01-15 по 2026-01-15 включительно (UTC)</b>' "$OUT/p1.html" &&
	grep -q '<td>2026-01-15</td>' "$OUT/p1.html"
ok $? "--from/--to: the header states the period and only its $n_old package(s) count"
"$POSGW" journal report "$WORK/period.db" --from 2000-01-01 --to 2000-12-31 --out "$OUT/p2.html" &&
	grep -q 'id="pkg-out">0<' "$OUT/p2.html" && grep -q 'Пакетов за период нет' "$OUT/p2.html" &&
	grep -q 'Обращений за период нет' "$OUT/p2.html"
ok $? "a period without traffic counts nothing"
grep -q '<b id="period">вся история журнала</b>' "$OUT/core.html"
ok $? "without --from/--to the header says the whole history"
for bad in "--from 2026-02-30" "--from 03.12.2026" "--to 2026-13-01" "--from 2026-12-03 --to 2026-12-01"; do
	# shellcheck disable=SC2086
	"$POSGW" journal report "$CORE_DB" $bad --out "$OUT/bad.html" 2>"$WORK/err"
	[ $? -eq 2 ] && [ ! -e "$OUT/bad.html" ] && grep -q -- '--from\|--to' "$WORK/err" || {
		diag "$bad accepted"
		false
	}
	ok $? "a bad period ($bad) is a usage error (exit 2) naming the option"
done

# a busy day: the axis steps in whole numbers and reaches the top bar
sqlite3 "$CORE_DB" ".backup '$WORK/busy.db'"
sqlite3 "$WORK/busy.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 219)
INSERT INTO packages (direction, name, sender, recipient, seq, uuid, created, state)
 SELECT 'in', 'b' || i, 'x-99', 'core-01', i, 'u' || i, CAST(strftime('%s', '2026-11-01 12:00:00') AS INTEGER), 'accepted' FROM n"
"$POSGW" journal report "$WORK/busy.db" --out "$OUT/busy.html"
ticks=$(sed -n '/<title>Пакеты по дням<\/title>/,/<\/svg>/p' "$OUT/busy.html" | grep -o 'class="tick"[^>]*>[^<]*<' | sed 's/.*>\([^<]*\)</\1/' | tr '\n' ' ')
[ "$ticks" = "0 50 100 150 200 250 " ]
ok $? "a day of 219 packages: axis 0 50 100 150 200 250 ($ticks)"

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
grep -q '<div class="verdict bad" id="verdict">' "$f" &&
	grep -q 'class="problem"><a href="#verify">Журнал: цепочка журнала нарушена: запись 5 изменена' "$f" &&
	grep -q 'id="verify-result" class="bad">.*<code>entry 5: content does not match its hash' "$f"
ok $? "the tampered journal: red, the altered entry named in Russian, the program's message beside it"
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$f" && grep -q 'E&lt;x&gt;&amp;Y' "$f" &&
	! grep -q '<script' "$f" && ! grep -q '<b>evil' "$f"
ok $? "strings from the database are escaped"
grep -q 'id="pkg-rejected">1<' "$f" && grep -q '<title>прочее (E&lt;x&gt;&amp;Y), отклонено этим шлюзом: 1</title>' "$f"
ok $? "rejects by code: counted and charted"
grep -q 'id="overdue-n">1<' "$f"
ok $? "an open appeal past its due date is overdue"
if have xmllint; then
	xmllint --noout "$f"
	ok $? "the tampered report is well-formed"
fi

# an unwritable destination fails and leaves nothing behind
"$POSGW" journal report "$CORE_DB" --out "$WORK/nodir/r.html" 2>"$WORK/err"
[ $? -eq 1 ] && grep -q "cannot write $WORK/nodir/r.html" "$WORK/err"
ok $? "an unwritable destination fails (exit 1) saying what to do"

# A real browser: headless chromium reads the report, shows the verdict,
# and loads nothing from outside (its network log lists every request the
# page makes; chromium's own background requests are not the page's).
# chromium_page (lib.sh) dumps the DOM, the page's requests and a
# screenshot.
if [ -x /usr/bin/chromium ]; then
	printf '<!DOCTYPE html><html><body><p>x</p><img src="http://192.0.2.1/x.png"/></body></html>' >"$WORK/ext.html"
	chromium_page "$WORK/ext.html" ext && grep -q '192.0.2.1' "$WORK/ext.req"
	ok $? "chromium: the network log catches a page that loads from outside (the check can fail)"
	chromium_page "$OUT/core.html" core
	ok $? "chromium renders the demo pair's report"
	[ ! -s "$WORK/core.req" ]
	ok $? "chromium: the report loads nothing from outside ($(wc -l <"$WORK/core.req") request(s))"
	grep -q '<div class="verdict ok" id="verdict">' "$WORK/core.dom" &&
		grep -q '<h2>ПРОВЕРКА ПРОЙДЕНА</h2>' "$WORK/core.dom"
	ok $? "chromium: the rendered report opens with the green verdict"
	[ -s "$WORK/core.png" ] && [ "$(stat -c %s "$WORK/core.png")" -gt 20000 ]
	ok $? "chromium: screenshot not blank"
	chromium_page "$OUT/gap.html" gap &&
		grep -q '<div class="verdict bad" id="verdict">' "$WORK/gap.dom" &&
		grep -q 'ПРОВЕРКА НЕ ПРОЙДЕНА' "$WORK/gap.dom" && [ ! -s "$WORK/gap.req" ]
	ok $? "chromium: the report of a journal with a gap opens with the red verdict"
else
	skip "chromium renders the report" "chromium absent (ops/scripts/deps installs it)"
fi
done_testing
