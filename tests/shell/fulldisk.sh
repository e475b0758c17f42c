#!/bin/sh
# fulldisk.sh: the core's state directory on a small tmpfs fills up while
# importing: nothing is corrupted, nothing is lost, and work resumes when
# space returns (the tmpfs is enlarged). Needs mount (root); skipped otherwise.
. "$(dirname "$0")/lib.sh"

if ! have sqlite3; then
	skip "full disk" "sqlite3 missing (apt-get install sqlite3)"
	done_testing
fi
make_pair "max_documents = 1"
MNT=$WORK/core-state
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=3m tmpfs "$MNT" 2>/dev/null; then
	skip "full disk" "cannot mount a tmpfs here (needs root)"
	done_testing
fi
trap 'umount "$MNT" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
N=30
"$SPOOLGEN" "$EDGE_CONF" $N --size 200000 --pack >/dev/null
[ "$(ls "$E2C" | grep -c '\.pkg$')" -eq $N ]
ok $? "$N packages of ~200 KB each waiting for the core (6 MB for a 3 MB disk)"
core_once
left=$(ls "$E2C" | grep -c '\.pkg$')
acc=$(q "$CORE_DB" "SELECT COUNT(*) FROM packages WHERE direction='in' AND state='accepted'")
diag "with the disk full: $acc accepted, $left left in the inbox"
[ "$left" -gt 0 ] && [ $((acc + left)) -eq $N ]
ok $? "a full disk stops the import: the rest stays in the inbox"
grep -q -i 'no space\|disk is full\|full' "$WORK/core.log"
ok $? "the log says the disk is full"
# warnings-flood-on-full-disk: each round tried the same packages again and
# warned again, a dozen lines a second for as long as the disk stayed full
# (seen in the 1 M growth run); and the hint was to check the folder
"$POSGW_CORE" --config "$CORE_CONF" 2>"$WORK/daemon.log" &
pid=$!
sleep 4
kill -TERM $pid
wait $pid
grep -q 'its file system is full: free space or inodes (df -h, df -i)' "$WORK/daemon.log" &&
	[ "$(grep -c 'warning' "$WORK/daemon.log")" -ge 1 ] &&
	[ -z "$(grep 'warning' "$WORK/daemon.log" | sort | uniq -d)" ]
ok $? "regression warnings-flood-on-full-disk: four seconds of rounds on a full disk say each warning once, that the file system is full"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM packages WHERE direction='in' AND state != 'accepted'")" = 0 ]
ok $? "nothing was rejected or quarantined because of our own full disk"
[ "$(q "$CORE_DB" "PRAGMA integrity_check")" = ok ]
ok $? "the database is intact"
"$POSGW" journal verify "$CORE_DB" >/dev/null
ok $? "the journal verifies"
mount -o remount,size=64m "$MNT"
core_once
[ "$(ls "$E2C" | grep -c '\.pkg$')" -eq 0 ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) || ' ' || COUNT(DISTINCT pos_id) FROM documents WHERE direction='in' AND kind='appeal'")" = "$N $N" ]
ok $? "when space returns, every package is imported exactly once"
for f in $(q "$CORE_DB" "SELECT digest FROM files"); do
	[ -s "$MNT/files/$f" ] || echo "$f"
done >"$WORK/missing"
[ ! -s "$WORK/missing" ]
ok $? "every attachment is in the file store"
"$POSGW" journal verify "$CORE_DB" >/dev/null && [ "$(q "$CORE_DB" "PRAGMA integrity_check")" = ok ]
ok $? "database and journal still verify"

# A read-only inbox: packages are recorded as consumed, never imported twice.
RO=$WORK/ro-inbox
mkdir -p "$RO"
if mount --bind "$E2C" "$RO" 2>/dev/null && mount -o remount,bind,ro "$RO" 2>/dev/null; then
	trap 'umount "$RO" 2>/dev/null; umount "$MNT" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
	sed -i "s|^inbox = .*|inbox = $RO|" "$CORE_CONF"
	"$SPOOLGEN" "$EDGE_CONF" 2 --first 1000 --pack >/dev/null
	core_once
	core_once
	[ "$(ls "$RO" | grep -c '\.pkg$')" -eq 2 ] &&
		[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM inbound_files WHERE kept = 1")" = 2 ] &&
		[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND pos_id IN ('1000', '1001')")" = 2 ] &&
		[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind = 'package.duplicate'")" = 0 ]
	ok $? "a read-only inbox: files stay, recorded as consumed, imported once"
	umount "$RO"
else
	skip "read-only inbox" "cannot bind-mount read-only here"
fi
done_testing
