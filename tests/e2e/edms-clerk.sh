#!/bin/sh
# edms-clerk.sh CORE_CONF EXPORT_DIR KEYS_DIR STATE_DIR: plays the agency's
# EDMS and its clerks until killed. For every appeal that appears in the
# export folder it registers the appeal, takes it to work, and then answers
# about 90 % of them with a PDF signed by the official (certtool detached
# CMS), forwards about 5 % to the parent body and declines the rest; it
# confirms the repeated-appeal marks the core sets.
# Decisions are deterministic by pos-id. Used by the e2e tests and the demo.
set -u
conf=$1 export=$2 keys=$3 state=$4
: "${POSGW:=posgw}"
mkdir -p "$state/done" "$state/files"
while :; do
	for d in "$export"/*/; do
		[ -f "$d/appeal.xml" ] || continue
		id=$(basename "$d")
		[ -e "$state/done/$id" ] && continue
		"$POSGW" edms register "$id" --number "01-12/$id" --date "$(date -u +%Y-%m-%d)" \
			--config "$conf" >/dev/null 2>>"$state/clerk.log" || continue
		# a repeated appeal marked by the core (59-FZ art. 11): the clerk
		# looks at the earlier answer and confirms the mark
		if grep -q '<repeated of=' "$d/appeal.xml"; then
			"$POSGW" edms repeated "$id" --confirm --comment "Тот же вопрос, ответ уже дан" \
				--config "$conf" >/dev/null 2>>"$state/clerk.log"
		fi
		pick=$((id % 20))
		if [ $pick -eq 7 ]; then
			"$POSGW" edms forward "$id" --to parent --lko-id 100001 \
				--reason "Вопрос относится к компетенции министерства" \
				--config "$conf" >/dev/null 2>>"$state/clerk.log"
		elif [ $pick -eq 13 ]; then
			"$POSGW" edms decline "$id" --reason "Обращение не содержит сути вопроса" \
				--config "$conf" >/dev/null 2>>"$state/clerk.log"
		else
			"$POSGW" edms take "$id" --config "$conf" >/dev/null 2>>"$state/clerk.log"
			f=$state/files/answer-$id.pdf
			printf '%%PDF-1.4\n%% Ответ на обращение %s\n%%%%EOF\n' "$id" >"$f"
			certtool --p7-detached-sign --p7-time --outder \
				--load-privkey "$keys/official.key" --load-certificate "$keys/official.crt" \
				--infile "$f" --outfile "$f.p7s" >/dev/null 2>&1
			# the result ССТУ.РФ counts: about a half supported (measures
			# taken), a third explained, the rest not supported
			case $((id % 6)) in
			0 | 1 | 2) result="--result supported --measures" ;;
			3 | 4) result="--result explained" ;;
			*) result="--result not-supported" ;;
			esac
			# shellcheck disable=SC2086
			"$POSGW" edms answer "$id" --text "Ваше обращение рассмотрено, работы выполнены." \
				--file "$f" --signature "$f.p7s" $result --config "$conf" >/dev/null 2>>"$state/clerk.log"
		fi
		: >"$state/done/$id"
	done
	sleep 0.3
done
