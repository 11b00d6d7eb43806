/* SPDX-License-Identifier: MIT */
/*
 * v1.c: the cgroup v1 backend. One hierarchy per controller (or per group of
 * co-mounted controllers), so a cgroup is one directory in each of them, created,
 * attached to and removed together. Limits go to each controller's own files.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mc/cleanup.h>
#include <mc/log.h>
#include <mc/util.h>

#include "internal.h"

#define FREEZE_TIMEOUT_NS (1000ull * 1000 * 1000)
/* v1 reports "no limit" as PAGE_COUNTER_MAX pages in bytes, just under 2^63. */
#define V1_UNLIMITED_FLOOR (1ull << 62)

static int v1_layout(struct mc_cgroup *cg, struct mc_err *err)
{
	const struct cgroup_root *root = cg->root;

	for (size_t i = 0; i < root->n_v1; i++) {
		int r = cgroup_join(cg->dirs[i].path, root->v1[i].dir, cg->rel, err);

		if (r < 0)
			return r;
		cg->dirs[i].mask = root->v1[i].mask;
	}
	cg->n_dirs = root->n_v1;
	return 0;
}

static const char *dir_of(const struct mc_cgroup *cg, unsigned bit)
{
	for (size_t i = 0; i < cg->n_dirs; i++)
		if ((cg->dirs[i].mask & bit) && !cg->dirs[i].removed)
			return cg->dirs[i].path;
	return NULL;
}

/*
 * mkdir_chain: mkdir of @rel below @mount, parents included; *first as in
 * cgroup_rmdir_created.
 */
static int mkdir_chain(struct mc_cgroup *cg, size_t idx, size_t *first, struct mc_err *err)
{
	char cur[PATH_MAX];
	const char *p = cg->rel;

	*first = 0;
	mc_strlcpy(cur, cg->root->v1[idx].dir, sizeof(cur));
	while (*p) {
		size_t len = strcspn(p, "/");
		size_t cl = strlen(cur);
		bool leaf = p[len] == '\0';

		if (cl + 1 + len >= sizeof(cur))
			return mc_err_setx(err, ENAMETOOLONG, "cgroup path too long");
		cur[cl] = '/';
		memcpy(cur + cl + 1, p, len);
		cur[cl + 1 + len] = '\0';
		if (mkdir(cur, 0755) == 0) {
			if (!*first)
				*first = strlen(cur);
		} else if (errno != EEXIST || leaf) {
			return mc_err_set(err, errno, "mkdir `%s`", cur);
		}
		p += len;
		if (*p == '/')
			p++;
	}
	return 0;
}

/*
 * The controllers a container is placed in: memory (limit, OOM report, stats), cpu and
 * cpuacct (quota, shares, CPU time), pids (limit, stats), devices (the device rules)
 * and freezer (a kill that races no fork). The others (cpuset, blkio, net_cls, ...)
 * carry no limit we set: joining them would only cost a mkdir, a cgroup.procs write
 * and an rmdir each (a new cpuset even needs cpus and mems copied from its parent
 * before it takes tasks), and the container stays where the runtime itself is, as
 * it would in an unlimited group. A cpuset limit would add CG_CTL_CPUSET here.
 */
#define V1_NEEDED                                                                                  \
	(CG_CTL_MEMORY | CG_CTL_CPU | CG_CTL_CPUACCT | CG_CTL_PIDS | CG_CTL_DEVICES |              \
	 CG_CTL_FREEZER)

static int v1_create(struct mc_cgroup *cg, const struct mc_cgroup_limits *lim, struct mc_err *err)
{
	size_t first[CG_V1_MAX_MOUNTS] = { 0 };
	size_t i;
	int r = 0;

	/* Skipped directories count as removed: attach, stats and remove pass them by. */
	for (i = 0; i < cg->n_dirs; i++)
		cg->dirs[i].removed = !(cg->dirs[i].mask & V1_NEEDED);
	for (i = 0; i < cg->n_dirs; i++)
		if (!cg->dirs[i].removed && (r = mkdir_chain(cg, i, &first[i], err)) < 0)
			break;
	if (r == 0) {
		for (i = 0; i < cg->n_dirs; i++)
			cg->dirs[i].first_created = first[i];
		return 0;
	}
	/* the failing controller may have made some parents too: i is included */
	for (size_t k = i + 1; k-- > 0;)
		if (!cg->dirs[k].removed)
			cgroup_rmdir_created(cg, cg->dirs[k].path, first[k]);
	return r;
}

static int need(const struct mc_cgroup *cg, unsigned bit, const char *name, const char **dir,
		struct mc_err *err)
{
	*dir = dir_of(cg, bit);
	if (!*dir)
		return mc_err_setx(err, ENOTSUP, "the %s controller is not mounted", name);
	return 0;
}

static int apply_memory(struct mc_cgroup *cg, const struct mc_cgroup_limits *lim,
			struct mc_err *err)
{
	int64_t total = cgroup_swap_total(lim);
	const char *dir;
	char mem[32], memsw[32];
	bool has_memsw;
	int r;

	if (!lim->memory_max && !total)
		return 0;
	if ((r = need(cg, CG_CTL_MEMORY, "memory", &dir, err)) < 0)
		return r;
	snprintf(mem, sizeof(mem), "%" PRId64, lim->memory_max);
	snprintf(memsw, sizeof(memsw), "%" PRId64, total);
	/* memory.memsw.* only exists with swap accounting (CONFIG_MEMCG_SWAP, swapaccount). */
	has_memsw =
		total != 0 && (cg->root->fake || cgroup_exists(dir, "memory.memsw.limit_in_bytes"));
	if (total != 0 && !has_memsw)
		mc_log_warn("cgroup `%s`: no swap accounting in this kernel, swap limit ignored",
			    cg->rel); /* Best-effort: docker does the same */
	if (lim->memory_max) {
		r = cgroup_write(cg, dir, "memory.limit_in_bytes", mem, err);
		/*
		 * The kernel keeps memory <= memory+swap at every step: raising memory above
		 * the current memsw limit is EINVAL, so raise memsw first in that case.
		 */
		if (r == -EINVAL && has_memsw) {
			mc_err_clear(err);
			if ((r = cgroup_write(cg, dir, "memory.memsw.limit_in_bytes", memsw, err)) <
			    0)
				return r;
			return cgroup_write(cg, dir, "memory.limit_in_bytes", mem, err);
		}
		if (r < 0)
			return r;
	}
	if (has_memsw)
		return cgroup_write(cg, dir, "memory.memsw.limit_in_bytes", memsw, err);
	return 0;
}

static int apply_cpu(struct mc_cgroup *cg, const struct mc_cgroup_limits *lim, struct mc_err *err)
{
	const char *dir;
	int r;

	if (!lim->cpu_quota_us && !lim->cpu_period_us && !lim->cpu_weight)
		return 0;
	if ((r = need(cg, CG_CTL_CPU, "cpu", &dir, err)) < 0)
		return r;
	if (lim->cpu_quota_us || lim->cpu_period_us) {
		uint64_t period = lim->cpu_period_us ? lim->cpu_period_us : 100000;

		if ((r = cgroup_writef(cg, dir, "cpu.cfs_period_us", err, "%" PRIu64, period)) < 0)
			return r;
		if (lim->cpu_quota_us)
			r = cgroup_writef(cg, dir, "cpu.cfs_quota_us", err, "%" PRIu64,
					  lim->cpu_quota_us);
		else
			r = cgroup_write(cg, dir, "cpu.cfs_quota_us", "-1", err);
		if (r < 0)
			return r;
	}
	if (lim->cpu_weight)
		return cgroup_writef(cg, dir, "cpu.shares", err, "%" PRIu64,
				     mc_cgroup_cpu_weight_to_shares(lim->cpu_weight));
	return 0;
}

static int apply_devices(struct mc_cgroup *cg, const struct mc_cgroup_limits *lim,
			 struct mc_err *err)
{
	const char *dir;
	int r;

	if (!lim->n_devices)
		return 0;
	if ((r = need(cg, CG_CTL_DEVICES, "devices", &dir, err)) < 0)
		return r;
	/*
	 * Start from "deny everything" and replay the rules in order: each allow adds an
	 * exception and each deny removes one, so the last rule that matches a device
	 * decides, as in the OCI spec.
	 */
	if ((r = cgroup_write(cg, dir, "devices.deny", "a", err)) < 0)
		return r;
	for (size_t i = 0; i < lim->n_devices; i++) {
		const struct mc_cgroup_device_rule *d = &lim->devices[i];
		char line[64];

		if ((r = cgroup_device_v1_line(d, line, sizeof(line), err)) < 0)
			return r;
		r = cgroup_write(cg, dir, d->allow ? "devices.allow" : "devices.deny", line, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v1_apply(struct mc_cgroup *cg, const struct mc_cgroup_limits *lim, struct mc_err *err)
{
	const char *dir;
	int r;

	if ((r = apply_memory(cg, lim, err)) < 0 || (r = apply_cpu(cg, lim, err)) < 0)
		return r;
	if (lim->pids_max) {
		if ((r = need(cg, CG_CTL_PIDS, "pids", &dir, err)) < 0)
			return r;
		if (lim->pids_max == -1)
			r = cgroup_write(cg, dir, "pids.max", "max", err);
		else
			r = cgroup_writef(cg, dir, "pids.max", err, "%" PRId64, lim->pids_max);
		if (r < 0)
			return r;
	}
	return apply_devices(cg, lim, err);
}

static int v1_attach(struct mc_cgroup *cg, pid_t pid, struct mc_err *err)
{
	for (size_t i = 0; i < cg->n_dirs; i++) {
		int r;

		if (cg->dirs[i].removed)
			continue;
		r = cgroup_writef(cg, cg->dirs[i].path, "cgroup.procs", err, "%d", (int)pid);
		if (r < 0)
			return r;
	}
	return 0;
}

static int read_opt(const char *dir, const char *file, uint64_t *out, struct mc_err *err)
{
	int r;

	if (!dir)
		return 0;
	r = cgroup_read_u64(dir, file, out, err);
	if (r == -ENOENT) {
		mc_err_clear(err);
		return 0;
	}
	return r;
}

static int read_keyed(const char *dir, const char *file, const char *const *keys,
		      uint64_t *const *outs, size_t n, uint64_t mul, struct mc_err *err)
{
	mc_autofree char *body = NULL;
	int r;

	if (!dir)
		return 0;
	r = cgroup_read(dir, file, &body, err);
	if (r == -ENOENT) {
		mc_err_clear(err);
		return 0;
	}
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		uint64_t v;

		r = cgroup_parse_keyed(body, keys[i], &v);
		if (r == -EINVAL)
			return mc_err_setx(err, EINVAL, "`%s/%s`: unexpected content", dir, file);
		if (r == 0)
			*outs[i] = v * mul;
	}
	return 0;
}

static int v1_stats(struct mc_cgroup *cg, struct mc_cgroup_stats *st, struct mc_err *err)
{
	const char *mem = dir_of(cg, CG_CTL_MEMORY);
	const char *acct = dir_of(cg, CG_CTL_CPUACCT);
	const char *cpu = dir_of(cg, CG_CTL_CPU);
	const char *pids = dir_of(cg, CG_CTL_PIDS);
	static const char *const thr_keys[] = { "nr_periods", "nr_throttled", "throttled_time" };
	uint64_t *const thr_outs[] = { &st->nr_periods, &st->nr_throttled, &st->throttled_ns };
	static const char *const oom_keys[] = { "oom_kill" };
	uint64_t *const oom_outs[] = { &st->oom_kills };
	int r;

	if ((r = read_opt(mem, "memory.usage_in_bytes", &st->memory_current, err)) < 0 ||
	    (r = read_opt(mem, "memory.max_usage_in_bytes", &st->memory_peak, err)) < 0 ||
	    (r = read_opt(mem, "memory.limit_in_bytes", &st->memory_limit, err)) < 0 ||
	    (r = read_opt(acct, "cpuacct.usage", &st->cpu_usage_ns, err)) < 0 ||
	    (r = read_opt(pids, "pids.current", &st->pids_current, err)) < 0 ||
	    (r = read_opt(pids, "pids.max", &st->pids_max, err)) < 0)
		return r;
	if (st->memory_limit >= V1_UNLIMITED_FLOOR)
		st->memory_limit = UINT64_MAX;
	if (acct && cgroup_exists(acct, "cpuacct.usage_user")) {
		/* nanoseconds, since Linux 4.7 */
		if ((r = read_opt(acct, "cpuacct.usage_user", &st->cpu_user_ns, err)) < 0 ||
		    (r = read_opt(acct, "cpuacct.usage_sys", &st->cpu_system_ns, err)) < 0)
			return r;
	} else {
		/* cpuacct.stat counts USER_HZ ticks */
		static const char *const keys[] = { "user", "system" };
		uint64_t *const outs[] = { &st->cpu_user_ns, &st->cpu_system_ns };
		long hz = sysconf(_SC_CLK_TCK);

		r = read_keyed(acct, "cpuacct.stat", keys, outs, 2,
			       1000000000ull / (uint64_t)(hz > 0 ? hz : 100), err);
		if (r < 0)
			return r;
	}
	if ((r = read_keyed(cpu, "cpu.stat", thr_keys, thr_outs, 3, 1, err)) < 0 ||
	    (r = read_keyed(mem, "memory.oom_control", oom_keys, oom_outs, 1, 1, err)) < 0)
		return r;
	return 0;
}

static int v1_oom_kills(struct mc_cgroup *cg, uint64_t *out)
{
	const char *mem = dir_of(cg, CG_CTL_MEMORY);
	mc_autofree char *body = NULL;
	int r;

	if (!mem)
		return -ENOTSUP;
	if ((r = cgroup_read(mem, "memory.oom_control", &body, NULL)) < 0)
		return r;
	/* the oom_kill counter exists since Linux 4.13; failcnt counts limit hits instead */
	return cgroup_parse_keyed(body, "oom_kill", out);
}

static int v1_oom_watch(struct mc_cgroup *cg, struct mc_err *err)
{
	const char *mem = dir_of(cg, CG_CTL_MEMORY);
	char path[PATH_MAX];
	mc_autoclose int efd = -1;
	mc_autoclose int cfd = -1;
	int r;

	if (!mem)
		return mc_err_setx(err, ENOTSUP, "the memory controller is not mounted");
	if ((r = cgroup_join(path, mem, "memory.oom_control", err)) < 0)
		return r;
	efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0)
		return mc_err_set(err, errno, "eventfd");
	cfd = open(path, O_RDONLY | O_CLOEXEC);
	if (cfd < 0)
		return mc_err_set(err, errno, "open `%s`", path);
	/*
	 * "<eventfd> <fd of memory.oom_control>" to cgroup.event_control registers the
	 * notification; the kernel keeps its own references, so the control file can be
	 * closed here. The registration ends when the eventfd is closed or the cgroup goes.
	 */
	if ((r = cgroup_writef(cg, mem, "cgroup.event_control", err, "%d %d", efd, cfd)) < 0)
		return r;
	return mc_steal_fd(&efd);
}

static int v1_freeze(struct mc_cgroup *cg, bool frozen, struct mc_err *err)
{
	const char *dir = dir_of(cg, CG_CTL_FREEZER);
	uint64_t deadline = mc_time_mono_ns() + FREEZE_TIMEOUT_NS;
	int r;

	if (!dir)
		return -ENOTSUP;
	r = cgroup_write(cg, dir, "freezer.state", frozen ? "FROZEN" : "THAWED", err);
	if (r < 0 || !frozen || cg->root->fake)
		return r;
	/* FREEZING until every task has stopped; FROZEN after. */
	while (mc_time_mono_ns() < deadline) {
		char state[32];
		char path[PATH_MAX];

		if (cgroup_join(path, dir, "freezer.state", NULL) == 0 &&
		    mc_fs_read_str(path, state, sizeof(state), NULL) >= 0 &&
		    !strcmp(state, "FROZEN"))
			return 0;
		mc_time_sleep_ns(1000 * 1000);
	}
	/* Best-effort: signalling a partly frozen group is still better than nothing. */
	mc_log_warn("cgroup `%s`: not frozen after 1s", cg->rel);
	return 0;
}

static int v1_kill_all(struct mc_cgroup *cg, struct mc_err *err)
{
	return -ENOTSUP; /* v1 has no cgroup.kill */
}

static int v1_remove(struct mc_cgroup *cg, struct mc_err *err)
{
	int busy = 0;

	for (size_t i = 0; i < cg->n_dirs; i++) {
		struct cgroup_dir *d = &cg->dirs[i];

		if (d->removed)
			continue;
		if (cg->root->fake) {
			int r = mc_fs_rm_rf(d->path, err);

			if (r < 0)
				return r;
		} else if (rmdir(d->path) < 0 && errno != ENOENT) {
			if (errno != EBUSY)
				return mc_err_set(err, errno, "rmdir `%s`", d->path);
			busy = mc_err_set(err, EBUSY, "rmdir `%s`", d->path);
			continue;
		}
		d->removed = true;
	}
	return busy;
}

const struct cgroup_ops cgroup_v1_ops = {
	.version = MC_CGROUP_V1,
	.layout = v1_layout,
	.create = v1_create,
	.apply = v1_apply,
	.attach = v1_attach,
	.stats = v1_stats,
	.oom_kills = v1_oom_kills,
	.oom_watch = v1_oom_watch,
	.freeze = v1_freeze,
	.kill_all = v1_kill_all,
	.remove = v1_remove,
};
