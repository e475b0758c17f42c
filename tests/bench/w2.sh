#!/bin/bash
# w2.sh: workload 2, one package with a big attachment (BENCH_BIG, default
# 1G, incompressible, from /dev/urandom) referenced by an appeal. Three
# steps, each timed under benchrun (wall time, peak RSS), on the same bytes:
#   pack    posgw pack create (edge-01 -> core-01)
#           peer: tests/bench/peer-send
#           floor: zstd -3 -T1 of the attachment + Streebog-256 of it
#   verify  posgw pack verify of that package (staging under $BENCH_WORK)
#           peer: PEER_CHECK_ONLY=1 tests/bench/peer-receive (certtool
#           --p7-verify, bsdtar -x, rhash -c)
#           floor: zstd -d of the package + Streebog-256 of the attachment
#   import  posgw-core --once with the package in its inbox: from the inbox
#           to committed in its journal and the appeal folder with the
#           attachment durably in the EDMS export folder (the round also
#           packs the receipt); the core's database was made by an earlier
#           empty round
#           peer: tests/bench/peer-receive (+ sqlite3, mv into DEST)
#           floor: the verify floor + one fsync
# MB/s are 10^6 attachment bytes per second of wall time; the floor's time
# is the sum of its parts, each one single-threaded. posgw's pack is too;
# its verify and import run the digest of a big entry on a thread of its
# own, beside the reader (zstd -d) and, importing, a thread writing the
# staged entry: they may pass the floor, whose parts they overlap.
# Peak RSS is the largest single process (getrusage of the waited tree):
# posgw's one process, the peer's biggest tool; the floor has none (the
# target is 32 MiB at any size).
# The same again with the sha256 digest (posgw --digest sha256, peer
# PEER_DIGEST=sha256, floor SHA-256) unless BENCH_W2_SHA256=0.
set -u
. "$TOP_SRCDIR/tests/bench/lib.sh"
bench_need bsdtar zstd rhash certtool sqlite3
BIG=${BENCH_BIG:-1G}
W=$BENCH_WORK
T=$BENCH_TOOLS
PEER_SEND=$TOP_SRCDIR/tests/bench/peer-send
PEER_RECEIVE=$TOP_SRCDIR/tests/bench/peer-receive
# pack verify stages the content under $TMPDIR: keep it on the disk under test
TMPDIR=$W/tmp
export TMPDIR
mkdir -p "$TMPDIR" "$W/keys" "$W/src" "$W/peer-src/att" || exit 1
KEYS=$W/keys

w2_fail() {
	echo "bench: w2: $*" >&2
	exit 1
}

bench_keys "$KEYS" edge-01 core-01 official

bench_log "w2: a $BIG attachment from /dev/urandom"
head -c "$BIG" /dev/urandom >"$W/src/att.bin" || w2_fail "cannot write $BIG of random bytes"
BYTES=$(stat -c %s "$W/src/att.bin")
[ "$BYTES" -gt 0 ] || w2_fail "BENCH_BIG=$BIG gave no bytes"
# The receiver's limits (package.md section 7) raised for the attachment.
LIM_ENTRY=$((BYTES + 1048576))
LIM_TOTAL=$((BYTES + 16777216))
LIM_FILE=$((BYTES + BYTES / 64 + 16777216))
LIMITS="--limit entry=$LIM_ENTRY --limit total=$LIM_TOTAL --limit file=$LIM_FILE"

# The appeal of the spec's example, referencing the attachment by its size.
sed -e "s/size=\"4\"/size=\"$BYTES\"/" "$TOP_SRCDIR/tests/data/examples/appeal.xml" \
	>"$W/src/appeal.xml" || exit 1
grep -q "size=\"$BYTES\"" "$W/src/appeal.xml" || w2_fail "cannot set the size in appeal.xml"
# The peer sends the same two files (a hard link: the same bytes, no copy).
cp "$W/src/appeal.xml" "$W/peer-src/appeal.xml" &&
	{ ln "$W/src/att.bin" "$W/peer-src/att/177073571-1.bin" 2>/dev/null ||
		cp "$W/src/att.bin" "$W/peer-src/att/177073571-1.bin"; } || exit 1

# w2_mbs SECONDS: attachment MB/s.
w2_mbs() {
	bench_div "$BYTES" "$(awk -v s="$1" 'BEGIN { print s * 1000000 }')" 1
}
# w2_mib KIB: MiB with one decimal.
w2_mib() {
	bench_div "$1" 1024 1
}
# w2_add A B...: the sum of seconds.
w2_add() {
	awk 'BEGIN { s = 0; for (i = 1; i < ARGC; i++) s += ARGV[i]; printf "%.3f\n", s }' "$@"
}
# w2_pct PART WHOLE: PART as a whole percentage of WHOLE.
w2_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.0f\n", 100 * a / b }'
}

# w2_core DIR: a core-01 configuration under DIR (state, inbox, EDMS) with
# the receiver's limits raised; sets CORE_CONF.
w2_core() {
	mkdir -p "$1/inbox" "$1/outbox" "$1/edms/export" "$1/edms/import" || exit 1
	CORE_CONF=$1/core.conf
	cat >"$CORE_CONF" <<CONF
[gateway]
id = core-01
peer = edge-01
key = $KEYS/core-01.key
cert = $KEYS/core-01.crt
trust = $KEYS/edge-01.crt
state = $1/state

[transfer]
inbox = $1/inbox
outbox = $1/outbox
max_wait_ms = 0
receipt_delay = 0
; W2 imports what the stock-tools pipeline packs: plain packages
accept_plain = yes

[limits]
entry = $LIM_ENTRY
total = $LIM_TOTAL
file = $LIM_FILE

[edms]
export = $1/edms/export
import = $1/edms/import
signer_trust = $KEYS/official.crt
CONF
}

# w2_variant DIGEST RHASH-NAME: the three steps with one digest.
w2_variant() {
	dig=$1 rdig=$2
	v=$W/$dig
	mkdir -p "$v/out" "$v/peer-out" "$v/peer-stage" "$v/peer-dest" || exit 1
	if [ "$dig" = streebog256 ]; then
		sfx='' what=Streebog-256
	else
		sfx=" ($dig)" what=SHA-256
	fi

	# floor: the parts, each alone over the same bytes
	bench_drop_caches
	bench_time "$v/hash.run" "$T/benchfloor" hash "$dig" "$W/src/att.bin" >"$v/hash.out" ||
		w2_fail "benchfloor hash"
	t_hash=$(awk '{print $2}' "$v/hash.out")
	bench_drop_caches
	bench_time "$v/zc.run" zstd -3 -T1 -q -c "$W/src/att.bin" >/dev/null || w2_fail "zstd -3"
	t_zc=$BT_WALL
	bench_drop_caches
	bench_time "$v/fsync.run" "$T/benchfloor" fsync "$v" 1 >"$v/fsync.out" || w2_fail "benchfloor fsync"
	t_fsync=$(awk '{print $2}' "$v/fsync.out")

	# pack
	bench_log "w2: pack$sfx"
	bench_drop_caches
	# shellcheck disable=SC2086
	bench_time "$v/pack.run" "$POSGW" pack create --id edge-01 --to core-01 --seq 1 \
		--key "$KEYS/edge-01.key" --cert "$KEYS/edge-01.crt" --out "$v/out" \
		--digest "$dig" $LIMITS "$W/src/appeal.xml" \
		"payload/att/177073571-1.bin=$W/src/att.bin" >"$v/pack.path" ||
		w2_fail "posgw pack create failed"
	p_pack=$BT_WALL r_pack=$BT_RSS
	pkg=$(cat "$v/pack.path")
	[ -f "$pkg" ] || w2_fail "posgw pack create made no package"
	bench_drop_caches
	bench_time "$v/peer-pack.run" env PEER_DIGEST="$rdig" PEER_ID=edge-01 sh "$PEER_SEND" \
		"$W/peer-src" "$v/peer-out" "$KEYS/edge-01.key" "$KEYS/edge-01.crt" >"$v/peer.path" ||
		w2_fail "peer-send failed"
	q_pack=$BT_WALL s_pack=$BT_RSS
	ppkg=$(cat "$v/peer.path")

	# seal and open (formats/envelope.md): posgw only, stock tools have no
	# Kuznyechik; the floor is one Kuznyechik CTR-ACPKM + OMAC pass and one
	# digest pass (the auditors' digest of package.enc) over the package
	bench_drop_caches
	bench_time "$v/kuz.run" "$T/benchfloor" encrypt "$pkg" >"$v/kuz.out" ||
		w2_fail "benchfloor encrypt"
	t_kuz=$(awk '{print $2}' "$v/kuz.out")
	bench_drop_caches
	bench_time "$v/phash.run" "$T/benchfloor" hash "$dig" "$pkg" >"$v/phash.out" ||
		w2_fail "benchfloor hash of the package"
	t_phash=$(awk '{print $2}' "$v/phash.out")
	mkdir -p "$v/sealed" "$v/opened" || exit 1
	bench_log "w2: seal and open$sfx"
	bench_drop_caches
	bench_time "$v/seal.run" "$POSGW" pack encrypt --key "$KEYS/edge-01.key" \
		--cert "$KEYS/edge-01.crt" --to "$KEYS/core-01.crt" --digest "$dig" \
		"$pkg" "$v/sealed" >"$v/seal.path" || w2_fail "posgw pack encrypt failed"
	p_seal=$BT_WALL r_seal=$BT_RSS
	bench_drop_caches
	bench_time "$v/open.run" "$POSGW" pack decrypt --id core-01 --trust "$KEYS/edge-01.crt" \
		--exchange-key "$KEYS/core-01.key" --exchange-cert "$KEYS/core-01.crt" \
		"$(cat "$v/seal.path")" "$v/opened" >"$v/open.out" 2>&1 ||
		w2_fail "posgw pack decrypt failed: $(cat "$v/open.out")"
	p_open=$BT_WALL r_open=$BT_RSS
	cmp -s "$v/opened/$(basename "$pkg")" "$pkg" || w2_fail "the opened package differs from the sealed one"
	rm -rf "$v/sealed" "$v/opened"

	bench_drop_caches
	bench_time "$v/zd.run" zstd -d -q -c "$pkg" >/dev/null || w2_fail "zstd -d"
	t_zd=$BT_WALL

	# verify
	bench_log "w2: verify$sfx"
	bench_drop_caches
	# shellcheck disable=SC2086
	bench_time "$v/verify.run" "$POSGW" pack verify --id core-01 --trust "$KEYS/edge-01.crt" \
		$LIMITS "$pkg" >"$v/verify.out" 2>&1 ||
		w2_fail "posgw pack verify failed: $(cat "$v/verify.out")"
	p_verify=$BT_WALL r_verify=$BT_RSS
	bench_drop_caches
	bench_time "$v/peer-verify.run" env PEER_CHECK_ONLY=1 sh "$PEER_RECEIVE" "$ppkg" \
		"$v/peer-stage" "$v/peer-dest" "$v/peer.db" "$KEYS/edge-01.crt" ||
		w2_fail "peer-receive (check only) failed"
	q_verify=$BT_WALL s_verify=$BT_RSS

	# import: an empty round first makes the core's database
	w2_core "$v/core"
	"$POSGW_CORE" --config "$CORE_CONF" --once 2>>"$v/core.log" || w2_fail "posgw-core's first round failed"
	mv "$pkg" "$v/core/inbox/" || exit 1
	bench_log "w2: import$sfx"
	bench_drop_caches
	bench_time "$v/import.run" "$POSGW_CORE" --config "$CORE_CONF" --once 2>>"$v/core.log" ||
		w2_fail "posgw-core --once failed: $(tail -3 "$v/core.log")"
	p_import=$BT_WALL r_import=$BT_RSS
	db=$v/core/state/posgw.db
	[ "$(sqlite3 -batch -noheader "$db" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='appeal' AND pos_id='177073571'")" = 1 ] ||
		w2_fail "posgw-core did not import the appeal: $(tail -3 "$v/core.log")"
	[ -z "$(ls -A "$v/core/inbox")" ] || w2_fail "the package is still in the core's inbox"
	exp=$(find "$v/core/edms/export/177073571" -type f ! -name appeal.xml -size "${BYTES}c" 2>/dev/null | head -1)
	[ -n "$exp" ] || w2_fail "the attachment is not in the EDMS export folder: $(tail -3 "$v/core.log")"
	cmp -s "$exp" "$W/src/att.bin" || w2_fail "the exported attachment differs from the original"
	bench_drop_caches
	bench_time "$v/peer-import.run" sh "$PEER_RECEIVE" "$ppkg" "$v/peer-stage" "$v/peer-dest" \
		"$v/peer.db" "$KEYS/edge-01.crt" || w2_fail "peer-receive failed"
	q_import=$BT_WALL s_import=$BT_RSS
	[ "$(sqlite3 -batch -noheader "$v/peer.db" "SELECT COUNT(*) FROM received")" = 2 ] ||
		w2_fail "peer-receive recorded no rows"

	f_pack=$(w2_add "$t_zc" "$t_hash")
	f_verify=$(w2_add "$t_zd" "$t_hash")
	f_import=$(w2_add "$t_zd" "$t_hash" "$t_fsync")
	bench_log "w2$sfx: pack $p_pack s (peer $q_pack, floor $t_zc + $t_hash)," \
		"verify $p_verify s (peer $q_verify, floor $t_zd + $t_hash)," \
		"import $p_import s (peer $q_import, floor + fsync $t_fsync)"
	# what bounds it: the digest's share of posgw's wall time, the rest named
	h_pack=$(w2_pct "$t_hash" "$p_pack")
	h_verify=$(w2_pct "$t_hash" "$p_verify")
	h_import=$(w2_pct "$t_hash" "$p_import")
	bench_row w2 "pack throughput$sfx" MB/s higher "$(w2_mbs "$p_pack")" "$(w2_mbs "$q_pack")" \
		"$(w2_mbs "$f_pack")" "$what pass over the file alone = $h_pack % of the wall; then a second pass: zstd + writing the package + fsync (one thread)"
	bench_row w2 "verify throughput$sfx" MB/s higher "$(w2_mbs "$p_verify")" "$(w2_mbs "$q_verify")" \
		"$(w2_mbs "$f_verify")" "$what alone = $h_verify % of the wall, on a thread of its own; zstd -d and reading the package overlap it (attachments hashed and dropped)"
	bench_row w2 "import throughput$sfx" MB/s higher "$(w2_mbs "$p_import")" "$(w2_mbs "$q_import")" \
		"$(w2_mbs "$f_import")" "$what alone = $h_import % of the wall, on a thread of its own; zstd -d and one O_DIRECT write of the bytes (staged entry = store file) overlap it on two more; then fsync, commit, the package's unlink; the export is a hard link"
	f_seal=$(w2_add "$t_kuz" "$t_phash")
	bench_row w2 "seal throughput$sfx" MB/s higher "$(w2_mbs "$p_seal")" - \
		"$(w2_mbs "$f_seal")" "Kuznyechik CTR-ACPKM+OMAC $t_kuz s + $what of package.enc $t_phash s; then the ciphertext is written twice (a private file, then the envelope) + fsync"
	bench_row w2 "open throughput$sfx" MB/s higher "$(w2_mbs "$p_open")" - \
		"$(w2_mbs "$f_seal")" "the same two passes in one read; the plain package written once to the private file"
	bench_row w2 "seal peak RSS$sfx" MiB lower "$(w2_mib "$r_seal")" - - "streaming: 256 KiB chunks"
	bench_row w2 "open peak RSS$sfx" MiB lower "$(w2_mib "$r_open")" - - "streaming: 256 KiB chunks"
	bench_row w2 "pack peak RSS$sfx" MiB lower "$(w2_mib "$r_pack")" "$(w2_mib "$s_pack")" - \
		"target <= 32 MiB; streaming: 256 KiB chunks + libzstd level-3 context whatever the size"
	bench_row w2 "verify peak RSS$sfx" MiB lower "$(w2_mib "$r_verify")" "$(w2_mib "$s_verify")" - \
		"target <= 32 MiB; streaming: 256 KiB chunks + zstd window whatever the size"
	bench_row w2 "import peak RSS$sfx" MiB lower "$(w2_mib "$r_import")" "$(w2_mib "$s_import")" - \
		"target <= 32 MiB; streaming: 256 KiB chunks + zstd window + SQLite and schema caches"
	# free the disk for the next variant
	rm -rf "$v"
}

w2_variant streebog256 gost12-256
if [ "${BENCH_W2_SHA256:-1}" != 0 ]; then
	w2_variant sha256 sha256
fi
exit 0
