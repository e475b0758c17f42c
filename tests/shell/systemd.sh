#!/bin/sh
# systemd.sh: the deployment files. The units are generated with the
# configured paths, verify with systemd-analyze, keep their exposure low
# (core <= 2.0, edge <= 3.0; the core has no network), and make install
# puts programs, schemas, man pages, units, sysusers.d/tmpfiles.d files and
# the sample configurations where configure said.
. "$(dirname "$0")/lib.sh"

: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
UNITDIR=$TOP_BUILDDIR/ops/systemd

# The configured directories, fully expanded, from the build tree's Makefile.
printf 'posgw-print-dirs:\n\t@echo "prefix=$(prefix)"; echo "bindir=$(bindir)"; echo "sbindir=$(sbindir)"; echo "sysconfdir=$(sysconfdir)"; echo "mandir=$(mandir)"; echo "schemadir=$(schemadir)"; echo "systemdsystemunitdir=$(systemdsystemunitdir)"; echo "sysusersdir=$(sysusersdir)"; echo "tmpfilesdir=$(tmpfilesdir)"\n' >"$WORK/print.mk"
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
		"$TOP_SRCDIR/ops/systemd/posgw.sysusers"
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
grep -qx 'RestrictAddressFamilies=AF_UNIX' "$UNITDIR/posgw-edge.service" &&
	grep -qx 'IPAddressDeny=any' "$UNITDIR/posgw-edge.service"
ok $? "posgw-edge.service: no IP sockets of its own"
grep -q '^d /srv/posgw/edge-to-core ' "$TOP_SRCDIR/ops/systemd/posgw.tmpfiles" &&
	grep -q '^d /srv/posgw/core-to-edge ' "$TOP_SRCDIR/ops/systemd/posgw.tmpfiles"
ok $? "tmpfiles.d: both transfer folders"

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
		if [ $r = core ]; then max=2.0; else max=3.0; fi
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
		want "$(get $d)/posgw.conf"
		[ -z "$missing" ]
		;;
	esac
	ok $? "$d files installed in $(get $d)"
	[ -z "$missing" ] || diag "missing:$missing"
done
cmp -s "$ROOT$(get sysusersdir)/posgw.conf" "$TOP_SRCDIR/ops/systemd/posgw.sysusers" ||
	[ -z "$(get sysusersdir)" ]
ok $? "the installed sysusers.d file is posgw.sysusers"

# systemd's own tools accept the sysusers.d and tmpfiles.d files, in a
# scratch root (never the host's).
SR=$WORK/sysroot
mkdir -p "$SR/etc" "$SR/usr/lib/sysusers.d" "$SR/usr/lib/tmpfiles.d"
cp "$TOP_SRCDIR/ops/systemd/posgw.sysusers" "$SR/usr/lib/sysusers.d/posgw.conf"
cp "$TOP_SRCDIR/ops/systemd/posgw.tmpfiles" "$SR/usr/lib/tmpfiles.d/posgw.conf"
if ! have systemd-sysusers; then
	skip "systemd-sysusers creates the users" "no systemd-sysusers"
else
	systemd-sysusers --root="$SR" >"$WORK/sysusers.log" 2>&1 &&
		grep -q '^posgw-edge:x:[0-9]*:[0-9]*:[^:]*:/var/lib/posgw-edge:/usr/sbin/nologin$' "$SR/etc/passwd" &&
		grep -q '^posgw-core:x:[0-9]*:[0-9]*:[^:]*:/var/lib/posgw-core:/usr/sbin/nologin$' "$SR/etc/passwd" &&
		grep -q '^posgw-transfer:x:[0-9]*:.*posgw-edge' "$SR/etc/group" &&
		grep -q '^posgw-transfer:x:[0-9]*:.*posgw-core' "$SR/etc/group" &&
		grep -q '^posgw-edms:x:[0-9]*:posgw-core$' "$SR/etc/group"
	ok $? "systemd-sysusers creates posgw-edge, posgw-core, posgw-transfer and posgw-edms"
	[ -s "$SR/etc/passwd" ] || diag "$(cat "$WORK/sysusers.log")"
fi
if ! have systemd-tmpfiles || ! have systemd-sysusers; then
	skip "systemd-tmpfiles creates the transfer folders" "no systemd-tmpfiles"
elif [ "$(id -u)" -ne 0 ]; then
	skip "systemd-tmpfiles creates the transfer folders" "not root (chown)"
else
	systemd-tmpfiles --root="$SR" --create >"$WORK/tmpfiles.log" 2>&1 &&
		[ "$(stat -c %a "$SR/srv/posgw/edge-to-core")" = 2770 ] &&
		[ "$(stat -c %a "$SR/srv/posgw/core-to-edge")" = 2770 ] &&
		[ "$(stat -c %a "$SR/srv/edms/posgw/import")" = 2770 ] &&
		[ "$(stat -c %a "$SR/srv/edms/posgw/export")" = 2770 ]
	ok $? "systemd-tmpfiles creates the transfer and EDMS folders (2770)"
	[ -d "$SR/srv/posgw/edge-to-core" ] || diag "$(cat "$WORK/tmpfiles.log")"
fi

confdir=$(get sysconfdir)/posgw
cmp -s "$ROOT$confdir/edge.conf.sample" "$TOP_SRCDIR/ops/examples/edge.conf" &&
	cmp -s "$ROOT$confdir/core.conf.sample" "$TOP_SRCDIR/ops/examples/core.conf" &&
	[ ! -e "$ROOT$confdir/edge.conf" ] && [ ! -e "$ROOT$confdir/core.conf" ]
ok $? "sample configurations installed as $confdir/*.conf.sample only"

# A real configuration survives a second install.
echo '; mine' >"$ROOT$confdir/edge.conf"
submake install DESTDIR="$ROOT" >>"$WORK/install.log" 2>&1 &&
	[ "$(cat "$ROOT$confdir/edge.conf")" = '; mine' ]
ok $? "make install keeps an existing edge.conf"

done_testing
