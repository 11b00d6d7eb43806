#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks tests/run_kselftest.sh on a fake build directory: exit-code mapping (pass,
# fail, skip, crash, timeout), nested output prefixed with "# ", the totals line,
# selection with -c/-t, --list, and the exit status.
. "$MC_SRC/tests/lib/ktap.sh"

RUNNER=$MC_SRC/tests/run_kselftest.sh
work=$(mktemp -d)
ktap_cleanup "rm -rf '$work'"
mkdir -p "$work/build/tests" "$work/progs"

prog() { # prog NAME BODY
	printf '#!/usr/bin/env bash\n%s\n' "$2" >"$work/progs/$1"
	chmod +x "$work/progs/$1"
}
prog pass2 'printf "TAP version 13\n1..2\nok 1 a\nok 2 b\n"'
prog fail1 'printf "TAP version 13\n1..2\nok 1 a\nnot ok 2 b\n"; exit 1'
prog skipall 'printf "TAP version 13\n1..0 # SKIP requires a frobnicator\n"; exit 4'
prog crash 'echo "about to crash"; kill -SEGV $$'
prog hang 'echo "TAP version 13"; sleep 300'
prog mixed 'printf "TAP version 13\n1..3\nok 1 a\nok 2 b # SKIP no c\nok 3 d\n"'
for p in pass2 fail1 skipall crash hang mixed; do
	echo "fake:$p:$work/progs/$p"
done >"$work/build/tests/kselftest-list.txt"

run() { MC_TEST_TIMEOUT_SCALE=0.05 "$RUNNER" -o "$work/build" "$@"; }

t_full_run() {
	local out rc=0
	out=$(run 2>&1) || rc=$?
	echo "$out"
	assert_eq 1 "$rc" "runner exit status"
	assert_contains "$out" "TAP version 13"
	assert_contains "$out" "1..6"
	assert_contains "$out" "ok 1 selftests: fake: pass2"
	assert_contains "$out" "# ok 1 a"
	assert_contains "$out" "not ok 2 selftests: fake: fail1 # exit=1"
	assert_contains "$out" "ok 3 selftests: fake: skipall # SKIP"
	assert_contains "$out" "not ok 4 selftests: fake: crash # exit=139"
	assert_contains "$out" "# about to crash"
	assert_contains "$out" "not ok 5 selftests: fake: hang # TIMEOUT 2 seconds"
	assert_contains "$out" "ok 6 selftests: fake: mixed"
	# cases: pass2 2 + fail1 1 + mixed 2 = 5 passed; fail1 1 + crash 1 + hang 1 = 3
	# failed; skipall 1 + mixed 1 = 2 skipped. The totals line is the last line.
	assert_eq "5 passed, 3 failed, 2 skipped" "$(echo "$out" | tail -1)"
}

t_select_one_test() {
	local out
	out=$(run -t fake:pass2) || fail "a passing selection must exit 0"
	assert_eq "2 passed, 0 failed, 0 skipped" "$(echo "$out" | tail -1)"
	assert_contains "$out" "1..1"
}

t_select_collection_and_unknown() {
	local out
	out=$(run -c fake -l)
	assert_eq 6 "$(echo "$out" | wc -l)"
	assert_contains "$out" "fake:hang"
	assert_status 2 run -t fake:nonexistent
	assert_status 2 run --bogus
}

t_skip_only_run_passes() {
	local out
	out=$(run -t fake:skipall) || fail "a run with only skips must exit 0"
	assert_eq "0 passed, 0 failed, 1 skipped" "$(echo "$out" | tail -1)"
}

ktap_run full_run t_full_run
ktap_run select_one_test t_select_one_test
ktap_run select_collection_and_unknown t_select_collection_and_unknown
ktap_run skip_only_run_passes t_skip_only_run_passes
ktap_finish
