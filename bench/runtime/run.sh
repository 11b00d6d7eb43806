#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/runtime/run.sh: container start-to-exit of /bin/true, `mycontainer run --rm`
# against Debian's `crun run` on the same busybox rootfs, side by side with hyperfine,
# with and without a network namespace. Results (markdown and JSON per round, and a
# summary of medians over all rounds) go to $OUT (default $MC_BUILD/bench-runtime).
#
# Comparable conditions, both runtimes:
#   - one private mount namespace; /sys/fs/cgroup/unified/cgroup.controllers reads
#     empty there (crun 1.8 refuses this hybrid host otherwise);
#   - state roots (mycontainer --root, crun --root) on one tmpfs, as /run is on a
#     standard host (here /run is on the ext4 root disk); the container layers of
#     mycontainer stay on disk (DATA_ROOT under /tmp, ext4);
#   - the same rootfs, the default namespaces (or no netns in the second case), each
#     runtime's default cgroup, capabilities, seccomp, masked paths;
#   - ROUNDS rounds of RUNS runs each, the order of the two commands alternating per
#     round so that a change of the machine's load favours neither; the medians are
#     over all runs of all rounds.
# Two timings of each case: back to back (hyperfine's default: the next run starts as
# soon as the previous one exited), and "cold", with a 200 ms pause before every run
# (--prepare 'sleep 0.2'): a cgroup v1 attach by pid (crun's) waits for an RCU grace
# period (8-16 ms here) unless another migration came within the last ~10-20 ms,
# which back to back runs can inherit from their predecessor and cold runs never do
# (mycontainer's child joins its cgroup itself, which takes no such lock).
# Then the same four cases paired and interleaved run by run (mc-rt-paired, built from
# bench/runtime/paired.c): PAIRS pairs, the order swapped every pair, each run timed
# with CLOCK_MONOTONIC (back to back: each timed run right after an untimed run of
# the same command, so that neither inherits the other's leftovers; cold: 200 ms
# before every timed run); it prints both medians, the median of the per-pair ratios
# (mycontainer / crun) and a rank-based 95 % interval for it. MODE=hyperfine or
# MODE=paired runs only one of the two (default: both).
set -euo pipefail
: "${MC_BUILD:?run through make bench B=runtime}"
M=$MC_BUILD/bin/mycontainer
P=$MC_BUILD/bin/mc-rt-paired
RUNS=${RUNS:-15}
PAIRS=${PAIRS:-40}
MODE=${MODE:-both}
ROUNDS=${ROUNDS:-4}
OUT=${OUT:-$MC_BUILD/bench-runtime}
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
for t in hyperfine crun jq; do
	command -v $t >/dev/null || { echo "bench: needs $t" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/mc-bench.XXXXXX)
chmod 0755 "$tmp"
export MC_DATA_ROOT=$tmp/lib
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$OUT" "$tmp/state"
"$M" image build busybox >/dev/null
rootfs=$("$M" image path busybox)

# crun bundles on the same rootfs: with the default namespaces, and without netns.
mkbundle() { # DIR JQ-FILTER
	mkdir -p "$1"
	(cd "$1" && crun spec)
	jq --arg r "$rootfs" "$2"' | .process.terminal = false | .process.args = ["/bin/true"]
		| .root.path = $r | .root.readonly = true' "$1/config.json" >"$1/c"
	mv "$1/c" "$1/config.json"
}
mkbundle "$tmp/crun-net" '.'
mkbundle "$tmp/crun-nonet" '.linux.namespaces |= map(select(.type != "network"))'
# The image build just wrote the rootfs and the object store: flush it now, not
# during the first round (its writeback slowed down whichever runtime came first).
sync

echo "# runtime benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uname -r)," \
	"load $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds x $RUNS runs"
export M P tmp RUNS ROUNDS OUT PAIRS MODE
unshare -m bash -c '
	set -e
	if [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then
		mount --bind /dev/null /sys/fs/cgroup/unified/cgroup.controllers
	fi
	mount -t tmpfs -o mode=0711 mc-bench-state "$tmp/state"
	export MC_ROOT=$tmp/state/mycontainer
	mc_net="$M run --rm busybox /bin/true"
	crun_net="crun --root $tmp/state/crun run -b $tmp/crun-net bench-net"
	mc_nonet="$M run --rm --network host busybox /bin/true"
	crun_nonet="crun --root $tmp/state/crun run -b $tmp/crun-nonet bench-nonet"
	[ "$MODE" != paired ] || ROUNDS=0
	for r in $(seq "$ROUNDS"); do
		for c in netns nonetns cold-netns cold-nonetns; do
			case $c in
			nonetns | cold-nonetns) a=$mc_nonet b=$crun_nonet ;;
			*) a=$mc_net b=$crun_net ;;
			esac
			if [ $((r % 2)) = 1 ]; then
				set -- -n mycontainer "$a" -n crun "$b"
			else
				set -- -n crun "$b" -n mycontainer "$a"
			fi
			case $c in cold-*) set -- --prepare "sleep 0.2" "$@" ;; esac
			hyperfine -N --warmup 2 --runs "$RUNS" --style none \
				--export-json "$OUT/$c.$r.json" --export-markdown "$OUT/$c.$r.md" "$@" >/dev/null
		done
	done
	[ "$MODE" != hyperfine ] || exit 0
	echo "# paired: A = mycontainer, B = crun, $PAIRS pairs per case, load $(cut -d" " -f1-3 /proc/loadavg)"
	for c in netns nonetns cold-netns cold-nonetns; do
		case $c in
		nonetns | cold-nonetns) a=$mc_nonet b=$crun_nonet ;;
		*) a=$mc_net b=$crun_net ;;
		esac
		# Cold: 200 ms before every timed run. Back to back: each timed run right
		# after an untimed run of the same command (-b), as within a hyperfine block.
		mode=-b
		case $c in cold-*) mode="-s 200" ;; esac
		"$P" -n "$PAIRS" -w 2 $mode -l "paired $c" -o "$OUT/paired-$c.csv" "$a" "$b"
	done
	echo "# paired done, load $(cut -d" " -f1-3 /proc/loadavg)"
'
[ "$MODE" != paired ] || exit 0
# Medians over every run of every round, per case and tool.
for c in netns nonetns cold-netns cold-nonetns; do
	jq -s -r --arg c "$c" '
		def med: sort | if length % 2 == 1 then .[length / 2 | floor]
			else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		[ .[].results[] ] | group_by(.command) | map({ (.[0].command):
			([ .[].times[] ] | { median: (med * 1000), n: length,
			  min: (min * 1000), max: (max * 1000) }) }) | add as $m
		| "\($c): mycontainer median \($m.mycontainer.median | . * 10 | round / 10) ms, " +
		  "crun median \($m.crun.median | . * 10 | round / 10) ms, ratio " +
		  "\(($m.mycontainer.median / $m.crun.median) * 100 | round / 100) " +
		  "(\($m.mycontainer.n) runs each; min \($m.mycontainer.min | round)/" +
		  "\($m.crun.min | round) ms, max \($m.mycontainer.max | round)/\($m.crun.max | round) ms)"
	' "$OUT/$c".*.json
done
