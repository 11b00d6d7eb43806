#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A/B of allocator builds on one workload: N runs of `workloads W T` under each library
# (or "glibc" for none), the order reversed every other run; prints each one's median
# CPU time and all the runs. For comparing two versions of libmcmalloc side by side
# (docs/benchmarks/alloc.md). Run under the benchmark lock:
#   bench/tools/alone bench/alloc/ab.sh 21 large 2 glibc old.so new.so
set -euo pipefail
: "${MC_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MC_BUILD:=$MC_SRC/build}"
[ $# -ge 4 ] || { echo "usage: ab.sh RUNS WORKLOAD THREADS LIB|glibc..." >&2; exit 2; }
n=$1 w=$2 t=$3
shift 3
out=$MC_BUILD/bench/alloc
mkdir -p "$out"
cc -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread -o "$out/workloads" \
	"$MC_SRC/bench/alloc/workloads.c"
declare -A runs
for i in $(seq "$n"); do
	libs="$*"
	[ $((i % 2)) = 1 ] || libs=$(echo "$*" | tr ' ' '\n' | tac | tr '\n' ' ')
	for l in $libs; do
		pre=$l
		[ "$l" = glibc ] && pre=
		line=$(LD_PRELOAD=$pre "$out/workloads" "$w" "$t")
		runs[$l]="${runs[$l]:-} $(echo "$line" | awk '{print $4}')"
	done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for l in "$@"; do
	med=$(echo ${runs[$l]} | tr ' ' '\n' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
	echo "$l: median $med s (n=$n):${runs[$l]}"
done
