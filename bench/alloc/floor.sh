#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The floor of the `large` workload (WORKLOAD=scratch: of `scratch`): glibc, libmcmalloc and bench/alloc/floor.c (a "free
# does nothing" pseudo-allocator, with and without one uncontended lock per free)
# side by side, alternating within each round, REPS rounds per thread count; prints
# median CPU time, ratio to glibc and page faults. Not part of `make bench`: it only
# explains one row of it (docs/benchmarks/alloc.md). Run under the benchmark lock:
#   flock /tmp/mc-bench.lock env MC_BUILD=$PWD/build-x bench/alloc/floor.sh
set -euo pipefail
: "${MC_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MC_BUILD:=$MC_SRC/build}"
REPS=${REPS:-11}
THREADS=${THREADS:-"1 2 8"}
WORKLOAD=${WORKLOAD:-large}
out=$MC_BUILD/bench/alloc
mkdir -p "$out"
[ -r "$MC_BUILD/lib/libmcmalloc.so" ] || { echo "floor.sh: missing $MC_BUILD/lib/libmcmalloc.so" >&2; exit 1; }
cc -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread -o "$out/workloads" \
	"$MC_SRC/bench/alloc/workloads.c"
cc -O2 -Wall -Wextra -Werror -shared -fPIC -fno-builtin -o "$out/floor.so" "$MC_SRC/bench/alloc/floor.c"
cc -O2 -Wall -Wextra -Werror -shared -fPIC -fno-builtin -DFLOOR_LOCK -o "$out/floorlock.so" \
	"$MC_SRC/bench/alloc/floor.c"
declare -A PRE=([glibc]="" [mcmalloc]=$MC_BUILD/lib/libmcmalloc.so [floor]=$out/floor.so
	[floor+lock]=$out/floorlock.so)
ALLOCS="glibc mcmalloc floor floor+lock"
raw=$out/floor-raw.txt
: >"$raw"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for t in $THREADS; do
	for r in $(seq "$REPS"); do
		# Alternate the order from round to round.
		list=$ALLOCS
		[ $((r % 2)) = 0 ] && list=$(echo "$ALLOCS" | tr ' ' '\n' | tac | tr '\n' ' ')
		for a in $list; do
			f=$out/floor-time.txt
			line=$(LD_PRELOAD=${PRE[$a]} /usr/bin/time -f %R -o "$f" "$out/workloads" "$WORKLOAD" "$t")
			echo "$a $line $(tail -1 "$f")" >>"$raw"
		done
	done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v allocs="$ALLOCS" -v reps="$REPS" '
function median(s,    v, n, i, j, x) {
	n = split(s, v, " ")
	for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] + 0 > x + 0; j--) v[j + 1] = v[j]; v[j + 1] = x }
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{ k = $1 SUBSEP $3; cpu[k] = cpu[k] " " $5; flt[k] = flt[k] " " $NF; if ($8 != "ok") bad = 1; ts[$3] = 1 }
END {
	printf "| threads | allocator | cpu ms (median of %d) | / glibc | page faults |\n|---|---|---|---|---|\n", reps
	n = split(allocs, A, " ")
	for (t = 1; t <= 64; t++) {
		if (!(t in ts)) continue
		g = median(cpu["glibc" SUBSEP t])
		for (i = 1; i <= n; i++) {
			m = median(cpu[A[i] SUBSEP t])
			printf "| %d | %s | %.2f | %.3f | %d |\n", t, A[i], m * 1000, m / g, median(flt[A[i] SUBSEP t])
		}
	}
	if (bad) print "a check FAILED"
}' "$raw"
