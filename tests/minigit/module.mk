# SPDX-License-Identifier: MIT
# minigit: C unit tests of the parsers and compatibility tests against real git.
COLLECTIONS += minigit
TESTS_minigit_PROGS := parsers
TESTS_minigit_SCRIPTS := compat.sh
TESTS_minigit_LIBS := mcgit mccommon
TESTS_minigit_LDLIBS = $(call pkg-libs,libcrypto zlib)
TESTS_minigit_DEPS := $(O)/bin/minigit
TESTS_minigit_CFLAGS := -Iservices/minigit
