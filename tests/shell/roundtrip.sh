#!/bin/sh
# roundtrip.sh: posgw pack create -> verify -> extract for every algorithm,
# compression and digest, with a multi-megabyte attachment.
. "$(dirname "$0")/lib.sh"

head -c 3000000 /dev/urandom >"$WORK/big.bin"
for alg in gost256 gost512 ecdsa ed25519; do
	"$POSGW" keys generate --id edge-01 --algorithm $alg --out "$WORK/k-$alg" >/dev/null
	for comp in zstd gzip none; do
		for dig in streebog256 sha256; do
			S=$WORK/s-$alg-$comp-$dig
			mkdir -p "$S" "$S.out"
			sample_payload "$S"
			cp "$WORK/big.bin" "$S/payload/att/177073571-1.bin"
			sed -i 's/size="4"/size="3000000"/' "$S/payload/appeal.xml"
			f=$("$POSGW" pack create --id edge-01 --to core-01 --seq 1 \
				--key "$WORK/k-$alg/edge-01.key" --cert "$WORK/k-$alg/edge-01.crt" \
				--out "$S.out" --compress $comp --digest $dig "$S/payload/appeal.xml" \
				"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin") &&
				out=$("$POSGW" pack verify --id core-01 --trust "$WORK/k-$alg/edge-01.crt" "$f") &&
				[ "$out" = "$f: ok" ] &&
				"$POSGW" pack extract --id core-01 --trust "$WORK/k-$alg/edge-01.crt" "$f" "$S.x" >/dev/null &&
				cmp -s "$S.x/payload/att/177073571-1.bin" "$WORK/big.bin"
			ok $? "round trip $alg / $comp / $dig"
			rm -rf "$S" "$S.out" "$S.x"
		done
	done
done
done_testing
