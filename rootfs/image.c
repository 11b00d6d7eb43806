/* SPDX-License-Identifier: MIT */
/*
 * image.c: images by name on top of the image store DATA_ROOT/images.git: resolving a
 * name to its shared checked-out tree DATA_ROOT/rootfs/TREE-ID (checking it out once,
 * under a lock), importing, listing, removing, pruning unused trees, and migrating the
 * old plain-directory images DATA_ROOT/images/NAME/rootfs into the store.
 */
#include <mc/rootfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mc/common.h>

/*
 * DATA_ROOT/
 *   images.git/            the store: refs/images/NAME -> commit -> tree {manifest, rootfs}
 *   rootfs/.lock           flock'ed by every check-out and prune
 *   rootfs/TREE-ID/        a checked-out image tree, the overlay lower dir of containers
 *   rootfs/.TREE-ID.tmp-X  a check-out in progress (or debris of a crashed one)
 *   images/NAME/rootfs     symlink to rootfs/TREE-ID for tools (crun bundles); never read
 *   rootfs/.resolved/NAME  "COMMIT TREE\n": the tree of the commit NAME pointed to when
 *                          last resolved (see resolved_read)
 */
#define STORE_DIR "images.git"
#define TREES_DIR "rootfs"
#define LINKS_DIR "images"

int mc_rootfs_image_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > MC_ROOTFS_IMAGE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '-'))
			continue;
		return 0;
	}
	/* The ref refs/images/NAME must be valid too (no `..`, trailing `.`, `.lock`). */
	return mc_imgstore_name_ok(name);
}

static int path_join(char *out, size_t size, const char *a, const char *b, struct mc_err *err)
{
	if (snprintf(out, size, "%s/%s", a, b) >= (int)size)
		return mc_err_setx(err, ENAMETOOLONG, "path `%s/%s` too long", a, b);
	return 0;
}

int mc_rootfs_store_open(const char *data_root, struct mc_imgstore **out, struct mc_err *err)
{
	char path[PATH_MAX];

	if (path_join(path, sizeof(path), data_root, STORE_DIR, err) < 0)
		return -err->code;
	return mc_imgstore_open(path, out, err);
}

static int tree_dir(const char *data_root, const struct mc_git_oid *tree, char *out, size_t size,
		    struct mc_err *err)
{
	char hex[MC_GIT_OID_HEXSZ + 1];

	if (snprintf(out, size, "%s/" TREES_DIR "/%s", data_root, mc_git_oid_fmt(tree, hex)) >=
	    (int)size)
		return mc_err_setx(err, ENAMETOOLONG, "data root path too long");
	return 0;
}

/* lock_trees: the flock serialising check-outs and prunes of DATA_ROOT/rootfs. */
static int lock_trees(const char *data_root, struct mc_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int fd;

	if (path_join(dir, sizeof(dir), data_root, TREES_DIR, err) < 0 ||
	    path_join(path, sizeof(path), dir, ".lock", err) < 0)
		return -err->code;
	/* 0711: a container's root in a user namespace must be able to reach its lower dir. */
	if (mc_fs_mkdir_p(dir, 0711, err) < 0)
		return -err->code;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return mc_err_set(err, errno, "open `%s`", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;

			close(fd);
			return mc_err_set(err, e, "lock `%s`", path);
		}
	}
	return fd;
}

static bool is_tree_name(const char *s)
{
	return strlen(s) == MC_GIT_OID_HEXSZ && strspn(s, "0123456789abcdef") == MC_GIT_OID_HEXSZ;
}

/*
 * Removes what a crashed check-out or prune left: `.TREE.tmp-*` entries. Only called
 * with the lock held, and every check-out holds it, so none of them is in progress.
 */
static void sweep_debris(const char *data_root)
{
	char dir[PATH_MAX], path[PATH_MAX];
	mc_autoclosedir DIR *d = NULL;
	struct dirent *de;

	if (path_join(dir, sizeof(dir), data_root, TREES_DIR, NULL) < 0 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] != '.' || !strstr(de->d_name, ".tmp-") ||
		    path_join(path, sizeof(path), dir, de->d_name, NULL) < 0)
			continue;
		/* Best-effort: debris only costs disk space; the next sweep retries. */
		mc_fs_rm_rf(path, NULL);
	}
}

/*
 * check_out: makes DATA_ROOT/rootfs/TREE-ID exist. Under the lock the directory is
 * stat'ed again: a concurrent first run may have checked it out while we waited. The
 * store writes into a temporary sibling and renames it, so the directory never exists
 * half-written, even after a crash.
 */
static int check_out(const char *data_root, struct mc_imgstore *store,
		     const struct mc_git_oid *tree, const char *dir, struct mc_err *err)
{
	struct stat st;
	int lock, r = 0;

	lock = lock_trees(data_root, err);
	if (lock < 0)
		return lock;
	if (stat(dir, &st) < 0) {
		sweep_debris(data_root);
		r = mc_imgstore_checkout(store, tree, dir, err);
	}
	close(lock);
	return r;
}

/*
 * update_link: points DATA_ROOT/images/NAME/rootfs at @target (NULL: removes the
 * image's directory). The link is replaced with a rename, so readers see either the
 * old or the new target. An old plain-directory image there is moved away first.
 */
static int update_link(const char *data_root, const char *name, const char *target,
		       struct mc_err *err)
{
	char dir[PATH_MAX], link[PATH_MAX], tmp[PATH_MAX + 32], aside[PATH_MAX + 32];
	struct stat st;

	if (snprintf(dir, sizeof(dir), "%s/" LINKS_DIR "/%s", data_root, name) >=
		    (int)sizeof(dir) ||
	    path_join(link, sizeof(link), dir, "rootfs", err) < 0)
		return mc_err_setx(err, ENAMETOOLONG, "data root path too long");
	if (lstat(link, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(aside, sizeof(aside), "%s/" LINKS_DIR "/.old-%s.%d", data_root, name,
			 (int)getpid());
		if (rename(dir, aside) < 0)
			return mc_err_set(err, errno, "rename `%s`", dir);
		/* Best-effort: the old tree is already imported or superseded. */
		mc_fs_rm_rf(aside, NULL);
	}
	if (!target)
		return mc_fs_rm_rf(dir, err);
	if (mc_fs_mkdir_p(dir, 0711, err) < 0)
		return -err->code;
	snprintf(tmp, sizeof(tmp), "%s/.rootfs.%d", dir, (int)getpid());
	unlink(tmp);
	if (symlink(target, tmp) < 0)
		return mc_err_set(err, errno, "symlink `%s`", tmp);
	if (rename(tmp, link) < 0) {
		int e = errno;

		unlink(tmp);
		return mc_err_set(err, e, "rename `%s`", link);
	}
	return 0;
}

/* materialize: checks @tree out (if needed) and points the image's link at it. */
static int materialize(const char *data_root, struct mc_imgstore *store, const char *name,
		       const struct mc_git_oid *tree, char *out, size_t size, struct mc_err *err)
{
	struct stat st;

	if (tree_dir(data_root, tree, out, size, err) < 0)
		return -err->code;
	if (stat(out, &st) < 0 && check_out(data_root, store, tree, out, err) < 0)
		return -err->code;
	return update_link(data_root, name, out, err);
}

/*
 * migrate: an image of the old layout, a plain directory DATA_ROOT/images/NAME/rootfs
 * with no ref in the store, is imported as the image's first version. -ENOENT if
 * there is none.
 */
static int migrate(const char *data_root, struct mc_imgstore *store, const char *name,
		   struct mc_git_oid *tree, struct mc_err *err)
{
	char old[PATH_MAX], msg[PATH_MAX + 64], lower[PATH_MAX];
	struct stat st;
	int lock, r;

	if (snprintf(old, sizeof(old), "%s/" LINKS_DIR "/%s/rootfs", data_root, name) >=
		    (int)sizeof(old) ||
	    lstat(old, &st) < 0 || !S_ISDIR(st.st_mode))
		return -ENOENT;
	/* Under the tree lock: two first runs of an old image import it once. */
	lock = lock_trees(data_root, err);
	if (lock < 0)
		return lock;
	r = mc_imgstore_resolve(store, name, tree, NULL);
	if (r == -ENOENT) {
		snprintf(msg, sizeof(msg), "migrate plain-directory image %s", old);
		r = mc_imgstore_import_dir(store, name, old, msg, NULL, err);
		if (r == 0)
			r = mc_imgstore_resolve(store, name, tree, err);
	}
	close(lock);
	if (r < 0)
		return r;
	return materialize(data_root, store, name, tree, lower, sizeof(lower), err);
}

static int unknown_image(const char *name, struct mc_err *err)
{
	return mc_err_setx(
		err, ENOENT,
		"unknown image `%s` (build it with `mycontainer image build busybox|dist` "
		"or `mycontainer image import %s FILE.tar|DIR`)",
		name, name);
}

/*
 * The commit -> tree step of a resolve reads, inflates and SHA-1-checks the commit
 * object; OpenSSL's digest set-up alone is ~5M instructions (more than the rest of a
 * `run` before clone). Git objects never change, so the tree of a verified commit is
 * remembered per image name; the hot path reads the ref, then this file, and uses it
 * only if it names exactly the commit the ref points to now. A damaged file (bad
 * format, other commit) falls back to the object read and is rewritten; written by
 * rename without fsync, since a lost file only costs one object read.
 */
#define RESOLVED_DIR TREES_DIR "/.resolved"
#define RESOLVED_LEN (2 * MC_GIT_OID_HEXSZ + 2)

static bool resolved_read(const char *data_root, const char *name, const struct mc_git_oid *commit,
			  struct mc_git_oid *tree)
{
	char path[PATH_MAX], buf[RESOLVED_LEN + 2];
	struct mc_git_oid c;
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/" RESOLVED_DIR "/%s", data_root, name) >=
	    (int)sizeof(path))
		return false;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = mc_read_all(fd, buf, sizeof(buf));
	close(fd);
	if (n != RESOLVED_LEN || buf[MC_GIT_OID_HEXSZ] != ' ' || buf[RESOLVED_LEN - 1] != '\n')
		return false;
	buf[MC_GIT_OID_HEXSZ] = buf[RESOLVED_LEN - 1] = '\0';
	return mc_git_oid_parse(buf, &c) == 0 && mc_git_oid_cmp(&c, commit) == 0 &&
	       mc_git_oid_parse(buf + MC_GIT_OID_HEXSZ + 1, tree) == 0;
}

/* Best-effort: without the file the next resolve reads the commit object again. */
static void resolved_write(const char *data_root, const char *name, const struct mc_git_oid *commit,
			   const struct mc_git_oid *tree)
{
	char dir[PATH_MAX], path[PATH_MAX + 80], tmp[PATH_MAX + 100];
	char ch[MC_GIT_OID_HEXSZ + 1], th[MC_GIT_OID_HEXSZ + 1], buf[RESOLVED_LEN + 1];
	int fd, ok;

	if (snprintf(dir, sizeof(dir), "%s/" RESOLVED_DIR, data_root) >= (int)sizeof(dir))
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp-%d", dir, name, (int)getpid());
	snprintf(buf, sizeof(buf), "%s %s\n", mc_git_oid_fmt(commit, ch), mc_git_oid_fmt(tree, th));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	ok = mc_write_all(fd, buf, RESOLVED_LEN) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

int mc_rootfs_image_resolve(const char *data_root, const char *name, char *out, size_t size,
			    struct mc_err *err)
{
	struct mc_imgstore *store = NULL;
	struct mc_git_oid commit, tree;
	char spath[PATH_MAX], old[PATH_MAX];
	struct stat st;
	int r;

	if (!mc_rootfs_image_name_valid(name))
		return mc_err_setx(err, EINVAL, "invalid image name `%s`", name);
	if (path_join(spath, sizeof(spath), data_root, STORE_DIR, err) < 0)
		return -err->code;
	/* No store yet and no old image to migrate: a typo must not create a store. */
	if (stat(spath, &st) < 0 && (snprintf(old, sizeof(old), "%s/" LINKS_DIR "/%s/rootfs",
					      data_root, name) >= (int)sizeof(old) ||
				     lstat(old, &st) < 0 || !S_ISDIR(st.st_mode)))
		return unknown_image(name, err);
	r = mc_imgstore_open(spath, &store, err);
	if (r < 0)
		return r;
	r = mc_imgstore_head(store, name, &commit, err);
	if (r == 0 && !resolved_read(data_root, name, &commit, &tree)) {
		r = mc_imgstore_commit_tree(store, &commit, &tree, err);
		if (r == 0)
			resolved_write(data_root, name, &commit, &tree);
	}
	if (r == -ENOENT) {
		r = migrate(data_root, store, name, &tree, err);
		if (r == -ENOENT)
			r = unknown_image(name, err);
		if (r == 0)
			r = tree_dir(data_root, &tree, out, size, err);
		goto out;
	}
	if (r < 0)
		goto out;
	r = tree_dir(data_root, &tree, out, size, err);
	/* The hot path ends here: the tree is checked out already. */
	if (r < 0 || (stat(out, &st) == 0 && S_ISDIR(st.st_mode)))
		goto out;
	/* Before checking out, the tree comes from the object, never from the file. */
	r = mc_imgstore_commit_tree(store, &commit, &tree, err);
	if (r == 0)
		r = tree_dir(data_root, &tree, out, size, err);
	if (r == 0)
		r = check_out(data_root, store, &tree, out, err);
out:
	mc_imgstore_close(store);
	return r < 0 ? r : 0;
}

int mc_rootfs_image_import(const char *data_root, const char *name, const char *path,
			   const char *message, struct mc_git_oid *commit, struct mc_err *err)
{
	struct mc_imgstore *store = NULL;
	struct mc_git_oid prev, c, tree;
	char ref[256], lower[PATH_MAX];
	bool had_prev;
	struct stat st;
	int r;

	if (!mc_rootfs_image_name_valid(name))
		return mc_err_setx(err, EINVAL,
				   "invalid image name `%s` (lower-case letters, digits, `.`, `_`, "
				   "`-`; at most %d bytes)",
				   name, MC_ROOTFS_IMAGE_NAME_MAX);
	if (strcmp(path, "-") && stat(path, &st) < 0)
		return mc_err_set(err, errno, "import `%s`", path);
	r = mc_rootfs_store_open(data_root, &store, err);
	if (r < 0)
		return r;
	snprintf(ref, sizeof(ref), "refs/images/%s", name);
	had_prev = mc_git_ref_read(mc_imgstore_repo(store), ref, &prev, NULL) == 0;
	if (strcmp(path, "-") && S_ISDIR(st.st_mode))
		r = mc_imgstore_import_dir(store, name, path, message, &c, err);
	else
		r = mc_imgstore_import_tar(store, name, path, message, &c, err);
	if (r == 0)
		r = mc_imgstore_resolve(store, name, &tree, err);
	if (r == 0 && materialize(data_root, store, name, &tree, lower, sizeof(lower), err) < 0) {
		struct mc_git_repo *repo = mc_imgstore_repo(store);

		r = -err->code;
		/*
		 * An image that cannot be checked out here (devices without CAP_MKNOD, a full
		 * disk) must not become the version `run` picks: the ref goes back. The new
		 * objects stay unreferenced until a git gc, as after `image rm`.
		 */
		if (had_prev)
			mc_git_ref_update(repo, ref, &prev, &c, NULL);
		else
			mc_git_ref_delete(repo, ref, &c, NULL);
	}
	mc_imgstore_close(store);
	if (r < 0)
		return r;
	if (commit)
		*commit = c;
	return 0;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void mc_rootfs_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

struct names {
	char **v;
	size_t n;
	int failed;
};

static int names_add(const struct mc_imgstore_info *info, void *arg)
{
	struct names *ns = arg;
	char **nv = realloc(ns->v, (ns->n + 1) * sizeof(*nv));

	if (!nv) {
		ns->failed = -ENOMEM;
		return 1;
	}
	ns->v = nv;
	nv[ns->n] = strdup(info->name);
	if (!nv[ns->n]) {
		ns->failed = -ENOMEM;
		return 1;
	}
	ns->n++;
	return 0;
}

/* migrate_all: imports every old plain-directory image that has no ref yet. */
static void migrate_all(const char *data_root, struct mc_imgstore *store)
{
	char path[PATH_MAX];
	mc_autoclosedir DIR *d = NULL;
	struct dirent *de;

	if (path_join(path, sizeof(path), data_root, LINKS_DIR, NULL) < 0 || !(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		struct mc_git_oid tree;
		struct mc_err e = { 0 };

		if (!mc_rootfs_image_name_valid(de->d_name) ||
		    mc_imgstore_resolve(store, de->d_name, &tree, NULL) == 0)
			continue;
		/* Best-effort: a tree that cannot be imported stays as it was; `run` says why. */
		if (migrate(data_root, store, de->d_name, &tree, &e) < 0 && e.code)
			mc_log_warn("image `%s`: %s", de->d_name, e.msg);
	}
}

int mc_rootfs_image_list(const char *data_root, char ***names, size_t *n, struct mc_err *err)
{
	struct mc_imgstore *store = NULL;
	struct names ns = { 0 };
	int r;

	r = mc_rootfs_store_open(data_root, &store, err);
	if (r < 0)
		return r;
	migrate_all(data_root, store);
	r = mc_imgstore_list(store, names_add, &ns, err);
	mc_imgstore_close(store);
	if (r == 0 && ns.failed)
		r = mc_err_set(err, -ns.failed, "list images");
	if (r < 0) {
		mc_rootfs_names_free(ns.v, ns.n);
		return r;
	}
	if (ns.n)
		qsort(ns.v, ns.n, sizeof(*ns.v), cmpstr);
	*names = ns.v;
	*n = ns.n;
	return 0;
}

int mc_rootfs_image_rm(const char *data_root, const char *name, struct mc_err *err)
{
	struct mc_imgstore *store = NULL;
	struct mc_git_oid tree;
	int r;

	if (!mc_rootfs_image_name_valid(name))
		return mc_err_setx(err, EINVAL, "invalid image name `%s`", name);
	r = mc_rootfs_store_open(data_root, &store, err);
	if (r < 0)
		return r;
	/* An old plain-directory image is migrated first, so it can be removed like any. */
	if (mc_imgstore_resolve(store, name, &tree, NULL) == -ENOENT)
		r = migrate(data_root, store, name, &tree, err);
	if (r == 0 || r == -ENOENT) {
		r = mc_imgstore_remove(store, name, err);
		if (r == -ENOENT)
			r = mc_err_setx(err, ENOENT, "unknown image `%s`", name);
	}
	mc_imgstore_close(store);
	if (r < 0)
		return r;
	return update_link(data_root, name, NULL, err);
}

struct tree_set {
	struct mc_git_oid *v;
	size_t n, cap;
	bool oom;
};

static int tree_set_add(const struct mc_imgstore_info *info, void *arg)
{
	struct tree_set *s = arg;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct mc_git_oid *v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			s->oom = true;
			return 1;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = info->tree;
	return 0;
}

static bool kept(const char *hex, const struct tree_set *cur, char *const *keep, size_t n_keep)
{
	struct mc_git_oid oid;

	if (mc_git_oid_parse(hex, &oid) < 0)
		return true;
	for (size_t i = 0; i < cur->n; i++)
		if (!mc_git_oid_cmp(&cur->v[i], &oid))
			return true;
	/*
	 * A container's lower dir is DATA_ROOT/rootfs/TREE-ID, possibly spelled through
	 * another path to DATA_ROOT: the 40-digit id alone identifies it.
	 */
	for (size_t i = 0; i < n_keep; i++)
		if (strstr(keep[i], hex))
			return true;
	return false;
}

int mc_rootfs_image_prune(const char *data_root, char *const *keep, size_t n_keep,
			  struct mc_err *err)
{
	struct mc_imgstore *store = NULL;
	struct tree_set cur = { 0 };
	char dir[PATH_MAX], path[PATH_MAX], aside[PATH_MAX];
	mc_autoclosedir DIR *d = NULL;
	struct dirent *de;
	int r, lock, removed = 0;

	if (path_join(dir, sizeof(dir), data_root, TREES_DIR, err) < 0)
		return -err->code;
	r = mc_rootfs_store_open(data_root, &store, err);
	if (r < 0)
		return r;
	lock = lock_trees(data_root, err);
	if (lock < 0) {
		mc_imgstore_close(store);
		return lock;
	}
	/* Read the refs under the lock: a check-out of a new version cannot slip in. */
	r = mc_imgstore_list(store, tree_set_add, &cur, err);
	if (r > 0 || cur.oom)
		r = mc_err_set(err, ENOMEM, "prune image trees");
	if (r == 0 && !(d = opendir(dir)))
		r = mc_err_set(err, errno, "open `%s`", dir);
	while (r == 0 && (de = readdir(d))) {
		if (!is_tree_name(de->d_name) || kept(de->d_name, &cur, keep, n_keep) ||
		    path_join(path, sizeof(path), dir, de->d_name, NULL) < 0)
			continue;
		/* Renamed first so that a half-removed tree never carries a tree's name. */
		snprintf(aside, sizeof(aside), "%s/.%.40s.tmp-rm", dir, de->d_name);
		if (rename(path, aside) < 0) {
			r = mc_err_set(err, errno, "rename `%s`", path);
			break;
		}
		r = mc_fs_rm_rf(aside, err);
		if (r == 0)
			removed++;
	}
	close(lock);
	free(cur.v);
	mc_imgstore_close(store);
	return r < 0 ? r : removed;
}

/* Sums the sizes of the blobs of regular files below tree @oid. */
static int tree_bytes(struct mc_git_repo *repo, const struct mc_git_oid *oid, int depth,
		      uint64_t *bytes, struct mc_err *err)
{
	struct mc_git_tree_entry e;
	size_t len, pos = 0;
	void *buf;
	int r, k;

	if (depth > 256)
		return mc_err_setx(err, MC_ECORRUPT, "image tree nests too deeply");
	r = mc_git_odb_read_typed(repo, oid, MC_GIT_TREE, &buf, &len, err);
	if (r < 0)
		return r;
	while ((k = mc_git_tree_next(buf, len, &pos, &e)) > 0) {
		size_t sz;

		if (e.mode == MC_GIT_MODE_TREE)
			r = tree_bytes(repo, &e.oid, depth + 1, bytes, err);
		else if (e.mode == MC_GIT_MODE_FILE || e.mode == MC_GIT_MODE_EXEC)
			r = mc_git_odb_info(repo, &e.oid, NULL, &sz, err);
		if (r < 0)
			break;
		if (e.mode == MC_GIT_MODE_FILE || e.mode == MC_GIT_MODE_EXEC)
			*bytes += sz;
	}
	free(buf);
	if (r == 0 && k < 0)
		r = mc_err_setx(err, MC_ECORRUPT, "malformed tree");
	return r;
}

int mc_rootfs_image_size(struct mc_imgstore *store, const struct mc_git_oid *tree, uint64_t *bytes,
			 struct mc_err *err)
{
	struct mc_git_repo *repo = mc_imgstore_repo(store);
	struct mc_git_tree_entry e;
	size_t len, pos = 0;
	uint64_t total = 0;
	void *buf;
	int r, k;

	r = mc_git_odb_read_typed(repo, tree, MC_GIT_TREE, &buf, &len, err);
	if (r < 0)
		return r;
	while ((k = mc_git_tree_next(buf, len, &pos, &e)) > 0)
		if (e.name_len == 6 && !memcmp(e.name, "rootfs", 6) && e.mode == MC_GIT_MODE_TREE)
			break;
	if (k > 0)
		r = tree_bytes(repo, &e.oid, 0, &total, err);
	else
		r = mc_err_setx(err, MC_ECORRUPT, "tree is not an image (no `rootfs`)");
	free(buf);
	if (r == 0)
		*bytes = total;
	return r;
}
