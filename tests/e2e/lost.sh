#!/bin/sh
# lost.sh: the whole round trip, hand-over mode "lost" (see e2e.sh);
# POSGW_E2E_COUNT appeals (default 25).
. "$(dirname "$0")/../shell/lib.sh"
E2E_SELF=$0
. "$(dirname "$0")/e2e.sh"
e2e_test lost "${POSGW_E2E_COUNT:-25}"
grep -q '^lost ' "$WORK/carrier.log" && grep -q 'resend after' "$WORK/carrier.log"
ok $? "a package was lost on the medium and resent"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind IN ('package.rejected', 'security.conflict')")" = 0 ]
ok $? "the resent package was the same package (no conflict)"
done_testing
