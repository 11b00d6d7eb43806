#!/bin/bash
# SPDX-License-Identifier: MIT
# The Lox conformance suite (../shared/lox-tests, `--suite treewalk`) run against our
# `lox`, once plainly and once with --gc-stress: one TAP line per test file.
. "$MC_SRC/tests/lib/ktap.sh"

require_tool python3
SUITE_DIR=${LOX_TESTS_DIR:-$MC_SRC/../shared/lox-tests}
[ -r "$SUITE_DIR/run_suite.py" ] || ktap_skip_all "lox-tests not found at $SUITE_DIR"
LOX=$MC_BIN/lox
[ -x "$LOX" ] || { ktap_header; ktap_print "Bail out! $LOX not built"; exit 1; }

tmp=$(mktemp -d)
ktap_cleanup 'rm -rf "$tmp"'

# run_suite.py -v prints "ok   test/x.lox (0.01s)" or "FAIL test/x.lox" and indented
# details, then "N passed, N failed, N skipped". Each file becomes one TAP line.
tap_of_suite() {
	local label=$1 out=$2 line path
	local -a detail=()
	flush_fail() {
		[ -n "$path" ] || return 0
		KTAP_NUM=$((KTAP_NUM + 1))
		KTAP_FAIL=$((KTAP_FAIL + 1))
		printf '%s\n' "${detail[@]}" | sed 's/^/# /'
		ktap_print "not ok $KTAP_NUM $label/$path"
		path=
		detail=()
	}
	while IFS= read -r line; do
		case $line in
		"ok   "*)
			flush_fail
			line=${line#ok   }
			KTAP_NUM=$((KTAP_NUM + 1))
			KTAP_PASS=$((KTAP_PASS + 1))
			ktap_print "ok $KTAP_NUM $label/${line%% (*}"
			;;
		"FAIL "*)
			flush_fail
			path=${line#FAIL }
			;;
		"     "*)
			detail+=("$line")
			;;
		*)
			flush_fail
			ktap_diag "$label: $line"
			;;
		esac
	done <"$out"
	flush_fail
}

ktap_header
for mode in plain gc-stress; do
	args=()
	[ "$mode" = gc-stress ] && args=(--arg=--gc-stress)
	rc=0
	python3 "$SUITE_DIR/run_suite.py" --interpreter "$LOX" --suite treewalk -v -j 2 \
		--timeout 30 "${args[@]}" >"$tmp/$mode.out" 2>&1 || rc=$?
	before=$KTAP_FAIL
	tap_of_suite "$mode" "$tmp/$mode.out"
	summary=$(tail -n 1 "$tmp/$mode.out")
	# The runner's own verdict also counts, so a crash of the runner cannot pass.
	KTAP_NUM=$((KTAP_NUM + 1))
	if [ "$rc" = 0 ] && [ "$KTAP_FAIL" = "$before" ] && [[ $summary =~ ^([0-9]+)\ passed,\ 0\ failed ]] &&
		[ "${BASH_REMATCH[1]}" -ge 241 ]; then
		KTAP_PASS=$((KTAP_PASS + 1))
		ktap_print "ok $KTAP_NUM $mode/summary: $summary"
	else
		KTAP_FAIL=$((KTAP_FAIL + 1))
		ktap_print "not ok $KTAP_NUM $mode/summary: rc=$rc $summary"
	fi
done
ktap_finish
