/* SPDX-License-Identifier: MIT */
/* repo.c: creating, finding and opening repositories; batched object durability; config. */
#include "internal.h"

#include <mc/cleanup.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A git directory has HEAD, objects/ and refs/ (what git's is_git_directory checks). */
static bool is_gitdir(const char *path)
{
	char p[PATH_MAX];
	struct stat st;

	if (snprintf(p, sizeof(p), "%s/HEAD", path) >= (int)sizeof(p) || lstat(p, &st) < 0)
		return false;
	if (snprintf(p, sizeof(p), "%s/objects", path) >= (int)sizeof(p) || !is_dir(p))
		return false;
	if (snprintf(p, sizeof(p), "%s/refs", path) >= (int)sizeof(p) || !is_dir(p))
		return false;
	return true;
}

static int repo_new(const char *gitdir, const char *worktree, struct mc_git_repo **out,
		    struct mc_err *err)
{
	struct mc_git_repo *r = calloc(1, sizeof(*r));
	char p[PATH_MAX];

	if (!r)
		return mc_err_set(err, ENOMEM, "open repository");
	r->objfd = -1;
	r->max_object = MC_GIT_MAX_OBJECT_DEFAULT;
	r->gitdir = realpath(gitdir, NULL);
	if (!r->gitdir) {
		mc_err_set(err, errno, "open repository `%s`", gitdir);
		goto fail;
	}
	if (worktree) {
		r->worktree = realpath(worktree, NULL);
		if (!r->worktree) {
			mc_err_set(err, errno, "open work tree `%s`", worktree);
			goto fail;
		}
	}
	snprintf(p, sizeof(p), "%s/objects", r->gitdir);
	r->objfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->objfd < 0) {
		mc_err_set(err, errno, "open `%s`", p);
		goto fail;
	}
	*out = r;
	return 0;
fail:
	mc_git_repo_free(r);
	return -(err ? err->code : EINVAL);
}

void mc_git_repo_free(struct mc_git_repo *repo)
{
	if (!repo)
		return;
	if (repo->batch) {
		/* Best-effort: a batch nobody ended leaves only temp files, never bad objects. */
		for (size_t i = 0; i < repo->npending; i++)
			unlinkat(repo->objfd, repo->pending[i].tmp, 0);
	}
	free(repo->pending);
	git_packs_free(repo);
	if (repo->zdef_ok)
		deflateEnd(&repo->zdef);
	if (repo->objfd >= 0)
		close(repo->objfd);
	free(repo->gitdir);
	free(repo->worktree);
	free(repo);
}

const char *mc_git_repo_gitdir(const struct mc_git_repo *repo)
{
	return repo->gitdir;
}

const char *mc_git_repo_worktree(const struct mc_git_repo *repo)
{
	return repo->worktree;
}

void mc_git_repo_set_max_object(struct mc_git_repo *repo, size_t max)
{
	repo->max_object = max ? max : MC_GIT_MAX_OBJECT_DEFAULT;
}

static int mkdir_in(const char *base, const char *sub, struct mc_err *err)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/%s", base, sub) >= (int)sizeof(p))
		return mc_err_set(err, ENAMETOOLONG, "create `%s/%s`", base, sub);
	return mc_fs_mkdir_p(p, 0755, err);
}

static int write_if_missing(const char *base, const char *name, const char *content,
			    struct mc_err *err)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/%s", base, name) >= (int)sizeof(p))
		return mc_err_set(err, ENAMETOOLONG, "create `%s/%s`", base, name);
	if (access(p, F_OK) == 0)
		return 0;
	return mc_fs_write_atomic(p, content, strlen(content), 0644, err);
}

int mc_git_repo_init(const char *path, bool bare, struct mc_git_repo **out, struct mc_err *err)
{
	static const char *const dirs[] = { "objects/info", "objects/pack", "refs/heads",
					    "refs/tags", "info" };
	char gitdir[PATH_MAX];
	char config[256];
	int r;

	if (snprintf(gitdir, sizeof(gitdir), "%s%s", path, bare ? "" : "/.git") >=
	    (int)sizeof(gitdir))
		return mc_err_set(err, ENAMETOOLONG, "init `%s`", path);
	for (size_t i = 0; i < MC_ARRAY_SIZE(dirs); i++) {
		r = mkdir_in(gitdir, dirs[i], err);
		if (r < 0)
			return r;
	}
	snprintf(config, sizeof(config),
		 "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = %s\n%s",
		 bare ? "true" : "false", bare ? "" : "\tlogallrefupdates = true\n");
	r = write_if_missing(gitdir, "HEAD", "ref: refs/heads/master\n", err);
	if (r >= 0)
		r = write_if_missing(gitdir, "config", config, err);
	if (r >= 0)
		r = write_if_missing(gitdir, "description",
				     "Unnamed repository; edit this file 'description' to name "
				     "the repository.\n",
				     err);
	if (r < 0)
		return r;
	if (!out)
		return 0;
	return repo_new(gitdir, bare ? NULL : path, out, err);
}

static bool config_bare(const char *gitdir)
{
	char p[PATH_MAX], v[16];

	if (snprintf(p, sizeof(p), "%s/config", gitdir) >= (int)sizeof(p))
		return false;
	return git_config_get(p, "core", "bare", v, sizeof(v)) == 0 && strcmp(v, "true") == 0;
}

static int open_at(const char *dir, struct mc_git_repo **out, struct mc_err *err)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/.git", dir) < (int)sizeof(p) && is_gitdir(p))
		return repo_new(p, dir, out, err);
	if (is_gitdir(dir))
		return repo_new(dir, NULL, out, err);
	return -ENOENT;
}

int mc_git_repo_open(const char *path, bool discover, struct mc_git_repo **out, struct mc_err *err)
{
	char cur[PATH_MAX];
	const char *env = getenv("GIT_DIR");
	int r;

	if (!path && env && *env) {
		const char *wt = getenv("GIT_WORK_TREE");

		if (!is_gitdir(env))
			return mc_err_setx(err, ENOENT, "not a git repository: `%s`", env);
		if (!wt && !config_bare(env))
			wt = ".";
		return repo_new(env, wt, out, err);
	}
	if (!path)
		path = ".";
	if (!realpath(path, cur))
		return mc_err_set(err, errno, "open repository `%s`", path);
	for (;;) {
		r = open_at(cur, out, err);
		if (r != -ENOENT)
			return r;
		if (!discover || strcmp(cur, "/") == 0)
			break;
		char *slash = strrchr(cur, '/');

		if (slash == cur)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	return mc_err_setx(err, ENOENT,
			   "not a git repository (or any of the parent directories): `%s`", path);
}

/* ---- batches ---- */

void mc_git_batch_begin(struct mc_git_repo *repo)
{
	repo->batch = true;
}

int mc_git_batch_end(struct mc_git_repo *repo, struct mc_err *err)
{
	int r = 0;

	if (!repo->batch)
		return 0;
	repo->batch = false;
	if (repo->npending == 0)
		return 0;
	/*
	 * One syncfs makes every temp file's bytes durable; only then do the names appear,
	 * so a crash can leave stray temp files but never a named object with bad bytes.
	 * The second syncfs makes the renames durable before any ref can point at them.
	 */
	if (syncfs(repo->objfd) < 0)
		r = mc_err_set(err, errno, "sync objects");
	for (size_t i = 0; i < repo->npending; i++) {
		struct git_pending *p = &repo->pending[i];

		if (r < 0) {
			unlinkat(repo->objfd, p->tmp, 0);
			continue;
		}
		if (renameat(repo->objfd, p->tmp, repo->objfd, p->final) < 0) {
			r = mc_err_set(err, errno, "rename object `%s`", p->final);
			unlinkat(repo->objfd, p->tmp, 0);
		}
	}
	repo->npending = 0;
	if (r == 0 && syncfs(repo->objfd) < 0)
		r = mc_err_set(err, errno, "sync objects");
	return r;
}

/* ---- config ---- */

/*
 * git_config_get: the value of SECTION.KEY in a git config file (last one wins, like
 * git). Only plain `[section]` headers and `key = value` lines are understood; quoted
 * values lose their quotes. -ENOENT when absent.
 */
int git_config_get(const char *path, const char *section, const char *key, char *out, size_t size)
{
	mc_autofclose FILE *f = fopen(path, "re");
	char line[1024];
	bool in = false;
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *e;

		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*s == '[') {
			char *close = strchr(s, ']');

			in = close && (size_t)(close - s - 1) == strlen(section) &&
			     strncasecmp(s + 1, section, strlen(section)) == 0;
			continue;
		}
		if (!in || *s == '#' || *s == ';')
			continue;
		char *eq = strchr(s, '=');
		char *kend = eq ? eq : e;

		while (kend > s && (kend[-1] == ' ' || kend[-1] == '\t'))
			kend--;
		if ((size_t)(kend - s) != strlen(key) || strncasecmp(s, key, strlen(key)) != 0)
			continue;
		const char *v = eq ? eq + 1 : "true";

		while (*v == ' ' || *v == '\t')
			v++;
		size_t vl = strlen(v);

		if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
			v++;
			vl -= 2;
		}
		if (vl >= size)
			vl = size - 1;
		memcpy(out, v, vl);
		out[vl] = '\0';
		found = 0;
	}
	return found;
}
