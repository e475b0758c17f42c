#!/bin/sh
# journal.sh: every kind of tampering with a gateway's journal is detected by
# posgw journal verify (or, for a consistent rewrite, by the peer's copy of
# the checkpoints in posgw journal reconcile).
. "$(dirname "$0")/lib.sh"
: "${RECHAIN:=$TOP_SRCDIR/tests/tools/rechain}"

if ! have sqlite3; then
	skip "journal tampering" "sqlite3 missing (apt-get install sqlite3)"
	done_testing
fi
make_pair "checkpoint_entries = 4"
S=$WORK/src
sample_payload "$S"
for i in 1 2 3; do
	"$POSGW" transfer enqueue --config "$EDGE_CONF" "$S/payload/appeal.xml" \
		"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" >/dev/null
	edge_once
	core_once
done
edge_once
core_once
edge_once
n=$(q "$EDGE_DB" "SELECT MAX(seq) FROM journal")
cp_entry=$(q "$EDGE_DB" "SELECT MAX(entry) FROM checkpoints")
diag "edge journal: $n entries, last checkpoint at entry $cp_entry"
[ "$n" -ge 10 ] && [ "$cp_entry" -ge 8 ]
ok $? "a journal with entries and checkpoints to tamper with"

out=$("$POSGW" journal verify "$EDGE_DB" --trust "$KEYS/edge-01.crt")
[ $? -eq 0 ] && echo "$out" | grep -q 'signatures verified'
ok $? "the untouched journal verifies"

sqlite3 "$EDGE_DB" "UPDATE journal SET detail = 'x' WHERE seq = 3" 2>/dev/null
[ $? -ne 0 ]
ok $? "the database itself refuses UPDATE on the journal"
sqlite3 "$EDGE_DB" "DELETE FROM journal WHERE seq = 3" 2>/dev/null
[ $? -ne 0 ]
ok $? "the database itself refuses DELETE on the journal"
sqlite3 "$EDGE_DB" "INSERT OR REPLACE INTO journal SELECT seq, at, 'forged', package, appeal, detail, prev, hash FROM journal WHERE seq = 3" 2>/dev/null
[ $? -ne 0 ] && [ "$(q "$EDGE_DB" "SELECT kind FROM journal WHERE seq = 3")" != forged ]
ok $? "the database itself refuses INSERT OR REPLACE over a journal entry"

# tamper NAME SQL EXPECT: apply SQL to a copy (triggers dropped first) and
# expect journal verify to fail with EXPECT in its message.
tamper() {
	cp "$EDGE_DB" "$WORK/t.db"
	rm -f "$WORK/t.db-wal" "$WORK/t.db-shm"
	sqlite3 "$WORK/t.db" "DROP TRIGGER journal_no_update; DROP TRIGGER journal_no_delete; $2"
	out=$("$POSGW" journal verify "$WORK/t.db" --trust "$KEYS/edge-01.crt")
	rc=$?
	[ $rc -eq 1 ] && echo "$out" | grep -q "FAILED: .*$3"
	ok $? "$1 is detected"
	[ $rc -eq 1 ] || diag "$out"
}

sqlite3 "$EDGE_DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
tamper "an altered entry" "UPDATE journal SET detail = 'forged' WHERE seq = 3" \
	"entry 3: content does not match its hash"
tamper "an altered time" "UPDATE journal SET at = at - 86400 WHERE seq = 5" \
	"entry 5: content does not match"
tamper "a deleted entry" "DELETE FROM journal WHERE seq = 4" \
	"entry 5: expected entry 4"
tamper "two reordered entries" \
	"UPDATE journal SET seq = -1 WHERE seq = 4; UPDATE journal SET seq = 4 WHERE seq = 5; UPDATE journal SET seq = 5 WHERE seq = -1" \
	"entry 4: its previous-hash does not match"
tamper "a tail truncated behind a checkpoint" \
	"DELETE FROM journal WHERE seq >= $cp_entry" \
	"covers entry $cp_entry but the journal ends at entry $((cp_entry - 1))"
tamper "a forged checkpoint text" \
	"UPDATE checkpoints SET text = replace(text, 'entry', 'entry ') WHERE id = 1" \
	"checkpoint 1: malformed"
tamper "a checkpoint pointing at a rewritten head" \
	"UPDATE checkpoints SET cms = (SELECT cms FROM checkpoints WHERE id = 1) WHERE id = 2" \
	"checkpoint 2 (entry [0-9]*): signature"

# A consistent rewrite (all hashes recomputed, checkpoints removed) passes
# locally but not against the peer's copy of our checkpoints.
cp "$EDGE_DB" "$WORK/r.db"
sqlite3 "$WORK/r.db" "DROP TRIGGER journal_no_update; DROP TRIGGER journal_no_delete; UPDATE journal SET detail = 'rewritten' WHERE seq = 3; DELETE FROM checkpoints;"
"$RECHAIN" "$WORK/r.db"
"$POSGW" journal verify "$WORK/r.db" >/dev/null
ok $? "a consistent rewrite without checkpoints passes a local verify"
out=$("$POSGW" journal reconcile "$WORK/r.db" "$CORE_DB")
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q 'REWRITTEN edge-01 journal entry'
ok $? "journal reconcile catches it with the peer's checkpoints"
[ $rc -eq 1 ] || diag "$out"

# Reconcile: a digest mismatch and a lost package.
out=$("$POSGW" journal reconcile "$EDGE_DB" "$CORE_DB")
[ $? -eq 0 ] && echo "$out" | grep -q 'consistent$'
ok $? "untouched journals reconcile"
cp "$CORE_DB" "$WORK/c.db"
sqlite3 "$WORK/c.db" "UPDATE packages SET manifest_digest = 'ff' || substr(manifest_digest, 3) WHERE direction = 'in' AND seq = 1"
out=$("$POSGW" journal reconcile "$EDGE_DB" "$WORK/c.db")
[ $? -eq 1 ] && echo "$out" | grep -q '^MISMATCH  edge-01.000000000001'
ok $? "a digest mismatch between the sides is reported"
sqlite3 "$WORK/c.db" "DELETE FROM packages WHERE direction = 'in' AND seq = 2"
out=$("$POSGW" journal reconcile "$EDGE_DB" "$WORK/c.db" --max-age 0)
[ $? -eq 1 ] && echo "$out" | grep -q '^LOST      edge-01.000000000002'
ok $? "a package never seen beyond --max-age is reported lost"
out=$("$POSGW" journal reconcile "$EDGE_DB" "$WORK/c.db" --max-age 1000)
echo "$out" | grep -q '^in flight edge-01.000000000002'
ok $? "a recent one is in flight"

done_testing
