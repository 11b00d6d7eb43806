/* SPDX-License-Identifier: MIT */
/*
 * rootfs.h: container root filesystems. Images are plain directories
 * DATA_ROOT/images/NAME/rootfs for now (the git-object store replaces
 * mc_rootfs_image_resolve later); every container gets an overlayfs
 * DATA_ROOT/containers/ID/{upper,work,merged} over its image, mounted only inside
 * the container's own mount namespace so it disappears with the container.
 */
#ifndef MC_ROOTFS_H
#define MC_ROOTFS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <mc/err.h>

#define MC_ROOTFS_IMAGE_NAME_MAX 64

/* mc_rootfs_image_name_valid: [a-z0-9][a-z0-9._-]* up to 64 bytes. */
int mc_rootfs_image_name_valid(const char *name);

/*
 * mc_rootfs_image_resolve: the read-only tree of image @name into @out. This is the
 * one place where image names become directories. -ENOENT: "unknown image `x`".
 */
int mc_rootfs_image_resolve(const char *data_root, const char *name, char *out, size_t size,
			    struct mc_err *err);

/*
 * mc_rootfs_image_build: builds image @kind ("busybox" or "dist") as DATA_ROOT/images/
 * @kind. busybox: Debian's busybox-static with its applet links and a minimal /etc.
 * dist: busybox plus every program in @from_dir (NULL: the directory of the running
 * executable) and their shared-library closure (from ldd). The new tree replaces an
 * old one atomically (rename). Blocking; runs ldd.
 */
int mc_rootfs_image_build(const char *data_root, const char *kind, const char *from_dir,
			  struct mc_err *err);

/* mc_rootfs_image_list: image names (sorted); *names is a new array of new strings. */
int mc_rootfs_image_list(const char *data_root, char ***names, size_t *n, struct mc_err *err);
void mc_rootfs_names_free(char **names, size_t n);

/* mc_rootfs_image_rm: removes an image. -ENOENT for an unknown one. */
int mc_rootfs_image_rm(const char *data_root, const char *name, struct mc_err *err);

/* The per-container overlay directories. */
struct mc_rootfs_overlay {
	char dir[PATH_MAX]; /* DATA_ROOT/containers/ID */
	char upper[PATH_MAX];
	char work[PATH_MAX];
	char merged[PATH_MAX];
	/*
	 * Mount with overlayfs' "volatile" (no sync of the upper layer at unmount, which
	 * costs a journal commit): for containers removed on exit (--rm), whose layer
	 * never outlives them.
	 */
	bool volatile_upper;
};

/*
 * mc_rootfs_overlay_create: makes the container's directories, owned by @owner (the
 * container's root on the host; 0 without a user namespace). Fills @ov.
 * mc_rootfs_overlay_paths fills @ov without touching the disk.
 */
int mc_rootfs_overlay_create(const char *data_root, const char *id, uid_t owner, gid_t group,
			     struct mc_rootfs_overlay *ov, struct mc_err *err);
int mc_rootfs_overlay_paths(const char *data_root, const char *id, struct mc_rootfs_overlay *ov,
			    struct mc_err *err);

/* mc_rootfs_overlay_remove: removes the directories (missing is fine). */
int mc_rootfs_overlay_remove(const struct mc_rootfs_overlay *ov, struct mc_err *err);

/*
 * mc_rootfs_overlay_mount: mounts the overlay of @lower at ov->merged. Meant for the
 * container's own mount namespace (after clone); allocation-free.
 */
int mc_rootfs_overlay_mount(const char *lower, const struct mc_rootfs_overlay *ov,
			    struct mc_err *err);

#endif
