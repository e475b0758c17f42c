#!/bin/sh
# format.sh: every C source and header of the project is as the committed
# .clang-format lays it out (clang-format --dry-run), so the style cannot
# drift unnoticed. Generated sources are left out.
. "$(dirname "$0")/lib.sh"

if ! have clang-format; then
	skip "sources are clang-formatted" "clang-format missing (ops/scripts/deps installs it)"
	done_testing
fi
cd "$TOP_SRCDIR" || exit 1
bad=""
n=0
for f in $(find gateway formats transfer tests/unit tests/tools tests/fuzz \( -name '*.c' -o -name '*.h' \) \
	! -name schemas-data.c | sort); do
	n=$((n + 1))
	clang-format --style=file --dry-run -Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
[ -z "$bad" ] && [ $n -gt 50 ]
ok $? "all $n C files are clang-formatted"
[ -z "$bad" ] || diag "not formatted (run clang-format -i):$bad"
done_testing
