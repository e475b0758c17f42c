#!/bin/sh
# accounts.sh: the account model of posgw(1) ACCOUNTS as a deployment runs
# it (issue 13, items 1 and 2): the edge and core daemons, two operators and
# an EDMS clerk are different accounts; the operators and daemons share a
# transfer group, the clerk and the core an EDMS group; the shared folders
# are setgid 2770 root:GROUP as the shipped tmpfiles.d makes them, the state
# folders 0750 as the units make them; everyone runs with umask 0027.
# Packages the edge offers are readable by the operators, the export log is
# appended to by the next shift's operator, the core reads and removes what
# an operator imported; reading commands create nothing and work for the
# gateway's group, commands that change a gateway's state refuse any other
# account (root too) naming the right one, and an EDMS event written by the
# clerk or by root is one the core can read.
# Needs root (it creates and removes the accounts), setpriv and useradd.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip "accounts" "needs root to create the accounts"
	done_testing
fi
for t in setpriv useradd groupadd userdel groupdel sqlite3; do
	if ! have $t; then
		skip "accounts" "$t missing"
		done_testing
	fi
done
: "${SPOOLGEN:=$TOP_SRCDIR/tests/tools/spoolgen}"

sfx=$$
G=pgwt$sfx
EG=pgwd$sfx
EU=pgwe$sfx CU=pgwc$sfx O1=pgwo1$sfx O2=pgwo2$sfx K=pgwk$sfx
# drop_accounts: remove our accounts and every group of their names (a
# user's own group outlives userdel while another account is in it: the
# edge's, which operator 1 joins, did, and a later run whose pid was the
# same then failed in useradd)
drop_accounts() {
	for u in $EU $CU $O1 $O2 $K; do userdel "$u" >/dev/null 2>&1; done
	for g in $EU $CU $O1 $O2 $K $G $EG; do groupdel "$g" >/dev/null 2>&1; done
}
cleanup() {
	drop_accounts
	rm -rf "${BASE:-/nonexistent-base}"
	[ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
drop_accounts # names ours by their form, left by a run before the fix
groupadd "$G" && groupadd "$EG" || exit 1
for u in $EU $CU $O1 $O2; do
	useradd --system --no-create-home --user-group --groups "$G" \
		--shell /usr/sbin/nologin "$u" || exit 1
done
# the core is in the EDMS group; operator 1 may read the edge's state; the
# clerk is in the EDMS group and may read the core's state
usermod -a -G "$EG" "$CU" && usermod -a -G "$EU" "$O1" &&
	useradd --system --no-create-home --user-group --groups "$EG,$CU" \
		--shell /usr/sbin/nologin "$K" || exit 1

# as USER CMD...: run CMD as USER with its groups and umask 0027.
as() {
	_u=$1
	shift
	setpriv --reuid="$_u" --regid="$_u" --init-groups \
		sh -c 'umask 0027; exec "$@"' sh "$@"
}

if ! as "$O1" test -x "$POSGW"; then
	skip "accounts" "$POSGW cannot be run by another account (its folders are private)"
	done_testing
fi

BASE=$(mktemp -d /tmp/posgw-accounts.XXXXXX)
chmod 0755 "$BASE"
for d in edge-to-core core-to-edge media core-in; do
	mkdir "$BASE/$d"
	chown root:"$G" "$BASE/$d"
	chmod 2770 "$BASE/$d"
done
mkdir -p "$BASE/keys" "$BASE/edge-state" "$BASE/core-state" "$BASE/smev/in" \
	"$BASE/smev/out" "$BASE/edms/export" "$BASE/edms/import"
chmod 0755 "$BASE/edms"
chown root:"$EG" "$BASE/edms/export" "$BASE/edms/import"
chmod 2770 "$BASE/edms/export" "$BASE/edms/import"
"$POSGW" keys generate --id edge-01 --out "$BASE/keys" >/dev/null &&
	"$POSGW" keys generate --id core-01 --out "$BASE/keys" >/dev/null &&
	"$POSGW" keys generate --id official --out "$BASE/keys" >/dev/null
chown "$EU" "$BASE/keys/edge-01.key" "$BASE/edge-state" && chown -R "$EU" "$BASE/smev"
chown "$CU" "$BASE/keys/core-01.key" && chown "$CU:$CU" "$BASE/core-state"
chown "$EU:$EU" "$BASE/edge-state"
chmod 0755 "$BASE/keys"
chmod 0750 "$BASE/edge-state" "$BASE/core-state"
cat >"$BASE/edge.conf" <<CONF
[gateway]
id = edge-01
peer = core-01
key = $BASE/keys/edge-01.key
cert = $BASE/keys/edge-01.crt
trust = $BASE/keys/core-01.crt
state = $BASE/edge-state
[transfer]
inbox = $BASE/core-to-edge
outbox = $BASE/edge-to-core
max_wait_ms = 0
[smev]
base = $BASE/smev
mnemonic = POSGW_TEST
CONF
cat >"$BASE/core.conf" <<CONF
[gateway]
id = core-01
peer = edge-01
key = $BASE/keys/core-01.key
cert = $BASE/keys/core-01.crt
trust = $BASE/keys/edge-01.crt
state = $BASE/core-state
[transfer]
inbox = $BASE/core-in
outbox = $BASE/core-to-edge
max_wait_ms = 0
[edms]
export = $BASE/edms/export
import = $BASE/edms/import
signer_trust = $BASE/keys/official.crt
CONF
chmod 0644 "$BASE/edge.conf" "$BASE/core.conf"

as "$EU" "$SPOOLGEN" "$BASE/edge.conf" 2 >/dev/null &&
	as "$EU" "$POSGW_EDGE" --config "$BASE/edge.conf" --once 2>>"$WORK/edge.log"
pkg=$(ls "$BASE/edge-to-core" | grep '\.pkg$' | head -1)
[ -n "$pkg" ] && [ "$(stat -c '%G %A' "$BASE/edge-to-core/$pkg")" = "$G -rw-r-----" ]
ok $? "the edge (its own account, umask 0027) offers a package of the transfer group, group-readable"
[ -n "$pkg" ] || diag "$(tail -5 "$WORK/edge.log")"

as "$O1" "$POSGW" media export --from "$BASE/edge-to-core" --to "$BASE/media" \
	--operator "$O1" >"$WORK/o1.out" 2>&1
ok $? "operator 1 exports it to the medium"
[ $? -eq 0 ] || diag "$(cat "$WORK/o1.out")"
[ "$(stat -c '%G %a' "$BASE/edge-to-core/.posgw-exported")" = "$G 660" ]
ok $? "the export log belongs to the transfer group and is group-writable"

as "$EU" "$SPOOLGEN" "$BASE/edge.conf" 2 >/dev/null &&
	as "$EU" "$POSGW_EDGE" --config "$BASE/edge.conf" --once 2>>"$WORK/edge.log"
as "$O2" "$POSGW" media export --from "$BASE/edge-to-core" --to "$BASE/media" \
	--operator "$O2" >"$WORK/o2.out" 2>&1
rc=$?
[ $rc -eq 0 ] && [ "$(grep -c '\.pkg ' "$BASE/edge-to-core/.posgw-exported")" -ge 2 ]
ok $? "the next shift's operator exports the next package and appends to the log"
[ $rc -eq 0 ] || diag "$(cat "$WORK/o2.out")"

as "$O2" "$POSGW" media import --from "$BASE/media" --to "$BASE/core-in" \
	--for core-01 >"$WORK/o3.out" 2>&1
ok $? "operator 2 imports the medium into the core's inbox"
[ $? -eq 0 ] || diag "$(cat "$WORK/o3.out")"
as "$CU" "$POSGW_CORE" --config "$BASE/core.conf" --once 2>>"$WORK/core.log"
[ -z "$(ls "$BASE/core-in" | grep '\.pkg$')" ] &&
	[ "$(sqlite3 "$BASE/core-state/posgw.db" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='appeal'")" = 4 ]
ok $? "the core (its own account) reads and removes what the operator imported: 4 appeals"
[ $? -eq 0 ] || diag "$(tail -5 "$WORK/core.log")"
! grep -q 'Permission denied' "$WORK/edge.log" "$WORK/core.log" "$WORK"/o*.out
ok $? "nobody was refused a file"

# --- who runs what (item 2) -----------------------------------------------
listing() { (cd "$1" && find . -printf '%p %u %g %m\n' | sort); }
listing "$BASE/edge-state" >"$WORK/before"
as "$O1" "$POSGW" status --config "$BASE/edge.conf" >"$WORK/st.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^gateway edge-01 <-> core-01' "$WORK/st.out" &&
	listing "$BASE/edge-state" | cmp -s - "$WORK/before"
ok $? "an operator of the edge's group runs posgw status: read-only, nothing created"
[ $rc -eq 0 ] || diag "$(cat "$WORK/st.out")"
as "$O2" "$POSGW" status --config "$BASE/edge.conf" >"$WORK/st2.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "run it as $EU (sudo -u $EU posgw status" "$WORK/st2.out" &&
	grep -q "member of group $EU" "$WORK/st2.out" &&
	listing "$BASE/edge-state" | cmp -s - "$WORK/before"
ok $? "an operator outside it is refused, told which account or group may"
[ $rc -eq 1 ] || diag "exit $rc: $(cat "$WORK/st2.out")"
"$POSGW" status --config "$BASE/edge.conf" >/dev/null 2>&1 &&
	[ -z "$(find "$BASE/edge-state" "$BASE/core-state" -user root)" ]
ok $? "root runs posgw status and leaves no file of its own in the state"
as "$O1" "$POSGW" transfer resend --all --config "$BASE/edge.conf" >"$WORK/rs.out" 2>&1
rc1=$?
"$POSGW" transfer resend --all --config "$BASE/edge.conf" >"$WORK/rs2.out" 2>&1
rc2=$?
[ $rc1 -eq 1 ] && [ $rc2 -eq 1 ] &&
	grep -q "runs as that account, not as $O1: sudo -u $EU posgw transfer resend" "$WORK/rs.out" &&
	grep -q "not as root: sudo -u $EU posgw transfer resend" "$WORK/rs2.out"
ok $? "transfer resend refuses an operator and root, naming the edge's account"
[ $rc1 -eq 1 ] && [ $rc2 -eq 1 ] || diag "$rc1 $rc2: $(cat "$WORK/rs.out" "$WORK/rs2.out")"
as "$EU" "$POSGW" transfer resend --all --config "$BASE/edge.conf" >"$WORK/rs3.out" 2>&1
ok $? "... and works as the edge's account"
# regression check-config-as-root: root's --check-config made the adapter's
# folders and the state's subfolders as root's, which the daemon then could
# not write into
rm -rf "$BASE/smev/in-rejected"
"$POSGW_EDGE" --config "$BASE/edge.conf" --check-config >"$WORK/cc.out" 2>&1
rc=$?
[ $rc -eq 1 ] &&
	grep -q "the state $BASE/edge-state belongs to $EU, so posgw-edge runs as that account, not as root: sudo -u $EU posgw-edge --check-config" "$WORK/cc.out" &&
	[ ! -e "$BASE/smev/in-rejected" ] && [ -z "$(find "$BASE/edge-state" "$BASE/smev" -user root)" ]
ok $? "regression check-config-as-root: root's posgw-edge --check-config is refused naming the account, and makes nothing"
[ $rc -eq 1 ] || diag "exit $rc: $(cat "$WORK/cc.out")"
"$POSGW_CORE" --config "$BASE/core.conf" --once >"$WORK/once.out" 2>&1
[ $? -eq 1 ] && grep -q "belongs to $CU, so posgw-core runs as that account, not as root" "$WORK/once.out" &&
	[ -z "$(find "$BASE/core-state" -user root)" ]
ok $? "root's posgw-core --once is refused the same way"
as "$EU" "$POSGW_EDGE" --config "$BASE/edge.conf" --check-config >/dev/null 2>&1 &&
	[ -d "$BASE/smev/in-rejected" ]
ok $? "... and the check works as the edge's account"

pos=$(sqlite3 "$BASE/core-state/posgw.db" "SELECT pos_id FROM core_appeals ORDER BY pos_id LIMIT 1")
[ -n "$pos" ] && as "$K" cat "$BASE/edms/export/$pos/appeal.xml" >/dev/null 2>&1
ok $? "the clerk (EDMS group) reads the appeal the core exported"
# the core has stopped (no -wal): the clerk may not create -shm in its
# state folder, and reads the database as it is (regression reader-no-wal)
[ ! -e "$BASE/core-state/posgw.db-wal" ]
ok $? "the core is stopped and its database has no -wal file"
as "$K" "$POSGW" edms register "$pos" --number 01-1 --date 2026-12-01 \
	--config "$BASE/core.conf" >"$WORK/k.out" 2>&1
rc=$?
[ $rc -eq 0 ] && [ "$(stat -c %G "$BASE/edms/import/$pos-e1.xml")" = "$EG" ] &&
	[ -z "$(find "$BASE/core-state" -user "$K")" ]
ok $? "regression reader-no-wal: the clerk writes an EDMS event with posgw edms register, in the EDMS group"
[ $rc -eq 0 ] || diag "$(cat "$WORK/k.out")"
umask 0077
"$POSGW" edms take "$pos" --config "$BASE/core.conf" >"$WORK/k2.out" 2>&1
rc=$?
umask 0022
[ $rc -eq 0 ] && [ "$(stat -c '%G %a' "$BASE/edms/import/$pos-e2.xml")" = "$EG 660" ]
ok $? "root (umask 0077) writes one the core can read: group $EG, 0660"
[ $rc -eq 0 ] || diag "$(cat "$WORK/k2.out")"
as "$CU" "$POSGW_CORE" --config "$BASE/core.conf" --once 2>>"$WORK/core.log"
[ "$(sqlite3 "$BASE/core-state/posgw.db" "SELECT COUNT(*) FROM core_events WHERE pos_id = '$pos'")" = 2 ] &&
	[ -z "$(ls "$BASE/edms/import" | grep '\.xml$')" ]
ok $? "the core takes both events"
[ $? -eq 0 ] || diag "$(tail -5 "$WORK/core.log")"
as "$O2" "$POSGW" edms take "$pos" --config "$BASE/core.conf" >"$WORK/k3.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "member of group $CU" "$WORK/k3.out" &&
	[ -z "$(ls "$BASE/edms/import" | grep '\.xml$')" ]
ok $? "an operator outside the clerks is refused posgw edms, told who may"
[ $rc -eq 1 ] || diag "exit $rc: $(cat "$WORK/k3.out")"
printf 'pos_code,sstu_code\n21,1\n' >"$BASE/map.csv"
chmod 0644 "$BASE/map.csv"
as "$K" "$POSGW" edms map import "$BASE/map.csv" --config "$BASE/core.conf" >"$WORK/k4.out" 2>&1
[ $? -eq 1 ] && grep -q "not as $K: sudo -u $CU posgw edms map import" "$WORK/k4.out"
ok $? "edms map import (changes the core's state) refuses the clerk, naming the core's account"

# regression root-event-unreadable: an event file the core may not read is
# reported once with its owner and mode and what to do, not retried silently
printf '<x/>' >"$BASE/edms/import/$pos-e3.xml"
chown root:root "$BASE/edms/import/$pos-e3.xml"
chmod 0600 "$BASE/edms/import/$pos-e3.xml"
as "$CU" "$POSGW_CORE" --config "$BASE/core.conf" --once 2>"$WORK/core2.log"
grep -q "cannot read .*$pos-e3.xml (owner uid 0, group gid 0, mode 0600): posgw-core may not; give it the import folder's group" "$WORK/core2.log" &&
	[ -e "$BASE/edms/import/$pos-e3.xml" ]
ok $? "regression root-event-unreadable: the core says whose file it cannot read and what to do"
[ $? -eq 0 ] || diag "$(cat "$WORK/core2.log")"
done_testing
