#!/bin/sh
# heatmap.sh: posgw journal report on the core's database draws three heat
# maps of appeals by ПОС category and territory (ОКТМО): new in the period,
# overdue as of its end, confirmed repeated ones; each cell carries its count
# (text and data-count) and a white-to-red colour, a plain list repeats the
# numbers, and a real browser (headless chromium) shows them.
. "$(dirname "$0")/lib.sh"

if ! have sqlite3 || ! have certtool; then
	skip "heat map" "sqlite3 or certtool missing (apt-get install sqlite3 gnutls-bin)"
	done_testing
fi
make_pair
S=$WORK/src
sample_payload "$S"
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# One real appeal through the edge and the core (created now, category 21,
# ОКТМО 29701000), so that posgw-core makes its tables.
sed -e "s/created=\"[^\"]*\"/created=\"$NOW\"/" "$S/payload/appeal.xml" >"$WORK/appeal.xml"
"$POSGW" transfer enqueue --config "$EDGE_CONF" "$WORK/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" >/dev/null &&
	edge_once && core_once &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM core_appeals")" = 1 ]
ok $? "posgw-core made its tables with one real appeal"

# A fixed data set for March 2026, inserted into the core's table (the
# programs date appeals and their closures today, and repeated-appeal
# detection is not the report's to test).
# ins ID CATEGORY OKTMO CREATED-DAY STATE DUE [REPEATED [CLOSED FORWARD-DUE]]
ins() {
	printf "INSERT INTO core_appeals (pos_id, kind, created, state, exported_at, category, category_name,
 oktmo, due, repeated, closed_at, forward_due) VALUES ('%s', 'message', '%sT10:00:00Z', '%s', 0, '%s', '%s',
 %s, '%s', %s, %s, %s);\n" "$1" "$4" "$5" "$2" "$([ "$2" = 21 ] && echo Дороги || echo 'ЖКХ <и> двор')" \
		"$([ "$3" = - ] && echo NULL || echo "'$3'")" "$6" "$(if [ -n "${7:-}" ]; then echo "'$7'"; else echo NULL; fi)" \
		"$(if [ -n "${8:-}" ]; then echo "'$8'"; else echo NULL; fi)" "$(if [ -n "${9:-}" ]; then echo "'$9'"; else echo NULL; fi)"
}
{
	# category 21
	ins 900000001 21 29701000 2026-03-02 in_work 2026-03-20         # new, overdue
	ins 900000002 21 29701000 2026-03-03 answered 2026-03-10 '' 2026-03-09 # new
	ins 900000003 21 29701000 2026-03-04 new 2026-04-30 confirmed   # new, repeated
	ins 900000004 21 29615000 2026-03-05 registered 2026-03-25 confirmed # new, overdue, repeated
	ins 900000012 21 29000000 2026-02-10 in_work 2026-03-01         # overdue (created before)
	ins 900000013 21 29701000 2026-04-02 new 2026-05-01             # after the period
	# category 22
	ins 900000005 22 29615000 2026-03-06 new 2026-04-15 confirmed   # new, repeated
	ins 900000006 22 29615000 2026-03-07 new 2026-04-15 candidate   # new (a candidate is not repeated)
	ins 900000007 22 29000000 2026-03-08 postponed 2026-03-30       # new, overdue
	ins 900000008 22 29000000 2026-03-09 postponed 2026-03-30       # new, overdue
	ins 900000009 22 29000000 2026-03-10 forwarded 2026-04-09 '' 2026-03-20 2026-03-12 # new, overdue (forwarded late)
	ins 900000010 22 29000000 2026-03-11 declined 2026-04-10 '' 2026-03-12 # new
	ins 900000011 22 - 2026-03-12 new 2026-05-01                    # new, no ОКТМО
	ins 900000014 22 29701000 2026-02-15 new 2026-04-15 confirmed   # repeated before the period
} >"$WORK/rows.sql"
sqlite3 "$CORE_DB" <"$WORK/rows.sql"
ok $? "the fixed March 2026 data set is in the core's table"

F=$WORK/march.html
"$POSGW" journal report "$CORE_DB" --from 2026-03-01 --to 2026-03-31 --out "$F"
ok $? "journal report --from 2026-03-01 --to 2026-03-31 on the core's database"

# map ID: the lines of heat map ID; cell ID CATEGORY OKTMO: its count and
# colour as "N #rrggbb" (the text in the cell must equal data-count).
map() {
	sed -n "/<table class=\"heat\" id=\"$1\"/,/<\/table>/p" "$2"
}
cell() {
	map "$1" "${4:-$F}" | grep -o "<td class=\"n\" data-category=\"$2\" data-oktmo=\"$3\" data-count=\"[0-9]*\" style=\"background:#[0-9a-f]*\">[0-9]*</td>" |
		sed 's/.*data-count="\([0-9]*\)" style="background:\(#[0-9a-f]*\)">\([0-9]*\)<.*/\1 \2 \3/' |
		awk '$1 == $3 { print $1, $2 }'
}
# expect ID "CAT OKTMO N" ...: every listed cell of map ID (in $EF, default
# $F) has its count.
expect() {
	_id=$1
	shift
	_bad=""
	for _c in "$@"; do
		# shellcheck disable=SC2086
		set -- $_c
		_got=$(cell "$_id" "$1" "$2" "${EF:-$F}" | cut -d' ' -f1)
		[ "$_got" = "$3" ] || _bad="$_bad $1x$2=$_got(want $3)"
	done
	[ -z "$_bad" ] || diag "$_id:$_bad"
	[ -z "$_bad" ]
}

grep -q '<h2 id="heatmap">Рубрики и территории</h2>' "$F" &&
	[ "$(map heat-new "$F" | grep -o '<th>' | wc -l)" -eq 7 ] &&
	map heat-new "$F" | grep -q '<tr><th>Рубрика ПОС / ОКТМО</th><th>-</th><th>29000000</th><th>29615000</th><th>29701000</th></tr>' &&
	map heat-new "$F" | grep -q '<tr><th>21 Дороги</th>' && map heat-new "$F" | grep -q '<tr><th>22 ЖКХ &lt;и&gt; двор</th>'
ok $? "new: rows are the categories (code and name, escaped), columns the ОКТМО codes in order ('-': none)"
expect heat-new "21 29701000 3" "21 29615000 1" "21 29000000 0" "21 - 0" \
	"22 29701000 0" "22 29615000 2" "22 29000000 4" "22 - 1" &&
	grep -q 'id="heat-new-n">11<' "$F"
ok $? "new: each cell has its count (11 in March, the real appeal and April's not counted)"
[ "$(cell heat-new 22 29000000 | cut -d' ' -f2)" = "#ff3737" ] &&
	[ "$(cell heat-new 21 - | cut -d' ' -f2)" = "#ffffff" ] &&
	[ "$(cell heat-new 21 29615000 | cut -d' ' -f2)" = "#ffcdcd" ] &&
	[ "$(cell heat-new 21 29701000 | cut -d' ' -f2)" = "#ff6969" ] &&
	map heat-new "$F" | grep -q 'data-max="4"'
ok $? "new: colour white (0) to red (the maximum 4), in between by count"
expect heat-overdue "21 29701000 1" "21 29615000 1" "21 29000000 1" "22 29000000 3" &&
	expect heat-overdue "22 29615000 0" "22 29701000 0" &&
	grep -q 'id="heat-overdue-n">6<' "$F" && ! map heat-overdue "$F" | grep -q 'data-oktmo="-"'
ok $? "overdue as of --to 2026-03-31: 6 (open past due, one forwarded late), by cell"
expect heat-repeated "21 29701000 1" "21 29615000 1" "22 29615000 1" "22 29701000 0" &&
	grep -q 'id="heat-repeated-n">3<' "$F"
ok $? "repeated: the confirmed ones of the period only (3; a candidate and an earlier one not)"
sed -n '/<table id="heat-new-list">/,/<\/table>/p' "$F" | grep -q '<tr><td>22</td><td>ЖКХ &lt;и&gt; двор</td><td>29000000</td><td class="n">4</td></tr>' &&
	[ "$(sed -n '/<table id="heat-new-list">/,/<\/table>/p' "$F" | grep -c '<tr><td>')" -eq 5 ] &&
	grep -q '<table id="heat-overdue-list">' "$F" && grep -q '<table id="heat-repeated-list">' "$F"
ok $? "each map has a plain list of the same numbers below it"
if have xmllint; then
	xmllint --noout "$F"
	ok $? "the report with heat maps is well-formed"
else
	skip "the report with heat maps is well-formed" "xmllint missing"
fi
! grep -Eiq 'https?://|src=|<script|<link|@import|url\(' "$F"
ok $? "the heat maps need no script and load nothing"

# overdue as of another day: --to moves it
# (the forwarded-late appeal stays overdue: its state is the current one)
"$POSGW" journal report "$CORE_DB" --from 2026-03-01 --to 2026-03-08 --out "$WORK/mid.html" &&
	EF=$WORK/mid.html expect heat-overdue "21 29000000 1" "22 29000000 1" &&
	grep -q 'id="heat-overdue-n">2<' "$WORK/mid.html" && grep -q 'id="heat-new-n">7<' "$WORK/mid.html"
ok $? "--to 2026-03-08: overdue as of that day (2), new of those days (7)"
# all time: today's overdue, the real appeal counted as new
"$POSGW" journal report "$CORE_DB" --out "$WORK/all.html" &&
	grep -q 'id="heat-new-n">15<' "$WORK/all.html" && grep -q 'id="heat-repeated-n">4<' "$WORK/all.html" &&
	EF=$WORK/all.html expect heat-new "21 29701000 5"
ok $? "without a period: all appeals (15, the real one in 21 × 29701000), all confirmed repeated (4)"
"$POSGW" journal report "$CORE_DB" --from 2000-01-01 --to 2000-01-31 --out "$WORK/none.html" &&
	grep -q '<p id="heat-new">Таких обращений нет.</p>' "$WORK/none.html" &&
	grep -q 'id="heat-repeated-n">0<' "$WORK/none.html"
ok $? "a period without appeals: each map says there are none"
"$POSGW" journal report "$EDGE_DB" --out "$WORK/edge.html" &&
	grep -q '<h2 id="heatmap">Рубрики и территории</h2>' "$WORK/edge.html" &&
	grep -q 'в этой базе их нет. Сформируйте отчёт по базе ядра' "$WORK/edge.html" &&
	! grep -q 'class="heat"' "$WORK/edge.html"
ok $? "on the edge's database the section says to use the core's"
"$POSGW" journal report --help | grep -q 'heat maps'
ok $? "journal report --help describes the heat maps"

if [ -x /usr/bin/chromium ]; then
	chromium_page "$F" heat
	ok $? "chromium renders the report with heat maps"
	[ ! -s "$WORK/heat.req" ]
	ok $? "chromium: the page loads nothing from outside"
	D=$WORK/heat.dom
	EF=$D expect heat-new "21 29701000 3" "21 29615000 1" "22 29000000 4" "22 - 1" "21 - 0" &&
		EF=$D expect heat-overdue "22 29000000 3" "21 29000000 1" &&
		EF=$D expect heat-repeated "22 29615000 1" &&
		grep -q 'id="heat-new-n">11<' "$D"
	ok $? "chromium: the rendered heat maps show the counts (22 × 29000000: 4 new, 3 overdue)"
	[ -s "$WORK/heat.png" ] && [ "$(stat -c %s "$WORK/heat.png")" -gt 20000 ]
	ok $? "chromium: screenshot not blank"
else
	skip "chromium renders the heat maps" "chromium absent (ops/scripts/deps installs it)"
fi
done_testing
