# pki.sh: the demo's certificates as an agency runs them, sourced after
# e2e.sh and applied after e2e_setup: an agency CA issues the gateways' and
# the official's certificates; the edge signs with an ECDSA P-256 key on a
# SoftHSM2 token of the run's own (Debian's SoftHSM2 does not do GOST), its
# envelopes are opened with a file-based GOST key-agreement pair; a CRL of
# the CA revoking a departed official and edge-01's old certificate is
# installed in both zones with posgw keys crl import and is in force.
#   pki_check_tools     exit 1 saying to run ops/scripts/deps if
#                       softhsm2-util, p11tool or certtool is missing
#   pki_setup [LABEL]   all of the below, token LABEL (default posgw-demo)
#   pki_ca              the agency CA in $PKI_CA
#   pki_token LABEL     the token in $WORK/tokens, its key edge-01 and PIN file
#   pki_issue           the certificates (the token key's among them)
#   pki_crl             the CRL, installed in both zones
#   pki_configure       edge and core configurations use all of it
#   pki_revoked_package DIR  a package signed with the revoked old edge-01
#                       certificate, sealed for the core; prints its path
#   pki_judged NAME SECONDS  wait for the core to judge the inbound package
#                       NAME; prints "STATE CODE: REASON"
# Sets PKI, PKI_CA, PKI_LABEL, PKI_URI, PKI_KEY, PKI_PIN, PKI_EDGE_CRL,
# PKI_CORE_CRL, PKI_REVOKED (how many the CRL revokes). Needs what e2e.sh
# needs and $KEYS, $EDGE_CONF, $CORE_CONF, $E2C from make_pair.

# pki_check_tools: the token and certificate tools, or a clear refusal.
pki_check_tools() {
	for _t in softhsm2-util p11tool certtool; do
		if ! command -v "$_t" >/dev/null 2>&1; then
			echo "demo: $_t is missing: run ops/scripts/deps (it installs softhsm2 and gnutls-bin)" >&2
			exit 1
		fi
	done
}

# pki_ca: the agency's CA (on its own machine in real life).
pki_ca() {
	PKI=$WORK/pki
	PKI_CA=$PKI/ca
	"$POSGW" keys generate --id agency-ca --ca --out "$PKI_CA" >/dev/null
}

# pki_token LABEL: a SoftHSM2 token in the run's own token directory (not
# the system's), initialised with a user PIN kept in a 0600 file, and an
# ECDSA P-256 key edge-01 made on it.
pki_token() {
	PKI_LABEL=$1
	mkdir -p "$WORK/tokens" "$WORK/edge-etc"
	cat >"$WORK/softhsm2.conf" <<EOF
directories.tokendir = $WORK/tokens
objectstore.backend = file
log.level = ERROR
EOF
	SOFTHSM2_CONF=$WORK/softhsm2.conf
	export SOFTHSM2_CONF
	PKI_PIN=$WORK/edge-etc/token.pin
	# a random PIN, on the first line of a file only its owner reads
	(umask 077 && printf '%s\n' "$(pki_digits)" >"$PKI_PIN")
	chmod 600 "$PKI_PIN"
	if ! softhsm2-util --init-token --free --label "$PKI_LABEL" --pin "$(cat "$PKI_PIN")" \
		--so-pin "$(pki_digits)" >/dev/null 2>"$WORK/token.log" ||
		! p11tool --login --set-pin="$(cat "$PKI_PIN")" --generate-privkey ecdsa --curve secp256r1 \
			--label edge-01 "pkcs11:token=$PKI_LABEL" >/dev/null 2>>"$WORK/token.log"; then
		echo "demo: cannot make the SoftHSM2 token $PKI_LABEL:" >&2
		cat "$WORK/token.log" >&2
		return 1
	fi
	PKI_URI="pkcs11:token=$PKI_LABEL;object=edge-01;type=private"
	PKI_KEY="$PKI_URI?pin-source=$PKI_PIN"
}

# pki_digits: eight random digits.
pki_digits() {
	od -An -N8 -tu1 /dev/urandom | awk '{ for (i = 1; i <= NF; i++) printf "%d", $i % 10 }'
}

# pki_issue: the CA issues every certificate: edge-01's for the token key,
# edge-01's file GOST key-agreement pair (edge-01-kex), core-01's and the
# official's; and two that the CRL will revoke: a departed official's and
# edge-01's old file key (say, a laptop's copy that went missing).
pki_issue() {
	_ca="--ca-key $PKI_CA/agency-ca.key --ca-cert $PKI_CA/agency-ca.crt"
	rm -f "$KEYS/edge-01.key" "$KEYS/edge-01.crt" "$KEYS/core-01.key" "$KEYS/core-01.crt" \
		"$KEYS/official.key" "$KEYS/official.crt"
	# shellcheck disable=SC2086
	"$POSGW" keys generate --id edge-01 --key "$PKI_KEY" $_ca --out "$KEYS" >/dev/null &&
		"$POSGW" keys generate --id edge-01 --algorithm gost256 $_ca --out "$PKI/kex" >/dev/null &&
		mv "$PKI/kex/edge-01.key" "$KEYS/edge-01-kex.key" &&
		mv "$PKI/kex/edge-01.crt" "$KEYS/edge-01-kex.crt" &&
		"$POSGW" keys generate --id core-01 $_ca --out "$KEYS" >/dev/null &&
		"$POSGW" keys generate --id official $_ca --out "$KEYS" >/dev/null &&
		"$POSGW" keys generate --id official $_ca --out "$PKI/departed" >/dev/null &&
		"$POSGW" keys generate --id edge-01 $_ca --out "$PKI/old" >/dev/null
}

# pki_crl: the CA's CRL revoking the departed official and the old edge-01
# certificate, brought into each zone the operator's way (posgw keys crl
# import checks the CA's signature) and named by both configurations.
pki_crl() {
	cat "$PKI/departed/official.crt" "$PKI/old/edge-01.crt" >"$PKI/revoke.pem"
	printf 'crl_next_update = 30\ncrl_number = 1\n' >"$PKI/crl.tmpl"
	certtool --generate-crl --load-ca-privkey "$PKI_CA/agency-ca.key" \
		--load-ca-certificate "$PKI_CA/agency-ca.crt" --load-certificate "$PKI/revoke.pem" \
		--template "$PKI/crl.tmpl" --outfile "$PKI/agency-ca.crl" >/dev/null 2>&1 || return 1
	PKI_EDGE_CRL=$WORK/edge-etc/crl/agency-ca.crl
	PKI_CORE_CRL=$WORK/core-etc/crl/agency-ca.crl
	for _to in "$PKI_EDGE_CRL" "$PKI_CORE_CRL"; do
		"$POSGW" keys crl import "$PKI/agency-ca.crl" --ca "$PKI_CA/agency-ca.crt" \
			--to "$_to" >"$PKI/crl-import.txt" 2>&1 || {
			cat "$PKI/crl-import.txt" >&2
			return 1
		}
	done
	PKI_REVOKED=$("$POSGW" keys crl show "$PKI_CORE_CRL" | sed -n 's/^revoked: *//p')
}

# pki_configure: the edge signs on the token, agrees keys with its file
# pair, trusts the CA for the core; the core trusts the CA for the edge and
# the officials, seals for the edge's key-agreement certificate; both have
# the CRL. Both trust the CA, so each names the other's key-agreement
# certificate (peer_exchange_cert).
pki_configure() {
	sed -i -e "s|^key = .*|key = $PKI_KEY|" \
		-e "s|^trust = .*|trust = $PKI_CA/agency-ca.crt\npeer_exchange_cert = $KEYS/core-01.crt|" \
		-e "s|^\[gateway\]$|[gateway]\nexchange_key = $KEYS/edge-01-kex.key\nexchange_cert = $KEYS/edge-01-kex.crt\ncrl = $PKI_EDGE_CRL|" \
		"$EDGE_CONF"
	sed -i -e "s|^trust = .*|trust = $PKI_CA/agency-ca.crt\npeer_exchange_cert = $KEYS/edge-01-kex.crt|" \
		-e "s|^signer_trust = .*|signer_trust = $PKI_CA/agency-ca.crt|" \
		-e "s|^\[gateway\]$|[gateway]\ncrl = $PKI_CORE_CRL|" \
		"$CORE_CONF"
	# ПОС checks the answers' signatures against the agency CA too
	E2E_SIGNER_TRUST=$PKI_CA/agency-ca.crt
}

# pki_setup [LABEL]: the whole PKI of the demo.
pki_setup() {
	pki_ca && pki_token "${1:-posgw-demo}" && pki_issue && pki_crl && pki_configure
}

# pki_revoked_package DIR: what someone holding the revoked old edge-01 key
# would send: a valid appeal signed with it and sealed for the core (its
# current certificate, after a rollover the new one), written
# into DIR as the sender writes (dot file, renamed into place). A seq far
# beyond the edge's own, so it never meets a real package.
pki_revoked_package() {
	mkdir -p "$PKI/forged"
	sed 's/177073571/177099999/g' "$TESTDATA/examples/appeal.xml" >"$PKI/forged/appeal.xml"
	printf 'JPEG' >"$PKI/forged/att.bin"
	"$POSGW" pack create --id edge-01 --to core-01 --seq 999999 \
		--key "$PKI/old/edge-01.key" --cert "$PKI/old/edge-01.crt" \
		--encrypt-for "$(sed -n 's/^cert = //p' "$CORE_CONF")" --out "$1" "$PKI/forged/appeal.xml" \
		"payload/att/177099999-1.bin=$PKI/forged/att.bin"
}

# pki_judged NAME SECONDS: poll (0.1 s) until the core has recorded the
# inbound package NAME, at most SECONDS; print "STATE CODE: REASON" (empty
# if it was not judged in time).
pki_judged() {
	PKI_SQL="SELECT state || ' ' || COALESCE(code, '') || ': ' || COALESCE(reason, '')
		FROM packages WHERE direction = 'in' AND name = '$1'"
	wait_for "$2" pki_judged_row >/dev/null
	pki_judged_row
}

# pki_judged_row: the core's row of $PKI_SQL, false if none yet.
pki_judged_row() {
	_row=$(q "$CORE_DB" "$PKI_SQL" 2>/dev/null | head -1)
	[ -n "$_row" ] && echo "$_row"
}
