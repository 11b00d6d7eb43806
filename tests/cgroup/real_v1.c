/* SPDX-License-Identifier: MIT */
/*
 * The v1 backend on the machine's real cgroup v1 controllers (root). Each test works
 * in a cgroup named mctest-PID-N created at the top of every controller; teardown
 * removes it from every controller with its own code, even when the test failed.
 */
#include "harness.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mc/cgroup.h>
#include <mc/util.h>

#include "workload.h"

#define MAX_MOUNTS 16

FIXTURE(v1)
{
	char name[64];
	char mounts[MAX_MOUNTS][256];
	size_t n_mounts;
	char mem[PATH_MAX];
};

FIXTURE_SETUP(v1)
{
	static int seq;
	struct mc_err err = { 0 };
	struct statfs sfs;

	require_root();
	if (statfs("/sys/fs/cgroup/memory", &sfs) < 0 || sfs.f_type != 0x27e0eb)
		SKIP("no cgroup v1 memory controller at /sys/fs/cgroup/memory (pure v2 host)");
	self->n_mounts = wl_v1_mounts(self->mounts, MAX_MOUNTS);
	snprintf(self->name, sizeof(self->name), "mctest-%d-%d", (int)getpid(), ++seq);
	snprintf(self->mem, sizeof(self->mem), "/sys/fs/cgroup/memory/%s", self->name);
	ASSERT_OK(mc_cgroup_set_root(MC_CGROUP_V1, "/sys/fs/cgroup", &err));
}

FIXTURE_TEARDOWN(v1)
{
	for (size_t i = 0; i < self->n_mounts; i++)
		if (wl_cleanup_cgroup(self->mounts[i], self->name) < 0)
			TH_LOG("teardown: could not remove %s/%s", self->mounts[i], self->name);
}

/* in_none: the test cgroup is absent from every controller */
static bool in_none(FIXTURE_DATA(v1) * self)
{
	for (size_t i = 0; i < self->n_mounts; i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", self->mounts[i], self->name);
		if (access(path, F_OK) == 0) {
			TH_LOG("left behind: %s", path);
			return false;
		}
	}
	return true;
}

/* joined: a controller a container is placed in (the ones carrying its limits) */
static bool joined(const char *mount)
{
	static const char *const skip[] = { "cpuset",		"blkio",      "net_cls", "net_prio",
					    "net_cls,net_prio", "perf_event", "hugetlb" };
	const char *base = strrchr(mount, '/');

	base = base ? base + 1 : mount;
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (!strcmp(base, skip[i]))
			return false;
	return true;
}

/* in_all: the test cgroup exists in every joined controller and in no other */
static bool in_all(FIXTURE_DATA(v1) * self)
{
	for (size_t i = 0; i < self->n_mounts; i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", self->mounts[i], self->name);
		if (!joined(self->mounts[i])) {
			if (access(path, F_OK) == 0) {
				TH_LOG("created where no limit lives: %s", path);
				return false;
			}
			continue;
		}
		if (access(path, F_OK) != 0) {
			TH_LOG("missing: %s", path);
			return false;
		}
	}
	return true;
}

static const char *rd(const char *ctl, const char *name, const char *file)
{
	static char buf[4096];
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s/%s", ctl, name);
	if (wl_read(dir, file, buf, sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "<missing>");
	return buf;
}

TEST_F(v1, detect_on_this_host)
{
	enum mc_cgroup_version v;
	struct mc_err err = { 0 };

	/* back to auto-detection: a host with v1 memory is V1 unless v2 has controllers */
	ASSERT_OK(mc_cgroup_set_root(MC_CGROUP_V1, NULL, &err));
	ASSERT_OK(mc_cgroup_detect(&v, &err));
	TH_LOG("detected cgroup v%d", (int)v);
	EXPECT_EQ(MC_CGROUP_V1, v);
	ASSERT_GE(self->n_mounts, 3);
}

TEST_F(v1, limits_read_back_and_destroy_leaves_nothing)
{
	struct mc_cgroup_limits lim = {
		.memory_max = 50 << 20,
		.cpu_quota_us = 50000,
		.cpu_weight = 512,
		.pids_max = 32,
	};
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	char shares[32], devs[4096];

	lim.devices = mc_cgroup_default_devices(&lim.n_devices);
	ASSERT_OK(mc_cgroup_create(self->name, &lim, &cg, &err));
	ASSERT_TRUE(in_all(self));
	EXPECT_STREQ("52428800", rd("memory", self->name, "memory.limit_in_bytes"));
	if (access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0)
		EXPECT_STREQ("104857600", rd("memory", self->name, "memory.memsw.limit_in_bytes"));
	EXPECT_STREQ("50000", rd("cpu", self->name, "cpu.cfs_quota_us"));
	EXPECT_STREQ("100000", rd("cpu", self->name, "cpu.cfs_period_us"));
	snprintf(shares, sizeof(shares), "%llu",
		 (unsigned long long)mc_cgroup_cpu_weight_to_shares(512));
	EXPECT_STREQ(shares, rd("cpu", self->name, "cpu.shares"));
	EXPECT_STREQ("32", rd("pids", self->name, "pids.max"));
	snprintf(devs, sizeof(devs), "%s", rd("devices", self->name, "devices.list"));
	{
		char dir[PATH_MAX];
		FILE *f;
		char line[128];
		bool null = false, pts = false, mknod = false, all = false;

		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/devices/%s/devices.list", self->name);
		f = fopen(dir, "re");
		ASSERT_NONNULL(f);
		while (fgets(line, sizeof(line), f)) {
			null |= !strcmp(line, "c 1:3 rwm\n");
			pts |= !strcmp(line, "c 136:* rwm\n");
			mknod |= !strcmp(line, "c *:* m\n");
			all |= !strcmp(line, "a *:* rwm\n");
		}
		fclose(f);
		EXPECT_TRUE(null);
		EXPECT_TRUE(pts);
		EXPECT_TRUE(mknod);
		EXPECT_FALSE(all);
	}
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
	EXPECT_TRUE(in_none(self));
}

TEST_F(v1, update_raises_memory_above_old_memsw)
{
	struct mc_cgroup_limits lim = { .memory_max = 50 << 20 };
	struct mc_cgroup_limits up = { .memory_max = 200 << 20, .memory_swap_max = 400 << 20 };
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;

	ASSERT_OK(mc_cgroup_create(self->name, &lim, &cg, &err));
	ASSERT_OK(mc_cgroup_update(cg, &up, &err));
	EXPECT_STREQ("209715200", rd("memory", self->name, "memory.limit_in_bytes"));
	if (access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0)
		EXPECT_STREQ("419430400", rd("memory", self->name, "memory.memsw.limit_in_bytes"));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
}

TEST_F(v1, attach_child_everywhere_then_kill)
{
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	struct mc_cgroup_stats st;
	pid_t *pids = NULL, child;
	size_t n = 0;
	int gate = -1, status;

	ASSERT_OK(mc_cgroup_create(self->name, NULL, &cg, &err));
	child = wl_spawn(WL_FORKWAIT, 3, &gate);
	ASSERT_GT(child, 0);
	ASSERT_OK(mc_cgroup_attach(cg, child, &err));
	wl_release(&gate);
	EXPECT_TRUE(wl_proc_in_cgroup(child, "memory", self->name));
	EXPECT_TRUE(wl_proc_in_cgroup(child, "pids", self->name));
	EXPECT_TRUE(wl_proc_in_cgroup(child, "freezer", self->name));
	/* cpuset carries no limit of ours: the container is not placed there */
	EXPECT_FALSE(wl_proc_in_cgroup(child, "cpuset", self->name));
	/* the grandchildren are forked inside: wait until all 4 are listed */
	for (int i = 0; i < 200; i++) {
		free(pids);
		pids = NULL;
		n = 0;
		ASSERT_OK(mc_cgroup_pids(cg, &pids, &n, &err));
		if (n == 4)
			break;
		usleep(10000);
	}
	free(pids);
	ASSERT_EQ(4, n);
	ASSERT_OK(mc_cgroup_stats(cg, &st, &err));
	EXPECT_EQ(4, st.pids_current);
	EXPECT_GT(st.memory_current, 0);
	/* SIGTERM through the freezer reaches all four */
	EXPECT_EQ(4, mc_cgroup_kill(cg, SIGTERM, &err));
	status = wl_wait(child, 5000);
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGTERM, WTERMSIG(status));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
	EXPECT_TRUE(in_none(self));
}

/*
 * A process moves itself in with mc_cgroup_join_open/join_self ("0" to `tasks` in
 * every hierarchy): it ends up in the cgroup everywhere the container needs, and
 * children it forks afterwards are born inside.
 */
TEST_F(v1, self_join_moves_the_process_everywhere)
{
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	int fds[MAX_MOUNTS], n, go[2], done[2], status;
	pid_t child;
	char c;

	ASSERT_OK(mc_cgroup_create(self->name, NULL, &cg, &err));
	n = mc_cgroup_join_open(cg, fds, MAX_MOUNTS, &err);
	ASSERT_GT(n, 0);
	ASSERT_OK(pipe(go));
	ASSERT_OK(pipe(done));
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		uint64_t t0 = mc_time_mono_ns();

		for (int i = 0; i < n; i++)
			if (mc_cgroup_join_self(fds[i]) < 0)
				_exit(10 + i);
		fprintf(stderr, "# self-join of %d hierarchies: %.3f ms\n", n,
			(double)(mc_time_mono_ns() - t0) / 1e6);
		if (write(done[1], "j", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(0);
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	close(go[0]);
	close(done[1]);
	ASSERT_EQ(1, read(done[0], &c, 1));
	EXPECT_TRUE(wl_proc_in_cgroup(child, "memory", self->name));
	EXPECT_TRUE(wl_proc_in_cgroup(child, "pids", self->name));
	EXPECT_TRUE(wl_proc_in_cgroup(child, "freezer", self->name));
	EXPECT_FALSE(wl_proc_in_cgroup(child, "cpuset", self->name));
	/* the parent stayed where it was */
	EXPECT_FALSE(wl_proc_in_cgroup(getpid(), "memory", self->name));
	ASSERT_EQ(1, write(go[1], "g", 1));
	close(go[1]);
	close(done[0]);
	status = wl_wait(child, 5000);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
	EXPECT_TRUE(in_none(self));
}

/*
 * SIGKILL of a group whose tasks are already dying (what destroy does after `rm -f`,
 * or while the kernel reaps a container): no freezing, no wait, no warning, and
 * every task is gone after.
 */
TEST_F(v1, sigkill_of_dying_group_is_quick_and_quiet)
{
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	pid_t *pids = NULL, child;
	size_t n = 0;
	int gate = -1, status, saved, logfd, r;
	char logpath[] = "/tmp/mc-cgkill-log.XXXXXX", buf[512];
	uint64_t t0, t1;
	ssize_t len;

	ASSERT_OK(mc_cgroup_create(self->name, NULL, &cg, &err));
	child = wl_spawn(WL_FORKWAIT, 20, &gate);
	ASSERT_GT(child, 0);
	ASSERT_OK(mc_cgroup_attach(cg, child, &err));
	wl_release(&gate);
	for (int i = 0; i < 300 && n != 21; i++) {
		free(pids);
		pids = NULL;
		ASSERT_OK(mc_cgroup_pids(cg, &pids, &n, &err));
		usleep(10000);
	}
	free(pids);
	ASSERT_EQ(21, n);
	logfd = mkstemp(logpath);
	ASSERT_GE(logfd, 0);
	unlink(logpath);
	saved = dup(STDERR_FILENO);
	dup2(logfd, STDERR_FILENO);
	t0 = mc_time_mono_ns();
	r = mc_cgroup_kill(cg, SIGKILL, &err);
	/* again at once: the tasks are dying now, and our child stays a zombie */
	if (r >= 0)
		r = mc_cgroup_kill(cg, SIGKILL, &err);
	t1 = mc_time_mono_ns();
	dup2(saved, STDERR_FILENO);
	close(saved);
	len = pread(logfd, buf, sizeof(buf) - 1, 0);
	close(logfd);
	buf[len > 0 ? len : 0] = '\0';
	ASSERT_GE(r, 0);
	EXPECT_STREQ("", buf);
	TH_LOG("two kills took %.1f ms", (double)(t1 - t0) / 1e6);
	EXPECT_LT(t1 - t0, 500ull * 1000 * 1000);
	status = wl_wait(child, 5000);
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
	EXPECT_TRUE(in_none(self));
}

TEST_F_TIMEOUT(v1, oom_kill_is_reported, 60)
{
	struct mc_cgroup_limits lim = { .memory_max = 50 << 20 };
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	struct mc_cgroup_stats st;
	struct pollfd pfd;
	int gate = -1, status, wfd;
	pid_t child;

	ASSERT_OK(mc_cgroup_create(self->name, &lim, &cg, &err));
	EXPECT_EQ(0, mc_cgroup_oom_killed(cg));
	wfd = mc_cgroup_oom_watch(cg, &err);
	ASSERT_GE(wfd, 0);
	child = wl_spawn(WL_ALLOC, 200, &gate);
	ASSERT_GT(child, 0);
	ASSERT_OK(mc_cgroup_attach(cg, child, &err));
	wl_release(&gate);
	status = wl_wait(child, 30000);
	TH_LOG("child status 0x%x", status);
	ASSERT_NE(-1, status);
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	EXPECT_GT(mc_cgroup_oom_killed(cg), 0);
	ASSERT_OK(mc_cgroup_stats(cg, &st, &err));
	EXPECT_GE(st.oom_kills, 1);
	EXPECT_EQ(50 << 20, st.memory_limit);
	EXPECT_GE(st.memory_peak, 40 << 20);
	/* the eventfd registered on memory.oom_control fired */
	pfd = (struct pollfd){ .fd = wfd, .events = POLLIN };
	EXPECT_EQ(1, poll(&pfd, 1, 1000));
	close(wfd);
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
	EXPECT_TRUE(in_none(self));
}

TEST_F(v1, pids_limit_stops_fork_bomb)
{
	struct mc_cgroup_limits lim = { .pids_max = 16 };
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	struct mc_cgroup_stats st;
	int gate = -1, status;
	pid_t child;

	ASSERT_OK(mc_cgroup_create(self->name, &lim, &cg, &err));
	child = wl_spawn(WL_FORKBOMB, 0, &gate);
	ASSERT_GT(child, 0);
	ASSERT_OK(mc_cgroup_attach(cg, child, &err));
	wl_release(&gate);
	status = wl_wait(child, 20000);
	ASSERT_TRUE(WIFEXITED(status));
	/* the bomb itself is one of the 16: at most 15 forks succeed, then EAGAIN */
	TH_LOG("forks that succeeded: %d", WEXITSTATUS(status));
	EXPECT_NE(255, WEXITSTATUS(status));
	EXPECT_EQ(15, WEXITSTATUS(status));
	ASSERT_OK(mc_cgroup_stats(cg, &st, &err));
	EXPECT_EQ(16, st.pids_max);
	EXPECT_EQ(15, st.pids_current); /* the sleepers; the bomb has exited */
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
	EXPECT_TRUE(in_none(self));
}

TEST_F(v1, cpu_quota_throttles)
{
	struct mc_cgroup_limits lim = { .cpu_quota_us = 10000, .cpu_period_us = 100000 };
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	struct mc_cgroup_stats st;
	int gate = -1, status;
	pid_t child;

	ASSERT_OK(mc_cgroup_create(self->name, &lim, &cg, &err));
	child = wl_spawn(WL_SPIN, 500, &gate);
	ASSERT_GT(child, 0);
	ASSERT_OK(mc_cgroup_attach(cg, child, &err));
	wl_release(&gate);
	status = wl_wait(child, 10000);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_OK(mc_cgroup_stats(cg, &st, &err));
	TH_LOG("periods %llu throttled %llu for %llu ms, cpu %llu ms",
	       (unsigned long long)st.nr_periods, (unsigned long long)st.nr_throttled,
	       (unsigned long long)st.throttled_ns / 1000000,
	       (unsigned long long)st.cpu_usage_ns / 1000000);
	EXPECT_GT(st.nr_throttled, 0);
	EXPECT_GT(st.throttled_ns, 0);
	EXPECT_GT(st.cpu_usage_ns, 0);
	/* 10% of one CPU for 0.5 s: well under 0.5 s of CPU time */
	EXPECT_LT(st.cpu_usage_ns, 300ull * 1000 * 1000);
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
}

TEST_F(v1, nested_path)
{
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	char rel[128];
	int gate = -1, status;
	pid_t child;

	snprintf(rel, sizeof(rel), "%s/inner", self->name);
	ASSERT_OK(mc_cgroup_create(rel, NULL, &cg, &err));
	EXPECT_STREQ("<missing>", rd("cpuset", rel, "cpuset.cpus"));
	child = wl_spawn(WL_WAIT, 0, &gate);
	ASSERT_GT(child, 0);
	ASSERT_OK(mc_cgroup_attach(cg, child, &err));
	EXPECT_TRUE(wl_proc_in_cgroup(child, "memory", rel));
	EXPECT_TRUE(wl_proc_in_cgroup(child, "pids", rel));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
	/* destroy SIGKILLed what was inside */
	status = wl_wait(child, 5000);
	wl_release(&gate);
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	/* destroy removes the leaf only; the parent stays for other containers */
	EXPECT_STRNE("<missing>", rd("memory", self->name, "cgroup.procs"));
	EXPECT_STREQ("<missing>", rd("memory", rel, "cgroup.procs"));
}

TEST_F(v1, open_from_elsewhere_and_destroy_busy_group)
{
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL, *again = NULL;
	int gate = -1, status;
	pid_t child;

	ASSERT_OK(mc_cgroup_create(self->name, NULL, &cg, &err));
	mc_cgroup_free(cg);
	EXPECT_EQ(-EEXIST, mc_cgroup_create(self->name, NULL, &cg, &err));
	ASSERT_OK(mc_cgroup_open(self->name, &again, &err));
	child = wl_spawn(WL_FORKWAIT, 5, &gate);
	ASSERT_GT(child, 0);
	ASSERT_OK(mc_cgroup_attach(again, child, &err));
	wl_release(&gate);
	usleep(50000);
	/* destroy kills the six processes and waits for them to be gone */
	ASSERT_OK(mc_cgroup_destroy(again, &err));
	status = wl_wait(child, 5000);
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	EXPECT_TRUE(in_none(self));
	EXPECT_EQ(-ENOENT, mc_cgroup_open(self->name, &again, &err));
}

TEST_F(v1, failed_create_leaves_nothing)
{
	struct mc_cgroup_device_rule only_null[] = { { false, 'a', -1, -1, "" },
						     { true, 'c', 1, 3, "rwm" } };
	struct mc_cgroup_device_rule wants_zero[] = { { false, 'a', -1, -1, "" },
						      { true, 'c', 1, 5, "rwm" } };
	struct mc_cgroup_limits lim = { .memory_max = 1 << 20, .cpu_period_us = 2000000 };
	struct mc_cgroup_limits parent = { .devices = only_null, .n_devices = 2 };
	struct mc_cgroup_limits child = {
		.memory_max = 64 << 20, .pids_max = 10, .devices = wants_zero, .n_devices = 2
	};
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL, *inner = NULL;
	char rel[128];

	/* rejected before anything is made */
	ASSERT_EQ(-EINVAL, mc_cgroup_create(self->name, &lim, &cg, &err));
	EXPECT_TRUE(in_none(self));
	/*
	 * Rejected by the kernel half-way: the directories exist in every controller and
	 * the memory and pids limits are applied when the devices controller refuses to
	 * let a child allow more than its parent. Everything made must go again.
	 */
	ASSERT_OK(mc_cgroup_create(self->name, &parent, &cg, &err));
	snprintf(rel, sizeof(rel), "%s/inner", self->name);
	ASSERT_EQ(-EPERM, mc_cgroup_create(rel, &child, &inner, &err));
	TH_LOG("error: %s", err.msg);
	ASSERT_NULL(inner);
	EXPECT_STREQ("<missing>", rd("memory", rel, "cgroup.procs"));
	EXPECT_STREQ("<missing>", rd("pids", rel, "cgroup.procs"));
	EXPECT_STREQ("<missing>", rd("devices", rel, "cgroup.procs"));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
	EXPECT_TRUE(in_none(self));
}

TEST_HARNESS_MAIN
