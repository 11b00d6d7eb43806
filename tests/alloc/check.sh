#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# MCMALLOC_CHECK=1 catches double and invalid frees and overwritten headers, naming
# the pointer, then aborts; MCMALLOC_DUMP and MCMALLOC_STATS write at exit; a bad
# MCMALLOC_* value is a one-line error. The misuse helper links the library's mc_*
# names, so this also runs in sanitizer builds.
. "$MC_SRC/tests/lib/ktap.sh"
. "$MC_SRC/tests/alloc/lib.sh"
alloc_tmpdir
MISUSE=$MC_BUILD/tests/alloc/misuse

# expect_abort MODE MESSAGE: the helper dies of SIGABRT with MESSAGE and its pointer.
expect_abort() {
	local rc=0 ptr
	MCMALLOC_CHECK=1 "$MISUSE" "$1" >"$ALLOC_TMP/out" 2>"$ALLOC_TMP/err" || rc=$?
	ptr=$(head -1 "$ALLOC_TMP/out")
	cat "$ALLOC_TMP/err"
	assert_eq 134 "$rc" "exit status of $1 (SIGABRT)"
	assert_not_contains "$(cat "$ALLOC_TMP/out")" survived
	assert_contains "$(cat "$ALLOC_TMP/err")" "mcmalloc: free() $ptr: $2"
}

t_double_free_small() { expect_abort double-free-small "double free"; }
t_double_free_block() { expect_abort double-free-block "double free"; }
t_invalid_free_small() { expect_abort invalid-free-small "invalid pointer"; }
t_invalid_free_block() { expect_abort invalid-free-block "invalid pointer"; }
t_overwritten_header() { expect_abort overwrite-header "invalid pointer or overwritten block header"; }
t_overflow_into_next() { expect_abort overflow-next "header of the next block overwritten"; }

# The same without MCMALLOC_CHECK: block headers are always checked on free.
expect_abort_default() {
	local rc=0 ptr
	env -u MCMALLOC_CHECK "$MISUSE" "$1" >"$ALLOC_TMP/out" 2>"$ALLOC_TMP/err" || rc=$?
	ptr=$(head -1 "$ALLOC_TMP/out")
	cat "$ALLOC_TMP/err"
	assert_eq 134 "$rc" "exit status of $1 (SIGABRT)"
	assert_not_contains "$(cat "$ALLOC_TMP/out")" survived
	assert_contains "$(cat "$ALLOC_TMP/err")" "mcmalloc: free() $ptr: $2"
}

t_default_mode_catches_block_misuse() {
	expect_abort_default double-free-block "double free"
	expect_abort_default double-free-big "double free"
	expect_abort_default invalid-free-block "invalid pointer"
	expect_abort_default overwrite-header "invalid pointer or overwritten block header"
	expect_abort_default zero-header "invalid pointer or overwritten block header"
	expect_abort_default copied-header "invalid pointer or overwritten block header"
}

t_correct_program_passes() {
	assert_eq ok "$(MCMALLOC_CHECK=1 "$MISUSE" ok)"
}

t_bad_option() {
	local rc=0 err
	err=$(MCMALLOC_MMAP_THRESHOLD=lots "$MISUSE" ok 2>&1 >/dev/null) || rc=$?
	assert_eq 127 "$rc"
	assert_eq "mcmalloc: MCMALLOC_MMAP_THRESHOLD: invalid value \`lots\`: expected a size such as 262144 or 256k" "$err"
	rc=0
	err=$(MCMALLOC_CHECK=maybe "$MISUSE" ok 2>&1 >/dev/null) || rc=$?
	assert_eq 127 "$rc"
	assert_contains "$err" "MCMALLOC_CHECK: invalid value"
	assert_eq ok "$(MCMALLOC_MMAP_THRESHOLD=1m "$MISUSE" ok)"
}

t_threshold_adapts_unless_set() {
	# Default: after a mapped 1 MiB block is freed, the next one comes from an arena.
	assert_eq "mapped 0" "$("$MISUSE" threshold)"
	# A threshold set by the user stays put, as in glibc.
	assert_eq "mapped 1" "$(MCMALLOC_MMAP_THRESHOLD=256k "$MISUSE" threshold)"
}

t_dump_and_stats_at_exit() {
	local err
	err=$(MCMALLOC_STATS=1 MCMALLOC_DUMP="$ALLOC_TMP/dump.%p" "$MISUSE" ok 2>&1 >/dev/null)
	assert_contains "$err" "small mallocs"
	local f
	f=$(ls "$ALLOC_TMP"/dump.*)
	[ -s "$f" ] || fail "no dump file"
	grep -q '^\[SLAB 0x[0-9a-f]*: 65536 bytes class 16: ' "$f" || fail "no slab line in dump"
	grep -q '^summary: heap size [0-9]* bytes' "$f" || fail "no summary in dump"
}

t_preloaded_double_free() {
	command -v cc >/dev/null || skip "requires cc"
	alloc_require_lib
	printf '#include <stdio.h>\n#include <stdlib.h>\nint main(void){char *p=malloc(24);printf("%%p\\n",(void*)p);fflush(stdout);free(p);free(p);puts("survived");return 0;}\n' >"$ALLOC_TMP/df.c"
	cc -O0 -o "$ALLOC_TMP/df" "$ALLOC_TMP/df.c"
	local rc=0 ptr
	MCMALLOC_CHECK=1 LD_PRELOAD=$ALLOC_LIB "$ALLOC_TMP/df" >"$ALLOC_TMP/out" 2>"$ALLOC_TMP/err" || rc=$?
	ptr=$(head -1 "$ALLOC_TMP/out")
	assert_eq 134 "$rc"
	assert_contains "$(cat "$ALLOC_TMP/err")" "mcmalloc: free() $ptr: double free"
}

# Freed memory goes back to the kernel in batches (one process_madvise per batch) and,
# where a seccomp filter or an old kernel refuses that call, one madvise per range.
t_decommit_batched_and_fallback() {
	local mode out peak after
	for mode in vector madvise; do
		out=$("$MISUSE" decommit $mode) || fail "decommit $mode: exit $?"
		peak=$(echo "$out" | awk '{print $2}')
		after=$(echo "$out" | awk '{print $4}')
		echo "# $mode: RSS peak $peak KiB, after free and trim $after KiB"
		[ "$peak" -gt 190000 ] || fail "$mode: peak RSS $peak KiB, expected > 190000"
		[ "$after" -lt 24000 ] || fail "$mode: RSS after free $after KiB, expected < 24000"
	done
}

ktap_run double_free_small t_double_free_small
ktap_run double_free_block t_double_free_block
ktap_run invalid_free_small t_invalid_free_small
ktap_run invalid_free_block t_invalid_free_block
ktap_run overwritten_header t_overwritten_header
ktap_run default_mode_catches_block_misuse t_default_mode_catches_block_misuse
ktap_run overflow_into_next t_overflow_into_next
ktap_run correct_program_passes t_correct_program_passes
ktap_run bad_option t_bad_option
ktap_run threshold_adapts_unless_set t_threshold_adapts_unless_set
ktap_run dump_and_stats_at_exit t_dump_and_stats_at_exit
ktap_run preloaded_double_free t_preloaded_double_free
ktap_run decommit_batched_and_fallback t_decommit_batched_and_fallback
ktap_finish
