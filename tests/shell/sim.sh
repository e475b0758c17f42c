#!/bin/sh
# sim.sh: posgw-sim against a tiny fake edge written here in shell: the
# round trip completes, what ПОС sends is well-formed and its attachments
# arrive (even when the XML comes first), an out-of-order status is
# refused, a bad signature makes a request invalid, hostile files in out/
# are quarantined or ignored, --seed reproduces the appeals, and --timeout
# ends a run whose edge never answers.
. "$(dirname "$0")/lib.sh"

: "${POSGW_SIM:=$TOP_SRCDIR/posgw-sim}"
NS_T=urn://x-artefacts-smev-gov-ru/services/service-adapter/types
NS_P=urn:posgw:pos:1
MNEMONIC=POSGW_TEST
AOUT=$WORK/attachments-out
mkdir -p "$AOUT"
KEYS=$WORK/keys
"$POSGW" keys generate --id official --out "$KEYS" >/dev/null
ok $? "an official's key for signing answer files"

# put_out BASE CLIENTID: stdin becomes BASE/out/CLIENTID.xml (dot temp + mv).
put_out() {
	cat >"$1/out/.$2.xml" && mv "$1/out/.$2.xml" "$1/out/$2.xml"
}

# msg_head: the start of a ClientMessage.
msg_head() {
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo "<T:ClientMessage xmlns:T=\"$NS_T\" xmlns:P=\"$NS_P\">"
	echo "  <T:itSystem>$MNEMONIC</T:itSystem>"
}

# send_ack BASE REPLYTO POSID: P:Received for an appeal.
send_ack() {
	_cid=$(new_uuid)
	{
		msg_head
		cat <<EOF
  <T:ResponseMessage>
    <T:ResponseMetadata><T:clientId>$_cid</T:clientId><T:replyToClientId>$2</T:replyToClientId></T:ResponseMetadata>
    <T:ResponseContent><T:content><T:MessagePrimaryContent><P:Received appealId="$3"/></T:MessagePrimaryContent></T:content></T:ResponseContent>
  </T:ResponseMessage>
</T:ClientMessage>
EOF
	} | put_out "$1" "$_cid"
}

# send_status BASE POSID N STATUS CHILDREN [HEADERS]: a StatusUpdate request.
send_status() {
	_cid=$(new_uuid)
	{
		msg_head
		cat <<EOF
  <T:RequestMessage>
    <T:RequestMetadata><T:clientId>$_cid</T:clientId></T:RequestMetadata>
    <T:RequestContent><T:content>
      <T:MessagePrimaryContent>
        <P:StatusUpdate appealId="$2" n="$3" status="$4" at="2026-11-25T10:00:00Z">$5</P:StatusUpdate>
      </T:MessagePrimaryContent>${6:-}
    </T:content></T:RequestContent>
  </T:RequestMessage>
</T:ClientMessage>
EOF
	} | put_out "$1" "$_cid"
	echo "$_cid" >>"$1/requests.$2"
}

# send_answer BASE POSID N [bad]: SEND_RESPONSE with one signed file
# (with "bad", the signature is over other content).
send_answer() {
	_f=$AOUT/$2-answer.pdf
	printf '%%PDF-1.7\nОтвет на обращение %s\n' "$2" >"$_f"
	_signed=$_f
	if [ "${4:-}" = bad ]; then
		_signed=$_f.other
		printf 'something else\n' >"$_signed"
	fi
	certtool --p7-detached-sign --p7-time --outder \
		--load-privkey "$KEYS/official.key" \
		--load-certificate "$KEYS/official.crt" \
		--infile "$_signed" --outfile "$_f.p7s" >/dev/null 2>&1 || return 1
	_hid=$(new_uuid)
	send_status "$1" "$2" "$3" SEND_RESPONSE \
		"<P:Answer><P:Text>Ремонт выполнен, проблема устранена.</P:Text><P:File headerId=\"$_hid\" name=\"Ответ № 01-12.pdf\" mimeType=\"application/pdf\" size=\"$(stat -c %s "$_f")\"/></P:Answer>" \
		"<T:AttachmentHeaderList><T:AttachmentHeader><T:Id>$_hid</T:Id><T:filePath>$_f</T:filePath><T:SignaturePKCS7>$(base64 -w0 "$_f.p7s")</T:SignaturePKCS7><T:TransferMethod>REFERENCE</T:TransferMethod></T:AttachmentHeader></T:AttachmentHeaderList>"
}

# handle_in BASE MODE FILE: the fake edge's work on one in/ file; 1 = later.
handle_in() {
	_b=$1 _mode=$2 _in=$3
	if grep -q '<P:Appeal ' "$_in"; then
		_pos=$(sed -n 's/.*<P:Appeal id="\([0-9]*\)".*/\1/p' "$_in")
		_rq=$(sed -n 's/.*<T:clientId>\(.*\)<\/T:clientId>.*/\1/p' "$_in")
		sed -n 's/.*<P:Attachment headerId="\([^"]*\)".* size="\([0-9]*\)".*/\1 \2/p' \
			"$_in" >"$_b/atts"
		# The adapter may write the XML first: wait for every file.
		while read -r _hid _size; do
			for _a in "$_b/attachments-in/$_hid/$_rq"/*; do
				[ -f "$_a" ] && [ "$(stat -c %s "$_a")" = "$_size" ] || return 1
			done
		done <"$_b/atts"
		cp "$_in" "$_b/seen/" && rm -f "$_in"
		send_ack "$_b" "$_rq" "$_pos"
		case "$_mode:$_pos" in
		bad:177000000)
			send_answer "$_b" "$_pos" 2 ;;
		bad:177000001)
			send_status "$_b" "$_pos" 1 MODERATION_ACCEPT \
				'<P:Registration number="01-12/345" date="2026-11-25"/>'
			send_answer "$_b" "$_pos" 2 bad ;;
		*)
			send_status "$_b" "$_pos" 1 MODERATION_ACCEPT \
				'<P:Registration number="01-12/345" date="2026-11-25"/>'
			send_answer "$_b" "$_pos" 2 ;;
		esac
		return 0
	fi
	cp "$_in" "$_b/seen/" && rm -f "$_in"
}

# fake_edge BASE MODE: poll BASE/in/ until BASE/stop appears (or BASE goes);
# a stop file, not a kill, so that no file is caught between cp and rm.
fake_edge() {
	mkdir -p "$1/seen"
	while [ -d "$1/in" ] && [ ! -e "$1/stop" ]; do
		for _in in "$1"/in/*.xml; do
			[ -e "$_in" ] || continue
			handle_in "$1" "$2" "$_in" || continue
		done
		sleep 0.1
	done
}

# stop_edge BASE PID: ask the fake edge to stop and wait until it has.
stop_edge() {
	: >"$1/stop"
	wait "$2" 2>/dev/null
}

# in_files BASE PATTERN: how many files ПОС sent (seen or still in in/) match.
in_files() {
	cat /dev/null "$1"/seen/*.xml "$1"/in/*.xml 2>/dev/null | grep -c -- "$2"
}

# --- the round trip -----------------------------------------------------------
A=$WORK/a
mkdir -p "$A/in" "$A/out"
fake_edge "$A" good &
edge_pid=$!
"$POSGW_SIM" --base "$A" --count 6 --seed 11 --rate 20 --attachments 2 \
	--attachment-size 3000 --feedback 100 --signer-trust "$KEYS/official.crt" \
	--until-complete --timeout 40 --summary "$A/summary.txt" >"$A/stdout" 2>"$A/stderr"
rc=$?
stop_edge "$A" $edge_pid
[ $rc -eq 0 ]
ok $? "a complete round trip exits 0"
[ $rc -eq 0 ] || diag "exit $rc: $(cat "$A/stderr")"
last=$(tail -1 "$A/stdout")
[ "$last" = "sim: issued 6, acknowledged 6, answered 6, declined 0, forwarded 0, refused-by-pos 0, out-of-order 0, invalid 0, missing 0, complete 6/6" ]
ok $? "the summary line says complete 6/6"
[ "$last" = "$(head -1 "$A/summary.txt")" ] &&
	[ "$(grep -c '^1770000[0-9][0-9] .* answered complete 1:MODERATION_ACCEPT:accepted,2:SEND_RESPONSE:accepted ' "$A/summary.txt")" -eq 6 ]
ok $? "--summary holds the same line and each appeal's history"
[ "$(grep -l '<P:Classifier ' "$A"/seen/*.xml | wc -l)" -eq 1 ] &&
	[ "$(grep -l '<P:Appeal ' "$A"/seen/*.xml | wc -l)" -eq 6 ]
ok $? "in/ got the classifier and 6 appeals"
first=$(ls "$A"/seen | head -1)
grep -q '<P:Classifier ' "$A/seen/$first"
ok $? "the classifier came before the appeals"
if have xmllint; then
	bad=0
	for f in "$A"/seen/*.xml "$A"/in/*.xml; do
		[ -e "$f" ] || continue
		xmllint --noout "$f" 2>>"$A/xmllint" || bad=$((bad + 1))
	done
	[ $bad -eq 0 ]
	ok $? "every in/ file is well-formed XML (xmllint)"
else
	skip "every in/ file is well-formed XML" "no xmllint"
fi
cats=$(grep -o '<P:Category code="[0-9]*" name' "$A"/seen/*.xml | sort -u | wc -l)
subs=$(grep -o '<P:Subcategory code="[0-9]*"' "$A"/seen/*.xml | sort -u | wc -l)
[ "$cats" -ge 8 ] && [ "$subs" -ge 24 ]
ok $? "the classifier has $cats categories and $subs subcategories"
n=0
missing=0
for f in $(grep -l '<P:Appeal ' "$A"/seen/*.xml); do
	rq=$(sed -n 's/.*<T:clientId>\(.*\)<\/T:clientId>.*/\1/p' "$f")
	while read -r hid size name; do
		n=$((n + 1))
		a=$A/attachments-in/$hid/$rq/$name
		[ "$(stat -c %s "$a" 2>/dev/null)" = "$size" ] || missing=$((missing + 1))
	done <<EOF
$(sed -n 's/.*<P:Attachment headerId="\([^"]*\)" name="\([^"]*\)" size="\([0-9]*\)".*/\1 \3 \2/p' "$f")
EOF
done
[ $n -gt 0 ] && [ $missing -eq 0 ]
ok $? "all $n announced attachments are there with their sizes"
grep -q 'race .*XML first' "$A/sim.log" && grep -q 'race .*created .* empty' "$A/sim.log"
ok $? "some appeals came before their attachments (created empty, then filled)"
set -- "$A"/out/*.xml
[ "$(ls "$A/out/sent" | wc -l)" -eq 18 ] && [ -z "$(ls "$A/out/error")" ] &&
	[ ! -e "$1" ]
ok $? "out/: 6 acknowledgements and 12 status updates moved to out/sent/"
[ "$(in_files "$A" '<P:StatusAccepted ')" -eq 12 ]
ok $? "each status update was answered with P:StatusAccepted"
[ "$(in_files "$A" '<P:Feedback ')" -eq 6 ] &&
	grep -q 'feedback 6,' "$A/summary.txt"
ok $? "--feedback 100: every answered appeal got citizen feedback"
late=0
for f in $(grep -l '<T:originalClientId>' "$A"/seen/*.xml "$A"/in/*.xml 2>/dev/null); do
	id=$(sed -n 's/.*<T:originalClientId>\(.*\)<\/T:originalClientId>.*/\1/p' "$f")
	r=$(grep -l "<T:replyToClientId>$id<" "$A"/seen/*.xml "$A"/in/*.xml 2>/dev/null | head -1)
	# in/ names start with the simulator's sequence number
	rs=$(basename "$r") fs=$(basename "$f")
	[ -n "$r" ] && [ "${rs%%-*}" -gt "${fs%%-*}" ] || late=$((late + 1))
done
[ $late -eq 0 ]
ok $? "transport statuses only ever come before the response"

# --- out of order, a bad signature, hostile files ----------------------------
B=$WORK/b
mkdir -p "$B/in" "$B/out"
printf 'not xml at all' >"$B/out/junk.xml"
printf 'ignored' >"$B/out/.hidden.xml"
printf 'ignored' >"$B/out/notes.txt"
fake_edge "$B" bad &
edge_pid=$!
"$POSGW_SIM" --base "$B" --count 3 --rate 0 --signer-trust "$KEYS/official.crt" \
	--timeout 5 --summary "$B/summary.txt" >"$B/stdout" 2>"$B/stderr"
rc=$?
stop_edge "$B" $edge_pid
last=$(tail -1 "$B/stdout")
[ $rc -eq 1 ] && [ "$last" = "sim: issued 3, acknowledged 3, answered 1, declined 0, forwarded 0, refused-by-pos 0, out-of-order 1, invalid 2, missing 2, complete 1/3" ]
ok $? "a run with faults exits 1 and counts them"
[ $rc -eq 1 ] || diag "exit $rc: $last"
rq=$(cat "$B/requests.177000000")
grep -l "<T:replyToClientId>$rq<" "$B"/seen/*.xml "$B"/in/*.xml 2>/dev/null |
	xargs grep -q '<P:StatusRefused appealId="177000000" n="2" code="ORDER">'
ok $? "an out-of-order status update is answered with StatusRefused ORDER"
[ -f "$B/out/sent/$rq.xml" ] && grep -q '177000000 .* 2:SEND_RESPONSE:out-of-order' "$B/summary.txt"
ok $? "... moved to out/sent/ and recorded in the appeal's history"
rq=$(tail -1 "$B/requests.177000001")
[ -f "$B/out/error/$rq.xml" ] && grep -q 'signature' "$B/out/error/$rq.xml.reason"
ok $? "a bad answer signature makes the request invalid (out/error/ with a reason)"
grep -l "<T:replyToClientId>$rq<" "$B"/seen/*.xml "$B"/in/*.xml 2>/dev/null |
	xargs grep -q '<T:code>FAILURE</T:code>'
ok $? "... and it is answered with rejects FAILURE"
[ -f "$B/out/error/junk.xml" ] && grep -q 'not well-formed' "$B/out/error/junk.xml.reason"
ok $? "an unparseable file goes to out/error/ with a .reason"
[ -f "$B/out/.hidden.xml" ] && [ -f "$B/out/notes.txt" ]
ok $? "dot files and non-.xml names in out/ are left alone"
grep -q 'invalid .*signature' "$B/sim.log" && grep -q 'out-of-order' "$B/sim.log"
ok $? "sim.log explains each decision"

# --- a transition that is not allowed ----------------------------------------
C=$WORK/c
mkdir -p "$C/in" "$C/out"
"$POSGW_SIM" --base "$C" --count 1 --rate 0 --attachments 0 --timeout 2 >/dev/null 2>&1 &
sim_pid=$!
wait_for 5 sh -c "grep -l '<P:Appeal ' '$C'/in/*.xml >/dev/null 2>&1"
f=$(grep -l '<P:Appeal ' "$C"/in/*.xml)
rq=$(sed -n 's/.*<T:clientId>\(.*\)<\/T:clientId>.*/\1/p' "$f")
send_ack "$C" "$rq" 177000000
send_status "$C" 177000000 1 TAKE_TO_WORK ""
wait $sim_pid
[ $? -eq 1 ] && grep -q 'the first status must be MODERATION_ACCEPT' "$C"/out/error/*.reason
ok $? "a status before moderation is an invalid transition"

# --- reproducible generation, and a timeout with no edge ----------------------
texts() {
	sed -n 's/.*<P:Text>\(.*\)<\/P:Text>.*/\1/p' "$1"/in/*.xml
}
for d in s1 s2 s3; do
	mkdir -p "$WORK/$d"
done
"$POSGW_SIM" --base "$WORK/s1" --seed 7 --count 20 --rate 0 --timeout 1 >"$WORK/s1/stdout" 2>&1
rc=$?
"$POSGW_SIM" --base "$WORK/s2" --seed 7 --count 20 --rate 0 --timeout 1 >/dev/null 2>&1
"$POSGW_SIM" --base "$WORK/s3" --seed 8 --count 20 --rate 0 --timeout 1 >/dev/null 2>&1
[ "$(texts "$WORK/s1" | wc -l)" -eq 20 ] && [ "$(texts "$WORK/s1")" = "$(texts "$WORK/s2")" ]
ok $? "the same --seed gives the same appeal texts"
[ "$(texts "$WORK/s1")" != "$(texts "$WORK/s3")" ]
ok $? "another --seed gives other texts"
[ $rc -eq 1 ] && tail -1 "$WORK/s1/stdout" | grep -q ', missing 20, complete 0/20$'
ok $? "--timeout exits 1 when the edge never answers"
# Surnames agree with the patronymic's gender (Иванов/Петрович,
# Иванова/Петровна, Островская/...), and are Cyrillic.
genders=0
mismatch=""
for f in "$WORK"/s1/in/*.xml; do
	sn=$(sed -n 's/.*<P:Surname>\(.*\)<\/P:Surname>.*/\1/p' "$f")
	pn=$(sed -n 's/.*<P:Patronymic>\(.*\)<\/P:Patronymic>.*/\1/p' "$f")
	[ -n "$sn" ] || continue
	case "$sn" in
	*[a-zA-Z]*) mismatch="$mismatch $sn" ;;
	esac
	case "$pn" in
	*вна | *чна)
		genders=$((genders + 1))
		case "$sn" in *ов | *ев | *ёв | *ин | *ын | *ий | *ой) mismatch="$mismatch $sn/$pn" ;; esac ;;
	*ич)
		genders=$((genders + 1))
		case "$sn" in *ова | *ева | *ёва | *ина | *ына | *ая) mismatch="$mismatch $sn/$pn" ;; esac ;;
	esac
done
[ $genders -ge 10 ] && [ -z "$mismatch" ] && grep -q '<P:Location' "$WORK"/s1/in/*.xml
ok $? "appeals carry Russian applicants (surnames agree with gender) and addresses"
[ -z "$mismatch" ] || diag "mismatch:$mismatch"

# --- the command line ---------------------------------------------------------
"$POSGW_SIM" --help | grep -q '^usage: posgw-sim --base DIR'
ok $? "posgw-sim --help"
"$POSGW_SIM" --base "$WORK/x" --refuse 101 >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "a bad option value exits 2"
bad=""
for v in "--oktmo 2970100" "--oktmo 29701000,x" "--oktmo 297010001" "--lko-id 1,,2" "--lko-id 1,a" \
	"--lko-id 1,2,3,4,5,6,7,8,9" "--reappeal 101"; do
	# shellcheck disable=SC2086
	"$POSGW_SIM" --base "$WORK/x" $v >/dev/null 2>"$WORK/opt.err"
	[ $? -eq 2 ] && grep -q 'posgw-sim' "$WORK/opt.err" || bad="$bad [$v]"
done
[ -z "$bad" ]
ok $? "bad --oktmo, --lko-id lists and --reappeal exit 2 saying why${bad:+:$bad}"
MAN=$TOP_SRCDIR/ops/man/posgw-sim.1
bad=""
for o in base attachments-in mnemonic count seed rate attachment-size \
	attachments appeal59-share feedback refuse signer-trust timeout \
	until-complete summary lko-id oktmo reappeal verbose; do
	"$POSGW_SIM" --help | grep -q -- "--$o" || bad="$bad help:$o"
	grep -q "^\.B.* \\\\-\\\\-$(echo "$o" | sed 's/-/\\\\-/g')" "$MAN" || bad="$bad man:$o"
done
[ -z "$bad" ]
ok $? "every option is in --help and in posgw-sim(1)"
[ -z "$bad" ] || diag "missing:$bad"
done_testing
