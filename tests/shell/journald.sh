#!/bin/sh
# journald.sh: log levels journald can see. When stderr is journald's
# stream (JOURNAL_STREAM names fd 2's device and inode, as systemd sets it
# for a unit), every line starts with its priority: <3> for an error the
# daemon stops on, <4> a warning, <6> information, <2> a security event
# (a conflicting package); elsewhere the lines stay plain text.
. "$(dirname "$0")/lib.sh"

make_pair
S=$WORK/src
sample_payload "$S"

# journal FILE CMD...: run CMD with stderr appended to FILE as if FILE were
# journald's stream.
journal() {
	_f=$1
	shift
	: >>"$_f"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$_f") "$@" 2>>"$_f"
}

printf '[gateway]\nid = core-01\nbogus = 1\n' >"$WORK/bad.conf"
journal "$WORK/j1" "$POSGW_CORE" --config "$WORK/bad.conf"
[ $? -eq 1 ] && grep -q '^<3>.*bad.conf line 3: \[gateway\] bogus = 1: unknown key' "$WORK/j1" &&
	! grep -q 'posgw-core:' "$WORK/j1"
ok $? "a daemon that cannot start says so at priority 3 (error) to journald"
"$POSGW_CORE" --config "$WORK/bad.conf" 2>"$WORK/plain"
grep -q '^posgw-core: error: .*bogus = 1: unknown key' "$WORK/plain" && ! grep -q '^<' "$WORK/plain"
ok $? "... and as plain 'posgw-core: error: ...' elsewhere"
: >"$WORK/other"
JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/other") "$POSGW_CORE" --config "$WORK/bad.conf" 2>"$WORK/plain2"
grep -q '^posgw-core: error: ' "$WORK/plain2"
ok $? "a JOURNAL_STREAM that names another file is not taken for stderr"

echo hello >"$E2C/README.txt"
journal "$WORK/j2" "$POSGW_CORE" --config "$CORE_CONF" --once
grep -q '^<4>inbox .*README.txt: not a package name; ignored' "$WORK/j2" &&
	grep -q '^<6>' "$WORK/j2" && ! grep -q '^[^<]' "$WORK/j2"
ok $? "warnings at priority 4, information at 6, every line with its priority"
rm -f "$E2C/README.txt"

# A conflict (the same sender and seq with another manifest) is a security
# event: priority 2.
mkdir -p "$WORK/p1" "$WORK/p2"
"$POSGW" pack create --id edge-01 --to core-01 --seq 1 --key "$KEYS/edge-01.key" \
	--cert "$KEYS/edge-01.crt" --encrypt-for "$KEYS/core-01.crt" --out "$WORK/p1" "$S/payload/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" >/dev/null
sed 's/глубокая яма/огромная яма/' "$S/payload/appeal.xml" >"$WORK/p2/appeal.xml"
"$POSGW" pack create --id edge-01 --to core-01 --seq 1 --key "$KEYS/edge-01.key" \
	--cert "$KEYS/edge-01.crt" --encrypt-for "$KEYS/core-01.crt" --out "$WORK/p2" "$WORK/p2/appeal.xml" \
	"payload/att/177073571-1.bin=$S/payload/att/177073571-1.bin" >/dev/null
cp "$WORK/p1"/*.pkg "$E2C/"
core_once
cp "$WORK/p2"/*.pkg "$E2C/"
journal "$WORK/j3" "$POSGW_CORE" --config "$CORE_CONF" --once
grep -q '^<2>SECURITY: .*conflicts with an accepted package' "$WORK/j3"
ok $? "a conflicting package is a security event at priority 2"
done_testing
