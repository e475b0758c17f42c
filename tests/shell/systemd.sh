#!/bin/sh
# systemd.sh: the deployment files. The units are generated with the
# configured paths, verify with systemd-analyze, keep their exposure low
# (core <= 2.0, edge <= 3.0; the core has no network), and make install
# puts programs, schemas, man pages, units, each gateway's sysusers.d and
# tmpfiles.d files and the sample configurations (documentation, never in
# /etc) where configure said; each zone's files create only its accounts.
. "$(dirname "$0")/lib.sh"

: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
UNITDIR=$TOP_BUILDDIR/ops/systemd

# The configured directories, fully expanded, from the build tree's Makefile.
printf 'posgw-print-dirs:\n\t@echo "prefix=$(prefix)"; echo "bindir=$(bindir)"; echo "sbindir=$(sbindir)"; echo "sysconfdir=$(sysconfdir)"; echo "mandir=$(mandir)"; echo "schemadir=$(schemadir)"; echo "systemdsystemunitdir=$(systemdsystemunitdir)"; echo "sysusersdir=$(sysusersdir)"; echo "tmpfilesdir=$(tmpfilesdir)"; echo "docdir=$(docdir)"\n' >"$WORK/print.mk"
# The nested make must not inherit the harness's make (TESTS=..., jobserver).
submake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$TOP_BUILDDIR" "$@"
}
submake -f Makefile -f "$WORK/print.mk" posgw-print-dirs >"$WORK/dirs" 2>"$WORK/dirs.err"
ok $? "the configured directories are known"
get() {
	sed -n "s|^$1=||p" "$WORK/dirs"
}
sbindir=$(get sbindir)
sysconfdir=$(get sysconfdir)

# 1. The units carry real paths.
for r in edge core; do
	u=$UNITDIR/posgw-$r.service
	if [ ! -f "$u" ]; then
		ok 1 "posgw-$r.service is generated"
		continue
	fi
	! grep -n '@[A-Za-z_]*@' "$u" >"$WORK/left" 2>&1
	ok $? "posgw-$r.service has no @...@ left"
	[ -s "$WORK/left" ] && diag "$(cat "$WORK/left")"
	grep -qx "ExecStart=$sbindir/posgw-$r --config $sysconfdir/posgw/$r.conf" "$u"
	ok $? "posgw-$r.service starts $sbindir/posgw-$r with $sysconfdir/posgw/$r.conf"
	grep -qx "User=posgw-$r" "$u" && grep -qx "Group=posgw-$r" "$u" &&
		grep -qx "StateDirectory=posgw-$r" "$u" &&
		grep -qx "StateDirectoryMode=0750" "$u" &&
		grep -qx "Type=simple" "$u" &&
		grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$u"
	ok $? "posgw-$r.service: own user, state directory for its group only, simple, SIGHUP reload"
	# The unit's state directory is the user's home in sysusers.d.
	grep -q "^u posgw-$r - .* /var/lib/posgw-$r /usr/sbin/nologin\$" \
		"$TOP_SRCDIR/ops/systemd/posgw-$r.sysusers"
	ok $? "sysusers.d: posgw-$r, no shell, home /var/lib/posgw-$r"
	# Runnable copies pointing at the binaries of this build.
	if [ $r = edge ]; then bin=$POSGW_EDGE; else bin=$POSGW_CORE; fi
	mkdir -p "$WORK/units"
	sed -e "s|^ExecStart=$sbindir/posgw-$r |ExecStart=$bin |" \
		-e "s|^ExecStartPre=$sbindir/posgw-$r |ExecStartPre=$bin |" \
		"$u" >"$WORK/units/posgw-$r.service"
done
core=$UNITDIR/posgw-core.service
grep -qx 'PrivateNetwork=yes' "$core" && grep -qx 'RestrictAddressFamilies=none' "$core" &&
	grep -qx 'IPAddressDeny=any' "$core"
ok $? "posgw-core.service: no network at all"
edge=$UNITDIR/posgw-edge.service
grep -qx 'PrivateNetwork=yes' "$edge" && grep -qx 'RestrictAddressFamilies=none' "$edge" &&
	grep -qx 'IPAddressDeny=any' "$edge"
ok $? "posgw-edge.service: no network either (its network is the adapter's file channel)"
for r in edge core; do
	grep -q '^d /srv/posgw/edge-to-core ' "$TOP_SRCDIR/ops/systemd/posgw-$r.tmpfiles" &&
		grep -q '^d /srv/posgw/core-to-edge ' "$TOP_SRCDIR/ops/systemd/posgw-$r.tmpfiles" || break
done
ok $? "tmpfiles.d: both transfer folders, in each gateway's file"

# 2. systemd-analyze verify and security.
if ! have systemd-analyze; then
	skip "systemd-analyze verify" "no systemd-analyze"
	skip "systemd-analyze security" "no systemd-analyze"
else
	for r in edge core; do
		systemd-analyze verify --man=no "$WORK/units/posgw-$r.service" \
			>"$WORK/verify-$r" 2>&1
		ok $? "systemd-analyze verify posgw-$r.service"
		[ -s "$WORK/verify-$r" ] && diag "$(cat "$WORK/verify-$r")"
	done
	for r in core edge; do
		if [ $r = core ]; then max=0.6; else max=0.8; fi
		systemd-analyze security --offline=true --no-pager \
			"$WORK/units/posgw-$r.service" >"$WORK/sec-$r" 2>&1
		rc=$?
		score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' "$WORK/sec-$r")
		if [ -z "$score" ] && grep -qi 'unrecognized option\|unknown option\|invalid option' "$WORK/sec-$r"; then
			skip "posgw-$r.service exposure <= $max" "systemd-analyze security --offline unsupported"
			continue
		fi
		[ -n "$score" ] && awk -v s="$score" -v m="$max" 'BEGIN { exit !(s + 0 <= m + 0) }'
		ok $? "posgw-$r.service exposure ${score:-?} <= $max"
		[ -n "$score" ] || diag "exit $rc: $(tail -5 "$WORK/sec-$r")"
	done
fi

# 3. make install into a staging root.
ROOT=$WORK/root
submake install DESTDIR="$ROOT" >"$WORK/install.log" 2>&1
rc=$?
ok $rc "make install DESTDIR=..."
[ $rc -eq 0 ] || diag "$(tail -20 "$WORK/install.log")"

missing=""
want() {
	[ -f "$ROOT$1" ] || missing="$missing $1"
}
want "$(get bindir)/posgw"
want "$(get bindir)/posgw-sim"
want "$sbindir/posgw-edge"
want "$sbindir/posgw-core"
[ -z "$missing" ] && [ -x "$ROOT$sbindir/posgw-core" ]
ok $? "programs installed in bindir and sbindir"
[ -z "$missing" ] || diag "missing:$missing"

missing=""
n=0
for x in "$TOP_SRCDIR"/formats/schemas/*.xsd; do
	want "$(get schemadir)/$(basename "$x")"
	n=$((n + 1))
done
[ -z "$missing" ] && [ $n -gt 0 ]
ok $? "the $n schemas installed in $(get schemadir)"
[ -z "$missing" ] || diag "missing:$missing"

missing=""
for m in "$TOP_SRCDIR"/ops/man/*.[0-9]; do
	b=$(basename "$m")
	want "$(get mandir)/man${b##*.}/$b"
done
[ -z "$missing" ]
ok $? "man pages installed"
[ -z "$missing" ] || diag "missing:$missing"

for d in systemdsystemunitdir sysusersdir tmpfilesdir; do
	if [ -z "$(get $d)" ]; then
		skip "files for $d" "configured --without-$d"
		continue
	fi
	missing=""
	case $d in
	systemdsystemunitdir)
		want "$(get $d)/posgw-edge.service"
		want "$(get $d)/posgw-core.service"
		[ -z "$missing" ] && ! grep -q '@[A-Za-z_]*@' "$ROOT$(get $d)"/posgw-*.service
		;;
	*)
		want "$(get $d)/posgw-edge.conf"
		want "$(get $d)/posgw-core.conf"
		[ -z "$missing" ]
		;;
	esac
	ok $? "$d files installed in $(get $d)"
	[ -z "$missing" ] || diag "missing:$missing"
done
{ cmp -s "$ROOT$(get sysusersdir)/posgw-edge.conf" "$TOP_SRCDIR/ops/systemd/posgw-edge.sysusers" &&
	cmp -s "$ROOT$(get sysusersdir)/posgw-core.conf" "$TOP_SRCDIR/ops/systemd/posgw-core.sysusers"; } ||
	[ -z "$(get sysusersdir)" ]
ok $? "the installed sysusers.d files are posgw-edge.sysusers and posgw-core.sysusers"

# systemd's own tools accept the sysusers.d and tmpfiles.d files, in
# scratch roots (never the host's): one zone with its own package's files
# only, as the .debs install them, and a host with both.
# zone_root NAME ZONES...: a scratch root with the files of ZONES.
zone_root() {
	_sr=$WORK/sysroot-$1
	shift
	mkdir -p "$_sr/etc" "$_sr/usr/lib/sysusers.d" "$_sr/usr/lib/tmpfiles.d"
	for _z in "$@"; do
		cp "$TOP_SRCDIR/ops/systemd/posgw-$_z.sysusers" "$_sr/usr/lib/sysusers.d/posgw-$_z.conf"
		cp "$TOP_SRCDIR/ops/systemd/posgw-$_z.tmpfiles" "$_sr/usr/lib/tmpfiles.d/posgw-$_z.conf"
	done
	echo "$_sr"
}
if ! have systemd-sysusers; then
	skip "systemd-sysusers creates the users" "no systemd-sysusers"
else
	SR=$(zone_root edge edge)
	systemd-sysusers --root="$SR" >"$WORK/sysusers.log" 2>&1 &&
		grep -q '^posgw-edge:x:[0-9]*:[0-9]*:[^:]*:/var/lib/posgw-edge:/usr/sbin/nologin$' "$SR/etc/passwd" &&
		grep -q '^posgw-transfer:x:[0-9]*:posgw-edge$' "$SR/etc/group" &&
		! grep -q '^posgw-core:' "$SR/etc/passwd" && ! grep -q '^posgw-edms:' "$SR/etc/group"
	ok $? "the edge zone gets posgw-edge and posgw-transfer only"
	[ -s "$SR/etc/passwd" ] || diag "$(cat "$WORK/sysusers.log")"
	SR=$(zone_root core core)
	systemd-sysusers --root="$SR" >"$WORK/sysusers.log" 2>&1 &&
		grep -q '^posgw-core:x:[0-9]*:[0-9]*:[^:]*:/var/lib/posgw-core:/usr/sbin/nologin$' "$SR/etc/passwd" &&
		grep -q '^posgw-transfer:x:[0-9]*:posgw-core$' "$SR/etc/group" &&
		grep -q '^posgw-edms:x:[0-9]*:posgw-core$' "$SR/etc/group" &&
		! grep -q '^posgw-edge:' "$SR/etc/passwd"
	ok $? "the core zone gets posgw-core, posgw-transfer and posgw-edms only"
	SR=$(zone_root both edge core)
	systemd-sysusers --root="$SR" >"$WORK/sysusers.log" 2>&1 &&
		grep -q '^posgw-transfer:x:[0-9]*:.*posgw-edge' "$SR/etc/group" &&
		grep -q '^posgw-transfer:x:[0-9]*:.*posgw-core' "$SR/etc/group"
	ok $? "a host with both gateways gets both, sharing posgw-transfer"
fi
if ! have systemd-tmpfiles || ! have systemd-sysusers; then
	skip "systemd-tmpfiles creates the transfer folders" "no systemd-tmpfiles"
elif [ "$(id -u)" -ne 0 ]; then
	skip "systemd-tmpfiles creates the transfer folders" "not root (chown)"
else
	# sr_gid ROOT GROUP: GROUP's number in the scratch root's /etc/group
	sr_gid() { sed -n "s/^$2:x:\([0-9]*\):.*/\1/p" "$1/etc/group"; }
	SR=$WORK/sysroot-edge
	systemd-tmpfiles --root="$SR" --create >"$WORK/tmpfiles.log" 2>&1 &&
		[ "$(stat -c '%a %g' "$SR/srv/posgw/edge-to-core")" = "2770 $(sr_gid "$SR" posgw-transfer)" ] &&
		[ "$(stat -c %a "$SR/srv/posgw/core-to-edge")" = 2770 ] &&
		[ ! -e "$SR/srv/edms" ] &&
		[ "$(stat -c '%a %u' "$SR/var/lib/posgw-edge")" = "750 $(sed -n 's/^posgw-edge:x:\([0-9]*\):.*/\1/p' "$SR/etc/passwd")" ]
	ok $? "systemd-tmpfiles creates the edge zone's transfer folders (2770), its state folder (0750) and no EDMS folder"
	[ -d "$SR/srv/posgw/edge-to-core" ] || diag "$(cat "$WORK/tmpfiles.log")"
	SR=$WORK/sysroot-core
	systemd-tmpfiles --root="$SR" --create >"$WORK/tmpfiles.log" 2>&1 &&
		[ "$(stat -c %a "$SR/srv/posgw/edge-to-core")" = 2770 ] &&
		[ "$(stat -c '%a %g' "$SR/srv/edms/posgw/import")" = "2770 $(sr_gid "$SR" posgw-edms)" ] &&
		[ "$(stat -c %a "$SR/srv/edms/posgw/export")" = 2770 ]
	ok $? "systemd-tmpfiles creates the core zone's transfer and EDMS folders (2770)"
	SR=$WORK/sysroot-both
	systemd-tmpfiles --root="$SR" --create >"$WORK/tmpfiles.log" 2>&1 &&
		[ "$(stat -c %a "$SR/srv/posgw/edge-to-core")" = 2770 ] &&
		[ "$(stat -c %a "$SR/srv/edms/posgw/import")" = 2770 ]
	ok $? "... and both files together on one host"
	[ -d "$SR/srv/posgw/edge-to-core" ] || diag "$(cat "$WORK/tmpfiles.log")"
fi

confdir=$(get sysconfdir)/posgw
cmp -s "$ROOT$(get docdir)/examples/edge.conf" "$TOP_SRCDIR/ops/examples/edge.conf" &&
	cmp -s "$ROOT$(get docdir)/examples/core.conf" "$TOP_SRCDIR/ops/examples/core.conf" &&
	[ ! -e "$ROOT$confdir" ]
ok $? "sample configurations installed in $(get docdir)/examples, nothing in $confdir"

# A real configuration survives a second install.
mkdir -p "$ROOT$confdir"
echo '; mine' >"$ROOT$confdir/edge.conf"
submake install DESTDIR="$ROOT" >>"$WORK/install.log" 2>&1 &&
	[ "$(cat "$ROOT$confdir/edge.conf")" = '; mine' ] &&
	[ "$(ls "$ROOT$confdir")" = edge.conf ]
ok $? "make install keeps an existing edge.conf and adds nothing beside it"

done_testing
