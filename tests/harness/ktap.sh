#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks tests/lib/ktap.sh, the shell harness: pass, assert failure, a failing command
# under set -e, skip with a reason, a timeout, expect_* continuing, cleanups running,
# the exit status, and require_* skipping a whole script.
. "$MC_SRC/tests/lib/ktap.sh"

work=$(mktemp -d)
ktap_cleanup "rm -rf '$work'"

cat >"$work/sample.sh" <<'SAMPLE'
. "$MC_SRC/tests/lib/ktap.sh"
ktap_cleanup "touch '$MARKS/cleaned'"
t_pass() { assert_eq a a; }
t_assert() { assert_eq a b; touch "$MARKS/after_assert"; }
t_cmd() { false; touch "$MARKS/after_false"; }
t_skip() { skip "no widget"; }
t_hang() { sleep 300; }
t_expect() { expect_eq 1 2; touch "$MARKS/after_expect"; }
t_stray() { sleep 300 & echo $! >"$MARKS/stray.pid"; }
ktap_run pass t_pass
ktap_run assert t_assert
ktap_run cmd t_cmd
ktap_run skip t_skip
KTAP_TIMEOUT=1 ktap_run hang t_hang
ktap_run expect t_expect
ktap_run stray t_stray
ktap_finish
SAMPLE

t_sample_report() {
	local out rc=0
	mkdir -p "$work/marks"
	out=$(MARKS=$work/marks bash "$work/sample.sh" 2>&1) || rc=$?
	echo "$out"
	assert_eq 1 "$rc"
	assert_contains "$out" "ok 1 pass"
	assert_contains "$out" "not ok 2 assert"
	assert_contains "$out" "# FAIL: expected 'a', got 'b'"
	assert_contains "$out" "not ok 3 cmd"
	assert_contains "$out" "ok 4 skip # SKIP no widget"
	assert_contains "$out" "hang: timed out after 1 seconds"
	assert_contains "$out" "not ok 6 expect"
	assert_contains "$out" "ok 7 stray"
	assert_contains "$out" "1..7"
	assert_contains "$out" "# Totals: pass:2 fail:4 xfail:0 xpass:0 skip:1 error:0"
	[ ! -e "$work/marks/after_assert" ] || fail "code after a failed assert ran"
	[ ! -e "$work/marks/after_false" ] || fail "set -e did not stop the test"
	[ -e "$work/marks/after_expect" ] || fail "expect_eq did not continue"
	[ -e "$work/marks/cleaned" ] || fail "cleanup did not run"
	local pid
	pid=$(cat "$work/marks/stray.pid")
	if alive "$pid"; then
		kill -KILL "$pid"
		fail "stray process $pid survived its test"
	fi
}

t_require_skips_script() {
	local out rc=0
	printf '. "$MC_SRC/tests/lib/ktap.sh"\nrequire_tool no-such-tool-here\nktap_run x true\nktap_finish\n' >"$work/req.sh"
	out=$(bash "$work/req.sh") || rc=$?
	assert_eq 4 "$rc"
	assert_contains "$out" "1..0 # SKIP requires no-such-tool-here (not found in PATH)"
}

t_all_pass_exit_zero() {
	printf '. "$MC_SRC/tests/lib/ktap.sh"\nktap_run x true\nktap_finish\n' >"$work/ok.sh"
	assert_status 0 bash "$work/ok.sh"
}

ktap_run sample_report t_sample_report
ktap_run require_skips_script t_require_skips_script
ktap_run all_pass_exit_zero t_all_pass_exit_zero
ktap_finish
