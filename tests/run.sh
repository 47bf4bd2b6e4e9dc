#!/bin/sh
# Run every test: the cmocka unit tests (TAP output) and the end-to-end
# tests in tests/e2e (real binaries, real temp directories; TAP too).
# Ends with one line: "N passed, N failed".
B=${1:-build}
export CKPTD_BUILD="$(cd "$B" && pwd)"
export CMOCKA_MESSAGE_OUTPUT=TAP
cd "$(dirname "$0")/.." || exit 1
pass=0 fail=0
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT

count() { # name, exit status
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1  # a crash or a bad exit counts even if no case said so
		echo "not ok - $1 exited with status $2"
		tail -n 20 "$out" | sed 's/^/#   /'
	fi
	echo "# $1: $p passed, $f failed"
	pass=$((pass + p))
	fail=$((fail + f))
}

for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	"$t" >"$out" 2>&1
	rc=$?
	# a failing case and the diagnostics cmocka prints after it
	sed -n '/^not ok/,/^ok /p' "$out" | grep -v '^ok '
	count "$(basename "$t")" $rc
done
for t in tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	bash "$t" >"$out" 2>&1
	rc=$?
	sed -n '/^not ok/,/^ok /p' "$out" | grep -v '^ok ' | head -60
	count "$(basename "$t")" $rc
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
