#!/bin/sh
# cli-errors.sh: the tools' error paths under valgrind's memcheck, which
# sees what AddressSanitizer cannot: a read of memory never written (an
# uninitialised error value printed as "posgw: M\177" was one). Each
# command must fail the way it says and memcheck must report nothing.
# Run by .ci/run on the plain build (make check runs the sanitizers).
. "$(dirname "$0")/../shell/lib.sh"

if ! have valgrind; then
	skip "valgrind" "valgrind missing (apt-get install valgrind)"
	done_testing
fi
VG="valgrind -q --error-exitcode=99 --leak-check=no --track-origins=yes"
make_pair
S=$WORK/src
sample_payload "$S"
mkdir -p "$WORK/out" "$WORK/bad"
good=$("$POSGW" pack create --id edge-01 --to core-01 --seq 1 --key "$KEYS/edge-01.key" \
	--cert "$KEYS/edge-01.crt" --out "$WORK/out" "$S/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin")
head -c 300 "$good" >"$WORK/bad/edge-01.000000000002.$(new_uuid).pkg"
printf 'garbage\n' >"$WORK/garbage"
printf '[gateway]\nid = Bad Id\n' >"$WORK/bad.conf"
printf 'pos_code,sstu_code\n21,1\n21,2\n' >"$WORK/dup.csv"

# vg NAME CMD...: CMD fails (exit 1 or 2) and memcheck finds nothing.
vg() {
	_n=$1
	shift
	$VG "$@" >"$WORK/vg.out" 2>"$WORK/vg.err"
	_rc=$?
	[ $_rc -eq 1 ] || [ $_rc -eq 2 ]
	ok $? "$_n (exit $_rc, memcheck clean)"
	[ $_rc -eq 1 ] || [ $_rc -eq 2 ] || diag "$(head -20 "$WORK/vg.err")"
}

vg "posgw without a command" "$POSGW"
vg "an unknown command" "$POSGW" bogus
vg "pack verify without packages" "$POSGW" pack verify --id core-01
vg "pack verify with a missing trust file" "$POSGW" pack verify --id core-01 --trust "$WORK/none.crt" "$good"
POSGW_SCHEMADIR=/nonexistent vg "pack verify with a missing POSGW_SCHEMADIR" "$POSGW" pack verify --id core-01 --trust "$KEYS/edge-01.crt" "$good"
vg "pack verify of a torn package" "$POSGW" pack verify --id core-01 --trust "$KEYS/edge-01.crt" "$WORK/bad"/*.pkg
vg "pack verify trusting another gateway" "$POSGW" pack verify --id core-01 --trust "$KEYS/core-01.crt" "$good"
vg "pack list of garbage" "$POSGW" pack list "$WORK/garbage"
mkdir -p "$WORK/x"
vg "pack extract of a torn package" "$POSGW" pack extract --id core-01 --trust "$KEYS/edge-01.crt" "$WORK/bad"/*.pkg "$WORK/x"
vg "pack create with a missing key" "$POSGW" pack create --id edge-01 --to core-01 --seq 2 --key "$WORK/none.key" --cert "$KEYS/edge-01.crt" --out "$WORK/out" "$S/payload/appeal.xml"
vg "pack create with a document missing its attachment" "$POSGW" pack create --id edge-01 --to core-01 --seq 2 --key "$KEYS/edge-01.key" --cert "$KEYS/edge-01.crt" --out "$WORK/out" "$S/payload/appeal.xml"
vg "keys show of garbage" "$POSGW" keys show "$WORK/garbage"
vg "keys generate with a bad id" "$POSGW" keys generate --id "Bad Id" --out "$WORK/k2"
vg "keys import of a missing file" "$POSGW" keys import "$WORK/none.crt" --to "$WORK/peer.crt" --fingerprint 00
vg "keys import with a wrong fingerprint" "$POSGW" keys import "$KEYS/core-01.crt" --to "$WORK/peer.crt" --fingerprint 00
vg "journal verify of a non-database" "$POSGW" journal verify "$WORK/garbage"
vg "journal show of a missing database" "$POSGW" journal show "$WORK/none.db"
vg "journal reconcile of missing databases" "$POSGW" journal reconcile "$WORK/none1.db" "$WORK/none2.db"
vg "journal report of a missing database" "$POSGW" journal report "$WORK/none.db" --out "$WORK/r.html"
vg "transfer status with a missing configuration" "$POSGW" transfer status --config "$WORK/none.conf"
vg "status with a bad configuration" "$POSGW" status --config "$WORK/bad.conf"
vg "edms register with a missing configuration" "$POSGW" edms register 1 --number 1 --date 2026-12-01 --config "$WORK/none.conf"
vg "edms register before the core ran" "$POSGW" edms register 1 --number 1 --date 2026-12-01 --config "$CORE_CONF"
vg "edms map import of a table with a repeated code" "$POSGW" edms map import "$WORK/dup.csv" --config "$CORE_CONF"
vg "edms list before the core ran" "$POSGW" edms list --config "$CORE_CONF"
vg "media export from a missing outbox" "$POSGW" media export --from "$WORK/none" --to "$WORK/m" --operator op
vg "media import from a missing medium" "$POSGW" media import --from "$WORK/none" --to "$WORK/in"
mkdir -p "$WORK/edge-state" "$WORK/core-state" "$WORK/hm" "$WORK/hin" "$WORK/hnone"
"$POSGW" media export --config "$EDGE_CONF" --from "$WORK/out" --to "$WORK/hm" >/dev/null 2>&1
sed -i 's/^operator .*/operator edited/' "$WORK/hm/posgw-inventory.txt"
vg "journaled media import of an edited inventory" "$POSGW" media import --config "$CORE_CONF" --from "$WORK/hm" --to "$WORK/hin"
vg "journaled media import of a medium without an inventory" "$POSGW" media import --config "$CORE_CONF" --from "$WORK/hnone" --to "$WORK/hin"
vg "posgw-edge with a bad configuration" "$POSGW_EDGE" --config "$WORK/bad.conf" --check-config
sed "s|^signer_trust = .*|signer_trust = $WORK/none.crt|" "$CORE_CONF" >"$WORK/core-bad.conf"
vg "posgw-core with an unreadable signer_trust" "$POSGW_CORE" --config "$WORK/core-bad.conf" --check-config
: "${POSGW_SIM:=$TOP_SRCDIR/posgw-sim}"
vg "posgw-sim with a bad option" "$POSGW_SIM" --base "$WORK" --count many
done_testing
