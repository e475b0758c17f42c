#!/bin/sh
# accounts.sh: the media hand-over as a deployment runs it (issue 13, item
# 1): the edge and core daemons and two operators are different accounts;
# the operators and daemons share a transfer group; the transfer folders are
# setgid 2770 root:GROUP as the shipped tmpfiles.d makes them; everyone runs
# with the units' umask 0027. Packages the edge offers are readable by the
# operators, the export log is appended to by the next shift's operator,
# and the core reads and removes what an operator imported.
# Needs root (it creates and removes the accounts), setpriv and useradd.
. "$(dirname "$0")/lib.sh"

for t in setpriv useradd groupadd userdel groupdel sqlite3; do
	if ! have $t; then
		skip "accounts" "$t missing"
		done_testing
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	skip "accounts" "needs root to create the accounts"
	done_testing
fi
: "${SPOOLGEN:=$TOP_SRCDIR/tests/tools/spoolgen}"

sfx=$$
G=pgwt$sfx
EU=pgwe$sfx CU=pgwc$sfx O1=pgwo1$sfx O2=pgwo2$sfx
cleanup() {
	for u in $EU $CU $O1 $O2; do userdel "$u" >/dev/null 2>&1; done
	groupdel "$G" >/dev/null 2>&1
	rm -rf "${BASE:-/nonexistent-base}"
	[ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
groupadd "$G" || exit 1
for u in $EU $CU $O1 $O2; do
	useradd --system --no-create-home --user-group --groups "$G" \
		--shell /usr/sbin/nologin "$u" || exit 1
done

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
"$POSGW" keys generate --id edge-01 --out "$BASE/keys" >/dev/null &&
	"$POSGW" keys generate --id core-01 --out "$BASE/keys" >/dev/null &&
	"$POSGW" keys generate --id official --out "$BASE/keys" >/dev/null
chown "$EU" "$BASE/keys/edge-01.key" "$BASE/edge-state" && chown -R "$EU" "$BASE/smev"
chown "$CU" "$BASE/keys/core-01.key" "$BASE/core-state" && chown -R "$CU" "$BASE/edms"
chmod 0755 "$BASE/keys"
chmod 0700 "$BASE/edge-state" "$BASE/core-state"
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
done_testing
