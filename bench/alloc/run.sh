#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Allocator benchmark: bench/alloc/workloads.c under glibc, jemalloc, mimalloc,
# tcmalloc and libmcmalloc (LD_PRELOAD), at 1, 2 and 8 threads, side by side in one
# run (the allocators alternate within each configuration, REPS times; the median CPU
# time counts). Prints a markdown table of ratios to glibc; with BENCH_OUT=FILE
# also writes it there. Usage: MC_BUILD=... MC_SRC=... bench/alloc/run.sh
set -euo pipefail
: "${MC_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MC_BUILD:=$MC_SRC/build}"
REPS=${REPS:-5}
THREADS=${THREADS:-"1 2 8"}
WORKLOADS=${WORKLOADS:-"larson xmalloc realloc frag large scratch"}
lib=/usr/lib/x86_64-linux-gnu
declare -A PRE=([glibc]="" [jemalloc]=$lib/libjemalloc.so.2 [mimalloc]=$lib/libmimalloc.so.2
	[tcmalloc]=$lib/libtcmalloc_minimal.so.4 [mcmalloc]=$MC_BUILD/lib/libmcmalloc.so)
ALLOCS="glibc jemalloc mimalloc tcmalloc mcmalloc"
for a in $ALLOCS; do
	[ -z "${PRE[$a]}" ] || [ -r "${PRE[$a]}" ] || { echo "bench/alloc: missing ${PRE[$a]} (make deps)" >&2; exit 1; }
done
out=$MC_BUILD/bench/alloc
mkdir -p "$out"
cc -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread -o "$out/workloads" \
	"$MC_SRC/bench/alloc/workloads.c"

raw=$out/raw.txt
: >"$raw"
for w in $WORKLOADS; do
	for t in $THREADS; do
		for r in $(seq "$REPS"); do
			# The order alternates run by run, so no allocator always follows the same one.
			order=$ALLOCS
			[ $((r % 2)) = 1 ] || order=$(echo "$ALLOCS" | tr ' ' '\n' | tac | tr '\n' ' ')
			for a in $order; do
				line=$(LD_PRELOAD=${PRE[$a]} timeout 60 "$out/workloads" "$w" "$t" || true)
				[ -n "$line" ] || line="$w $t 0 0 0 0 CRASH"
				echo "$a $line" >>"$raw"
			done
		done
		echo "bench/alloc: $w x$t done" >&2
	done
done

# Median of REPS per (allocator, workload, threads) for CPU and wall (the highest peak
# RSS); ratios to glibc; geometric means.
awk -v allocs="$ALLOCS" '
function key(a, w, t) { return a SUBSEP w SUBSEP t }
function median(s,    v, n, i, j, x) {
	n = split(s, v, " ")
	for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] + 0 > x + 0; j--) v[j + 1] = v[j]; v[j + 1] = x }
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{
	k = key($1, $2, $3)
	cpus[k] = cpus[k] " " $5; walls[k] = walls[k] " " $4
	if ($6 > peak[k]) peak[k] = $6
	fin[k] = $7
	if (NF >= 10) { kept[k] = $9; live[$2 SUBSEP $3] = $10 }
	if ($8 != "ok") bad[k] = $8
	if (!($2 SUBSEP $3 in seen)) { seen[$2 SUBSEP $3] = 1; order[++n] = $2 SUBSEP $3 }
}
END {
	for (k in cpus) { cpu[k] = median(cpus[k]); wall[k] = median(walls[k]) }
	na = split(allocs, A, " ")
	printf "| workload | threads |"
	for (i = 2; i <= na; i++) printf " %s cpu | wall | peak RSS |", A[i]
	printf " glibc cpu s | glibc peak MiB | checks |\n|---|---|"
	for (i = 2; i <= na; i++) printf "---|---|---|"
	printf "---|---|---|\n"
	for (j = 1; j <= n; j++) {
		split(order[j], wt, SUBSEP)
		g = key("glibc", wt[1], wt[2])
		printf "| %s | %s |", wt[1], wt[2]
		for (i = 2; i <= na; i++) {
			k = key(A[i], wt[1], wt[2])
			rc = cpu[g] > 0 ? cpu[k] / cpu[g] : 0
			rw = wall[g] > 0 ? wall[k] / wall[g] : 0
			rp = peak[g] > 0 ? peak[k] / peak[g] : 0
			printf " %.2f | %.2f | %.2f |", rc, rw, rp
			if (rc > 0) { lc[A[i]] += log(rc); nc[A[i]]++ }
			if (rp > 0) { lp[A[i]] += log(rp) }
		}
		failed = ""
		for (i = 1; i <= na; i++) if (key(A[i], wt[1], wt[2]) in bad) failed = failed A[i] "(" bad[key(A[i], wt[1], wt[2])] ") "
		printf " %.3f | %.1f | %s |\n", cpu[g], peak[g] / 1024, failed == "" ? "all ok" : failed
	}
	printf "\nGeometric mean of CPU time / glibc (lower is better):"
	for (i = 2; i <= na; i++) printf " %s %.2f;", A[i], exp(lc[A[i]] / nc[A[i]])
	printf "\nGeometric mean of peak RSS / glibc:"
	for (i = 2; i <= na; i++) printf " %s %.2f;", A[i], exp(lp[A[i]] / nc[A[i]])
	printf "\n\nFragmentation workload, RSS in MiB by threads: peak; with only the long-lived blocks alive (and that as a ratio to glibc); after freeing everything:\n\n| allocator |"
	for (j = 1; j <= n; j++) { split(order[j], wt, SUBSEP); if (wt[1] == "frag") printf " x%s peak | x%s kept | ratio | x%s final |", wt[2], wt[2], wt[2] }
	printf "\n|---|"
	for (j = 1; j <= n; j++) { split(order[j], wt, SUBSEP); if (wt[1] == "frag") printf "---|---|---|---|" }
	printf "\n"
	for (i = 1; i <= na; i++) {
		printf "| %s |", A[i]
		for (j = 1; j <= n; j++) {
			split(order[j], wt, SUBSEP)
			if (wt[1] != "frag") continue
			k = key(A[i], wt[1], wt[2]); g = key("glibc", wt[1], wt[2])
			printf " %.1f | %.1f | %.2f | %.1f |", peak[k] / 1024, kept[k] / 1024, (kept[g] > 0 ? kept[k] / kept[g] : 0), fin[k] / 1024
		}
		printf "\n"
	}
	printf "| (live data) |"
	for (j = 1; j <= n; j++) { split(order[j], wt, SUBSEP); if (wt[1] == "frag") printf " | %.1f | | |", live[order[j]] / 1024 }
	printf "\n"
}' "$raw" | tee "$out/table.md"
if [ -n "${BENCH_OUT:-}" ]; then cp "$out/table.md" "$BENCH_OUT"; fi
