/* SPDX-License-Identifier: MIT */
/*
 * rootfs.h: container root filesystems. Images are commits of the image store
 * DATA_ROOT/images.git (<mc/imgstore.h>), one per version under refs/images/NAME;
 * `run` uses the image's tree checked out once at DATA_ROOT/rootfs/TREE-ID, shared
 * read-only by every container of that tree. Every container gets an overlayfs
 * DATA_ROOT/containers/ID/{upper,work,merged} over it, mounted only inside the
 * container's own mount namespace so it disappears with the container.
 */
#ifndef MC_ROOTFS_H
#define MC_ROOTFS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mc/err.h>
#include <mc/imgstore.h>

#define MC_ROOTFS_IMAGE_NAME_MAX 64

/* mc_rootfs_image_name_valid: [a-z0-9][a-z0-9._-]* up to 64 bytes, no `..`. */
int mc_rootfs_image_name_valid(const char *name);

/*
 * mc_rootfs_store_open: the image store DATA_ROOT/images.git, created when missing.
 * Close with mc_imgstore_close.
 */
int mc_rootfs_store_open(const char *data_root, struct mc_imgstore **out, struct mc_err *err);

/*
 * mc_rootfs_image_resolve: image @name -> the read-only checked-out tree
 * DATA_ROOT/rootfs/TREE-ID of its newest version, in @out. This is the one place where
 * image names become directories. Fast path: a ref read, a commit read and a stat.
 * A missing tree is checked out under an flock of DATA_ROOT/rootfs/.lock into a
 * temporary sibling and renamed into place, so concurrent first runs check it out once.
 * An old plain-directory image DATA_ROOT/images/NAME/rootfs (no ref yet) is imported
 * into the store first (migration). -ENOENT: "unknown image `x` ...".
 */
int mc_rootfs_image_resolve(const char *data_root, const char *name, char *out, size_t size,
			    struct mc_err *err);

/*
 * mc_rootfs_image_build: builds image @kind ("busybox" or "dist") in a temporary
 * directory and imports it as a new version of image @kind, with a commit message
 * saying what was built. busybox: Debian's busybox-static with its applet links and a
 * minimal /etc. dist: busybox plus every program in @from_dir (NULL: the directory of
 * the running executable) and their shared-library closure (from ldd). The new tree is
 * checked out (see resolve). Blocking; runs busybox and ldd.
 */
int mc_rootfs_image_build(const char *data_root, const char *kind, const char *from_dir,
			  struct mc_err *err);

/*
 * mc_rootfs_image_import: imports @path (a directory, a tar, a gzip'ed tar, or "-" for
 * a tar on stdin) as a new version of image @name (@message NULL: "import PATH") and
 * checks its tree out. If the check-out fails, the image's ref goes back to where it
 * was. @commit (may be NULL) receives the new commit id.
 */
int mc_rootfs_image_import(const char *data_root, const char *name, const char *path,
			   const char *message, struct mc_git_oid *commit, struct mc_err *err);

/* mc_rootfs_image_list: image names (sorted); *names is a new array of new strings. */
int mc_rootfs_image_list(const char *data_root, char ***names, size_t *n, struct mc_err *err);
void mc_rootfs_names_free(char **names, size_t n);

/*
 * mc_rootfs_image_rm: deletes image @name's ref (and its DATA_ROOT/images/NAME link).
 * -ENOENT for an unknown one. Checked-out trees stay until mc_rootfs_image_prune; the
 * caller decides whether containers still using the image allow the removal.
 */
int mc_rootfs_image_rm(const char *data_root, const char *name, struct mc_err *err);

/*
 * mc_rootfs_image_prune: removes the checked-out trees DATA_ROOT/rootfs/TREE-ID that no
 * image's newest version names and that are not in @keep (paths: the overlay lower
 * dirs of existing containers). Returns the number removed.
 */
int mc_rootfs_image_prune(const char *data_root, char *const *keep, size_t n_keep,
			  struct mc_err *err);

/* mc_rootfs_image_size: the bytes of the regular files of image tree @tree. */
int mc_rootfs_image_size(struct mc_imgstore *store, const struct mc_git_oid *tree, uint64_t *bytes,
			 struct mc_err *err);

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
 * container's root on the host; 0 without a user namespace). Fills @ov. For root-
 * owned layers it first claims a set of empty directories made ahead of time in
 * DATA_ROOT/pool (one rename; see mc_rootfs_overlay_pool_fill).
 * mc_rootfs_overlay_paths fills @ov without touching the disk.
 */
int mc_rootfs_overlay_create(const char *data_root, const char *id, uid_t owner, gid_t group,
			     struct mc_rootfs_overlay *ov, struct mc_err *err);
int mc_rootfs_overlay_paths(const char *data_root, const char *id, struct mc_rootfs_overlay *ov,
			    struct mc_err *err);

/*
 * mc_rootfs_overlay_pool_fill: makes empty root-owned layer directory sets in
 * DATA_ROOT/pool until it holds MC_ROOTFS_OVERLAY_POOL_MAX (for the background
 * cleaner of a run, off anyone's critical path). Returns how many it made or -errno;
 * 0 when another filler holds the pool's lock.
 */
#define MC_ROOTFS_OVERLAY_POOL_MAX 2
int mc_rootfs_overlay_pool_fill(const char *data_root, struct mc_err *err);

/* mc_rootfs_overlay_remove: removes the directories (missing is fine). */
int mc_rootfs_overlay_remove(const struct mc_rootfs_overlay *ov, struct mc_err *err);

/*
 * mc_rootfs_overlay_mount: mounts the overlay of @lower at ov->merged. Meant for the
 * container's own mount namespace (after clone); allocation-free.
 */
int mc_rootfs_overlay_mount(const char *lower, const struct mc_rootfs_overlay *ov,
			    struct mc_err *err);

#endif
