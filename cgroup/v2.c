/* SPDX-License-Identifier: MIT */
/*
 * v2.c: the cgroup v2 backend. One directory per cgroup in the unified hierarchy;
 * controllers are enabled top-down through cgroup.subtree_control; devices are
 * filtered by an eBPF program (bpfdev.c) since v2 has no devices controller.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mc/cleanup.h>
#include <mc/log.h>
#include <mc/util.h>

#include "internal.h"

#define FREEZE_TIMEOUT_NS (1000ull * 1000 * 1000)

static int v2_layout(struct mc_cgroup *cg, struct mc_err *err)
{
	int r = cgroup_join(cg->dirs[0].path, cg->root->v2, cg->rel, err);

	if (r < 0)
		return r;
	cg->n_dirs = 1;
	return 0;
}

/* has_word: @word is one of the space-separated words of @list. */
static bool has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);

	while (*list) {
		size_t len = strcspn(list, " \n");

		if (len == wl && !memcmp(list, word, wl))
			return true;
		list += len;
		list += strspn(list, " \n");
	}
	return false;
}

/*
 * wanted_controllers: "+cpu +memory +pids" (those the root offers) into @buf. Stats
 * read memory.current and pids.current, so every available one is enabled, not only
 * the ones with limits; a limit whose controller is missing is an error.
 */
static int wanted_controllers(struct mc_cgroup *cg, const struct mc_cgroup_limits *lim, char *buf,
			      size_t size, struct mc_err *err)
{
	static const char *const names[] = { "cpu", "memory", "pids" };
	mc_autofree char *avail = NULL;
	bool need[3];
	int r;

	need[0] = lim->cpu_quota_us || lim->cpu_period_us || lim->cpu_weight;
	need[1] = lim->memory_max || lim->memory_swap_max;
	need[2] = lim->pids_max != 0;
	r = cgroup_read(cg->root->v2, "cgroup.controllers", &avail, NULL);
	if (r < 0 && r != -ENOENT)
		return mc_err_set(err, -r, "read `%s/cgroup.controllers`", cg->root->v2);
	buf[0] = '\0';
	for (size_t i = 0; i < MC_ARRAY_SIZE(names); i++) {
		if (avail && has_word(avail, names[i])) {
			size_t len = strlen(buf);

			snprintf(buf + len, size - len, "%s+%s", len ? " " : "", names[i]);
		} else if (need[i]) {
			return mc_err_setx(err, ENOTSUP,
					   "the %s controller is not available in `%s`", names[i],
					   cg->root->v2);
		}
	}
	return 0;
}

static int v2_create(struct mc_cgroup *cg, const struct mc_cgroup_limits *lim, struct mc_err *err)
{
	char ctl[64], cur[PATH_MAX];
	const char *p = cg->rel;
	size_t first = 0;
	int r;

	if ((r = wanted_controllers(cg, lim, ctl, sizeof(ctl), err)) < 0)
		return r;
	mc_strlcpy(cur, cg->root->v2, sizeof(cur));
	while (*p) {
		size_t len = strcspn(p, "/");
		size_t cl = strlen(cur);
		bool leaf = p[len] == '\0';

		/* A child only gets the controllers its parent delegates to it. */
		if (ctl[0] && (r = cgroup_write(cg, cur, "cgroup.subtree_control", ctl, err)) < 0)
			goto out_rollback;
		if (cl + 1 + len >= sizeof(cur)) {
			r = mc_err_setx(err, ENAMETOOLONG, "cgroup path too long");
			goto out_rollback;
		}
		cur[cl] = '/';
		memcpy(cur + cl + 1, p, len);
		cur[cl + 1 + len] = '\0';
		if (mkdir(cur, 0755) == 0) {
			if (!first)
				first = strlen(cur);
		} else if (errno != EEXIST || leaf) {
			r = mc_err_set(err, errno, "mkdir `%s`", cur);
			cur[cl] = '\0';
			goto out_rollback;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	cg->dirs[0].first_created = first;
	return 0;

out_rollback:
	cgroup_rmdir_created(cg, cur, first);
	return r;
}

static int v2_apply(struct mc_cgroup *cg, const struct mc_cgroup_limits *lim, struct mc_err *err)
{
	const char *dir = cg->dirs[0].path;
	int64_t total = cgroup_swap_total(lim);
	int r;

	if (lim->memory_max == -1)
		r = cgroup_write(cg, dir, "memory.max", "max", err);
	else if (lim->memory_max > 0)
		r = cgroup_writef(cg, dir, "memory.max", err, "%" PRId64, lim->memory_max);
	else
		r = 0;
	if (r < 0)
		return r;
	/* v2 limits swap alone; docker's --memory-swap is memory + swap. */
	if (total != 0 && !cg->root->fake && !cgroup_exists(dir, "memory.swap.max")) {
		mc_log_warn("cgroup `%s`: no swap accounting in this kernel, swap limit ignored",
			    cg->rel); /* Best-effort: docker does the same */
	} else if (total == -1) {
		if ((r = cgroup_write(cg, dir, "memory.swap.max", "max", err)) < 0)
			return r;
	} else if (total > 0 && lim->memory_max > 0) {
		r = cgroup_writef(cg, dir, "memory.swap.max", err, "%" PRId64,
				  total - lim->memory_max);
		if (r < 0)
			return r;
	}
	if (lim->cpu_quota_us || lim->cpu_period_us) {
		uint64_t period = lim->cpu_period_us ? lim->cpu_period_us : 100000;

		if (lim->cpu_quota_us)
			r = cgroup_writef(cg, dir, "cpu.max", err, "%" PRIu64 " %" PRIu64,
					  lim->cpu_quota_us, period);
		else
			r = cgroup_writef(cg, dir, "cpu.max", err, "max %" PRIu64, period);
		if (r < 0)
			return r;
	}
	if (lim->cpu_weight &&
	    (r = cgroup_writef(cg, dir, "cpu.weight", err, "%" PRIu64, lim->cpu_weight)) < 0)
		return r;
	if (lim->pids_max == -1)
		r = cgroup_write(cg, dir, "pids.max", "max", err);
	else if (lim->pids_max > 0)
		r = cgroup_writef(cg, dir, "pids.max", err, "%" PRId64, lim->pids_max);
	if (r < 0)
		return r;
	if (lim->n_devices) {
		if (cg->root->fake) {
			/* No kernel to attach to: still assemble the program, which checks
			 * every rule. */
			mc_autofree void *insns =
				calloc(cgroup_bpfdev_max_insns(lim->n_devices), 8);

			if (!insns)
				return mc_err_set(err, ENOMEM, "device filter");
			r = cgroup_bpfdev_build(lim->devices, lim->n_devices, insns, err);
			return r < 0 ? r : 0;
		}
		return cgroup_bpfdev_attach(dir, lim->devices, lim->n_devices, err);
	}
	return 0;
}

static int v2_attach(struct mc_cgroup *cg, pid_t pid, struct mc_err *err)
{
	return cgroup_writef(cg, cg->dirs[0].path, "cgroup.procs", err, "%d", (int)pid);
}

/* read_opt: a one-number file that may be missing (controller not enabled). */
static int read_opt(const char *dir, const char *file, uint64_t *out, struct mc_err *err)
{
	int r = cgroup_read_u64(dir, file, out, err);

	if (r == -ENOENT) {
		mc_err_clear(err);
		return 0;
	}
	return r;
}

static int keyed(const char *body, const char *key, uint64_t *out, uint64_t mul)
{
	uint64_t v;
	int r = cgroup_parse_keyed(body, key, &v);

	if (r == 0)
		*out = v * mul;
	return r == -ENOENT ? 0 : r;
}

static int v2_stats(struct mc_cgroup *cg, struct mc_cgroup_stats *st, struct mc_err *err)
{
	const char *dir = cg->dirs[0].path;
	mc_autofree char *cpu = NULL;
	mc_autofree char *events = NULL;
	int r;

	if ((r = read_opt(dir, "memory.current", &st->memory_current, err)) < 0 ||
	    (r = read_opt(dir, "memory.peak", &st->memory_peak, err)) < 0 ||
	    (r = read_opt(dir, "memory.max", &st->memory_limit, err)) < 0 ||
	    (r = read_opt(dir, "pids.current", &st->pids_current, err)) < 0 ||
	    (r = read_opt(dir, "pids.max", &st->pids_max, err)) < 0)
		return r;
	r = cgroup_read(dir, "cpu.stat", &cpu, err);
	if (r < 0 && r != -ENOENT)
		return r;
	if (cpu && ((r = keyed(cpu, "usage_usec", &st->cpu_usage_ns, 1000)) < 0 ||
		    (r = keyed(cpu, "user_usec", &st->cpu_user_ns, 1000)) < 0 ||
		    (r = keyed(cpu, "system_usec", &st->cpu_system_ns, 1000)) < 0 ||
		    (r = keyed(cpu, "nr_periods", &st->nr_periods, 1)) < 0 ||
		    (r = keyed(cpu, "nr_throttled", &st->nr_throttled, 1)) < 0 ||
		    (r = keyed(cpu, "throttled_usec", &st->throttled_ns, 1000)) < 0))
		return mc_err_setx(err, EINVAL, "`%s/cpu.stat`: unexpected content", dir);
	r = cgroup_read(dir, "memory.events", &events, err);
	if (r < 0 && r != -ENOENT)
		return r;
	if (events && keyed(events, "oom_kill", &st->oom_kills, 1) < 0)
		return mc_err_setx(err, EINVAL, "`%s/memory.events`: unexpected content", dir);
	mc_err_clear(err);
	return 0;
}

static int v2_oom_kills(struct mc_cgroup *cg, uint64_t *out)
{
	mc_autofree char *events = NULL;
	int r = cgroup_read(cg->dirs[0].path, "memory.events", &events, NULL);

	if (r < 0)
		return r;
	*out = 0;
	return keyed(events, "oom_kill", out, 1);
}

static int v2_oom_watch(struct mc_cgroup *cg, struct mc_err *err)
{
	char path[PATH_MAX];
	mc_autoclose int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	int r;

	if (fd < 0)
		return mc_err_set(err, errno, "inotify_init1");
	if ((r = cgroup_join(path, cg->dirs[0].path, "memory.events", err)) < 0)
		return r;
	/* cgroupfs raises IN_MODIFY on memory.events whenever one of its counters moves. */
	if (inotify_add_watch(fd, path, IN_MODIFY) < 0)
		return mc_err_set(err, errno, "watch `%s`", path);
	return mc_steal_fd(&fd);
}

static int v2_freeze(struct mc_cgroup *cg, bool frozen, struct mc_err *err)
{
	const char *dir = cg->dirs[0].path;
	uint64_t deadline = mc_time_mono_ns() + FREEZE_TIMEOUT_NS;
	int r;

	/* cgroup.freeze exists in non-root cgroups since Linux 5.2. */
	if (!cgroup_exists(dir, "cgroup.freeze"))
		return -ENOTSUP;
	if ((r = cgroup_write(cg, dir, "cgroup.freeze", frozen ? "1" : "0", err)) < 0)
		return r;
	if (!frozen || cg->root->fake)
		return 0;
	/* Freezing is asynchronous: cgroup.events says "frozen 1" once every task stopped. */
	while (mc_time_mono_ns() < deadline) {
		mc_autofree char *ev = NULL;
		uint64_t v = 0;

		if (cgroup_read(dir, "cgroup.events", &ev, NULL) == 0 &&
		    cgroup_parse_keyed(ev, "frozen", &v) == 0 && v == 1)
			return 0;
		mc_time_sleep_ns(1000 * 1000);
	}
	/* Best-effort: signalling a partly frozen group is still better than nothing. */
	mc_log_warn("cgroup `%s`: not frozen after 1s", cg->rel);
	return 0;
}

static int v2_kill_all(struct mc_cgroup *cg, struct mc_err *err)
{
	/* cgroup.kill (Linux 5.14) SIGKILLs the whole subtree atomically, forks included. */
	if (!cgroup_exists(cg->dirs[0].path, "cgroup.kill"))
		return -ENOTSUP;
	return cgroup_write(cg, cg->dirs[0].path, "cgroup.kill", "1", err);
}

static int v2_remove(struct mc_cgroup *cg, struct mc_err *err)
{
	struct cgroup_dir *d = &cg->dirs[0];

	if (d->removed)
		return 0;
	if (cg->root->fake) {
		int r = mc_fs_rm_rf(d->path, err);

		if (r < 0)
			return r;
	} else if (rmdir(d->path) < 0 && errno != ENOENT) {
		return mc_err_set(err, errno, "rmdir `%s`", d->path);
	}
	d->removed = true;
	return 0;
}

const struct cgroup_ops cgroup_v2_ops = {
	.version = MC_CGROUP_V2,
	.layout = v2_layout,
	.create = v2_create,
	.apply = v2_apply,
	.attach = v2_attach,
	.stats = v2_stats,
	.oom_kills = v2_oom_kills,
	.oom_watch = v2_oom_watch,
	.freeze = v2_freeze,
	.kill_all = v2_kill_all,
	.remove = v2_remove,
};
