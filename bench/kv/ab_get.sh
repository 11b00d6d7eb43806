#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/kv/ab_get.sh: GET-only side-by-side rounds of two kv-server binaries (or two
# settings of one) and redis-server, for changes to the serving path. Each round runs
# every case against every server, the server order rotated run by run; per run it
# prints req/s, the server's context switches and CPU ticks, and the client's CPU
# seconds (the client, redis-benchmark, holds one of the two cores and is the
# bottleneck). Not part of `make bench`: run it by hand under the bench lock, e.g.
#   bench/tools/alone bench/kv/ab_get.sh OLD_BIN NEW_BIN [ROUNDS]
# Env: AB_ARGS_A / AB_ARGS_B: extra kv-server flags for A / B ("--busy-poll 0").
# AB_CASES: which cases (default "k1p16 k1p1 r100kp16 r100kp1 c1p1"; also c4p1, and s1p1: SET -P 1).
set -euo pipefail
A=${1:?old kv-server binary}
B=${2:?new kv-server binary}
ROUNDS=${3:-5}
CASES=${AB_CASES:-k1p16 k1p1 r100kp16 r100kp1 c1p1}
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/kv-ab.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
# shellcheck disable=SC2086
"$A" --port 6491 --dir "$tmp/a" --sync batch ${AB_ARGS_A:-} >/dev/null &
pids+=($!)
pa=$!
# shellcheck disable=SC2086
"$B" --port 6492 --dir "$tmp/b" --sync batch ${AB_ARGS_B:-} >/dev/null &
pids+=($!)
pb=$!
redis-server --port 6493 --dir "$tmp" --save "" --appendonly yes --appendfsync everysec \
	--daemonize no >/dev/null &
pids+=($!)
pr=$!
sleep 1
for port in 6491 6492 6493; do
	redis-benchmark -p $port -t set -r 100000 -n 300000 -c 50 -P 16 -q >/dev/null 2>&1
	redis-benchmark -p $port -t set -n 1000 -c 1 -q >/dev/null 2>&1
done
echo "# ab_get $(date -u +%FT%TZ) A=$A B=$B args A: ${AB_ARGS_A:-} args B: ${AB_ARGS_B:-}"
# ctx: voluntary+involuntary switches of every server thread; ticks: utime+stime.
ctx() { cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}'; }
ticks() { cat /proc/"$1"/task/*/stat | awk '{s += $14 + $15} END {print s}'; }
run() { # name pid port case
	local args t=get
	case $4 in
	k1p16) args="-n 1000000 -c 50 -P 16" ;;
	k1p1) args="-n 100000 -c 50 -P 1" ;;
	r100kp16) args="-r 100000 -n 1000000 -c 50 -P 16" ;;
	r100kp1) args="-r 100000 -n 100000 -c 50 -P 1" ;;
	c1p1) args="-n 30000 -c 1 -P 1" ;;
	c4p1) args="-n 60000 -c 4 -P 1" ;;
	s1p1) t=set args="-n 100000 -c 50 -P 1" ;; # SET: the inline commit path (--sync batch)
	esac
	local c0 t0 c1 t1 out
	c0=$(ctx "$2") t0=$(ticks "$2")
	# shellcheck disable=SC2086
	out=$(/usr/bin/time -f 'cpu %w %U %S' redis-benchmark -p "$3" -t $t $args -q 2>&1 |
		tr '\r' '\n' | grep -E '^((GET|SET): [0-9.]+ requests|cpu)' | tr '\n' ' ')
	c1=$(ctx "$2") t1=$(ticks "$2")
	echo "$4 $1 $(echo "$out" | awk '{print $2, "client_cpu", $(NF-1) + $NF, "client_vcsw", $(NF-2)}') ctx $((c1 - c0)) ticks $((t1 - t0))"
}
servers=("A $pa 6491" "B $pb 6492" "R $pr 6493")
i=0
for round in $(seq "$ROUNDS"); do
	echo "# round $round load $(cut -d' ' -f1-3 /proc/loadavg)"
	for c in $CASES; do
		for k in 0 1 2; do
			# shellcheck disable=SC2086
			run ${servers[$(((i + k) % 3))]} "$c"
		done
		i=$((i + 1))
	done
done
echo "# end load $(cut -d' ' -f1-3 /proc/loadavg)"
