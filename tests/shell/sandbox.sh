#!/bin/sh
# sandbox.sh: after start-up each daemon may make only the system calls on
# its allow-list (seccomp): one off the list stops it with SIGSYS and a
# line naming the call (--seccomp-check); and it may write only under its
# own directories (Landlock): a write outside them fails, a write inside
# works (--sandbox-check restricts exactly as a running daemon does, then
# tries).
. "$(dirname "$0")/lib.sh"
: "${POSGW_EDGE:=$TOP_SRCDIR/posgw-edge}" "${POSGW_CORE:=$TOP_SRCDIR/posgw-core}"
make_pair
# each inbox in a folder of its own: the daemon may write in the folder
# holding its inbox (removable inboxes come back as new directories)
mkdir -p "$WORK/edge-side" "$WORK/core-side"
mv "$C2E" "$WORK/edge-side/c2e" && mv "$E2C" "$WORK/core-side/e2c"
sed -i "s|$C2E|$WORK/edge-side/c2e|; s|$E2C|$WORK/core-side/e2c|" "$EDGE_CONF" "$CORE_CONF"
C2E=$WORK/edge-side/c2e E2C=$WORK/core-side/e2c
OUT=$WORK

# --- seccomp ------------------------------------------------------------------
for d in edge core; do
	eval "exe=\$POSGW_$(echo $d | tr a-z A-Z) conf=\$$(echo $d | tr a-z A-Z)_CONF"
	"$exe" --config "$conf" --seccomp-check >"$WORK/sc-$d.out" 2>"$WORK/sc-$d.err"
	rc=$?
	[ $rc -eq 159 ] && grep -q "posgw-$d: seccomp: system call socket ([0-9]*) is not on the daemon's allow-list; stopping" "$WORK/sc-$d.err" &&
		! grep -q 'was allowed' "$WORK/sc-$d.out"
	ok $? "posgw-$d dies of SIGSYS on a system call off its allow-list, naming it (status $rc)"
done
"$POSGW_CORE" --config "$CORE_CONF" --once 2>"$WORK/core-sc.log"
[ $? -eq 0 ] && grep -q 'seccomp: [0-9]* system calls allowed, others stop the daemon' "$WORK/core-sc.log"
ok $? "a daemon runs a round under the filter and logs it"
cp "$CORE_CONF" "$WORK/core-sc.conf"
sed -i 's/^\[gateway\]$/[gateway]\nseccomp = log/' "$WORK/core-sc.conf"
"$POSGW_CORE" --config "$WORK/core-sc.conf" --seccomp-check >"$WORK/sc-log.out" 2>&1
[ $? -eq 1 ] && grep -q 'seccomp: socket() was allowed' "$WORK/sc-log.out" &&
	grep -q 'others logged by the kernel' "$WORK/sc-log.out"
ok $? "seccomp = log lets the call through (the kernel logs it)"
sed -i 's/^seccomp = log$/seccomp = no/' "$WORK/core-sc.conf"
"$POSGW_CORE" --config "$WORK/core-sc.conf" --seccomp-check >"$WORK/sc-no.out" 2>&1
[ $? -eq 1 ] && grep -q 'seccomp: off' "$WORK/sc-no.out"
ok $? "seccomp = no turns the filter off"
sed -i 's/^seccomp = no$/seccomp = maybe/' "$WORK/core-sc.conf"
"$POSGW_CORE" --config "$WORK/core-sc.conf" --check-config >/dev/null 2>"$WORK/sc-bad.log"
[ $? -eq 1 ] && grep -q 'seccomp = maybe: expected kill, log or no' "$WORK/sc-bad.log"
ok $? "a bad seccomp value is refused with the line named"
# a big attachment is hashed and written on threads of their own: the
# filter lets the daemon make threads (clone with CLONE_THREAD)
mkdir -p "$WORK/big/att" "$WORK/big/out"
head -c 3000000 /dev/urandom >"$WORK/big/att/a.bin"
sed 's/size="4"/size="3000000"/' "$TESTDATA/examples/appeal.xml" >"$WORK/big/appeal.xml"
"$POSGW" pack create --id edge-01 --to core-01 --seq 1 --key "$KEYS/edge-01.key" \
	--cert "$KEYS/edge-01.crt" --out "$WORK/big/out" "$WORK/big/appeal.xml" \
	"payload/att/177073571-1.bin=$WORK/big/att/a.bin" >"$WORK/big/path" &&
	sed 's/^\[transfer\]$/[transfer]\naccept_plain = yes/' "$CORE_CONF" >"$WORK/core-big.conf" &&
	mv "$(cat "$WORK/big/path")" "$E2C/" &&
	"$POSGW_CORE" --config "$WORK/core-big.conf" --once 2>"$WORK/core-big.log" &&
	grep -q 'seccomp: [0-9]* system calls allowed, others stop the daemon' "$WORK/core-big.log" &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE kind = 'appeal'")" = 1 ] &&
	cmp -s "$(find "$EDMS/export" -type f -size 3000000c | head -1)" "$WORK/big/att/a.bin"
ok $? "posgw-core imports a 3 MB attachment under the filter (hash and write threads)"

# --- Landlock -----------------------------------------------------------------
if "$POSGW_EDGE" --config "$EDGE_CONF" --sandbox-check "$WORK/probe" 2>&1 | grep -q 'has no Landlock'; then
	skip "sandbox" "this kernel has no Landlock"
	done_testing
fi

probe() { # DAEMON CONF PATH: the probe's status and line
	out=$("$1" --config "$2" --sandbox-check "$3" 2>/dev/null)
	rc=$?
}

probe "$POSGW_EDGE" "$EDGE_CONF" "$OUT/outside"
[ $rc -eq 0 ] && echo "$out" | grep -q "creating $OUT/outside refused: Permission denied" && [ ! -e "$OUT/outside" ]
ok $? "posgw-edge cannot create a file outside its directories"
probe "$POSGW_EDGE" "$EDGE_CONF" "$EDMS/export/planted"
[ $rc -eq 0 ] && [ ! -e "$EDMS/export/planted" ]
ok $? "posgw-edge cannot write into the core's EDMS folder"
probe "$POSGW_EDGE" "$EDGE_CONF" "$WORK/edge-state/probe"
[ $rc -eq 1 ] && echo "$out" | grep -q 'was allowed'
ok $? "posgw-edge still writes in its state directory"
probe "$POSGW_EDGE" "$EDGE_CONF" "$SMEV/out/probe"
[ $rc -eq 1 ]
ok $? "posgw-edge still writes in the adapter's out/"

probe "$POSGW_CORE" "$CORE_CONF" "$SMEV/in/planted"
[ $rc -eq 0 ] && [ ! -e "$SMEV/in/planted" ]
ok $? "posgw-core cannot write into the adapter's folders"
probe "$POSGW_CORE" "$CORE_CONF" "$OUT/outside"
[ $rc -eq 0 ] && [ ! -e "$OUT/outside" ]
ok $? "posgw-core cannot create a file outside its directories"
probe "$POSGW_CORE" "$CORE_CONF" "$EDMS/export/probe"
[ $rc -eq 1 ]
ok $? "posgw-core still writes in the EDMS export folder"
probe "$POSGW_CORE" "$CORE_CONF" "$C2E/probe"
[ $rc -eq 1 ]
ok $? "posgw-core still writes in its outbox"

# a daemon under the restriction does a whole exchange (the e2e tests do
# the round trip); here one round each way with sandbox on explicitly
"$POSGW_EDGE" --config "$EDGE_CONF" --once 2>"$WORK/edge.log"
grep -q 'sandbox: Landlock ABI' "$WORK/edge.log"
ok $? "the daemon logs the restriction when it runs"
sed -i 's/^\[gateway\]$/[gateway]\nsandbox = no/' "$EDGE_CONF"
"$POSGW_EDGE" --config "$EDGE_CONF" --once 2>"$WORK/edge2.log"
! grep -q 'sandbox: Landlock ABI' "$WORK/edge2.log"
ok $? "[gateway] sandbox = no turns it off"
sed -i 's/^sandbox = no$/sandbox = maybe/' "$EDGE_CONF"
"$POSGW_EDGE" --config "$EDGE_CONF" --check-config >/dev/null 2>"$WORK/edge3.log"
[ $? -eq 1 ] && grep -q 'sandbox = maybe: expected yes or no' "$WORK/edge3.log"
ok $? "a bad sandbox value is refused with the line named"
done_testing
