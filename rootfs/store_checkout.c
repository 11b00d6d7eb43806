/* SPDX-License-Identifier: MIT */
/*
 * store_checkout.c: writing an image tree to a directory exactly (contents, owners,
 * modes, mtimes, devices, fifos, symlinks, hard links). The manifest and the rootfs
 * tree are cross-checked first; then everything is created below a temporary sibling
 * directory through directory fds opened with O_NOFOLLOW, one component at a time, so
 * a hostile image cannot reach outside it; the finished tree is renamed into place.
 */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct co {
	struct mc_git_repo *repo;
	struct img_model m;
	struct mc_err *err;
	int rootfd;
	bool as_root;
	char cached[PATH_MAX]; /* the parent directory whose fd is cached */
	int cachedfd;
};

/* Records the blob of every tree entry on its manifest node; anything unlisted is bad. */
static int match_tree(struct co *c, const struct mc_git_oid *tree, const char *prefix, int depth)
{
	char hex[MC_GIT_OID_HEXSZ + 1];
	struct mc_git_tree_entry e;
	size_t len, pos = 0;
	void *buf;
	int r = 0, k;

	if (depth > 256)
		return mc_err_setx(c->err, MC_ECORRUPT, "image tree nests too deeply");
	r = mc_git_odb_read_typed(c->repo, tree, MC_GIT_TREE, &buf, &len, c->err);
	if (r < 0)
		return r;
	while ((k = mc_git_tree_next(buf, len, &pos, &e)) > 0) {
		char path[PATH_MAX];

		if (snprintf(path, sizeof(path), "%s%s%.*s", prefix, *prefix ? "/" : "",
			     (int)e.name_len, e.name) >= (int)sizeof(path)) {
			r = mc_err_setx(c->err, MC_ECORRUPT, "image path too long");
			break;
		}
		ssize_t at = img_model_find(&c->m, path);
		struct img_node *n = at >= 0 ? &c->m.nodes[at] : NULL;
		bool ok = n && ((e.mode == MC_GIT_MODE_TREE && n->type == 'd') ||
				(e.mode == MC_GIT_MODE_LINK && n->type == 'l') ||
				((e.mode == MC_GIT_MODE_FILE || e.mode == MC_GIT_MODE_EXEC) &&
				 (n->type == 'f' || n->type == 'h')));

		if (!ok) {
			r = mc_err_setx(c->err, MC_ECORRUPT,
					"tree %s: entry `%s` does not match the manifest",
					mc_git_oid_fmt(tree, hex), path);
			break;
		}
		if (e.mode == MC_GIT_MODE_TREE)
			r = match_tree(c, &e.oid, path, depth + 1);
		else
			n->oid = e.oid;
		if (r < 0)
			break;
	}
	if (k < 0 && r == 0)
		r = mc_err_setx(c->err, MC_ECORRUPT, "object %s: malformed tree",
				mc_git_oid_fmt(tree, hex));
	free(buf);
	return r;
}

/*
 * The directory fd holding @path, walked from the root one component at a time with
 * O_NOFOLLOW: a symlink anywhere on the way fails the open (ELOOP/ENOTDIR) rather
 * than being followed out of the tree. The last parent is cached: entries arrive in
 * path order, so most lookups hit it.
 */
static int parent_fd(struct co *c, const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t pl = slash ? (size_t)(slash - path) : 0;

	*base = slash ? slash + 1 : path;
	if (pl == 0)
		return c->rootfd;
	if (c->cachedfd >= 0 && strlen(c->cached) == pl && memcmp(c->cached, path, pl) == 0)
		return c->cachedfd;
	int fd = dup(c->rootfd);

	for (const char *p = path; fd >= 0 && p < path + pl;) {
		size_t l = strcspn(p, "/");
		char comp[NAME_MAX + 1];

		if (l > NAME_MAX) {
			close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, l);
		comp[l] = '\0';
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		close(fd);
		fd = nfd;
		p += l + 1;
	}
	if (fd < 0)
		return -1;
	if (c->cachedfd >= 0)
		close(c->cachedfd);
	c->cachedfd = fd;
	memcpy(c->cached, path, pl);
	c->cached[pl] = '\0';
	return fd;
}

static int set_attrs(struct co *c, int pfd, const char *base, const struct img_node *n)
{
	struct timespec ts[2] = { { n->mtime, 0 }, { n->mtime, 0 } };

	/* Owner first: chown clears setuid/setgid, so the mode goes on afterwards. */
	if (c->as_root && fchownat(pfd, base, n->uid, n->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (n->type != 'l' && fchmodat(pfd, base, n->mode, 0) < 0)
		return -errno;
	if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static int create_one(struct co *c, const struct img_node *n)
{
	const char *base;
	int pfd = parent_fd(c, n->path, &base), r = 0;

	if (pfd < 0)
		return mc_err_set(c->err, errno, "open parent of `%s`", n->path);
	switch (n->type) {
	case 'd':
		if (mkdirat(pfd, base, 0700) < 0)
			return mc_err_set(c->err, errno, "mkdir `%s`", n->path);
		return 0; /* attributes at the end, once nothing more is created inside */
	case 'f': {
		void *data;
		size_t len;

		r = mc_git_odb_read_typed(c->repo, &n->oid, MC_GIT_BLOB, &data, &len, c->err);
		if (r < 0)
			return r;
		int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				0600);

		if (fd < 0) {
			free(data);
			return mc_err_set(c->err, errno, "create `%s`", n->path);
		}
		r = mc_write_all(fd, data, len);
		free(data);
		if (close(fd) < 0 && r == 0)
			r = -errno;
		if (r < 0)
			return mc_err_set(c->err, -r, "write `%s`", n->path);
		break;
	}
	case 'l': {
		void *data;
		size_t len;

		r = mc_git_odb_read_typed(c->repo, &n->oid, MC_GIT_BLOB, &data, &len, c->err);
		if (r < 0)
			return r;
		if (len == 0 || memchr(data, '\0', len) || img_symlink_escapes(n->path, data)) {
			free(data);
			return mc_err_setx(c->err, MC_ECORRUPT,
					   "symlink `%s`: bad or escaping target", n->path);
		}
		r = symlinkat(data, pfd, base);
		free(data);
		if (r < 0)
			return mc_err_set(c->err, errno, "symlink `%s`", n->path);
		break;
	}
	case 'c':
	case 'b':
	case 'p': {
		mode_t t = n->type == 'c' ? S_IFCHR : n->type == 'b' ? S_IFBLK : S_IFIFO;
		dev_t dev = n->type == 'p' ? 0 : makedev(n->devmajor, n->devminor);

		if (mknodat(pfd, base, t | 0600, dev) < 0)
			return mc_err_set(c->err, errno, "mknod `%s`", n->path);
		break;
	}
	case 'h': {
		const char *tbase;
		char tparent[PATH_MAX];
		const char *slash = strrchr(n->link, '/');
		int tfd;

		/* The target's parent fd may evict the cache: resolve it separately. */
		if (slash) {
			snprintf(tparent, sizeof(tparent), "%.*s/x", (int)(slash - n->link),
				 n->link);
			tfd = parent_fd(c, tparent, &tbase);
			tbase = slash + 1;
		} else {
			tfd = c->rootfd;
			tbase = n->link;
		}
		if (tfd < 0)
			return mc_err_set(c->err, errno, "open parent of `%s`", n->link);
		int tdup = tfd == c->rootfd ? c->rootfd : dup(tfd);

		pfd = parent_fd(c, n->path, &base);
		if (pfd < 0 || tdup < 0) {
			r = mc_err_set(c->err, errno, "open parent of `%s`", n->path);
		} else if (linkat(tdup, tbase, pfd, base, 0) < 0) {
			r = mc_err_set(c->err, errno, "link `%s` to `%s`", n->path, n->link);
		}
		if (tdup >= 0 && tdup != c->rootfd)
			close(tdup);
		return r; /* a hard link shares its target's attributes */
	}
	default:
		return mc_err_setx(c->err, MC_ECORRUPT, "manifest: bad type for `%s`", n->path);
	}
	r = set_attrs(c, pfd, base, n);
	if (r < 0)
		return mc_err_set(c->err, -r, "set attributes of `%s`", n->path);
	return 0;
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp((*(struct img_node *const *)a)->path, (*(struct img_node *const *)b)->path);
}

static int read_top(struct co *c, const struct mc_git_oid *tree, struct mc_git_oid *rootfs)
{
	char hex[MC_GIT_OID_HEXSZ + 1];
	struct mc_git_tree_entry e;
	struct mc_git_oid manifest;
	bool have_m = false, have_r = false;
	size_t len, pos = 0;
	void *buf;
	int r, k;

	r = mc_git_odb_read_typed(c->repo, tree, MC_GIT_TREE, &buf, &len, c->err);
	if (r < 0)
		return r;
	while ((k = mc_git_tree_next(buf, len, &pos, &e)) > 0) {
		if (e.name_len == 8 && memcmp(e.name, "manifest", 8) == 0 &&
		    e.mode == MC_GIT_MODE_FILE) {
			manifest = e.oid;
			have_m = true;
		} else if (e.name_len == 6 && memcmp(e.name, "rootfs", 6) == 0 &&
			   e.mode == MC_GIT_MODE_TREE) {
			*rootfs = e.oid;
			have_r = true;
		}
	}
	free(buf);
	if (k < 0 || !have_m || !have_r)
		return mc_err_setx(c->err, MC_ECORRUPT,
				   "tree %s is not an image (needs `manifest` and `rootfs`)",
				   mc_git_oid_fmt(tree, hex));
	r = mc_git_odb_read_typed(c->repo, &manifest, MC_GIT_BLOB, &buf, &len, c->err);
	if (r < 0)
		return r;
	r = img_manifest_parse(buf, len, &c->m, c->err);
	free(buf);
	return r;
}

static int checkout_into(struct co *c, const struct mc_git_oid *tree)
{
	struct mc_git_oid rootfs;
	struct img_node **v;
	int r;

	r = read_top(c, tree, &rootfs);
	if (r == 0)
		r = match_tree(c, &rootfs, "", 0);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->m.n; i++) {
		const struct img_node *n = &c->m.nodes[i];

		if ((n->type == 'f' || n->type == 'l') && mc_git_oid_is_zero(&n->oid))
			return mc_err_setx(c->err, MC_ECORRUPT,
					   "manifest entry `%s` is missing from the tree", n->path);
	}
	v = malloc(c->m.n * sizeof(*v));
	if (!v)
		return mc_err_set(c->err, ENOMEM, "checkout");
	for (size_t i = 0; i < c->m.n; i++)
		v[i] = &c->m.nodes[i];
	qsort(v, c->m.n, sizeof(*v), path_cmp);
	/* v[0] is the root (""). Pass 1: everything but hard links, parents first. */
	for (size_t i = 1; i < c->m.n && r == 0; i++)
		if (v[i]->type != 'h')
			r = create_one(c, v[i]);
	for (size_t i = 1; i < c->m.n && r == 0; i++)
		if (v[i]->type == 'h')
			r = create_one(c, v[i]);
	/* Directories last, deepest first: their mtimes and modes are final only now. */
	for (size_t i = c->m.n; i > 1 && r == 0; i--) {
		const char *base;
		int pfd;

		if (v[i - 1]->type != 'd')
			continue;
		pfd = parent_fd(c, v[i - 1]->path, &base);
		if (pfd < 0)
			r = mc_err_set(c->err, errno, "open parent of `%s`", v[i - 1]->path);
		else if ((r = set_attrs(c, pfd, base, v[i - 1])) < 0)
			r = mc_err_set(c->err, -r, "set attributes of `%s`", v[i - 1]->path);
	}
	if (r == 0) {
		struct timespec ts[2] = { { v[0]->mtime, 0 }, { v[0]->mtime, 0 } };

		if ((c->as_root && fchown(c->rootfd, v[0]->uid, v[0]->gid) < 0) ||
		    fchmod(c->rootfd, v[0]->mode) < 0 || futimens(c->rootfd, ts) < 0)
			r = mc_err_set(c->err, errno, "set attributes of the image root");
	}
	free(v);
	return r;
}

int mc_imgstore_checkout(struct mc_imgstore *store, const struct mc_git_oid *tree, const char *dir,
			 struct mc_err *err)
{
	struct co c = { .repo = mc_imgstore_repo(store), .err = err, .rootfd = -1, .cachedfd = -1 };
	char tmp[PATH_MAX], parent[PATH_MAX];
	const char *slash;
	int r;

	c.as_root = geteuid() == 0;
	if (img_model_init(&c.m) < 0)
		return mc_err_set(err, ENOMEM, "checkout");
	mc_strlcpy(parent, dir, sizeof(parent));
	while (strlen(parent) > 1 && parent[strlen(parent) - 1] == '/')
		parent[strlen(parent) - 1] = '\0';
	slash = strrchr(parent, '/');
	if (snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp-XXXXXX", slash ? (int)(slash - parent + 1) : 0,
		     parent, slash ? slash + 1 : parent) >= (int)sizeof(tmp)) {
		r = mc_err_setx(err, ENAMETOOLONG, "checkout to `%s`", dir);
		goto out;
	}
	if (slash && slash != parent) {
		char up[PATH_MAX];

		snprintf(up, sizeof(up), "%.*s", (int)(slash - parent), parent);
		r = mc_fs_mkdir_p(up, 0755, err);
		if (r < 0)
			goto out;
	}
	if (!mkdtemp(tmp)) {
		r = mc_err_set(err, errno, "checkout: create `%s`", tmp);
		goto out;
	}
	c.rootfd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c.rootfd < 0) {
		r = mc_err_set(err, errno, "open `%s`", tmp);
		rmdir(tmp);
		goto out;
	}
	r = checkout_into(&c, tree);
	if (c.cachedfd >= 0)
		close(c.cachedfd);
	close(c.rootfd);
	if (r == 0) {
		/* An existing empty directory is replaced; a non-empty one is an error. */
		if (rmdir(parent) < 0 && errno != ENOENT)
			r = mc_err_set(err, errno, "checkout: `%s` exists and is not empty", dir);
		else if (rename(tmp, parent) < 0)
			r = mc_err_set(err, errno, "checkout: rename to `%s`", dir);
	}
	if (r < 0)
		mc_fs_rm_rf(tmp, NULL); /* Best-effort: the partial tree is private to us. */
out:
	img_model_release(&c.m);
	char hex[MC_GIT_OID_HEXSZ + 1];

	return r < 0 ? mc_err_wrap(err, "check out image tree %s", mc_git_oid_fmt(tree, hex)) : 0;
}
