#!/bin/sh
# rollover.sh: both gateways change their keys in the middle of an exchange,
# by the procedure of operator.md 3.4: the new certificate is trusted beside
# the old one and encrypted for, the gateway switches and keeps opening
# envelopes sealed for its previous key-agreement key, then the old ones
# retire. Packages in flight both ways across each switch: nothing lost,
# nothing doubled, nothing refused; after retirement the old key is refused.
. "$(dirname "$0")/lib.sh"

make_pair
S=$TESTDATA/examples
NEW=$WORK/new
mkdir -p "$NEW"

# send N: one appeal queued at the edge.
send() {
	sed "s/177073571/1770$1/g" "$S/appeal.xml" >"$WORK/a$1.xml"
	printf 'JPEG' >"$WORK/a$1.bin"
	"$POSGW" transfer enqueue --config "$EDGE_CONF" "$WORK/a$1.xml" \
		"payload/att/1770$1-1.bin=$WORK/a$1.bin" >/dev/null
}
# conf_set FILE KEY VALUE: set (or add under [gateway]) a key.
conf_set() {
	if grep -q "^$2 = " "$1"; then
		sed -i "s|^$2 = .*|$2 = $3|" "$1"
	else
		sed -i "s|^\[gateway\]$|[gateway]\n$2 = $3|" "$1"
	fi
}
# fp CERT: the SHA-256 fingerprint envelopes name a certificate by.
fp() {
	certtool --certificate-info --outder --infile "$1" 2>/dev/null | sha256sum | cut -d' ' -f1
}
# sealed_for DIR CERT: some envelope in DIR is sealed for CERT.
sealed_for() {
	for _e in "$1"/*.pkg; do
		bsdtar -xOf "$_e" envelope.xml 2>/dev/null | grep -q "recipient-cert=\"$(fp "$2")\"" && return 0
	done
	return 1
}
rejected() {
	q "$1" "SELECT COUNT(*) FROM packages WHERE state IN ('rejected', 'conflict')"
}

# 1. in flight: a receipt from the core, sealed for the edge's old key
send 01
edge_once && core_once
sealed_for "$C2E" "$KEYS/edge-01.crt"
ok $? "the core's answer to the first package waits, sealed for the edge's current key"

# 2. the edge rolls its keys; the core trusts and encrypts for the new one
"$POSGW" keys generate --id edge-01 --out "$NEW" >/dev/null
cp "$KEYS/edge-01.key" "$WORK/edge-old.key"
cp "$KEYS/edge-01.crt" "$WORK/edge-old.crt"
sed -i "s|^trust = .*|&\ntrust = $NEW/edge-01.crt|" "$CORE_CONF"
conf_set "$CORE_CONF" peer_exchange_cert "$NEW/edge-01.crt"
conf_set "$EDGE_CONF" key "$NEW/edge-01.key"
conf_set "$EDGE_CONF" cert "$NEW/edge-01.crt"
conf_set "$EDGE_CONF" previous_exchange_key "$WORK/edge-old.key"
conf_set "$EDGE_CONF" previous_exchange_cert "$WORK/edge-old.crt"
send 02
edge_once && core_once
[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM packages WHERE direction='in' AND state='accepted'")" -ge 1 ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='appeal'")" = 2 ] &&
	[ "$(rejected "$EDGE_DB")" = 0 ] && [ "$(rejected "$CORE_DB")" = 0 ]
ok $? "across the edge's switch: the old-key envelope is opened, the new signature accepted"

# 3. the core rolls its keys while an edge package sealed for its old key waits
send 03
edge_once
sealed_for "$E2C" "$KEYS/core-01.crt"
ok $? "an edge package waits, sealed for the core's current key"
"$POSGW" keys generate --id core-01 --out "$NEW" >/dev/null
cp "$KEYS/core-01.key" "$WORK/core-old.key"
cp "$KEYS/core-01.crt" "$WORK/core-old.crt"
sed -i "s|^trust = .*|&\ntrust = $NEW/core-01.crt|" "$EDGE_CONF"
conf_set "$EDGE_CONF" peer_exchange_cert "$NEW/core-01.crt"
conf_set "$CORE_CONF" key "$NEW/core-01.key"
conf_set "$CORE_CONF" cert "$NEW/core-01.crt"
conf_set "$CORE_CONF" previous_exchange_key "$WORK/core-old.key"
conf_set "$CORE_CONF" previous_exchange_cert "$WORK/core-old.crt"
core_once && edge_once
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='appeal'")" = 3 ] &&
	[ "$(rejected "$EDGE_DB")" = 0 ] && [ "$(rejected "$CORE_DB")" = 0 ]
ok $? "across the core's switch: the envelope sealed for its old key is opened"

# 4. the old ones retire
sed -i -e "\|^trust = $KEYS/edge-01.crt$|d" -e '/^previous_exchange_/d' "$CORE_CONF"
sed -i -e "\|^trust = $KEYS/core-01.crt$|d" -e '/^previous_exchange_/d' "$EDGE_CONF"
send 04
edge_once && core_once && edge_once && core_once && edge_once
[ "$(q "$CORE_DB" "SELECT COUNT(*) || ' ' || COUNT(DISTINCT pos_id) FROM documents WHERE direction='in' AND kind='appeal'")" = "4 4" ]
ok $? "every appeal imported exactly once across both rollovers"
[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM packages WHERE direction='out' AND control=0 AND state <> 'delivered'")" = 0 ] &&
	[ "$(rejected "$EDGE_DB")" = 0 ] && [ "$(rejected "$CORE_DB")" = 0 ]
ok $? "every edge package delivered, nothing refused on either side"
"$POSGW" journal verify "$EDGE_DB" --trust "$WORK/edge-old.crt" --trust "$NEW/edge-01.crt" >/dev/null &&
	"$POSGW" journal verify "$CORE_DB" --trust "$WORK/core-old.crt" --trust "$NEW/core-01.crt" >/dev/null &&
	"$POSGW" journal reconcile "$EDGE_DB" "$CORE_DB" >/dev/null
ok $? "both journals verify with the old and new certificates, and reconcile"

# 5. after retirement the old edge key is refused
mkdir -p "$WORK/old"
cp "$S/appeal.xml" "$WORK/old/appeal.xml"
printf 'JPEG' >"$WORK/old/att.bin"
o=$("$POSGW" pack create --id edge-01 --to core-01 --seq 99 --key "$WORK/edge-old.key" \
	--cert "$WORK/edge-old.crt" --encrypt-for "$NEW/core-01.crt" --out "$WORK/old" \
	"$WORK/old/appeal.xml" "payload/att/177073571-1.bin=$WORK/old/att.bin")
cp "$o" "$E2C/"
core_once
[ "$(q "$CORE_DB" "SELECT state || ' ' || code FROM packages WHERE direction='in' AND seq=99")" = "rejected untrusted" ]
ok $? "a package signed with the retired edge key is refused untrusted"
done_testing
