#!/bin/sh
# rss.sh: a package of 10,000 appeals is packed, verified and imported by
# posgw-core at <= 32 MiB peak RSS each (issue 16). Runs workload 4 of the
# benchmark (tests/bench/w4.sh) and asserts its peak RSS figures only
# (getrusage of the waited process, not a timing; a few seconds). Skipped
# for sanitizer builds, whose shadow memory is no figure of posgw's own.
. "$(dirname "$0")/lib.sh"
: "${BENCH_TOOLS:=$TOP_SRCDIR/tests/bench}" "${POSGW_CORE:=$TOP_SRCDIR/posgw-core}"
: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
export BENCH_TOOLS POSGW POSGW_CORE TOP_SRCDIR TOP_BUILDDIR
LIMIT_KIB=$((32 * 1024))

if ! have sqlite3 || [ ! -x "$BENCH_TOOLS/benchrun" ]; then
	skip "10,000-entry package within 32 MiB" "sqlite3 or tests/bench/benchrun missing"
	done_testing
fi
if [ ! -f "$POSGW" ] || grep -q __asan_init "$POSGW" "$POSGW_CORE" 2>/dev/null; then
	skip "10,000-entry package within 32 MiB" "sanitizer build or wrapped binaries: RSS is not posgw's own"
	done_testing
fi

mkdir -p "$WORK/w4"
BENCH_WORK=$WORK/w4 BENCH_CSV=$WORK/w4.csv BENCH_MANY=10000 BENCH_MANY_ATT=0 \
	bash "$TOP_SRCDIR/tests/bench/w4.sh" 2>"$WORK/w4.err"
rc=$?
[ $rc -eq 0 ]
ok $? "pack create, verify and posgw-core --once of a 10,000-appeal package succeed"
[ $rc -eq 0 ] || sed 's/^/# /' "$WORK/w4.err" | tail -5
for step in pack verify import; do
	kib=$(awk '{print $2}' "$WORK/w4/$step.run" 2>/dev/null)
	[ -n "$kib" ] && [ "$kib" -le $LIMIT_KIB ]
	ok $? "$step of 10,000 entries peaks at ${kib:-?} KiB RSS (<= $LIMIT_KIB)"
done
done_testing
