#!/bin/sh
# demo.sh: the README's main job (ops/scripts/demo-run) completes the round
# trip with the built programs, the edge signing on a SoftHSM2 token and an
# agency CA's CRL in force on both gateways, the core rolling its key in
# the middle (formats/rollover.md), refuses a package signed with the
# revoked certificate, and ends with the simulator's summary line.
. "$(dirname "$0")/lib.sh"

for t in certtool softhsm2-util p11tool; do
	if ! have $t; then
		skip "demo" "$t missing (apt-get install gnutls-bin softhsm2; ops/scripts/deps installs them)"
		echo "$out" | grep -q '^demo: key rollover: core-01 rolled after [0-9]* appeals: new certificate announced in band, learnt by edge-01, old key retired on both sides$'
ok $? "the core rolls its key mid-exchange, in band, and both sides retire the old one"
done_testing
	fi
done
n=${POSGW_DEMO_TEST_COUNT:-20}
out=$(POSGW_DEMO_COUNT=$n sh "$TOP_SRCDIR/ops/scripts/demo-run" "$TOP_SRCDIR" 2>&1)
rc=$?
[ $rc -eq 0 ]
ok $? "demo-run exits 0"
[ $rc -eq 0 ] || diag "$(echo "$out" | tail -15)"
echo "$out" | tail -1 | grep -q "^sim: issued $n, .* re-appeals [0-9]*, complete \([0-9]*\)/\1, stats 1 (totals match)\$"
ok $? "demo-run ends with the simulator's summary: every appeal and re-appeal complete, the statistics upload matching"
echo "$out" | grep -q "^demo: core: [0-9]* appeals for 2 ЛКО in 3 territories, [0-9]* with ПОС's deadline; repeated appeals marked [1-9][0-9]*, confirmed [1-9]"
ok $? "the demo serves two ЛКО and three territories, with ПОС's deadlines and repeated appeals marked and confirmed"
echo "$out" | grep -q '^demo: journals: .*consistent$'
ok $? "demo-run reconciles both journals"
echo "$out" | grep -q '^demo: transfer folders: [1-9][0-9]* packages seen on the way, [1-9][0-9]* applicants'"'"' surnames and e-mails looked for: found in 0 files$'
ok $? "demo-run finds no applicant's name or e-mail in the transfer folders"
echo "$out" | grep -q "^demo: auditors' report: ПРОВЕРКА ПРОЙДЕНА\$"
ok $? "the demo's auditors' report opens with the green verdict"
echo "$out" | grep -q '^demo: edge signs on token posgw-demo (pkcs11:token=posgw-demo;object=edge-01;type=private), CRL of agency-ca in force on both gateways (2 revoked: '
ok $? "demo-run names the edge's token and the CRL in force on both gateways"
echo "$out" | grep -q '^  edge-01 (token) issuer: *CN=agency-ca$' &&
	echo "$out" | grep -q '^  core-01 issuer: *CN=agency-ca$'
ok $? "the agency CA issued the gateways' certificates"
echo "$out" | grep -q '^demo: revoked signer: refused (untrusted: signer certificate of edge-01 (serial [0-9a-f]*) is revoked since .* by the CRL .*/core-etc/crl/agency-ca.crl'
ok $? "a package signed with the revoked certificate is refused untrusted, naming the revocation"
w=$(echo "$out" | sed -n 's/^demo: working in //p')
[ -n "$w" ] && [ ! -e "$w" ]
ok $? "the demo leaves no working directory behind (token directory included)"
echo "$out" | grep -q '^demo: key rollover: core-01 rolled after [0-9]* appeals: new certificate announced in band, learnt by edge-01, old key retired on both sides$'
ok $? "the core rolls its key mid-exchange, in band, and both sides retire the old one"
echo "$out" | grep -q "^demo: ССТУ.РФ report for [0-9-]*: [1-9][0-9]* rows (ЛКО x ССТУ topic; category 30 has no topic: [0-9]* unmapped row(s))"
ok $? "the demo writes the month's ССТУ.РФ report through the loaded ПОС -> ССТУ map"
done_testing
