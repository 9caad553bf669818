# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# The TAP library of the host shell tests (sourced, POSIX sh or bash):
# tests/host/*.sh, userspace/tests/*.sh, tests/50-powercut.sh.  The guest
# tests have their own (tests/lib.sh), the C unit tests userspace/tests/tap.h.
#
#   . "$(dirname "$0")/lib.sh"        (from tests/host; adjust the path)
#   tap_start                         "TAP version 13"
#   tap "make install" $?             a test point from an exit status
#   t "format a file" 0 $V format ... a test point: CMD exits as wanted
#   ok "..."; not_ok "..."; skip "..." "reason"
#   tap_done                          "1..N" (the points that ran), exit 0/1
#
# The plan comes last and counts the test points that ran: adding a check
# needs no count edit.  A test that ends before tap_done prints no plan,
# and tests/run counts a missing or short plan as a failure.
# T is a temporary directory, removed at exit after the test's cleanup()
# (if it defines one).

TAP_N=0
TAP_FAILED=0
TAP_STARTED=
TAP_DONE=
T=$(mktemp -d) || exit 1

# tap_start: the TAP header; the plan comes at the end (tap_done).
tap_start() {
	TAP_STARTED=1
	echo "TAP version 13"
}

# diag MSG...: a diagnostic line
diag() { echo "# $*"; }

# _tap_point RESULT DESC: test point number TAP_N + 1 ("ok" or "not ok")
_tap_point() {
	TAP_N=$((TAP_N + 1))
	echo "$1 $TAP_N - $2"
}
ok() { _tap_point ok "$*"; }
not_ok() {
	TAP_FAILED=$((TAP_FAILED + 1))
	_tap_point "not ok" "$*"
}
nok() { not_ok "$@"; }
# skip DESC REASON: a test point not run here
skip() { _tap_point ok "$1 # SKIP $2"; }

# tap DESC RC: ok if RC is 0
tap() {
	if [ "$2" -eq 0 ]; then ok "$1"; else not_ok "$1"; fi
}

# t DESC EXPECTED_EXIT CMD...: run CMD (its output in $T/out and $T/err) and
# check its exit status; on a failure both outputs are shown as diagnostics
t() {
	_d=$1
	_want=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	_rc=$?
	if [ "$_rc" = "$_want" ]; then
		ok "$_d"
	else
		not_ok "$_d (exit $_rc, wanted $_want)"
		sed 's/^/#   /' "$T/out" "$T/err"
	fi
}

# tap_done: print the plan and exit 0 if every test point passed, else 1
tap_done() {
	TAP_DONE=1
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ] || exit 1
	exit 0
}

_tap_exit() {
	_trc=$?
	if command -v cleanup >/dev/null 2>&1; then
		cleanup >/dev/null 2>&1 || true
	fi
	rm -rf "$T"
	if [ -n "$TAP_STARTED" ] && [ -z "$TAP_DONE" ]; then
		diag "ended after $TAP_N test points without tap_done (exit $_trc): no plan"
		[ "$_trc" -ne 0 ] || _trc=1
	fi
	exit $_trc
}
trap _tap_exit EXIT
trap 'exit 130' INT TERM
