/* SPDX-License-Identifier: MIT */
/*
 * store.c: the image store's repository side: opening the bare repository, importing
 * a directory or a tar as a commit under refs/images/NAME, listing, history, resolve
 * and remove. Writers hold an flock on the repository for the whole update.
 */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

struct mc_imgstore {
	struct mc_git_repo *repo;
	int lockfd; /* the git directory, flock'ed by writers */
};

int mc_imgstore_open(const char *path, struct mc_imgstore **out, struct mc_err *err)
{
	struct mc_imgstore *s;
	int r;

	if (!path)
		path = MC_IMGSTORE_DEFAULT_PATH;
	s = calloc(1, sizeof(*s));
	if (!s)
		return mc_err_set(err, ENOMEM, "open image store");
	s->lockfd = -1;
	r = mc_git_repo_open(path, false, &s->repo, NULL);
	if (r < 0) {
		r = mc_fs_mkdir_p(path, 0700, err);
		if (r == 0)
			r = mc_git_repo_init(path, true, &s->repo, err);
		if (r < 0) {
			free(s);
			return mc_err_wrap(err, "open image store `%s`", path);
		}
	}
	s->lockfd = open(mc_git_repo_gitdir(s->repo), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->lockfd < 0) {
		r = mc_err_set(err, errno, "open image store `%s`", path);
		mc_imgstore_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void mc_imgstore_close(struct mc_imgstore *store)
{
	if (!store)
		return;
	if (store->lockfd >= 0)
		close(store->lockfd);
	mc_git_repo_free(store->repo);
	free(store);
}

struct mc_git_repo *mc_imgstore_repo(struct mc_imgstore *store)
{
	return store->repo;
}

bool mc_imgstore_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 128 ||
	    !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') ||
	      (name[0] >= '0' && name[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return !strstr(name, "..") && !mc_str_has_suffix(name, ".lock") && name[n - 1] != '.';
}

static int ref_of(const char *name, char *ref, size_t size, struct mc_err *err)
{
	if (!mc_imgstore_name_ok(name))
		return mc_err_setx(err, EINVAL,
				   "invalid image name `%s` (letters, digits, `.`, `_`, `-`)",
				   name);
	snprintf(ref, size, "refs/images/%s", name);
	return 0;
}

static int lock_store(struct mc_imgstore *s, struct mc_err *err)
{
	while (flock(s->lockfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return mc_err_set(err, errno, "lock image store");
	return 0;
}

static void unlock_store(struct mc_imgstore *s)
{
	flock(s->lockfd, LOCK_UN);
}

/*
 * HEAD is detached at the newest imported image's commit, so that git (fsck, log)
 * sees a born HEAD in a store that has images (git only accepts refs/heads/ as a
 * symbolic HEAD). A store without images points it back at refs/heads/master.
 */
static int point_head(struct mc_imgstore *s, const struct mc_git_oid *oid, struct mc_err *err)
{
	char path[PATH_MAX], line[64], hex[MC_GIT_OID_HEXSZ + 1];

	snprintf(path, sizeof(path), "%s/HEAD", mc_git_repo_gitdir(s->repo));
	if (oid)
		snprintf(line, sizeof(line), "%s\n", mc_git_oid_fmt(oid, hex));
	else
		snprintf(line, sizeof(line), "ref: refs/heads/master\n");
	return mc_fs_write_atomic(path, line, strlen(line), 0644, err);
}

struct first_ref {
	struct mc_git_oid oid;
	bool found;
};

static int first_ref_cb(const char *name, const struct mc_git_oid *oid, void *arg)
{
	struct first_ref *f = arg;

	(void)name;
	f->oid = *oid;
	f->found = true;
	return 1;
}

/* Writes the model, commits it on top of the image's previous version, moves the ref. */
static int commit_model(struct mc_imgstore *s, const char *name, struct img_model *m,
			const char *message, const char *path, struct mc_git_oid *commit,
			struct mc_err *err)
{
	struct mc_git_ident who = { .name = "mycontainer", .email = "mycontainer@localhost" };
	struct mc_git_oid top, prev, c;
	char ref[256], msg[PATH_MAX + 64];
	bool have_prev;
	int r;

	ref_of(name, ref, sizeof(ref), NULL);
	r = img_model_write(m, s->repo, &top, err);
	/* Objects must be durable (and visible) before the ref can name them. */
	if (mc_git_batch_end(s->repo, r < 0 ? NULL : err) < 0 && r == 0)
		r = -1;
	if (r < 0)
		return r;
	have_prev = mc_git_ref_read(s->repo, ref, &prev, NULL) == 0;
	who.when = (int64_t)time(NULL);
	if (message)
		snprintf(msg, sizeof(msg), "%s\n", message);
	else
		snprintf(msg, sizeof(msg), "import %s\n", path);
	r = mc_git_commit_write(s->repo, &top, &prev, have_prev ? 1 : 0, &who, &who, msg, &c, err);
	if (r < 0)
		return r;
	struct mc_git_oid zero = { { 0 } };

	r = mc_git_ref_update(s->repo, ref, &c, have_prev ? &prev : &zero, err);
	if (r < 0)
		return r;
	r = point_head(s, &c, err);
	if (r < 0)
		return r;
	if (commit)
		*commit = c;
	return 0;
}

int mc_imgstore_import_dir(struct mc_imgstore *store, const char *name, const char *path,
			   const char *message, struct mc_git_oid *commit, struct mc_err *err)
{
	struct img_model m;
	char ref[256];
	int r;

	if (ref_of(name, ref, sizeof(ref), err) < 0)
		return -EINVAL;
	if (img_model_init(&m) < 0)
		return mc_err_set(err, ENOMEM, "import");
	r = lock_store(store, err);
	if (r < 0)
		goto out;
	mc_git_batch_begin(store->repo);
	r = img_scan_dir(&m, store->repo, path, err);
	if (r < 0)
		mc_git_batch_end(store->repo, NULL);
	else
		r = commit_model(store, name, &m, message, path, commit, err);
	unlock_store(store);
out:
	img_model_release(&m);
	return r < 0 ? mc_err_wrap(err, "import `%s` as image `%s`", path, name) : 0;
}

/* The tar is read through zlib's gzread, which passes uncompressed input through. */
static ssize_t gz_read(void *arg, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		int n = gzread((gzFile)arg, (char *)buf + done,
			       (unsigned)MC_MIN(len - done, (size_t)1 << 30));

		if (n < 0)
			return -EIO;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int import_tar_stream(struct mc_imgstore *store, struct img_model *m, gzFile gz,
			     struct mc_err *err)
{
	struct tar_reader tr;
	struct tar_entry e;
	struct mc_buf data = MC_BUF_INIT;
	int r;

	tar_reader_init(&tr, gz_read, gz);
	while ((r = tar_next(&tr, &e, err)) > 0) {
		struct img_node n = { .path = (char *)e.path,
				      .type = e.type,
				      .mode = e.mode,
				      .uid = e.uid,
				      .gid = e.gid,
				      .mtime = e.mtime,
				      .devmajor = e.devmajor,
				      .devminor = e.devminor,
				      .link = (char *)e.link };

		if (e.type == 'f') {
			data.len = 0;
			if (e.size > SIZE_MAX / 2 || mc_buf_reserve(&data, (size_t)e.size) < 0) {
				r = mc_err_set(err, ENOMEM, "tar member `%s`", e.path);
				break;
			}
			ssize_t got = tar_read_data(&tr, data.data, (size_t)e.size, err);

			if (got < 0) {
				r = (int)got;
				break;
			}
			r = mc_git_odb_write(store->repo, MC_GIT_BLOB, data.data, (size_t)got,
					     &n.oid, err);
		} else if (e.type == 'l') {
			r = mc_git_odb_write(store->repo, MC_GIT_BLOB, e.link, strlen(e.link),
					     &n.oid, err);
		}
		if (r >= 0)
			r = img_model_add(m, &n, err);
		if (r < 0)
			break;
	}
	tar_reader_release(&tr);
	mc_buf_release(&data);
	return r;
}

int mc_imgstore_import_tar(struct mc_imgstore *store, const char *name, const char *path,
			   const char *message, struct mc_git_oid *commit, struct mc_err *err)
{
	struct img_model m;
	char ref[256];
	gzFile gz;
	int fd, r;

	if (ref_of(name, ref, sizeof(ref), err) < 0)
		return -EINVAL;
	fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mc_err_set(err, errno, "open `%s`", path);
	gz = gzdopen(fd, "rb");
	if (!gz) {
		close(fd);
		return mc_err_set(err, ENOMEM, "open `%s`", path);
	}
	if (img_model_init(&m) < 0) {
		gzclose(gz);
		return mc_err_set(err, ENOMEM, "import");
	}
	r = lock_store(store, err);
	if (r == 0) {
		mc_git_batch_begin(store->repo);
		r = import_tar_stream(store, &m, gz, err);
		if (r < 0)
			mc_git_batch_end(store->repo, NULL);
		else
			r = commit_model(store, name, &m, message, path, commit, err);
		unlock_store(store);
	}
	gzclose(gz);
	img_model_release(&m);
	return r < 0 ? mc_err_wrap(err, "import `%s` as image `%s`", path, name) : 0;
}

static int fill_info(struct mc_imgstore *s, const char *name, const struct mc_git_oid *oid,
		     struct mc_git_commit *c, struct mc_imgstore_info *info, char *subject,
		     size_t size, struct mc_err *err)
{
	int r = mc_git_commit_read(s->repo, oid, c, err);

	if (r < 0)
		return r;
	size_t l = strcspn(c->message, "\n");

	snprintf(subject, size, "%.*s", (int)l, c->message);
	info->name = name;
	info->commit = *oid;
	info->tree = c->tree;
	info->when = c->committer.when;
	info->message = subject;
	return 0;
}

struct list_ctx {
	struct mc_imgstore *s;
	mc_imgstore_cb cb;
	void *arg;
	struct mc_err *err;
	int failed;
};

static int list_cb(const char *ref, const struct mc_git_oid *oid, void *arg)
{
	struct list_ctx *lc = arg;
	struct mc_imgstore_info info;
	struct mc_git_commit c;
	char subject[512];
	int r;

	r = fill_info(lc->s, ref + strlen("refs/images/"), oid, &c, &info, subject, sizeof(subject),
		      lc->err);
	if (r < 0) {
		lc->failed = r;
		return 1;
	}
	r = lc->cb(&info, lc->arg);
	mc_git_commit_release(&c);
	return r;
}

int mc_imgstore_list(struct mc_imgstore *store, mc_imgstore_cb cb, void *arg, struct mc_err *err)
{
	struct list_ctx lc = { store, cb, arg, err, 0 };
	int r = mc_git_ref_foreach(store->repo, "refs/images/", list_cb, &lc, err);

	return lc.failed ? mc_err_wrap(err, "list images") : r;
}

int mc_imgstore_history(struct mc_imgstore *store, const char *name, mc_imgstore_cb cb, void *arg,
			struct mc_err *err)
{
	struct mc_git_oid oid;
	char ref[256], subject[512];
	int r;

	if (ref_of(name, ref, sizeof(ref), err) < 0)
		return -EINVAL;
	r = mc_git_ref_read(store->repo, ref, &oid, err);
	if (r < 0)
		return r == -ENOENT ? mc_err_setx(err, ENOENT, "no image `%s`", name) : r;
	/* Bounded: a commit graph cannot loop (ids are hashes of the parents). */
	for (;;) {
		struct mc_imgstore_info info;
		struct mc_git_commit c;

		r = fill_info(store, name, &oid, &c, &info, subject, sizeof(subject), err);
		if (r < 0)
			return r;
		r = cb(&info, arg);
		bool more = c.nparents > 0;

		if (more)
			oid = c.parents[0];
		mc_git_commit_release(&c);
		if (r || !more)
			return r;
	}
}

int mc_imgstore_head(struct mc_imgstore *store, const char *name, struct mc_git_oid *commit,
		     struct mc_err *err)
{
	char ref[256];
	int r;

	if (ref_of(name, ref, sizeof(ref), err) < 0)
		return -EINVAL;
	r = mc_git_ref_read(store->repo, ref, commit, err);
	if (r == -ENOENT)
		return mc_err_setx(err, ENOENT, "no image `%s`", name);
	return r < 0 ? r : 0;
}

int mc_imgstore_commit_tree(struct mc_imgstore *store, const struct mc_git_oid *commit,
			    struct mc_git_oid *tree, struct mc_err *err)
{
	struct mc_git_commit c;
	int r = mc_git_commit_read(store->repo, commit, &c, err);

	if (r < 0)
		return r;
	*tree = c.tree;
	mc_git_commit_release(&c);
	return 0;
}

int mc_imgstore_resolve(struct mc_imgstore *store, const char *name, struct mc_git_oid *tree,
			struct mc_err *err)
{
	struct mc_git_oid commit;
	int r = mc_imgstore_head(store, name, &commit, err);

	return r < 0 ? r : mc_imgstore_commit_tree(store, &commit, tree, err);
}

int mc_imgstore_remove(struct mc_imgstore *store, const char *name, struct mc_err *err)
{
	char ref[256];
	int r;

	if (ref_of(name, ref, sizeof(ref), err) < 0)
		return -EINVAL;
	r = lock_store(store, err);
	if (r < 0)
		return r;
	r = mc_git_ref_delete(store->repo, ref, NULL, err);
	if (r == 0) {
		struct first_ref f = { .found = false };

		mc_git_ref_foreach(store->repo, "refs/images/", first_ref_cb, &f, NULL);
		r = point_head(store, f.found ? &f.oid : NULL, err);
	}
	unlock_store(store);
	if (r == -ENOENT)
		return mc_err_setx(err, ENOENT, "no image `%s`", name);
	return r;
}
