#!/bin/bash
# w4-growth.sh: workload 4's growth run (tests/bench/w4.sh runs it when
# BENCH_GROWTH is set). For each backlog size (BENCH_GROWTH_REF, default
# 10000, 0 for none; then BENCH_GROWTH if larger): posgw-sim writes that many appeals (about 2 KB of XML each; one
# 100 KB attachment on BENCH_GROWTH_ATT_SHARE % of them, default 10, spread
# evenly) into the adapter's in/ folder BEFORE the daemons start; then
# posgw-edge and posgw-core (transfer folders shared, default batching, as
# in w1.sh) drain it until every appeal is in the core's journal and its
# folder in the EDMS export folder (left there: nothing consumes it).
# Every BENCH_GROWTH_INTERVAL seconds (default 2) one sample:
#   drained,backlog,wall_s,edge_cpu_s,core_cpu_s,edge_rss_kib,core_rss_kib,
#   edge_hwm_kib,core_hwm_kib
# drained = appeals the core has stored (its documents table's largest
# id, checked against a count at the end), backlog =
# size - drained, CPU = utime + stime of each daemon (/proc/PID/stat), RSS
# and its peak VmHWM from /proc/PID/status. CSV per size in
# $BENCH_GROWTH_OUT (default the results folder, else $BENCH_WORK) as
# growth-SIZE.csv, with growth.svg (tests/bench/growth-plot.awk): per-appeal
# CPU (edge + core) per interval against the backlog left.
# Rows: CPU per appeal at each size, the ratio largest/10000, peak RSS of
# each daemon (target <= 64 MiB), wall time.
# Standalone: TOP_SRCDIR=. TOP_BUILDDIR=. BENCH_TOOLS=tests/bench \
#   POSGW=./posgw POSGW_EDGE=./posgw-edge POSGW_CORE=./posgw-core \
#   POSGW_SIM=./posgw-sim BENCH_WORK=/big/scratch BENCH_CSV=/big/scratch/r.csv \
#   BENCH_GROWTH=100000 [BENCH_KEEP=1] bash tests/bench/w4-growth.sh
set -u
. "$TOP_SRCDIR/tests/bench/lib.sh"
bench_need sqlite3
G=${BENCH_GROWTH:?}
SHARE=${BENCH_GROWTH_ATT_SHARE:-10}
IVL=${BENCH_GROWTH_INTERVAL:-2}
W=$BENCH_WORK/growth
OUT=${BENCH_GROWTH_OUT:-$(dirname "$BENCH_CSV")}
[ -d "$OUT" ] && [ -w "$OUT" ] || OUT=$W
KEYS=$W/keys
G_NOSYNC=$(command -v eatmydata || true)
HZ=$(getconf CLK_TCK)
mkdir -p "$KEYS" "$OUT" || exit 1
bench_keys "$KEYS" edge-01 core-01 official

g_fail() {
	echo "bench: w4 growth: $*" >&2
	exit 1
}

# g_proc PID: "cpu_s rss_kib hwm_kib" of a live process.
g_proc() {
	awk -v hz="$HZ" 'FNR == 1 && FILENAME ~ /stat$/ {
			sub(/^.*\) /, ""); split($0, f, " ")
			cpu = (f[12] + f[13] + f[14] + f[15]) / hz; next }
		/^VmRSS:/ { rss = $2 } /^VmHWM:/ { hwm = $2 }
		END { printf "%.2f %d %d\n", cpu, rss, hwm }' "/proc/$1/stat" "/proc/$1/status" 2>/dev/null
}

# g_drained DB: documents the core has stored so far (0 before its
# database): the largest id, not a count, so that sampling costs the same
# at any size (the classifier is one of them; nothing else arrives).
g_drained() {
	[ -f "$1" ] || { echo 0; return; }
	sqlite3 -batch -noheader "$1" "PRAGMA busy_timeout = 2000;
		SELECT IFNULL(MAX(id), 0) FROM documents" 2>/dev/null |
		tail -1 | grep -E '^[0-9]+$' || echo -1
}

# g_run SIZE: one growth run; sets G_CPU (s per appeal, edge + core),
# G_ECPU G_CCPU G_EHWM G_CHWM (KiB) G_WALL.
g_run() {
	_n=$1
	_d=$W/run-$_n
	bench_pair_rm "$_d"
	bench_pair "$_d" "$KEYS"
	bench_log "w4 growth: writing $_n appeals ($SHARE % with a 100K attachment)"
	# The backlog is the input, not what is measured: posgw-sim's fsync per
	# file is skipped under eatmydata (when installed) and one sync follows.
	$G_NOSYNC "$POSGW_SIM" --base "$_d/smev" --count "$_n" --seed 16 --rate 0 --attachment-size 100K \
		--attachments 1 --attachments-exact --attachment-share "$SHARE" --issue-only \
		>/dev/null 2>"$_d/gen.log" || g_fail "posgw-sim could not write the backlog (see $_d/gen.log)"
	rm -f "$_d/smev/sim.log"
	sync
	_csv=$OUT/growth-$_n.csv
	echo "drained,backlog,wall_s,edge_cpu_s,core_cpu_s,edge_rss_kib,core_rss_kib,edge_hwm_kib,core_hwm_kib" >"$_csv"
	bench_log "w4 growth: draining $_n appeals"
	_t0=$(bench_now)
	"$POSGW_EDGE" --config "$_d/edge.conf" 2>"$_d/edge.log" &
	_ep=$!
	"$POSGW_CORE" --config "$_d/core.conf" 2>"$_d/core.log" &
	_cp=$!
	_db=$_d/core-state/posgw.db
	_limit=$((_n / 5 + 300))
	_got=0
	_last=""
	while :; do
		sleep "$IVL"
		_t=$(bench_sub "$(bench_now)" "$_t0")
		_dr=$(g_drained "$_db")
		[ "$_dr" -ge 0 ] || _dr=$_got
		[ "$_dr" -le "$_n" ] || _dr=$_n
		_got=$_dr
		read -r _ec _er _eh <<<"$(g_proc $_ep)"
		read -r _cc _cr _ch <<<"$(g_proc $_cp)"
		[ -n "$_ec" ] && [ -n "$_cc" ] || g_fail "a daemon died (see $_d/*.log)"
		_last="$_dr,$((_n - _dr)),$_t,$_ec,$_cc,$_er,$_cr,$_eh,$_ch"
		echo "$_last" >>"$_csv"
		if [ "$_dr" -ge "$_n" ]; then
			# stored; done when every appeal folder is exported
			_ex=$(find "$_d/edms/export" -mindepth 1 -maxdepth 1 ! -name '.*' -type d 2>/dev/null | wc -l)
			[ "$_ex" -ge "$_n" ] && break
		fi
		awk -v t="$_t" -v l="$_limit" 'BEGIN { exit !(t > l) }' &&
			g_fail "$_dr of $_n appeals stored after $_t s"
	done
	kill -TERM $_ep $_cp
	wait $_ep $_cp
	IFS=, read -r _ _ G_WALL G_ECPU G_CCPU _ _ G_EHWM G_CHWM <<<"$_last"
	G_CPU=$(awk -v a="$G_ECPU" -v b="$G_CCPU" -v n="$_n" 'BEGIN { printf "%.4f", (a + b) * 1000 / n }')
	bench_log "w4 growth: $_n appeals in $G_WALL s: CPU edge $G_ECPU s core $G_CCPU s" \
		"($G_CPU ms per appeal), peak RSS edge $G_EHWM KiB core $G_CHWM KiB"
	_dr=$(sqlite3 -batch -noheader "$_db" "SELECT COUNT(DISTINCT pos_id) FROM documents
		WHERE direction = 'in' AND kind = 'appeal'")
	[ "$_dr" = "$_n" ] || g_fail "the core stored $_dr distinct appeals, not $_n"
	"$POSGW" journal reconcile "$_d/edge-state/posgw.db" "$_db" >/dev/null ||
		g_fail "the journals do not reconcile after the run"
	[ -n "${BENCH_KEEP:-}" ] || bench_pair_rm "$_d"
}

# the reference size (BENCH_GROWTH_REF, default 10000; 0: none), then N
REF=${BENCH_GROWTH_REF:-10000}
sizes=$G
[ "$REF" -gt 0 ] && [ "$G" -gt "$REF" ] && sizes="$REF $G"
csvs=""
for n in $sizes; do
	g_run "$n"
	eval "cpu_$n=$G_CPU ehwm_$n=$G_EHWM chwm_$n=$G_CHWM wall_$n=$G_WALL"
	csvs="$csvs $OUT/growth-$n.csv"
	mib() { bench_div "$1" 1024 1; }
	bench_row w4 "growth: CPU per appeal at $n (edge + core)" ms lower "$G_CPU" - - \
		"edge $G_ECPU s + core $G_CCPU s of CPU; wall $G_WALL s"
	bench_row w4 "growth: edge peak RSS at $n" MiB lower "$(mib "$G_EHWM")" - - "target <= 64 MiB"
	bench_row w4 "growth: core peak RSS at $n" MiB lower "$(mib "$G_CHWM")" - - "target <= 64 MiB"
done
# shellcheck disable=SC2086
awk -F, -f "$TOP_SRCDIR/tests/bench/growth-plot.awk" $csvs >"$OUT/growth.svg" ||
	g_fail "cannot draw $OUT/growth.svg"
if [ "$sizes" != "$G" ]; then
	eval "a=\$cpu_$G b=\$cpu_$REF"
	bench_row w4 "growth: CPU per appeal $G / $REF (target <= 1.2)" ratio lower \
		"$(bench_div "$a" "$b" 2)" - - "per-appeal CPU against the backlog: growth.svg next to this file"
fi
bench_log "w4 growth: samples and plot in $OUT"
exit 0
