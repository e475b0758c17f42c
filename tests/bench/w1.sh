#!/bin/bash
# w1.sh: workload 1, the whole chain. posgw-sim prepares BENCH_APPEALS
# appeals (about 2.5 KB of XML and one BENCH_ATTACHMENT incompressible
# attachment each; default 10000 x 100K) in the adapter's layout. Then, on
# the same files:
#   posgw  posgw-edge and posgw-core with the default batch settings, the
#          transfer folders shared; the clock runs from the daemons' start
#          to the last appeal folder renamed into the EDMS export folder
#          (benchwatch, inotify), which also times every package from its
#          rename into the core's inbox to its removal right after the
#          import commit
#   peer   tests/bench/peer-send in batches of the same size (100 appeals)
#          into a shared folder, inotifywait + tests/bench/peer-receive
#          on the other side, the files moved into a destination folder
#   floor  zstd -3 and Streebog-256 over the same bytes, plus one fsync per
#          package posgw made
# posgw runs a second time with the edge on CPU 0 and the core on CPU 1 (as
# on two machines): throughput and rename-to-commit latency again.
# Then the idle latency: BENCH_LATENCY_COUNT appeals, one every 0.3 s, each
# leaving as a one-appeal package; rename-to-commit p50/p95/p99.
set -u
. "$TOP_SRCDIR/tests/bench/lib.sh"
bench_need rhash zstd bsdtar certtool sqlite3 inotifywait
N=${BENCH_APPEALS:-10000}
ASIZE=${BENCH_ATTACHMENT:-100K}
LAT_N=${BENCH_LATENCY_COUNT:-50}
: "${W1_BOUND:=both CPUs busy: each daemon makes two Streebog passes (custody or entry check + the envelope digest); one Kuznyechik pass and zstd; then its per-appeal files and SQLite (tests/bench/results/NOTES.md)}"
: "${W1_PIN_BOUND:=the work of the core per package (digest and decryption of about 2 MB and its appeals) as on a machine of its own}"
: "${W1_LAT_BOUND:=inotify wake-up + one package read + one commit with fsyncs}"
# a run with other [transfer] settings says so in its rows
if [ -n "${BENCH_W1_TRANSFER:-}" ]; then
	W1_BOUND="$W1_BOUND; run with [transfer] $(printf '%s' "$BENCH_W1_TRANSFER" | tr '\n,' ';;')"
fi
W=$BENCH_WORK
KEYS=$W/keys
bench_keys "$KEYS" edge-01 core-01 official

# w1_setup DIR: a fresh edge/core pair under DIR with default batching
# (or BENCH_W1_TRANSFER's [transfer] lines).
w1_setup() {
	bench_pair "$1" "$KEYS" "${BENCH_W1_TRANSFER:-}"
}

# w1_cpu PID: user+sys CPU seconds of a running process (all its threads).
w1_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' \
		"/proc/$1/stat" 2>/dev/null || echo -
}

# w1_percentiles FILE: p50 p95 p99 max (ms) of the latencies in FILE.
w1_percentiles() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - - -"; exit }
		split("50 95 99", p, " ")
		for (i = 1; i <= 3; i++) {
			k = int(NR * p[i] / 100 + 0.999999); if (k < 1) k = 1
			printf "%.1f ", v[k]
		}
		printf "%.1f\n", v[NR] }'
}

bench_log "w1: preparing $N appeals with one $ASIZE attachment each"
GEN=$W/gen
mkdir -p "$GEN/in"
"$POSGW_SIM" --base "$GEN" --count "$N" --seed 6 --rate 0 --attachment-size "$ASIZE" \
	--attachments 1 --attachments-exact --issue-only >/dev/null 2>"$W/gen.log" || {
	echo "bench: w1: posgw-sim could not prepare the appeals (see $W/gen.log)" >&2
	exit 1
}
bytes=$(du -sb "$GEN/in" "$GEN/attachments-in" | awk '{s += $1} END {print s}')
mb=$(bench_div "$bytes" 1000000 1)
bench_log "w1: $mb MB of appeals"

# --- posgw ---------------------------------------------------------------
# w1_chain DIR TAG EDGE_CPUS CORE_CPUS: the chain on every appeal of GEN in a
# fresh pair under DIR, each daemon on the CPUs named (taskset -c; empty:
# any CPU); sets posgw_s, npkg, edge_cpu, core_cpu and lp50 lp95 lp99 lmax
# (rename to commit, from $W/watch-TAG.txt); returns 1 when the chain
# failed (it says why).
w1_chain() {
	_cd=$1 _ct=$2
	_ew= _cw=
	[ -n "$3" ] && _ew="taskset -c $3"
	[ -n "$4" ] && _cw="taskset -c $4"
	w1_setup "$_cd"
	cp -a "$GEN/in/." "$_cd/smev/in/" && cp -a "$GEN/attachments-in/." "$_cd/smev/attachments-in/" || return 1
	sync
	"$BENCH_TOOLS/benchwatch" "$W/watch-$_ct.txt" "$_cd/e2c" "$_cd/edms/export" "$N" &
	watch_pid=$!
	while ! grep -q '^ready' "$W/watch-$_ct.txt" 2>/dev/null; do sleep 0.05; done
	t0=$(bench_now)
	$_ew "$POSGW_EDGE" --config "$_cd/edge.conf" 2>"$W/edge-$_ct.log" &
	edge_pid=$!
	$_cw "$POSGW_CORE" --config "$_cd/core.conf" 2>"$W/core-$_ct.log" &
	core_pid=$!
	limit=$(( N / 20 + 120 ))
	waited=0
	while kill -0 $watch_pid 2>/dev/null && [ $waited -lt $((limit * 10)) ]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	if kill -0 $watch_pid 2>/dev/null; then
		kill $watch_pid
		echo "bench: w1: posgw ($_ct) did not deliver $N appeals in $limit s" >&2
	fi
	wait $watch_pid
	got=$(grep -c '^export' "$W/watch-$_ct.txt")
	t1=$(awk '$1 == "export" { t = $3 } END { print t }' "$W/watch-$_ct.txt")
	edge_cpu=$(w1_cpu $edge_pid)
	core_cpu=$(w1_cpu $core_pid)
	kill -TERM $edge_pid $core_pid
	wait $edge_pid $core_pid
	if [ "$got" -ne "$N" ]; then
		echo "bench: w1: only $got of $N appeals reached the EDMS folder ($_ct)" >&2
		return 1
	fi
	imported=$(sqlite3 "$_cd/core-state/posgw.db" "SELECT COUNT(DISTINCT pos_id) FROM documents WHERE direction='in' AND kind='appeal'")
	npkg=$(sqlite3 "$_cd/core-state/posgw.db" "SELECT COUNT(*) FROM packages WHERE direction='in' AND control=0")
	if [ "$imported" != "$N" ]; then
		echo "bench: w1: the core imported $imported distinct appeals, not $N ($_ct)" >&2
		return 1
	fi
	"$POSGW" journal reconcile "$_cd/edge-state/posgw.db" "$_cd/core-state/posgw.db" >/dev/null || {
		echo "bench: w1: the journals do not reconcile after the run ($_ct)" >&2
		return 1
	}
	posgw_s=$(bench_sub "$t1" "$t0")
	awk '$1 == "pkg" { printf "%.3f\n", ($4 - $3) * 1000 }' "$W/watch-$_ct.txt" >"$W/lat-$_ct.txt"
	read -r lp50 lp95 lp99 lmax <<<"$(w1_percentiles "$W/lat-$_ct.txt")"
}

bench_log "w1: posgw chain"
w1_chain "$W/posgw" load "" "" || exit 1
bench_log "w1: posgw $posgw_s s, $npkg packages, latency p50 $lp50 p95 $lp95 p99 $lp99 ms; CPU edge $edge_cpu s, core $core_cpu s"
bench_pair_rm "$W/posgw"
sync # the removal's writes before the next clock starts

# w1_two_cpus: the first two CPUs this process may run on ("0 1"), or
# nothing (a cpuset need not hold CPUs 0 and 1)
w1_two_cpus() {
	_cl=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
	for _p in ${_cl//,/ }; do
		case $_p in
		*-*) seq "${_p%-*}" "${_p#*-}" ;;
		*) echo "$_p" ;;
		esac
	done | head -2 | tr '\n' ' ' | awk 'NF == 2 { print $1, $2 }'
}

# The same chain with each daemon on a CPU of its own, as when the edge and
# the core are two machines (a deployment): on one machine the core's
# package waits for a CPU whenever the edge's three threads (the main one
# and two custody hashers) are runnable, which is most of the run.
pin_s=- pin_npkg=- pin_lp50=- pin_lp95=- pin_lp99=- pin_edge_cpu=- pin_core_cpu=-
cpus=
command -v taskset >/dev/null 2>&1 && cpus=$(w1_two_cpus)
if [ -n "$cpus" ]; then
	read -r cpu_e cpu_c <<<"$cpus"
	s_posgw_s=$posgw_s s_npkg=$npkg s_lp50=$lp50 s_lp95=$lp95 s_lp99=$lp99
	s_edge_cpu=$edge_cpu s_core_cpu=$core_cpu
	bench_log "w1: posgw chain, the edge on CPU $cpu_e and the core on CPU $cpu_c"
	if w1_chain "$W/posgw-pinned" pinned "$cpu_e" "$cpu_c"; then
		pin_s=$posgw_s pin_npkg=$npkg pin_lp50=$lp50 pin_lp95=$lp95 pin_lp99=$lp99
		pin_edge_cpu=$edge_cpu pin_core_cpu=$core_cpu
		bench_log "w1: one CPU each: posgw $pin_s s, $pin_npkg packages, latency p50 $pin_lp50 p95 $pin_lp95 p99 $pin_lp99 ms; CPU edge $pin_edge_cpu s, core $pin_core_cpu s"
	else
		echo "bench: w1: the run on one CPU each failed; its rows are left empty" >&2
	fi
	bench_pair_rm "$W/posgw-pinned"
	sync
	posgw_s=$s_posgw_s npkg=$s_npkg lp50=$s_lp50 lp95=$s_lp95 lp99=$s_lp99
	edge_cpu=$s_edge_cpu core_cpu=$s_core_cpu
else
	bench_log "w1: one CPU each: skipped (needs two CPUs this process may use, and taskset)"
fi

if [ "${BENCH_W1_POSGW_ONLY:-0}" = 1 ]; then
	bench_row w1 "wall time (posgw only)" s lower "$posgw_s" - - "$W1_BOUND"
	bench_row w1 "CPU edge (posgw only)" s lower "$edge_cpu" - - "user+sys of posgw-edge"
	bench_row w1 "CPU core (posgw only)" s lower "$core_cpu" - - "user+sys of posgw-core"
	bench_row w1 "latency under load p99 (posgw only)" ms lower "$lp99" - - "rename to commit"
	bench_row w1 "latency under load p99 on one CPU each (posgw only)" ms lower "$pin_lp99" - - "rename to commit"
	exit 0
fi

# --- peer ----------------------------------------------------------------
Q=$W/peer
mkdir -p "$Q/in" "$Q/ain" "$Q/shared" "$Q/staging" "$Q/dest" "$Q/batch"
cp -a "$GEN/in/." "$Q/in/" && cp -a "$GEN/attachments-in/." "$Q/ain/" || exit 1
sync
bench_log "w1: stock-tools peer"
: >"$Q/received.txt"
t0=$(bench_now)
# receiver: inotifywait triggers, peer-receive does the work
(
	inotifywait -m -q -e moved_to --format '%f' "$Q/shared" | while read -r f; do
		case $f in .*) continue ;; esac
		ts=$(bench_now)
		if sh "$TOP_SRCDIR/tests/bench/peer-receive" "$Q/shared/$f" "$Q/staging" "$Q/dest" \
			"$Q/peer.db" "$KEYS/edge-01.crt" >>"$Q/receive.log" 2>&1; then
			echo "$f $ts $(bench_now)" >>"$Q/received.txt"
		else
			echo "$f failed" >>"$Q/received.txt"
		fi
		rm -f "$Q/shared/$f"
	done
) &
recv_pid=$!
sleep 0.2
# sender: batches of 100 appeals with the attachments they reference
b=0
ls "$Q/in" | sort | while mapfile -t -n 100 xmls && [ ${#xmls[@]} -gt 0 ]; do
	b=$((b + 1))
	bd=$Q/batch/$b
	mkdir -p "$bd"
	for x in "${xmls[@]}"; do
		mv "$Q/in/$x" "$bd/"
		for id in $(sed -n 's:.*<T\:Id>\([^<]*\)</T\:Id>.*:\1:p' "$bd/$x"); do
			[ -f "$Q/ain/$id" ] && mv "$Q/ain/$id" "$bd/"
		done
	done
	sh "$TOP_SRCDIR/tests/bench/peer-send" "$bd" "$Q/shared" "$KEYS/edge-01.key" "$KEYS/edge-01.crt" \
		>>"$Q/send.log" 2>&1 || echo "peer-send failed on batch $b" >&2
	rm -rf "$bd"
done
nxml=$(ls "$GEN/in" | wc -l) # the appeals and the classifier
nbatch=$(( (nxml + 99) / 100 ))
waited=0
while [ "$(wc -l <"$Q/received.txt")" -lt "$nbatch" ] && [ $waited -lt $((limit * 10)) ]; do
	sleep 0.05
	waited=$((waited + 1))
done
t1=$(bench_now)
pkill -P $recv_pid 2>/dev/null
kill $recv_pid 2>/dev/null
wait $recv_pid 2>/dev/null
peer_ok=$(grep -vc failed "$Q/received.txt")
peer_files=$(sqlite3 "$Q/peer.db" "SELECT COUNT(*) FROM received WHERE path LIKE '%.xml'" 2>/dev/null || echo 0)
if [ "$peer_ok" -ne "$nbatch" ] || [ "$peer_files" -ne "$nxml" ]; then
	echo "bench: w1: the peer delivered $peer_ok of $nbatch packages, $peer_files of $nxml XML files (see $Q/*.log)" >&2
	peer_s=-
else
	peer_s=$(bench_sub "$t1" "$t0")
fi
awk 'NF == 3 { printf "%.3f\n", ($3 - $2) * 1000 }' "$Q/received.txt" >"$W/lat-peer.txt"
read -r qp50 qp95 qp99 qmax <<<"$(w1_percentiles "$W/lat-peer.txt")"
bench_log "w1: peer $peer_s s"

# --- floor ---------------------------------------------------------------
bench_log "w1: floor"
t0=$(bench_now)
find "$GEN/in" "$GEN/attachments-in" -type f -print0 | xargs -0 cat | zstd -3 -q -c >/dev/null
t1=$(bench_now)
zstd_s=$(bench_sub "$t1" "$t0")
hash_s=$(find "$GEN/in" "$GEN/attachments-in" -type f -print0 |
	xargs -0 "$BENCH_TOOLS/benchfloor" hash streebog256 | awk '{s += $2} END {printf "%.3f", s}')
# packages leave encrypted for the core (formats/envelope.md): one
# Kuznyechik CTR-ACPKM + OMAC pass over the bytes belongs to the floor
kuz_s=$(find "$GEN/in" "$GEN/attachments-in" -type f -print0 |
	xargs -0 "$BENCH_TOOLS/benchfloor" encrypt | awk '{s += $2} END {printf "%.3f", s}')
fsync_s=$("$BENCH_TOOLS/benchfloor" fsync "$W" "$npkg" | awk '{print $2}')
floor_s=$(awk -v a="$zstd_s" -v b="$hash_s" -v c="$fsync_s" -v d="$kuz_s" 'BEGIN { printf "%.3f", a + b + c + d }')
bench_log "w1: floor $floor_s s (zstd $zstd_s, streebog $hash_s, kuznyechik $kuz_s, $npkg fsyncs $fsync_s)"

# --- idle latency ----------------------------------------------------------
L=$W/latency
w1_setup "$L"
"$BENCH_TOOLS/benchwatch" "$W/watch-idle.txt" "$L/e2c" "$L/edms/export" "$LAT_N" &
watch_pid=$!
while ! grep -q '^ready' "$W/watch-idle.txt" 2>/dev/null; do sleep 0.05; done
"$POSGW_EDGE" --config "$L/edge.conf" 2>"$W/edge-idle.log" &
edge_pid=$!
"$POSGW_CORE" --config "$L/core.conf" 2>"$W/core-idle.log" &
core_pid=$!
bench_log "w1: idle latency, $LAT_N one-appeal packages"
# one appeal every 0.8 s: each leaves alone (max_wait_ms 200 by default)
"$POSGW_SIM" --base "$L/smev" --count "$LAT_N" --seed 7 --rate 1.25 --attachment-size "$ASIZE" \
	--attachments 1 --attachments-exact --issue-only >/dev/null 2>"$W/sim-idle.log"
waited=0
while kill -0 $watch_pid 2>/dev/null && [ $waited -lt 600 ]; do
	sleep 0.1
	waited=$((waited + 1))
done
kill $watch_pid 2>/dev/null
wait $watch_pid
kill -TERM $edge_pid $core_pid
wait $edge_pid $core_pid
sqlite3 "$L/core-state/posgw.db" "SELECT p.name FROM packages p JOIN documents d ON d.package_id = p.id
	WHERE p.direction = 'in' AND d.kind = 'appeal' GROUP BY p.id HAVING COUNT(*) = 1" >"$W/one.txt"
one=$(wc -l <"$W/one.txt")
awk 'NR == FNR { one[$1] = 1; next } $1 == "pkg" && ($2 in one) { printf "%.3f\n", ($4 - $3) * 1000 }' \
	"$W/one.txt" "$W/watch-idle.txt" >"$W/lat-idle.txt"
read -r ip50 ip95 ip99 imax <<<"$(w1_percentiles "$W/lat-idle.txt")"
bench_log "w1: idle latency p50 $ip50 p95 $ip95 p99 $ip99 max $imax ms ($one one-appeal packages)"

# --- rows ----------------------------------------------------------------
fl_pkg=$(bench_div "$fsync_s" "$npkg" 6)
fl_pkg_ms=$(awk -v a="$fl_pkg" 'BEGIN { printf "%.2f", a * 1000 }')
bench_row w1 "appeals/s ($N x $ASIZE)" appeals/s higher "$(bench_div "$N" "$posgw_s")" "$(bench_div "$N" "$peer_s")" "$(bench_div "$N" "$floor_s")" "$W1_BOUND"
bench_row w1 "throughput ($mb MB)" MB/s higher "$(bench_div "$mb" "$posgw_s")" "$(bench_div "$mb" "$peer_s")" "$(bench_div "$mb" "$floor_s")" "$W1_BOUND"
bench_row w1 "wall time" s lower "$posgw_s" "$peer_s" "$floor_s" "floor: zstd $zstd_s s + Streebog $hash_s s + Kuznyechik $kuz_s s + $npkg fsyncs $fsync_s s; posgw encrypts; the peer does not"
bench_row w1 "latency under load p50 ($npkg packages)" ms lower "$lp50" "$qp50" "$fl_pkg_ms" "rename to commit; peer: trigger to rows inserted"
bench_row w1 "latency under load p95" ms lower "$lp95" "$qp95" "$fl_pkg_ms" "both daemons sharing the CPUs: the core waits for a CPU behind the edge threads"
bench_row w1 "latency under load p99" ms lower "$lp99" "$qp99" "$fl_pkg_ms" "both daemons sharing the CPUs: the core waits for a CPU behind the edge threads"
bench_row w1 "latency under load p50 on one CPU each ($pin_npkg packages)" ms lower "$pin_lp50" - "$fl_pkg_ms" "$W1_PIN_BOUND"
bench_row w1 "latency under load p95 on one CPU each" ms lower "$pin_lp95" - "$fl_pkg_ms" "$W1_PIN_BOUND"
bench_row w1 "latency under load p99 on one CPU each (target <= 100)" ms lower "$pin_lp99" - "$fl_pkg_ms" "$W1_PIN_BOUND"
bench_row w1 "wall time on one CPU each" s lower "$pin_s" - "$floor_s" "the edge and the core on a CPU each; custody hashing on one CPU"
bench_row w1 "CPU edge" s lower "$edge_cpu" - - "user+sys of posgw-edge over the chain run"
bench_row w1 "CPU core" s lower "$core_cpu" - - "user+sys of posgw-core over the chain run"
bench_row w1 "latency idle p50 ($one one-appeal packages)" ms lower "$ip50" - "$fl_pkg_ms" "$W1_LAT_BOUND"
bench_row w1 "latency idle p95" ms lower "$ip95" - "$fl_pkg_ms" "$W1_LAT_BOUND"
bench_row w1 "latency idle p99 (target <= 100)" ms lower "$ip99" - "$fl_pkg_ms" "$W1_LAT_BOUND"
