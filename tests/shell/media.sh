#!/bin/sh
# media.sh: posgw media export|import: round trip, the export log and
# --resend, packages already on the media, tampered copies, hostile
# inventories, dot files, --for, a medium that fills up mid-copy.
. "$(dirname "$0")/lib.sh"

MNT=""
# Never leave a tmpfs mounted, whatever happens.
cleanup() {
	if [ -n "$MNT" ]; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# mkpkg SENDER RECIPIENT SEQ DIR [ATTACHMENT]: one real package into DIR;
# prints its path.
mkpkg() {
	_src=$WORK/src.$1.$3
	rm -rf "$_src"
	sample_payload "$_src"
	if [ $# -ge 5 ]; then
		cp "$5" "$_src/payload/att/177073571-1.bin"
		sed -i "s/size=\"4\"/size=\"$(stat -c %s "$5")\"/" "$_src/payload/appeal.xml"
	fi
	mkdir -p "$4"
	"$POSGW" pack create --id "$1" --to "$2" --seq "$3" \
		--key "$KEYS/$1.key" --cert "$KEYS/$1.crt" --out "$4" \
		"$_src/payload/appeal.xml" \
		"payload/att/177073571-1.bin=$_src/payload/att/177073571-1.bin"
}

# npkgs DIR: how many non-dot package files DIR holds.
npkgs() {
	find "$1" -maxdepth 1 -type f -name '*.pkg' ! -name '.*' | wc -l
}

# ndot DIR: how many dot files DIR holds.
ndot() {
	find "$1" -maxdepth 1 -name '.*' ! -name . | wc -l
}

# flip FILE OFFSET: invert one byte in place.
flip() {
	_b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	# shellcheck disable=SC2059
	printf "\\$(printf %o $((_b ^ 255)))" |
		dd of="$1" bs=1 seek="$2" count=1 conv=notrunc 2>/dev/null
}

# --- usage -----------------------------------------------------------------
"$POSGW" --help | grep -q 'media export'
ok $? "posgw --help lists media export"
for c in export import; do
	"$POSGW" media $c --help | grep -q "usage: posgw media $c"
	ok $? "posgw media $c --help"
done
"$POSGW" media >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "posgw media without a subcommand exits 2"
"$POSGW" media frob >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "unknown media subcommand exits 2"
"$POSGW" media export --from "$WORK" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "media export without --to exits 2"
"$POSGW" media import --to "$WORK" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "media import without --from exits 2"
"$POSGW" media export --from "$WORK" --to "$WORK/x" --bogus >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "media export with an unknown option exits 2"
"$POSGW" media export --from "$WORK" --to "$WORK/x" extra >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "media export with an extra operand exits 2"
"$POSGW" media import --from "$WORK" --to "$WORK/x" --for 'Bad_Id' >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "media import --for with an invalid id exits 2"
"$POSGW" media export --from "$WORK" --to "$WORK/x" --operator "$(printf 'a\tb')" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "media export --operator with a control character exits 2"
mkdir -p "$WORK/d"
"$POSGW" media export --from "$WORK/d" --to "$WORK/nonexistent" >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q "posgw: media export: cannot use MEDIA $WORK/nonexistent" "$WORK/err"
ok $? "media export to a missing directory exits 1 and names it"
"$POSGW" media export --from "$WORK/d" --to "$WORK/d" >/dev/null 2>&1
[ $? -eq 1 ]
ok $? "media export with --from and --to the same directory exits 1"

make_keys
ok $? "keys for edge-01 and core-01"

# --- round trip ------------------------------------------------------------
A=$WORK/a
mkdir -p "$A/out" "$A/media" "$A/in"
for s in 1 2 3; do mkpkg edge-01 core-01 $s "$A/out" >/dev/null; done
: >"$A/out/.edge-01.000000000009.wip.pkg"
: >"$A/out/notes.txt"
"$POSGW" media export --from "$A/out" --to "$A/media" --operator 'Иванов И.И.' >"$A/exp1" 2>"$A/exp1.err"
rc=$?
[ $rc -eq 0 ] &&
	grep -qx 'exported 3, skipped 0 (already there 0, exported before 0), on media 3' "$A/exp1" &&
	[ "$(npkgs "$A/media")" -eq 3 ] && [ "$(ndot "$A/media")" -eq 0 ]
ok $? "export copies the 3 packages"
[ $rc -eq 0 ] || diag "exit $rc: $(cat "$A/exp1" "$A/exp1.err")"
[ "$(grep -c 'notes.txt' "$A/exp1.err")" -eq 1 ] && ! grep -q wip "$A/exp1.err"
ok $? "export warns once about a non-package name, silently skips dot files"
! grep -q "$(printf '\r')" "$A/exp1.err" && ! grep -q "$(printf '\033')" "$A/exp1.err"
ok $? "no progress bar when stderr is not a terminal"
INV=$A/media/posgw-inventory.txt
sed -n 1p "$INV" | grep -qx 'posgw-inventory 1' &&
	sed -n 2p "$INV" | grep -qx "host $(hostname)" &&
	sed -n 3p "$INV" | grep -qx 'operator Иванов И.И.' &&
	sed -n 4p "$INV" | grep -Eqx 'time [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z' &&
	[ "$(grep -c '^package ' "$INV")" -eq 3 ] && [ "$(wc -l <"$INV")" -eq 7 ]
ok $? "inventory header: format, host, operator, time; one line per package"
good=0
for f in "$A"/out/*.pkg; do
	n=$(basename "$f")
	grep -qx "package $n $(stat -c %s "$f") $(gost "$f")" "$INV" || good=1
done
[ $good -eq 0 ]
ok $? "inventory sizes and digests equal stat and rhash --gost12-256"
[ "$(wc -l <"$A/out/.posgw-exported")" -eq 3 ] && [ "$(npkgs "$A/out")" -eq 3 ]
ok $? "export log has one line per package; nothing removed from OUTBOX"
SUDO_USER= USER=tester "$POSGW" media export --from "$A/out" --to "$A/media" >/dev/null 2>&1 &&
	sed -n 3p "$INV" | grep -qx 'operator tester'
ok $? "operator defaults to \$USER when --operator and \$SUDO_USER are not set"

"$POSGW" media import --from "$A/media" --to "$A/in" >"$A/imp1" 2>"$A/imp1.err"
rc=$?
[ $rc -eq 0 ] && grep -qx 'imported 3, already there 0, refused 0, left on media 0' "$A/imp1"
ok $? "import takes the 3 packages"
[ $rc -eq 0 ] || diag "exit $rc: $(cat "$A/imp1" "$A/imp1.err")"
same=0
for f in "$A"/out/*.pkg; do cmp -s "$f" "$A/in/$(basename "$f")" || same=1; done
[ $same -eq 0 ] && [ "$(npkgs "$A/in")" -eq 3 ] && [ "$(ndot "$A/in")" -eq 0 ]
ok $? "INBOX files are byte-identical to OUTBOX"
[ -z "$(ls -A "$A/media")" ]
ok $? "media emptied and inventory removed"

# --- the export log and --resend ------------------------------------------
"$POSGW" media export --from "$A/out" --to "$A/media" >"$A/exp2" 2>&1
[ $? -eq 0 ] &&
	grep -qx 'exported 0, skipped 3 (already there 0, exported before 3), on media 0' "$A/exp2" &&
	grep -q 'exported before; --resend to export again' "$A/exp2" &&
	[ -z "$(ls -A "$A/media")" ]
ok $? "second export skips packages exported before"
"$POSGW" media export --from "$A/out" --to "$A/media" --resend >"$A/exp3" 2>&1
[ $? -eq 0 ] &&
	grep -qx 'exported 3, skipped 0 (already there 0, exported before 0), on media 3' "$A/exp3" &&
	[ "$(npkgs "$A/media")" -eq 3 ] && [ "$(wc -l <"$A/out/.posgw-exported")" -eq 6 ]
ok $? "--resend exports them again"

# --- already on the media ----------------------------------------------
mkpkg edge-01 core-01 4 "$A/out" >/dev/null
"$POSGW" media export --from "$A/out" --to "$A/media" --resend >"$A/exp4" 2>&1
[ $? -eq 0 ] &&
	grep -qx 'exported 1, skipped 3 (already there 3, exported before 0), on media 4' "$A/exp4" &&
	[ "$(grep -c '^package ' "$INV")" -eq 4 ]
ok $? "packages already on the media are skipped, even with --resend"

# --- a tampered copy on the media --------------------------------------
E=$WORK/e
mkdir -p "$E/in"
T=$(ls "$A/media" | grep '\.000000000002\.')
flip "$A/media/$T" 100
"$POSGW" media import --from "$A/media" --to "$E/in" >"$E/imp" 2>"$E/imp.err"
rc=$?
[ $rc -eq 1 ] &&
	grep -q "posgw: media import: digest mismatch on media: $T (torn or altered copy; export it again)" "$E/imp.err" &&
	grep -qx 'imported 3, already there 0, refused 1, left on media 1' "$E/imp"
ok $? "tampered package refused with exit 1, the others imported"
[ $rc -eq 1 ] || diag "exit $rc: $(cat "$E/imp" "$E/imp.err")"
[ ! -e "$E/in/$T" ] && [ "$(npkgs "$E/in")" -eq 3 ] && [ "$(ndot "$E/in")" -eq 0 ] &&
	[ -f "$A/media/$T" ] && [ "$(npkgs "$A/media")" -eq 1 ] &&
	[ "$(grep -c '^package ' "$INV")" -eq 1 ] && grep -q "^package $T " "$INV"
ok $? "tampered package left on the media and in the inventory, not in INBOX"
"$POSGW" media export --from "$A/out" --to "$A/media" >"$E/exp" 2>"$E/exp.err"
[ $? -eq 0 ] && grep -q "differs from" "$E/exp.err" &&
	grep -qx 'exported 1, skipped 3 (already there 0, exported before 3), on media 1' "$E/exp" &&
	cmp -s "$A/out/$T" "$A/media/$T"
ok $? "exporting again replaces the altered copy"
"$POSGW" media import --from "$A/media" --to "$E/in" >"$E/imp2" 2>&1
[ $? -eq 0 ] && grep -qx 'imported 1, already there 0, refused 0, left on media 0' "$E/imp2" &&
	cmp -s "$A/out/$T" "$E/in/$T" && [ -z "$(ls -A "$A/media")" ]
ok $? "the replaced copy imports"

# A truncated copy: the size no longer matches.
"$POSGW" media export --from "$A/out" --to "$A/media" --resend >/dev/null 2>&1
mkdir -p "$E/in2"
T1=$(ls "$A/media" | grep '\.000000000001\.')
truncate -s -10 "$A/media/$T1"
"$POSGW" media import --from "$A/media" --to "$E/in2" >"$E/imp3" 2>"$E/imp3.err"
[ $? -eq 1 ] && grep -q "digest mismatch on media: $T1" "$E/imp3.err" &&
	grep -qx 'imported 3, already there 0, refused 1, left on media 1' "$E/imp3" && [ ! -e "$E/in2/$T1" ]
ok $? "a truncated copy is refused"
rm -f "$A/media/$T1"
"$POSGW" media import --from "$A/media" --to "$E/in2" >"$E/imp4" 2>"$E/imp4.err"
[ $? -eq 1 ] && grep -q "missing on media: $T1" "$E/imp4.err" &&
	[ ! -e "$A/media/posgw-inventory.txt" ]
ok $? "a listed package missing on the media is reported, exit 1"
"$POSGW" media import --from "$A/media" --to "$E/in2" >/dev/null 2>"$E/imp5.err"
[ $? -eq 1 ] && grep -q "posgw-inventory.txt is missing" "$E/imp5.err"
ok $? "missing inventory: exit 1 with a message"

# --- already there in INBOX ---------------------------------------------
"$POSGW" media export --from "$A/out" --to "$A/media" --resend >/dev/null 2>&1
"$POSGW" media import --from "$A/media" --to "$E/in" >"$E/imp6" 2>&1
[ $? -eq 0 ] && grep -qx 'imported 0, already there 4, refused 0, left on media 0' "$E/imp6" &&
	[ -z "$(ls -A "$A/media")" ]
ok $? "packages INBOX already holds count as already there and leave the media"

# --- hostile inventories ---------------------------------------------------
H=$WORK/h
mkdir -p "$H/out"
for s in 1 2; do mkpkg edge-01 core-01 $s "$H/out" >/dev/null; done
P1=$(ls "$H/out" | grep '\.000000000001\.')
P2=$(ls "$H/out" | grep '\.000000000002\.')
# hostile NAME EXPECT SCRIPT: edit a fresh inventory with SCRIPT (sh -c, $1 is
# the file); import must exit 1, name the problem (grep EXPECT) and touch nothing.
hostile() {
	_m=$H/m.$T_NUM _i=$H/i.$T_NUM
	rm -rf "$_m" "$_i"
	mkdir -p "$_m" "$_i"
	"$POSGW" media export --from "$H/out" --to "$_m" --resend >/dev/null 2>&1
	sh -c "$3" sh "$_m/posgw-inventory.txt"
	cp "$_m/posgw-inventory.txt" "$H/inv.before" 2>/dev/null
	_out=$("$POSGW" media import --from "$_m" --to "$_i" 2>&1)
	_rc=$?
	[ $_rc -eq 1 ] && [ -z "$(ls -A "$_i")" ] && [ "$(npkgs "$_m")" -eq 2 ] &&
		printf '%s\n' "$_out" | grep -q -- "$2" &&
		{ [ ! -e "$H/inv.before" ] || cmp -s "$H/inv.before" "$_m/posgw-inventory.txt"; }
	ok $? "inventory $1: exit 1, nothing imported"
	[ $_rc -eq 1 ] || diag "exit $_rc: $_out"
	printf '%s\n' "$_out" | grep -q -- "$2" || diag "got: $_out"
	rm -f "$H/inv.before"
}
hostile "missing" "posgw-inventory.txt is missing" 'rm "$1"'
hostile "empty" "line 1: ends early" ': >"$1"'
hostile "of a newer format" "line 1: expected 'posgw-inventory 1'" 'sed -i 1s/1$/2/ "$1"'
hostile "with a bad header keyword" "line 2: expected the keyword 'host'" 'sed -i 2s/^host/hots/ "$1"'
hostile "with a header cut short" "line 4: ends early" 'sed -i 4,\$d "$1"'
hostile "with a bad time" "line 4: the time" 'sed -i "4s/T/ /" "$1"'
hostile "with a bad package keyword" "line 5: expected the keyword 'package', found 'packet'" 'sed -i 5s/^package/packet/ "$1"'
hostile "with an uppercase digest" "line 6: digest" 'sed -i "6s/ \([0-9a-f]*\)\$/ \U\1/" "$1"'
hostile "with a short digest" "line 5: digest" 'sed -i "5s/.\$//" "$1"'
hostile "with a size with a leading zero" "line 5: size '01" 'sed -i "5s/ \([0-9]*\) / 0\1 /" "$1"'
hostile "with a negative size" "line 5: size '-" 'sed -i "5s/ \([0-9]*\) / -\1 /" "$1"'
hostile "with a huge size" "line 5: size" 'sed -i "5s/ \([0-9]*\) / 99999999999999999999999 /" "$1"'
hostile "with a path traversal name" "line 5: '../" 'sed -i "5s/^package /package ..\//" "$1"'
hostile "with an absolute path name" "line 5: '/tmp/" 'sed -i "5s/^package /package \/tmp\//" "$1"'
hostile "with a dot name" "line 5: '.edge" 'sed -i "5s/^package /package ./" "$1"'
hostile "with a duplicate entry" "line 7: package $P1 is listed twice (also on line 5)" 'sed -n 5p "$1" >>"$1"'
hostile "with an extra field" "line 5: expected 'package NAME SIZE DIGEST'" 'sed -i "5s/\$/ core-01/" "$1"'
hostile "with double spaces" "line 5: expected 'package NAME SIZE DIGEST'" 'sed -i "5s/ /  /2" "$1"'
hostile "with CRLF line ends" "line 1: expected" 'sed -i "s/\$/\r/" "$1"'
hostile "with an empty line" "line 7: expected the keyword 'package', found ''" 'echo >>"$1"'
hostile "with a torn last line" "line 6: no newline" 'truncate -s -1 "$1"'
hostile "with a NUL byte" "line 5: holds a NUL byte" 'sed -i "5s/^package /package \x00/" "$1"'
hostile "with a 5000-byte line" "line 7: longer than 4096 bytes" 'head -c 5000 /dev/zero | tr "\0" a >>"$1"; echo >>"$1"'
hostile "with a control character in the operator" "line 3: the operator" "sed -i '3s/\$/\\x1b[31m/' \"\$1\""
hostile "that is a symbolic link" "posgw-inventory.txt" 'cp "$1" "$1.real"; ln -sf "$1.real" "$1"'
# More than 100000 package lines: stopped at the bound, not read to the end.
_m=$H/big
mkdir -p "$_m" "$H/big.in"
"$POSGW" media export --from "$H/out" --to "$_m" --resend >/dev/null 2>&1
awk 'NR <= 4 { print; next }
NR == 5 { for (i = 1; i <= 100001; i++)
	printf "package edge-01.%012d.00000000-0000-4000-8000-000000000000.pkg 1 %s\n", i, $4 }' \
	"$_m/posgw-inventory.txt" >"$_m/inv.tmp" && mv "$_m/inv.tmp" "$_m/posgw-inventory.txt"
out=$("$POSGW" media import --from "$_m" --to "$H/big.in" 2>&1)
[ $? -eq 1 ] && printf '%s\n' "$out" | grep -q "more than 100000 packages" && [ -z "$(ls -A "$H/big.in")" ]
ok $? "inventory with more than 100000 packages: exit 1, nothing imported"

# --- dot files and strays on the media ----------------------------------
D=$WORK/dot
mkdir -p "$D/m" "$D/in"
"$POSGW" media export --from "$H/out" --to "$D/m" --resend >/dev/null 2>&1
cp "$A/out/$T" "$D/m/.$T"
: >"$D/m/readme.txt"
"$POSGW" media import --from "$D/m" --to "$D/in" >"$D/imp" 2>"$D/imp.err"
rc=$?
[ $rc -eq 0 ] && grep -qx 'imported 2, already there 0, refused 0, left on media 0' "$D/imp" &&
	[ ! -e "$D/in/$T" ] && [ ! -e "$D/in/.$T" ] && [ -f "$D/m/.$T" ] && [ -f "$D/m/readme.txt" ] &&
	grep -q "\.$T: left alone" "$D/imp.err" && grep -q "readme.txt: left alone (not in the inventory)" "$D/imp.err"
ok $? "dot files and unlisted files on the media are reported and left alone"
[ $rc -eq 0 ] || diag "exit $rc: $(cat "$D/imp" "$D/imp.err")"

# --- --for skips this side's own packages --------------------------------
F=$WORK/f
mkdir -p "$F/out" "$F/m" "$F/in"
mkpkg edge-01 core-01 7 "$F/out" >/dev/null
mkpkg core-01 edge-01 7 "$F/out" >/dev/null
EP=$(ls "$F/out" | grep '^edge-01\.')
CP=$(ls "$F/out" | grep '^core-01\.')
"$POSGW" media export --from "$F/out" --to "$F/m" >/dev/null 2>&1
"$POSGW" media import --from "$F/m" --to "$F/in" --for core-01 >"$F/imp" 2>&1
[ $? -eq 0 ] && grep -qx 'imported 1, already there 0, refused 0, left on media 1' "$F/imp" &&
	[ -f "$F/in/$EP" ] && [ ! -e "$F/in/$CP" ] && [ -f "$F/m/$CP" ] &&
	grep -q "^package $CP " "$F/m/posgw-inventory.txt" && ! grep -q "$EP" "$F/m/posgw-inventory.txt"
ok $? "--for core-01 imports edge-01's package and leaves core-01's own on the media"

# --- progress bar on a terminal -------------------------------------------
if have script; then
	G=$WORK/g
	mkdir -p "$G/m"
	script -qec "\"$POSGW\" media export --from \"$H/out\" --to \"$G/m\" --resend" /dev/null >"$G/tty" 2>&1
	grep -q '100% \[####################\]' "$G/tty" && [ "$(npkgs "$G/m")" -eq 2 ]
	ok $? "progress bar drawn when stderr is a terminal"
	# regression progress-over-total: a copy refused at the end of its
	# copy was counted twice, and the bar showed 3.6 KiB / 2.3 KiB
	mkdir -p "$G/in"
	T=$(ls "$G/m" | grep '\.pkg$' | head -1)
	flip "$G/m/$T" 100
	script -qec "\"$POSGW\" media import --from \"$G/m\" --to \"$G/in\"" /dev/null >"$G/tty2" 2>&1
	tr '\r' '\n' <"$G/tty2" | sed -n 's/.*\] \([0-9.]*\) \([KMG]*i*B\) \/ \([0-9.]*\) \([KMG]*i*B\) .*/\1 \2 \3 \4/p' >"$G/bars"
	[ -s "$G/bars" ] && awk '
		function b(v, u) { return v * (u == "KiB" ? 1024 : u == "MiB" ? 1048576 : u == "GiB" ? 1073741824 : 1) }
		b($1, $2) > b($3, $4) * 1.05 { bad = 1 } END { exit bad }' "$G/bars" &&
		grep -q 'refused 1' "$G/tty2"
	ok $? "regression progress-over-total: a refused copy does not push the bar past its total"
	[ $? -eq 0 ] || diag "$(cat "$G/bars")"
else
	skip "progress bar drawn when stderr is a terminal" "script(1) not installed"
	skip "regression progress-over-total" "script(1) not installed"
fi

# --- a medium that fills up mid-copy -------------------------------------
Z=$WORK/z
mkdir -p "$Z/out" "$Z/m"
head -c 600000 /dev/urandom >"$WORK/big.bin"
BIG=$(mkpkg edge-01 core-01 8 "$Z/out" "$WORK/big.bin")
BN=$(basename "$BIG")
if [ "$(stat -c %s "$BIG")" -lt 300000 ]; then
	ok 1 "a 600 KB package for the full-medium case"
	diag "package is only $(stat -c %s "$BIG") bytes"
elif mount -t tmpfs -o size=256k posgw-test-media "$Z/m" 2>/dev/null; then
	MNT=$Z/m
	"$POSGW" media export --from "$Z/out" --to "$Z/m" >"$Z/exp" 2>"$Z/exp.err"
	rc=$?
	[ $rc -eq 1 ] &&
		grep -q "posgw: media export: copying $BN to $Z/m failed: .* (medium removed or full?); nothing was half-written: temporary files start with '.'" "$Z/exp.err"
	ok $? "full medium: exit 1, the message names the package and says removed or full"
	[ $rc -eq 1 ] || diag "exit $rc: $(cat "$Z/exp" "$Z/exp.err")"
	[ -z "$(ls -A "$Z/m")" ]
	ok $? "full medium: no file for it, no leftover dot file, no inventory"
	[ "$(npkgs "$Z/out")" -eq 1 ] && [ ! -s "$Z/out/.posgw-exported" ]
	ok $? "full medium: package stays in OUTBOX and is not logged as exported"
	# A read-only medium (write-protect switch): same promise.
	mkpkg edge-01 core-01 9 "$Z/out" >/dev/null
	rm -f "$BIG"
	mount -o remount,ro "$Z/m"
	"$POSGW" media export --from "$Z/out" --to "$Z/m" >"$Z/exp2" 2>"$Z/exp2.err"
	[ $? -eq 1 ] && grep -q "failed: Read-only file system (medium removed or full?)" "$Z/exp2.err" &&
		[ -z "$(ls -A "$Z/m")" ]
	ok $? "read-only medium: exit 1 with the same message, nothing written"
	umount "$Z/m" && MNT=""
	ok $? "tmpfs unmounted"
else
	for n in "full medium: exit 1 and message" "full medium: nothing left" \
		"full medium: not logged" "read-only medium" "tmpfs unmounted"; do
		skip "$n" "mount -t tmpfs not permitted"
	done
fi

done_testing
