#!/bin/sh
# guide.sh: ops/doc/operator.md as executable truth (issue 13, item 3).
#
# The guide's command blocks marked ```sh guide=ZONE:ACCOUNT[:MODE] are run
# in order, each as the account it names, in two scratch roots: an "edge"
# and a "core" machine, each an overlay of this system's root in its own
# mount and host-name namespace (nothing is written to the real system),
# with a shared folder mounted at /media/usb in both as the removable medium
# and the freshly built .debs on it under /media/usb/posgw/. In each root the
# test creates only what a machine has before the guide starts: an "admin"
# login with sudo. Every other account, key, folder and configuration comes
# from the guide's own commands; the daemons start through the guide's
# "systemctl enable --now", which tests/guide/systemctl carries out as the
# unit file says (its user, groups and UMask; PID 1 is not systemd here).
#
# ACCOUNT is admin (the administrator's login; the commands use sudo
# themselves) or the login the guide creates (operators, a clerk). Every
# account runs with umask 0027 at a terminal (script(1)), so a prompt reads
# what the other zone's screen showed last: the fingerprint "told on the
# phone". MODE: none (must exit 0), fail (must fail: the guide shows a
# refusal), retry (repeated every 2 s up to 120 s until it exits 0: a step
# the guide says to repeat until it shows the result), bg (started in the
# background: a second terminal).
#
# Needs root, unshare, nsenter, an overlay mount of /, sudo, script and the
# packaging tools (ops/scripts/debs builds the .debs; GUIDE_DEBS=DIR reuses
# built ones). Run by .ci/run; by hand: sh tests/guide/guide.sh.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
TOP_SRCDIR=${TOP_SRCDIR:-$top}
export TOP_SRCDIR
. "$top/tests/shell/lib.sh"
GUIDE=${GUIDE_DOC:-$top/ops/doc/operator.md}

for t in unshare nsenter setpriv script sudo dpkg-deb; do
	if ! have $t; then
		skip "the operator's guide" "$t missing (ops/scripts/deps installs it)"
		done_testing
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	skip "the operator's guide" "needs root (scratch roots, accounts)"
	done_testing
fi

ROOTS=$WORK/roots
mkdir -p "$ROOTS" "$WORK/blocks" "$WORK/out"
USB=$WORK/usb
mkdir -p "$USB/posgw"
chmod 0777 "$USB"

# --- the packages -------------------------------------------------------------
if [ -n "${GUIDE_DEBS:-}" ]; then
	cp "$GUIDE_DEBS"/*.deb "$USB/posgw/"
else
	DEB_BUILD_OPTIONS=nocheck "$top/ops/scripts/debs" "$WORK/debs" >"$WORK/debs.log" 2>&1
	rc=$?
	[ $rc -eq 0 ]
	ok $? "ops/scripts/debs builds the packages and exits 0"
	[ $rc -eq 0 ] || { diag "$(tail -20 "$WORK/debs.log")"; done_testing; }
	cp "$WORK/debs"/*.deb "$USB/posgw/"
fi
rm -f "$USB/posgw"/*-dbgsym_*.deb
chmod 0644 "$USB/posgw"/*.deb

# --- the two machines ----------------------------------------------------------
# root_up ZONE: an overlay of / with /proc, /dev, a private /tmp and /run,
# the medium and the blocks, held by a process in new mount and UTS
# namespaces; its PID in $ROOTS/ZONE/pid.
root_up() {
	_r=$ROOTS/$1
	mkdir -p "$_r/upper" "$_r/work" "$_r/m"
	rm -f "$_r/ready"
	unshare -m -u --propagation private sh -c '
		set -e
		r=$1 usb=$2 blocks=$3 zone=$4
		mount -t overlay overlay -o "lowerdir=/,upperdir=$r/upper,workdir=$r/work" "$r/m"
		# a fresh machine: nothing of posgw'"'"'s from this one shows through
		rm -rf "$r/m/srv/smev-adapter" "$r/m/srv/posgw" "$r/m/etc/posgw" \
			"$r/m/var/lib/posgw-edge" "$r/m/var/lib/posgw-core"
		mount -t proc proc "$r/m/proc"
		mount --rbind /dev "$r/m/dev"
		mount -t tmpfs -o mode=1777 tmpfs "$r/m/tmp"
		mount -t tmpfs -o mode=0755 tmpfs "$r/m/run"
		mkdir -p "$r/m/run/systemd/system" "$r/m/run/lock" "$r/m/media/usb" "$r/m/guide"
		mount --bind "$usb" "$r/m/media/usb"
		mount --bind "$blocks" "$r/m/guide"
		hostname "$zone-host"
		echo ready >"$r/ready"
		exec sleep 100000' sh "$_r" "$USB" "$WORK/blocks" "$1" >"$_r/up.log" 2>&1 &
	echo $! >"$_r/pid"
	_i=0
	while [ ! -s "$_r/ready" ] && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -s "$_r/ready" ]
}

# inroot ZONE CMD...: CMD as root inside ZONE's machine.
inroot() {
	_z=$1
	shift
	nsenter -t "$(cat "$ROOTS/$_z/pid")" -m -u -- chroot "$ROOTS/$_z/m" "$@"
}

# root_down ZONE: stop every process of ZONE's machine (its daemons too).
root_down() {
	[ -s "$ROOTS/$1/pid" ] || return 0
	_ns=$(readlink "/proc/$(cat "$ROOTS/$1/pid")/ns/mnt" 2>/dev/null) || return 0
	for _p in /proc/[0-9]*; do
		[ "$(readlink "$_p/ns/mnt" 2>/dev/null)" = "$_ns" ] && kill -9 "${_p#/proc/}" 2>/dev/null
	done
	rm -f "$ROOTS/$1/pid"
}

cleanup_guide() {
	root_down edge
	root_down core
	[ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup_guide EXIT

# Leftovers of posgw on this machine (a test or a manual run that wrote
# outside its own directory) are hidden in the scratch roots, and named.
for d in /srv/smev-adapter /srv/posgw /etc/posgw /var/lib/posgw-edge /var/lib/posgw-core; do
	[ -e "$d" ] && diag "note: $d exists on this machine; hidden in the scratch roots"
done
for z in edge core; do
	if ! root_up $z; then
		skip "the operator's guide" "cannot make a scratch root (overlay of /): $(cat "$ROOTS/$z/up.log")"
		done_testing
	fi
	inroot $z sh -c '
		echo "127.0.1.1 $(hostname)" >>/etc/hosts &&
		useradd --create-home --shell /bin/bash admin &&
		echo "admin ALL=(ALL:ALL) NOPASSWD: ALL" >/etc/sudoers.d/guide-admin &&
		chmod 0440 /etc/sudoers.d/guide-admin' >>"$WORK/setup.log" 2>&1 &&
		inroot $z sh -c 'cat >/usr/local/sbin/systemctl &&
			chmod 0755 /usr/local/sbin/systemctl' <"$top/tests/guide/systemctl"
	ok $? "the $z machine: a scratch root with an admin login (sudo)"
done

# --- the guide's blocks -----------------------------------------------------------
# blocks.txt: one line per block "N ZONE ACCOUNT MODE LINE", the block's
# text in blocks/N.sh.
# A block may be indented (inside a list item): the fence's indentation is
# taken off its lines.
awk -v dir="$WORK/blocks" '
	/^ *```sh guide=/ {
		ind = index($0, "`") - 1
		split(substr($2, 7), t, ":")
		n++
		f = sprintf("%s/%03d.sh", dir, n)
		printf "%03d %s %s %s %d\n", n, t[1], t[2], (t[3] == "" ? "none" : t[3]), NR
		inblock = 1
		next
	}
	inblock && /^ *```/ { inblock = 0; close(f); next }
	inblock { print substr($0, 1, ind) ~ /^ *$/ ? substr($0, ind + 1) : $0 > f }
' "$GUIDE" >"$WORK/blocks.txt"
[ -s "$WORK/blocks.txt" ]
ok $? "the guide has $(wc -l <"$WORK/blocks.txt") marked command blocks"
chmod 0755 "$WORK/blocks"
chmod 0644 "$WORK/blocks"/*.sh 2>/dev/null

# phone ZONE: what the other zone's screen showed last (a fingerprint).
phone() {
	case $1 in edge) _o=core ;; *) _o=edge ;; esac
	sed -n 's/^streebog256: *\([0-9a-f]*\).*/\1/p' "$WORK/screen.$_o" 2>/dev/null | tail -1
}

# medium_for ZONE ACCOUNT: the medium as ACCOUNT sees it once mounted: a
# FAT stick shows every file as the mounting user's, so its files are
# chowned to ACCOUNT's numbers in ZONE (the two machines' numbers differ).
medium_for() {
	_id=$(inroot "$1" id -u "$2") && _gid=$(inroot "$1" id -g "$2") &&
		chown -R "$_id:$_gid" "$USB"
}

# run_block N ZONE ACCOUNT: run blocks/N.sh as ACCOUNT in ZONE at a terminal.
run_block() {
	medium_for "$2" "$3"
	phone "$2" >"$WORK/phone"
	inroot "$2" setpriv --reuid="$3" --regid="$3" --init-groups \
		env -i HOME="/home/$3" USER="$3" LOGNAME="$3" TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/bin:/usr/bin:/bin \
		sh -c 'umask 0027; cd; exec script -qefc "sh -e /guide/$1.sh" /dev/null' sh "$1" \
		<"$WORK/phone" >"$WORK/out/$1" 2>&1
}

while read -r n zone acct mode line; do
	first=$(grep -v '^#' "$WORK/blocks/$n.sh" | head -1 | cut -c1-70)
	what="guide line $line ($zone, $acct): $first"
	case $mode in
	bg)
		medium_for "$zone" "$acct"
		inroot "$zone" setpriv --reuid="$acct" --regid="$acct" --init-groups \
			env -i HOME="/home/$acct" USER="$acct" LOGNAME="$acct" LANG=C.UTF-8 \
			PATH=/usr/local/bin:/usr/bin:/bin \
			setsid sh -c 'umask 0027; cd; exec sh -e "/guide/$1.sh"' sh "$n" \
			</dev/null >"$WORK/out/$n" 2>&1 &
		sleep 1
		ok 0 "$what (started in the background)"
		continue
		;;
	retry)
		i=0
		until run_block "$n" "$zone" "$acct"; do
			i=$((i + 1))
			[ $i -ge 60 ] && break
			sleep 2
		done
		[ $i -lt 60 ]
		;;
	fail)
		! run_block "$n" "$zone" "$acct"
		;;
	*)
		run_block "$n" "$zone" "$acct"
		;;
	esac
	rc=$?
	cat "$WORK/out/$n" >>"$WORK/screen.$zone"
	ok $rc "$what"
	if [ $rc -ne 0 ]; then
		diag "$(tr -d '\r' <"$WORK/out/$n" | tail -15)"
		for u in posgw-edge posgw-core; do
			[ -f "$ROOTS/$zone/m/var/log/guide/$u.log" ] &&
				diag "$u: $(tail -5 "$ROOTS/$zone/m/var/log/guide/$u.log")"
		done
		break
	fi
done <"$WORK/blocks.txt"
done_testing
