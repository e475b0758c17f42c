#!/bin/sh
# demo.sh: the README's main job (ops/scripts/demo-run) completes the round
# trip with the built programs and ends with the simulator's summary line.
. "$(dirname "$0")/lib.sh"

if ! have certtool; then
	skip "demo" "certtool missing (apt-get install gnutls-bin)"
	done_testing
fi
n=${POSGW_DEMO_TEST_COUNT:-20}
out=$(POSGW_DEMO_COUNT=$n sh "$TOP_SRCDIR/ops/scripts/demo-run" "$TOP_SRCDIR" 2>&1)
rc=$?
[ $rc -eq 0 ]
ok $? "demo-run exits 0"
[ $rc -eq 0 ] || diag "$(echo "$out" | tail -15)"
echo "$out" | tail -1 | grep -q "^sim: issued $n, .* complete $n/$n\$"
ok $? "demo-run ends with the simulator's summary: complete $n/$n"
echo "$out" | grep -q '^demo: journals: .*consistent$'
ok $? "demo-run reconciles both journals"
echo "$out" | grep -q '^demo: transfer folders: [1-9][0-9]* packages seen on the way, [1-9][0-9]* applicants'"'"' surnames and e-mails looked for: found in 0 files$'
ok $? "demo-run finds no applicant's name or e-mail in the transfer folders"
echo "$out" | grep -q "^demo: auditors' report: ПРОВЕРКА ПРОЙДЕНА\$"
ok $? "the demo's auditors' report opens with the green verdict"
done_testing
