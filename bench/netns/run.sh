#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark netns: bridge TCP throughput (container -> container over a libmcnetns
# bridge) vs loopback, and attach latency, all inside a private network namespace
# (bench/netns/netbench.c; one informational row uses the host's own lo, loopback
# traffic only). When the CLI has --network, also the added start latency of
# `run --network NAME` over `--network none` with hyperfine.
set -euo pipefail
: "${MC_BUILD:?run through make bench B=netns}"
SECS=${NETBENCH_SECS:-2}
ROUNDS=${NETBENCH_ROUNDS:-6}
if [ "${1:-}" != cli-only ]; then
	echo "# netns benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $(uname -r)," \
		"load $(cut -d' ' -f1-3 /proc/loadavg), host default congestion control" \
		"$(cat /proc/sys/net/ipv4/tcp_congestion_control)"
	echo "## bridge network with the default MTU (1500)"
	"$MC_BUILD/bin/netbench" "$SECS" "$ROUNDS" 50
	echo "## bridge network created with --mtu 65535"
	"$MC_BUILD/bin/netbench" "$SECS" 4 1 65535
	# Not the peer as users run it, like for like: our containers' on-link route gets
	# CUBIC when the default is BBR (netns/attach.c); here lo's local routes get it
	# too, by hand, in the private namespace only.
	echo "## default MTU, loopback's local routes also given congctl cubic by hand (not the default)"
	NETBENCH_SETUP_CMD='for d in 127.0.0.0/8 127.0.0.1; do ip route replace local $d dev lo proto kernel scope host src 127.0.0.1 table local congctl cubic || exit 1; done' \
		"$MC_BUILD/bin/netbench" "$SECS" 4 1
	# Not the peer as users run it: lo given BIG TCP by hand (like our veths), to show
	# how much of the ratio is BIG TCP. Private namespace: the host's lo is untouched.
	echo "## default MTU, loopback also with a 512 KiB GSO limit (set by hand; not the default)"
	"$MC_BUILD/bin/netbench" "$SECS" 4 1 0 524280
	# The "loopback on the host": the host's own lo (loopback traffic only),
	# for comparison; the private namespace's lo above stays the reference.
	echo "## default MTU, loopback over the host's own lo (information; not the reference)"
	NETBENCH_HOST_LO=1 "$MC_BUILD/bin/netbench" "$SECS" 4 1
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
