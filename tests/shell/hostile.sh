#!/bin/sh
# hostile.sh: one crafted hostile package per rejection path of package.md
# sections 2-9; each must be rejected whole with its stable code. Packages
# are assembled from stock pieces (rhash digests, certtool signatures) and
# tests/tools/pkgcraft for entries stock tar refuses to write.
. "$(dirname "$0")/lib.sh"

if ! have certtool || ! have rhash; then
	skip "hostile packages" "certtool and rhash are needed (apt-get install gnutls-bin rhash)"
	done_testing
fi
make_keys
mkdir -p "$WORK/out"
ATT=payload/att/177073571-1.bin

# base NAME: a correct payload, manifest and signature in $D; $OUT its file name.
base() {
	D=$WORK/$1
	rm -rf "$D"
	mkdir -p "$D"
	sample_payload "$D"
	U=$(new_uuid)
	stock_manifest "$D" edge-01 core-01 7 "$U" payload/appeal.xml $ATT
	stock_sign "$D" "$KEYS/edge-01.key" "$KEYS/edge-01.crt"
	OUT=$WORK/out/$(pkgname 7 "$U")
}

# head_specs: the manifest and signature entries of $D.
head_specs() {
	echo "file:manifest.xml=$D/manifest.xml file:manifest.xml.p7s=$D/manifest.xml.p7s"
}

# craft SPEC...: assemble $OUT from the manifest, signature and SPECs.
craft() {
	"$PKGCRAFT" "$OUT" $(head_specs) "$@"
}

body="file:payload/appeal.xml=\$D/payload/appeal.xml"

# 0. The crafting itself is right: an untouched package passes.
base good
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_ok "$OUT" "crafted reference package is accepted"

# --- name (section 2) ---
base name1
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
cp "$OUT" "$WORK/out/Edge-01.000000000007.$U.pkg"
expect_code "$WORK/out/Edge-01.000000000007.$U.pkg" name "uppercase sender in file name"
cp "$OUT" "$WORK/out/edge-01.000000000008.$U.pkg"
expect_code "$WORK/out/edge-01.000000000008.$U.pkg" name "seq in name differs from manifest"
other=$WORK/out/edge-01.000000000007.$(new_uuid).pkg
cp "$OUT" "$other"
expect_code "$other" name "uuid in name differs from manifest"
rm -f "$WORK"/out/edge-01.000000000007.*.pkg "$WORK"/out/edge-01.000000000008.*.pkg

# --- archive (section 3) ---
base trunc
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
size=$(stat -c %s "$OUT")
head -c $((size / 2)) "$OUT" >"$OUT.t" && mv "$OUT.t" "$OUT"
expect_code "$OUT" archive "truncated archive"

base random
head -c 65536 /dev/urandom >"$OUT"
expect_code "$OUT" archive "random bytes"

base empty
: >"$OUT"
expect_code "$OUT" archive "empty file"

base gz
"$PKGCRAFT" --filter gzip "$OUT" $(head_specs) "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" archive "gzip when only zstd is allowed" --filters zstd
expect_ok "$OUT" "gzip when gzip is allowed"

base plain
"$PKGCRAFT" --filter none "$OUT" $(head_specs) "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" archive "uncompressed when only zstd,gzip are allowed" --filters zstd,gzip

base nested
"$PKGCRAFT" --filter gzip "$OUT.in" $(head_specs) "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
zstd -q -c "$OUT.in" >"$OUT" && rm -f "$OUT.in"
expect_code "$OUT" archive "gzip nested inside zstd"

base notar
zstd -q -c "$D/manifest.xml" >"$OUT"
expect_code "$OUT" archive "zstd stream that is not a tar"

# --- entry (section 3) ---
base traversal
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT" "file:payload/../../etc/cron.d/x=$D/$ATT"
expect_code "$OUT" entry "path traversal payload/../../etc"

base absolute
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT" "file:/etc/passwd=$D/$ATT"
expect_code "$OUT" entry "absolute path"

base outside
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT" "file:other/x.bin=$D/$ATT"
expect_code "$OUT" entry "path outside payload/"

base deep
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT" "file:payload/a/b/c/d=$D/$ATT"
expect_code "$OUT" entry "four path components"

base symlink
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "symlink:$ATT=/etc/passwd"
expect_code "$OUT" entry "symlink entry"

base hardlink
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "hardlink:$ATT=manifest.xml"
expect_code "$OUT" entry "hardlink entry"

base dir
craft "dir:payload/" "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" entry "directory entry"

base chardev
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "chardev:$ATT"
expect_code "$OUT" entry "character device entry"

base blockdev
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "blockdev:$ATT"
expect_code "$OUT" entry "block device entry"

base fifo
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "fifo:$ATT"
expect_code "$OUT" entry "fifo entry"

base gnulong
long=payload/$(printf 'a%.0s' $(seq 1 120))/../../../etc/passwd
"$PKGCRAFT" --format gnu "$OUT" $(head_specs) "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT" "file:$long=$D/$ATT"
expect_code "$OUT" entry "GNU long name resolving to a bad path"

base dup
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT" "file:$ATT=$D/$ATT"
expect_code "$OUT" entry "duplicate entry"

base unlisted
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT" "file:payload/att/extra.bin=$D/$ATT"
expect_code "$OUT" entry "entry not listed in the manifest"

base missing
craft "file:payload/appeal.xml=$D/payload/appeal.xml"
expect_code "$OUT" entry "manifest entry missing from the archive"

base order
"$PKGCRAFT" "$OUT" "file:manifest.xml.p7s=$D/manifest.xml.p7s" "file:manifest.xml=$D/manifest.xml" "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" entry "signature before manifest"

# --- manifest (section 4) ---
base nomanifest
"$PKGCRAFT" "$OUT"
expect_code "$OUT" manifest "tar with no entries"

base doctype
sed -i '1a <!DOCTYPE package [ <!ENTITY x SYSTEM "file:///etc/passwd"> ]>' "$D/manifest.xml"
stock_sign "$D" "$KEYS/edge-01.key" "$KEYS/edge-01.crt"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" manifest "DOCTYPE with external entity in manifest"

base badschema
sed -i 's/format="1"/format="2"/' "$D/manifest.xml"
stock_sign "$D" "$KEYS/edge-01.key" "$KEYS/edge-01.crt"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" manifest "manifest format 2"

base dupmanifest
sed -i "s|</package>|  <entry path=\"$ATT\" size=\"4\" digest=\"$(gost "$D/$ATT")\"/>\n</package>|" "$D/manifest.xml"
stock_sign "$D" "$KEYS/edge-01.key" "$KEYS/edge-01.crt"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" manifest "entry listed twice in the manifest"

base sha
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" manifest "streebog256 when only sha256 is allowed" --digests sha256

base bigmanifest
"$PKGCRAFT" "$OUT" "zeros:manifest.xml=9000000"
expect_code "$OUT" size "manifest.xml over 8 MiB"

# --- recipient (section 4) ---
base recipient
stock_manifest "$D" edge-01 core-02 7 "$U" payload/appeal.xml $ATT
stock_sign "$D" "$KEYS/edge-01.key" "$KEYS/edge-01.crt"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" recipient "package for another gateway"

# --- signature and untrusted (section 5) ---
base altered
sed -i 's/seq="7"/seq="7" /' "$D/manifest.xml"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" signature "manifest altered after signing"

base notime
certtool --p7-detached-sign --outder --load-privkey "$KEYS/edge-01.key" \
	--load-certificate "$KEYS/edge-01.crt" --infile "$D/manifest.xml" \
	--outfile "$D/manifest.xml.p7s" >/dev/null 2>&1
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" signature "signature without signingTime"

base embedded
certtool --p7-sign --p7-time --outder --load-privkey "$KEYS/edge-01.key" \
	--load-certificate "$KEYS/edge-01.crt" --infile "$D/manifest.xml" \
	--outfile "$D/manifest.xml.p7s" >/dev/null 2>&1
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" signature "embedded instead of detached signature"

base garbagesig
head -c 700 /dev/urandom >"$D/manifest.xml.p7s"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" signature "random bytes as signature"

base algo
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" signature "GOST signature when only ecdsa is allowed" --algorithms ecdsa,ed25519

base untrusted
"$POSGW" keys generate --id edge-01 --out "$WORK/rogue" >/dev/null
stock_sign "$D" "$WORK/rogue/edge-01.key" "$WORK/rogue/edge-01.crt"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" untrusted "signer with the right CN but not the trusted certificate"

base cnmismatch
stock_sign "$D" "$KEYS/core-01.key" "$KEYS/core-01.crt"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" untrusted "trusted signer whose CN is not the sender" --trust "$KEYS/core-01.crt"

# certtool-made certificates: expired, and without digitalSignature
certtool --generate-privkey --key-type gost12-256 --outfile "$WORK/old.key" >/dev/null 2>&1
cat >"$WORK/old.tmpl" <<'TMPL'
cn = "edge-01"
activation_date = "2020-01-01 00:00:00"
expiration_date = "2021-01-01 00:00:00"
signing_key
TMPL
certtool --generate-self-signed --load-privkey "$WORK/old.key" --template "$WORK/old.tmpl" --outfile "$WORK/old.crt" >/dev/null 2>&1
base expired
stock_sign "$D" "$WORK/old.key" "$WORK/old.crt"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" untrusted "expired signer certificate" --trust "$WORK/old.crt"

cat >"$WORK/enc.tmpl" <<'TMPL'
cn = "edge-01"
expiration_days = 30
encryption_key
TMPL
certtool --generate-self-signed --load-privkey "$WORK/old.key" --template "$WORK/enc.tmpl" --outfile "$WORK/enc.crt" >/dev/null 2>&1
base nodigsig
stock_sign "$D" "$WORK/old.key" "$WORK/enc.crt"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" untrusted "certificate without digitalSignature" --trust "$WORK/enc.crt"

# --- digest (section 8 step 3) ---
base digest
printf 'JPEX' >"$WORK/jpex"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$WORK/jpex"
expect_code "$OUT" digest "attachment content differs (same size)"

base size
printf 'JPEGX' >"$WORK/jpegx"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$WORK/jpegx"
expect_code "$OUT" digest "attachment longer than the manifest says"

base short
printf 'JP' >"$WORK/jp"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$WORK/jp"
expect_code "$OUT" digest "attachment shorter than the manifest says"

# Compression bomb: 3 GiB of zeros behind a 4-byte manifest entry. The
# reader must stop at the limit: a 4 MiB file-size limit and a 5 s CPU limit
# kill it otherwise (resource bounds, not a timing assertion).
base bomb
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "zeros:$ATT=3221225472"
diag "bomb: $(stat -c %s "$OUT") bytes on disk for 3 GiB of content"
start=$(date +%s%N)
out=$( (ulimit -f 4096; ulimit -t 5; "$POSGW" pack verify --id core-01 --trust "$KEYS/edge-01.crt" "$OUT") 2>&1)
rc=$?
end=$(date +%s%N)
diag "bomb rejected in $(( (end - start) / 1000000 )) ms: $out"
case "$out" in "$OUT: digest: "*"larger than"*) [ $rc -eq 1 ]; ok $? "compression bomb cut off at the manifest size" ;;
*) ok 1 "compression bomb cut off at the manifest size" ;; esac

# --- payload (section 6, step 4) ---
base unref
printf 'spare' >"$D/payload/att/spare.bin"
stock_manifest "$D" edge-01 core-01 7 "$U" payload/appeal.xml $ATT payload/att/spare.bin
stock_sign "$D" "$KEYS/edge-01.key" "$KEYS/edge-01.crt"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT" "file:payload/att/spare.bin=$D/payload/att/spare.bin"
expect_code "$OUT" payload "attachment nothing references"

# payload_doc NAME SED: replace the appeal with an edited one and re-sign.
payload_doc() {
	base "$1"
	sed -i "$2" "$D/payload/appeal.xml"
	stock_manifest "$D" edge-01 core-01 7 "$U" payload/appeal.xml $ATT
	stock_sign "$D" "$KEYS/edge-01.key" "$KEYS/edge-01.crt"
	craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
}

payload_doc refmissing 's|payload/att/177073571-1.bin|payload/att/other.bin|'
expect_code "$OUT" payload "appeal references an attachment not in the package"

payload_doc sizeattr 's/size="4"/size="5"/'
expect_code "$OUT" payload "attachment size in the document differs"

payload_doc invalid 's/pos-id="177073571"//'
expect_code "$OUT" payload "appeal without pos-id fails the schema"

payload_doc pdoctype '1a <!DOCTYPE appeal [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>'
expect_code "$OUT" payload "DOCTYPE with external entity in a payload"

base laughs
{
	echo '<?xml version="1.0"?>'
	echo '<!DOCTYPE lolz [<!ENTITY lol "lol">'
	prev=lol
	for i in 1 2 3 4 5 6 7 8 9; do
		echo "<!ENTITY lol$i \"&$prev;&$prev;&$prev;&$prev;&$prev;&$prev;&$prev;&$prev;&$prev;&$prev;\">"
		prev=lol$i
	done
	echo ']>'
	echo '<appeal xmlns="urn:posgw:exchange:1">&lol9;</appeal>'
} >"$D/payload/appeal.xml"
stock_manifest "$D" edge-01 core-01 7 "$U" payload/appeal.xml $ATT
stock_sign "$D" "$KEYS/edge-01.key" "$KEYS/edge-01.crt"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
out=$( (ulimit -t 5; "$POSGW" pack verify --id core-01 --trust "$KEYS/edge-01.crt" "$OUT") 2>&1)
case "$out" in "$OUT: payload: "*DOCTYPE*) ok 0 "billion laughs -> payload" ;; *) ok 1 "billion laughs -> payload"; diag "$out" ;; esac

base deep20k
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	i=0; while [ $i -lt 20000 ]; do printf '<appeal xmlns="urn:posgw:exchange:1">'; i=$((i + 1)); done
	i=0; while [ $i -lt 20000 ]; do printf '</appeal>'; i=$((i + 1)); done
	echo
} >"$D/payload/appeal.xml"
stock_manifest "$D" edge-01 core-01 7 "$U" payload/appeal.xml $ATT
stock_sign "$D" "$KEYS/edge-01.key" "$KEYS/edge-01.crt"
craft "file:payload/appeal.xml=$D/payload/appeal.xml" "file:$ATT=$D/$ATT"
expect_code "$OUT" payload "20,000-deep payload"

# Nothing from any rejected package may remain in the staging area.
left=$(find "$TMPDIR" -mindepth 1 | wc -l)
[ "$left" -eq 0 ]
ok $? "no staging leftovers after rejections"

done_testing
