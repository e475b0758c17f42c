#!/bin/sh
# transfer.sh: the hand-over between posgw-edge and posgw-core through shared
# transfer folders: packing, import in one transaction, receipts, duplicates,
# conflicts, rejects with quarantine, re-offers, gaps, a vanishing inbox.
. "$(dirname "$0")/lib.sh"

if ! have sqlite3; then
	skip "transfer" "sqlite3 missing (apt-get install sqlite3)"
	done_testing
fi
make_pair
S=$WORK/src
sample_payload "$S"

# A document with its attachment goes edge -> core and the receipt comes back.
"$POSGW" transfer enqueue --config "$EDGE_CONF" "$S/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" >/dev/null
ok $? "transfer enqueue queues an appeal with its attachment"
edge_once
[ "$(ls "$E2C" | grep -c '^edge-01\.000000000001\..*\.pkg$')" -eq 1 ]
ok $? "edge packs it as seq 1 into the transfer folder"
first=$(ls "$E2C"/*.pkg)
cp "$first" "$WORK/first.pkg"
core_once
[ "$(ls "$E2C" | wc -l)" -eq 0 ]
ok $? "core removes the package from its inbox after importing it"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='appeal' AND pos_id='177073571'")" = 1 ]
ok $? "core imported the appeal once"
digest=$(q "$CORE_DB" "SELECT digest FROM files f JOIN documents d ON d.id = f.document_id WHERE d.pos_id='177073571'")
cmp -s "$WORK/core-state/files/$digest" "$S/payload/att/177073571-1.bin"
ok $? "the attachment is in core's file store, byte for byte"
edge_once
[ "$(q "$EDGE_DB" "SELECT state FROM packages WHERE direction='out' AND seq=1")" = delivered ]
ok $? "edge marks the package delivered on the accepted receipt"
[ ! -e "$WORK/edge-state/sent/$(basename "$first")" ]
ok $? "edge drops its kept copy once delivered"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM packages WHERE direction='out' AND state='sent' AND control=1")" -ge 1 ]
ok $? "the receipts-only package is a control package"
[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM documents WHERE direction='out' AND kind='receipt'")" = 0 ]
ok $? "a receipts-only package is not receipted"

# Duplicate: the same package offered again is journaled and answered duplicate.
cp "$WORK/first.pkg" "$first"
core_once
[ "$(ls "$E2C" | wc -l)" -eq 0 ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='package.duplicate'")" = 1 ] &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='appeal'")" = 1 ]
ok $? "a duplicate is journaled, removed and not imported twice"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='out' AND kind='receipt' AND instr(body, 'result=\"duplicate\"') > 0")" = 1 ]
ok $? "a duplicate is answered with a duplicate receipt"

# Conflict: same seq, different content, signed by the peer.
mkdir -p "$WORK/conflict"
sed 's/глубокая яма/огромная яма/' "$S/payload/appeal.xml" >"$WORK/conflict/appeal.xml"
c=$("$POSGW" pack create --id edge-01 --to core-01 --seq 1 --key "$KEYS/edge-01.key" \
	--cert "$KEYS/edge-01.crt" --encrypt-for "$KEYS/core-01.crt" --out "$WORK/conflict" "$WORK/conflict/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin")
cp "$c" "$E2C/"
core_once
cn=$(basename "$c")
[ -f "$WORK/core-state/quarantine/$cn" ] &&
	head -1 "$WORK/core-state/quarantine/$cn.reason" | grep -q '^conflict: seq 1 was accepted with manifest' &&
	[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM journal WHERE kind='security.conflict'")" = 1 ] &&
	grep -q 'SECURITY' "$WORK/core.log"
ok $? "a conflict is quarantined with a reason and journaled as a security alert"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='in' AND kind='appeal'")" = 1 ]
ok $? "nothing of the conflicting package is imported"

# Reject: garbage with a valid name.
bad=edge-01.000000000002.$(new_uuid).pkg
head -c 5000 /dev/urandom >"$E2C/$bad"
core_once
[ -f "$WORK/core-state/quarantine/$bad" ] &&
	head -1 "$WORK/core-state/quarantine/$bad.reason" | grep -q '^envelope: neither an envelope' &&
	[ ! -e "$E2C/$bad" ]
ok $? "a broken file goes to quarantine/<name> with <name>.reason 'envelope: ...'"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM documents WHERE direction='out' AND kind='receipt' AND instr(body, 'result=\"rejected\" code=\"envelope\"') > 0")" = 1 ]
ok $? "the reject is answered with a rejected receipt carrying the code"
edge_once
grep -q 'receipt for unknown package' "$WORK/edge.log" &&
	[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM journal WHERE kind='receipt.unknown'")" = 2 ]
ok $? "receipts for packages edge never made are journaled and logged"

# A package of ours the peer rejects is raised to the operator.
cp "$CORE_CONF" "$WORK/core.conf.orig"
printf '[limits]\nentry = 3\n' >>"$CORE_CONF"
"$POSGW" transfer enqueue --config "$EDGE_CONF" "$S/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" >/dev/null
edge_once
small=$(basename "$(ls "$E2C"/edge-01.*.pkg)")
core_once
cp "$WORK/core.conf.orig" "$CORE_CONF"
edge_once
[ "$(q "$EDGE_DB" "SELECT state || ' ' || code FROM packages WHERE name='$small'")" = "rejected size" ]
ok $? "edge marks its package rejected with the peer's code"
"$POSGW" transfer status --config "$EDGE_CONF" | grep -q "^  $small  size: "
ok $? "transfer status lists it under 'rejected by the peer'"
grep -q "the peer REJECTED our package $small" "$WORK/edge.log" &&
	[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM journal WHERE kind='package.rejected_by_peer'")" = 1 ]
ok $? "edge logs and journals the peer's rejection"

# Names that are not packages are left alone; dot files are ignored.
echo hello >"$E2C/README.txt"
echo partial >"$E2C/.edge-01.000000000009.$(new_uuid).pkg"
core_once
[ -f "$E2C/README.txt" ] && grep -q 'README.txt: not a package name; ignored' "$WORK/core.log" &&
	[ "$(ls -a "$E2C" | grep -c '^\.edge')" -eq 1 ]
ok $? "non-package names and dot files are neither opened nor deleted"
rm -f "$E2C/README.txt" "$E2C"/.edge-*

# Lost package and re-offer: the same file, the same bytes.
"$POSGW" transfer enqueue --config "$EDGE_CONF" "$S/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" >/dev/null
edge_once
lost=$(ls "$E2C"/edge-01.*.pkg)
cp "$lost" "$WORK/lost.pkg"
rm -f "$lost"
"$POSGW" transfer resend --config "$EDGE_CONF" --all >/dev/null
edge_once
cmp -s "$lost" "$WORK/lost.pkg"
ok $? "transfer resend offers the lost package again, byte for byte"
[ "$(q "$EDGE_DB" "SELECT offers FROM packages WHERE name='$(basename "$lost")'")" = 2 ] &&
	[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM journal WHERE kind='operator.resend'")" = 1 ]
ok $? "the re-offer and the operator's request are journaled"
core_once
edge_once
[ "$(q "$EDGE_DB" "SELECT state FROM packages WHERE name='$(basename "$lost")'")" = delivered ]
ok $? "the re-offered package is delivered"

# Gaps: one package goes missing, the next one arrives.
"$POSGW" transfer enqueue --config "$EDGE_CONF" "$S/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" >/dev/null
edge_once
gone=$(ls "$E2C"/edge-01.*.pkg)
gapseq=$(basename "$gone" | cut -d. -f2 | sed 's/^0*//')
rm -f "$gone"
"$POSGW" transfer enqueue --config "$EDGE_CONF" "$S/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" >/dev/null
edge_once
core_once
"$POSGW" transfer status --config "$CORE_CONF" | grep -q "^gaps: $gapseq  (1 package(s) of edge-01 never seen)"
ok $? "core lists the missing seq $gapseq as a gap"

# Automatic re-offer after the interval closes the gap.
sed -i 's/^scan_interval = 1/scan_interval = 1\nresend_interval = 1/' "$EDGE_CONF"
sleep 1.1
edge_once
core_once
"$POSGW" transfer status --config "$CORE_CONF" | grep -q '^gaps: none'
ok $? "the automatic re-offer after resend_interval fills the gap"

# Journals verify and reconcile; checkpoints crossed over.
edge_once
core_once
edge_once
"$POSGW" journal verify "$EDGE_DB" --trust "$KEYS/edge-01.crt" >/dev/null &&
	"$POSGW" journal verify "$CORE_DB" --trust "$KEYS/core-01.crt" >/dev/null
ok $? "both journals verify against the gateways' certificates"
[ "$(q "$CORE_DB" "SELECT COUNT(*) FROM peer_checkpoints")" -ge 1 ] &&
	[ "$(q "$EDGE_DB" "SELECT COUNT(*) FROM peer_checkpoints")" -ge 1 ]
ok $? "each side holds checkpoints of the other"
"$POSGW" journal reconcile "$EDGE_DB" "$CORE_DB" >"$WORK/rec"
rc=$?
[ $rc -eq 0 ] && grep -q 'consistent$' "$WORK/rec"
ok $? "journal reconcile finds both sides consistent"
[ $rc -eq 0 ] || diag "$(cat "$WORK/rec")"
"$POSGW" journal show "$CORE_DB" --appeal 177073571 | grep -q 'document.received'
ok $? "journal show --appeal lists the appeal's entries"
"$POSGW" journal show "$CORE_DB" --package "$(basename "$first")" | grep -q 'package.accepted'
ok $? "journal show --package lists the package's entries"

# The inbox removed and recreated while the daemon runs.
"$POSGW_CORE" --config "$CORE_CONF" 2>>"$WORK/core-run.log" &
pid=$!
sleep 0.3
rm -rf "$E2C"
sleep 1.2
mkdir -p "$E2C"
"$POSGW" transfer enqueue --config "$EDGE_CONF" "$S/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" >/dev/null
edge_once
n=$(ls "$E2C" | wc -l)
wait_for 15 sh -c "[ \$(ls '$E2C' | wc -l) -eq 0 ]"
ok $? "after the inbox vanished and came back, the running core imports again ($n file)"
kill -TERM $pid
wait $pid
[ $? -eq 0 ] && grep -q 'stopping' "$WORK/core-run.log"
ok $? "SIGTERM stops the daemon cleanly"
grep -q 'is back' "$WORK/core-run.log"
ok $? "the daemon logged that the inbox came back"

"$POSGW_CORE" --config "$CORE_CONF" --check-config >/dev/null
ok $? "--check-config accepts a good configuration"
printf '[gateway]\nid = core-01\nbogus = 1\n' >"$WORK/bad.conf"
"$POSGW_CORE" --config "$WORK/bad.conf" --check-config 2>"$WORK/err"
[ $? -eq 1 ] && grep -q 'bad.conf line 3: \[gateway\] bogus = 1: unknown key' "$WORK/err"
ok $? "an unknown key is an error naming file and line"

# nonregular-warned-every-scan: a folder, a link and a FIFO under package
# names in the inbox were warned about on every scan (24 lines in 4 s for 3
# entries); now once per name, as names that are not packages are.
for k in 1 2 3; do
	nm=$(pkgname 90$k "$(new_uuid)")
	case $k in
	1) mkdir "$E2C/$nm" ;;
	2) ln -s /etc/passwd "$E2C/$nm" ;;
	3) mkfifo "$E2C/$nm" ;;
	esac
done
: >"$WORK/nonreg.log"
"$POSGW_CORE" --config "$CORE_CONF" 2>>"$WORK/nonreg.log" &
pid=$!
sleep 3.5
kill -TERM $pid
wait $pid
n=$(grep -c 'not a regular file (a folder, link or device under a package name); left alone' "$WORK/nonreg.log")
[ "$n" -eq 3 ] && [ "$(ls "$E2C" | grep -c '\.pkg$')" -eq 3 ]
ok $? "regression nonregular-warned-every-scan: three non-regular entries under package names are warned about once each over 3.5 s ($n lines)"
rm -rf "$E2C"/*.pkg

# second-daemon-same-state: a second posgw-core on the same state directory
# ran beside the first (only the database's UNIQUE constraint saved a
# burst). Each daemon now holds STATE/posgw.lock; another one, also --once,
# is refused naming the PID; checks may run beside it.
for role in core edge; do
	if [ $role = core ]; then
		bin=$POSGW_CORE conf=$CORE_CONF state=$WORK/core-state
	else
		bin=$POSGW_EDGE conf=$EDGE_CONF state=$WORK/edge-state
	fi
	"$bin" --config "$conf" 2>>"$WORK/$role-run.log" &
	pid=$!
	wait_for 10 grep -q "PID $pid" "$state/posgw.lock"
	"$bin" --config "$conf" 2>"$WORK/second.err"
	rc1=$?
	"$bin" --config "$conf" --once 2>>"$WORK/second.err"
	rc2=$?
	"$bin" --config "$conf" --check-config >/dev/null 2>&1
	rc3=$?
	kill -0 $pid 2>/dev/null
	alive=$?
	[ $rc1 -eq 1 ] && [ $rc2 -eq 1 ] && [ $rc3 -eq 0 ] && [ $alive -eq 0 ] &&
		[ "$(grep -c "the state directory $state is in use by posgw-$role PID $pid (per $state/posgw.lock): two daemons must never share a state" "$WORK/second.err")" = 2 ]
	ok $? "regression second-daemon-same-state: a second posgw-$role is refused naming PID $pid; --check-config runs beside it"
	[ $rc1 -eq 1 ] || diag "exit $rc1 $rc2 $rc3: $(cat "$WORK/second.err")"
	kill -TERM $pid
	wait $pid
	"$bin" --config "$conf" --once 2>>"$WORK/$role-run.log"
	ok $? "... and once it stopped, posgw-$role starts on that state again"
done

done_testing
