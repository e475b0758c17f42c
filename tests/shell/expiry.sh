#!/bin/sh
# expiry.sh: certificates that expire within [gateway] expiry_warn_days
# (default 30) are logged and journaled once by the daemon, listed by
# posgw status and shown in the auditors' report; none beyond the window.
. "$(dirname "$0")/lib.sh"

make_pair
# core-01's certificate made anew for 10 days
rm -f "$KEYS/core-01.key" "$KEYS/core-01.crt"
"$POSGW" keys generate --id core-01 --days 10 --out "$KEYS" >/dev/null
core_once
grep -Eq "certificate CN=core-01 in $KEYS/core-01.crt \(sha256 [0-9a-f]*\.\.\.\) expires 20[0-9T:-]*Z, in (9|10) days" "$WORK/core.log"
ok $? "the daemon warns about its certificate expiring in 10 days"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='cert.expiring' AND detail LIKE '%CN=core-01%'")" = 1 ]
ok $? "and journals it (cert.expiring)"
core_once
core_once
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='cert.expiring'")" = 1 ]
ok $? "once: later rounds and restarts do not journal it again"
"$POSGW" journal verify "$CORE_DB" --trust "$KEYS/core-01.crt" >/dev/null
ok $? "the journal still verifies"
# the edge trusts that certificate: its status lists it as well
edge_once
"$POSGW" status --config "$EDGE_CONF" >"$WORK/status" 2>&1
grep -Eq "^certificates: certificate CN=core-01 in $KEYS/core-01.crt .* in (9|10) days" "$WORK/status" &&
	! grep -q 'CN=edge-01' "$WORK/status"
ok $? "posgw status lists the expiring certificate, not the others"
sed -i 's/^\[gateway\]$/[gateway]\nexpiry_warn_days = 5/' "$EDGE_CONF"
"$POSGW" status --config "$EDGE_CONF" >"$WORK/status5" 2>&1
grep -q '^certificates: none expires within 5 days$' "$WORK/status5"
ok $? "with expiry_warn_days = 5 it is not listed"
"$POSGW" journal report "$CORE_DB" --trust "$KEYS/core-01.crt" --out "$WORK/r.html" >/dev/null 2>&1
grep -q 'Истекает срок сертификата (запись журнала от .*CN=core-01' "$WORK/r.html"
ok $? "the auditors' report shows the journaled warning"
done_testing
