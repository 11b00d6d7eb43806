#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the C harness's reports against tests/harness/sample.c, which misbehaves on
# purpose: failed ASSERT stops, EXPECT continues, crashes/aborts/hangs fail one test,
# SKIP carries its reason, teardown runs after failures and crashes, strays are killed.
. "$MC_SRC/tests/lib/ktap.sh"

SAMPLE=$MC_BUILD/tests/harness/sample
# The checks below expect real signals and unscaled timeouts, also in sanitizer builds
# (ASan would otherwise turn the segfault into its own report and exit 1).
export ASAN_OPTIONS=handle_segv=0:handle_abort=0 MC_TEST_TIMEOUT_SCALE=1
[ -x "$SAMPLE" ] || { echo "missing $SAMPLE"; exit 1; }
work=$(mktemp -d)
ktap_cleanup "rm -rf '$work'"

# One full run shared by the checks below.
mkdir -p "$work/marks"
rc=0
MARK_DIR=$work/marks "$SAMPLE" >"$work/out" 2>&1 || rc=$?
out=$(cat "$work/out")

t_plan_and_header() {
	assert_eq "TAP version 13" "$(head -1 "$work/out")"
	assert_eq "1..14" "$(sed -n 2p "$work/out")"
	assert_eq 14 "$(grep -cE '^(not )?ok [0-9]+ ' "$work/out")"
	assert_contains "$out" "# Totals: pass:6 fail:7 xfail:0 xpass:0 skip:1 error:0"
}

t_exit_status_is_1_on_failure() { assert_eq 1 "$rc"; }

t_assert_stops_the_test() {
	assert_contains "$out" "not ok 2 assert_stops"
	assert_contains "$out" "sample.c:44: 1 == 2"
	[ ! -e "$work/marks/after_assert" ] || fail "code after a failed ASSERT ran"
}

t_expect_continues() {
	assert_contains "$out" "not ok 3 expect_continues"
	assert_contains "$out" '"left" == "right" ("left" vs "right")'
	[ -e "$work/marks/after_expect" ] || fail "code after a failed EXPECT did not run"
}

t_segfault_fails_one_test() {
	assert_contains "$out" "segfaults: killed by signal 11"
	assert_contains "$out" "not ok 4 segfaults"
	assert_contains "$out" "not ok 5 aborts"
	assert_contains "$out" "aborts: killed by signal 6"
	assert_contains "$out" "ok 7 skips" # the run went on after the crashes
}

t_timeout_is_caught() {
	assert_contains "$out" "hangs: timed out after 1 seconds"
	assert_contains "$out" "not ok 6 hangs"
}

t_skip_carries_reason() {
	assert_contains "$out" "ok 7 skips # SKIP no frobnicator here"
	[ ! -e "$work/marks/after_skip" ] || fail "code after SKIP ran"
}

t_stray_process_is_killed() {
	local pid
	pid=$(cat "$work/marks/stray.pid")
	[ -n "$pid" ] || fail "no pid recorded"
	sleep 0.2
	if alive "$pid"; then
		kill -KILL "$pid"
		fail "process $pid left by a test is still running"
	fi
}

t_variants_and_teardown() {
	assert_contains "$out" "ok 11 fx.one.assert_then_teardown"
	assert_contains "$out" "not ok 12 fx.two.assert_then_teardown"
	local m
	for m in teardown-assert-1 teardown-assert-2 teardown-crash-1 teardown-crash-2; do
		[ -e "$work/marks/$m" ] || fail "teardown marker $m missing"
	done
	assert_contains "$out" "running teardown after the test died"
}

t_exit_codes_by_selection() {
	assert_status 0 "$SAMPLE" -t passes
	assert_status 4 "$SAMPLE" -t skips
	assert_status 1 "$SAMPLE" -t assert_stops
	assert_status 1 "$SAMPLE" --bogus
}

t_list() {
	local l
	l=$("$SAMPLE" -l)
	assert_eq 14 "$(echo "$l" | wc -l)"
	assert_contains "$l" "fx.two.crash_then_teardown"
}

t_timeout_scale() {
	local o
	o=$(MC_TEST_TIMEOUT_SCALE=2 "$SAMPLE" -t hangs 2>&1) || true
	assert_contains "$o" "timed out after 2 seconds"
}

t_seed_is_printed_and_honoured() {
	local o
	o=$(MC_TEST_SEED=42 "$SAMPLE" -t seeded)
	assert_contains "$o" "# seed=42"
	assert_contains "$o" "value=42"
}

ktap_run plan_and_header t_plan_and_header
ktap_run exit_status_is_1_on_failure t_exit_status_is_1_on_failure
ktap_run assert_stops_the_test t_assert_stops_the_test
ktap_run expect_continues t_expect_continues
ktap_run segfault_fails_one_test t_segfault_fails_one_test
ktap_run timeout_is_caught t_timeout_is_caught
ktap_run skip_carries_reason t_skip_carries_reason
ktap_run stray_process_is_killed t_stray_process_is_killed
ktap_run variants_and_teardown t_variants_and_teardown
ktap_run exit_codes_by_selection t_exit_codes_by_selection
ktap_run list t_list
ktap_run timeout_scale t_timeout_scale
ktap_run seed_is_printed_and_honoured t_seed_is_printed_and_honoured
ktap_finish
