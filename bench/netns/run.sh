#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark netns: bridge TCP throughput (container -> container over a libmcnetns
# bridge) vs loopback, and attach latency, all inside a private network namespace
# (bench/netns/netbench.c). When the CLI has --network, also the added start
# latency of `run --network NAME` over `--network none` with hyperfine.
set -euo pipefail
: "${MC_BUILD:?run through make bench B=netns}"
SECS=${NETBENCH_SECS:-3}
ROUNDS=${NETBENCH_ROUNDS:-3}
if [ "${1:-}" != cli-only ]; then
	echo "# netns benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $(uname -r)"
	"$MC_BUILD/bin/netbench" "$SECS" "$ROUNDS" 50
fi

# The CLI part runs in a private netns too: re-exec under unshare -n.
if [ -z "${MC_NETBENCH_INNER:-}" ]; then
	MC_NETBENCH_INNER=1 exec unshare -n bash "$0" cli-only
fi

MC=$MC_BIN/mycontainer
if [ -x "$MC" ] && "$MC" run --help 2>&1 | grep -q -- '--network NAME' && command -v hyperfine >/dev/null; then
	root=$(mktemp -d /tmp/mc-netbench-cli.XXXXXX)
	trap 'rm -rf "$root"' EXIT
	flags=(--root "$root/run" --data-root "$root/data")
	ip link set lo up
	"$MC" "${flags[@]}" image build busybox >/dev/null
	"$MC" "${flags[@]}" network create benchnet --subnet 10.98.0.0/24 >/dev/null
	hyperfine -N --warmup 3 --runs 30 \
		"$MC ${flags[*]} run --rm --network none busybox true" \
		"$MC ${flags[*]} run --rm --network benchnet busybox true"
else
	echo "# mycontainer run --network NAME not available: start-latency part skipped"
fi
