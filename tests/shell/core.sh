#!/bin/sh
# core.sh: posgw-core's EDMS exchange and the posgw edms commands: appeals
# exported durably under their attachments' original names, the ССТУ map,
# events written by posgw edms and taken by the core, rejected events with
# their reasons, deadlines, outcomes, and the core without a network.
. "$(dirname "$0")/lib.sh"

if ! have sqlite3 || ! have certtool; then
	skip "core" "sqlite3 or certtool missing (apt-get install sqlite3 gnutls-bin)"
	done_testing
fi
make_pair
S=$WORK/src
sample_payload "$S"
EXP=$EDMS/export
IMP=$EDMS/import
REJ=$IMP/rejected
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
TODAY=$(date +%Y-%m-%d)

# send_appeal POS-ID [CREATED [KIND]]: the spec's appeal under another id,
# sent by the edge and taken by the core.
# send_appeal POS-ID [CREATED [KIND [DUE]]]: an appeal with ПОС's deadline
# DUE, or none.
send_appeal() {
	sed -e "s/177073571/$1/g" -e "s/created=\"[^\"]*\"/created=\"${2:-$NOW}\"/" \
		-e "s/kind=\"message\"/kind=\"${3:-message}\"/" \
		-e "s/ due=\"[^\"]*\"/${4:+ due=\"$4\"}/" \
		"$S/payload/appeal.xml" >"$WORK/appeal-$1.xml"
	printf 'JPEG' >"$WORK/att-$1.bin"
	"$POSGW" transfer enqueue --config "$EDGE_CONF" "$WORK/appeal-$1.xml" \
		"payload/att/$1-1.bin=$WORK/att-$1.bin" >/dev/null &&
		edge_once && core_once
}

# sign FILE [KEY-ID [PEM]]: a detached CMS signature FILE.p7s by an official.
sign() {
	_fmt=--outder
	[ -n "${3:-}" ] && _fmt=
	# shellcheck disable=SC2086
	certtool --p7-detached-sign --p7-time $_fmt --load-privkey "$KEYS/${2:-official}.key" \
		--load-certificate "$KEYS/${2:-official}.crt" --infile "$1" \
		--outfile "$1.p7s" >/dev/null 2>&1
}

# event NAME POS-ID N TYPE BODY: an event file as the EDMS would drop it
# (a dot file renamed into place).
event() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<event xmlns=\"urn:posgw:exchange:1\" pos-id=\"$2\" n=\"$3\" type=\"$4\" at=\"$NOW\">"
		echo "$5"
		echo '</event>'
	} >"$IMP/.$1"
	mv "$IMP/.$1" "$IMP/$1"
}

# rejected NAME WHAT: NAME went to rejected/ with a reason "WHAT: ...".
rejected() {
	[ -f "$REJ/$1" ] && [ ! -e "$IMP/$1" ] && [ -f "$REJ/$1.reason" ] &&
		grep -q "^$2: " "$REJ/$1.reason"
}

out_events() {
	q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='out' AND kind='event'"
}

# --- export --------------------------------------------------------------
"$POSGW" transfer enqueue --config "$EDGE_CONF" "$S/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" >/dev/null
edge_once
core_once
[ -f "$EXP/177073571/appeal.xml" ] && [ "$(cat "$EXP/177073571/Фото ямы.jpg")" = JPEG ]
ok $? "an appeal is exported as <pos-id>/appeal.xml with its attachment under its original name"
[ -z "$(ls -A "$EXP" | grep '^\.')" ] && [ "$(ls "$EXP/177073571" | wc -l)" -eq 2 ]
ok $? "no temp folder or temp file is left in the export folder"
xmllint --noout --schema "$SCHEMAS/exchange.xsd" "$EXP/177073571/appeal.xml" 2>/dev/null
ok $? "the exported appeal.xml matches the schema"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE kind='appeal' AND consumed IS NOT NULL")" = 1 ] &&
	[ "$(q "$CORE_DB" "SELECT state || ' ' || due || ' ' || pos_due FROM core_appeals WHERE pos_id='177073571'")" = "new 2026-12-08 2026-12-08" ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='appeal.exported' AND appeal='177073571'")" = 1 ]
ok $? "the document is consumed, the appeal recorded (ПОС's due 2026-12-08 wins over created + 30 days) and journaled"

"$POSGW" transfer enqueue --config "$EDGE_CONF" "$S/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" >/dev/null
edge_once
core_once
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='appeal.duplicate'")" = 1 ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE kind='appeal' AND consumed IS NULL")" = 0 ] &&
	[ "$(ls "$EXP" | wc -l)" -eq 1 ]
ok $? "a pos-id exported before is journaled as a duplicate and not exported again"

# Hostile and repeated attachment names; a crash between the rename and the
# commit (the document still unconsumed) writes the same folder again.
sed -e "s/177073571/177073577/g" -e "s/created=\"[^\"]*\"/created=\"$NOW\"/" \
	-e '/<attachment/d' -e 's|</appeal>||' "$S/payload/appeal.xml" >"$WORK/appeal-177073577.xml"
n=0
for name in '../evil.jpg' '.hidden' 'Фото.jpg' 'Фото.jpg' 'APPEAL.XML' 'a:b*c?.txt'; do
	n=$((n + 1))
	printf 'file %s' "$n" >"$WORK/att-$n"
	echo "  <attachment path=\"payload/att/177073577-$n.bin\" name=\"$name\" media-type=\"image/jpeg\" size=\"6\"/>"
done >>"$WORK/appeal-177073577.xml"
echo '</appeal>' >>"$WORK/appeal-177073577.xml"
"$POSGW" transfer enqueue --config "$EDGE_CONF" "$WORK/appeal-177073577.xml" \
	$(for i in 1 2 3 4 5 6; do echo "payload/att/177073577-$i.bin=$WORK/att-$i"; done) >/dev/null
edge_once
core_once
A=$EXP/177073577
[ "$(cat "$A/_._evil.jpg")" = "file 1" ] && [ "$(cat "$A/_hidden")" = "file 2" ] &&
	[ "$(cat "$A/Фото.jpg")" = "file 3" ] && [ "$(cat "$A/Фото (2).jpg")" = "file 4" ] &&
	[ "$(cat "$A/APPEAL (2).XML")" = "file 5" ] && [ "$(cat "$A/a_b_c_.txt")" = "file 6" ] &&
	[ "$(ls -A "$A" | wc -l)" -eq 7 ] && [ -z "$(ls -A "$EXP" | grep -v '^17707357[17]$')" ]
ok $? "attachment names are sanitised (no '/', no leading '.', no reserved characters) and made unique"
# export-names-attachment-files: the exported appeal.xml kept only the
# package paths (payload/att/N-k.bin, not in the folder), so the EDMS could
# not tell "Фото.jpg" from "Фото (2).jpg". Each attachment now names its file.
files=$(xmllint --xpath '//*[local-name()="attachment"]/@file' "$A/appeal.xml" 2>/dev/null | sed 's/ file="\([^"]*\)"/\1\n/g' | sed '/^$/d')
paths=$(xmllint --xpath '//*[local-name()="attachment"]/@path' "$A/appeal.xml" 2>/dev/null | sed 's/ path="\([^"]*\)"/\1\n/g' | sed '/^$/d')
good=1
k=0
for f in $(echo "$files" | tr ' ' '\001'); do
	k=$((k + 1))
	f=$(echo "$f" | tr '\001' ' ')
	[ "$(cat "$A/$f")" = "file $k" ] || good=0
done
[ $good -eq 1 ] && [ $k -eq 6 ] && [ "$(echo "$paths" | wc -l)" -eq 6 ] &&
	echo "$files" | sed -n 3p | grep -qx 'Фото.jpg' && echo "$files" | sed -n 4p | grep -qx 'Фото (2).jpg' &&
	xmllint --noout --schema "$SCHEMAS/exchange.xsd" "$A/appeal.xml" 2>/dev/null
ok $? "regression export-names-attachment-files: each exported attachment element names its file beside appeal.xml"
q "$CORE_DB" "UPDATE documents SET consumed = NULL WHERE kind = 'appeal' AND pos_id = '177073577';
	DELETE FROM core_appeals WHERE pos_id = '177073577'"
mkdir "$EXP/.177073577.tmp" && echo torn >"$EXP/.177073577.tmp/appeal.xml"
core_once
[ "$(ls -A "$A" | wc -l)" -eq 7 ] && [ ! -e "$EXP/.177073577.tmp" ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM core_appeals WHERE pos_id='177073577'")" = 1 ] &&
	xmllint --noout --schema "$SCHEMAS/exchange.xsd" "$A/appeal.xml" 2>/dev/null
ok $? "an export redone after a crash rewrites the same folder and drops the torn temp folder"

# --- ССТУ map -------------------------------------------------------------
cat >"$WORK/map.csv" <<'CSV'
pos_code,sstu_code,name
21,0003.0009.0097.0689,"Дороги, ремонт"
2104,0003.0009.0097.0690,"Ямы ""и"" выбоины"
2105,0003.0009.0097.0691,Ямы
CSV
"$POSGW" edms map import "$WORK/map.csv" --config "$CORE_CONF" >/dev/null &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM core_topics")" = 3 ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='operator.map-import'")" = 1 ]
ok $? "edms map import loads the CSV (quoted fields, repeated names) and journals it"
send_appeal 177073572
grep -A1 '<subcategory code="2104"' "$EXP/177073572/appeal.xml" |
	grep -q '<topic sstu-code="0003.0009.0097.0690">Ямы "и" выбоины</topic>' &&
	xmllint --noout --schema "$SCHEMAS/exchange.xsd" "$EXP/177073572/appeal.xml" 2>/dev/null
ok $? "an appeal exported after the import carries the ССТУ <topic> right after its subcategory"
printf 'pos_code,sstu_code\n21,1\n22,2\n\n21,3\n' >"$WORK/dup.csv"
out=$("$POSGW" edms map import "$WORK/dup.csv" --config "$CORE_CONF" 2>&1)
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q 'line 5: pos_code 21 repeats line 2' &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM core_topics")" = 3 ]
ok $? "a pos_code given twice fails naming both lines and changes nothing"
[ $rc -eq 1 ] || diag "exit $rc: $out"

# --- events by posgw edms -------------------------------------------------
printf '%%PDF answer' >"$WORK/Ответ № 1.pdf"
printf 'second file' >"$WORK/scan.png"
sign "$WORK/Ответ № 1.pdf"
sign "$WORK/scan.png" official pem
"$POSGW" edms register 177073571 --number 01-12/345 --date "$TODAY" --config "$CORE_CONF" >/dev/null &&
	"$POSGW" edms take 177073571 --config "$CORE_CONF" >/dev/null &&
	"$POSGW" edms answer 177073571 --text "Ремонт выполнен." --file "$WORK/Ответ № 1.pdf" \
		--signature "$WORK/Ответ № 1.pdf.p7s" --file "$WORK/scan.png" \
		--signature "$WORK/scan.png.p7s" --config "$CORE_CONF" >/dev/null &&
	[ -f "$IMP/177073571-e1.xml" ] && [ -f "$IMP/177073571-e2.xml" ] && [ -f "$IMP/177073571-e3.xml" ] &&
	[ -f "$IMP/177073571-e3-1.bin" ] && [ -f "$IMP/177073571-e3-2.p7s" ]
ok $? "register, take and answer (DER and PEM signatures) write event files numbered after those waiting"
cp "$IMP/177073571-e1.xml" "$WORK/e1.xml"
core_once
[ "$(out_events)" = 3 ] && [ -z "$(ls "$IMP" | grep -v '^rejected$')" ] &&
	[ "$(q "$CORE_DB" "SELECT state || ' ' || last_n || ' ' || registered_at FROM core_appeals WHERE pos_id='177073571'")" = "answered 3 $TODAY" ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='event.accepted'")" = 3 ]
ok $? "the core accepts them in order, queues three events, updates the appeal and journals"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM files f JOIN documents d ON d.id=f.document_id WHERE d.kind='event' AND d.direction='out'")" = 4 ] &&
	q "$CORE_DB" "SELECT body FROM documents WHERE kind='event' AND n IS NULL AND pos_id='177073571' ORDER BY id DESC LIMIT 1" |
	grep -q 'path="payload/att/177073571-e3-1.bin" name="Ответ № 1.pdf"'
ok $? "answer files and signatures travel under payload paths, the original name kept"
edge_once
[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='event' AND pos_id='177073571'")" = 3 ] &&
	[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM files f JOIN documents d ON d.id=f.document_id WHERE d.kind='event'")" = 4 ]
ok $? "the edge receives the three events with their files"
cp "$WORK/e1.xml" "$IMP/177073571-e1.xml"
core_once
[ ! -e "$IMP/177073571-e1.xml" ] && [ ! -e "$REJ/177073571-e1.xml" ] && [ "$(out_events)" = 3 ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='event.duplicate'")" = 1 ]
ok $? "an accepted event file dropped again (a crash before its removal) is removed, not sent twice"
"$POSGW" edms take 177073571 --config "$CORE_CONF" >"$WORK/out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q 'transition: appeal 177073571 was answered' "$WORK/out" && [ ! -e "$IMP/177073571-e4.xml" ]
ok $? "posgw edms refuses, with the core's own reason, what the core would reject"
"$POSGW" edms register 177073571 --date "$TODAY" --config "$CORE_CONF" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "a missing option is a usage error (exit 2)"
h=0
for c in register take executor postpone forward decline answer map list overdue; do
	"$POSGW" edms $c --help | grep -q "usage: posgw edms" || h=1
done
ok $h "every posgw edms command answers --help"

# --- rejections -----------------------------------------------------------
send_appeal 177073573
"$POSGW" edms register 177073573 --number 7 --date "$TODAY" --config "$CORE_CONF" >/dev/null
core_once
"$POSGW" keys generate --id rogue --out "$KEYS" >/dev/null
printf 'abcd' >"$IMP/a.pdf"
sign "$IMP/a.pdf"
printf 'abcd' >"$IMP/b.pdf"
sign "$IMP/b.pdf"
printf 'abcd' >"$IMP/c.pdf"
sign "$IMP/c.pdf" rogue
before=$(out_events)
event unknown.xml 999999 1 registered '<registration number="1" date="2026-11-24"/>'
event gap.xml 177073572 2 registered '<registration number="1" date="2026-11-24"/>'
event missing.xml 177073573 2 answer '<answer><text>t</text><file path="none.pdf" name="x.pdf" media-type="application/pdf" size="4" signature="none.pdf.p7s"/></answer>'
event size.xml 177073573 2 answer '<answer><text>t</text><file path="a.pdf" name="a.pdf" media-type="application/pdf" size="5" signature="a.pdf.p7s"/></answer>'
event badsig.xml 177073573 2 answer '<answer><text>t</text><file path="c.pdf" name="c.pdf" media-type="application/pdf" size="4" signature="c.pdf.p7s"/></answer>'
event slash.xml 177073573 2 answer '<answer><text>t</text><file path="../b.pdf" name="b.pdf" media-type="application/pdf" size="4" signature="b.pdf.p7s"/></answer>'
printf '<?xml version="1.0"?>\n<!DOCTYPE event [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<event xmlns="urn:posgw:exchange:1" pos-id="177073573" n="2" type="decline" at="%s"><decline>&x;</decline></event>\n' "$NOW" >"$IMP/doctype.xml"
core_once
rejected unknown.xml appeal
ok $? "an event of an unknown appeal is rejected (appeal: ...)"
rejected gap.xml order && grep -q 'the next one is n=1' "$REJ/gap.xml.reason"
ok $? "an event whose n is not next is rejected (order: ...)"
rejected missing.xml file && grep -q 'none.pdf is not in the import folder' "$REJ/missing.xml.reason"
ok $? "an answer whose file is missing is rejected (file: ...)"
rejected size.xml size && [ -f "$REJ/a.pdf" ] && [ -f "$REJ/a.pdf.p7s" ]
ok $? "a size mismatch is rejected (size: ...) and its files move beside it"
rejected badsig.xml signature && grep -q 'signer_trust' "$REJ/badsig.xml.reason"
ok $? "a signature by a key not in signer_trust is rejected (signature: ...)"
rejected doctype.xml xml && grep -q 'DOCTYPE is not allowed' "$REJ/doctype.xml.reason"
ok $? "a DOCTYPE in the event file is rejected (xml: ...)"
rejected slash.xml file && grep -q "contains a '/'" "$REJ/slash.xml.reason" && [ -f "$IMP/b.pdf" ]
ok $? "a file/@path with '/' is rejected (file: ...) and touches nothing outside its name"
[ "$(out_events)" = "$before" ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='event.rejected'")" = 7 ] &&
	[ "$(q "$CORE_DB" "SELECT last_n FROM core_appeals WHERE pos_id='177073573'")" = 1 ]
ok $? "nothing rejected is queued; every rejection is journaled"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<event xmlns="urn:posgw:exchange:1" pos-id="177' >"$IMP/torn.xml"
core_once
[ -f "$IMP/torn.xml" ] && [ ! -e "$REJ/torn.xml" ]
ok $? "an event file that is not well-formed yet and was just written is left to its writer"
touch -d '1 minute ago' "$IMP/torn.xml"
core_once
rejected torn.xml xml
ok $? "... and rejected (xml: ...) once it has stopped changing"
"$POSGW" edms decline 177073572 --reason "Не по адресу" --config "$CORE_CONF" >/dev/null
core_once
event late.xml 177073572 2 answer '<answer><text>t</text></answer>'
core_once
rejected late.xml transition && grep -q 'declined' "$REJ/late.xml.reason" &&
	[ "$(q "$CORE_DB" "SELECT state FROM core_appeals WHERE pos_id='177073572'")" = declined ]
ok $? "an answer after a decline is rejected (transition: ...)"
rm -f "$IMP/b.pdf" "$IMP/b.pdf.p7s"

# --- deadlines ------------------------------------------------------------
send_appeal 177073574 2020-01-10T10:00:00Z
out=$("$POSGW" edms list --overdue --config "$CORE_CONF")
echo "$out" | grep -q '^177073574 .* 2020-02-09 ' && ! echo "$out" | grep -q '^17707357[123] ' &&
	echo "$out" | grep -q 'overdue 1,'
ok $? "edms list --overdue shows the appeal past its due date, and the counts"
out=$("$POSGW" edms list --config "$CORE_CONF")
echo "$out" | grep -q '^appeals 5: new 2, in work 1, answered 1, declined 1, forwarded 0; overdue 1' &&
	echo "$out" | grep -q '^  21 Дороги: 5 (overdue 1)'
ok $? "edms list counts new, in work, answered, overdue and by category"
send_appeal 177073576 "$NOW" appeal59
"$POSGW" edms register 177073576 --number 9 --date "$TODAY" --config "$CORE_CONF" >/dev/null
core_once
[ "$(q "$CORE_DB" "SELECT state || ' ' || due FROM core_appeals WHERE pos_id='177073576'")" = "registered $(date -d "$TODAY + 30 days" +%Y-%m-%d)" ]
ok $? "a 59-FZ appeal is due 30 days after its registration"
"$POSGW" edms postpone 177073576 --until "$(date -d "$TODAY + 61 days" +%Y-%m-%d)" --reason "Запрос" \
	--config "$CORE_CONF" >/dev/null 2>&1
r1=$?
until=$(date -d "$TODAY + 45 days" +%Y-%m-%d)
"$POSGW" edms postpone 177073576 --until "$until" --reason "Запрос" --config "$CORE_CONF" >/dev/null
core_once
"$POSGW" edms postpone 177073576 --until "$(date -d "$TODAY + 50 days" +%Y-%m-%d)" --reason "Ещё" \
	--config "$CORE_CONF" >/dev/null 2>&1
r2=$?
[ $r1 -eq 1 ] && [ $r2 -eq 1 ] &&
	[ "$(q "$CORE_DB" "SELECT state || ' ' || due FROM core_appeals WHERE pos_id='177073576'")" = "postponed $until" ]
ok $? "a 59-FZ appeal is postponed once, by at most 30 days, to the new date"
# regression due-ignored-pos-deadline: a message ПОС exported with
# due="2026-12-13" was tracked as due 2027-01-02 (created + 30 days)
send_appeal 177073591 2026-12-03T09:00:00Z message 2026-12-13
[ "$(q "$CORE_DB" "SELECT due FROM core_appeals WHERE pos_id='177073591'")" = 2026-12-13 ] &&
	grep -q 'due="2026-12-13"' "$EXP/177073591/appeal.xml"
ok $? "a message with ПОС's due 2026-12-13 is tracked as due 2026-12-13, not 2027-01-02"
send_appeal 177073592 "$NOW" appeal59 2027-01-15
"$POSGW" edms register 177073592 --number 10 --date "$TODAY" --config "$CORE_CONF" >/dev/null
core_once
[ "$(q "$CORE_DB" "SELECT due || ' ' || forward_due FROM core_appeals WHERE pos_id='177073592'")" = "2027-01-15 $(date -d "$TODAY + 7 days" +%Y-%m-%d)" ]
ok $? "a 59-FZ appeal keeps ПОС's deadline after registration; forwarding is due 7 days after it (art. 8)"
# forwarded late: registered 10 days ago, forwarded today (59-FZ art. 8)
REG10=$(date -d "$TODAY - 10 days" +%Y-%m-%d)
send_appeal 177073593 "$(date -u -d "$TODAY - 11 days" +%Y-%m-%dT10:00:00Z)" appeal59
"$POSGW" edms register 177073593 --number 11 --date "$REG10" --config "$CORE_CONF" >/dev/null
core_once
"$POSGW" edms forward 177073593 --to subordinate --lko 1000 --reason "По подведомственности" \
	--config "$CORE_CONF" >/dev/null
core_once
[ "$(q "$CORE_DB" "SELECT state || ' ' || closed_at || ' ' || forward_kind FROM core_appeals WHERE pos_id='177073593'")" = "forwarded $(date -u +%Y-%m-%d) subordinate" ]
ok $? "a forward closes the appeal on its date, with its direction recorded"
# the hand computation: as of today, overdue are the open appeals whose due
# date is before today, and those forwarded more than 7 days after their
# registration
hand=$(q "$CORE_DB" "SELECT pos_id, state, due, registered_at, closed_at, kind FROM core_appeals" |
	while IFS='|' read -r id st due reg closed kind; do
		case $st in
		new | registered | in_work | postponed)
			[ -n "$due" ] && [ "$due" \< "$TODAY" ] && echo "$id" ;;
		forwarded)
			[ "$kind" = appeal59 ] && [ -n "$reg" ] &&
				[ "$(date -d "$closed" +%s)" -gt "$(date -d "$reg + 7 days" +%s)" ] && echo "$id" ;;
		esac
	done | sort | tr '\n' ' ')
got=$("$POSGW" edms overdue --config "$CORE_CONF" | awk '/^[0-9]+ / {print $1}' | sort | tr '\n' ' ')
[ "$hand" = "177073574 177073593 " ] && [ "$got" = "$hand" ]
ok $? "posgw edms overdue agrees with a hand computation ($got)"
"$POSGW" edms overdue --config "$CORE_CONF" | grep -q '^177073593 .* late ' &&
	"$POSGW" edms list --config "$CORE_CONF" | grep -q 'overdue 2,.*forwarded late 1$'
ok $? "the late forwarding is shown as late and counted"
"$POSGW" journal report "$CORE_DB" --out "$WORK/core-report.html" >/dev/null 2>&1
[ "$(sed -n 's/.*<span id="overdue-n">\([0-9]*\)<.*/\1/p' "$WORK/core-report.html")" = 2 ] &&
	grep -q '177073593' "$WORK/core-report.html"
ok $? "the report's overdue appeals agree with posgw edms overdue"
# forwarding to another organization (59-FZ art. 8): only to one [orgs]
# lists, by the clerk's command or by an event the EDMS writes itself
printf '\n[orgs]\n2000001 = Министерство здравоохранения Калужской области\n' >>"$CORE_CONF"
send_appeal 177073594 "$NOW" appeal59
"$POSGW" edms register 177073594 --number 12 --date "$TODAY" --config "$CORE_CONF" >/dev/null
core_once
n0=$(ls "$IMP" | wc -l)
"$POSGW" edms forward 177073594 --to-org 3000001 --reason "Не наша компетенция" \
	--config "$CORE_CONF" >/dev/null 2>"$WORK/fwd.err"
r=$?
[ $r -eq 1 ] && grep -q 'organization 3000001 is not listed in \[orgs\]' "$WORK/fwd.err" &&
	[ "$(ls "$IMP" | wc -l)" = "$n0" ]
ok $? "edms forward --to-org refuses an organization [orgs] does not list, writing nothing"
"$POSGW" edms forward 177073594 --to-org 2000001 --to parent --lko-id 1 --reason x \
	--config "$CORE_CONF" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "edms forward takes --to-org or --to/--lko-id, not both (usage error)"
event fwdorg.xml 177073594 2 forward '<forward direction="organization" lko-id="3000001">Не наша компетенция</forward>'
core_once
rejected fwdorg.xml target && grep -q 'organization 3000001, which \[orgs\]' "$REJ/fwdorg.xml.reason"
ok $? "an EDMS event forwarding to an unlisted organization is rejected (target: ...)"
"$POSGW" edms forward 177073594 --to-org 2000001 --reason "Не наша компетенция" \
	--config "$CORE_CONF" >/dev/null
core_once
[ "$(q "$CORE_DB" "SELECT state || ' ' || forward_kind || ' ' || forward_to FROM core_appeals WHERE pos_id='177073594'")" = "forwarded organization 2000001" ] &&
	q "$CORE_DB" "SELECT body FROM documents WHERE direction='out' AND kind='event' AND pos_id='177073594' ORDER BY id DESC LIMIT 1" |
	grep -q '<forward direction="organization" lko-id="2000001">'
ok $? "edms forward --to-org sends the forward in order, to the organization"
# repeated appeals (59-FZ art. 11): author Пётр Петров, ESIA-verified
# petrov NUM CREATED [SED...]: an appeal of his, then one round of each gateway
petrov() {
	_id=$1 _c=$2
	shift 2
	sed -e "s/177073571/$_id/g" -e "s/created=\"[^\"]*\"/created=\"$_c\"/" -e 's/ due="[^"]*"//' \
		-e 's|<surname>Иванова</surname>|<surname>Петров</surname>|' \
		-e 's|<name>Мария</name>|<name>Пётр</name>|' -e 's|<patronymic>Петровна</patronymic>||' \
		-e 's|m.ivanova@example.org|p.petrov@example.org|' -e 's|+79001234567|+79007654321|' \
		"$@" "$S/payload/appeal.xml" >"$WORK/appeal-$_id.xml"
	printf 'JPEG' >"$WORK/att-$_id.bin"
	"$POSGW" transfer enqueue --config "$EDGE_CONF" "$WORK/appeal-$_id.xml" \
		"payload/att/$_id-1.bin=$WORK/att-$_id.bin" >/dev/null && edge_once && core_once
}
mark() {
	q "$CORE_DB" "SELECT COALESCE(repeated, '-') || ' ' || COALESCE(repeated_of, '-') FROM core_appeals WHERE pos_id='$1'"
}
petrov 177073601 "$(date -u -d "$TODAY - 40 days" +%Y-%m-%dT10:00:00Z)"
"$POSGW" edms register 177073601 --number 21 --date "$(date -d "$TODAY - 39 days" +%Y-%m-%d)" --config "$CORE_CONF" >/dev/null &&
	"$POSGW" edms answer 177073601 --text "Яма заделана." --config "$CORE_CONF" >/dev/null
core_once
# the same question again: name in other case and with Ё as Е, e-mail in capitals
petrov 177073602 "$NOW" -e 's|<surname>Петров</surname>|<surname>ПЕТРОВ</surname>|' \
	-e 's|<name>Пётр</name>|<name>петр</name>|' -e 's|p.petrov@example.org|P.Petrov@Example.ORG|'
[ "$(mark 177073602)" = "candidate 177073601" ] &&
	grep -q '<repeated of="177073601" status="candidate"/>' "$EXP/177073602/appeal.xml" &&
	xmllint --noout --schema "$SCHEMAS/exchange.xsd" "$EXP/177073602/appeal.xml" 2>/dev/null
ok $? "the same ESIA-verified author on the same question, answered before: marked a candidate in the export"
petrov 177073603 "$NOW" -e 's|<category code="21">Дороги</category>|<category code="22">ЖКХ</category>|'
petrov 177073604 "$NOW" -e 's|esia-verified="true"|esia-verified="false"|'
petrov 177073605 "$NOW" -e 's|p.petrov@example.org|other@example.org|' -e 's|<phone>[^<]*</phone>||'
petrov 177073606 "$NOW" -e 's|<subcategory code="2104">|<subcategory code="2101">|'
[ "$(mark 177073603)" = "- -" ] && [ "$(mark 177073604)" = "- -" ] &&
	[ "$(mark 177073605)" = "- -" ] && [ "$(mark 177073606)" = "- -" ]
ok $? "another category, an author not verified by ESIA, another e-mail, another subcategory: no mark"
petrov 177073607 "$NOW" -e 's|<email>[^<]*</email>||' -e 's|+79007654321|89007654321|'
[ "$(mark 177073607)" = "candidate 177073601" ]
ok $? "without an e-mail the phone identifies the author (+7 and 8 alike)"
[ -z "$(q "$CORE_DB" "SELECT 1 FROM core_appeals WHERE applicant_key LIKE '%petrov%' OR applicant_key LIKE '%Петров%'")" ] &&
	[ "$(q "$CORE_DB" "SELECT length(applicant_key) FROM core_appeals WHERE pos_id='177073602'")" = 64 ]
ok $? "the author is kept only as a keyed digest"
n0=$(ls "$IMP" | wc -l)
"$POSGW" edms repeated 177073603 --confirm --config "$CORE_CONF" >/dev/null 2>"$WORK/rep.err"
[ $? -eq 1 ] && grep -q 'not marked as a repeated appeal' "$WORK/rep.err" && [ "$(ls "$IMP" | wc -l)" = "$n0" ]
ok $? "edms repeated refuses an appeal that is not marked, writing nothing"
"$POSGW" edms repeated 177073602 --confirm --reject --config "$CORE_CONF" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "edms repeated takes --confirm or --reject, not both (usage error)"
"$POSGW" edms repeated 177073602 --confirm --comment "Ответ дан 3 недели назад" --config "$CORE_CONF" >/dev/null &&
	"$POSGW" edms repeated 177073607 --reject --config "$CORE_CONF" >/dev/null
core_once
[ "$(mark 177073602)" = "confirmed 177073601" ] && [ "$(mark 177073607)" = "rejected 177073601" ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='appeal.repeated' AND appeal='177073602'")" = 1 ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='appeal.not-repeated' AND appeal='177073607'")" = 1 ] &&
	[ -z "$(ls "$IMP" | grep -v '^rejected$')" ]
ok $? "the clerk's decisions are recorded and journaled, the files taken"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<repeated xmlns="urn:posgw:exchange:1" pos-id="177073603" decision="confirmed" at="%s"/>\n' "$NOW" >"$IMP/.r3.xml"
mv "$IMP/.r3.xml" "$IMP/r3.xml"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<repeated xmlns="urn:posgw:exchange:1" pos-id="177073602" decision="maybe" at="%s"/>\n' "$NOW" >"$IMP/.r4.xml"
mv "$IMP/.r4.xml" "$IMP/r4.xml"
core_once
rejected r3.xml transition && rejected r4.xml schema && [ "$(mark 177073602)" = "confirmed 177073601" ]
ok $? "a decision on an unmarked appeal (transition) or a bad decision (schema) is rejected"
"$POSGW" edms repeated --list --config "$CORE_CONF" >"$WORK/rep.out" &&
	grep -q '^177073602 *confirmed *177073601 ' "$WORK/rep.out" &&
	grep -q 'repeated: [0-9]* marked: [0-9]* candidate(s) to decide, 1 confirmed, 1 rejected' "$WORK/rep.out" &&
	"$POSGW" edms list --config "$CORE_CONF" | grep -q '^repeated (59-FZ art. 11): [0-9]* candidate(s) to decide, 1 confirmed, 1 rejected'
ok $? "edms repeated --list and edms list show the marks and the decisions"
# the author digests are forgotten once no later appeal can be compared
# with them: filed more than repeat_days ago (Петров's first, 40 days ago)
sed -i 's/^\[edms\]$/[edms]\nrepeat_days = 30/' "$CORE_CONF"
core_once
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM core_applicant_keys WHERE pos_id='177073601'")" = 0 ] &&
	[ -z "$(q "$CORE_DB" "SELECT applicant_key FROM core_appeals WHERE pos_id='177073601'")" ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM core_applicant_keys WHERE pos_id='177073602'")" = 2 ] &&
	q "$CORE_DB" "SELECT detail FROM journal WHERE kind='retention.authors'" | grep -q 'more than 30 days ago forgotten'
ok $? "author digests of appeals older than repeat_days are forgotten and journaled; newer ones kept"

# --- outcomes -------------------------------------------------------------
printf '<?xml version="1.0" encoding="UTF-8"?>\n<outcome xmlns="urn:posgw:exchange:1" pos-id="177073571" n="1" at="%s"><delivered status-code="MODERATION_ACCEPT"/></outcome>\n' "$NOW" >"$WORK/o1.xml"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<outcome xmlns="urn:posgw:exchange:1" pos-id="177073571" at="%s"><feedback rating="5" re-appeal="false">Спасибо</feedback></outcome>\n' "$NOW" >"$WORK/o2.xml"
"$POSGW" transfer enqueue --config "$EDGE_CONF" "$WORK/o1.xml" >/dev/null &&
	"$POSGW" transfer enqueue --config "$EDGE_CONF" "$WORK/o2.xml" >/dev/null
edge_once
core_once
cmp -s "$EXP/177073571/outcome-1.xml" "$WORK/o1.xml" 2>/dev/null ||
	grep -q 'MODERATION_ACCEPT' "$EXP/177073571/outcome-1.xml"
ok $? "an outcome is exported as <pos-id>/outcome-<n>.xml"
grep -q 'Спасибо' "$EXP/177073571/outcome-feedback-1.xml" &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='outcome.exported'")" = 2 ] &&
	[ "$(q "$CORE_DB" "SELECT outcome FROM core_events WHERE pos_id='177073571' AND n=1")" = delivered ]
ok $? "feedback becomes outcome-feedback-<k>.xml; both are journaled"

printf '<?xml version="1.0" encoding="UTF-8"?>\n<classifier xmlns="urn:posgw:exchange:1" version="2026.11" at="%s"><category code="21" name="Дороги"><subcategory code="2104" name="Ямы"/></category></classifier>\n' "$NOW" >"$WORK/cl.xml"
"$POSGW" transfer enqueue --config "$EDGE_CONF" "$WORK/cl.xml" >/dev/null
edge_once
core_once
grep -q 'version="2026.11"' "$EXP/classifier.xml" && [ -z "$(ls -A "$EXP" | grep '^\.')" ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='classifier.exported'")" = 1 ]
ok $? "a classifier is stored as <export>/classifier.xml and journaled"

# answer-file-name-leaves-zone: a validly signed answer whose file/@name is
# a path (or has control characters) was queued with that name, and the
# edge sent it to ПОС verbatim. The name now leaves the contour sanitised
# as names entering the EDMS are, and distinct within the answer.
send_appeal 177073578
"$POSGW" edms register 177073578 --number 11 --date "$TODAY" --config "$CORE_CONF" >/dev/null
core_once
printf 'pwnd' >"$IMP/p1.pdf"
sign "$IMP/p1.pdf"
printf 'pwn2' >"$IMP/p2.pdf"
sign "$IMP/p2.pdf"
cat >"$IMP/.pwned.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<event xmlns="urn:posgw:exchange:1" pos-id="177073578" n="2" type="answer" at="$NOW">
<answer><text>t</text>
<file path="p1.pdf" name="../../../../tmp/x/PWNED.pdf" media-type="application/pdf" size="4" signature="p1.pdf.p7s"/>
<file path="p2.pdf" name="..\\tmp\\x\\PWNED.pdf" media-type="application/pdf" size="4" signature="p2.pdf.p7s"/>
</answer></event>
EOF
mv "$IMP/.pwned.xml" "$IMP/pwned.xml"
core_once
body=$(q "$CORE_DB" "SELECT body FROM documents WHERE kind='event' AND direction='out' AND pos_id='177073578' AND instr(body, 'type=\"answer\"') > 0")
[ ! -e "$IMP/pwned.xml" ] && [ ! -e "$REJ/pwned.xml" ] &&
	echo "$body" | grep -q 'name="_._.._.._.._tmp_x_PWNED.pdf"' &&
	echo "$body" | grep -q 'name="_._tmp_x_PWNED.pdf"' &&
	! echo "$body" | grep -q 'name="[^"]*[/\\]' &&
	grep -q 'answer file name "../../../../tmp/x/PWNED.pdf" is sent as "_._.._.._.._tmp_x_PWNED.pdf"' "$WORK/core.log"
ok $? "regression answer-file-name-leaves-zone: the core queues an answer file's name sanitised, and logs it"

# edms-trust-context-lost: an unreadable [edms] signer_trust file was named
# without saying which setting it came from (the context was dropped
# because the first error recorded kept its place).
sed "s|^signer_trust = .*|signer_trust = $WORK/nope.crt|" "$CORE_CONF" >"$WORK/bad-trust.conf"
"$POSGW_CORE" --config "$WORK/bad-trust.conf" --check-config >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q "\\[edms\\] signer_trust (the officials' certificates or their CA): cannot read $WORK/nope.crt" "$WORK/err"
ok $? "regression edms-trust-context-lost: a bad signer_trust file is named with its setting"

# export-equals-import: [edms] import naming the export folder (here through
# a symbolic link) was accepted; the core would have read its own appeals
# as the EDMS's events.
exp=$(sed -n 's/^export = //p' "$CORE_CONF")
ln -s "$exp" "$WORK/export-link"
sed "s|^import = .*|import = $WORK/export-link|" "$CORE_CONF" >"$WORK/same.conf"
"$POSGW_CORE" --config "$WORK/same.conf" --check-config >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q "\[edms\] export ($exp) and \[edms\] import ($WORK/export-link) are the same folder; give each a folder of its own" "$WORK/err"
ok $? "regression export-equals-import: the core refuses an EDMS import folder that is its export folder"

# --- no network -----------------------------------------------------------
# No network function is linked (the --seccomp-check probe makes a raw
# socket system call on purpose: tests/shell/sandbox.sh).
if have nm; then
	! nm -D "$POSGW_CORE" | grep -qwE 'U (socket|connect|bind|listen|accept|getaddrinfo)'
	ok $? "posgw-core uses no socket calls"
else
	skip "posgw-core uses no socket calls" "nm missing"
fi
UNSHARE=
if unshare -n true 2>/dev/null; then
	UNSHARE="unshare -n"
elif unshare -rn true 2>/dev/null; then
	UNSHARE="unshare -rn"
fi
if [ -n "$UNSHARE" ]; then
	sed -e "s/177073571/177073575/g" -e "s/created=\"[^\"]*\"/created=\"$NOW\"/" \
		"$S/payload/appeal.xml" >"$WORK/appeal-177073575.xml"
	"$POSGW" transfer enqueue --config "$EDGE_CONF" "$WORK/appeal-177073575.xml" \
		"payload/att/177073575-1.bin=$S/payload/att/177073571-1.bin" >/dev/null
	edge_once
	$UNSHARE "$POSGW_CORE" --config "$CORE_CONF" --once 2>>"$WORK/core.log" &&
		"$POSGW" edms register 177073575 --number 5 --date "$TODAY" --config "$CORE_CONF" >/dev/null &&
		$UNSHARE "$POSGW_CORE" --config "$CORE_CONF" --once 2>>"$WORK/core.log" &&
		edge_once
	[ -f "$EXP/177073575/appeal.xml" ] &&
		[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='event' AND pos_id='177073575'")" = 1 ]
	ok $? "posgw-core without a network ($UNSHARE) exports and sends events"
else
	skip "posgw-core without a network" "unshare -n is not permitted here"
fi
done_testing
