# SPDX-License-Identifier: MIT
# tests/runtime: the container runtime end to end through the mycontainer CLI (as
# root, with state and data roots in a temporary directory), plus config unit tests.
COLLECTIONS += runtime
TESTS_runtime_PROGS := config seccomp_cache passwd sync
TESTS_runtime_SCRIPTS := run.sh lifecycle.sh
TESTS_runtime_HELPERS := sc_probe
TESTS_runtime_LIBS := mcrt mcrootfs mcimgstore mcgit mccgroup mccommon
TESTS_runtime_LDLIBS = $(call pkg-libs,jansson libcap libseccomp libcrypto zlib) -lm
# The preloaded allocator, once alloc/ builds it.
TESTS_runtime_DEPS := $(O)/bin/mycontainer $(if $(filter mcmalloc,$(SHLIBS)),$(O)/lib/libmcmalloc.so)
