/* SPDX-License-Identifier: MIT */
/*
 * The v2 backend on a real cgroup2 mount (root): /sys/fs/cgroup on a pure v2 host, or
 * the hybrid layout's /sys/fs/cgroup/unified. Lifecycle and the eBPF device filter need
 * no controller and run on both; limits, OOM, pids and throttling need the memory, cpu
 * and pids controllers in the v2 root and skip where v1 holds them (hybrid hosts).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mc/cgroup.h>

#include "workload.h"

#define CG2_MAGIC 0x63677270

FIXTURE(v2)
{
	char root[PATH_MAX];
	char name[64];
	char dir[PATH_MAX * 2];
};

static bool is_cg2(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == CG2_MAGIC;
}

FIXTURE_SETUP(v2)
{
	static int seq;
	struct mc_err err = { 0 };

	require_root();
	if (is_cg2("/sys/fs/cgroup"))
		snprintf(self->root, sizeof(self->root), "/sys/fs/cgroup");
	else if (is_cg2("/sys/fs/cgroup/unified"))
		snprintf(self->root, sizeof(self->root), "/sys/fs/cgroup/unified");
	else
		SKIP("no cgroup2 mount at /sys/fs/cgroup or /sys/fs/cgroup/unified");
	snprintf(self->name, sizeof(self->name), "mctest-%d-%d", (int)getpid(), ++seq);
	snprintf(self->dir, sizeof(self->dir), "%s/%s", self->root, self->name);
	ASSERT_OK(mc_cgroup_set_root(MC_CGROUP_V2, self->root, &err));
}

FIXTURE_TEARDOWN(v2)
{
	if (self->root[0] && wl_cleanup_cgroup(self->root, self->name) < 0)
		TH_LOG("teardown: could not remove %s", self->dir);
}

static void require_controllers(FIXTURE_DATA(v2) * self)
{
	char buf[512];

	if (wl_read(self->root, "cgroup.controllers", buf, sizeof(buf)) < 0 ||
	    !strstr(buf, "memory") || !strstr(buf, "pids") || !strstr(buf, "cpu"))
		SKIP("cgroup v2 at %s lacks memory/cpu/pids (held by v1 on this host)", self->root);
}

static const char *rd(FIXTURE_DATA(v2) * self, const char *file)
{
	static char buf[1024];

	if (wl_read(self->dir, file, buf, sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "<missing>");
	return buf;
}

TEST_F(v2, lifecycle_attach_kill_destroy)
{
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	pid_t *pids = NULL, child;
	size_t n = 0;
	int gate = -1, status, fd;

	ASSERT_OK(mc_cgroup_create(self->name, NULL, &cg, &err));
	ASSERT_EQ(0, access(self->dir, F_OK));
	fd = mc_cgroup_dirfd(cg, &err);
	ASSERT_GE(fd, 0);
	close(fd);
	child = wl_spawn(WL_FORKWAIT, 2, &gate);
	ASSERT_GT(child, 0);
	ASSERT_OK(mc_cgroup_attach(cg, child, &err));
	wl_release(&gate);
	EXPECT_TRUE(wl_proc_in_cgroup(child, "", self->name));
	for (int i = 0; i < 200; i++) {
		free(pids);
		pids = NULL;
		n = 0;
		ASSERT_OK(mc_cgroup_pids(cg, &pids, &n, &err));
		if (n == 3)
			break;
		usleep(10000);
	}
	free(pids);
	ASSERT_EQ(3, n);
	ASSERT_GE(mc_cgroup_kill(cg, SIGKILL, &err), 0);
	status = wl_wait(child, 5000);
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
	EXPECT_NE(0, access(self->dir, F_OK));
}

/* device_probe: in the child, what the filter lets through, as bits */
static int device_probe(void)
{
	int bits = 0, fd;

	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		bits |= 1;
		close(fd);
	}
	if ((fd = open("/dev/zero", O_RDONLY)) >= 0) {
		bits |= 2;
		close(fd);
	}
	if ((fd = open("/dev/zero", O_WRONLY)) < 0 && errno == EPERM)
		bits |= 4;
	if ((fd = open("/dev/full", O_RDONLY)) < 0 && errno == EPERM)
		bits |= 8;
	if (fd >= 0)
		close(fd);
	return bits;
}

TEST_F(v2, ebpf_device_filter)
{
	struct mc_cgroup_device_rule rules[] = {
		{ false, 'a', -1, -1, "rwm" }, { true, 'c', 1, 3, "rwm" }, /* null */
		{ true, 'c', 1, 5, "r" },				   /* zero, read only */
		{ true, 'c', 1, 7, "rwm" },				   /* full: allowed ... */
		{ false, 'c', 1, 7, "r" }, /* ... then read denied again: last match wins */
	};
	struct mc_cgroup_limits lim = { .devices = rules, .n_devices = 5 };
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	int p[2], status;
	pid_t child;
	char c;

	if (mc_cgroup_create(self->name, &lim, &cg, &err) < 0) {
		if (err.code == EPERM)
			SKIP("kernel refuses cgroup device programs: %s", err.msg);
		ASSERT_OK(-err.code);
	}
	ASSERT_EQ(0, pipe(p));
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(device_probe());
	}
	close(p[0]);
	ASSERT_OK(mc_cgroup_attach(cg, child, &err));
	close(p[1]);
	status = wl_wait(child, 5000);
	ASSERT_TRUE(WIFEXITED(status));
	TH_LOG("probe bits 0x%x (want 0xf)", WEXITSTATUS(status));
	EXPECT_EQ(0xf, WEXITSTATUS(status));
	/* outside the cgroup nothing changed */
	EXPECT_EQ(0x3, device_probe() & 0x3);
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
}

TEST_F(v2, limits_read_back)
{
	struct mc_cgroup_limits lim = {
		.memory_max = 50 << 20, .cpu_quota_us = 50000, .cpu_weight = 300, .pids_max = 32
	};
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;

	require_controllers(self);
	ASSERT_OK(mc_cgroup_create(self->name, &lim, &cg, &err));
	EXPECT_STREQ("52428800", rd(self, "memory.max"));
	if (strcmp(rd(self, "memory.swap.max"), "<missing>"))
		EXPECT_STREQ("52428800", rd(self, "memory.swap.max"));
	EXPECT_STREQ("50000 100000", rd(self, "cpu.max"));
	EXPECT_STREQ("300", rd(self, "cpu.weight"));
	EXPECT_STREQ("32", rd(self, "pids.max"));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
	EXPECT_NE(0, access(self->dir, F_OK));
}

TEST_F_TIMEOUT(v2, oom_kill_is_reported, 60)
{
	struct mc_cgroup_limits lim = { .memory_max = 50 << 20 };
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	int gate = -1, status;
	pid_t child;

	require_controllers(self);
	ASSERT_OK(mc_cgroup_create(self->name, &lim, &cg, &err));
	child = wl_spawn(WL_ALLOC, 200, &gate);
	ASSERT_GT(child, 0);
	ASSERT_OK(mc_cgroup_attach(cg, child, &err));
	wl_release(&gate);
	status = wl_wait(child, 30000);
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	EXPECT_GT(mc_cgroup_oom_killed(cg), 0);
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
}

TEST_F(v2, pids_limit_stops_fork_bomb)
{
	struct mc_cgroup_limits lim = { .pids_max = 16 };
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	int gate = -1, status;
	pid_t child;

	require_controllers(self);
	ASSERT_OK(mc_cgroup_create(self->name, &lim, &cg, &err));
	child = wl_spawn(WL_FORKBOMB, 0, &gate);
	ASSERT_GT(child, 0);
	ASSERT_OK(mc_cgroup_attach(cg, child, &err));
	wl_release(&gate);
	status = wl_wait(child, 20000);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(15, WEXITSTATUS(status));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
}

TEST_F(v2, cpu_quota_throttles)
{
	struct mc_cgroup_limits lim = { .cpu_quota_us = 10000, .cpu_period_us = 100000 };
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	struct mc_cgroup_stats st;
	int gate = -1, status;
	pid_t child;

	require_controllers(self);
	ASSERT_OK(mc_cgroup_create(self->name, &lim, &cg, &err));
	child = wl_spawn(WL_SPIN, 500, &gate);
	ASSERT_GT(child, 0);
	ASSERT_OK(mc_cgroup_attach(cg, child, &err));
	wl_release(&gate);
	status = wl_wait(child, 10000);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_OK(mc_cgroup_stats(cg, &st, &err));
	EXPECT_GT(st.nr_throttled, 0);
	EXPECT_GT(st.throttled_ns, 0);
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
}

TEST_HARNESS_MAIN
