# SPDX-License-Identifier: MIT
# tests/rootfs: images as directories (build, list, resolve, remove) and the overlay.
COLLECTIONS += rootfs
TESTS_rootfs_PROGS := image
TESTS_rootfs_LIBS := mcrootfs mccommon
