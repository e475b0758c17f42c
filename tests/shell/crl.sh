#!/bin/sh
# crl.sh: certificate revocation lists carried into the zones (posgw keys crl
# import) and checked for package signers and officials' answer signers:
# a revoked signer is refused untrusted naming the revocation; a CRL past
# its nextUpdate warns, or with crl_strict = yes refuses.
. "$(dirname "$0")/lib.sh"

if ! have certtool; then
	skip "CRLs" "certtool is needed (apt-get install gnutls-bin)"
	done_testing
fi
make_pair
CA=$WORK/ca
"$POSGW" keys generate --id agency-ca --ca --out "$CA" >/dev/null
# edge-01 and the official get certificates from the agency CA
rm -f "$KEYS/edge-01.key" "$KEYS/edge-01.crt" "$KEYS/official.key" "$KEYS/official.crt"
for id in edge-01 official; do
	"$POSGW" keys generate --id $id --ca-key "$CA/agency-ca.key" --ca-cert "$CA/agency-ca.crt" \
		--out "$KEYS" >/dev/null
done
sed -i -e "s|^trust = .*|trust = $CA/agency-ca.crt\npeer_exchange_cert = $KEYS/edge-01.crt|" \
	-e "s|^signer_trust = .*|signer_trust = $CA/agency-ca.crt|" "$CORE_CONF"
cp "$CORE_CONF" "$WORK/core.conf.base"
S=$TESTDATA/examples

# crl NAME TEMPLATE [CERT]: a CRL by the agency CA revoking CERT (none: empty).
crl() {
	printf '%s\n' "$2" >"$WORK/$1.tmpl"
	# shellcheck disable=SC2046
	certtool --generate-crl --load-ca-privkey "$CA/agency-ca.key" \
		--load-ca-certificate "$CA/agency-ca.crt" $([ -n "${3:-}" ] && echo --load-certificate "$3") \
		--template "$WORK/$1.tmpl" --outfile "$WORK/$1.crl" >/dev/null 2>&1
}
# send N: one more appeal from the edge, taken by the core.
send() {
	sed "s/177073571/17707$1/g" "$S/appeal.xml" >"$WORK/a$1.xml"
	printf 'JPEG' >"$WORK/a$1.bin"
	"$POSGW" transfer enqueue --config "$EDGE_CONF" "$WORK/a$1.xml" \
		"payload/att/17707$1-1.bin=$WORK/a$1.bin" >/dev/null && edge_once && core_once
}
# last_in: state and first reason line of the core's newest inbound package.
last_in() {
	q "$CORE_DB" "SELECT state FROM packages WHERE direction='in' ORDER BY id DESC LIMIT 1"
}
reason_of_last() {
	n=$(q "$CORE_DB" "SELECT name FROM packages WHERE direction='in' ORDER BY id DESC LIMIT 1")
	head -1 "$WORK/core-state/quarantine/$n.reason" 2>/dev/null
}

send 001
[ "$(last_in)" = accepted ]
ok $? "a CA-issued edge certificate is accepted before any CRL"

crl revoked "crl_next_update = 30
crl_number = 2" "$KEYS/edge-01.crt"
crl empty-old 'crl_number = 1
crl_this_update_date = "2026-01-01 00:00:00"
crl_next_update_date = "2026-02-01 00:00:00"'
crl other "crl_next_update = 30" ""
"$POSGW" keys generate --id other-ca --ca --out "$WORK/oca" >/dev/null
certtool --generate-crl --load-ca-privkey "$WORK/oca/other-ca.key" --load-ca-certificate "$WORK/oca/other-ca.crt" \
	--template "$WORK/other.tmpl" --outfile "$WORK/foreign.crl" >/dev/null 2>&1

# --- posgw keys crl -----------------------------------------------------------
out=$("$POSGW" keys crl import "$WORK/revoked.crl" --ca "$CA/agency-ca.crt" --to "$WORK/etc/crl/agency.crl")
[ $? -eq 0 ] && [ -f "$WORK/etc/crl/agency.crl" ] && echo "$out" | grep -q '^issuer: *CN=agency-ca' &&
	echo "$out" | grep -q "^  serial $(certtool -i --infile "$KEYS/edge-01.crt" | sed -n 's/.*Serial Number (hex): //p') revoked"
ok $? "keys crl import checks the CA's signature, shows the revoked serials and installs the CRL"
out=$("$POSGW" keys crl import "$WORK/foreign.crl" --ca "$CA/agency-ca.crt" --to "$WORK/etc/crl/f.crl" 2>&1)
[ $? -eq 1 ] && [ ! -e "$WORK/etc/crl/f.crl" ] && echo "$out" | grep -q 'is not signed by the CA'
ok $? "a CRL another CA signed is refused, nothing installed"
out=$("$POSGW" keys crl import "$WORK/empty-old.crl" --ca "$CA/agency-ca.crt" --to "$WORK/etc/crl/old.crl" 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q 'past its next update'
ok $? "a CRL past its next update is not installed"
cp "$WORK/etc/crl/agency.crl" "$WORK/before.crl"
out=$("$POSGW" keys crl import "$WORK/revoked.crl" --ca "$CA/agency-ca.crt" --to "$WORK/etc/crl/agency.crl" 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q 'only a newer CRL of the same issuer replaces it' &&
	cmp -s "$WORK/etc/crl/agency.crl" "$WORK/before.crl"
ok $? "the same CRL again does not replace the installed one"
sleep 1
crl newest "crl_next_update = 30
crl_number = 9" "$KEYS/edge-01.crt"
"$POSGW" keys crl import "$WORK/newest.crl" --ca "$CA/agency-ca.crt" --to "$WORK/etc/crl/agency.crl" >/dev/null
[ $? -eq 0 ] && ! cmp -s "$WORK/etc/crl/agency.crl" "$WORK/before.crl"
ok $? "a newer CRL of the same CA replaces the installed one"
"$POSGW" keys crl show "$WORK/etc/crl/agency.crl" | grep -q '^revoked: *1$'
ok $? "keys crl show prints an installed CRL"

# --- package signers ----------------------------------------------------------
printf '[gateway]\ncrl = %s\n' "$WORK/etc/crl/agency.crl" >/dev/null
sed -i "s|^\[gateway\]$|[gateway]\ncrl = $WORK/etc/crl/agency.crl|" "$CORE_CONF"
send 002
[ "$(last_in)" = rejected ] &&
	reason_of_last | grep -q '^untrusted: signer certificate of edge-01 (serial [0-9a-f]*) is revoked since 20[0-9-]*T[0-9:]*Z by the CRL .*agency.crl'
ok $? "a package signed by a revoked certificate is refused untrusted, naming the revocation"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='appeal' AND pos_id='17707002'")" = 0 ]
ok $? "nothing of it is imported"

# a stale CRL that revokes nothing: warned about, or refused with crl_strict
cp "$WORK/core.conf.base" "$CORE_CONF"
sed -i "s|^\[gateway\]$|[gateway]\ncrl = $WORK/empty-old.crl|" "$CORE_CONF"
: >"$WORK/core.log"
send 003
[ "$(last_in)" = accepted ] && grep -q "CRL $WORK/empty-old.crl is past its nextUpdate 2026-02-01T00:00:00Z" "$WORK/core.log"
ok $? "a CRL past its nextUpdate warns (crl_strict = no, the default) and the package is taken"
sed -i "s|^\[gateway\]$|[gateway]\ncrl_strict = yes|" "$CORE_CONF"
send 004
[ "$(last_in)" = rejected ] && reason_of_last | grep -q '^untrusted: the CRL .*empty-old.crl of the signer.s issuer is past its nextUpdate'
ok $? "with crl_strict = yes the same package is refused untrusted"

# --- officials' answer signers ------------------------------------------------
cp "$WORK/core.conf.base" "$CORE_CONF"
crl official "crl_next_update = 30
crl_number = 3" "$KEYS/official.crt"
sed -i "s|^\[gateway\]$|[gateway]\ncrl = $WORK/official.crl|" "$CORE_CONF"
printf '%%PDF answer' >"$WORK/answer.pdf"
certtool --p7-detached-sign --p7-time --outder --load-privkey "$KEYS/official.key" \
	--load-certificate "$KEYS/official.crt" --infile "$WORK/answer.pdf" \
	--outfile "$WORK/answer.pdf.p7s" >/dev/null 2>&1
"$POSGW" edms register 17707001 --number 01/1 --date "$(date -u +%F)" --config "$CORE_CONF" >/dev/null &&
	"$POSGW" edms take 17707001 --config "$CORE_CONF" >/dev/null && core_once
out=$("$POSGW" edms answer 17707001 --text "Ответ." --file "$WORK/answer.pdf" \
	--signature "$WORK/answer.pdf.p7s" --config "$CORE_CONF" 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q 'revoked since'
ok $? "an answer signed by a revoked official is refused, naming the revocation"
[ $? -eq 0 ] || diag "$out"
cp "$WORK/core.conf.base" "$CORE_CONF"
out=$("$POSGW" edms answer 17707001 --text "Ответ." --file "$WORK/answer.pdf" \
	--signature "$WORK/answer.pdf.p7s" --config "$CORE_CONF" 2>&1)
ok $? "without the CRL the same answer is taken"
[ $? -eq 0 ] || diag "$out"
done_testing
