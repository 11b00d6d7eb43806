#!/bin/bash
# SPDX-License-Identifier: MIT
# Lox benchmark: the programs of lox-tests/test/benchmark/, each run LOX_BENCH_RUNS
# times (default 5; zoo_batch 3 times, it runs a fixed 10 s) with its output checked.
# Reports the median CPU time (user+sys) and the ratios to the reference figures of
# clox and jlox in lox-tests/REFERENCE-TIMES.md (neither is packaged, so the published
# CPU times of the same programs on this class of machine are the peers).
# Writes a markdown table to stdout and to $LOX_BENCH_OUT (default $MC_BUILD/bench-lox.md).
set -euo pipefail

: "${MC_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MC_BUILD:=$MC_SRC/build}"
LOX=${LOX:-$MC_BUILD/bin/lox}
SHARED=${LOX_TESTS_DIR:-$MC_SRC/../shared/lox-tests}
RUNS=${LOX_BENCH_RUNS:-5}
OUT=${LOX_BENCH_OUT:-$MC_BUILD/bench-lox.md}
. "$MC_SRC/bench/lox/expect.sh"

[ -x "$LOX" ] || { echo "bench/lox: $LOX not built" >&2; exit 1; }
[ -d "$SHARED/test/benchmark" ] || { echo "bench/lox: no $SHARED/test/benchmark" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench/lox: python3 required" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# cpu_run OUTFILE CMD...: runs CMD with stdout to OUTFILE; prints its CPU seconds.
cpu_run() {
	python3 - "$@" <<'PY'
import resource, subprocess, sys
out = sys.argv[1]
before = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as f:
    rc = subprocess.run(sys.argv[2:], stdout=f, stderr=subprocess.DEVNULL).returncode
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print("%.3f" % cpu)
sys.exit(rc)
PY
}

# ref NAME COLUMN: the reference figure (2 = clox, 3 = jlox) or empty.
ref() {
	awk -F'|' -v n="$1" -v c="$2" '$2 ~ "^ *"n" *$" || $2 ~ "^ *"n" \\(" {
		v = $(c + 1); gsub(/ /, "", v); if (v ~ /^[0-9.]+$/) print v }' \
		"$SHARED/REFERENCE-TIMES.md"
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
spread() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }

{
	echo "| benchmark | lox CPU s (median of $RUNS) | range | clox CPU s | jlox CPU s | lox / clox | jlox / lox |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
} >"$tmp/table"

for b in $LOX_BENCHMARKS; do
	[ "$b" = zoo_batch ] && continue
	: >"$tmp/times"
	for ((i = 0; i < RUNS; i++)); do
		if ! t=$(cpu_run "$tmp/$b.out" "$LOX" "$SHARED/test/benchmark/$b.lox"); then
			echo "bench/lox: $b failed" >&2
			exit 1
		fi
		lox_bench_check "$b" "$tmp/$b.out" >&2 || exit 1
		echo "$t" >>"$tmp/times"
	done
	med=$(median <"$tmp/times")
	clox=$(ref "$b" 2)
	jlox=$(ref "$b" 3)
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$b" "$med" "$(spread <"$tmp/times")" \
		"${clox:-n/a}" "${jlox:-n/a}" "$(ratio "$med" "$clox")" "$(ratio "$jlox" "$med")" \
		>>"$tmp/table"
	echo "bench/lox: $b median ${med}s" >&2
done

# zoo_batch counts batches done in 10 s of CPU: higher is better.
: >"$tmp/batches"
zruns=$((RUNS < 3 ? RUNS : 3))
for ((i = 0; i < zruns; i++)); do
	cpu_run "$tmp/zoo_batch.out" "$LOX" "$SHARED/test/benchmark/zoo_batch.lox" >/dev/null
	lox_bench_check zoo_batch "$tmp/zoo_batch.out" >&2 || exit 1
	sed -n 2p "$tmp/zoo_batch.out" >>"$tmp/batches"
done
zmed=$(median <"$tmp/batches")
zclox=$(awk -F'|' '$2 ~ /zoo_batch/ { v = $3; gsub(/ /, "", v); print v }' "$SHARED/REFERENCE-TIMES.md")
zjlox=$(awk -F'|' '$2 ~ /zoo_batch/ { v = $4; gsub(/ /, "", v); print v }' "$SHARED/REFERENCE-TIMES.md")
printf '| zoo_batch (batches in 10 s, median of %d; ratios: higher is better for lox) | %s | %s | %s | %s | %s | %s |\n' \
	"$zruns" "$zmed" "$(spread <"$tmp/batches")" "$zclox" "$zjlox" "$(ratio "$zmed" "$zclox")" \
	"$(ratio "$zmed" "$zjlox")" >>"$tmp/table"

{
	echo "Lox benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
	echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	cat "$tmp/table"
} | tee "$OUT"
