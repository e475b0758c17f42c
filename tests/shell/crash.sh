#!/bin/sh
# crash.sh: kill -9 at random moments while packing and while ingesting
# (POSGW_CRASH_ITERATIONS per side, default 100, so 200 kills): afterwards
# every document is in exactly one package, seqs are gap-free and unique,
# every appeal is imported exactly once, and both journals verify.
. "$(dirname "$0")/lib.sh"

if ! have sqlite3; then
	skip "crash" "sqlite3 missing (apt-get install sqlite3)"
	done_testing
fi
ITER=${POSGW_CRASH_ITERATIONS:-100}
DOCS=${POSGW_CRASH_DOCS:-3000}
make_pair "max_documents = 3"

# rnd_ms MAX: a random number of milliseconds below MAX, as "0.0NN" seconds.
rnd_sleep() {
	r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	printf '0.%03d' $((r % $1))
}

# kill_loop BINARY CONF N: start the daemon, kill -9 it at a random moment, N times.
kill_loop() {
	i=0
	while [ $i -lt "$3" ]; do
		"$1" --config "$2" 2>>"$WORK/crash.log" &
		p=$!
		sleep "$(rnd_sleep 60)"
		kill -9 $p 2>/dev/null
		wait $p 2>/dev/null
		i=$((i + 1))
	done
}

"$SPOOLGEN" "$EDGE_CONF" "$DOCS" >/dev/null
ok $? "$DOCS appeals queued at the edge"

# Packing side.
kill_loop "$POSGW_EDGE" "$EDGE_CONF" "$ITER"
diag "packed during the kill loop: $(q "$EDGE_DB" "SELECT COUNT(*) FROM packages WHERE direction='out'") package(s)"
edge_once
edge_once
npk=$(q "$EDGE_DB" "SELECT COUNT(*) FROM packages WHERE direction='out' AND control=0")
[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM documents WHERE direction='out' AND kind='appeal' AND package_id IS NULL")" = 0 ]
ok $? "after $ITER kills while packing, every appeal is in a package"
[ "$(q "$EDGE_DB" "SELECT COUNT(*) || ' ' || MIN(seq) || ' ' || MAX(seq) FROM packages WHERE direction='out'")" = \
	"$(q "$EDGE_DB" "SELECT MAX(seq) || ' 1 ' || MAX(seq) FROM packages WHERE direction='out'")" ]
ok $? "outbound seqs are 1..N without gaps or repeats ($npk packages)"
[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM packages WHERE state='building'")" = 0 ]
ok $? "no package is left half-built"
[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM (SELECT package_id FROM documents WHERE kind='appeal' GROUP BY package_id HAVING COUNT(*) > 3)")" = 0 ]
ok $? "no package holds more than max_documents appeals"
files=$(ls "$E2C" | grep -c '\.pkg$')
[ "$files" -eq "$(q "$EDGE_DB" "SELECT COUNT(*) FROM packages WHERE direction='out'")" ] &&
	[ -z "$(ls -a "$E2C" | grep '^\.edge')" ] || [ "$(ls -a "$E2C" | grep -c '^\.')" -le 3 ]
ok $? "one file per package in the transfer folder ($files)"
out=$("$POSGW" pack verify --id core-01 --trust "$KEYS/edge-01.crt" --exchange-key "$KEYS/core-01.key" --exchange-cert "$KEYS/core-01.crt" "$E2C"/*.pkg | grep -v ': ok$')
[ -z "$out" ]
ok $? "every package file verifies"
[ -z "$out" ] || diag "$out"
"$POSGW" journal verify "$EDGE_DB" --trust "$KEYS/edge-01.crt" >/dev/null
ok $? "the edge journal verifies after the kills"

# Ingest side.
kill_loop "$POSGW_CORE" "$CORE_CONF" "$ITER"
diag "imported during the kill loop: $(q "$CORE_DB" "SELECT COUNT(*) FROM packages WHERE direction='in'") package(s)"
core_once
core_once
[ "$(ls "$E2C" | grep -c '\.pkg$')" -eq 0 ]
ok $? "after $ITER kills while ingesting, the inbox is drained"
[ "$(q "$CORE_DB" "SELECT COUNT(*) || ' ' || COUNT(DISTINCT pos_id) FROM documents WHERE direction='in' AND kind='appeal'")" = "$DOCS $DOCS" ]
ok $? "every appeal was imported exactly once"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM packages WHERE direction='in' AND state='accepted'")" = "$(q "$EDGE_DB" "SELECT COUNT(*) FROM packages WHERE direction='out'")" ]
ok $? "every package was accepted exactly once"
[ "$(q "$CORE_DB" "PRAGMA integrity_check")" = ok ]
ok $? "the core database passes integrity_check"
"$POSGW" journal verify "$CORE_DB" --trust "$KEYS/core-01.crt" >/dev/null
ok $? "the core journal verifies after the kills"
for f in $(q "$CORE_DB" "SELECT DISTINCT digest FROM files"); do
	[ -f "$WORK/core-state/files/$f" ] || echo "$f"
done >"$WORK/missing"
[ ! -s "$WORK/missing" ]
ok $? "every imported attachment is in the file store"

# Receipts flow back; nothing is lost either way.
edge_once
core_once
edge_once
[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM packages WHERE direction='out' AND control=0 AND state != 'delivered'")" = 0 ]
ok $? "edge has a receipt for every package"
"$POSGW" journal reconcile "$EDGE_DB" "$CORE_DB" >/dev/null
ok $? "the journals reconcile"

done_testing
