#!/bin/bash
# SPDX-License-Identifier: MIT
# Every program of lox-tests/test/benchmark/ runs to completion with the right output
# (string_equality included). Full size; zoo_batch runs its fixed 10 s of CPU time.
. "$MC_SRC/tests/lib/ktap.sh"
. "$MC_SRC/bench/lox/expect.sh"

BENCH_DIR=${LOX_TESTS_DIR:-$MC_SRC/../shared/lox-tests}/test/benchmark
[ -d "$BENCH_DIR" ] || ktap_skip_all "lox benchmark programs not found at $BENCH_DIR"
KTAP_TIMEOUT=${LOX_BENCH_TIMEOUT:-120}
tmp=$(mktemp -d)
ktap_cleanup 'rm -rf "$tmp"'

t_bench() {
	local name=$1 rc=0
	"$MC_BIN/lox" "$BENCH_DIR/$name.lox" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
	cat "$tmp/$name.err"
	assert_eq 0 "$rc" "exit status of $name"
	lox_bench_check "$name" "$tmp/$name.out"
	cat "$tmp/$name.out"
}

for b in $LOX_BENCHMARKS; do
	ktap_run "$b" t_bench "$b"
done
ktap_finish
