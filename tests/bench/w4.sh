#!/bin/bash
# w4.sh: workload 4, one package of many small entries: BENCH_MANY (default
# 10000) appeals like the spec's example (tests/data/examples/appeal.xml),
# each with its own pos-id, and with BENCH_MANY_ATT=1 one 4-byte attachment
# each (then the package holds 2 * BENCH_MANY entries and the entries limit
# is raised to match). Three steps, each under benchrun (peak RSS; the wall
# time is shown but is no target):
#   pack    posgw pack create (edge-01 -> core-01) of every file
#   verify  posgw pack verify of that package
#   import  posgw-core --once with the package in its inbox (accept_plain):
#           verified, every appeal stored and journaled, the first batch
#           exported to the EDMS folder, the receipt packed; its database made by an earlier
#           empty round
# Peak RSS is getrusage of the waited process. Target: <= 32 MiB each
# (issue 16). No peer and no floor: memory is the figure here.
# With BENCH_GROWTH=N, then the growth run (tests/bench/w4-growth.sh): a
# backlog of 10000 and of N appeals drained by posgw-edge and posgw-core.
# Standalone: TOP_SRCDIR=. TOP_BUILDDIR=. BENCH_TOOLS=tests/bench \
#   POSGW=./posgw POSGW_CORE=./posgw-core BENCH_WORK=$(mktemp -d) \
#   BENCH_CSV=/dev/stdout bash tests/bench/w4.sh
set -u
. "$TOP_SRCDIR/tests/bench/lib.sh"
bench_need sqlite3
N=${BENCH_MANY:-10000}
ATT=${BENCH_MANY_ATT:-0}
W=$BENCH_WORK
T=$BENCH_TOOLS
TMPDIR=$W/tmp
export TMPDIR
mkdir -p "$TMPDIR" "$W/keys" "$W/src" "$W/out" || exit 1
KEYS=$W/keys

w4_fail() {
	echo "bench: w4: $*" >&2
	exit 1
}

bench_keys "$KEYS" edge-01 core-01 official

# The appeals (and attachments) in one awk process; the file list for
# pack create in $W/args (one a line).
bench_log "w4: $N appeals (attachments: $ATT)"
awk -v n="$N" -v att="$ATT" -v dir="$W/src" '
BEGIN { RS = "^$" }
{ tmpl = $0 }
END {
	for (i = 1; i <= n; i++) {
		id = 178000000 + i
		doc = tmpl
		gsub(/177073571/, id, doc)
		if (!att)
			sub(/\n  <attachment [^\n]*/, "", doc)
		f = dir "/" id ".xml"
		printf "%s", doc >f
		close(f)
		printf "%s\n", f >(dir "/../args")
		if (att) {
			a = dir "/" id "-1.bin"
			printf "jpg!" >a
			close(a)
			printf "payload/att/%s-1.bin=%s\n", id, a >(dir "/../args")
		}
	}
}' "$TOP_SRCDIR/tests/data/examples/appeal.xml" || w4_fail "cannot write the appeals"
ENTRIES=$N
[ "$ATT" = 1 ] && ENTRIES=$((2 * N))
LIMITS=""
[ "$ENTRIES" -gt 10000 ] && LIMITS="--limit entries=$ENTRIES"

# pack: one posgw pack create with every file on its command line
bench_log "w4: pack"
bench_drop_caches
# shellcheck disable=SC2086
bench_time "$W/pack.run" xargs -d "\n" -x -s 1000000 "$POSGW" pack create --id edge-01 \
	--to core-01 --seq 1 --key "$KEYS/edge-01.key" --cert "$KEYS/edge-01.crt" \
	--out "$W/out" $LIMITS <"$W/args" >"$W/pack.path" ||
	w4_fail "posgw pack create failed"
r_pack=$BT_RSS p_pack=$BT_WALL
[ "$(wc -l <"$W/pack.path")" = 1 ] || w4_fail "pack create ran more than once (argument list too long)"
pkg=$(cat "$W/pack.path")
[ -f "$pkg" ] || w4_fail "posgw pack create made no package"

# verify
bench_log "w4: verify"
bench_drop_caches
# shellcheck disable=SC2086
bench_time "$W/verify.run" "$POSGW" pack verify --id core-01 --trust "$KEYS/edge-01.crt" \
	$LIMITS "$pkg" >"$W/verify.out" 2>&1 ||
	w4_fail "posgw pack verify failed: $(cat "$W/verify.out")"
r_verify=$BT_RSS p_verify=$BT_WALL

# import: an empty round first makes the core's database
C=$W/core
mkdir -p "$C/inbox" "$C/outbox" "$C/edms/export" "$C/edms/import" || exit 1
cat >"$C/core.conf" <<CONF
[gateway]
id = core-01
peer = edge-01
key = $KEYS/core-01.key
cert = $KEYS/core-01.crt
trust = $KEYS/edge-01.crt
state = $C/state

[transfer]
inbox = $C/inbox
outbox = $C/outbox
max_wait_ms = 0
receipt_delay = 0
accept_plain = yes

[limits]
entries = $ENTRIES

[edms]
export = $C/edms/export
import = $C/edms/import
signer_trust = $KEYS/official.crt
CONF
"$POSGW_CORE" --config "$C/core.conf" --once 2>>"$C/core.log" || w4_fail "posgw-core's first round failed"
mv "$pkg" "$C/inbox/" || exit 1
bench_log "w4: import"
bench_drop_caches
bench_time "$W/import.run" "$POSGW_CORE" --config "$C/core.conf" --once 2>>"$C/core.log" ||
	w4_fail "posgw-core --once failed: $(tail -3 "$C/core.log")"
r_import=$BT_RSS p_import=$BT_WALL
got=$(sqlite3 -batch -noheader "$C/state/posgw.db" \
	"SELECT COUNT(DISTINCT pos_id) FROM documents WHERE direction='in' AND kind='appeal'")
[ "$got" = "$N" ] || w4_fail "the core stored $got appeals, not $N: $(tail -3 "$C/core.log")"
[ -z "$(ls -A "$C/inbox")" ] || w4_fail "the package is still in the core's inbox"
# the round exports a batch of the stored appeals; the rest go in later rounds
[ -n "$(ls -A "$C/edms/export")" ] || w4_fail "no appeal exported: $(tail -3 "$C/core.log")"

w4_mib() {
	bench_div "$1" 1024 1
}
bench_log "w4: $ENTRIES entries: pack $(w4_mib "$r_pack") MiB ($p_pack s)," \
	"verify $(w4_mib "$r_verify") MiB ($p_verify s), import $(w4_mib "$r_import") MiB ($p_import s)"
bench_row w4 "pack peak RSS ($ENTRIES entries)" MiB lower "$(w4_mib "$r_pack")" - - \
	"target <= 32 MiB; one document parsed at a time + the entries and the manifest's text"
bench_row w4 "verify peak RSS ($ENTRIES entries)" MiB lower "$(w4_mib "$r_verify")" - - \
	"target <= 32 MiB; documents staged in one file and parsed one at a time + the streamed manifest's entries"
bench_row w4 "import peak RSS ($ENTRIES entries)" MiB lower "$(w4_mib "$r_import")" - - \
	"target <= 32 MiB; as verify + each document parsed again to be stored + SQLite's cache"
# the growth run (issue 16), only when asked: BENCH_GROWTH=N appeals
if [ -n "${BENCH_GROWTH:-}" ]; then
	bash "$TOP_SRCDIR/tests/bench/w4-growth.sh" || exit 1
fi
exit 0
