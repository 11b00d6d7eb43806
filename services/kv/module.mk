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
kv-server_SRCS := services/kv/server/kv_server.c
kv-server_LIBS := mckv mcio mccommon
kv-server_LDLIBS = $(call pkg-libs,liburing) -lpthread
