#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# redis-server under the preload on a loopback port: redis-benchmark (bounded) runs
# against it, and a command script gives the same replies as a server on glibc.
. "$MC_SRC/tests/lib/ktap.sh"
. "$MC_SRC/tests/alloc/lib.sh"
alloc_require_lib
require_tool redis-server redis-cli redis-benchmark
alloc_tmpdir

# start_redis NAME PRELOAD: starts a server, sets PORT and PID, registers its cleanup.
start_redis() {
	local dir=$ALLOC_TMP/$1
	mkdir -p "$dir"
	PORT=$(alloc_free_port)
	local run=()
	# env, not the alloc_preload function: $! must be the server itself.
	[ "$2" = 1 ] && run=(env LD_PRELOAD="$ALLOC_LIB")
	"${run[@]}" redis-server --bind 127.0.0.1 --port "$PORT" --dir "$dir" --save '' \
		--appendonly no --daemonize no --logfile "$dir/log" &
	PID=$!
	ktap_cleanup "kill $PID"
	alloc_wait_for redis-cli -p "$PORT" ping && return 0
	cat "$dir/log"
	fail "redis-server did not start"
}

commands() {
	for i in $(seq 1 300); do
		echo "SET key:$i $(printf 'v%.0s' $(seq 1 $((i % 50 + 1))))"
		echo "RPUSH list $i"
		echo "HSET hash f$i $((i * i))"
		echo "SADD set m$((i % 37))"
		echo "ZADD zs $((i % 17)) z$i"
	done
	echo "APPEND key:1 tail"
	echo "GET key:1"
	echo "LRANGE list 0 9"
	echo "HGET hash f17"
	echo "SCARD set"
	echo "ZRANGE zs 0 5"
	echo "DEL key:2 key:3"
	echo "DBSIZE"
	echo "INCRBY counter 41"
	echo "INCR counter"
}

t_redis() {
	start_redis plain 0
	local p1=$PORT
	commands | redis-cli -p "$p1" >"$ALLOC_TMP/plain.out"
	start_redis mc 1
	local p2=$PORT pid2=$PID
	alloc_pid_has_lib "$pid2" || fail "redis-server did not map libmcmalloc"
	commands | redis-cli -p "$p2" >"$ALLOC_TMP/mc.out"
	cmp -s "$ALLOC_TMP/plain.out" "$ALLOC_TMP/mc.out" || {
		diff "$ALLOC_TMP/plain.out" "$ALLOC_TMP/mc.out" | head
		fail "replies differ"
	}
	# Bounded load: 20k requests per test, 20 clients, pipelined, 3 kB values.
	local out
	out=$(timeout 60 redis-benchmark -p "$p2" -q -n 20000 -c 20 -P 8 -d 3000 \
		-t set,get,lpush,lpop,sadd,hset,mset 2>&1)
	printf '%s\n' "$out" | tr '\r' '\n' | grep 'requests per second' | head -8
	assert_contains "$out" "requests per second"
	assert_eq PONG "$(redis-cli -p "$p2" ping)"
	kill -0 "$pid2" || fail "redis-server died under load"
}

ktap_run redis_server_and_benchmark t_redis
ktap_finish
