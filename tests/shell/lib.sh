# lib.sh: TAP helpers and package-building helpers for shell-level tests.
# Sourced by each tests/shell/*.sh; POSGW, PKGCRAFT, TESTDATA come from the
# harness (tests/Makefile.inc) or default to an in-tree build.

set -u
: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${POSGW:=$TOP_SRCDIR/posgw}"
: "${PKGCRAFT:=$TOP_SRCDIR/tests/tools/pkgcraft}"
: "${TESTDATA:=$TOP_SRCDIR/tests/data}"
# The programs use the schemas built into them; SCHEMAS is the source copy
# for stock tools (xmllint).
SCHEMAS=$TOP_SRCDIR/formats/schemas

T_NUM=0
T_FAIL=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/posgw-test.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
# Each test stages in its own TMPDIR, so leftovers are attributable.
TMPDIR=$WORK/tmp
export TMPDIR
mkdir -p "$TMPDIR"

# ok COND-RESULT NAME: record one TAP result from the last command's status.
ok() {
	T_NUM=$((T_NUM + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $T_NUM - $2"
	else
		echo "not ok $T_NUM - $2"
		T_FAIL=$((T_FAIL + 1))
	fi
}

# skip NAME REASON: a skipped case.
skip() {
	T_NUM=$((T_NUM + 1))
	echo "ok $T_NUM - $1 # SKIP $2"
}

# diag TEXT: a TAP comment.
diag() {
	echo "# $*"
}

# done_testing: print the plan and exit with the failure status.
done_testing() {
	echo "1..$T_NUM"
	[ "$T_FAIL" -eq 0 ]
	exit $?
}

# have CMD: is a stock tool available?
have() {
	command -v "$1" >/dev/null 2>&1
}

# expect_code FILE CODE NAME [verify args...]: pack verify must reject FILE with CODE.
expect_code() {
	_f=$1 _code=$2 _name=$3
	shift 3
	_out=$("$POSGW" pack verify --id core-01 --trust "$KEYS/edge-01.crt" "$@" "$_f" 2>&1)
	_rc=$?
	case "$_out" in
	"$_f: $_code: "*) [ $_rc -eq 1 ]; ok $? "$_name -> $_code" ;;
	*) ok 1 "$_name -> $_code"; diag "exit $_rc, got: $_out" ;;
	esac
}

# expect_ok FILE NAME [verify args...]: pack verify must accept FILE.
expect_ok() {
	_f=$1 _name=$2
	shift 2
	_out=$("$POSGW" pack verify --id core-01 --trust "$KEYS/edge-01.crt" "$@" "$_f" 2>&1)
	_rc=$?
	[ $_rc -eq 0 ] && [ "$_out" = "$_f: ok" ]
	ok $? "$_name"
	[ $_rc -eq 0 ] || diag "exit $_rc, got: $_out"
}

# make_keys: edge-01 and core-01 key pairs in $KEYS.
make_keys() {
	KEYS=$WORK/keys
	"$POSGW" keys generate --id edge-01 --out "$KEYS" >/dev/null &&
		"$POSGW" keys generate --id core-01 --out "$KEYS" >/dev/null
}

# new_uuid: a lowercase random UUID.
new_uuid() {
	cat /proc/sys/kernel/random/uuid
}

# gost FILE: Streebog-256 hex of a file, with the stock rhash.
gost() {
	rhash --gost12-256 --simple "$1" | cut -d' ' -f1
}

# stock_manifest DIR SENDER RECIPIENT SEQ UUID PATH...: write DIR/manifest.xml
# for the files DIR/PATH, with digests from rhash.
stock_manifest() {
	_d=$1 _s=$2 _r=$3 _q=$4 _u=$5
	shift 5
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo "<package xmlns=\"urn:posgw:package:1\" format=\"1\" id=\"$_u\" sender=\"$_s\" recipient=\"$_r\" seq=\"$_q\" created=\"2026-11-25T10:00:00Z\" digest=\"streebog256\">"
		for _p in "$@"; do
			echo "  <entry path=\"$_p\" size=\"$(stat -c %s "$_d/$_p")\" digest=\"$(gost "$_d/$_p")\"/>"
		done
		echo '</package>'
	} >"$_d/manifest.xml"
}

# stock_sign DIR KEY CERT [certtool args]: detached CMS over DIR/manifest.xml.
stock_sign() {
	_d=$1 _k=$2 _c=$3
	shift 3
	certtool --p7-detached-sign --p7-time --outder --load-privkey "$_k" \
		--load-certificate "$_c" --infile "$_d/manifest.xml" \
		--outfile "$_d/manifest.xml.p7s" "$@" >/dev/null 2>&1
}

# sample_payload DIR: the spec's appeal example and its 4-byte attachment.
sample_payload() {
	mkdir -p "$1/payload/att"
	cp "$TESTDATA/examples/appeal.xml" "$1/payload/appeal.xml"
	printf 'JPEG' >"$1/payload/att/177073571-1.bin"
}

# pkgname SEQ UUID: a package name from edge-01.
pkgname() {
	printf 'edge-01.%012d.%s.pkg' "$1" "$2"
}

: "${POSGW_EDGE:=$TOP_SRCDIR/posgw-edge}"
: "${POSGW_CORE:=$TOP_SRCDIR/posgw-core}"
: "${SPOOLGEN:=$TOP_SRCDIR/tests/tools/spoolgen}"

# make_pair [EXTRA_EDGE_CONF [EXTRA_CORE_CONF]]: keys and configs for edge-01
# and core-01 exchanging through the shared folders $WORK/e2c and $WORK/c2e.
# Sets EDGE_CONF, CORE_CONF, E2C, C2E, EDGE_DB, CORE_DB.
make_pair() {
	make_keys
	E2C=$WORK/e2c
	C2E=$WORK/c2e
	mkdir -p "$E2C" "$C2E"
	"$POSGW" keys generate --id official --out "$KEYS" >/dev/null
	SMEV=$WORK/smev
	EDMS=$WORK/edms
	mkdir -p "$SMEV/in" "$SMEV/out" "$EDMS/export" "$EDMS/import"
	for r in edge core; do
		if [ $r = edge ]; then
			id=edge-01 peer=core-01 in=$C2E out=$E2C extra=${1:-}
			role="[smev]
base = $SMEV
mnemonic = POSGW_TEST"
		else
			id=core-01 peer=edge-01 in=$E2C out=$C2E extra=${2:-}
			role="[edms]
export = $EDMS/export
import = $EDMS/import
signer_trust = $KEYS/official.crt"
		fi
		cat >"$WORK/$r.conf" <<CONF
[gateway]
id = $id
peer = $peer
key = $KEYS/$id.key
cert = $KEYS/$id.crt
trust = $KEYS/$peer.crt
state = $WORK/$r-state

[transfer]
inbox = $in
outbox = $out
max_wait_ms = 0
receipt_delay = 0
scan_interval = 1
$extra

$role
CONF
	done
	EDGE_CONF=$WORK/edge.conf
	CORE_CONF=$WORK/core.conf
	EDGE_DB=$WORK/edge-state/posgw.db
	CORE_DB=$WORK/core-state/posgw.db
}

# edge_once / core_once: one round of work of each gateway.
edge_once() {
	"$POSGW_EDGE" --config "$EDGE_CONF" --once 2>>"$WORK/edge.log"
}
core_once() {
	"$POSGW_CORE" --config "$CORE_CONF" --once 2>>"$WORK/core.log"
}

# q DB SQL: one value from a gateway database.
q() {
	sqlite3 -batch -noheader "$1" "$2"
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds (a bound
# on waiting, not a timing assertion); returns CMD's last status.
wait_for() {
	_limit=$(($1 * 10))
	shift
	_i=0
	while [ $_i -lt $_limit ]; do
		"$@" && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	"$@"
}

# chromium_page FILE NAME: headless chromium reads FILE: the DOM to
# $WORK/NAME.dom, the page's requests to $WORK/NAME.req, a screenshot to
# $WORK/NAME.png (tests/shell/report.sh, heatmap.sh).
chromium_page() {
	rm -rf "$WORK/chrome"
	timeout 120 /usr/bin/chromium --headless --no-sandbox --disable-gpu \
		--disable-background-networking --disable-component-update \
		--disable-sync --no-first-run --user-data-dir="$WORK/chrome" \
		--log-net-log="$WORK/$2.net" --dump-dom "file://$1" >"$WORK/$2.dom" 2>/dev/null || return 1
	grep 'site=file://' "$WORK/$2.net" | grep -o '"url":"[^"]*"' | sort -u >"$WORK/$2.req"
	rm -rf "$WORK/chrome"
	timeout 120 /usr/bin/chromium --headless --no-sandbox --disable-gpu \
		--disable-background-networking --disable-component-update \
		--disable-sync --no-first-run --user-data-dir="$WORK/chrome" \
		--screenshot="$WORK/$2.png" --window-size=1100,1800 "file://$1" >/dev/null 2>&1
}
