/* SPDX-License-Identifier: MIT */
/* kv-bench-leveldb: kv_bench.c's workloads driven through LevelDB's C API. */
#define KV_BENCH_LEVELDB 1
#include "kv_bench.c"
