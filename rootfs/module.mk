# SPDX-License-Identifier: MIT
# rootfs/: container root filesystems. libmcimgstore: the git-object image store
# (store*.c, tar.c, on libmcgit). libmcrootfs: images by name on top of it (image.c:
# build, import, resolve to a shared checked-out tree) and the per-container overlay
# (overlay.c), linked by the runtime after mcimgstore mcgit (libcrypto, zlib).
PKG_PROBE += libcrypto zlib

LIBS += mcrootfs
mcrootfs_SRCS := rootfs/image.c rootfs/image_build.c rootfs/overlay.c

LIBS += mcimgstore
mcimgstore_SRCS := rootfs/tar.c rootfs/store_model.c rootfs/store.c rootfs/store_checkout.c
