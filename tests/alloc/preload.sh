#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The allocator contract (contract.h) run a second time, preloaded: api_preload.c is
# built here with plain cc and no sanitizer (an ASan harness would own malloc), then
# run with LD_PRELOAD=libmcmalloc.so. Also: the library really is the one in use, and
# C++ new/delete go through it.
. "$MC_SRC/tests/lib/ktap.sh"
. "$MC_SRC/tests/alloc/lib.sh"
alloc_require_lib
require_tool cc
alloc_tmpdir

build_contract() {
	cc -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Werror -I"$MC_SRC/tests/lib" \
		-I"$MC_SRC/tests/alloc" -o "$ALLOC_TMP/api_preload" "$MC_SRC/tests/alloc/api_preload.c" \
		"$MC_SRC/tests/lib/harness.c" -lpthread -ldl
}

t_contract() {
	build_contract
	local out rc=0
	out=$(LD_PRELOAD=$ALLOC_LIB "$ALLOC_TMP/api_preload" 2>&1) || rc=$?
	printf '%s\n' "$out" | grep -v '^ok '
	assert_eq 0 "$rc" "api_preload exit status"
	assert_contains "$out" "fail:0"
	assert_not_contains "$out" "Totals: pass:0 "
}

t_refuses_without_preload() {
	[ -x "$ALLOC_TMP/api_preload" ] || build_contract
	assert_status 1 "$ALLOC_TMP/api_preload"
}

t_mapped_in_process() {
	local maps
	maps=$(LD_PRELOAD=$ALLOC_LIB cat /proc/self/maps)
	printf '%s\n' "$maps" | alloc_maps_have_lib || fail "libmcmalloc.so not in /proc/self/maps"
}

t_cxx_new_delete() {
	require_tool_t g++
	cat >"$ALLOC_TMP/cxx.cc" <<'CXX'
#include <cstdio>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>
struct alignas(64) Wide { char c[200]; };
int main()
{
	std::map<std::string, std::vector<int>> m;
	unsigned long sum = 0;
	for (int i = 0; i < 200000; i++) {
		auto &v = m[std::to_string(i % 5000)];
		v.push_back(i);
		auto p = std::make_unique<std::string>(std::string(i % 300, 'x'));
		sum += p->size();
	}
	for (int i = 0; i < 1000; i++) {
		Wide *w = new Wide[3];
		if (reinterpret_cast<unsigned long>(w) % 64) { std::puts("misaligned"); return 1; }
		delete[] w;
		int *a = new int[i * 100 + 1];
		a[i * 100] = i;
		sum += a[i * 100];
		delete[] a;
	}
	for (auto &kv : m) sum += kv.second.size();
	std::printf("%lu %zu\n", sum, m.size());
	return 0;
}
CXX
	g++ -O1 -o "$ALLOC_TMP/cxx" "$ALLOC_TMP/cxx.cc"
	cd "$ALLOC_TMP"
	alloc_same_output cxx ./cxx
	local stats
	stats=$(MCMALLOC_STATS=1 LD_PRELOAD=$ALLOC_LIB ./cxx 2>&1 >/dev/null)
	local n
	n=$(printf '%s\n' "$stats" | sed -n 's/^ *small mallocs *//p')
	[ -n "$n" ] && [ "$n" -ge 200000 ] || fail "operator new did not reach mcmalloc (small mallocs: '$n')"
}

require_tool_t() { command -v "$1" >/dev/null || skip "requires $1"; }

ktap_run contract_preloaded t_contract
ktap_run refuses_without_preload t_refuses_without_preload
ktap_run mapped_in_process t_mapped_in_process
ktap_run cxx_new_delete t_cxx_new_delete
ktap_finish
