# lib.sh: shared by the benchmark workloads (sourced; POSIX sh + bash ok).
# Each workload script runs with $BENCH_CSV (the results file), $BENCH_WORK
# (a scratch directory on the disk under test), $BENCH_TOOLS (benchrun,
# benchwatch, benchfloor, journalgen) and the usual $POSGW* variables, and
# appends rows with bench_row.

# bench_row WORKLOAD METRIC UNIT BETTER POSGW PEER FLOOR BOUND
#   BETTER is "higher" or "lower"; PEER or FLOOR may be "-" (no such
#   figure); BOUND says in a few words what limits the posgw figure (no
#   commas). Ratios are computed when the table is rendered.
bench_row() {
	printf '%s,%s,%s,%s,%s,%s,%s,%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" >>"$BENCH_CSV"
}

# bench_log MESSAGE: progress on standard error (the tables go to files).
bench_log() {
	printf 'bench: %s\n' "$*" >&2
}

# bench_time OUT CMD...: run CMD under benchrun; sets BT_WALL (s),
# BT_RSS (KiB) and returns CMD's status.
bench_time() {
	_out=$1
	shift
	: >"$_out"
	"$BENCH_TOOLS/benchrun" "$_out" -- "$@"
	_rc=$?
	BT_WALL=$(awk '{print $1}' "$_out")
	BT_RSS=$(awk '{print $2}' "$_out")
	return $_rc
}

# bench_div A B [SCALE]: A / B with SCALE decimals (default 1); "-" if
# either is "-" or B is zero.
bench_div() {
	awk -v a="$1" -v b="$2" -v s="${3:-1}" 'BEGIN {
		if (a == "-" || b == "-" || b + 0 == 0) { print "-"; exit }
		printf "%.*f\n", s, a / b }'
}

# bench_now: seconds on a monotonic-enough clock with nanoseconds.
bench_now() {
	date +%s.%N
}

# bench_sub A B: A - B (seconds, 3 decimals).
bench_sub() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a - b }'
}

# bench_need CMD...: fail loudly when a stock tool is missing.
bench_need() {
	for _c in "$@"; do
		if ! command -v "$_c" >/dev/null 2>&1; then
			echo "bench: $_c is missing; run ops/scripts/deps --bench" >&2
			exit 1
		fi
	done
}

# bench_drop_caches: flush dirty pages so one contender's writeback does
# not land on the next one's clock.
bench_drop_caches() {
	sync
}

# bench_keys DIR ID...: a key and certificate for each ID in DIR
# (posgw keys generate); fails loudly.
bench_keys() {
	_k=$1
	shift
	mkdir -p "$_k" || exit 1
	for _id in "$@"; do
		"$POSGW" keys generate --id "$_id" --out "$_k" >/dev/null || {
			echo "bench: cannot make the key of $_id in $_k" >&2
			exit 1
		}
	done
}

# bench_pair DIR KEYS [TRANSFER]: an edge/core pair under DIR as the chain
# workloads run it: DIR/edge.conf and DIR/core.conf (edge-01 and core-01,
# keys and certificates in KEYS, an official's certificate to trust), the
# adapter's folders, the two transfer folders shared, the EDMS folders;
# TRANSFER is extra lines for both [transfer] sections (default batching
# without).
bench_pair() {
	_d=$1
	_k=$2
	_t=${3:-}
	mkdir -p "$_d/smev/in" "$_d/smev/out" "$_d/smev/attachments-in" "$_d/e2c" "$_d/c2e" \
		"$_d/edms/export" "$_d/edms/import" || exit 1
	cat >"$_d/edge.conf" <<CONF
[gateway]
id = edge-01
peer = core-01
key = $_k/edge-01.key
cert = $_k/edge-01.crt
trust = $_k/core-01.crt
state = $_d/edge-state

[transfer]
inbox = $_d/c2e
outbox = $_d/e2c
$_t

[smev]
base = $_d/smev
mnemonic = POSGW_TEST
CONF
	cat >"$_d/core.conf" <<CONF
[gateway]
id = core-01
peer = edge-01
key = $_k/core-01.key
cert = $_k/core-01.crt
trust = $_k/edge-01.crt
state = $_d/core-state

[transfer]
inbox = $_d/e2c
outbox = $_d/c2e
$_t

[edms]
export = $_d/edms/export
import = $_d/edms/import
signer_trust = $_k/official.crt
CONF
}
