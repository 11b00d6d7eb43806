/* SPDX-License-Identifier: MIT */
/*
 * refs.c: references. Loose refs are files under the git directory holding an id or
 * "ref: NAME"; packed-refs holds the rest. Updates take NAME.lock with O_EXCL (the
 * same lock git takes), write it durably and rename it over the ref.
 */
#include "internal.h"

#include <mc/cleanup.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool mc_git_ref_name_ok(const char *name)
{
	size_t n = strlen(name);
	const char *comp = name;

	if (!mc_str_has_prefix(name, "refs/") || n < 6 || name[n - 1] == '/' ||
	    name[n - 1] == '.' || strstr(name, "..") || strstr(name, "@{") || strstr(name, "//"))
		return false;
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 32 || c == 127 || strchr(" ~^:?*[\\", c))
			return false;
		if (p == comp && c == '.')
			return false;
		if (c == '/') {
			if ((size_t)(p - comp) >= 5 && memcmp(p - 5, ".lock", 5) == 0)
				return false;
			comp = p + 1;
		}
	}
	return !mc_str_has_suffix(name, ".lock");
}

static bool name_ok(const char *name)
{
	return strcmp(name, "HEAD") == 0 || mc_git_ref_name_ok(name);
}

/* Reads a loose ref file: 1 = symbolic (target in @sym), 0 = id, -ENOENT, -MC_ECORRUPT. */
static int read_loose(struct mc_git_repo *repo, const char *name, struct mc_git_oid *oid, char *sym,
		      size_t symsz)
{
	char path[PATH_MAX], buf[512];
	mc_autoclose int fd = -1;
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/%s", repo->gitdir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == EISDIR || errno == ENOTDIR || errno == ELOOP ? -ENOENT : -errno;
	n = mc_read_all(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (mc_str_has_prefix(buf, "ref: ")) {
		const char *t = buf + 5;

		while (*t == ' ')
			t++;
		if (!mc_git_ref_name_ok(t) || mc_strlcpy(sym, t, symsz) >= symsz)
			return -MC_ECORRUPT;
		return 1;
	}
	if (mc_git_oid_parse(buf, oid) < 0)
		return -MC_ECORRUPT;
	return 0;
}

typedef int (*packed_cb)(const char *name, const struct mc_git_oid *oid, void *arg);

/* Walks packed-refs: "HEX NAME" lines; '#' header and '^' peeled lines are skipped. */
static int packed_foreach(struct mc_git_repo *repo, packed_cb cb, void *arg)
{
	char path[PATH_MAX], line[PATH_MAX + 64];
	mc_autofclose FILE *f = NULL;
	int r = 0;

	snprintf(path, sizeof(path), "%s/packed-refs", repo->gitdir);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		struct mc_git_oid oid;
		size_t l = strlen(line);

		if (line[0] == '#' || line[0] == '^')
			continue;
		while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
			line[--l] = '\0';
		if (l < 42 || line[40] != ' ')
			return -MC_ECORRUPT;
		line[40] = '\0';
		if (mc_git_oid_parse(line, &oid) < 0 || !mc_git_ref_name_ok(line + 41))
			return -MC_ECORRUPT;
		r = cb(line + 41, &oid, arg);
		if (r)
			break;
	}
	return r;
}

struct packed_find {
	const char *name;
	struct mc_git_oid oid;
	bool found;
};

static int packed_find_cb(const char *name, const struct mc_git_oid *oid, void *arg)
{
	struct packed_find *pf = arg;

	if (strcmp(name, pf->name) != 0)
		return 0;
	pf->oid = *oid;
	pf->found = true;
	return 1;
}

/* Follows symbolic refs; @final receives the last name (the branch HEAD points at). */
static int ref_resolve(struct mc_git_repo *repo, const char *name, struct mc_git_oid *out,
		       char *final, size_t finalsz, struct mc_err *err)
{
	char cur[PATH_MAX], sym[PATH_MAX];

	if (!name_ok(name))
		return mc_err_setx(err, EINVAL, "invalid ref name `%s`", name);
	mc_strlcpy(cur, name, sizeof(cur));
	for (int depth = 0; depth < 6; depth++) {
		struct mc_git_oid oid;
		int r = read_loose(repo, cur, &oid, sym, sizeof(sym));

		if (final)
			mc_strlcpy(final, cur, finalsz);
		if (r == 1) {
			mc_strlcpy(cur, sym, sizeof(cur));
			continue;
		}
		if (r == 0) {
			*out = oid;
			return 0;
		}
		if (r == -ENOENT) {
			struct packed_find pf = { .name = cur };

			r = packed_foreach(repo, packed_find_cb, &pf);
			if (r < 0)
				return mc_err_setx(err, MC_ECORRUPT, "malformed packed-refs");
			if (!pf.found)
				return mc_err_setx(err, ENOENT, "ref `%s` not found", cur);
			*out = pf.oid;
			return 0;
		}
		if (r == -MC_ECORRUPT)
			return mc_err_setx(err, MC_ECORRUPT, "ref `%s` is malformed", cur);
		return mc_err_set(err, -r, "read ref `%s`", cur);
	}
	return mc_err_setx(err, ELOOP, "ref `%s`: symbolic refs nest too deeply", name);
}

int mc_git_ref_read(struct mc_git_repo *repo, const char *name, struct mc_git_oid *out,
		    struct mc_err *err)
{
	return ref_resolve(repo, name, out, NULL, 0, err);
}

/* The name an update of @name writes: HEAD (and any symref) resolves to its target. */
static int update_target(struct mc_git_repo *repo, const char *name, char *target, size_t size,
			 struct mc_err *err)
{
	struct mc_git_oid dummy;
	int r = ref_resolve(repo, name, &dummy, target, size, err);

	if (r == -ENOENT || r == 0) {
		if (err)
			mc_err_clear(err);
		return 0;
	}
	return r;
}

static int lock_ref(struct mc_git_repo *repo, const char *name, char *lock, size_t size,
		    struct mc_err *err)
{
	char dir[PATH_MAX];
	int fd;

	if (snprintf(lock, size, "%s/%s.lock", repo->gitdir, name) >= (int)size)
		return mc_err_set(err, ENAMETOOLONG, "lock ref `%s`", name);
	mc_strlcpy(dir, lock, sizeof(dir));
	*strrchr(dir, '/') = '\0';
	if (mc_fs_mkdir_p(dir, 0755, err) < 0)
		return -err->code;
	fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			return mc_err_setx(err, EBUSY,
					   "unable to lock `%s`: another update is in progress "
					   "(or remove a stale %s.lock)",
					   name, name);
		return mc_err_set(err, errno, "lock ref `%s`", name);
	}
	return fd;
}

static int check_old(struct mc_git_repo *repo, const char *name, const struct mc_git_oid *old,
		     struct mc_err *err)
{
	struct mc_git_oid cur;
	struct mc_err e = { 0 };
	int r;

	if (!old)
		return 0;
	r = ref_resolve(repo, name, &cur, NULL, 0, &e);
	if (r < 0 && r != -ENOENT) {
		if (err)
			*err = e;
		return r;
	}
	if ((r == -ENOENT && !mc_git_oid_is_zero(old)) ||
	    (r == 0 && mc_git_oid_cmp(&cur, old) != 0))
		return mc_err_setx(err, ESTALE, "ref `%s` is not at the expected value", name);
	return 0;
}

static int fsync_parent(const char *path)
{
	char dir[PATH_MAX];

	mc_strlcpy(dir, path, sizeof(dir));
	*strrchr(dir, '/') = '\0';
	mc_autoclose int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

int mc_git_ref_update(struct mc_git_repo *repo, const char *name, const struct mc_git_oid *new_oid,
		      const struct mc_git_oid *old, struct mc_err *err)
{
	char target[PATH_MAX], lock[PATH_MAX], line[MC_GIT_OID_HEXSZ + 2];
	int fd, r;

	if (!name_ok(name))
		return mc_err_setx(err, EINVAL, "invalid ref name `%s`", name);
	mc_strlcpy(target, name, sizeof(target));
	r = update_target(repo, name, target, sizeof(target), err);
	if (r < 0)
		return r;
	fd = lock_ref(repo, target, lock, sizeof(lock), err);
	if (fd < 0)
		return fd;
	r = check_old(repo, target, old, err);
	if (r < 0)
		goto fail;
	mc_git_oid_fmt(new_oid, line);
	line[MC_GIT_OID_HEXSZ] = '\n';
	r = mc_write_all(fd, line, sizeof(line) - 1);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		mc_err_set(err, -r, "write ref `%s`", target);
		goto fail;
	}
	close(fd);
	fd = -1;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", repo->gitdir, target);
	if (rename(lock, path) < 0) {
		r = mc_err_set(err, errno, "update ref `%s`", target);
		goto fail;
	}
	if (fsync_parent(path) < 0)
		return mc_err_set(err, errno, "sync ref `%s`", target);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(lock);
	return r;
}

struct packed_copy {
	const char *skip;
	FILE *out;
	bool skipped;
};

static int packed_copy_cb(const char *name, const struct mc_git_oid *oid, void *arg)
{
	struct packed_copy *pc = arg;
	char hex[MC_GIT_OID_HEXSZ + 1];

	if (strcmp(name, pc->skip) == 0) {
		pc->skipped = true;
		return 0;
	}
	fprintf(pc->out, "%s %s\n", mc_git_oid_fmt(oid, hex), name);
	return 0;
}

/* Rewrites packed-refs without @name (under packed-refs.lock), if it is there. */
static int packed_remove(struct mc_git_repo *repo, const char *name, struct mc_err *err)
{
	char lock[PATH_MAX], path[PATH_MAX];
	struct packed_copy pc = { .skip = name };
	int fd, r;

	snprintf(path, sizeof(path), "%s/packed-refs", repo->gitdir);
	if (access(path, F_OK) < 0)
		return 0;
	snprintf(lock, sizeof(lock), "%s.lock", path);
	fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return mc_err_set(err, errno, "lock packed-refs");
	pc.out = fdopen(fd, "w");
	if (!pc.out) {
		close(fd);
		unlink(lock);
		return mc_err_set(err, errno, "lock packed-refs");
	}
	fputs("# pack-refs with: peeled fully-peeled sorted \n", pc.out);
	r = packed_foreach(repo, packed_copy_cb, &pc);
	if (fflush(pc.out) != 0 || fsync(fd) < 0)
		r = r ? r : -errno;
	fclose(pc.out);
	if (r < 0 || !pc.skipped) {
		unlink(lock);
		return r < 0 ? mc_err_set(err, -r, "rewrite packed-refs") : 0;
	}
	if (rename(lock, path) < 0) {
		r = mc_err_set(err, errno, "rewrite packed-refs");
		unlink(lock);
		return r;
	}
	return 0;
}

int mc_git_ref_delete(struct mc_git_repo *repo, const char *name, const struct mc_git_oid *old,
		      struct mc_err *err)
{
	char lock[PATH_MAX], path[PATH_MAX];
	struct mc_git_oid cur;
	int fd, r;

	if (!mc_git_ref_name_ok(name))
		return mc_err_setx(err, EINVAL, "invalid ref name `%s`", name);
	fd = lock_ref(repo, name, lock, sizeof(lock), err);
	if (fd < 0)
		return fd;
	close(fd);
	r = ref_resolve(repo, name, &cur, NULL, 0, err);
	if (r < 0)
		goto out;
	r = check_old(repo, name, old, err);
	if (r < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/%s", repo->gitdir, name);
	if (unlink(path) < 0 && errno != ENOENT) {
		r = mc_err_set(err, errno, "delete ref `%s`", name);
		goto out;
	}
	r = packed_remove(repo, name, err);
	if (r == 0)
		fsync_parent(path);
out:
	unlink(lock);
	return r;
}

/* ---- iteration ---- */

struct ref_list {
	char **names;
	struct mc_git_oid *oids;
	size_t n, cap;
	const char *prefix;
};

static int list_add(struct ref_list *l, const char *name, const struct mc_git_oid *oid)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return 0; /* loose refs are added first and win over packed ones */
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		char **nn = realloc(l->names, nc * sizeof(*nn));

		if (!nn)
			return -ENOMEM;
		l->names = nn;
		struct mc_git_oid *no = realloc(l->oids, nc * sizeof(*no));

		if (!no)
			return -ENOMEM;
		l->oids = no;
		l->cap = nc;
	}
	l->names[l->n] = strdup(name);
	if (!l->names[l->n])
		return -ENOMEM;
	l->oids[l->n++] = *oid;
	return 0;
}

static int walk_loose(struct mc_git_repo *repo, const char *rel, struct ref_list *l)
{
	char path[PATH_MAX];
	struct dirent *de;
	int r = 0;

	snprintf(path, sizeof(path), "%s/%s", repo->gitdir, rel);
	mc_autoclosedir DIR *d = opendir(path);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char sub[PATH_MAX], sym[PATH_MAX];
		struct mc_git_oid oid;

		if (de->d_name[0] == '.' || mc_str_has_suffix(de->d_name, ".lock"))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name) >= (int)sizeof(sub))
			continue;
		if (de->d_type == DT_DIR) {
			r = walk_loose(repo, sub, l);
		} else if (mc_git_ref_name_ok(sub)) {
			int k = read_loose(repo, sub, &oid, sym, sizeof(sym));

			if (k == 1 && ref_resolve(repo, sub, &oid, NULL, 0, NULL) == 0)
				k = 0;
			if (k == 0 && mc_str_has_prefix(sub, l->prefix))
				r = list_add(l, sub, &oid);
		}
		if (r < 0)
			break;
	}
	return r;
}

static int list_packed_cb(const char *name, const struct mc_git_oid *oid, void *arg)
{
	struct ref_list *l = arg;

	if (!mc_str_has_prefix(name, l->prefix))
		return 0;
	return list_add(l, name, oid);
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int mc_git_ref_foreach(struct mc_git_repo *repo, const char *prefix, mc_git_ref_cb cb, void *arg,
		       struct mc_err *err)
{
	struct ref_list l = { .prefix = prefix };
	int r;

	r = walk_loose(repo, "refs", &l);
	if (r == 0)
		r = packed_foreach(repo, list_packed_cb, &l);
	if (r < 0) {
		r = mc_err_set(err, -r, "list refs");
		goto out;
	}
	/* Sort names and carry the ids along by sorting an array of name pointers. */
	char **sorted = malloc((l.n ? l.n : 1) * sizeof(*sorted));

	if (!sorted) {
		r = mc_err_set(err, ENOMEM, "list refs");
		goto out;
	}
	if (l.n) {
		memcpy(sorted, l.names, l.n * sizeof(*sorted));
		qsort(sorted, l.n, sizeof(*sorted), strp_cmp);
	}
	for (size_t i = 0; i < l.n && r == 0; i++) {
		size_t k = 0;

		while (l.names[k] != sorted[i])
			k++;
		r = cb(sorted[i], &l.oids[k], arg);
	}
	free(sorted);
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.names[i]);
	free(l.names);
	free(l.oids);
	return r;
}

/* ---- revisions ---- */

static int peel(struct mc_git_repo *repo, struct mc_git_oid *oid, enum mc_git_type want,
		struct mc_err *err)
{
	char hex[MC_GIT_OID_HEXSZ + 1];

	for (int depth = 0; depth < 16; depth++) {
		enum mc_git_type t;
		void *d;
		size_t l;
		int r = mc_git_odb_read(repo, oid, &t, &d, &l, err);

		if (r < 0)
			return r;
		if (t == want || want == MC_GIT_BAD) {
			if (want == MC_GIT_BAD && t == MC_GIT_TAG)
				goto tag;
			free(d);
			return 0;
		}
		if (t == MC_GIT_COMMIT && want == MC_GIT_TREE) {
			struct mc_git_commit c;

			r = mc_git_commit_parse(d, l, &c);
			free(d);
			if (r < 0)
				return mc_err_setx(err, MC_ECORRUPT, "object %s: malformed commit",
						   mc_git_oid_fmt(oid, hex));
			*oid = c.tree;
			mc_git_commit_release(&c);
			return 0;
		}
		if (t != MC_GIT_TAG) {
			free(d);
			return mc_err_setx(err, EINVAL, "object %s is a %s, not a %s",
					   mc_git_oid_fmt(oid, hex), mc_git_type_name(t),
					   mc_git_type_name(want));
		}
tag:
		if (l < 48 || memcmp(d, "object ", 7) != 0 || ((char *)d)[47] != '\n') {
			free(d);
			return mc_err_setx(err, MC_ECORRUPT, "object %s: malformed tag",
					   mc_git_oid_fmt(oid, hex));
		}
		((char *)d)[47] = '\0';
		r = mc_git_oid_parse((char *)d + 7, oid);
		free(d);
		if (r < 0)
			return mc_err_setx(err, MC_ECORRUPT, "malformed tag");
	}
	return mc_err_setx(err, ELOOP, "tags nest too deeply");
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (git_hex_val((unsigned char)s[i]) < 0)
			return false;
	return true;
}

static int resolve_base(struct mc_git_repo *repo, const char *base, struct mc_git_oid *out,
			struct mc_err *err)
{
	/* git's dwim order: the name itself, then under refs/, tags, heads, remotes. */
	static const char *const rules[][2] = { { "", "" },
						{ "refs/", "" },
						{ "refs/tags/", "" },
						{ "refs/heads/", "" },
						{ "refs/remotes/", "" },
						{ "refs/remotes/", "/HEAD" } };
	size_t n = strlen(base);
	char name[PATH_MAX];

	if (n == MC_GIT_OID_HEXSZ && mc_git_oid_parse(base, out) == 0)
		return 0;
	for (size_t i = 0; i < MC_ARRAY_SIZE(rules); i++) {
		if (snprintf(name, sizeof(name), "%s%s%s", rules[i][0], base, rules[i][1]) >=
		    (int)sizeof(name))
			break;
		if (!name_ok(name))
			continue;
		int r = ref_resolve(repo, name, out, NULL, 0, err);

		if (r == 0)
			return 0;
		if (r != -ENOENT)
			return r;
	}
	if (n >= 4 && n < MC_GIT_OID_HEXSZ && all_hex(base, n))
		return mc_git_odb_find_prefix(repo, base, out, err);
	return mc_err_setx(err, ENOENT, "unknown revision `%s`", base);
}

static int nth_parent(struct mc_git_repo *repo, struct mc_git_oid *oid, unsigned long nth,
		      struct mc_err *err)
{
	struct mc_git_commit c;
	char hex[MC_GIT_OID_HEXSZ + 1];
	int r;

	r = peel(repo, oid, MC_GIT_COMMIT, err);
	if (r < 0 || nth == 0)
		return r;
	r = mc_git_commit_read(repo, oid, &c, err);
	if (r < 0)
		return r;
	if (nth > c.nparents) {
		mc_git_commit_release(&c);
		return mc_err_setx(err, ENOENT, "commit %s has no parent %lu",
				   mc_git_oid_fmt(oid, hex), nth);
	}
	*oid = c.parents[nth - 1];
	mc_git_commit_release(&c);
	return 0;
}

int mc_git_resolve(struct mc_git_repo *repo, const char *rev, struct mc_git_oid *out,
		   struct mc_err *err)
{
	char base[PATH_MAX];
	size_t bl = strcspn(rev, "^~");
	struct mc_git_oid oid;
	const char *p = rev + bl;
	int r;

	if (bl == 0 || bl >= sizeof(base))
		return mc_err_setx(err, EINVAL, "bad revision `%s`", rev);
	memcpy(base, rev, bl);
	base[bl] = '\0';
	r = resolve_base(repo, base, &oid, err);
	if (r < 0)
		return r;
	while (*p) {
		char op = *p++;
		unsigned long num = 1;
		char *e;

		if (op == '^' && *p == '{') {
			const char *close = strchr(p, '}');
			enum mc_git_type want;

			if (!close)
				return mc_err_setx(err, EINVAL, "bad revision `%s`", rev);
			if (close == p + 1)
				want = MC_GIT_BAD;
			else if ((want = mc_git_type_parse(p + 1, (size_t)(close - p - 1))) ==
				 MC_GIT_BAD)
				return mc_err_setx(err, EINVAL, "bad revision `%s`", rev);
			r = peel(repo, &oid, want, err);
			if (r < 0)
				return r;
			p = close + 1;
			continue;
		}
		if (isdigit((unsigned char)*p)) {
			num = strtoul(p, &e, 10);
			p = e;
		}
		if (op == '^') {
			r = nth_parent(repo, &oid, num, err);
		} else {
			for (unsigned long i = 0; i < num && r == 0; i++)
				r = nth_parent(repo, &oid, 1, err);
		}
		if (r < 0)
			return r;
	}
	*out = oid;
	return 0;
}
