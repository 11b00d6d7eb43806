# SPDX-License-Identifier: MIT
# ktap.sh: the harness vocabulary for shell tests (source it; bash only).
#
#   . "$MC_SRC/tests/lib/ktap.sh"
#   require_root                      # whole script skips (exit 4) with a reason
#   ktap_cleanup 'rm -rf "$tmp"'      # runs at exit, even after a failure
#   t_hello() { assert_eq "hi" "$(echo hi)"; }
#   ktap_run hello t_hello            # one test: a function run in a subshell
#   ktap_finish                       # totals line and exit status (0, 1 or 4)
#
# Each ktap_run runs its function in a subshell with `set -e`, in its own process
# group, with a timeout (KTAP_TIMEOUT, 60 s by default): a failing command, a
# failed assert_*, `exit N` (N != 0, 4), or the timeout fails that test only; `skip
# REASON` (or exit 4) skips it. Its output is prefixed with "# ". expect_* records a
# failure and continues.

KTAP_NUM=0
KTAP_PASS=0
KTAP_FAIL=0
KTAP_SKIP=0
KTAP_TIMEOUT=${KTAP_TIMEOUT:-60}
KTAP_CLEANUPS=()
KTAP_STARTED=0
: "${MC_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${MC_BUILD:=$MC_SRC/build}"
MC_BIN=${MC_BIN:-$MC_BUILD/bin}
export MC_SRC MC_BUILD MC_BIN

ktap_print() { printf '%s\n' "$*"; }
ktap_diag() { printf '# %s\n' "$*"; }

ktap_header() {
	[ "$KTAP_STARTED" = 1 ] && return
	KTAP_STARTED=1
	ktap_print "TAP version 13"
}

# ktap_plan N: optional; without it the plan is printed at the end.
KTAP_PLANNED=0
ktap_plan() {
	ktap_header
	ktap_print "1..$1"
	KTAP_PLANNED=1
}

ktap_cleanup() { KTAP_CLEANUPS+=("$1"); }

ktap_run_cleanups() {
	local i
	for ((i = ${#KTAP_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${KTAP_CLEANUPS[$i]}" >/dev/null 2>&1 || true
	done
	KTAP_CLEANUPS=()
}
trap ktap_run_cleanups EXIT

ktap_skip_all() {
	ktap_header
	ktap_print "1..0 # SKIP $*"
	ktap_run_cleanups
	exit 4
}

# Environment checks: skip the whole script with a one-line reason.
require_root() { [ "$(id -u)" = 0 ] || ktap_skip_all "requires root"; }
require_tool() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || ktap_skip_all "requires $t (not found in PATH)"
	done
}
require_cgroup_v2() {
	grep -q ' - cgroup2 ' /proc/self/mountinfo || ktap_skip_all "no cgroup v2 hierarchy is mounted"
}
require_io_uring() {
	local why
	why=$("$MC_BUILD/tests/lib/probe" io_uring 2>&1) || ktap_skip_all "$why"
}

# alive PID: the process exists and is not a zombie (some inits never reap orphans).
alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Inside a test function.
skip() {
	printf '%s\n' "$*" >"$KTAP_SKIPFILE"
	exit 4
}
fail() {
	printf 'FAIL: %s\n' "$*"
	exit 1
}
assert_eq() {
	[ "$1" == "$2" ] || fail "expected '$1', got '$2'${3:+ ($3)}"
}
assert_ne() {
	[ "$1" != "$2" ] || fail "expected something other than '$1'${3:+ ($3)}"
}
assert_contains() {
	case "$1" in *"$2"*) ;; *) fail "'$2' not found in: $1" ;; esac
}
assert_not_contains() {
	case "$1" in *"$2"*) fail "'$2' unexpectedly found in: $1" ;; esac
}
# assert_status N cmd...: cmd exits with status N.
assert_status() {
	local want=$1 rc=0
	shift
	"$@" || rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want"
}
expect_eq() {
	[ "$1" == "$2" ] || {
		printf 'EXPECT FAILED: expected %s, got %s\n' "'$1'" "'$2'"
		: >"$KTAP_EXPECTFILE"
	}
}

# ktap_run NAME FUNC [ARGS...]: one test. FUNC runs in a forked subshell (so it
# sees every function of the script) in its own process group; a watchdog kills that
# group after KTAP_TIMEOUT seconds.
ktap_run() {
	local ktap_name=$1 ktap_rc=0 ktap_reason ktap_out ktap_pid ktap_wd ktap_tmo
	shift
	ktap_header
	KTAP_NUM=$((KTAP_NUM + 1))
	KTAP_SKIPFILE=$(mktemp)
	KTAP_EXPECTFILE=$(mktemp -u)
	ktap_tmo=$(mktemp -u)
	ktap_out=$(mktemp)
	set -m
	(
		trap - EXIT
		# Job control off again: what the test starts in the background stays in
		# the test's process group, so the kill below reaches it.
		set +m -eE -o pipefail
		"$@"
	) >"$ktap_out" 2>&1 </dev/null &
	ktap_pid=$!
	(
		sleep "$KTAP_TIMEOUT"
		: >"$ktap_tmo"
		kill -KILL -- -"$ktap_pid"
	) >/dev/null 2>&1 &
	ktap_wd=$!
	set +m
	wait "$ktap_pid" 2>/dev/null || ktap_rc=$?
	kill -KILL -- -"$ktap_wd" 2>/dev/null
	wait "$ktap_wd" 2>/dev/null
	# Whatever the test left running in its process group goes with it.
	kill -KILL -- -"$ktap_pid" 2>/dev/null
	sed 's/^/# /' "$ktap_out"
	ktap_reason=$(cat "$KTAP_SKIPFILE" 2>/dev/null)
	if [ -e "$ktap_tmo" ]; then
		ktap_rc=timeout
	elif [ "$ktap_rc" = 0 ] && [ -e "$KTAP_EXPECTFILE" ]; then
		ktap_rc=1
	fi
	rm -f "$KTAP_SKIPFILE" "$KTAP_EXPECTFILE" "$ktap_tmo" "$ktap_out"
	case $ktap_rc in
	0)
		ktap_print "ok $KTAP_NUM $ktap_name"
		KTAP_PASS=$((KTAP_PASS + 1))
		;;
	4)
		ktap_print "ok $KTAP_NUM $ktap_name # SKIP ${ktap_reason:-skipped}"
		KTAP_SKIP=$((KTAP_SKIP + 1))
		;;
	timeout)
		ktap_diag "$ktap_name: timed out after ${KTAP_TIMEOUT} seconds"
		ktap_print "not ok $KTAP_NUM $ktap_name"
		KTAP_FAIL=$((KTAP_FAIL + 1))
		;;
	*)
		ktap_diag "$ktap_name: exit=$ktap_rc"
		ktap_print "not ok $KTAP_NUM $ktap_name"
		KTAP_FAIL=$((KTAP_FAIL + 1))
		;;
	esac
}

ktap_finish() {
	ktap_header
	[ "$KTAP_PLANNED" = 1 ] || ktap_print "1..$KTAP_NUM"
	ktap_print "# Totals: pass:$KTAP_PASS fail:$KTAP_FAIL xfail:0 xpass:0 skip:$KTAP_SKIP error:0"
	ktap_run_cleanups
	if [ "$KTAP_FAIL" -gt 0 ]; then
		exit 1
	elif [ "$KTAP_NUM" -gt 0 ] && [ "$KTAP_SKIP" = "$KTAP_NUM" ]; then
		exit 4
	fi
	exit 0
}
