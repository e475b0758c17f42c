#!/bin/sh
# handover.sh: journaled hand-overs (posgw media export|import --config):
# both sides record the medium by its signed inventory's digest and
# journal reconcile matches them; a missing, unsigned, edited, wrongly
# signed, swapped or foreign inventory is refused and journaled; a medium
# exported and never imported is reported; re-runs record nothing twice.
. "$(dirname "$0")/lib.sh"

# mkpkg SEQ: one edge-01 package for core-01 into $E2C; prints its name.
mkpkg() {
	_src=$WORK/src.$1
	rm -rf "$_src"
	sample_payload "$_src"
	"$POSGW" pack create --id edge-01 --to core-01 --seq "$1" \
		--key "$KEYS/edge-01.key" --cert "$KEYS/edge-01.crt" --out "$E2C" \
		"$_src/payload/appeal.xml" \
		"payload/att/177073571-1.bin=$_src/payload/att/177073571-1.bin" |
		sed 's|.*/||'
}

# nkind DB KIND: how many journal entries of KIND DB holds.
nkind() {
	q "$1" "SELECT count(*) FROM journal WHERE kind = '$2'"
}

# export_to MEDIA [args]: a journaled export of the edge's outbox.
export_to() {
	_m=$1
	shift
	"$POSGW" media export --config "$EDGE_CONF" --from "$E2C" --to "$_m" \
		--operator ivanov "$@"
}

# import_from MEDIA INBOX: a journaled import into the core.
import_from() {
	"$POSGW" media import --config "$CORE_CONF" --from "$1" --to "$2" \
		--operator sidorov
}

make_pair
mkdir -p "$WORK/edge-state" "$WORK/core-state"
M=$WORK/m1
IN=$WORK/core-in
mkdir -p "$M" "$IN"

# --- usage ---------------------------------------------------------------------
"$POSGW" media export --help | grep -q -- '--config FILE' &&
	"$POSGW" media import --help | grep -q -- '--config FILE'
ok $? "media export and import --help show --config"
"$POSGW" media export --config "$WORK/none.conf" --from "$E2C" --to "$M" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q "none.conf" "$WORK/err" && [ -z "$(ls -A "$M")" ]
ok $? "export with a missing configuration exits 1 naming it, nothing copied"

# --- export then import --------------------------------------------------------
P1=$(mkpkg 1)
P2=$(mkpkg 2)
export_to "$M" >"$WORK/exp" 2>"$WORK/exp.err"
rc=$?
[ $rc -eq 0 ] && [ -f "$M/posgw-inventory.txt.p7s" ] &&
	grep -q 'journaled as media.exported' "$WORK/exp"
ok $? "journaled export signs the inventory"
[ $rc -eq 0 ] || diag "exit $rc: $(cat "$WORK/exp" "$WORK/exp.err")"
DIG=$(gost "$M/posgw-inventory.txt")
certtool --p7-verify --inder --infile "$M/posgw-inventory.txt.p7s" \
	--load-data "$M/posgw-inventory.txt" --load-ca-certificate "$KEYS/edge-01.crt" >/dev/null 2>&1
ok $? "the inventory signature verifies with certtool against edge-01.crt"
[ "$(nkind "$EDGE_DB" media.exported)" -eq 1 ] &&
	q "$EDGE_DB" "SELECT detail FROM journal WHERE kind = 'media.exported'" |
	grep -q "inventory $DIG, medium $M, operator ivanov, host $(hostname).*2 package(s) $P1 $P2"
ok $? "edge journal: media.exported with digest, medium, operator, host, packages"
cmp -s "$M/posgw-inventory.txt" "$WORK/edge-state/handovers/$DIG.txt" &&
	cmp -s "$M/posgw-inventory.txt.p7s" "$WORK/edge-state/handovers/$DIG.txt.p7s"
ok $? "the exporting side keeps the signed inventory in STATE/handovers"
export_to "$M" >"$WORK/exp2" 2>&1
[ $? -eq 0 ] && grep -q 'already journaled' "$WORK/exp2" &&
	[ "$(gost "$M/posgw-inventory.txt")" = "$DIG" ] &&
	[ "$(nkind "$EDGE_DB" media.exported)" -eq 1 ]
ok $? "export re-run: the same signed inventory, journaled once"

import_from "$M" "$IN" >"$WORK/imp" 2>"$WORK/imp.err"
rc=$?
[ $rc -eq 0 ] && [ -f "$IN/$P1" ] && [ -f "$IN/$P2" ] &&
	grep -qx 'imported 2, already there 0, refused 0, left on media 0' "$WORK/imp"
ok $? "journaled import takes the 2 packages"
[ $rc -eq 0 ] || diag "exit $rc: $(cat "$WORK/imp" "$WORK/imp.err")"
! grep -q 'left alone' "$WORK/imp.err"
ok $? "the signature file is not reported as a stray"
[ "$(gost "$M/posgw-inventory.txt")" = "$DIG" ] && [ -f "$M/posgw-inventory.txt.p7s" ] &&
	[ ! -e "$M/$P1" ] && [ ! -e "$M/$P2" ]
ok $? "the signed inventory stays on the medium unchanged; packages removed"
cmp -s "$M/posgw-inventory.txt" "$WORK/core-state/handovers/$DIG.txt" &&
	cmp -s "$M/posgw-inventory.txt.p7s" "$WORK/core-state/handovers/$DIG.txt.p7s"
ok $? "the importing side keeps the signed inventory in STATE/handovers"
[ "$(nkind "$CORE_DB" media.imported)" -eq 1 ] &&
	q "$CORE_DB" "SELECT detail FROM journal WHERE kind = 'media.imported'" |
	grep -q "inventory $DIG, medium $M, operator sidorov, .*2 package(s) $P1 $P2"
ok $? "core journal: media.imported with the same digest and the packages"
import_from "$M" "$IN" >"$WORK/imp2" 2>&1
[ $? -eq 0 ] && grep -q "$P1: delivered before" "$WORK/imp2" &&
	grep -q 'already journaled' "$WORK/imp2" &&
	[ "$(nkind "$CORE_DB" media.imported)" -eq 1 ]
ok $? "import re-run: delivered before, journaled once"
"$POSGW" journal reconcile "$EDGE_DB" "$CORE_DB" --max-age 0 >"$WORK/rec2" 2>&1
[ $? -eq 0 ] && grep -q "handed over $DIG: 2 package(s), exported by edge-01, imported by core-01" "$WORK/rec2" &&
	grep -q 'hand-overs: handed over 1, refused 0, in transit 0, not imported 0, unrecorded 0' "$WORK/rec2"
ok $? "hand-overs reconcile across zones"
[ $? -eq 0 ] || diag "$(cat "$WORK/rec2")"

# --- hostile inventories -------------------------------------------------------
# fresh MEDIUM SEQ: a medium with one freshly exported package; prints nothing.
fresh() {
	mkdir -p "$1"
	mkpkg "$2" >/dev/null
	export_to "$1" >/dev/null 2>&1
}

# refused MEDIUM NAME PATTERN: the import must refuse, import nothing,
# name PATTERN, and journal media.refused.
refused() {
	_before=$(nkind "$CORE_DB" media.refused)
	_n=$(ls "$IN" | wc -l)
	import_from "$1" "$IN" >"$WORK/r.out" 2>"$WORK/r.err"
	_rc=$?
	[ $_rc -eq 1 ] && grep -q -- "$3" "$WORK/r.err" &&
		grep -q 'nothing was imported' "$WORK/r.err" &&
		[ "$(ls "$IN" | wc -l)" -eq "$_n" ] &&
		[ "$(nkind "$CORE_DB" media.refused)" -eq $((_before + 1)) ]
	ok $? "$2"
	[ $_rc -eq 1 ] || diag "exit $_rc: $(cat "$WORK/r.out" "$WORK/r.err")"
}

# An edited inventory: one byte of the operator changed.
M2=$WORK/m2
fresh "$M2" 3
sed -i 's/^operator ivanov$/operator ivanoV/' "$M2/posgw-inventory.txt"
refused "$M2" "an edited inventory (one byte) is refused and journaled" \
	"posgw-inventory.txt: .*signature"
q "$CORE_DB" "SELECT count(*) FROM handovers WHERE direction = 'refused' AND digest = '$(gost "$M2/posgw-inventory.txt")'" | grep -qx 1 &&
	[ -f "$WORK/core-state/handovers/$(gost "$M2/posgw-inventory.txt").txt" ]
ok $? "the refused inventory is recorded by its digest and kept"
import_from "$M2" "$IN" >/dev/null 2>"$WORK/r2.err"
[ $? -eq 1 ] && grep -q 'already journaled as media.refused' "$WORK/r2.err" &&
	[ "$(q "$CORE_DB" "SELECT count(*) FROM handovers WHERE direction = 'refused'")" -eq 1 ]
ok $? "refusing the same inventory again journals it once"

# Unsigned: the signature removed.
M3=$WORK/m3
fresh "$M3" 4
rm "$M3/posgw-inventory.txt.p7s"
refused "$M3" "an unsigned inventory is refused and journaled" \
	"posgw-inventory.txt.p7s is missing: the inventory is not signed"

# Signed by the wrong key: the importer's own key signs a valid inventory.
M4=$WORK/m4
fresh "$M4" 5
certtool --p7-detached-sign --p7-time --outder --load-privkey "$KEYS/core-01.key" \
	--load-certificate "$KEYS/core-01.crt" --infile "$M4/posgw-inventory.txt" \
	--outfile "$M4/posgw-inventory.txt.p7s" >/dev/null 2>&1
refused "$M4" "an inventory signed by the wrong key is refused and journaled" \
	"posgw-inventory.txt: "

# Swapped: another medium's inventory, validly signed by edge-01.
M5=$WORK/m5
fresh "$M5" 6
mkdir -p "$WORK/m6"
fresh "$WORK/m6" 7
cp "$WORK/m6/posgw-inventory.txt" "$WORK/m6/posgw-inventory.txt.p7s" "$M5/"
refused "$M5" "a swapped inventory (another medium's, validly signed) is refused" \
	"the inventory does not describe this medium"

# Replayed: the first medium's inventory, imported before, put back onto a
# medium with new packages.
M6=$WORK/m6b
fresh "$M6" 12
cp "$M/posgw-inventory.txt" "$M/posgw-inventory.txt.p7s" "$M6/"
refused "$M6" "an inventory imported before, put back onto a new medium, is refused" \
	"was imported before and lists none of the packages on this medium"

# Validly signed by edge-01 but not as export writes it (packages out of
# order): what is imported must be exactly what was signed.
MC=$WORK/mc
mkdir -p "$MC"
mkpkg 15 >/dev/null
mkpkg 16 >/dev/null
export_to "$MC" >/dev/null 2>&1
{ head -4 "$MC/posgw-inventory.txt"; tail -n +5 "$MC/posgw-inventory.txt" | sort -r; } >"$WORK/unsorted"
cp "$WORK/unsorted" "$MC/posgw-inventory.txt"
certtool --p7-detached-sign --p7-time --outder --load-privkey "$KEYS/edge-01.key" \
	--load-certificate "$KEYS/edge-01.crt" --infile "$MC/posgw-inventory.txt" \
	--outfile "$MC/posgw-inventory.txt.p7s" >/dev/null 2>&1
refused "$MC" "a signed inventory not as export writes it is refused" \
	"is not as posgw media export writes it"

# Foreign: an inventory edge-01 signed listing a package of another sender.
M7=$WORK/m7
mkdir -p "$M7"
P8=$(mkpkg 8)
mv "$E2C/$P8" "$E2C/other-01.${P8#edge-01.}"
export_to "$M7" >/dev/null 2>&1
refused "$M7" "an inventory listing another sender's package is refused" \
	"sent by other-01: neither edge-01 nor core-01"
rm -f "$E2C/other-01."*

# No inventory at all.
M8=$WORK/m8
mkdir -p "$M8"
refused "$M8" "a medium without an inventory is refused and journaled" \
	"holds no hand-over inventory"
q "$CORE_DB" "SELECT detail FROM journal WHERE kind = 'media.refused' ORDER BY seq DESC LIMIT 1" |
	grep -q '^inventory none, medium '
ok $? "its refusal names no digest"

# --- interrupted after signing, before the journal ------------------------------
# STATE/handovers blocked by a file: the inventory is signed on the medium,
# nothing is journaled; once it is cleared, the re-run keeps the signed
# inventory and journals it once.
MI=$WORK/mi
fresh_before=$(nkind "$EDGE_DB" media.exported)
mv "$WORK/edge-state/handovers" "$WORK/edge-handovers"
: >"$WORK/edge-state/handovers"
mkdir -p "$MI"
mkpkg 13 >/dev/null
export_to "$MI" >"$WORK/int" 2>"$WORK/int.err"
rc=$?
DI=$(gost "$MI/posgw-inventory.txt")
[ $rc -eq 1 ] && [ -f "$MI/posgw-inventory.txt.p7s" ] &&
	grep -q 'the hand-over was not journaled: export again' "$WORK/int.err" &&
	[ "$(nkind "$EDGE_DB" media.exported)" -eq "$fresh_before" ]
ok $? "an export that cannot keep its copy says so and journals nothing"
rm "$WORK/edge-state/handovers"
mv "$WORK/edge-handovers" "$WORK/edge-state/handovers"
export_to "$MI" >"$WORK/int2" 2>&1 &&
	grep -q 'kept as it is' "$WORK/int2" && [ "$(gost "$MI/posgw-inventory.txt")" = "$DI" ] &&
	[ "$(nkind "$EDGE_DB" media.exported)" -eq $((fresh_before + 1)) ] &&
	[ -f "$WORK/edge-state/handovers/$DI.txt.p7s" ]
ok $? "the re-run journals the same signed inventory once"
import_from "$MI" "$IN" >/dev/null 2>&1
ok $? "and the other side imports it"

# --- both directions on one medium ---------------------------------------------
# The core hands a medium back; the edge must import it before it exports
# onto it, or its inventory would list the core's packages under its key.
MB=$WORK/mb
mkdir -p "$MB" "$WORK/edge-in" "$WORK/src.c"
sample_payload "$WORK/src.c"
PC=$("$POSGW" pack create --id core-01 --to edge-01 --seq 1 \
	--key "$KEYS/core-01.key" --cert "$KEYS/core-01.crt" --out "$C2E" \
	"$WORK/src.c/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$WORK/src.c/payload/att/177073571-1.bin" | sed 's|.*/||')
"$POSGW" media export --config "$CORE_CONF" --from "$C2E" --to "$MB" --operator sidorov >/dev/null 2>&1 &&
	[ -f "$MB/$PC" ]
ok $? "the core exports its package, journaled"
mkpkg 14 >/dev/null
export_to "$MB" >"$WORK/both" 2>"$WORK/both.err"
[ $? -eq 1 ] && grep -q "holds a hand-over from core-01 not imported yet ($PC is still on it); nothing was exported" "$WORK/both.err" &&
	[ "$(find "$MB" -name 'edge-01.*' | wc -l)" -eq 0 ]
ok $? "the edge does not export onto a medium with the core's hand-over not imported yet"
"$POSGW" media import --config "$EDGE_CONF" --from "$MB" --to "$WORK/edge-in" >/dev/null 2>&1 &&
	[ -f "$WORK/edge-in/$PC" ] && export_to "$MB" >/dev/null 2>&1
ok $? "once the edge imported it, it exports onto the same medium"
"$POSGW" journal reconcile "$EDGE_DB" "$CORE_DB" >"$WORK/rec5" 2>&1
grep -q "^handed over [0-9a-f]*: 1 package(s), exported by core-01, imported by edge-01" "$WORK/rec5"
ok $? "reconcile matches the hand-over from the core to the edge"

# --- re-exports and unrecorded imports -----------------------------------------
M9=$WORK/m9
fresh "$M9" 9
D1=$(gost "$M9/posgw-inventory.txt")
mkpkg 10 >/dev/null
export_to "$M9" >/dev/null 2>&1
D2=$(gost "$M9/posgw-inventory.txt")
[ "$D1" != "$D2" ] &&
	q "$EDGE_DB" "SELECT replaces FROM handovers WHERE digest = '$D2'" | grep -qx "$D1"
ok $? "exporting more onto a signed medium records which inventory it replaces"
"$POSGW" journal reconcile "$EDGE_DB" "$CORE_DB" >"$WORK/rec0" 2>&1
[ $? -eq 0 ] && grep -q "in transit  $D2: exported by edge-01" "$WORK/rec0"
ok $? "reconcile before the import: the medium is in transit, exit 0"
"$POSGW" journal reconcile "$EDGE_DB" "$CORE_DB" --max-age 0 >"$WORK/rec1" 2>&1
[ $? -eq 1 ] && grep -q "NOT IMPORTED $D2: medium $M9, 2 package(s), exported by edge-01 0 h ago, never imported by core-01" "$WORK/rec1"
ok $? "reconcile --max-age 0: exported, never imported, exit 1"
import_from "$M9" "$IN" >/dev/null 2>&1
"$POSGW" journal reconcile "$EDGE_DB" "$CORE_DB" >"$WORK/rec3" 2>&1
grep -q "superseded  $D1" "$WORK/rec3" && grep -q "handed over $D2" "$WORK/rec3"
ok $? "reconcile: the replaced inventory is superseded, the new one handed over"
grep -q "REFUSED     $(gost "$M4/posgw-inventory.txt"): exported by edge-01, refused by core-01" "$WORK/rec3" &&
	grep -q "REFUSED     $(gost "$M3/posgw-inventory.txt")" "$WORK/rec3"
ok $? "reconcile reports the media the other side refused"
cp "$EDGE_DB" "$WORK/edge-copy.db"
sqlite3 "$WORK/edge-copy.db" "DELETE FROM handovers WHERE digest = '$D2'"
"$POSGW" journal reconcile "$WORK/edge-copy.db" "$CORE_DB" >"$WORK/rec4" 2>&1
[ $? -eq 1 ] && grep -q "UNRECORDED  $D2: imported by core-01, its export is not in edge-01's journal" "$WORK/rec4"
ok $? "an import whose export the other side did not record is reported, exit 1"

# --- the report ------------------------------------------------------------------
"$POSGW" journal report "$CORE_DB" --peer "$EDGE_DB" --out "$WORK/core.html" >/dev/null 2>&1 &&
	grep -q '<h2 id="handovers">Передачи на носителях</h2>' "$WORK/core.html" &&
	grep -q "<code>$DIG</code></td><td>выгрузка записана</td>" "$WORK/core.html" &&
	grep -q 'id="ho-refused">7<' "$WORK/core.html" &&
	sed -n '/id="verdict"/,/<\/div>/p' "$WORK/core.html" | grep -q 'Отказов от носителя за период: 7'
ok $? "journal report lists the hand-overs and the refused media make the verdict red"
"$POSGW" journal report "$WORK/edge-copy.db" --peer "$CORE_DB" --out "$WORK/edge.html" >/dev/null 2>&1 &&
	"$POSGW" journal report "$CORE_DB" --peer "$WORK/edge-copy.db" --out "$WORK/core2.html" >/dev/null 2>&1 &&
	grep -q "<code>$DIG</code></td><td>загружен</td>" "$WORK/edge.html" &&
	grep -q 'id="ho-unrec">1<' "$WORK/core2.html" &&
	sed -n '/id="verdict"/,/<\/div>/p' "$WORK/core2.html" | grep -q 'загруженных без записанной выгрузки: 1'
ok $? "journal report: an import whose export the peer did not record is a problem"

# --- the journals stay intact ----------------------------------------------------
"$POSGW" journal verify "$EDGE_DB" >/dev/null 2>&1 &&
	"$POSGW" journal verify "$CORE_DB" >/dev/null 2>&1
ok $? "both journals verify"

# --- the old form ----------------------------------------------------------------
M10=$WORK/m10
mkdir -p "$M10" "$WORK/plain-in"
mkpkg 11 >/dev/null
"$POSGW" media export --from "$E2C" --to "$M10" --resend >/dev/null 2>&1 &&
	[ ! -e "$M10/posgw-inventory.txt.p7s" ] &&
	"$POSGW" media import --from "$M10" --to "$WORK/plain-in" >/dev/null 2>&1
ok $? "without --config: no signature, no journal, as before"

done_testing
