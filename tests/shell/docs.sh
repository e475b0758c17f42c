#!/bin/sh
# docs.sh: the documentation matches the programs: every configuration key
# of posgw-gateway.conf(5) is accepted by the daemons and present in the
# sample configurations, the samples load, and every posgw command named in
# posgw(1) answers --help.
. "$(dirname "$0")/lib.sh"

MAN5=$TOP_SRCDIR/ops/man/posgw-gateway.conf.5
make_keys
mkdir -p "$WORK/in" "$WORK/out" "$WORK/smev/in" "$WORK/smev/out" "$WORK/export" "$WORK/import"
for role in edge core; do
	if [ $role = edge ]; then id=edge-01 peer=core-01; else id=core-01 peer=edge-01; fi
	sed -e "s|^key = .*|key = $KEYS/$id.key|" -e "s|^cert = .*|cert = $KEYS/$id.crt|" \
		-e "s|^trust = .*|trust = $KEYS/$peer.crt|" -e "s|^state = .*|state = $WORK/$role-state|" \
		-e "s|^inbox = .*|inbox = $WORK/in|" -e "s|^outbox = .*|outbox = $WORK/out|" \
		-e "s|^base = .*|base = $WORK/smev|" -e "s|^export = .*|export = $WORK/export|" \
		-e "s|^import = .*|import = $WORK/import|" -e "s|^signer_trust = .*|signer_trust = $KEYS/edge-01.crt|" \
		"$TOP_SRCDIR/ops/examples/$role.conf" >"$WORK/$role.conf"
	if [ $role = edge ]; then d=$POSGW_EDGE; else d=$POSGW_CORE; fi
	"$d" --config "$WORK/$role.conf" --check-config >/dev/null
	ok $? "the sample $role.conf loads"
done

# Every documented key, uncommented with its documented default, loads.
section=""
keys=0
bad=""
sed -n 's/^\.SH \[\(.*\)\]$/S \1/p; s/^\.BI \([a-z_]*\) " = .*/K \1/p' "$MAN5" >"$WORK/keylist"
while read -r kind name; do
	if [ "$kind" = S ]; then
		section=$name
		continue
	fi
	keys=$((keys + 1))
	cat "$TOP_SRCDIR/ops/examples/edge.conf" "$TOP_SRCDIR/ops/examples/core.conf" |
		grep -q "^;*$name = " || bad="$bad $section.$name(sample)"
done <"$WORK/keylist"
[ -z "$bad" ] && [ $keys -ge 30 ]
ok $? "all $keys documented keys appear in the sample configuration"
[ -z "$bad" ] || diag "missing:$bad"
# The documented defaults name the system's folders: they are moved under
# $WORK, since --check-config opens the gateway and makes its folders (a
# test never writes outside its own directory; regression
# docs-test-writes-srv: /srv/smev-adapter and /var/lib/posgw-edge were left
# on the machine as root's and leaked into the guide's scratch roots).
# the rollover keys name an old pair of edge-01 (a different certificate)
"$POSGW" keys generate --id edge-01 --out "$WORK/old" >/dev/null &&
	cp "$WORK/old/edge-01.key" "$KEYS/edge-01-old.key" && cp "$WORK/old/edge-01.crt" "$KEYS/edge-01-old.crt"
printf 'crl_next_update = 30\n' >"$WORK/crl.tmpl"
"$POSGW" keys generate --id agency-ca --ca --out "$WORK/ca" >/dev/null
certtool --generate-crl --load-ca-privkey "$WORK/ca/agency-ca.key" --load-ca-certificate "$WORK/ca/agency-ca.crt" \
	--template "$WORK/crl.tmpl" --outfile "$WORK/agency.crl" >/dev/null 2>&1
sed -e 's/^;\([a-z_]* = \)/\1/' -e "s|= /var/lib/posgw-edge/|= $WORK/edge-state/|" \
	-e "s|= /etc/posgw/keys/|= $KEYS/|" -e "s|= /etc/posgw/peer/|= $KEYS/|" \
	-e "s|^crl = .*|crl = $WORK/agency.crl|" \
	-e "s|= /srv/smev-adapter/POSGW/|= $WORK/smev/|" "$WORK/edge.conf" >"$WORK/all.conf"
grep -q "^quarantine = $WORK/" "$WORK/all.conf" && grep -q "^attachments_out = $WORK/" "$WORK/all.conf" &&
	! grep -Eq '= /(srv|var)/' "$WORK/all.conf"
ok $? "the uncommented sample names no folder outside the test's own"
"$POSGW_EDGE" --config "$WORK/all.conf" --check-config >/dev/null
ok $? "the sample with every optional key uncommented (documented defaults) loads"

for c in "media export" "media import" "transfer enqueue" "transfer status" \
	"transfer resend" "journal verify" "journal show" "journal reconcile"; do
	# shellcheck disable=SC2086
	"$POSGW" $c --help >/dev/null 2>&1
	ok $? "posgw $c --help"
	grep -q "^\.B posgw $c" "$TOP_SRCDIR/ops/man/posgw.1"
	ok $? "posgw(1) documents posgw $c"
done
"$POSGW_EDGE" --help | grep -q 'usage: posgw-edge'
ok $? "posgw-edge --help"
"$POSGW_CORE" --help | grep -q 'usage: posgw-core'
ok $? "posgw-core --help"
done_testing
