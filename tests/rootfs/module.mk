# SPDX-License-Identifier: MIT
# tests/rootfs: images in the git-object store (build, import, resolve to a shared
# check-out, list, history, remove, prune, migration) and the per-container overlay;
# store.sh drives the mycontainer CLI as root in relocated roots.
COLLECTIONS += rootfs
TESTS_rootfs_PROGS := image resolve overlay
TESTS_rootfs_SCRIPTS := store.sh
TESTS_rootfs_LIBS := mcrootfs mcimgstore mcgit mccommon
TESTS_rootfs_LDLIBS = $(call pkg-libs,libcrypto zlib)
TESTS_rootfs_DEPS := $(O)/bin/mycontainer
