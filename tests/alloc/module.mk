# SPDX-License-Identifier: MIT
# tests/alloc: the allocator contract linked (api_linked) and preloaded (preload.sh,
# which builds api_preload.c without sanitizers), misuse under MCMALLOC_CHECK, and
# real programs run with and without the preload.
COLLECTIONS += alloc
TESTS_alloc_PROGS := api_linked
TESTS_alloc_HELPERS := misuse
TESTS_alloc_LIBS := mcmallocapi
TESTS_alloc_LDLIBS := -lpthread -ldl
TESTS_alloc_SCRIPTS := preload.sh check.sh lib_helpers.sh prog_bash.sh prog_python.sh prog_git.sh prog_gcc.sh \
	prog_sqlite.sh prog_redis.sh prog_nginx.sh
TESTS_alloc_DEPS = $(O)/lib/libmcmalloc.so
