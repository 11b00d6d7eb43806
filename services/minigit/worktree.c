/* SPDX-License-Identifier: MIT */
/*
 * worktree.c: directories to trees (write-tree) and trees to directories
 * (checkout-tree). Checkout only ever creates names relative to a directory fd it
 * opened itself with O_NOFOLLOW, so neither a hostile tree nor a symlink already in
 * the target can make it write outside the target directory.
 */
#include "internal.h"

#include <mc/cleanup.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deeper trees than this are refused: they only come from hostile input. */
#define MAX_DEPTH 256

struct wt_ctx {
	struct mc_git_repo *repo;
	struct mc_err *err;
	char path[PATH_MAX]; /* for messages */
	uint8_t *buf;	     /* reused read buffer for small files */
	size_t cap;
};

static int blob_from_fd(struct wt_ctx *c, int fd, size_t size, struct mc_git_oid *oid)
{
	int r;

	/* Large files are mapped; small ones read into one reused buffer (fewer syscalls). */
	if (size > (1u << 20)) {
		void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (m == MAP_FAILED)
			return mc_err_set(c->err, errno, "read `%s`", c->path);
		r = mc_git_odb_write(c->repo, MC_GIT_BLOB, m, size, oid, c->err);
		munmap(m, size);
		return r;
	}
	if (size + 1 > c->cap) {
		size_t nc = MC_MAX(size + 1, (size_t)65536);
		uint8_t *nb = realloc(c->buf, nc);

		if (!nb)
			return mc_err_set(c->err, ENOMEM, "read `%s`", c->path);
		c->buf = nb;
		c->cap = nc;
	}
	ssize_t n = mc_read_all(fd, c->buf, size + 1);

	if (n < 0)
		return mc_err_set(c->err, (int)-n, "read `%s`", c->path);
	if ((size_t)n != size)
		return mc_err_setx(c->err, EAGAIN, "`%s` changed while being read", c->path);
	return mc_git_odb_write(c->repo, MC_GIT_BLOB, c->buf, size, oid, c->err);
}

static void free_items(struct mc_git_tree_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)items[i].name);
	free(items);
}

/* Writes the tree of directory @dfd; *n_out = number of entries (0: omit it). */
static int write_dir(struct wt_ctx *c, int dfd, int depth, struct mc_git_oid *out, size_t *n_out)
{
	struct mc_git_tree_item *items = NULL;
	size_t n = 0, cap = 0, plen = strlen(c->path);
	struct dirent *de;
	int r = 0, dup_fd = dup(dfd);
	DIR *d;

	if (depth > MAX_DEPTH)
		return mc_err_setx(c->err, ELOOP, "`%s`: directories nest too deeply", c->path);
	if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
		if (dup_fd >= 0)
			close(dup_fd);
		return mc_err_set(c->err, errno, "read directory `%s`", c->path);
	}
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		struct mc_git_tree_item it = { 0 };
		struct stat st;

		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 || strcmp(nm, ".git") == 0)
			continue;
		if (snprintf(c->path + plen, sizeof(c->path) - plen, "/%s", nm) >=
		    (int)(sizeof(c->path) - plen)) {
			r = mc_err_setx(c->err, ENAMETOOLONG, "path too long below `%.*s`",
					(int)plen, c->path);
			break;
		}
		if (fstatat(dfd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = mc_err_set(c->err, errno, "stat `%s`", c->path);
			break;
		}
		if (S_ISREG(st.st_mode)) {
			mc_autoclose int fd = openat(dfd, nm, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

			if (fd < 0) {
				r = mc_err_set(c->err, errno, "open `%s`", c->path);
				break;
			}
			r = blob_from_fd(c, fd, (size_t)st.st_size, &it.oid);
			it.mode = st.st_mode & S_IXUSR ? MC_GIT_MODE_EXEC : MC_GIT_MODE_FILE;
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t tl = readlinkat(dfd, nm, target, sizeof(target));

			if (tl < 0 || (size_t)tl >= sizeof(target)) {
				r = mc_err_set(c->err, tl < 0 ? errno : ENAMETOOLONG,
					       "readlink `%s`", c->path);
				break;
			}
			r = mc_git_odb_write(c->repo, MC_GIT_BLOB, target, (size_t)tl, &it.oid,
					     c->err);
			it.mode = MC_GIT_MODE_LINK;
		} else if (S_ISDIR(st.st_mode)) {
			mc_autoclose int sfd =
				openat(dfd, nm, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			size_t sn = 0;

			if (sfd < 0) {
				r = mc_err_set(c->err, errno, "open `%s`", c->path);
				break;
			}
			r = write_dir(c, sfd, depth + 1, &it.oid, &sn);
			/* Git cannot hold an empty directory: it is left out, as `git add` does. */
			if (r == 0 && sn == 0)
				continue;
			it.mode = MC_GIT_MODE_TREE;
		} else {
			continue; /* sockets, fifos, devices: git ignores them too */
		}
		c->path[plen] = '\0';
		if (r < 0)
			break;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct mc_git_tree_item *ni = realloc(items, nc * sizeof(*ni));

			if (!ni) {
				r = mc_err_set(c->err, ENOMEM, "write tree");
				break;
			}
			items = ni;
			cap = nc;
		}
		it.name = strdup(nm);
		if (!it.name) {
			r = mc_err_set(c->err, ENOMEM, "write tree");
			break;
		}
		items[n++] = it;
	}
	closedir(d);
	c->path[plen] = '\0';
	/* An empty subtree is not written at all: nothing would reference it. */
	if (r == 0 && (n > 0 || depth == 0))
		r = mc_git_tree_write(c->repo, items, n, out, c->err);
	if (r == 0)
		*n_out = n;
	free_items(items, n);
	return r;
}

int mc_git_write_tree_dir(struct mc_git_repo *repo, const char *dir, struct mc_git_oid *out,
			  struct mc_err *err)
{
	struct wt_ctx c = { .repo = repo, .err = err };
	mc_autoclose int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t n = 0;
	int r;

	if (dfd < 0)
		return mc_err_set(err, errno, "open `%s`", dir);
	mc_strlcpy(c.path, dir, sizeof(c.path));
	if (strcmp(c.path, "/") == 0)
		c.path[0] = '\0';
	r = write_dir(&c, dfd, 0, out, &n);
	free(c.buf);
	return r;
}

/* ---- checkout ---- */

struct co_ctx {
	struct mc_git_repo *repo;
	struct mc_err *err;
	char path[PATH_MAX];
};

/* Removes a non-directory at @name so it can be recreated; a directory stays. */
static int clear_slot(int dfd, const char *name)
{
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT && errno != EISDIR)
		return -errno;
	return 0;
}

static int checkout_dir(struct co_ctx *c, int dfd, const struct mc_git_oid *tree, int depth)
{
	mc_autofree void *buf = NULL;
	size_t len, pos = 0, plen = strlen(c->path);
	struct mc_git_tree_entry e;
	char hex[MC_GIT_OID_HEXSZ + 1];
	int r, k;

	if (depth > MAX_DEPTH)
		return mc_err_setx(c->err, ELOOP, "tree %s: nests too deeply",
				   mc_git_oid_fmt(tree, hex));
	r = mc_git_odb_read_typed(c->repo, tree, MC_GIT_TREE, &buf, &len, c->err);
	if (r < 0)
		return r;
	while ((k = mc_git_tree_next(buf, len, &pos, &e)) > 0) {
		const char *nm = e.name;

		/* A ".git" would let a tree plant hooks or config for whoever opens DIR. */
		if (strcasecmp(nm, ".git") == 0)
			return mc_err_setx(c->err, EPERM, "tree %s: refusing entry `.git`",
					   mc_git_oid_fmt(tree, hex));
		snprintf(c->path + plen, sizeof(c->path) - plen, "/%s", nm);
		if (e.mode == MC_GIT_MODE_TREE || e.mode == MC_GIT_MODE_GITLINK) {
			if (mkdirat(dfd, nm, 0755) < 0 && errno != EEXIST)
				return mc_err_set(c->err, errno, "mkdir `%s`", c->path);
			/* O_NOFOLLOW: if `nm` is a planted symlink, this fails instead of escaping. */
			mc_autoclose int sfd =
				openat(dfd, nm, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

			if (sfd < 0)
				return mc_err_set(c->err, errno, "open directory `%s`", c->path);
			if (e.mode == MC_GIT_MODE_TREE) {
				r = checkout_dir(c, sfd, &e.oid, depth + 1);
				if (r < 0)
					return r;
			}
		} else {
			mc_autofree void *blob = NULL;
			size_t bl;

			r = mc_git_odb_read_typed(c->repo, &e.oid, MC_GIT_BLOB, &blob, &bl, c->err);
			if (r < 0)
				return r;
			if (clear_slot(dfd, nm) < 0)
				return mc_err_set(c->err, errno, "replace `%s`", c->path);
			if (e.mode == MC_GIT_MODE_LINK) {
				if (memchr(blob, '\0', bl) || bl == 0)
					return mc_err_setx(c->err, MC_ECORRUPT,
							   "object %s: bad symlink target for `%s`",
							   mc_git_oid_fmt(&e.oid, hex), c->path);
				if (symlinkat(blob, dfd, nm) < 0)
					return mc_err_set(c->err, errno, "symlink `%s`", c->path);
			} else {
				mode_t m = e.mode == MC_GIT_MODE_EXEC ? 0755 : 0644;
				mc_autoclose int fd = openat(
					dfd, nm,
					O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, m);

				if (fd < 0)
					return mc_err_set(c->err, errno, "create `%s`", c->path);
				r = mc_write_all(fd, blob, bl);
				if (r < 0)
					return mc_err_set(c->err, -r, "write `%s`", c->path);
			}
		}
		c->path[plen] = '\0';
	}
	if (k < 0)
		return mc_err_setx(c->err, MC_ECORRUPT, "object %s: malformed tree",
				   mc_git_oid_fmt(tree, hex));
	return 0;
}

int mc_git_checkout_tree(struct mc_git_repo *repo, const struct mc_git_oid *tree, const char *dir,
			 struct mc_err *err)
{
	struct co_ctx c = { .repo = repo, .err = err };
	int r = mc_fs_mkdir_p(dir, 0755, err);

	if (r < 0)
		return r;
	mc_autoclose int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return mc_err_set(err, errno, "open `%s`", dir);
	mc_strlcpy(c.path, dir, sizeof(c.path));
	return checkout_dir(&c, dfd, tree, 0);
}
