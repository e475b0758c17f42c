#!/bin/sh
# rollover-inband.sh: key rollover announced in band (formats/rollover.md).
# The operator of one gateway only names the new pair as key/cert and the
# old one as previous_key/previous_cert; the peer's configuration is not
# touched. The new certificate travels in a package signed with the old
# key, the peer trusts it and seals for it at once, the gateway switches
# when the announcement is receipted, and each side retires the old key once
# nothing below the switch is missing. Both gateways roll mid-exchange with
# packages in flight both ways: nothing lost, nothing doubled. Hostile
# announcements are refused with their codes and teach the core nothing.
. "$(dirname "$0")/lib.sh"

make_pair
S=$TESTDATA/examples
NEW=$WORK/new
mkdir -p "$NEW" "$WORK/h"

send() {
	sed "s/177073571/1770$1/g" "$S/appeal.xml" >"$WORK/a$1.xml"
	printf 'JPEG' >"$WORK/a$1.bin"
	"$POSGW" transfer enqueue --config "$EDGE_CONF" "$WORK/a$1.xml" \
		"payload/att/1770$1-1.bin=$WORK/a$1.bin" >/dev/null
}
conf_set() {
	if grep -q "^$2 = " "$1"; then
		sed -i "s|^$2 = .*|$2 = $3|" "$1"
	else
		sed -i "s|^\[gateway\]$|[gateway]\n$2 = $3|" "$1"
	fi
}
fp() {
	certtool --certificate-info --outder --infile "$1" 2>/dev/null | sha256sum | cut -d' ' -f1
}
b64() {
	certtool --certificate-info --outder --infile "$1" 2>/dev/null | base64 -w0
}
sealed_for() {
	for _e in "$1"/*.pkg; do
		bsdtar -xOf "$_e" envelope.xml 2>/dev/null | grep -q "recipient-cert=\"$(fp "$2")\"" && return 0
	done
	return 1
}
jcount() {
	q "$1" "SELECT COUNT(*) FROM journal WHERE kind = '$2'"
}
refused() {
	q "$1" "SELECT COUNT(*) FROM packages WHERE direction='in' AND state IN ('rejected', 'conflict')"
}
# announce SEQ FILE CERT-B64 [REPLACES [GATEWAY]]: a certificate document
# from edge-01 signed with its current key, sealed for the core, dropped in.
announce() {
	cat >"$WORK/h/$2" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<certificate xmlns="urn:posgw:exchange:1" gateway="${5:-edge-01}" replaces="${4:-$(fp "$KEYS/edge-01.crt")}" at="2026-12-06T00:00:00Z">
  <signing>$3</signing>
</certificate>
EOF
	o=$("$POSGW" pack create --id edge-01 --to core-01 --seq "$1" --key "$KEYS/edge-01.key" \
		--cert "$KEYS/edge-01.crt" --encrypt-for "$KEYS/core-01.crt" --out "$WORK/h" "$WORK/h/$2") &&
		cp "$o" "$E2C/" && core_once
}
# judged SEQ: state, code and reason of the core's package SEQ from the edge.
judged() {
	q "$CORE_DB" "SELECT state || ' ' || COALESCE(code, '') || ' ' || COALESCE(reason, '') FROM packages WHERE direction='in' AND seq=$1"
}

# 0. hostile announcements, signed with the edge's trusted key
send 01
edge_once && core_once && edge_once
"$POSGW" keys generate --id edge-01 --out "$WORK/evil" >/dev/null
"$POSGW" keys generate --id core-01 --out "$WORK/evil2" >/dev/null
announce 91 c91.xml "$(b64 "$WORK/evil/edge-01.crt")" "$(fp "$WORK/evil/edge-01.crt")"
judged 91 | grep -q "^rejected payload .*only the certificate being replaced may announce"
ok $? "an announcement claiming to replace a certificate it is not signed with is refused (payload)"
announce 92 c92.xml "$(b64 "$WORK/evil/edge-01.crt")" "" edge-02
judged 92 | grep -q "^rejected payload .*announced for gateway 'edge-02'"
ok $? "an announcement for another gateway is refused (payload)"
announce 93 c93.xml "$(b64 "$WORK/evil2/core-01.crt")"
judged 93 | grep -q "^rejected payload .*CN is not the peer edge-01"
ok $? "a new certificate with another gateway's name is refused (payload)"
announce 94 c94.xml "$(printf 'not a certificate at all' | base64 -w0)"
judged 94 | grep -q "^rejected payload .*not one DER X.509 certificate"
ok $? "a <signing> that is not a DER certificate is refused (payload)"
announce 95 c95.xml "$(b64 "$KEYS/edge-01.crt")"
judged 95 | grep -q "^rejected payload .*announces the certificate it is signed with"
ok $? "announcing the certificate the package is signed with is refused (payload)"
"$POSGW" keys generate --id edge-01 --algorithm ecdsa --out "$WORK/evil3" >/dev/null
announce 96 c96.xml "$(b64 "$WORK/evil3/edge-01.crt")"
judged 96 | grep -q "^rejected payload .*not GOST and no <exchange>"
ok $? "a non-GOST new key without a key-agreement certificate is refused while encrypting"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM rollovers")" = 0 ] && [ ! -e "$WORK/core-state/certs" ] &&
	[ "$(jcount "$CORE_DB" rollover.learned)" = 0 ]
ok $? "after six hostile announcements the core has learnt nothing"

# 1. the edge rolls: only the edge's configuration changes
"$POSGW" keys generate --id edge-01 --out "$NEW" >/dev/null
cp "$KEYS/edge-01.key" "$WORK/edge-old.key"
cp "$KEYS/edge-01.crt" "$WORK/edge-old.crt"
cp "$CORE_CONF" "$WORK/core.conf.before"
send 02
core_once # the core's packages to the edge wait, sealed for its old key
sealed_for "$C2E" "$WORK/edge-old.crt"
ok $? "a core package waits for the edge, sealed for the edge's old key"
conf_set "$EDGE_CONF" key "$NEW/edge-01.key"
conf_set "$EDGE_CONF" cert "$NEW/edge-01.crt"
conf_set "$EDGE_CONF" previous_key "$WORK/edge-old.key"
conf_set "$EDGE_CONF" previous_cert "$WORK/edge-old.crt"
edge_once
[ "$(jcount "$EDGE_DB" rollover.announced)" = 1 ] &&
	[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM documents WHERE direction='out' AND kind='certificate'")" = 1 ]
ok $? "the edge announces its new certificate once, journaled"
[ "$(refused "$EDGE_DB")" = 0 ]
ok $? "the edge opens the core's envelope sealed for its old key (previous_key)"
core_once
cmp -s "$CORE_CONF" "$WORK/core.conf.before" && [ "$(jcount "$CORE_DB" rollover.learned)" = 1 ] &&
	[ -f "$WORK/core-state/certs/$(fp "$NEW/edge-01.crt").crt" ]
ok $? "the core learns the new certificate in band (its configuration untouched) and keeps it"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='appeal'")" = 2 ] &&
	[ "$(q "$CORE_DB" "SELECT signer_fp FROM packages WHERE direction='in' AND state='accepted' ORDER BY seq DESC LIMIT 1")" = "$(fp "$WORK/edge-old.crt")" ]
ok $? "the announcing package is signed with the old key, and its appeal imported"
sealed_for "$C2E" "$NEW/edge-01.crt"
ok $? "the core seals for the edge's new key at once"
edge_once
[ "$(jcount "$EDGE_DB" rollover.acknowledged)" = 1 ] && [ "$(refused "$EDGE_DB")" = 0 ]
ok $? "the edge takes the receipt of its announcement and switches to the new key"
send 03
edge_once && core_once
[ "$(q "$CORE_DB" "SELECT signer_fp FROM packages WHERE direction='in' AND state='accepted' ORDER BY seq DESC LIMIT 1")" = "$(fp "$NEW/edge-01.crt")" ] &&
	[ "$(jcount "$CORE_DB" rollover.retired)" = 1 ]
ok $? "the next package is signed with the new key; the core retires the old one (no gap below)"
edge_once
[ "$(jcount "$EDGE_DB" rollover.completed)" = 1 ]
ok $? "the edge retires its old key-agreement key once the core seals for the new one"
"$POSGW" transfer status --config "$EDGE_CONF" >"$WORK/status" 2>&1
grep -q "^rollover: .*completed.*remove previous_key" "$WORK/status"
ok $? "transfer status tells the operator the rollover is complete and what to remove"

# 2. after retirement: the old key is refused both ways
mkdir -p "$WORK/old"
cp "$S/appeal.xml" "$WORK/old/appeal.xml"
printf 'JPEG' >"$WORK/old/att.bin"
o=$("$POSGW" pack create --id edge-01 --to core-01 --seq 99 --key "$WORK/edge-old.key" \
	--cert "$WORK/edge-old.crt" --encrypt-for "$KEYS/core-01.crt" --out "$WORK/old" \
	"$WORK/old/appeal.xml" "payload/att/177073571-1.bin=$WORK/old/att.bin")
cp "$o" "$E2C/"
core_once
judged 99 | grep -q "^rejected untrusted .*retired on"
ok $? "a package signed with the retired edge key is refused untrusted, naming the retirement"
mkdir -p "$WORK/old2"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<receipt xmlns="urn:posgw:exchange:1" package="00000000-0000-4000-8000-000000000000" sender="edge-01" seq="1" result="accepted" at="2026-12-06T00:00:00Z"/>\n' >"$WORK/old2/r.xml"
o=$("$POSGW" pack create --id core-01 --to edge-01 --seq 98 --key "$KEYS/core-01.key" \
	--cert "$KEYS/core-01.crt" --encrypt-for "$WORK/edge-old.crt" --out "$WORK/old2" "$WORK/old2/r.xml")
cp "$o" "$C2E/"
edge_once
[ "$(q "$EDGE_DB" "SELECT state || ' ' || code FROM packages WHERE direction='in' AND seq=98")" = "rejected key" ]
ok $? "an envelope sealed for the retired edge key is refused (key)"

# 3. the core rolls while edge packages sealed for its old key are in flight
send 04
send 05
edge_once
sealed_for "$E2C" "$KEYS/core-01.crt"
ok $? "edge packages wait, sealed for the core's current key"
"$POSGW" keys generate --id core-01 --out "$NEW" >/dev/null
cp "$KEYS/core-01.key" "$WORK/core-old.key"
cp "$KEYS/core-01.crt" "$WORK/core-old.crt"
conf_set "$CORE_CONF" key "$NEW/core-01.key"
conf_set "$CORE_CONF" cert "$NEW/core-01.crt"
conf_set "$CORE_CONF" previous_key "$WORK/core-old.key"
conf_set "$CORE_CONF" previous_cert "$WORK/core-old.crt"
for i in 1 2 3 4; do
	core_once && edge_once
	[ "$i" = 2 ] && send 06
done
[ "$(jcount "$CORE_DB" rollover.announced)" = 1 ] && [ "$(jcount "$EDGE_DB" rollover.learned)" = 1 ] &&
	[ "$(jcount "$CORE_DB" rollover.acknowledged)" = 1 ] && [ "$(jcount "$EDGE_DB" rollover.retired)" = 1 ] &&
	[ "$(jcount "$CORE_DB" rollover.completed)" = 1 ]
ok $? "the core's rollover runs its course: announced, learnt, acknowledged, retired, completed"
[ "$(q "$CORE_DB" "SELECT COUNT(*) || ' ' || COUNT(DISTINCT pos_id) FROM documents WHERE direction='in' AND kind='appeal'")" = "6 6" ]
ok $? "every appeal imported exactly once across both rollovers"
[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM packages WHERE direction='out' AND control=0 AND state <> 'delivered'")" = 0 ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM packages WHERE direction='out' AND control=0 AND state <> 'delivered'")" = 0 ]
ok $? "every package of either side delivered"
[ "$(refused "$CORE_DB")" = 7 ] && [ "$(refused "$EDGE_DB")" = 1 ]
ok $? "nothing refused but the deliberate hostile and retired-key packages"
"$POSGW" journal verify "$EDGE_DB" --trust "$WORK/edge-old.crt" --trust "$NEW/edge-01.crt" >/dev/null &&
	"$POSGW" journal verify "$CORE_DB" --trust "$WORK/core-old.crt" --trust "$NEW/core-01.crt" >/dev/null &&
	"$POSGW" journal reconcile "$EDGE_DB" "$CORE_DB" >/dev/null
ok $? "both journals verify with the old and new certificates, and reconcile"

# 4. the operators finish: previous_* removed, restarted, still exchanging
sed -i '/^previous_/d' "$EDGE_CONF" "$CORE_CONF"
send 07
edge_once && core_once && edge_once
[ "$(q "$CORE_DB" "SELECT COUNT(DISTINCT pos_id) FROM documents WHERE direction='in' AND kind='appeal'")" = 7 ] &&
	[ "$(refused "$CORE_DB")" = 7 ] && [ "$(refused "$EDGE_DB")" = 1 ]
ok $? "with previous_* removed both gateways go on with the new keys"
done_testing
