#!/bin/sh
# bench.sh: the benchmark harness itself works (make bench is never part of
# make check, and its figures are never asserted here): every workload runs
# at a toy size against posgw, the stock-tools peer and the floor, checks
# its own results, and the CSV and Markdown tables come out complete.
. "$(dirname "$0")/lib.sh"
: "${BENCH_TOOLS:=$TOP_SRCDIR/tests/bench}"
export BENCH_TOOLS POSGW POSGW_SCHEMADIR
: "${POSGW_EDGE:=$TOP_SRCDIR/posgw-edge}" "${POSGW_CORE:=$TOP_SRCDIR/posgw-core}" "${POSGW_SIM:=$TOP_SRCDIR/posgw-sim}"
export POSGW_EDGE POSGW_CORE POSGW_SIM TOP_SRCDIR
for t in bsdtar zstd rhash certtool sqlite3 inotifywait; do
	if ! have $t; then
		skip "benchmark harness" "$t missing (ops/scripts/deps installs it)"
		done_testing
	fi
done

BENCH_RESULTS=$WORK/results BENCH_TMPDIR=$WORK BENCH_APPEALS=30 BENCH_ATTACHMENT=4K \
	BENCH_LATENCY_COUNT=3 BENCH_BIG=1M BENCH_W2_SHA256=0 BENCH_JOURNAL_ENTRIES=2000 \
	BENCH_RECONCILE_PACKAGES=200 BENCH_W3_RUNS=1 BENCH_MANY=20 BENCH_MANY_ATT=1 \
	bash "$TOP_SRCDIR/tests/bench/run" >"$WORK/bench.out" 2>"$WORK/bench.err"
rc=$?
[ $rc -eq 0 ]
ok $? "tests/bench/run completes all four workloads at a toy size"
[ $rc -eq 0 ] || sed 's/^/# /' "$WORK/bench.err" | tail -15
csv=$(ls "$WORK"/results/*/results.csv 2>/dev/null | head -1)
md=${csv%.csv}.md
[ -f "$csv" ] && [ -f "$md" ]
ok $? "results.csv and results.md are written under the results folder"
head -3 "$csv" | grep -q '^# machine: nproc [0-9]' && head -3 "$csv" | grep -q '^# commit: '
ok $? "the results are headed by the machine and the commit"
for w in w1 w2 w3 w4; do
	n=$(awk -F, -v w=$w '$1 == w && $5 ~ /^[0-9.]+$/' "$csv" | wc -l)
	[ "$n" -ge 2 ]
	ok $? "$w has rows with a posgw figure ($n)"
done
awk -F, '$1 == "w1" && $2 ~ /^appeals/ && $6 ~ /^[0-9.]+$/ && $7 ~ /^[0-9.]+$/' "$csv" | grep -q .
ok $? "workload 1 has peer and floor figures beside posgw's"
grep -q '^| metric | unit | better | posgw | peer | floor | posgw/peer | posgw/floor |' "$md"
ok $? "the Markdown table has the ratio columns"
awk -F, '$1 == "w2" && $2 ~ /RSS/ && $5 ~ /^[0-9.]+$/' "$csv" | grep -q .
ok $? "workload 2 reports peak RSS"
done_testing
