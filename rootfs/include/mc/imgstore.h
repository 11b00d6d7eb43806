/* SPDX-License-Identifier: MIT */
/*
 * imgstore.h: the image store. Images are commits in a bare git repository (default
 * /var/lib/mycontainer/images.git) under refs/images/NAME. A commit's tree holds
 *
 *   manifest   blob: owner, group, full mode, mtime, device numbers, fifos, empty
 *              directories and hard links of every path (what git trees cannot hold)
 *   rootfs     tree: the files, symlinks and directories themselves
 *
 * so that importing a directory or a tar and checking it out round-trips exactly.
 * The format of the manifest is in docs/minigit.md. Real git can inspect the store.
 *
 * A store handle is not thread-safe. Writers (import, remove) serialise on a lock of
 * the repository; readers need no lock.
 */
#ifndef MC_IMGSTORE_H
#define MC_IMGSTORE_H

#include <stdint.h>

#include <mc/err.h>
#include <mc/git.h>

#define MC_IMGSTORE_DEFAULT_PATH "/var/lib/mycontainer/images.git"

struct mc_imgstore;

/* mc_imgstore_open: opens (creating if missing) the bare repository at @path (NULL:
 * the default path). The handle is freed with mc_imgstore_close. */
int mc_imgstore_open(const char *path, struct mc_imgstore **out, struct mc_err *err);
void mc_imgstore_close(struct mc_imgstore *store);
/* The underlying repository, for callers that want git-level access. */
struct mc_git_repo *mc_imgstore_repo(struct mc_imgstore *store);

/* mc_imgstore_name_ok: an image name: [A-Za-z0-9][A-Za-z0-9._-]*, at most 128 bytes. */
bool mc_imgstore_name_ok(const char *name);

/*
 * mc_imgstore_import_dir / mc_imgstore_import_tar: stores the directory or tar file at
 * @path as a new commit of image @name (its parent is the image's previous commit),
 * with @message (NULL: "import PATH"). Tar input: ustar, pax and GNU long names;
 * regular files, directories, symlinks, hard links, char/block devices and fifos.
 * Refused with a clear error: absolute paths, `..`, entries below a symlink, relative
 * symlinks that climb above the root, hard links to unknown paths, other entry types.
 * Returns the commit id in @commit (may be NULL).
 */
int mc_imgstore_import_dir(struct mc_imgstore *store, const char *name, const char *path,
			   const char *message, struct mc_git_oid *commit, struct mc_err *err);
int mc_imgstore_import_tar(struct mc_imgstore *store, const char *name, const char *path,
			   const char *message, struct mc_git_oid *commit, struct mc_err *err);

struct mc_imgstore_info {
	const char *name; /* image name */
	struct mc_git_oid commit;
	struct mc_git_oid tree; /* what mc_imgstore_checkout takes */
	int64_t when;		/* commit time, seconds since the epoch */
	const char *message;	/* first line of the commit message */
};

/* A callback's non-zero return stops the walk and is returned. */
typedef int (*mc_imgstore_cb)(const struct mc_imgstore_info *info, void *arg);

/* mc_imgstore_list: every image, sorted by name. */
int mc_imgstore_list(struct mc_imgstore *store, mc_imgstore_cb cb, void *arg, struct mc_err *err);
/* mc_imgstore_history: the versions of image @name, newest first (first parents). */
int mc_imgstore_history(struct mc_imgstore *store, const char *name, mc_imgstore_cb cb, void *arg,
			struct mc_err *err);
/* mc_imgstore_head: the commit of image @name's newest version (a ref read); -ENOENT. */
int mc_imgstore_head(struct mc_imgstore *store, const char *name, struct mc_git_oid *commit,
		     struct mc_err *err);
/* mc_imgstore_commit_tree: the tree of @commit (reads and verifies the object). */
int mc_imgstore_commit_tree(struct mc_imgstore *store, const struct mc_git_oid *commit,
			    struct mc_git_oid *tree, struct mc_err *err);
/* mc_imgstore_resolve: the tree id of image @name's newest version; -ENOENT if none. */
int mc_imgstore_resolve(struct mc_imgstore *store, const char *name, struct mc_git_oid *tree,
			struct mc_err *err);
/* mc_imgstore_remove: deletes refs/images/NAME (objects stay until a git gc). */
int mc_imgstore_remove(struct mc_imgstore *store, const char *name, struct mc_err *err);

/*
 * mc_imgstore_checkout: writes image tree @tree into @dir, which must not exist (or be
 * an empty directory): contents, owners, modes (setuid/setgid/sticky), mtimes, device
 * nodes, fifos, symlinks and hard links exactly as imported. The tree is first written
 * into a temporary sibling and renamed to @dir when complete. Every path is created
 * relative to directory fds opened with O_NOFOLLOW, so no entry of a hostile image can
 * write outside @dir. Ownership is restored only when running as root.
 */
int mc_imgstore_checkout(struct mc_imgstore *store, const struct mc_git_oid *tree, const char *dir,
			 struct mc_err *err);

#endif
