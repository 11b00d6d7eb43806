#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark netns: bridge TCP throughput (container -> container over a libmcnetns
# bridge) vs loopback, and attach latency, all inside a private network namespace
# (bench/netns/netbench.c). When the CLI has --network, also the added start
# latency of `run --network NAME` over `--network none` with hyperfine.
set -euo pipefail
: "${MC_BUILD:?run through make bench B=netns}"
SECS=${NETBENCH_SECS:-2}
ROUNDS=${NETBENCH_ROUNDS:-6}
if [ "${1:-}" != cli-only ]; then
	echo "# netns benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $(uname -r)"
	echo "## bridge network with the default MTU (1500)"
	"$MC_BUILD/bin/netbench" "$SECS" "$ROUNDS" 50
	echo "## bridge network created with --mtu 65535"
	"$MC_BUILD/bin/netbench" "$SECS" "$ROUNDS" 1 65535
	# Not the peer as users run it: lo given BIG TCP by hand (like our veths), to show
	# how much of the ratio is BIG TCP. Private namespace: the host's lo is untouched.
	echo "## default MTU, loopback also with a 512 KiB GSO limit (set by hand; not the default)"
	"$MC_BUILD/bin/netbench" "$SECS" "$ROUNDS" 1 0 524280
fi

# The CLI part runs in a private netns too: re-exec under unshare -n.
if [ -z "${MC_NETBENCH_INNER:-}" ]; then
	MC_NETBENCH_INNER=1 exec unshare -n bash "$0" cli-only
fi

MC=${MC_BIN:-$MC_BUILD/bin}/mycontainer
if [ -x "$MC" ] && "$MC" run --help 2>&1 | grep -q -- '--network NAME' && command -v hyperfine >/dev/null &&
	command -v jq >/dev/null; then
	root=$(mktemp -d /tmp/mc-netbench-cli.XXXXXX)
	trap 'rm -rf "$root"' EXIT
	flags=(--root "$root/run" --data-root "$root/data")
	ip link set lo up
	"$MC" "${flags[@]}" image build busybox >/dev/null
	"$MC" "${flags[@]}" network create benchnet --subnet 10.98.0.0/24 >/dev/null
	# Rounds alternate the order of the two commands (a load drift favours neither);
	# medians over every run of every round.
	none="$MC ${flags[*]} run --rm --network none busybox true"
	net="$MC ${flags[*]} run --rm --network benchnet busybox true"
	for r in $(seq "${CLI_ROUNDS:-4}"); do
		if [ $((r % 2)) = 1 ]; then set -- -n none "$none" -n bridge "$net"
		else set -- -n bridge "$net" -n none "$none"; fi
		hyperfine -N --warmup 2 --runs "${CLI_RUNS:-10}" --style none \
			--export-json "$root/cli.$r.json" "$@" >/dev/null
	done
	jq -s -r '
		def med: sort | if length % 2 == 1 then .[length / 2 | floor]
			else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		[ .[].results[] ] | group_by(.command) | map({ (.[0].command):
			([ .[].times[] ] | { median: (med * 1000), n: length, min: (min * 1000) }) })
		| add as $m
		| "run --rm busybox true: --network none median \($m.none.median * 10 | round / 10) ms," +
		  " --network benchnet median \($m.bridge.median * 10 | round / 10) ms, added" +
		  " \(($m.bridge.median - $m.none.median) * 10 | round / 10) ms" +
		  " (\($m.none.n) runs each; min \($m.none.min | round)/\($m.bridge.min | round) ms)"
	' "$root"/cli.*.json
else
	echo "# mycontainer run --network NAME not available: start-latency part skipped"
fi
