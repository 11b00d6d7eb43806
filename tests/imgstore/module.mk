# SPDX-License-Identifier: MIT
# imgstore: the git-object image store (rootfs/store*.c, rootfs/tar.c).
COLLECTIONS += imgstore
TESTS_imgstore_PROGS := store escape
TESTS_imgstore_LIBS := mcimgstore mcgit mccommon
TESTS_imgstore_LDLIBS = $(call pkg-libs,libcrypto zlib)
TESTS_imgstore_CFLAGS := -Irootfs/include
