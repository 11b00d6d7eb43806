#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/runtime/run.sh: container start-to-exit of /bin/true, `mycontainer run --rm`
# against Debian's `crun run` on the same busybox rootfs, side by side in one
# hyperfine run, with and without a network namespace. Results (markdown tables) go
# to $OUT (default docs/benchmarks/runtime.md's raw directory: $MC_BUILD/bench-runtime).
set -euo pipefail
: "${MC_BUILD:?run through make bench B=runtime}"
M=$MC_BUILD/bin/mycontainer
RUNS=${RUNS:-40}
OUT=${OUT:-$MC_BUILD/bench-runtime}
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
for t in hyperfine crun jq; do
	command -v $t >/dev/null || { echo "bench: needs $t" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/mc-bench.XXXXXX)
chmod 0755 "$tmp"
export MC_ROOT=$tmp/run MC_DATA_ROOT=$tmp/lib
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$OUT"
"$M" image build busybox >/dev/null
rootfs=$MC_DATA_ROOT/images/busybox/rootfs

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

# crun refuses this hybrid host because the empty cgroup2 mount lists hugetlb in
# cgroup.controllers; both runtimes run in one private mount namespace where that
# file reads empty, so they see the same machine.
export M tmp RUNS OUT
unshare -m bash -c '
	set -e
	if [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then
		mount --bind /dev/null /sys/fs/cgroup/unified/cgroup.controllers
	fi
	hyperfine -N --warmup 3 --runs "$RUNS" --export-markdown "$OUT/netns.md" \
		--export-json "$OUT/netns.json" \
		-n "mycontainer run --rm (netns)" "$M run --rm busybox /bin/true" \
		-n "crun run (netns)" "crun --root $tmp/crun-state run -b $tmp/crun-net bench-net"
	hyperfine -N --warmup 3 --runs "$RUNS" --export-markdown "$OUT/nonetns.md" \
		--export-json "$OUT/nonetns.json" \
		-n "mycontainer run --rm --network host" "$M run --rm --network host busybox /bin/true" \
		-n "crun run (no netns)" "crun --root $tmp/crun-state run -b $tmp/crun-nonet bench-nonet"
'
for f in netns nonetns; do
	jq -r '.results as $r | "\($f): mycontainer median \($r[0].median*1000|floor) ms, crun median \($r[1].median*1000|floor) ms, ratio \(($r[0].median/$r[1].median)*100|floor/100)"' \
		--arg f "$f" "$OUT/$f.json"
done
