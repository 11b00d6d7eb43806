/* SPDX-License-Identifier: MIT */
/*
 * cgroup.c: the front end of libmccgroup. Detects the hierarchy once (or takes the
 * root a test set), picks the v1 or v2 backend table, checks arguments, and owns the
 * parts that are the same on both: the handle, listing and signalling processes, and
 * the destroy loop that waits for dying tasks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mc/cleanup.h>
#include <mc/log.h>
#include <mc/util.h>

#include "internal.h"

#define CG_DEFAULT_MOUNT "/sys/fs/cgroup"
/* How long destroy waits for the kernel to let go of exiting tasks. */
#define CG_DESTROY_TIMEOUT_NS (5ull * 1000 * 1000 * 1000)

static struct cgroup_root g_root;
static bool g_root_ok;

/*
 * scan_v1: every directory under @dir whose name is a list of known controllers
 * ("memory", "cpu,cpuacct") is one v1 hierarchy. Symlinks (cpu -> cpu,cpuacct) are
 * aliases and skipped; a mount whose controllers another one already serves too.
 */
static int scan_v1(struct cgroup_root *root, const char *dir, struct mc_err *err)
{
	mc_autoclosedir DIR *d = opendir(dir);
	struct dirent *de;

	root->n_v1 = 0;
	if (!d)
		return mc_err_set(err, errno, "open `%s`", dir);
	while ((de = readdir(d)) && root->n_v1 < CG_V1_MAX_MOUNTS) {
		struct cgroup_v1_mount *m = &root->v1[root->n_v1];
		unsigned mask = 0;
		const char *p = de->d_name;
		struct stat st;
		bool clash = false;

		while (*p) {
			size_t len = strcspn(p, ",");
			unsigned bit = cgroup_ctl_from_name(p, len);

			if (!bit) {
				mask = 0;
				break;
			}
			mask |= bit;
			p += len;
			if (*p == ',')
				p++;
		}
		if (!mask || cgroup_join(m->dir, dir, de->d_name, NULL) < 0)
			continue;
		if (lstat(m->dir, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		for (size_t i = 0; i < root->n_v1; i++)
			clash |= (root->v1[i].mask & mask) != 0;
		if (clash)
			continue;
		m->mask = mask;
		root->n_v1++;
	}
	if (!root->n_v1)
		return mc_err_setx(err, ENOENT, "no cgroup v1 controllers under `%s`", dir);
	root->fake = !cgroup_is_cgroupfs(root->v1[0].dir, NULL);
	return 0;
}

/* v2_has_controllers: the cgroup2 root at @dir offers memory, cpu and pids. */
static bool v2_has_controllers(const char *dir)
{
	mc_autofree char *body = NULL;
	const char *want[] = { "memory", "cpu", "pids" };

	if (cgroup_read(dir, "cgroup.controllers", &body, NULL) < 0)
		return false;
	for (size_t i = 0; i < MC_ARRAY_SIZE(want); i++) {
		const char *p = body;
		size_t wl = strlen(want[i]);
		bool found = false;

		while (*p && !found) {
			size_t len = strcspn(p, " \n");

			found = len == wl && !memcmp(p, want[i], wl);
			p += len;
			p += strspn(p, " \n");
		}
		if (!found)
			return false;
	}
	return true;
}

static int detect(struct cgroup_root *root, struct mc_err *err)
{
	bool v2 = false;
	char unified[PATH_MAX];

	memset(root, 0, sizeof(*root));
	if (cgroup_is_cgroupfs(CG_DEFAULT_MOUNT, &v2) && v2) {
		root->version = MC_CGROUP_V2;
		mc_strlcpy(root->v2, CG_DEFAULT_MOUNT, sizeof(root->v2));
		return 0;
	}
	/*
	 * Hybrid (systemd's default before v247) or legacy: v1 controllers in
	 * /sys/fs/cgroup/<name>, maybe an empty cgroup2 in .../unified. v2 wins only when
	 * its mount really holds the controllers we need.
	 */
	snprintf(unified, sizeof(unified), "%s/unified", CG_DEFAULT_MOUNT);
	if (cgroup_is_cgroupfs(unified, &v2) && v2 && v2_has_controllers(unified)) {
		root->version = MC_CGROUP_V2;
		mc_strlcpy(root->v2, unified, sizeof(root->v2));
		return 0;
	}
	root->version = MC_CGROUP_V1;
	if (scan_v1(root, CG_DEFAULT_MOUNT, err) < 0)
		return mc_err_wrap(err, "detect cgroups");
	return 0;
}

static int get_root(const struct cgroup_root **out, struct mc_err *err)
{
	if (!g_root_ok) {
		int r = detect(&g_root, err);

		if (r < 0)
			return r;
		g_root_ok = true;
	}
	*out = &g_root;
	return 0;
}

int mc_cgroup_detect(enum mc_cgroup_version *out, struct mc_err *err)
{
	const struct cgroup_root *root;
	int r = get_root(&root, err);

	if (r < 0)
		return r;
	*out = root->version;
	return 0;
}

int mc_cgroup_set_root(enum mc_cgroup_version v, const char *dir, struct mc_err *err)
{
	struct cgroup_root root;
	struct stat st;
	int r;

	if (!dir) {
		g_root_ok = false;
		return 0;
	}
	memset(&root, 0, sizeof(root));
	if (stat(dir, &st) < 0)
		return mc_err_set(err, errno, "cgroup root `%s`", dir);
	if (!S_ISDIR(st.st_mode))
		return mc_err_set(err, ENOTDIR, "cgroup root `%s`", dir);
	root.version = v;
	if (v == MC_CGROUP_V2) {
		if (mc_strlcpy(root.v2, dir, sizeof(root.v2)) >= sizeof(root.v2))
			return mc_err_set(err, ENAMETOOLONG, "cgroup root `%s`", dir);
		root.fake = !cgroup_is_cgroupfs(dir, NULL);
	} else if (v == MC_CGROUP_V1) {
		if ((r = scan_v1(&root, dir, err)) < 0)
			return r;
	} else {
		return mc_err_setx(err, EINVAL, "unknown cgroup version %d", (int)v);
	}
	g_root = root;
	g_root_ok = true;
	return 0;
}

static int handle_new(const char *path, struct mc_cgroup **out, struct mc_err *err)
{
	const struct cgroup_root *root;
	struct mc_cgroup *cg;
	int r;

	if (!path || !cgroup_path_valid(path))
		return mc_err_setx(err, EINVAL, "invalid cgroup path `%s`", path ? path : "");
	if ((r = get_root(&root, err)) < 0)
		return r;
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return mc_err_set(err, ENOMEM, "cgroup `%s`", path);
	cg->root = root;
	cg->ops = root->version == MC_CGROUP_V2 ? &cgroup_v2_ops : &cgroup_v1_ops;
	if (mc_strlcpy(cg->rel, path, sizeof(cg->rel)) >= sizeof(cg->rel)) {
		free(cg);
		return mc_err_setx(err, ENAMETOOLONG, "cgroup path `%s` is too long", path);
	}
	if ((r = cg->ops->layout(cg, err)) < 0) {
		free(cg);
		return r;
	}
	*out = cg;
	return 0;
}

/* remove_until_gone: rmdir passes until every leaf is gone or the deadline passes. */
static int remove_until_gone(struct mc_cgroup *cg, struct mc_err *err)
{
	uint64_t deadline = mc_time_mono_ns() + CG_DESTROY_TIMEOUT_NS;
	uint64_t pause = 1000 * 1000;
	int r;

	for (;;) {
		mc_autofree pid_t *pids = NULL;
		size_t n = 0;

		/*
		 * Tasks that were SIGKILLed stay listed until they have fully exited, and
		 * rmdir fails with EBUSY meanwhile (also right after the last one left, while
		 * the kernel still has it as a dying task). Kill again whatever is listed —
		 * something may have forked before the first kill landed — and retry.
		 */
		if (mc_cgroup_pids(cg, &pids, &n, NULL) == 0 && n > 0)
			mc_cgroup_kill(cg, SIGKILL, NULL);
		r = cg->ops->remove(cg, err);
		if (r != -EBUSY)
			return r;
		if (cg->root->fake || mc_time_mono_ns() > deadline)
			return r;
		mc_time_sleep_ns(pause);
		if (pause < 50 * 1000 * 1000)
			pause *= 2;
	}
}

/* remove_made_parents: after the leaf is gone, the parents create made itself. */
static void remove_made_parents(struct mc_cgroup *cg)
{
	for (size_t i = 0; i < cg->n_dirs; i++) {
		size_t first = cg->dirs[i].first_created;
		char path[PATH_MAX];
		char *slash;

		if (!first)
			continue;
		mc_strlcpy(path, cg->dirs[i].path, sizeof(path));
		while ((slash = strrchr(path, '/')) && (size_t)(slash - path) >= first) {
			*slash = '\0';
			/* Best-effort rollback: the create error is what gets reported. */
			if (cg->root->fake)
				mc_fs_rm_rf(path, NULL);
			else if (rmdir(path) < 0)
				mc_log_warn("rmdir `%s`: %s", path, mc_strerror(errno));
		}
	}
}

int mc_cgroup_create(const char *path, const struct mc_cgroup_limits *lim, struct mc_cgroup **out,
		     struct mc_err *err)
{
	static const struct mc_cgroup_limits none;
	struct mc_cgroup *cg;
	int r;

	if (!lim)
		lim = &none;
	if ((r = cgroup_check_limits(lim, err)) < 0)
		return mc_err_wrap(err, "cgroup `%s`", path ? path : "");
	if ((r = handle_new(path, &cg, err)) < 0)
		return r;
	if ((r = cg->ops->create(cg, lim, err)) < 0)
		goto out_free;
	if ((r = cg->ops->apply(cg, lim, err)) < 0)
		goto out_rmdir;
	*out = cg;
	return 0;

out_rmdir:
	/* Best-effort: the apply error is what the caller needs to see. */
	if (remove_until_gone(cg, NULL) < 0)
		mc_log_warn("cgroup `%s`: could not remove it after a failed create", cg->rel);
	else
		remove_made_parents(cg);
out_free:
	mc_err_wrap(err, "create cgroup `%s`", path);
	free(cg);
	return r;
}

int mc_cgroup_open(const char *path, struct mc_cgroup **out, struct mc_err *err)
{
	struct mc_cgroup *cg;
	size_t present = 0;
	int r;

	if ((r = handle_new(path, &cg, err)) < 0)
		return r;
	for (size_t i = 0; i < cg->n_dirs; i++) {
		if (access(cg->dirs[i].path, F_OK) == 0)
			present++;
		else
			cg->dirs[i].removed = true; /* a controller mounted after create */
	}
	if (!present) {
		free(cg);
		return mc_err_setx(err, ENOENT, "cgroup `%s` does not exist", path);
	}
	*out = cg;
	return 0;
}

int mc_cgroup_update(struct mc_cgroup *cg, const struct mc_cgroup_limits *lim, struct mc_err *err)
{
	int r;

	if ((r = cgroup_check_limits(lim, err)) < 0 || (r = cg->ops->apply(cg, lim, err)) < 0)
		return mc_err_wrap(err, "update cgroup `%s`", cg->rel);
	return 0;
}

int mc_cgroup_attach(struct mc_cgroup *cg, pid_t pid, struct mc_err *err)
{
	int r;

	if (pid <= 0)
		return mc_err_setx(err, EINVAL, "attach to cgroup `%s`: bad pid %d", cg->rel,
				   (int)pid);
	if ((r = cg->ops->attach(cg, pid, err)) < 0)
		return mc_err_wrap(err, "attach pid %d to cgroup `%s`", (int)pid, cg->rel);
	return 0;
}

int mc_cgroup_stats(struct mc_cgroup *cg, struct mc_cgroup_stats *st, struct mc_err *err)
{
	struct mc_cgroup_stats s;
	int r;

	memset(&s, 0, sizeof(s));
	if ((r = cg->ops->stats(cg, &s, err)) < 0)
		return mc_err_wrap(err, "stats of cgroup `%s`", cg->rel);
	*st = s;
	return 0;
}

int mc_cgroup_oom_killed(struct mc_cgroup *cg)
{
	uint64_t n = 0;
	int r = cg->ops->oom_kills(cg, &n);

	if (r < 0)
		return r;
	return n > INT_MAX ? INT_MAX : (int)n;
}

int mc_cgroup_oom_watch(struct mc_cgroup *cg, struct mc_err *err)
{
	int r = cg->ops->oom_watch(cg, err);

	if (r < 0)
		return mc_err_wrap(err, "watch cgroup `%s` for OOM", cg->rel);
	return r;
}

int mc_cgroup_pids(struct mc_cgroup *cg, pid_t **out, size_t *n, struct mc_err *err)
{
	pid_t *pids = NULL;
	size_t cnt = 0;

	/* v1: a process may sit in different groups per controller; take the union. */
	for (size_t i = 0; i < cg->n_dirs; i++) {
		mc_autofree char *body = NULL;
		int r;

		if (cg->dirs[i].removed)
			continue;
		r = cgroup_read(cg->dirs[i].path, "cgroup.procs", &body, err);
		if (r == -ENOENT)
			continue;
		if (r == 0 && (r = cgroup_parse_pids(body, &pids, &cnt)) < 0)
			r = mc_err_setx(err, -r, "`%s/cgroup.procs`: unexpected content",
					cg->dirs[i].path);
		if (r < 0) {
			free(pids);
			return r;
		}
	}
	*out = pids;
	*n = cnt;
	return 0;
}

/* in: @pid is among the first @n of @v */
static bool in(const pid_t *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

/*
 * kill_all_passes: SIGKILL without freezing. A task with SIGKILL pending can no
 * longer fork (copy_process refuses while a fatal signal is pending), so passes over
 * cgroup.procs that signal every pid not signalled yet converge: a pass that finds
 * nothing new ends it. Freezing first would wait for tasks that are already dying,
 * which do not reach the freezer (v1 reported "not frozen after 1s" for those, and a
 * thaw of a group removed meanwhile failed): exactly the state destroy calls it in.
 * Bounded at 100 passes for a group that forks faster than we read.
 */
static int kill_all_passes(struct mc_cgroup *cg, struct mc_err *err)
{
	mc_autofree pid_t *done = NULL;
	size_t n_done = 0, cap = 0;
	int count = 0;

	for (int pass = 0; pass < 100; pass++) {
		mc_autofree pid_t *pids = NULL;
		size_t n = 0;
		bool fresh = false;
		int r = mc_cgroup_pids(cg, &pids, &n, err);

		if (r < 0)
			return mc_err_wrap(err, "kill cgroup `%s`", cg->rel);
		for (size_t i = 0; i < n; i++) {
			if (in(done, n_done, pids[i]))
				continue;
			fresh = true;
			if (kill(pids[i], SIGKILL) == 0)
				count++;
			else if (errno != ESRCH)
				return mc_err_set(err, errno, "kill cgroup `%s`: signal pid %d",
						  cg->rel, (int)pids[i]);
			if (n_done == cap) {
				size_t nc = cap ? 2 * cap : 64;
				pid_t *nd = realloc(done, nc * sizeof(*nd));

				if (!nd)
					return mc_err_set(err, ENOMEM, "kill cgroup `%s`", cg->rel);
				done = nd;
				cap = nc;
			}
			done[n_done++] = pids[i];
		}
		if (!fresh)
			break;
	}
	return count;
}

int mc_cgroup_kill(struct mc_cgroup *cg, int sig, struct mc_err *err)
{
	mc_autofree pid_t *pids = NULL;
	size_t n = 0;
	bool frozen;
	int r, r2, count = 0;

	if (sig == SIGKILL)
		return cg->ops->kill_all(cg, NULL) == 0 ? 0 : kill_all_passes(cg, err);
	/*
	 * Freezing first closes the race with fork: a frozen task cannot create children
	 * between our read of cgroup.procs and the signal, and cannot exit and have its
	 * pid reused either. Signals stay pending until the thaw.
	 */
	r = cg->ops->freeze(cg, true, NULL);
	frozen = r == 0;
	r = mc_cgroup_pids(cg, &pids, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (kill(pids[i], sig) == 0)
			count++;
		else if (errno != ESRCH)
			r = mc_err_set(err, errno, "signal %d to pid %d", sig, (int)pids[i]);
	}
	/* Best-effort: reported, unless the group was removed meanwhile (nothing to thaw). */
	if (frozen && (r2 = cg->ops->freeze(cg, false, NULL)) < 0 && r2 != -ENOENT && r2 != -ENODEV)
		mc_log_warn("cgroup `%s`: thaw failed: %s", cg->rel, mc_strerror(-r2));
	if (r < 0)
		return mc_err_wrap(err, "kill cgroup `%s`", cg->rel);
	return count;
}

int mc_cgroup_destroy(struct mc_cgroup *cg, struct mc_err *err)
{
	int r;

	if (!cg)
		return 0;
	r = remove_until_gone(cg, err);
	if (r < 0)
		mc_err_wrap(err, "remove cgroup `%s`", cg->rel);
	free(cg);
	return r;
}

void mc_cgroup_free(struct mc_cgroup *cg)
{
	free(cg);
}

const char *mc_cgroup_path(const struct mc_cgroup *cg)
{
	return cg->rel;
}

enum mc_cgroup_version mc_cgroup_version(const struct mc_cgroup *cg)
{
	return cg->ops->version;
}

int mc_cgroup_dirfd(const struct mc_cgroup *cg, struct mc_err *err)
{
	int fd;

	if (cg->ops->version != MC_CGROUP_V2)
		return mc_err_setx(err, ENOTSUP, "cgroup `%s`: no directory fd on cgroup v1",
				   cg->rel);
	fd = open(cg->dirs[0].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return mc_err_set(err, errno, "open `%s`", cg->dirs[0].path);
	return fd;
}

int mc_cgroup_join_open(struct mc_cgroup *cg, int *fds, size_t max, struct mc_err *err)
{
	size_t n = 0;
	int r;

	if (cg->ops->version != MC_CGROUP_V1 || cg->root->fake)
		return mc_err_setx(err, ENOTSUP, "cgroup `%s`: no v1 self-join here", cg->rel);
	for (size_t i = 0; i < cg->n_dirs; i++) {
		char path[PATH_MAX + 8];
		int fd;

		if (cg->dirs[i].removed)
			continue;
		if (n == max) {
			r = mc_err_setx(err, E2BIG, "cgroup `%s`: more than %zu hierarchies",
					cg->rel, max);
			goto fail;
		}
		snprintf(path, sizeof(path), "%s/tasks", cg->dirs[i].path);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			r = mc_err_set(err, errno, "open `%s`", path);
			goto fail;
		}
		fds[n++] = fd;
	}
	return (int)n;
fail:
	while (n > 0)
		close(fds[--n]);
	return r;
}

int mc_cgroup_join_self(int fd)
{
	/* "0" is the writing thread itself, whatever PID namespace it is in. */
	ssize_t r = write(fd, "0", 1);

	if (r == 1)
		return 0;
	return r < 0 ? -errno : -EIO;
}

int mc_cgroup_prime_path(char *buf, size_t size, struct mc_err *err)
{
	const struct cgroup_root *root;
	mc_autofree char *self = NULL;
	const struct cgroup_v1_mount *m;
	const char *base;
	int r;

	if ((r = get_root(&root, err)) < 0)
		return r;
	if (root->fake || root->version != MC_CGROUP_V1 || root->n_v1 == 0)
		return mc_err_setx(err, ENOTSUP, "no cgroup migration to prime");
	if ((r = mc_fs_read_file("/proc/self/cgroup", &self, NULL, 1 << 16, err)) < 0)
		return r;
	/* "ID:CONTROLLERS:PATH" lines; the first hierarchy we know is as good as any. */
	m = &root->v1[0];
	base = strrchr(m->dir, '/');
	base = base ? base + 1 : m->dir;
	for (char *line = self, *next; line && *line; line = next) {
		char *ctl, *path;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		ctl = strchr(line, ':');
		path = ctl ? strchr(ctl + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		if (strcmp(ctl + 1, base))
			continue;
		if ((size_t)snprintf(buf, size, "%s%s%scgroup.procs", m->dir, path,
				     path[strlen(path) - 1] == '/' ? "" : "/") >= size)
			return mc_err_setx(err, ENAMETOOLONG, "cgroup path too long");
		return 0;
	}
	return mc_err_setx(err, ENOTSUP, "no `%s` line in /proc/self/cgroup", base);
}
