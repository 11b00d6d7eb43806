# SPDX-License-Identifier: MIT
# rootfs/: container root filesystems: images as directories (image.c) and the
# per-container overlay (overlay.c), in libmcrootfs, linked by the runtime.
LIBS += mcrootfs
mcrootfs_SRCS := rootfs/image.c rootfs/overlay.c
