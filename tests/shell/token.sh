#!/bin/sh
# token.sh: signing keys on a PKCS#11 token (RFC 7512 pkcs11: URIs), with
# SoftHSM2 in a token directory of the test's own, reached as Debian's
# token packages are: the module registered with p11-kit. posgw pack create
# signs with the token key; a wrong PIN, a missing token, a wrong object and
# a PIN in the URI are refused saying what to do, without showing the PIN;
# and edge and core exchange packages while the edge signs on the token,
# under the daemons' sandbox (Landlock, seccomp = kill).
. "$(dirname "$0")/lib.sh"

if ! have softhsm2-util || ! have p11tool; then
	skip "token" "softhsm2 or gnutls-bin missing (apt-get install softhsm2 gnutls-bin; ops/scripts/deps installs them)"
	done_testing
fi
mkdir -p "$WORK/tokens"
cat >"$WORK/softhsm2.conf" <<EOF
directories.tokendir = $WORK/tokens
objectstore.backend = file
log.level = ERROR
EOF
SOFTHSM2_CONF=$WORK/softhsm2.conf
export SOFTHSM2_CONF
softhsm2-util --init-token --free --label posgw-test --pin 1234 --so-pin 5678 >/dev/null 2>&1
ok $? "a SoftHSM token is initialised in the test's own directory"
p11tool --list-tokens 2>/dev/null | grep -q 'token=posgw-test'
ok $? "p11-kit loads the registered SoftHSM module and GnuTLS sees the token"
p11tool --login --set-pin=1234 --generate-privkey ecdsa --curve secp256r1 \
	--label edge-01 "pkcs11:token=posgw-test" >/dev/null 2>&1
ok $? "an ECDSA P-256 key edge-01 is made on the token (never leaves it)"

printf '1234\n' >"$WORK/pin"
printf '9999\n' >"$WORK/badpin"
chmod 600 "$WORK/pin" "$WORK/badpin"
URI="pkcs11:token=posgw-test;object=edge-01;type=private"
KEY="$URI?pin-source=$WORK/pin"
TOK=$WORK/tok

# posgw keys generate --key: the certificate for the token key.
"$POSGW" keys generate --id edge-01 --key "$KEY" --out "$TOK" >"$WORK/gen.out" 2>&1 &&
	[ -f "$TOK/edge-01.crt" ] && [ ! -e "$TOK/edge-01.key" ] &&
	grep -q '^algorithm: *EC/ECDSA' "$WORK/gen.out" && grep -q '^subject: *CN=edge-01' "$WORK/gen.out"
ok $? "keys generate --key URI makes only the certificate (CN=edge-01) for the token key"
pkid() { grep -i -A2 'public key id' | grep -o 'sha256:[0-9a-f]*'; }
p11tool --export-pubkey "$URI?pin-value=1234" --login 2>/dev/null >"$WORK/tok.pub"
id1=$(certtool --pubkey-info --infile "$WORK/tok.pub" 2>/dev/null | pkid)
id2=$(certtool -i --infile "$TOK/edge-01.crt" 2>/dev/null | pkid)
[ -n "$id1" ] && [ "$id1" = "$id2" ]
ok $? "the certificate holds the token key's public half (p11tool's export)"

# posgw pack create --key pkcs11:...
S=$WORK/src
mkdir -p "$WORK/out" "$WORK/out2" "$WORK/out3"
sample_payload "$S"
f=$("$POSGW" pack create --id edge-01 --to core-01 --seq 1 --key "$KEY" --cert "$TOK/edge-01.crt" \
	--out "$WORK/out" "$S/payload/appeal.xml" "payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" 2>"$WORK/create.err")
[ $? -eq 0 ] && [ -f "$f" ]
ok $? "pack create signs with the token key (PIN from pin-source, with its line end)"
[ -n "$f" ] && out=$("$POSGW" pack verify --id core-01 --trust "$TOK/edge-01.crt" "$f" 2>&1) && [ "$out" = "$f: ok" ]
ok $? "pack verify accepts the package against the token key's certificate"
"$POSGW" keys generate --id edge-01 --algorithm ecdsa --out "$WORK/other" >/dev/null
[ -n "$f" ] && ! "$POSGW" pack verify --id core-01 --trust "$WORK/other/edge-01.crt" "$f" >/dev/null 2>&1
ok $? "and refuses it against another edge-01 certificate (the token key signed)"

# refusals: what failed, on which URI, what to do; never the PIN
create() { # KEY: try pack create, leave the message in $msg
	msg=$("$POSGW" pack create --id edge-01 --to core-01 --seq 2 --key "$1" --cert "$TOK/edge-01.crt" \
		--out "$WORK/out2" "$S/payload/appeal.xml" "payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" 2>&1)
	rc=$?
}
nopin() { ! echo "$msg" | grep -q -e 1234 -e 9999; }
create "$URI?pin-source=$WORK/badpin"
[ $rc -eq 1 ] && echo "$msg" | grep -q "$URI?pin-source=$WORK/badpin: the token refused the PIN from $WORK/badpin" && nopin
ok $? "a wrong PIN is refused naming the URI and the PIN file, not the PIN"
[ -z "$(ls -A "$WORK/out2")" ]
ok $? "and nothing is written"
create "pkcs11:token=no-such-token;object=edge-01;type=private?pin-source=$WORK/pin"
[ $rc -eq 1 ] && echo "$msg" | grep -q "pkcs11:token=no-such-token;.*: no token matches this URI: plug the token in and check that its PKCS#11 module is registered with p11-kit" && nopin
ok $? "a missing token is refused: plug it in, check the module registration"
create "pkcs11:token=posgw-test;object=core-01;type=private?pin-source=$WORK/pin"
[ $rc -eq 1 ] && echo "$msg" | grep -q "object=core-01;.*: the token has no private key matching this URI.*p11tool --login --list-privkeys" && nopin
ok $? "a wrong object is refused: list the token's keys with p11tool"
create "$URI"
[ $rc -eq 1 ] && echo "$msg" | grep -q "$URI: the token wants its user PIN and none was given: add ?pin-source=FILE to the URI or give the systemd credential 'pin'"
ok $? "no PIN at all is refused naming both places a PIN comes from"
create "$URI?pin-value=1234"
[ $rc -eq 1 ] && echo "$msg" | grep -q "pin-value=(hidden): a PIN in the URI (pin-value) is refused" && nopin
ok $? "a PIN in the URI itself is refused, and not echoed"
create "$URI?pin-source=$WORK/nonexistent"
[ $rc -eq 1 ] && echo "$msg" | grep -q "cannot read the token PIN file $WORK/nonexistent"
ok $? "a missing PIN file is named"
mkdir -p "$WORK/cred"
printf '1234' >"$WORK/cred/pin"
msg=$(CREDENTIALS_DIRECTORY=$WORK/cred "$POSGW" pack create --id edge-01 --to core-01 --seq 2 --key "$URI" \
	--cert "$TOK/edge-01.crt" --out "$WORK/out3" "$S/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" 2>&1) &&
	"$POSGW" pack verify --id core-01 --trust "$TOK/edge-01.crt" "$msg" >/dev/null
ok $? "the PIN comes from the systemd credential 'pin' (\$CREDENTIALS_DIRECTORY/pin) when the URI names none"

# --- gateways: the edge signs on the token --------------------------------------
if ! have sqlite3; then
	skip "token round trip" "sqlite3 missing"
	done_testing
fi
make_pair
# the edge: signing key on the token; key agreement with make_pair's file
# GOST pair edge-01.key/crt. The core: trusts the token key's certificate,
# encrypts receipts for the edge's file key-agreement certificate.
cp "$EDGE_CONF" "$WORK/edge-nokex.conf"
sed -i "s|^key = .*|key = $KEY|; s|^cert = .*|cert = $TOK/edge-01.crt|" "$WORK/edge-nokex.conf"
cp "$WORK/edge-nokex.conf" "$EDGE_CONF"
sed -i "s|^\[gateway\]$|[gateway]\nexchange_key = $KEYS/edge-01.key\nexchange_cert = $KEYS/edge-01.crt|" "$EDGE_CONF"
sed -i "s|^trust = .*|trust = $TOK/edge-01.crt\npeer_exchange_cert = $KEYS/edge-01.crt|" "$CORE_CONF"
grep -q 'sandbox\|seccomp' "$EDGE_CONF" "$CORE_CONF"
[ $? -eq 1 ]
ok $? "the gateways run with the default sandbox = yes and seccomp = kill"

"$POSGW_EDGE" --config "$WORK/edge-nokex.conf" --once >/dev/null 2>"$WORK/nokex.log"
[ $? -ne 0 ] && grep -q "the signing key is on a token: set \[gateway\] exchange_key/exchange_cert to a file-based GOST key-agreement pair" "$WORK/nokex.log"
ok $? "a token signing key without exchange_key is refused, saying what to set"

cp "$WORK/edge-nokex.conf" "$WORK/edge-tokkex.conf"
sed -i "s|^\[gateway\]$|[gateway]\nexchange_key = $KEY\nexchange_cert = $TOK/edge-01.crt|" "$WORK/edge-tokkex.conf"
"$POSGW_EDGE" --config "$WORK/edge-tokkex.conf" --once >/dev/null 2>"$WORK/tokkex.log"
[ $? -ne 0 ] && grep -q "is on a token, but GnuTLS cannot agree keys (VKO) through PKCS#11: set \[gateway\] exchange_key/exchange_cert to a file-based GOST key-agreement pair" "$WORK/tokkex.log"
ok $? "an exchange_key on a token is refused, saying why and what to set"

"$POSGW" transfer enqueue --config "$EDGE_CONF" "$S/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" >/dev/null 2>"$WORK/enq.err"
ok $? "transfer enqueue opens the edge with its token key"
edge_once
rc=$?
[ $rc -eq 0 ] && [ "$(ls "$E2C" | grep -c '^edge-01\.000000000001\..*\.pkg$')" -eq 1 ] &&
	grep -q 'sandbox: Landlock ABI' "$WORK/edge.log" && grep -q 'seccomp: [0-9]* system calls allowed' "$WORK/edge.log"
ok $? "posgw-edge signs a package on the token under Landlock and seccomp (status $rc)"
[ $rc -eq 0 ] || sed 's/^/# /' "$WORK/edge.log" | tail -5
core_once
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='appeal' AND pos_id='177073571'")" = 1 ] &&
	[ -z "$(ls "$E2C")" ]
ok $? "posgw-core verifies the token signature and imports the appeal"
[ $? -eq 0 ] || sed 's/^/# /' "$WORK/core.log" | tail -5
edge_once
[ "$(q "$EDGE_DB" "SELECT state FROM packages WHERE direction='out' AND seq=1")" = delivered ]
ok $? "the core's receipt, sealed for the edge's file key-agreement pair, is opened: delivered"
! grep -q -e 1234 "$WORK/edge.log"
ok $? "the edge's log never shows the PIN"
done_testing
