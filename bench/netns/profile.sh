#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Profiles the two transfers of netbench one at a time, system-wide with kernel
# symbols (perf record -e cpu-clock -a -g), and prints, per path, the CPU time per GB
# moved of the top functions (self time) and of the whole machine.
#   usage: MC_BUILD=build-x bench/netns/profile.sh [SECONDS] [OUTDIR] [NETWORK_MTU]
# Run it alone (its figures are only meaningful on a quiet machine); not part of
# make bench. NETBENCH_HOST_LO=1 profiles the host's lo instead of the private one's;
# PATHS="br" profiles one path only.
set -euo pipefail
: "${MC_BUILD:?set MC_BUILD to the build directory}"
SECS=${1:-3}
OUT=${2:-$(mktemp -d /tmp/mc-netprof.XXXXXX)}
MTU=${3:-0}
FREQ=4000
TOP=${TOP:-25}
mkdir -p "$OUT"
for path in ${PATHS:-lo br}; do
	NETBENCH_ONLY=$path perf record -q -F $FREQ -e cpu-clock -a -g -o "$OUT/$path.data" -- \
		"$MC_BUILD/bin/netbench" "$SECS" 1 1 "$MTU" >"$OUT/$path.out" 2>"$OUT/$path.err"
	col=3
	[ $path = lo ] && col=2
	gbit=$(awk -F'|' -v c=$((col + 1)) '$2 ~ /^ 1 $/ { gsub(/ /, "", $c); print $c }' "$OUT/$path.out")
	gb=$(awk -v g="$gbit" -v s="$SECS" 'BEGIN { printf "%.3f", g * s / 8 }')
	total=$(perf report -i "$OUT/$path.data" --stdio -n --no-children --sort comm -g none 2>/dev/null |
		awk '$1 ~ /%$/ { n += $2 } END { print n }')
	echo "## $path: $gbit Gbit/s, $gb GB in ${SECS} s; $total samples at $FREQ Hz on all CPUs" \
		"= $(awk -v t="$total" -v g="$gb" -v f=$FREQ 'BEGIN { printf "%.1f", t / f * 1000 / g }') CPU ms per GB"
	echo "### per command (CPU ms per GB)"
	# (head on a file: a pipe cut short by head would fail the script under pipefail)
	perf report -i "$OUT/$path.data" --stdio -n --no-children --sort comm -g none 2>/dev/null |
		awk -v g="$gb" -v f=$FREQ '$1 ~ /%$/ { printf "%-8s %8.1f  %s\n", $1, $2 / f * 1000 / g, $3 }' \
		>"$OUT/$path.comm"
	head -8 "$OUT/$path.comm"
	echo "### top $TOP functions, self time (CPU ms per GB)"
	perf report -i "$OUT/$path.data" --stdio -n --no-children --sort sym -g none 2>/dev/null |
		awk -v g="$gb" -v f=$FREQ '$1 ~ /%$/ { $2 = sprintf("%8.1f", $2 / f * 1000 / g); print }' \
		>"$OUT/$path.sym"
	head -"$TOP" "$OUT/$path.sym"
done
echo "# perf data in $OUT"
