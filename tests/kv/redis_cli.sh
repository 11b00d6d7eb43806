#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kv-server through the real redis-cli and redis-benchmark: replies as redis gives
# them, pipelining, protocol errors, durability across a restart and a SIGKILL.
. "$MC_SRC/tests/lib/ktap.sh"
require_tool redis-cli redis-benchmark

tmp=$(mktemp -d)
SRV_PID=
ktap_cleanup 'rm -rf "$tmp"'
ktap_cleanup '[ -n "$SRV_PID" ] && kill -9 "$SRV_PID" 2>/dev/null; true'

# start_server DIR [ARGS...]: starts kv-server on a free port; sets PORT and SRV_PID.
start_server() {
	local dir=$1 i
	shift
	# Empty it first: the background shell truncates it only once it runs, and until
	# then the previous server's "listening on" line would give a stale port.
	: >"$tmp/server.out"
	"$MC_BIN/kv-server" --port 0 --dir "$dir" "$@" >"$tmp/server.out" 2>"$tmp/server.err" &
	SRV_PID=$!
	for i in $(seq 1 100); do
		PORT=$(sed -n 's/^kv-server: listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/server.out")
		[ -n "$PORT" ] && return 0
		sleep 0.05
	done
	cat "$tmp/server.err"
	fail "kv-server did not start"
}

stop_server() {
	kill -TERM "$SRV_PID"
	wait "$SRV_PID" || fail "kv-server exited with $?"
	SRV_PID=
}

rc() { redis-cli -p "$PORT" "$@"; }

t_conformance() {
	start_server "$tmp/d1"
	assert_eq "PONG" "$(rc ping)"
	assert_eq "OK" "$(rc set a 1)"
	assert_eq "1" "$(rc get a)"
	assert_eq "2" "$(rc incr a)"
	assert_eq "" "$(rc get missing)"
	assert_eq "OK" "$(rc mset x 1 y 2)"
	assert_eq "$(printf '1\n2\n')" "$(rc mget x y z)"
	assert_eq "2" "$(rc exists x y z)"
	assert_eq "3" "$(rc dbsize)"
	assert_eq "$(printf 'a\nx\ny')" "$(rc --scan | sort)"
	assert_eq "x" "$(rc --scan --pattern 'x*')"
	assert_eq "1" "$(rc del x)"
	assert_eq "0" "$(rc del x)"
	assert_contains "$(rc info)" "db0:keys=2"
	assert_contains "$(rc set s str; rc incr s 2>&1)" "ERR value is not an integer"
	assert_contains "$(rc nosuchcommand 2>&1)" "ERR unknown command"
	assert_contains "$(rc get 2>&1)" "ERR wrong number of arguments for 'get' command"
	# binary-safe values with spaces and newlines, through -x (stdin)
	printf 'line one\nline two' | rc -x set blob >/dev/null
	assert_eq "$(printf 'line one\nline two')" "$(rc --raw get blob)"
	# pipelined input: many commands in one write, replies in order
	local out
	out=$(printf 'SET p1 a\r\nGET p1\r\nINCR n\r\nINCR n\r\nGET n\r\n' | rc --pipe 2>&1)
	assert_contains "$out" "errors: 0, replies: 5"
	assert_eq "2" "$(rc get n)"
	# protocol error: reply and close, as redis does
	out=$(printf '*1\r\n+x\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; cat >&3; cat <&3")
	assert_contains "$out" "-ERR Protocol error"
	assert_eq "PONG" "$(rc ping)"
	stop_server
}

t_benchmark_and_restart() {
	start_server "$tmp/d2"
	local out
	out=$(redis-benchmark -p "$PORT" -t set,get,incr,mset -n 2000 -c 20 -P 4 -q 2>&1)
	assert_contains "$out" "SET:"
	assert_contains "$out" "GET:"
	assert_not_contains "$out" "rror"
	rc set durable yes >/dev/null
	for i in $(seq 1 50); do echo "SET k$i v$i"; done | rc >/dev/null
	stop_server
	start_server "$tmp/d2"
	assert_eq "yes" "$(rc get durable)"
	assert_eq "v37" "$(rc get k37)"
	# every acknowledged write survives SIGKILL of the server
	for i in $(seq 1 200); do echo "SET kill$i v$i"; done | rc >/dev/null
	kill -9 "$SRV_PID"
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=
	start_server "$tmp/d2"
	assert_eq "v200" "$(rc get kill200)"
	assert_eq "v1" "$(rc get kill1)"
	stop_server
}

# INFO's "# Commit" section: the histograms count what the pipelined commit did.
t_commit_info() {
	start_server "$tmp/d3"
	local out n
	for i in $(seq 1 30); do echo "SET c$i v$i"; done | rc >/dev/null
	out=$(rc info | tr -d '\r')
	assert_contains "$out" "# Commit"
	n=$(sed -n 's/^commit_sync_writes:count=[0-9]*,mean=[0-9.]*,.*max=//p' <<<"$out")
	[ "${n:-0}" -ge 1 ] || fail "no write made durable by a sync: $out"
	n=$(sed -n 's/^commit_request_to_reply_us:count=\([0-9]*\),.*/\1/p' <<<"$out")
	assert_eq "30" "$n"
	n=$(sed -n 's/^commit_fdatasync_us:count=\([0-9]*\),.*/\1/p' <<<"$out")
	[ "${n:-0}" -ge 1 ] || fail "no fdatasync counted: $out"
	assert_eq "OK" "$(rc config resetstat)"
	out=$(rc info | tr -d '\r')
	assert_contains "$out" "commit_request_to_reply_us:count=0,"
	assert_contains "$out" "wal_synced_ops:30"
	stop_server
}

# SET EX/PX/NX/XX/KEEPTTL, EXPIRE/PEXPIRE/EXPIREAT/TTL/PTTL/PERSIST as redis-cli shows
# them; expiries survive a restart (WAL replay) and SIGKILL.
# ttl_in CMD KEY LO HI: the key's TTL/PTTL is within [LO, HI] (time passes in between).
ttl_in() {
	local v
	v=$(rc "$1" "$2")
	[ "$v" -ge "$3" ] && [ "$v" -le "$4" ] || fail "$1 $2: $v not in [$3, $4]"
}

t_expiry() {
	start_server "$tmp/d4"
	assert_eq "OK" "$(rc set a 1 EX 100)"
	ttl_in ttl a 90 100
	ttl_in pttl a 90000 100000
	assert_eq "OK" "$(rc set b 2)"
	assert_eq "-1" "$(rc ttl b)"
	assert_eq "-2" "$(rc ttl nokey)"
	assert_eq "0" "$(rc expire nokey 10)"
	assert_eq "1" "$(rc expire b 50)"
	ttl_in ttl b 40 50
	assert_eq "1" "$(rc persist b)"
	assert_eq "0" "$(rc persist b)"
	assert_eq "-1" "$(rc ttl b)"
	assert_eq "OK" "$(rc set c 3 PX 200)"
	assert_eq "3" "$(rc get c)"
	sleep 0.4
	assert_eq "" "$(rc get c)"
	assert_eq "0" "$(rc exists c)"
	assert_eq "-2" "$(rc ttl c)"
	assert_eq "ERR invalid expire time in 'set' command" "$(rc set d 4 EX 0)"
	assert_eq "ERR value is not an integer or out of range" "$(rc set d 4 EX x)"
	assert_eq "ERR syntax error" "$(rc set d 4 EX 10 PX 10)"
	assert_eq "ERR syntax error" "$(rc set d 4 EX)"
	assert_eq "OK" "$(rc set a 5 KEEPTTL)"
	ttl_in ttl a 90 100
	assert_eq "6" "$(rc incr a)"
	ttl_in ttl a 90 100
	assert_eq "OK" "$(rc set e 1 EX 100 NX)"
	assert_eq "" "$(rc set e 1 EX 100 NX)"
	assert_eq "OK" "$(rc set e 7 PX 100000 XX)"
	assert_eq "7" "$(rc get e)"
	assert_eq "1" "$(rc pexpire e 300000)"
	ttl_in ttl e 290 300
	assert_eq "1" "$(rc expireat b 1)"
	assert_eq "" "$(rc get b)"
	assert_eq "1" "$(rc pexpire e -1)"
	assert_eq "0" "$(rc exists e)"
	rc set f 1 EX 1000 >/dev/null
	rc set g 1 PX 300 >/dev/null
	assert_eq "3" "$(rc dbsize)"
	stop_server
	sleep 0.4
	start_server "$tmp/d4"
	ttl_in ttl a 90 100
	assert_eq "6" "$(rc get a)"
	ttl_in ttl f 990 1000
	assert_eq "-2" "$(rc ttl g)"
	rc set h 1 EX 500 >/dev/null
	kill -9 "$SRV_PID"
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=
	start_server "$tmp/d4"
	ttl_in ttl h 490 500
	stop_server
}

# Every commit path: the writer + sync threads (several loops, or always), the loop's
# own commit (one loop; fdatasync inline or as IORING_OP_FSYNC), everysec and none.
# Replies, INCR across connections, the right histograms, and acknowledged writes
# surviving a SIGKILL.
t_commit_modes() {
	local args n out
	for args in "--threads 2" "--threads 2 --sync everysec" "--sync everysec" \
		"--sync always" "--sync none" "--threads 3 --sync batch" "--fdatasync inline" \
		"--fdatasync uring" "--backend epoll" "--busy-poll 0" "--busy-poll 2000"; do
		rm -rf "$tmp/d5"
		# shellcheck disable=SC2086
		start_server "$tmp/d5" $args
		out=$(redis-benchmark -p "$PORT" -t set,incr,get -n 2000 -c 10 -P 4 -q 2>&1)
		assert_contains "$out" "INCR:"
		assert_not_contains "$out" "rror"
		assert_eq "2000" "$(rc get counter:__rand_int__)"
		for i in $(seq 1 100); do echo "SET m$i v$i"; done | rc >/dev/null
		assert_eq "v77" "$(rc get m77)"
		out=$(rc info | tr -d '\r')
		n=$(sed -n 's/^commit_request_to_reply_us:count=\([0-9]*\),.*/\1/p' <<<"$out")
		[ "${n:-0}" -ge 500 ] || fail "$args: $n write requests counted"
		case "$args" in
		--threads*)
			n=$(sed -n 's/^commit_handoff_us:count=\([0-9]*\),.*/\1/p' <<<"$out")
			[ "${n:-0}" -ge 500 ] || fail "$args: $n hand-offs to the writer"
			;;
		esac
		case "$args" in
		*everysec* | *none*) ;;
		*)
			rc set acked yes >/dev/null
			kill -9 "$SRV_PID"
			wait "$SRV_PID" 2>/dev/null || true
			SRV_PID=
			start_server "$tmp/d5" $args
			assert_eq "yes" "$(rc get acked)"
			assert_eq "v100" "$(rc get m100)"
			;;
		esac
		stop_server
	done
}

t_bad_flags() {
	local out
	out=$("$MC_BIN/kv-server" --port 99999 2>&1 || true)
	assert_contains "$out" "kv-server: --port: invalid value \`99999\`"
	assert_status 64 "$MC_BIN/kv-server" --sync sometimes
	assert_status 64 "$MC_BIN/kv-server" --threads 0
	out=$("$MC_BIN/kv-server" --busy-poll 10001 2>&1 || true)
	assert_contains "$out" "kv-server: --busy-poll: invalid value \`10001\`"
	out=$("$MC_BIN/kv-server" --fdatasync later 2>&1 || true)
	assert_contains "$out" "kv-server: --fdatasync: unknown mode \`later\`"
	: >"$tmp/notadir"
	out=$("$MC_BIN/kv-server" --port 0 --dir "$tmp/notadir" 2>&1 || true)
	assert_contains "$out" "kv-server: open database:"
}

ktap_run conformance t_conformance
ktap_run benchmark_and_restart t_benchmark_and_restart
ktap_run commit_info t_commit_info
ktap_run expiry t_expiry
ktap_run commit_modes t_commit_modes
ktap_run bad_flags t_bad_flags
ktap_finish
