# SPDX-License-Identifier: MIT
# services/kv: libmckv (the LSM engine, RESP codec and command dispatch), the kvstore
# CLI, kv-server, the kv-bench tool and the LevelDB driver used by bench/kv.
LIBS += mckv
mckv_SRCS := services/kv/batch.c services/kv/bloom.c services/kv/cmd.c services/kv/coding.c \
	services/kv/compact.c services/kv/db.c services/kv/iter.c services/kv/manifest.c \
	services/kv/memtable.c services/kv/resp.c services/kv/sstable.c services/kv/table.c \
	services/kv/version.c services/kv/wal.c
mckv_CFLAGS = -Iservices/kv

PROGS += kvstore
kvstore_SRCS := services/kv/cli/kvstore.c
kvstore_LIBS := mckv mccommon
kvstore_LDLIBS := -lpthread

FUZZERS += kv_resp
kv_resp_FUZZ_SRCS := services/kv/fuzz/resp_fuzz.c services/kv/resp.c common/str.c common/err.c
kv_resp_FUZZ_CORPUS := services/kv/fuzz/corpus

PROGS += kv-server
kv-server_SRCS := services/kv/server/kv_server.c services/kv/server/server_conn.c \
	services/kv/server/server_inline.c services/kv/server/server_writer.c \
	services/kv/server/commit_stats.c
kv-server_LIBS := mckv mcio mccommon
kv-server_LDLIBS = $(call pkg-libs,liburing) -lpthread

# The db_bench-like driver (bench/kv), for libmckv and for LevelDB's C API.
NOINST_PROGS += kv-bench kv-bench-leveldb kv-fsync-probe
PROGS += kv-bench kv-bench-leveldb kv-fsync-probe
kv-bench_SRCS := bench/kv/kv_bench.c
kv-bench_LIBS := mckv mccommon
kv-bench_LDLIBS := -lpthread
kv-bench-leveldb_SRCS := bench/kv/leveldb_bench.c
kv-fsync-probe_SRCS := bench/kv/fsync_probe.c
kv-fsync-probe_LIBS := mccommon
kv-bench-leveldb_LIBS := mccommon
kv-bench-leveldb_LDLIBS := -lleveldb -lpthread

BENCHES += kv
kv_BENCH := bench/kv/run.sh
kv_BENCH_DEPS := $(O)/bin/kv-bench $(O)/bin/kv-bench-leveldb $(O)/bin/kv-server \
	$(O)/bin/kv-fsync-probe

# WAL recovery over arbitrary file bytes.
FUZZERS += kv_wal
kv_wal_FUZZ_SRCS := services/kv/fuzz/wal_fuzz.c services/kv/wal.c services/kv/batch.c \
	services/kv/coding.c common/err.c common/fs.c common/log.c common/str.c common/time.c
kv_wal_FUZZ_CFLAGS := -Iservices/kv
kv_wal_FUZZ_CORPUS := services/kv/fuzz/wal_corpus
