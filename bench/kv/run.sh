#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/kv: libmckv against LevelDB (C API, our driver) and RocksDB's db_bench with
# the same parameters, then kv-server against redis-server with redis-benchmark.
# Peers run side by side in one invocation; results are printed as they come.
# Env: KV_BENCH_NUM (default 1000000), KV_BENCH_SYNC_NUM (writes per thread with
# sync on, default 250), KV_BENCH_SYNC_THREADS (default 8), KV_BENCH_REQS (100000),
# KV_BENCH_ROUNDS (rounds of the server part, default 3), KV_BENCH_SYNC_ROUNDS (rounds
# of the sync-on part, default 7: fdatasync latency on a shared VM swings 10x),
# KV_BENCH_ENGINE_ROUNDS (rounds of the sync-off engine part, default 3).
set -euo pipefail
: "${MC_BUILD:?run through make bench B=kv}"
BIN=$MC_BUILD/bin
NUM=${KV_BENCH_NUM:-1000000}
SNUM=${KV_BENCH_SYNC_NUM:-250}
STHR=${KV_BENCH_SYNC_THREADS:-8}
REQS=${KV_BENCH_REQS:-100000}
SROUNDS=${KV_BENCH_ROUNDS:-3}
SYROUNDS=${KV_BENCH_SYNC_ROUNDS:-7}
EROUNDS=${KV_BENCH_ENGINE_ROUNDS:-3}
BENCHES=fillseq,fillrandom,overwrite,readrandom,readseq,deleterandom
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/kv-bench.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "# kv bench $(date -u +%FT%TZ) on $(nproc) cores, $(uname -r), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "## engines, sync off: num=$NUM key=16 value=100 write_buffer=4MiB, no compression, bloom 10 bits/key ($EROUNDS rounds, order alternating)"
engine() {
	case $1 in
	mckv) "$BIN/kv-bench" --benchmarks=$BENCHES --num="$NUM" --db="$tmp/mckv" | sed 's/^/mckv     /' ;;
	leveldb) "$BIN/kv-bench-leveldb" --benchmarks=$BENCHES --num="$NUM" --db="$tmp/leveldb" |
		sed 's/^/leveldb  /' ;;
	rocksdb) db_bench --benchmarks=$BENCHES --num="$NUM" --key_size=16 --value_size=100 \
		--compression_type=none --write_buffer_size=4194304 --bloom_bits=10 --db="$tmp/rocksdb" \
		--threads=1 --sync=0 2>&1 |
		grep -E '^(fillseq|fillrandom|overwrite|readrandom|readseq|deleterandom) ' |
		sed 's/^/rocksdb  /' ;;
	esac
	rm -rf "${tmp:?}/$1"
}
for round in $(seq "$EROUNDS"); do
	echo "# engine round $round, load: $(cut -d' ' -f1-3 /proc/loadavg)"
	if [ $((round % 2)) = 1 ]; then order="mckv leveldb rocksdb"; else order="rocksdb leveldb mckv"; fi
	for e in $order; do engine "$e"; done
done
echo "## engines, sync on: fillrandom, $STHR threads x $SNUM writes, each write durable on return ($SYROUNDS rounds, interleaved)"
for round in $(seq "$SYROUNDS"); do
	"$BIN/kv-bench" --benchmarks=fillrandom --num="$SNUM" --threads="$STHR" --sync=1 \
		--db="$tmp/mckv-s" | sed -n 's/^/mckv     /;/fillrandom\|group/p'
	"$BIN/kv-bench-leveldb" --benchmarks=fillrandom --num="$SNUM" --threads="$STHR" --sync=1 \
		--db="$tmp/leveldb-s" | sed -n 's/^/leveldb  /;/fillrandom/p'
	db_bench --benchmarks=fillrandom --num="$SNUM" --threads="$STHR" --sync=1 --key_size=16 \
		--value_size=100 --compression_type=none --db="$tmp/rocksdb-s" 2>&1 |
		sed -n 's/^/rocksdb  /;/fillrandom/p'
	rm -rf "$tmp/mckv-s" "$tmp/leveldb-s" "$tmp/rocksdb-s"
done

echo "## servers: redis-benchmark -n $REQS -c 50, SET/GET, -P 1 and -P 16 (-n $((5 * REQS)) at -P 16; $SROUNDS rounds, order rotated run by run)"
port_kv=6481 port_redis=6482 port_kv2=6483
"$BIN/kv-server" --port $port_kv --dir "$tmp/kvsrv" --sync batch >/dev/null &
pids+=($!)
"$BIN/kv-server" --port $port_kv2 --dir "$tmp/kvsrv2" --sync everysec >/dev/null &
pids+=($!)
redis-server --port $port_redis --dir "$tmp" --save "" --appendonly yes \
	--appendfsync everysec --daemonize no >/dev/null &
pids+=($!)
sleep 1
# The disk's own fdatasync latency right now (not during the runs: it would compete).
"$BIN/kv-fsync-probe" "$tmp/probe" 2
servers=("kv-server(batch)":$port_kv "kv-server(everysec)":$port_kv2 "redis-server(everysec)":$port_redis)
# The server order rotates run by run (each server in each position), and -P 16 runs
# 5x the requests of -P 1: at ~1.5M req/s, 100k requests last 60-70 ms, where the 50
# connects and scheduler noise swung single rounds by +-15%.
# server_round LABEL TESTS [ARGS...]: one round, -P 1 then -P 16, each server once per
# P with the order rotated; prints the req/s redis-benchmark reports for TESTS.
rot=0
server_round() {
	local label=$1 tests=$2 P srv name port order
	shift 2
	for P in 1 16; do
		order=("${servers[@]:rot%3}" "${servers[@]:0:rot%3}")
		rot=$((rot + 1))
		for srv in "${order[@]}"; do
			name=${srv%%:*} port=${srv##*:}
			printf '%-24s -P %-2s %s' "$name" "$P" "$label"
			redis-benchmark -p "$port" -t "$tests" "$@" -n $((P == 1 ? REQS : 5 * REQS)) \
				-c 50 -P "$P" -q 2>/dev/null | tr '\r' '\n' |
				grep -E '^(SET|GET): [0-9.]+ requests' | awk '{printf "%s %s  ", $1, $2}'
			echo
		done
	done
}
for round in $(seq "$SROUNDS"); do
	server_round "" set,get
	"$BIN/kv-fsync-probe" "$tmp/probe" 1
done
# GET over a real keyspace: the rounds above SET and GET one key ("key:__rand_int__"
# without -r). Here each server is preloaded identically with KEYS random keys, then
# GET-only with the same -r (memtable and SSTable hits for kv-server), order rotated run by run.
KEYS=${KV_BENCH_KEYS:-100000}
echo "## servers: GET -r $KEYS after an identical preload (SET -r $KEYS -n $((3 * KEYS)) -P 16), -c 50, order rotated run by run"
for srv in "${servers[@]}"; do
	redis-benchmark -p "${srv##*:}" -t set -r "$KEYS" -n $((3 * KEYS)) -c 50 -P 16 -q \
		>/dev/null 2>&1
done
for round in $(seq "$SROUNDS"); do
	server_round "-r $KEYS " get -r "$KEYS"
done
# The same device sync while redis-benchmark -P 1 drives redis: the CPU and I/O pressure
# the batch SET runs see (the client holds about one core), for comparison with the
# server's own commit_fdatasync_us.
redis-benchmark -p $port_redis -t set -n 10000000 -c 50 -q >/dev/null 2>&1 &
load_pid=$!
pids+=($load_pid)
sleep 0.3
printf 'under client load: '
"$BIN/kv-fsync-probe" "$tmp/probe" 1
kill "$load_pid" 2>/dev/null || true
echo "kv-server(batch) group commit: $(redis-cli -p $port_kv info persistence | tr -d '\r' |
	grep -E '^wal_s' | tr '\n' ' ')"
redis-cli -p $port_kv info | tr -d '\r' | grep -E '^commit_(fdatasync|sync_requests|wait|request)'
