# lib.bash - sourced by the end-to-end tests: TAP output, temp dirs, the
# binaries under test ($CKPTD_BUILD, set by tests/run.sh).
set -u
B=${CKPTD_BUILD:-$(pwd)/build}
CTL="$B/ckptctl"
CKPTD="$B/ckptd"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T=$(mktemp -d /tmp/ckptd-e2e.XXXXXX) || exit 1
# whatever a test left running in the background (a daemon, a listener)
# goes with it, so a failed test never leaves processes behind
cleanup() {
	local p
	for p in $(jobs -p); do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
_n=0
_failed=0

ok() { _n=$((_n + 1)); echo "ok $_n - $1"; }
not_ok() {
	_n=$((_n + 1)); _failed=$((_failed + 1))
	echo "not ok $_n - $1"; shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}

# run CMD...: runs it, keeps stdout in $out, stderr in $err, status in $rc.
run() {
	"$@" >"$T/.out" 2>"$T/.err"
	rc=$?
	out=$(cat "$T/.out")
	err=$(cat "$T/.err")
}

# expect NAME STATUS CMD...: CMD exits with STATUS.
expect_rc() {
	local name=$1 want=$2; shift 2
	run "$@"
	if [ "$rc" -eq "$want" ]; then ok "$name"; else
		not_ok "$name" "exit $rc, wanted $want: $*" "stdout: $out" "stderr: $err"; fi
}

# has NAME TEXT HAYSTACK: HAYSTACK contains TEXT (a fixed string).
has() {
	if printf '%s\n' "$3" | grep -qF -- "$2"; then ok "$1"; else
		not_ok "$1" "missing: $2" "in: $3"; fi
}

# eq NAME GOT WANT
eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2" "want: $3"; fi
}

# json_get FILE-OR-TEXT PATH: a value from JSON via a tiny json-c reader
# is overkill; python3 is not a project dependency, so use sed on the
# pretty output for top-level scalars only.
jval() { # TEXT KEY: the scalar value of "KEY": at any depth, first match
	printf '%s\n' "$1" | sed -n "s/^ *\"$2\": *\\([^,{[]*\\),\\{0,1\\}\$/\\1/p" | head -n 1
}

done_testing() { echo "1..$_n"; [ "$_failed" -eq 0 ]; }
