#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The shared helpers of tests/alloc/lib.sh check what they claim: alloc_same_output
# passes for a program whose output does not depend on the allocator, and fails when
# the output differs or when the program never ran on libmcmalloc (a static binary
# ignores LD_PRELOAD, which must not pass vacuously).
. "$MC_SRC/tests/lib/ktap.sh"
. "$MC_SRC/tests/alloc/lib.sh"
alloc_require_lib
alloc_tmpdir

t_same_output_passes() {
	cd "$ALLOC_TMP"
	alloc_same_output sort_seq sh -c 'seq 1 20000 | sort -r | head -3; echo err >&2; exit 3'
	# The per-process dumps are removed again.
	! compgen -G "$ALLOC_TMP/sort_seq.dump.*" >/dev/null || fail "dump files left behind"
}

t_catches_difference() {
	cd "$ALLOC_TMP"
	local out rc=0
	out=$(alloc_same_output env_differs sh -c 'echo "${LD_PRELOAD:-none}"' 2>&1) || rc=$?
	assert_eq 1 "$rc" "helper status for differing stdout"
	assert_contains "$out" "env_differs: stdout differs under the preload"
	rc=0
	out=$(alloc_same_output status_differs sh -c '[ -z "$LD_PRELOAD" ]' 2>&1) || rc=$?
	assert_eq 1 "$rc" "helper status for differing exit status"
	assert_contains "$out" "status_differs: exit status"
}

t_catches_static_binary() {
	require_tool cc
	printf '#include <stdio.h>\nint main(void){puts("static");return 0;}\n' >"$ALLOC_TMP/s.c"
	cc -static -o "$ALLOC_TMP/s" "$ALLOC_TMP/s.c" 2>/dev/null || skip "cc -static unavailable (no libc.a)"
	cd "$ALLOC_TMP"
	local out rc=0
	out=$(alloc_same_output static ./s 2>&1) || rc=$?
	assert_eq 1 "$rc" "helper status for a static binary"
	assert_contains "$out" "static: no process ran on libmcmalloc"
}

t_preload_maps_library() {
	alloc_preload cat /proc/self/maps | alloc_maps_have_lib || fail "alloc_preload did not load the library"
	! cat /proc/self/maps | alloc_maps_have_lib || fail "library mapped without the preload"
}

t_wait_for_and_port() {
	local port
	port=$(alloc_free_port)
	[ "$port" -gt 0 ] && [ "$port" -lt 65536 ] || fail "bad port '$port'"
	alloc_wait_for true || fail "alloc_wait_for true failed"
	local t0 t1
	t0=$(date +%s%N)
	! ALLOC_WAIT_TRIES=10 alloc_wait_for false || fail "alloc_wait_for false succeeded"
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -ge 900 ] || fail "gave up after $(((t1 - t0) / 1000000)) ms, expected ~1 s"
}

ktap_run same_output_passes t_same_output_passes
ktap_run catches_difference t_catches_difference
ktap_run catches_static_binary t_catches_static_binary
ktap_run preload_maps_library t_preload_maps_library
ktap_run wait_for_and_port t_wait_for_and_port
ktap_finish
