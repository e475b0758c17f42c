#!/bin/sh
# shared.sh: the whole round trip, hand-over mode "shared" (see e2e.sh);
# POSGW_E2E_COUNT appeals (default 40).
. "$(dirname "$0")/../shell/lib.sh"
E2E_SELF=$0
. "$(dirname "$0")/e2e.sh"
e2e_test shared "${POSGW_E2E_COUNT:-40}"
done_testing
