#!/bin/sh
# envelope.sh: packages encrypted for their recipient (formats/envelope.md).
# What an auditor checks with stock tools, that nothing of the content shows
# on the way, and one crafted hostile envelope per rejection path, built as
# an outside tester would from the spec: the pieces taken apart with bsdtar,
# edited with sed and dd, re-signed with certtool, digests from rhash,
# reassembled with tests/tools/pkgcraft. Then the same through posgw-core:
# quarantine, receipts and journal, replays, and the rollout setting.
. "$(dirname "$0")/lib.sh"

if ! have certtool || ! have rhash || ! have bsdtar; then
	skip "envelopes" "certtool, rhash and bsdtar are needed (apt-get install gnutls-bin rhash libarchive-tools)"
	done_testing
fi
make_keys
OUTD=$WORK/out
mkdir -p "$OUTD"
ATT=payload/att/177073571-1.bin
XK="--exchange-key $KEYS/core-01.key --exchange-cert $KEYS/core-01.crt"

# seal SEQ [CERT]: a package from edge-01 sealed for CERT (default core-01's);
# prints the envelope's path.
seal() {
	_d=$WORK/p$1
	rm -rf "$_d"
	mkdir -p "$_d"
	sample_payload "$_d"
	"$POSGW" pack create --id edge-01 --to core-01 --seq "$1" \
		--key "$KEYS/edge-01.key" --cert "$KEYS/edge-01.crt" \
		--encrypt-for "${2:-$KEYS/core-01.crt}" --out "$_d" \
		"$_d/payload/appeal.xml" "$ATT=$_d/$ATT"
}

# apart ENVELOPE: its three pieces into $P (envelope.xml, .p7s, package.enc).
apart() {
	P=$WORK/pieces
	rm -rf "$P"
	mkdir -p "$P"
	bsdtar -xf "$1" -C "$P"
}

# resign: sign $P/envelope.xml again with the sender's key, as the spec says.
resign() {
	certtool --p7-detached-sign --p7-time --outder --load-privkey "$KEYS/edge-01.key" \
		--load-certificate "$KEYS/edge-01.crt" --infile "$P/envelope.xml" \
		--outfile "$P/envelope.xml.p7s" >/dev/null 2>&1
}

# pack_up NAME [SPEC...]: reassemble $P into $OUTD/NAME (uncompressed ustar),
# with SPECs instead of the three pieces when given.
pack_up() {
	_n=$1
	shift
	if [ $# -eq 0 ]; then
		set -- "file:envelope.xml=$P/envelope.xml" \
			"file:envelope.xml.p7s=$P/envelope.xml.p7s" \
			"file:package.enc=$P/package.enc"
	fi
	rm -f "$OUTD/$_n"
	"$PKGCRAFT" --filter none --format ustar "$OUTD/$_n" "$@"
	echo "$OUTD/$_n"
}

# attr NAME: an attribute's value in $P/envelope.xml.
attr() {
	sed -n "s/.* $1=\"\\([^\"]*\\)\".*/\\1/p" "$P/envelope.xml" | head -1
}

# setattr NAME VALUE: change an attribute of $P/envelope.xml.
setattr() {
	sed -i "s/ $1=\"[^\"]*\"/ $1=\"$2\"/" "$P/envelope.xml"
}

# flip FILE OFFSET: invert one byte of FILE.
flip() {
	_b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((255 - _b)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

E=$(seal 7)
NAME=$(basename "$E")

# --- what leaves the zone ------------------------------------------------------
[ "$(bsdtar -tf "$E" | tr '\n' ' ')" = "envelope.xml envelope.xml.p7s package.enc " ]
ok $? "an envelope is a tar of envelope.xml, envelope.xml.p7s and package.enc"
! bsdtar -xOf "$E" | grep -a -q -F -e 'Иванова' -e 'm.ivanova@example.org' -e 'глубокая яма'
ok $? "bsdtar -xOf of the envelope shows neither the applicant's name, e-mail nor the text"
mkdir -p "$WORK/opened"
"$POSGW" pack decrypt --id core-01 --trust "$KEYS/edge-01.crt" $XK "$E" "$WORK/opened" >"$WORK/dec.out"
bsdtar -xOf "$WORK/opened/$NAME" | grep -a -q -F 'm.ivanova@example.org' &&
	grep -q "^$E: ok, $NAME from edge-01 signed" "$WORK/dec.out"
ok $? "pack decrypt writes the plain package, which holds them"
"$POSGW" pack verify --id core-01 --trust "$KEYS/edge-01.crt" "$WORK/opened/$NAME" | grep -qx "$WORK/opened/$NAME: ok"
ok $? "the package pack decrypt wrote passes pack verify"

apart "$E"
certtool --p7-verify --inder --infile "$P/envelope.xml.p7s" --load-data "$P/envelope.xml" \
	--load-ca-certificate "$KEYS/edge-01.crt" >"$WORK/cv.out" 2>&1 &&
	grep -q 'Signature status: ok' "$WORK/cv.out"
ok $? "an auditor checks who sent it with certtool --p7-verify over envelope.xml"
[ "$(gost "$P/package.enc")" = "$(attr digest)" ] &&
	[ "$(stat -c %s "$P/package.enc")" = "$(attr size)" ]
ok $? "rhash --gost12-256 of package.enc and its size equal what envelope.xml says"
xmllint --noout --nonet --schema "$SCHEMAS/envelope.xsd" "$P/envelope.xml" 2>/dev/null
ok $? "envelope.xml is valid against envelope.xsd with a stock validator"
"$POSGW" pack verify --id core-01 --trust "$KEYS/edge-01.crt" "$E" | grep -q "^$E: ok (envelope from edge-01 to core-01, .*content not opened"
ok $? "pack verify without the exchange key checks what an outsider can, and says so"
expect_ok "$E" "pack verify with the exchange key opens the envelope and checks the package inside" $XK

# --- the crafting itself is right ----------------------------------------------
R=$(pack_up "$NAME")
expect_ok "$R" "an envelope reassembled from its pieces with stock tools is accepted" $XK

# --- one hostile envelope per rejection path (formats/envelope.md section 7) ----
apart "$E"
setattr tag 00000000000000000000000000000000
resign
expect_code "$(pack_up "$NAME")" decrypt "a re-signed head with a wrong tag" $XK

apart "$E"
flip "$P/package.enc" 100
setattr digest "$(gost "$P/package.enc")"
resign
expect_code "$(pack_up "$NAME")" decrypt "one ciphertext byte changed, digest and signature made anew" $XK

apart "$E"
flip "$P/package.enc" 100
expect_code "$(pack_up "$NAME")" digest "one ciphertext byte changed, nothing else" $XK

apart "$E"
setattr created 2026-01-01T00:00:00Z
expect_code "$(pack_up "$NAME")" signature "the head edited without a new signature" $XK

apart "$E"
w=$(attr wrapped)
setattr wrapped "$(printf '%s' "$w" | sed 's/^./0/;s/^00/11/')"
[ "$(attr wrapped)" != "$w" ] || setattr wrapped "$(printf '%s' "$w" | sed 's/^./f/')"
resign
expect_code "$(pack_up "$NAME")" decrypt "the wrapped content key altered and re-signed" $XK

apart "$E"
e=$(attr ephemeral)
half=$((${#e} / 2))
setattr ephemeral "$(printf '%s' "$e" | cut -c1-$half)$(printf '%s' "$e" | cut -c1-$half)"
resign
expect_code "$(pack_up "$NAME")" envelope "an ephemeral key off the curve" $XK

apart "$E"
setattr size 1
resign
expect_code "$(pack_up "$NAME")" envelope "the head gives a size package.enc does not have" $XK

apart "$E"
setattr recipient core-02
resign
expect_code "$(pack_up "$NAME")" recipient "an envelope for another gateway" $XK

apart "$E"
sed -i '1a <!DOCTYPE envelope [<!ENTITY x "y">]>' "$P/envelope.xml"
resign
expect_code "$(pack_up "$NAME")" envelope "a DOCTYPE in envelope.xml" $XK

apart "$E"
{
	head -1 "$P/envelope.xml"
	printf '<!-- %s -->\n' "$(head -c 70000 /dev/zero | tr '\0' x)"
	tail -n +2 "$P/envelope.xml"
} >"$P/big.xml"
mv "$P/big.xml" "$P/envelope.xml"
resign
expect_code "$(pack_up "$NAME")" size "an envelope.xml over 64 KiB" $XK

apart "$E"
expect_code "$(pack_up "$NAME" "file:envelope.xml=$P/envelope.xml" \
	"file:envelope.xml.p7s=$P/envelope.xml.p7s" "file:package.enc=$P/package.enc" \
	"file:extra=$P/envelope.xml")" envelope "an entry after package.enc" $XK
apart "$E"
expect_code "$(pack_up "$NAME" "file:envelope.xml=$P/envelope.xml" \
	"file:envelope.xml.p7s=$P/envelope.xml.p7s" "symlink:package.enc=/etc/passwd")" envelope \
	"package.enc is a symbolic link" $XK
apart "$E"
expect_code "$(pack_up "$NAME" "file:envelope.xml=$P/envelope.xml" \
	"file:envelope.xml.p7s=$P/envelope.xml.p7s")" envelope "package.enc missing" $XK

T=$OUTD/$NAME
head -c $(($(stat -c %s "$E") / 2)) "$E" >"$T"
expect_code "$T" envelope "an envelope cut in half" $XK

apart "$E"
other=edge-01.000000000007.$(new_uuid).pkg
cp "$E" "$OUTD/$other"
expect_code "$OUTD/$other" name "the head names another file" $XK

apart "$E"
certtool --p7-detached-sign --p7-time --outder --load-privkey "$KEYS/core-01.key" \
	--load-certificate "$KEYS/core-01.crt" --infile "$P/envelope.xml" \
	--outfile "$P/envelope.xml.p7s" >/dev/null 2>&1
expect_code "$(pack_up "$NAME")" untrusted "the head signed by someone the receiver does not trust for edge-01" $XK

mkdir -p "$WORK/other"
"$POSGW" keys generate --id core-01 --out "$WORK/other" >/dev/null
K=$(seal 8 "$WORK/other/core-01.crt")
expect_code "$K" key "sealed for a core-01 key this gateway does not hold" $XK

# --- through posgw-core --------------------------------------------------------
make_pair
core_reason() {
	head -1 "$WORK/core-state/quarantine/$1.reason"
}
receipt_code() {
	q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='out' AND kind='receipt' AND instr(body, 'code=\"$1\"') > 0"
}
G=$(seal 1)
cp "$G" "$E2C/"
core_once
[ "$(q "$CORE_DB" "SELECT state FROM packages WHERE direction='in' AND seq=1")" = accepted ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='appeal'")" = 1 ]
ok $? "posgw-core opens an envelope and imports the package inside"
cp "$G" "$E2C/"
core_once
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='package.duplicate'")" = 1 ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='appeal'")" = 1 ]
ok $? "a replayed envelope is a duplicate, imported once"
mkdir -p "$WORK/g2" "$WORK/g2p"
"$POSGW" pack decrypt --id core-01 --trust "$KEYS/edge-01.crt" $XK "$G" "$WORK/g2p" >/dev/null
G2=$("$POSGW" pack encrypt --key "$KEYS/edge-01.key" --cert "$KEYS/edge-01.crt" \
	--to "$KEYS/core-01.crt" "$WORK/g2p/$(basename "$G")" "$WORK/g2")
! cmp -s "$G" "$G2" && cp "$G2" "$E2C/"
core_once
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='package.duplicate'")" = 2 ]
ok $? "the same package sealed again (another key, same manifest) is a duplicate too"

apart "$(seal 2)"
N2=$(ls "$WORK/p2"/*.pkg | xargs basename)
setattr tag ffffffffffffffffffffffffffffffff
resign
cp "$(pack_up "$N2")" "$E2C/"
core_once
core_reason "$N2" | grep -q '^decrypt: the ciphertext does not authenticate' &&
	[ "$(receipt_code decrypt)" = 1 ] && [ ! -e "$E2C/$N2" ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='package.rejected' AND detail LIKE '%decrypt%'")" = 1 ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='appeal'")" = 1 ]
ok $? "a tampered tag is quarantined (decrypt), journaled, receipted, nothing imported"
! grep -a -q -F 'm.ivanova@example.org' "$WORK/core-state/quarantine/$N2"
ok $? "the quarantine keeps the envelope, still encrypted"

apart "$(seal 6)"
N6=$(ls "$WORK/p6"/*.pkg | xargs basename)
cp "$(pack_up "$N6" "file:envelope.xml.p7s=$P/envelope.xml.p7s" \
	"file:envelope.xml=$P/envelope.xml" "file:package.enc=$P/package.enc")" "$E2C/"
core_once
core_reason "$N6" | grep -q '^envelope: neither an envelope' && [ "$(receipt_code envelope)" = 1 ]
ok $? "the signature before the head is no envelope: refused with envelope"

K3=$(seal 3 "$WORK/other/core-01.crt")
cp "$K3" "$E2C/"
core_once
core_reason "$(basename "$K3")" | grep -q '^key: encrypted for the key-agreement certificate' &&
	[ "$(receipt_code key)" = 1 ]
ok $? "an envelope for a key the core does not hold is refused with key"

mkdir -p "$WORK/p4"
sample_payload "$WORK/p4"
P4=$("$POSGW" pack create --id edge-01 --to core-01 --seq 4 --key "$KEYS/edge-01.key" \
	--cert "$KEYS/edge-01.crt" --out "$WORK/p4" "$WORK/p4/payload/appeal.xml" "$ATT=$WORK/p4/$ATT")
cp "$P4" "$E2C/"
core_once
core_reason "$(basename "$P4")" | grep -q '^plain: a plain package' && [ "$(receipt_code plain)" = 1 ]
ok $? "a plain package is refused with plain while accept_plain = no (the default)"
cp "$P4" "$WORK/p4-again.pkg"
printf '[transfer]\n' >/dev/null
sed -i 's/^\[transfer\]$/[transfer]\naccept_plain = yes/' "$CORE_CONF"
mkdir -p "$WORK/p5"
sample_payload "$WORK/p5"
P5=$("$POSGW" pack create --id edge-01 --to core-01 --seq 5 --key "$KEYS/edge-01.key" \
	--cert "$KEYS/edge-01.crt" --out "$WORK/p5" "$WORK/p5/payload/appeal.xml" "$ATT=$WORK/p5/$ATT")
cp "$P5" "$E2C/"
core_once
[ "$(q "$CORE_DB" "SELECT state FROM packages WHERE direction='in' AND seq=5")" = accepted ]
ok $? "with accept_plain = yes (the rollout) a plain package is accepted"

# The edge's own packages leave sealed: nothing of the appeal in e2c.
"$POSGW" transfer enqueue --config "$EDGE_CONF" "$TESTDATA/examples/appeal.xml" \
	"$ATT=$WORK/p5/$ATT" >/dev/null
# (under strace when there is one: LeakSanitizer cannot run under ptrace)
traced=0
if have strace && strace -qq -o /dev/null true 2>/dev/null; then
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -qq -y -e trace=fsync,fdatasync -o "$WORK/seal.trace" \
		"$POSGW_EDGE" --config "$EDGE_CONF" --once 2>>"$WORK/edge.log"
	traced=1
else
	edge_once
fi
out=$(ls "$E2C"/edge-01.*.pkg 2>/dev/null | head -1)
[ -n "$out" ] && bsdtar -tf "$out" | grep -qx package.enc &&
	! grep -r -a -q -F -e 'Иванова' -e 'm.ivanova@example.org' "$E2C" "$WORK/edge-state/sent"
ok $? "posgw-edge seals what it sends: the transfer folder and sent/ hold no applicant data"
# The plain package it seals is a scratch file, removed right after: it is
# never fsynced (its bytes need not reach the disk); the envelope is.
if [ $traced = 1 ]; then
	! grep -q "fsync([0-9]*</[^>]*/edge-state/staging/\.\{0,1\}edge-01\.[^>]*\.pkg>" "$WORK/seal.trace" &&
		! grep -q "fsync([0-9]*</[^>]*/edge-state/staging>" "$WORK/seal.trace" &&
		grep -q "fsync([0-9]*</[^>]*/edge-state/sent/\.$(basename "$out")>" "$WORK/seal.trace" &&
		[ -z "$(ls -A "$WORK/edge-state/staging")" ]
	ok $? "regression plain-package-fsync: the edge fsyncs the envelope in sent/, never the plain package it seals"
else
	skip "the edge fsyncs the envelope, never the plain package" "strace missing or not permitted here"
fi
mkdir -p "$WORK/p9"
sample_payload "$WORK/p9"
if have strace && ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	TMPDIR=$WORK/p9 strace -f -qq -y -e trace=fsync,fdatasync -o "$WORK/pack.trace" \
	"$POSGW" pack create --id edge-01 --to core-01 --seq 9 --key "$KEYS/edge-01.key" \
	--cert "$KEYS/edge-01.crt" --encrypt-for "$KEYS/core-01.crt" --out "$WORK/p9" \
	"$WORK/p9/payload/appeal.xml" "$ATT=$WORK/p9/$ATT" >"$WORK/p9.out" 2>&1; then
	P9=$(tail -1 "$WORK/p9.out")
	first=$(bsdtar -tf "$P9" | head -1)
	[ "$first" = envelope.xml ] &&
		grep -q "fsync([0-9]*</[^>]*/p9/\.$(basename "$P9")>" "$WORK/pack.trace" &&
		grep -q "fsync([0-9]*</[^>]*/p9>" "$WORK/pack.trace" &&
		! grep -q "fsync([0-9]*</[^>]*/posgw-verify-[^>]*>" "$WORK/pack.trace"
	ok $? "pack create --encrypt-for fsyncs the envelope and its folder only, not the plain package"
	[ $? -eq 0 ] || diag "$(cat "$WORK/pack.trace" "$WORK/p9.out")"
else
	skip "pack create --encrypt-for fsyncs the envelope only" "strace missing or not permitted here"
fi

# The edge without a usable peer key-agreement certificate refuses to start.
sed "s|^trust = .*|trust = $KEYS/core-01.crt\ntrust = $KEYS/edge-01.crt|" "$EDGE_CONF" >"$WORK/two.conf"
"$POSGW_EDGE" --config "$WORK/two.conf" --check-config >"$WORK/two.out" 2>&1
[ $? -ne 0 ] && grep -q 'peer_exchange_cert is required' "$WORK/two.out"
ok $? "with two trust files and no peer_exchange_cert the edge says what to set"
done_testing
