#!/bin/bash
# SPDX-License-Identifier: MIT
# Our own golden Lox files (tests/lox/golden/test/**.lox, `// expect:` comments), run
# by the shared conformance runner, plainly and under --gc-stress.
. "$MC_SRC/tests/lib/ktap.sh"

require_tool python3
RUNNER=${LOX_TESTS_DIR:-$MC_SRC/../shared/lox-tests}/run_suite.py
[ -r "$RUNNER" ] || ktap_skip_all "lox-tests runner not found at $RUNNER"

golden() {
	local out rc=0
	out=$(python3 "$RUNNER" --interpreter "$MC_BIN/lox" --suite treewalk -v -j 2 \
		--timeout 60 --tests-dir "$MC_SRC/tests/lox/golden" "$@" 2>&1) || rc=$?
	printf '%s\n' "$out"
	assert_eq 0 "$rc" "run_suite.py exit status"
	assert_contains "$(tail -n 1 <<<"$out")" " passed, 0 failed"
	local n
	n=$(find "$MC_SRC/tests/lox/golden/test" -name '*.lox' | wc -l)
	assert_contains "$(tail -n 1 <<<"$out")" "$n passed"
}
ktap_run golden golden
ktap_run golden_gc_stress golden --arg=--gc-stress
ktap_finish
