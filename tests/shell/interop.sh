#!/bin/sh
# interop.sh: packages made with stock tools (bsdtar or GNU tar, zstd or
# gzip, certtool, rhash) verify with posgw, and packages made by posgw verify
# with stock tools (certtool --p7-verify, bsdtar, rhash), for every algorithm.
. "$(dirname "$0")/lib.sh"

for t in bsdtar tar zstd gzip certtool rhash; do
	if ! have $t; then
		skip "interoperability with stock tools" "$t missing (apt-get install libarchive-tools tar zstd gzip gnutls-bin rhash)"
		done_testing
	fi
done
make_keys
mkdir -p "$WORK/out"
ATT=payload/att/177073571-1.bin

# stock_pkg TAR COMPRESSOR KEY CERT: a package built only with stock tools.
stock_pkg() {
	D=$WORK/stock-$1-$2
	rm -rf "$D"
	mkdir -p "$D"
	sample_payload "$D"
	U=$(new_uuid)
	stock_manifest "$D" edge-01 core-01 3 "$U" payload/appeal.xml $ATT
	stock_sign "$D" "$3" "$4" || return 1
	OUT=$WORK/out/$(pkgname 3 "$U")
	case $1 in
	bsdtar) (cd "$D" && bsdtar --format pax -cf - manifest.xml manifest.xml.p7s payload/appeal.xml $ATT) ;;
	tar) (cd "$D" && tar --format=pax -cf - manifest.xml manifest.xml.p7s payload/appeal.xml $ATT) ;;
	esac | case $2 in
	zstd) zstd -q -c ;;
	gzip) gzip -c ;;
	none) cat ;;
	esac >"$OUT"
}

for tool in bsdtar tar; do
	for comp in zstd gzip none; do
		stock_pkg $tool $comp "$KEYS/edge-01.key" "$KEYS/edge-01.crt"
		expect_ok "$OUT" "stock $tool + $comp + certtool + rhash package verifies"
	done
done

# Stock packages signed with each algorithm certtool can make.
for kt in gost12-256 gost12-512 ecdsa ed25519; do
	K=$WORK/ct-$kt
	mkdir -p "$K"
	if [ $kt = ecdsa ]; then extra="--curve secp256r1"; else extra=""; fi
	certtool --generate-privkey --key-type $kt $extra --outfile "$K/key.pem" >/dev/null 2>&1
	printf 'cn = "edge-01"\nexpiration_days = 30\nsigning_key\n' >"$K/tmpl"
	certtool --generate-self-signed --load-privkey "$K/key.pem" --template "$K/tmpl" --outfile "$K/cert.pem" >/dev/null 2>&1
	stock_pkg bsdtar zstd "$K/key.pem" "$K/cert.pem"
	out=$("$POSGW" pack verify --id core-01 --trust "$K/cert.pem" "$OUT" 2>&1)
	[ "$out" = "$OUT: ok" ]
	ok $? "stock package signed by certtool with $kt verifies"
	[ "$out" = "$OUT: ok" ] || diag "$out"
done

# posgw packages check out with stock tools, for each algorithm and compression.
for alg in gost256 gost512 ecdsa ed25519; do
	K=$WORK/pk-$alg
	"$POSGW" keys generate --id edge-01 --algorithm $alg --out "$K" >/dev/null
	for comp in zstd gzip none; do
		S=$WORK/src-$alg-$comp
		rm -rf "$S" "$WORK/x"
		mkdir -p "$S" "$WORK/x" "$WORK/o-$alg-$comp"
		sample_payload "$S"
		f=$("$POSGW" pack create --id edge-01 --to core-01 --seq 5 --key "$K/edge-01.key" \
			--cert "$K/edge-01.crt" --out "$WORK/o-$alg-$comp" --compress $comp \
			"$S/payload/appeal.xml" "$ATT=$S/$ATT")
		bsdtar -xf "$f" -C "$WORK/x" 2>/dev/null &&
			first=$(bsdtar -tf "$f" | head -2 | tr '\n' ' ') &&
			[ "$first" = "manifest.xml manifest.xml.p7s " ] &&
			certtool --p7-verify --inder --infile "$WORK/x/manifest.xml.p7s" \
				--load-data "$WORK/x/manifest.xml" \
				--load-ca-certificate "$K/edge-01.crt" >/dev/null 2>&1 &&
			grep -q "path=\"payload/appeal.xml\" size=\"$(stat -c %s "$WORK/x/payload/appeal.xml")\" digest=\"$(gost "$WORK/x/payload/appeal.xml")\"" "$WORK/x/manifest.xml" &&
			grep -q "path=\"$ATT\" size=\"4\" digest=\"$(gost "$WORK/x/$ATT")\"" "$WORK/x/manifest.xml"
		ok $? "posgw $alg/$comp package verifies with bsdtar, certtool and rhash"
	done
done

# The sha256 digest setting checks out with sha256sum.
S=$WORK/src-sha
mkdir -p "$S" "$WORK/o-sha" "$WORK/xs"
sample_payload "$S"
f=$("$POSGW" pack create --id edge-01 --to core-01 --seq 6 --key "$KEYS/edge-01.key" \
	--cert "$KEYS/edge-01.crt" --out "$WORK/o-sha" --digest sha256 \
	"$S/payload/appeal.xml" "$ATT=$S/$ATT")
bsdtar -xf "$f" -C "$WORK/xs" &&
	grep -q 'digest="sha256"' "$WORK/xs/manifest.xml" &&
	grep -q "digest=\"$(sha256sum "$WORK/xs/$ATT" | cut -d' ' -f1)\"" "$WORK/xs/manifest.xml"
ok $? "sha256 package digests match sha256sum"

done_testing
