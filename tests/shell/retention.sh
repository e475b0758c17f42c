#!/bin/sh
# retention.sh: [retention] (issue 14 item 5). A real round trip (the e2e
# chain: posgw-sim, both gateways, the EDMS clerk) closes appeals on both
# sides; one more appeal (Иванова, as in edge.sh) stays open. With a period
# of one second the closed appeals' personal data leaves each state
# directory (database, -wal, -shm, files/, sent/, quarantine/): grep finds
# none of their applicants' names, e-mails or phones, while the open appeal
# keeps its data, sizes and digests stay, and journal verify and reconcile
# still pass. Rejected files go after the quarantine period, younger ones
# stay. A core killed (-9) at random moments while purging finishes on its
# next run, each appeal journaled once.
. "$(dirname "$0")/lib.sh"
: "${POSGW_SIM:=$TOP_SRCDIR/posgw-sim}"
E2E_SELF=$TOP_SRCDIR/tests/e2e/shared.sh
. "$TOP_SRCDIR/tests/e2e/e2e.sh"

for t in certtool sqlite3 rhash; do
	if ! have $t; then
		skip "retention" "$t missing"
		done_testing
	fi
done

# configuration: a bad period is refused, naming the line
make_pair "" ""
printf '[retention]\npersonal_data = 30x\n' >>"$EDGE_CONF"
"$POSGW_EDGE" --config "$EDGE_CONF" --check-config 2>"$WORK/err" >/dev/null
[ $? -ne 0 ] && grep -q 'line [0-9]*: \[retention\] personal_data = 30x: expected a period' "$WORK/err"
ok $? "a malformed period is refused with its line and what is expected"
rm -rf "$WORK/keys" "$WORK/e2c" "$WORK/c2e" "$WORK/smev" "$WORK/edms" "$WORK"/*.conf

e2e_setup shared
trap 'e2e_stop; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
e2e_run 30 180
ok $? "the e2e chain ran 30 appeals"
e2e_stop
# let each side finish what the simulator answered last
for i in 1 2 3; do edge_once; core_once; done

# one more appeal that nobody answers (the clerk is gone): open on both sides
IN=$SMEV/in
H=$(new_uuid) C=$(new_uuid)
mkdir -p "$SMEV/attachments-in/$H/$C" "$WORK/msg"
printf 'JPEG' >"$SMEV/attachments-in/$H/$C/photo.jpg"
cat >"$WORK/msg/open.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<T:QueryResult xmlns:T="urn://x-artefacts-smev-gov-ru/services/service-adapter/types" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:P="urn:posgw:pos:1">
  <T:smevMetadata>
    <T:MessageId>m-$C</T:MessageId>
    <T:Sender>POS</T:Sender>
    <T:Recipient>POSGW_TEST</T:Recipient>
    <T:SendingDate>2026-11-24T08:15:00Z</T:SendingDate>
  </T:smevMetadata>
  <T:Message xsi:type="T:RequestMessageType">
    <T:RequestMetadata><T:clientId>$C</T:clientId></T:RequestMetadata>
    <T:RequestContent><T:content>
      <T:MessagePrimaryContent>
        <P:Appeal id="177073571" kind="MESSAGE" createdAt="2026-11-24T08:15:00Z" deadline="2026-12-08">
          <P:Organization lkoId="268828" oktmo="29701000">Министерство дорожного хозяйства Калужской области</P:Organization>
          <P:Category code="21">Дороги</P:Category>
          <P:Subcategory code="2104">Ямы и выбоины на дороге</P:Subcategory>
          <P:Applicant esiaVerified="true">
            <P:Surname>Иванова</P:Surname><P:Name>Мария</P:Name>
            <P:Patronymic>Петровна</P:Patronymic>
            <P:Email>m.ivanova@example.org</P:Email>
            <P:Phone>+7 (900) 123-45-67</P:Phone>
          </P:Applicant>
          <P:Text>На улице Ленина у дома 12 глубокая яма, просьба отремонтировать.</P:Text>
          <P:Attachment headerId="$H" name="Фото ямы.jpg" size="4" mimeType="image/jpeg"/>
        </P:Appeal>
      </T:MessagePrimaryContent>
      <T:AttachmentHeaderList>
        <T:AttachmentHeader><T:Id>$H</T:Id><T:filePath>photo.jpg</T:filePath><T:TransferMethod>REFERENCE</T:TransferMethod></T:AttachmentHeader>
      </T:AttachmentHeaderList>
    </T:content></T:RequestContent>
  </T:Message>
</T:QueryResult>
EOF
mv "$WORK/msg/open.xml" "$IN/open.xml"
for i in 1 2 3; do edge_once; core_once; done
[ "$(q "$CORE_DB" "SELECT state FROM core_appeals WHERE pos_id='177073571'")" = new ] &&
	[ -z "$(q "$EDGE_DB" "SELECT closed FROM edge_appeals WHERE pos_id='177073571'")" ]
ok $? "the appeal of Иванова reached the core and stays open on both sides"

# the applicants of the appeals closed on both sides, and of the open ones
CLOSED="SELECT pos_id FROM core_appeals WHERE state IN ('answered','declined','forwarded')"
closed=$(q "$CORE_DB" "$CLOSED" | while read -r p; do
	[ -n "$(q "$EDGE_DB" "SELECT closed FROM edge_appeals WHERE pos_id='$p'")" ] && echo "$p"
done)
n_closed=$(echo "$closed" | grep -c .)
diag "appeals closed on both sides: $(echo $closed)"
pd() { # pd WHERE: surnames, names, e-mails and phones of the core's appeals
	q "$CORE_DB" "SELECT body FROM documents WHERE kind='appeal' AND direction='in' AND $1" |
		grep -o '<surname>[^<]*\|<email>[^<]*\|<phone>[^<]*' | sed 's/^<[a-z]*>//' | sort -u
}
inlist=$(echo "$closed" | sed "s/.*/'&'/" | paste -sd, -)
pd "pos_id IN ($inlist)" >"$WORK/pd-closed.all"
pd "pos_id NOT IN ($inlist)" >"$WORK/pd-open"
# a name found inside an open appeal (Петров in Петровна) is found rightly
q "$CORE_DB" "SELECT body FROM documents WHERE pos_id NOT IN ($inlist)" >"$WORK/open-bodies"
while read -r t; do
	grep -qF "$t" "$WORK/open-bodies" || echo "$t"
done <"$WORK/pd-closed.all" >"$WORK/pd-closed"
[ "$n_closed" -ge 4 ] && [ "$(wc -l <"$WORK/pd-closed")" -ge 8 ] && grep -qx 'Иванова' "$WORK/pd-open"
ok $? "$n_closed appeals closed on both sides, $(wc -l <"$WORK/pd-closed") names, e-mails and phones to look for"

# findings DIR...: files holding any closed appeal's personal data
findings() {
	grep -r -a -l -F -f "$WORK/pd-closed" "$@" 2>/dev/null
}
sqlite3 "$EDGE_DB" "PRAGMA wal_checkpoint(PASSIVE)" >/dev/null
[ -n "$(findings "$WORK/edge-state")" ] && [ -n "$(findings "$WORK/core-state")" ]
ok $? "before the period the personal data is in both state directories (the grep can find it)"

# sizes and digests of the bodies before, to compare with what stays
for s in edge core; do
	db=$WORK/$s-state/posgw.db
	mkdir -p "$WORK/bodies-$s"
	q "$db" "SELECT id FROM documents WHERE pos_id IN ($inlist)" | while read -r id; do
		q "$db" "SELECT writefile('$WORK/bodies-$s/$id', body) FROM documents WHERE id=$id" >/dev/null
		echo "$id $(stat -c %s "$WORK/bodies-$s/$id") $(gost "$WORK/bodies-$s/$id")"
	done | sort >"$WORK/sums-$s"
done
store_before=$(ls "$WORK/core-state/files" | wc -l)
size_before=$(du -sb "$WORK/core-state" | cut -f1)
files_before=$(du -sb "$WORK/core-state/files" | cut -f1)
db_before=$(stat -c %s "$CORE_DB")
wal_before=$(stat -c %s "$CORE_DB-wal" 2>/dev/null || echo 0)

# crash safety: a core purging a copy of its state is killed (-9) at a
# random moment, then runs once more: every kill must leave a state the
# next run finishes, each appeal journaled exactly once
cp -a "$WORK/core-state" "$WORK/pristine"
mkdir -p "$WORK/crash-in" "$WORK/crash-out"
sed -e "s|^state = .*|state = $WORK/crash-state|" -e "s|^inbox = .*|inbox = $WORK/crash-in|" \
	-e "s|^outbox = .*|outbox = $WORK/crash-out|" "$CORE_CONF" >"$WORK/crash.conf"
printf '\n[retention]\npersonal_data = 1s\n' >>"$WORK/crash.conf"
CRASH_DB=$WORK/crash-state/posgw.db
sleep 1
i=0 partial=0 bad=0
while [ $i -lt 30 ]; do
	rm -rf "$WORK/crash-state" "$WORK/crash-out"/*
	cp -a "$WORK/pristine" "$WORK/crash-state"
	"$POSGW_CORE" --config "$WORK/crash.conf" 2>>"$WORK/crash.log" &
	p=$!
	r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	sleep "0.$(printf %03d $((40 + r % 100)))"
	kill -9 $p 2>/dev/null
	wait $p 2>/dev/null
	n=$(q "$CRASH_DB" "SELECT COUNT(*) FROM journal WHERE kind='retention.purged'")
	[ "$n" -gt 0 ] && [ "$n" -lt "$n_closed" ] && partial=$((partial + 1))
	"$POSGW_CORE" --config "$WORK/crash.conf" --once 2>>"$WORK/crash.log"
	if [ "$(q "$CRASH_DB" "SELECT COUNT(*) || ' ' || COUNT(DISTINCT appeal) FROM journal WHERE kind='retention.purged'")" != "$n_closed $n_closed" ] ||
		[ "$(q "$CRASH_DB" "SELECT COUNT(*) FROM retention_unlink")" -ne 0 ] ||
		[ "$(ls "$WORK/crash-state/files" | wc -l)" -ne 1 ] ||
		[ -n "$(findings "$WORK/crash-state")" ] ||
		! "$POSGW" journal verify "$CRASH_DB" --trust "$KEYS/core-01.crt" >/dev/null; then
		bad=$((bad + 1))
		diag "after a kill at $n of $n_closed purged, the next run did not finish"
	fi
	i=$((i + 1))
done
diag "30 kills, $partial of them in the middle of the purge (the others before or after it)"
[ $bad -eq 0 ]
ok $? "killed at random moments, the next run finishes the purge: each appeal journaled once, its files gone, nothing found, the journal verifies"
rm -rf "$WORK/crash-state" "$WORK/pristine"

# rejected files kept a while ago, in quarantine and in-rejected
printf 'Иванова old\n' >"$WORK/edge-state/quarantine/old.pkg"
printf 'old\n' >"$SMEV/in-rejected/old.xml"

for s in edge core; do
	printf '\n[retention]\npersonal_data = 1s\nquarantine = never\n' >>"$WORK/$s.conf"
done
sleep 2
# the outcomes of the last answers leave in the first round and are
# receipted in the next: their appeals are settled then
r=0
for i in 1 2 3; do edge_once && core_once || r=1; done
ok $r "rounds of each gateway with [retention] personal_data = 1s"

f=$(findings "$WORK/edge-state" "$WORK/core-state")
[ -z "$f" ]
ok $? "grep -r of both state directories (db, -wal, -shm, files/, sent/, quarantine/) finds no closed appeal's applicant"
[ -z "$f" ] || diag "found in: $f"
f=$(findings "$E2C" "$C2E")
[ -z "$f" ]
ok $? "grep -r of the transfer folders finds none either (packages are encrypted)"

for s in edge core; do
	db=$WORK/$s-state/posgw.db
	grep -rqaF 'm.ivanova@example.org' "$WORK/$s-state" &&
		[ "$(q "$db" "SELECT COUNT(*) FROM retention_documents r JOIN documents d ON d.id=r.document_id WHERE d.pos_id='177073571'")" -eq 0 ]
	ok $? "$s: the open appeal of Иванова keeps its personal data"
	q "$db" "SELECT r.document_id || ' ' || r.size || ' ' || r.digest FROM retention_documents r JOIN documents d ON d.id=r.document_id WHERE d.pos_id IN ($inlist)" |
		sort >"$WORK/kept-$s"
	[ -s "$WORK/kept-$s" ] && cmp -s "$WORK/sums-$s" "$WORK/kept-$s"
	ok $? "$s: every emptied document keeps its original size and Streebog digest"
	[ "$(q "$db" "SELECT COUNT(DISTINCT appeal) FROM journal WHERE kind='retention.purged'")" -eq "$n_closed" ] &&
		! q "$db" "SELECT detail FROM journal WHERE kind LIKE 'retention.%'" | grep -qF -f "$WORK/pd-closed"
	ok $? "$s: one retention.purged journal line per closed appeal, without personal data"
	w=$(stat -c %s "$db-wal" 2>/dev/null || echo 0)
	[ "$w" -eq 0 ]
	ok $? "$s: the write-ahead log is truncated after the purge ($w bytes)"
	[ "$(q "$db" "SELECT body FROM documents WHERE kind='appeal' AND pos_id='$(echo "$closed" | head -1)'")" != "" ] &&
		q "$db" "SELECT body FROM documents WHERE kind='appeal' AND pos_id='$(echo "$closed" | head -1)'" | grep -q 'personal-data="removed"/>'
	ok $? "$s: an emptied appeal keeps its root element and bookkeeping attributes only"
done
store_after=$(ls "$WORK/core-state/files" | wc -l)
size_after=$(du -sb "$WORK/core-state" | cut -f1)
diag "core state: $size_before -> $size_after bytes; store files $store_before -> $store_after ($files_before -> $(du -sb "$WORK/core-state/files" | cut -f1) bytes); posgw.db $db_before -> $(stat -c %s "$CORE_DB") bytes, -wal $wal_before -> $(stat -c %s "$CORE_DB-wal" 2>/dev/null || echo 0)"
[ "$store_after" -lt "$store_before" ] && [ -n "$(ls "$WORK/core-state/files")" ]
ok $? "the store files of closed appeals are gone, the open appeal's stays"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM files f JOIN documents d ON d.id=f.document_id WHERE d.pos_id IN ($inlist)")" -gt 0 ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM files f JOIN documents d ON d.id=f.document_id WHERE d.pos_id IN ($inlist) AND (f.size IS NULL OR f.digest IS NULL)")" -eq 0 ]
ok $? "the attachments' rows keep their sizes and digests"

"$POSGW" journal verify "$EDGE_DB" --trust "$KEYS/edge-01.crt" >/dev/null &&
	"$POSGW" journal verify "$CORE_DB" --trust "$KEYS/core-01.crt" >/dev/null
ok $? "both journals verify after the purge"
"$POSGW" journal reconcile "$EDGE_DB" "$CORE_DB" >"$WORK/reconcile.txt"
ok $? "the journals reconcile after the purge"

# the rejected files kept 3 s ago and more go, those kept now stay
[ -e "$WORK/edge-state/quarantine/old.pkg" ] && [ -e "$SMEV/in-rejected/old.xml" ]
ok $? "quarantine = never keeps rejected files"
sleep 3
printf 'new\n' >"$WORK/edge-state/quarantine/new.pkg"
printf 'new\n' >"$SMEV/in-rejected/new.xml"
sed -i 's/^quarantine = never/quarantine = 2s/' "$EDGE_CONF"
edge_once
[ ! -e "$WORK/edge-state/quarantine/old.pkg" ] && [ -e "$WORK/edge-state/quarantine/new.pkg" ] &&
	[ ! -e "$SMEV/in-rejected/old.xml" ] && [ -e "$SMEV/in-rejected/new.xml" ]
ok $? "rejected files past the quarantine period go (quarantine/, in-rejected/), younger ones stay"
[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM journal WHERE kind='retention.rejected' AND detail LIKE '%old.pkg%'")" -eq 1 ] &&
	[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM journal WHERE kind='retention.rejected' AND detail LIKE '%old.xml%'")" -eq 1 ]
ok $? "each removal of rejected files is journaled with the names"

# again: nothing more to do, nothing journaled twice
j_edge=$(q "$EDGE_DB" "SELECT COUNT(*) FROM journal WHERE kind LIKE 'retention.%'")
j_core=$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind LIKE 'retention.%'")
rm -f "$WORK/edge-state/quarantine/new.pkg" "$SMEV/in-rejected/new.xml"
edge_once && core_once &&
	[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM journal WHERE kind LIKE 'retention.%'")" -eq "$j_edge" ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind LIKE 'retention.%'")" -eq "$j_core" ]
ok $? "a second run journals nothing again"

# a purge interrupted after its commit: the listed files go on the next run
printf 'x' >"$WORK/core-state/quarantine/left.pkg"
q "$CORE_DB" "INSERT INTO retention_unlink (path) VALUES ('$WORK/core-state/quarantine/left.pkg')"
core_once && [ ! -e "$WORK/core-state/quarantine/left.pkg" ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM retention_unlink")" -eq 0 ]
ok $? "files listed by an interrupted run are removed by the next one"

# personal_data = never keeps everything
sed -i 's/^personal_data = 1s/personal_data = never/' "$WORK/core.conf"
"$POSGW_CORE" --config "$CORE_CONF" --check-config >/dev/null
ok $? "personal_data = never is accepted"

done_testing
