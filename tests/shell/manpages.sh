#!/bin/sh
# manpages.sh: every option a command's --help names is documented where
# its manual describes that command (posgw(1) for posgw, posgw-gateway(8)
# for the daemons), and every program answers --version: so the help and
# the manuals cannot drift apart again.
. "$(dirname "$0")/lib.sh"

MAN1=$TOP_SRCDIR/ops/man/posgw.1
MAN8=$TOP_SRCDIR/ops/man/posgw-gateway.8
: "${POSGW_SIM:=$TOP_SRCDIR/posgw-sim}"

# opts CMD...: the long options CMD --help names, one a line.
opts() {
	"$@" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

# man_block FAMILY SUB: the lines of posgw(1) about "posgw FAMILY SUB": its
# SYNOPSIS entry and its COMMANDS entry (FAMILY alone for posgw edms ...).
man_block() {
	awk -v cmd="$1" -v fam="$2" '
	/^\.SH / { sec = $2; on = 0; con = 0 }
	sec == "SYNOPSIS" && /^\.B posgw / {
		on = ($0 == ".B posgw " cmd || (fam != "" && index($0, ".B posgw " fam) == 1))
	}
	sec == "SYNOPSIS" && /^\.br/ { on = 0 }
	/^\.RS/ { rs++ }
	/^\.RE/ { rs-- }
	sec == "COMMANDS" && /^\.TP/ && rs == 0 { tp = 1; con = 0; next }
	sec == "COMMANDS" && tp { tp = 0; con = ($0 == ".B " cmd || (fam != "" && $0 == ".B " fam)) }
	on || con { print }
	' "$MAN1"
}

# check LABEL MANLINES OPTIONS: every option of OPTIONS is in MANLINES
# (written \-\-name in troff).
check() {
	_missing=""
	for _o in $3; do
		_t=$(printf '%s' "$_o" | sed 's/-/\\\\-/g')
		printf '%s\n' "$2" | grep -q -- "$_t" || _missing="$_missing $_o"
	done
	[ -z "$_missing" ]
	ok $? "$1: every --help option is in the manual"
	[ -z "$_missing" ] || diag "$1 lacks:$_missing"
}

for c in "keys generate" "keys show" "keys import" "keys crl import" "pack create" "pack verify" \
	"pack list" "pack extract" "pack encrypt" "pack decrypt" "media export" "media import" "transfer enqueue" \
	"transfer status" "transfer resend" "status" "edms map import" "edms list" \
	"edms overdue" "edms sstu" "edms stats" "journal verify" "journal show" "journal reconcile" \
	"journal report"; do
	fam=""
	case $c in
	edms\ overdue) fam="edms list" ;;
	edms\ stats) fam="edms stats" ;;
	# one help for the family's subcommands: checked against all of them
	transfer\ * | journal\ *) fam=${c%% *} ;;
	esac
	# shellcheck disable=SC2086
	check "posgw $c" "$(man_block "$c" "$fam")" "$(opts "$POSGW" $c | grep -vx -- '--help')"
done
for c in register take executor postpone forward decline answer; do
	check "posgw edms $c" "$(man_block "edms $c" edms)" "$(opts "$POSGW" edms $c | grep -vx -- '--help')"
done
for d in "$POSGW_EDGE" "$POSGW_CORE"; do
	check "${d##*/}" "$(cat "$MAN8")" "$(opts "$d" | grep -vx -- '--help')"
done

for p in "$POSGW" "$POSGW_EDGE" "$POSGW_CORE" "$POSGW_SIM"; do
	v=$("$p" --version 2>&1)
	[ $? -eq 0 ] && [ "$v" = "${p##*/} $(sed -n 's/^AC_INIT(\[posgw\], \[\([^]]*\)\].*/\1/p' "$TOP_SRCDIR/configure.ac")" ]
	ok $? "${p##*/} --version prints the package version ($v)"
done
"$POSGW" --help | grep -q '^  journal report '
ok $? "posgw --help lists journal report"
"$POSGW" status --help | grep -q '^usage: posgw status --config FILE'
ok $? "posgw status --help is status's own help"
done_testing
