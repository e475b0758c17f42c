#!/bin/sh
# cli.sh: the posgw command line as operators use it: help, exit codes,
# usage errors, key files and their modes, CA-issued certificates.
. "$(dirname "$0")/lib.sh"

"$POSGW" --help | grep -q 'pack verify'
ok $? "posgw --help lists the commands"
"$POSGW" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "posgw without a command exits 2"
"$POSGW" frobnicate >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "unknown command exits 2"
for c in "keys generate" "keys show" "pack create" "pack verify" "pack list" "pack extract"; do
	# shellcheck disable=SC2086
	"$POSGW" $c --help | grep -q "usage: posgw $c"
	ok $? "posgw $c --help"
done
"$POSGW" pack verify --id core-01 x.pkg >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "pack verify without --trust exits 2"
"$POSGW" pack verify --trust /nonexistent x.pkg >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "pack verify with an unreadable --trust exits 2"
"$POSGW" pack verify --id BAD_ID --trust /dev/null x.pkg >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "pack verify with an invalid --id exits 2"

make_keys
ok $? "keys generate for edge-01 and core-01"
[ "$(stat -c %a "$KEYS/edge-01.key")" = 600 ]
ok $? "private key has mode 0600"
"$POSGW" keys show "$KEYS/edge-01.crt" >"$WORK/show"
grep -q '^subject:     CN=edge-01$' "$WORK/show" &&
	grep -q '^key usage:   digitalSignature$' "$WORK/show" &&
	grep -q '^algorithm:   GOST R 34.10-2012-256$' "$WORK/show"
ok $? "keys show prints subject, key usage and algorithm"
der_sha=$(certtool --certificate-info --infile "$KEYS/edge-01.crt" --outder 2>/dev/null | sha256sum | cut -d' ' -f1)
grep -q "^sha256:      $der_sha\$" "$WORK/show"
ok $? "keys show SHA-256 fingerprint equals sha256sum of the DER"
if have rhash; then
	der_gost=$(certtool --certificate-info --infile "$KEYS/edge-01.crt" --outder 2>/dev/null | rhash --gost12-256 --simple - | cut -d' ' -f1)
	grep -q "^streebog256: $der_gost\$" "$WORK/show"
	ok $? "keys show Streebog fingerprint equals rhash --gost12-256 of the DER"
else
	skip "Streebog fingerprint against rhash" "rhash missing"
fi
"$POSGW" keys generate --id edge-01 --out "$KEYS" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'already exists' "$WORK/err"
ok $? "keys generate refuses to overwrite an existing key"
"$POSGW" keys generate --id Edge_01 --out "$WORK/k2" >/dev/null 2>&1
[ $? -eq 1 ]
ok $? "keys generate refuses an invalid id"
for alg in gost512 ecdsa ed25519; do
	"$POSGW" keys generate --id edge-01 --algorithm $alg --out "$WORK/k-$alg" >"$WORK/o-$alg" &&
		grep -q '^key usage:   digitalSignature$' "$WORK/o-$alg"
	ok $? "keys generate --algorithm $alg"
done

# The first exchange between zones: a certificate is imported only after its
# fingerprint, read by the other zone's operator, is confirmed.
fp=$(grep '^streebog256:' "$WORK/show" | awk '{print $2}')
grouped=$(echo "$fp" | tr 'a-f' 'A-F' | sed 's/..../& /g')
"$POSGW" keys import "$KEYS/edge-01.crt" --to "$WORK/peer.crt" --fingerprint "$grouped" >/dev/null &&
	cmp -s "$WORK/peer.crt" "$KEYS/edge-01.crt"
ok $? "keys import installs the certificate after a confirmed fingerprint (any case, grouped)"
# the same fingerprint with its last digit changed
case "$fp" in *a) wrong="${fp%?}b" ;; *) wrong="${fp%?}a" ;; esac
"$POSGW" keys import "$KEYS/edge-01.crt" --to "$WORK/peer2.crt" --fingerprint "$wrong" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && [ ! -e "$WORK/peer2.crt" ] && grep -q 'does NOT match' "$WORK/err"
ok $? "keys import with a wrong fingerprint writes nothing"
"$POSGW" keys import "$KEYS/edge-01.crt" --to "$WORK/peer3.crt" </dev/null >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && [ ! -e "$WORK/peer3.crt" ] && grep -q 'no terminal to ask on' "$WORK/err"
ok $? "keys import never trusts silently without a fingerprint"
"$POSGW" keys import "$KEYS/edge-01.crt" --to "$WORK/peer.crt" --fingerprint "$fp" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'already exists' "$WORK/err"
ok $? "keys import never replaces an existing trust file"
# regression peer-folder-missing: /etc/posgw/peer did not exist on a fresh
# install, and keys import failed after the fingerprint was confirmed
(umask 0027 && "$POSGW" keys import "$KEYS/edge-01.crt" --to "$WORK/etc/peer/edge-01.crt" \
	--fingerprint "$fp" >/dev/null 2>"$WORK/err") &&
	cmp -s "$WORK/etc/peer/edge-01.crt" "$KEYS/edge-01.crt" &&
	[ "$(stat -c %a "$WORK/etc/peer")" = 755 ] && [ "$(stat -c %a "$WORK/etc")" = 755 ]
ok $? "regression peer-folder-missing: keys import makes the trust folder (0755, whatever the umask)"
[ $? -eq 0 ] || diag "$(cat "$WORK/err")"

if have script; then
	sha=$(grep '^sha256:' "$WORK/show" | awk '{print $2}')
	(sleep 1; echo "$sha") | script -qec "$POSGW keys import $KEYS/edge-01.crt --to $WORK/peer4.crt" /dev/null >"$WORK/tty.out" 2>&1
	grep -q 'Type the sha256 or streebog256 fingerprint' "$WORK/tty.out" && cmp -s "$WORK/peer4.crt" "$KEYS/edge-01.crt"
	ok $? "keys import asks for the fingerprint on a terminal and imports after it matches"
else
	skip "keys import on a terminal" "script(1) missing"
fi

# An agency CA issues both gateway certificates; peers trust only the CA.
"$POSGW" keys generate --ca --id agency-ca --out "$WORK/ca" >"$WORK/ca.out"
grep -q 'keyCertSign (CA)' "$WORK/ca.out"
ok $? "keys generate --ca makes a CA certificate"
"$POSGW" keys generate --id edge-02 --ca-key "$WORK/ca/agency-ca.key" --ca-cert "$WORK/ca/agency-ca.crt" --out "$WORK/issued" >"$WORK/issued.out"
grep -q '^issuer:      CN=agency-ca$' "$WORK/issued.out"
ok $? "keys generate --ca-key/--ca-cert issues a certificate"
"$POSGW" keys generate --id edge-03 --ca-key "$KEYS/edge-01.key" --ca-cert "$KEYS/edge-01.crt" --out "$WORK/bad" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'not a CA certificate' "$WORK/err"
ok $? "a non-CA certificate cannot issue"
"$POSGW" keys generate --ca --id other-ca --out "$WORK/ca2" >/dev/null
"$POSGW" keys generate --id edge-04 --ca-key "$WORK/ca2/other-ca.key" --ca-cert "$WORK/ca/agency-ca.crt" --out "$WORK/bad2" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'does not belong to CA certificate' "$WORK/err" && [ ! -e "$WORK/bad2/edge-04.key" ]
ok $? "a CA key that does not match the CA certificate cannot issue"

# pack-verify-schemadir-garbage: with POSGW_SCHEMADIR naming a missing
# directory, pack verify printed stack garbage ("posgw: M\177": an
# uninitialised error value, never written because it looked full).
S0=$WORK/src0
sample_payload "$S0"
mkdir -p "$WORK/out0"
f0=$("$POSGW" pack create --id edge-01 --to core-01 --seq 1 --key "$KEYS/edge-01.key" \
	--cert "$KEYS/edge-01.crt" --out "$WORK/out0" "$S0/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S0/payload/att/177073571-1.bin")
out=$(POSGW_SCHEMADIR=/nonexistent "$POSGW" pack verify --id core-01 --trust "$KEYS/edge-01.crt" "$f0" 2>&1)
rc=$?
[ $rc -eq 1 ] && [ "$out" = "posgw: cannot read schema /nonexistent/package.xsd: No such file or directory (POSGW_SCHEMADIR names /nonexistent; unset it to use the schemas built into posgw)" ]
ok $? "regression pack-verify-schemadir-garbage: a missing POSGW_SCHEMADIR is named, never garbage"
[ $rc -eq 1 ] || diag "exit $rc: $out"
# The schemas are built in: the build tree's posgw verifies with no schema
# directory anywhere and opens no schema file.
out=$(env -u POSGW_SCHEMADIR "$POSGW" pack verify --id core-01 --trust "$KEYS/edge-01.crt" "$f0" 2>&1)
[ "$out" = "$f0: ok" ]
ok $? "pack verify with the built-in schemas (no POSGW_SCHEMADIR, nothing installed)"
# (LeakSanitizer cannot run under ptrace: off for this one run)
if have strace && env -u POSGW_SCHEMADIR ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -qq -e trace=open,openat -o "$WORK/trace" \
	"$POSGW" pack verify --id core-01 --trust "$KEYS/edge-01.crt" "$f0" >/dev/null 2>&1 &&
	grep -q 'openat' "$WORK/trace"; then
	! grep -q '\.xsd"' "$WORK/trace"
	ok $? "... and it opens no schema file"
else
	skip "pack verify opens no schema file" "strace missing or not permitted here"
fi
out=$(POSGW_SCHEMADIR=$SCHEMAS "$POSGW" pack verify --id core-01 --trust "$KEYS/edge-01.crt" "$f0" 2>&1)
[ "$out" = "$f0: ok" ]
ok $? "POSGW_SCHEMADIR still overrides with a directory of schemas (an integrator's)"

# pack create as an operator uses it, and its refusals.
S=$WORK/src
sample_payload "$S"
mkdir -p "$WORK/out"
f=$("$POSGW" pack create --id edge-02 --to core-01 --seq 12 --key "$WORK/issued/edge-02.key" \
	--cert "$WORK/issued/edge-02.crt" --out "$WORK/out" "$S/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin")
ok $? "pack create with a CA-issued certificate"
case "$f" in "$WORK/out/edge-02.000000000012."*.pkg) ok 0 "pack create prints the package path" ;; *) ok 1 "pack create prints the package path"; diag "$f" ;; esac
out=$("$POSGW" pack verify --id core-01 --trust "$WORK/ca/agency-ca.crt" "$f")
[ "$out" = "$f: ok" ]
ok $? "pack verify trusting only the agency CA"
ls -a "$WORK/out" | grep -q '^\.' && [ "$(ls -a "$WORK/out" | grep -c '^\.edge')" -eq 0 ]
ok $? "no dot file left behind after pack create"

"$POSGW" pack create --id edge-01 --to core-01 --seq 1 --key "$KEYS/core-01.key" \
	--cert "$KEYS/core-01.crt" --out "$WORK/out" "$S/payload/appeal.xml" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q "is for 'core-01', not --id edge-01" "$WORK/err"
ok $? "pack create refuses a certificate of another gateway"
"$POSGW" pack create --id edge-01 --to core-01 --seq 1 --key "$KEYS/core-01.key" \
	--cert "$KEYS/edge-01.crt" --out "$WORK/out" "$S/payload/appeal.xml" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'does not belong to certificate' "$WORK/err"
ok $? "pack create refuses a key that does not match the certificate"
"$POSGW" pack create --id edge-01 --to core-01 --seq 1 --key "$KEYS/edge-01.key" \
	--cert "$KEYS/edge-01.crt" --out "$WORK/out" "$S/payload/appeal.xml" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'references payload/att/177073571-1.bin, which is not in the package' "$WORK/err"
ok $? "pack create refuses a document whose attachment is missing"
"$POSGW" pack create --id edge-01 --to core-01 --seq 0 --key "$KEYS/edge-01.key" \
	--cert "$KEYS/edge-01.crt" --out "$WORK/out" "$S/payload/appeal.xml" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "pack create --seq 0 is a usage error"
"$POSGW" pack create --id edge-01 --to core-01 --seq 2 --key "$KEYS/edge-01.key" \
	--cert "$KEYS/edge-01.crt" --out "$WORK/out" "payload/../x=$S/payload/appeal.xml" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'is not a payload path' "$WORK/err"
ok $? "pack create refuses a traversal payload path"

# verify: several files, one bad: one line each, exit 1.
cp "$f" "$WORK/copy.pkg"
out=$("$POSGW" pack verify --id core-01 --trust "$WORK/ca/agency-ca.crt" "$f" "$WORK/copy.pkg")
rc=$?
[ $rc -eq 1 ] && [ "$(echo "$out" | wc -l)" -eq 2 ] &&
	echo "$out" | grep -q "^$f: ok\$" &&
	echo "$out" | grep -q "^$WORK/copy.pkg: name: "
ok $? "pack verify prints one line per file and exits 1 if any is rejected"

# --limit: a receiver with smaller limits rejects with size; bad specs are usage errors.
out=$("$POSGW" pack verify --limit entry=3 --id core-01 --trust "$WORK/ca/agency-ca.crt" "$f")
case "$out" in "$f: size: "*) ok 0 "pack verify --limit entry=3 rejects a 4-byte attachment with size" ;; *) ok 1 "pack verify --limit entry=3"; diag "$out" ;; esac
out=$("$POSGW" pack verify --limit file=1K --id core-01 --trust "$WORK/ca/agency-ca.crt" "$f")
case "$out" in "$f: size: file has "*) ok 0 "pack verify --limit file=1K rejects with size" ;; *) ok 1 "pack verify --limit file=1K"; diag "$out" ;; esac
"$POSGW" pack verify --limit bogus=1 --id core-01 --trust "$WORK/ca/agency-ca.crt" "$f" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "pack verify --limit with an unknown name is a usage error"
"$POSGW" pack create --limit entry=2 --id edge-01 --to core-01 --seq 3 --key "$KEYS/edge-01.key" \
	--cert "$KEYS/edge-01.crt" --out "$WORK/out" "$S/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'over the limit of 2' "$WORK/err"
ok $? "pack create refuses what the receiver's limits would reject"

# list and extract.
"$POSGW" pack list "$f" >"$WORK/list"
grep -q 'payload/att/177073571-1.bin' "$WORK/list" && grep -q 'from edge-02 to core-01, seq 12' "$WORK/list"
ok $? "pack list shows the manifest and entries"
"$POSGW" pack extract --id core-01 --trust "$WORK/ca/agency-ca.crt" "$f" "$WORK/x" >/dev/null &&
	cmp -s "$WORK/x/payload/att/177073571-1.bin" "$S/payload/att/177073571-1.bin" &&
	cmp -s "$WORK/x/payload/appeal.xml" "$S/payload/appeal.xml" &&
	[ -f "$WORK/x/manifest.xml" ] && [ -f "$WORK/x/manifest.xml.p7s" ] &&
	[ -z "$(find "$WORK/x" -name '.pkg-*')" ]
ok $? "pack extract writes the verified content and no staging leftovers"
"$POSGW" pack extract --id core-01 --trust "$WORK/ca/agency-ca.crt" "$f" "$WORK/x" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'already exists' "$WORK/err"
ok $? "pack extract never replaces existing files"
mkdir -p "$WORK/y"
ln -s /tmp "$WORK/y/payload"
"$POSGW" pack extract --id core-01 --trust "$WORK/ca/agency-ca.crt" "$f" "$WORK/y" >/dev/null 2>&1
[ $? -eq 1 ] && [ ! -e /tmp/att/177073571-1.bin ] && [ ! -e /tmp/appeal.xml ]
ok $? "pack extract does not follow a symlink planted in DIR"
"$POSGW" pack extract --id core-01 --trust "$KEYS/edge-01.crt" "$f" "$WORK/z" >/dev/null 2>&1
[ $? -eq 1 ] && [ -z "$(find "$WORK/z" -type f)" ]
ok $? "pack extract of an untrusted package writes nothing"

done_testing
