#!/bin/sh
# media.sh: the whole round trip, hand-over mode "media" (see e2e.sh);
# POSGW_E2E_COUNT appeals (default 25).
. "$(dirname "$0")/../shell/lib.sh"
E2E_SELF=$0
. "$(dirname "$0")/e2e.sh"
e2e_test media "${POSGW_E2E_COUNT:-25}"
done_testing
