#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli.sh: `mycontainer network` and `run --network/--ip/--network-alias/-p` end to
# end, inside a network namespace this script creates for itself (it re-executes
# under `unshare -n`), with private --root/--data-root directories.
. "$MC_SRC/tests/lib/ktap.sh"
require_root
require_tool unshare
if [ -z "${MC_NETNS_INNER:-}" ]; then
	MC_NETNS_INNER=1 exec unshare -n "$BASH" "$0" "$@"
fi
command -v busybox >/dev/null 2>&1 || [ -x /bin/busybox ] || ktap_skip_all "requires busybox-static (for the image)"

T=$(mktemp -d /tmp/mc-netns-cli.XXXXXX)
MC=("$MC_BIN/mycontainer" --root "$T/run" --data-root "$T/data")
cleanup() {
	local id
	for id in $("${MC[@]}" ps -a -q 2>/dev/null); do "${MC[@]}" rm -f "$id"; done
	rm -rf "$T"
}
ktap_cleanup cleanup
ip link set lo up
"${MC[@]}" image build busybox >/dev/null 2>&1 || ktap_skip_all "cannot build the busybox image"

# veths: host ends of container links on this test's bridge. Only ours: other
# networks on the host (another collection's, another engineer's) have their own
# mcv* links at any time; ours stay enslaved to mc-raftnet until they are deleted.
veths() { ip -o link show master mc-raftnet 2>/dev/null | grep -c ': mcv' || true; }

# eventually CMD...: retries CMD for up to 5 s. A foreground `run --rm` reports the
# exit status before its background cleaner has detached it from the network.
eventually() {
	local i
	for i in $(seq 50); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@"
}

# fetch PORT: the body served on 127.0.0.1:PORT (retried while the server starts).
fetch() {
	local i body=""
	for i in $(seq 50); do
		body=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; printf 'GET / HTTP/1.0\r\n\r\n' >&3; cat <&3" 2>/dev/null) && [ -n "$body" ] && break
		sleep 0.1
	done
	echo "$body"
}

# the id of a container by name
cid() { "${MC[@]}" inspect "$1" | sed -n 's/.*"Id": "\([0-9a-f]*\)".*/\1/p' | head -1; }

t_network_verbs() {
	assert_eq raftnet "$("${MC[@]}" network create raftnet --subnet 10.88.1.0/24)"
	assert_contains "$("${MC[@]}" network ls)" "raftnet              mc-raftnet      10.88.1.0/24"
	assert_contains "$("${MC[@]}" network inspect raftnet)" '"Gateway": "10.88.1.1"'
	local out
	out=$("${MC[@]}" network create other --subnet 10.88.1.128/25 2>&1) && return 1
	assert_eq "mycontainer: subnet 10.88.1.128/25 overlaps network \`raftnet\` (10.88.1.0/24)" "$out"
	out=$("${MC[@]}" network create raftnet 2>&1) && return 1
	assert_eq "mycontainer: network \`raftnet\` already exists" "$out"
	out=$("${MC[@]}" run --rm --network nosuch busybox true 2>&1) && return 1
	assert_contains "$out" "network \`nosuch\` not found"
	assert_eq 1 "$(echo "$out" | wc -l)"
	out=$("${MC[@]}" run --rm --network raftnet --ip 10.99.0.5 busybox true 2>&1) && return 1
	assert_contains "$out" "outside subnet 10.88.1.0/24"
	out=$("${MC[@]}" run --rm -p 80 --network raftnet busybox true 2>&1) && return 1
	assert_contains "$out" "invalid port spec"
	out=$("${MC[@]}" run --rm -p 8080:80 busybox true 2>&1) && return 1
	assert_contains "$out" "need --network NAME"
	assert_eq 0 "$(veths)"
	assert_eq "" "$(ls "$T/data/networks/hosts")"
}

t_resolve_by_name() {
	"${MC[@]}" run -d --name raft1 --network raftnet busybox sleep 1000 >/dev/null
	local out
	out=$("${MC[@]}" run --rm --network raftnet --network-alias client busybox \
		sh -c 'cat /etc/hosts; ping -c1 -W2 raft1 >/dev/null && echo PING-OK')
	assert_contains "$out" "10.88.1.2	raft1"
	assert_contains "$out" "client"
	assert_contains "$out" "PING-OK"
	# The --rm container left: only raft1 remains attached.
	eventually bash -c '"$@" network ls | grep -q "10.88.1.1       1"' _ "${MC[@]}"
	assert_contains "$("${MC[@]}" network ls)" "10.88.1.1       1"
	out=$("${MC[@]}" network rm raftnet 2>&1) && return 1
	assert_contains "$out" "has 1 attached container"
}

t_publish_port() {
	"${MC[@]}" run -d --name web -p 8080:80 --network raftnet busybox \
		sh -c 'printf "HTTP/1.0 200 OK\r\n\r\nhello web" >/i; while true; do nc -l -p 80 </i; done' >/dev/null
	local i body=""
	for i in $(seq 50); do
		body=$(timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080; printf "GET / HTTP/1.0\r\n\r\n" >&3; cat <&3' 2>/dev/null) && [ -n "$body" ] && break
		sleep 0.1
	done
	assert_contains "$body" "hello web"
	"${MC[@]}" rm -f web >/dev/null
	if timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' 2>/dev/null; then return 1; fi
	assert_eq "" "$(nft list ruleset | grep ctr: || true)"
}

t_none_and_host() {
	assert_eq "lo" "$("${MC[@]}" run --rm busybox sh -c 'ls /sys/class/net')"
	assert_contains "$("${MC[@]}" run --rm --network host busybox sh -c 'ls /sys/class/net')" "mc-raftnet"
}

# --mtu sets the bridge, the host veth and the container's eth0.
t_network_mtu() {
	local out
	out=$("${MC[@]}" network create bad --mtu 100 2>&1) && return 1
	assert_eq "mycontainer network create: invalid --mtu \`100\`: want 576..65535" "$(echo "$out" | head -1)"
	assert_eq "" "$("${MC[@]}" network ls | grep '^bad ' || true)"
	"${MC[@]}" network create jumbo --subnet 10.88.9.0/24 --mtu 9000 >/dev/null
	assert_contains "$("${MC[@]}" network inspect jumbo)" '"MTU": 9000'
	out=$("${MC[@]}" run --rm --network jumbo busybox cat /sys/class/net/eth0/mtu)
	assert_eq 9000 "$out"
	eventually bash -c '"$@" network rm jumbo' _ "${MC[@]}"
}

# `start` of a stopped container rejoins with the options of its `run`.
t_start_keeps_network_options() {
	"${MC[@]}" run -d --name keep --network raftnet --ip 10.88.1.50 --network-alias kalias \
		--hostname khost -p 8081:80 busybox \
		sh -c 'printf "HTTP/1.0 200 OK\r\n\r\nkept" >/i; while true; do nc -l -p 80 </i; done' >/dev/null
	assert_contains "$(fetch 8081)" "kept"
	"${MC[@]}" stop -t 1 keep >/dev/null
	assert_eq "" "$(nft list ruleset | grep "ctr:$(cid keep)" || true)"
	"${MC[@]}" start keep >/dev/null
	local inspect hosts
	inspect=$("${MC[@]}" network inspect raftnet)
	assert_contains "$inspect" '"IPv4": "10.88.1.50"'
	hosts=$("${MC[@]}" exec keep cat /etc/hosts)
	assert_contains "$hosts" "10.88.1.50	keep kalias khost"
	assert_contains "$(fetch 8081)" "kept"
	"${MC[@]}" rm -f keep >/dev/null
}

# The runtime's monitor killed -9 (the container keeps running): rm -f still
# releases everything: veth, address, DNAT rules, hosts entries, cgroup, layers, state.
t_kill9_monitor_then_rm_f() {
	local id mon before_veths
	before_veths=$(veths)
	"${MC[@]}" run -d --name mon --network raftnet -p 8082:80 --network-alias malias busybox \
		sh -c 'printf "HTTP/1.0 200 OK\r\n\r\nmon" >/i; while true; do nc -l -p 80 </i; done' >/dev/null
	id=$(cid mon)
	mon=$(jq -r .monitor_pid "$T/run/$id/state.json")
	[ -n "$mon" ] && [ "$mon" -gt 0 ] || return 1
	assert_contains "$(fetch 8082)" "mon"
	kill -9 "$mon"
	for _ in $(seq 50); do kill -0 "$mon" 2>/dev/null || break; sleep 0.1; done
	# The container outlives its monitor and is still listed as running.
	assert_contains "$("${MC[@]}" ps)" "mon"
	assert_contains "$("${MC[@]}" exec raft1 cat /etc/hosts)" "malias"
	"${MC[@]}" rm -f mon >/dev/null
	assert_eq "$before_veths" "$(veths)"
	assert_eq "" "$("${MC[@]}" network inspect raftnet | grep '"mon"' || true)"
	assert_eq "" "$(nft list ruleset | grep "ctr:$id" || true)"
	assert_eq "" "$("${MC[@]}" exec raft1 cat /etc/hosts | grep malias || true)"
	assert_eq "" "$(ls -d /sys/fs/cgroup/*/mycontainer/"$id" /sys/fs/cgroup/mycontainer/"$id" 2>/dev/null || true)"
	[ ! -e "$T/data/containers/$id" ] || return 1
	[ ! -e "$T/run/$id" ] || return 1
	assert_eq 1 "$(ls "$T/data/networks/hosts" | wc -l)"
	if timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8082' 2>/dev/null; then return 1; fi
}

t_kill9_then_rm_f() {
	local pid
	pid=$("${MC[@]}" inspect raft1 | sed -n 's/.*"Pid": \([0-9]*\).*/\1/p')
	[ -n "$pid" ] && [ "$pid" -gt 0 ]
	kill -9 "$pid"
	"${MC[@]}" rm -f raft1 >/dev/null
	assert_eq 0 "$(veths)"
	assert_contains "$("${MC[@]}" network ls)" "10.88.1.1       0"
	assert_eq "" "$(ls "$T/data/networks/hosts")"
	assert_eq raftnet "$("${MC[@]}" network rm raftnet)"
	assert_eq "" "$(ip -o link show | grep mc-raftnet || true)"
}

ktap_run network_verbs_and_bad_input t_network_verbs
ktap_run resolve_by_name_over_bridge t_resolve_by_name
ktap_run published_port_reachable t_publish_port
ktap_run network_none_and_host t_none_and_host
ktap_run network_mtu t_network_mtu
ktap_run start_keeps_network_options t_start_keeps_network_options
ktap_run kill9_monitor_then_rm_f_leaves_nothing t_kill9_monitor_then_rm_f
ktap_run kill9_then_rm_f_leaves_nothing t_kill9_then_rm_f
ktap_finish
