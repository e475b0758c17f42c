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
	_bk_dir=$1
	shift
	mkdir -p "$_bk_dir" || exit 1
	for _bk_id in "$@"; do
		"$POSGW" keys generate --id "$_bk_id" --out "$_bk_dir" >/dev/null || {
			echo "bench: cannot make the key of $_bk_id in $_bk_dir" >&2
			exit 1
		}
	done
}

# bench_pair DIR KEYS [TRANSFER]: an edge/core pair under DIR as the chain
# workloads run it: DIR/edge.conf and DIR/core.conf (edge-01 and core-01,
# keys and certificates in KEYS, an official's certificate to trust), the
# adapter's folders, the two transfer folders shared, the EDMS folders;
# TRANSFER is extra lines for both [transfer] sections (default batching
# without). With BENCH_CORE_TMPDIR (another file system) DIR/core-state and
# DIR/edms are links to folders there, as if the core had a disk of its own
# (in a deployment it is another machine): its syncfs then does not flush
# the edge's writes.
bench_pair() {
	_bp_d=$1
	_bp_k=$2
	_bp_t=${3:-}
	mkdir -p "$_bp_d/smev/in" "$_bp_d/smev/out" "$_bp_d/smev/attachments-in" "$_bp_d/e2c" "$_bp_d/c2e" || exit 1
	if [ -n "${BENCH_CORE_WORK:-}" ]; then # tests/bench/run made it
		_bp_c=$(mktemp -d "$BENCH_CORE_WORK/pair.XXXXXX") || exit 1
		mkdir -p "$_bp_c/core-state" "$_bp_c/edms" || exit 1
		ln -sn "$_bp_c/core-state" "$_bp_d/core-state" && ln -sn "$_bp_c/edms" "$_bp_d/edms" || exit 1
	fi
	mkdir -p "$_bp_d/edms/export" "$_bp_d/edms/import" || exit 1
	cat >"$_bp_d/edge.conf" <<CONF
[gateway]
id = edge-01
peer = core-01
key = $_bp_k/edge-01.key
cert = $_bp_k/edge-01.crt
trust = $_bp_k/core-01.crt
state = $_bp_d/edge-state

[transfer]
inbox = $_bp_d/c2e
outbox = $_bp_d/e2c
$_bp_t

[smev]
base = $_bp_d/smev
mnemonic = POSGW_TEST
CONF
	cat >"$_bp_d/core.conf" <<CONF
[gateway]
id = core-01
peer = edge-01
key = $_bp_k/core-01.key
cert = $_bp_k/core-01.crt
trust = $_bp_k/edge-01.crt
state = $_bp_d/core-state

[transfer]
inbox = $_bp_d/e2c
outbox = $_bp_d/c2e
$_bp_t

[edms]
export = $_bp_d/edms/export
import = $_bp_d/edms/import
signer_trust = $_bp_k/official.crt
CONF
}

# bench_pair_rm DIR: remove a pair bench_pair made, with its core folders
# on BENCH_CORE_TMPDIR's file system.
bench_pair_rm() {
	if [ -L "$1/core-state" ]; then
		rm -rf "$(dirname "$(readlink "$1/core-state")")"
	fi
	rm -rf "$1"
}
