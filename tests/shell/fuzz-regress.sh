#!/bin/sh
# fuzz-regress.sh: every crash input the fuzzers found and that was fixed
# (tests/fuzz/regress/<target>/) runs again through the same target code
# in the ordinary build (with ASan/UBSan in CI's second pass), and so do
# the seeds (tests/fuzz/seeds/, the spec's examples, sample configs), so a fixed bug cannot come back unnoticed.
. "$(dirname "$0")/lib.sh"
: "${FUZZ_REPLAY_DIR:=$TOP_SRCDIR/tests/fuzz}"
for t in manifest payload package conf inventory edms-event posmap-event queryresult; do
	exe=$FUZZ_REPLAY_DIR/replay-$t
	set --
	for f in "$TOP_SRCDIR"/tests/fuzz/regress/"$t"/* "$TOP_SRCDIR"/tests/fuzz/seeds/"$t"/*; do
		[ -e "$f" ] && set -- "$@" "$f"
	done
	case $t in
	payload | edms-event | posmap-event) set -- "$@" "$TESTDATA"/examples/*.xml ;;
	conf) set -- "$@" "$TOP_SRCDIR"/ops/examples/*.conf ;;
	esac
	out=$("$exe" "$@" 2>&1)
	rc=$?
	[ $# -gt 0 ] && [ $rc -eq 0 ] && [ "$(echo "$out" | grep -c '^replayed ')" -eq $# ]
	ok $? "fuzz target $t: $# committed inputs replay cleanly"
	[ $rc -eq 0 ] || echo "$out" | tail -5 | sed 's/^/# /'
done
done_testing
