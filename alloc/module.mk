# SPDX-License-Identifier: MIT
# alloc/: libmcmalloc.so (LD_PRELOAD replacement for the malloc family) and
# libmcmallocapi.a (the same allocator under its mc_* names only, for linked tests).
MCMALLOC_CORE := alloc/os.c alloc/options.c alloc/block.c alloc/large.c alloc/slab.c alloc/api.c alloc/dump.c

# -fno-builtin: gcc must not turn our own code into calls to malloc/calloc.
# -ftls-model=initial-exec: TLS access without __tls_get_addr (which may allocate).
# -fno-semantic-interposition: calls between our own exported functions stay direct.
# -fno-sanitize=all: a preloaded allocator cannot run under a sanitizer that owns malloc.
SHLIBS += mcmalloc
mcmalloc_SRCS := $(MCMALLOC_CORE)
mcmalloc_CFLAGS = -DMCM_OVERRIDE -fvisibility=hidden -ftls-model=initial-exec -fno-builtin \
	-fno-semantic-interposition -fno-sanitize=all -fno-stack-protector -O2
mcmalloc_LDFLAGS = -fno-sanitize=all -Wl,--no-undefined -Wl,-z,nodelete
mcmalloc_LDLIBS = -lpthread

LIBS += mcmallocapi
NOINST_LIBS += mcmallocapi
mcmallocapi_SRCS := $(MCMALLOC_CORE)
mcmallocapi_CFLAGS = -ftls-model=initial-exec -fno-builtin

# make bench B=alloc: glibc, jemalloc, mimalloc, tcmalloc and ours, 1/2/8 threads.
BENCHES += alloc
alloc_BENCH := bench/alloc/run.sh
alloc_BENCH_DEPS = $(O)/lib/libmcmalloc.so

# make fuzz F=alloc_options: the MCMALLOC_* option parser.
FUZZERS += alloc_options
alloc_options_FUZZ_SRCS := alloc/fuzz/options.c alloc/options.c
alloc_options_FUZZ_CORPUS := alloc/fuzz/options_corpus
