/* SPDX-License-Identifier: MIT */
/*
 * The v2 backend against a temporary directory laid out like a cgroup2 mount: the
 * test checks the exact files and values the backend writes, and feeds it kernel-like
 * counter files to parse. Runs anywhere, no root needed.
 *
 *   ROOT/cgroup.controllers        "cpuset cpu io memory pids" (what the "kernel" offers)
 *   ROOT/cgroup.subtree_control    written by create: "+cpu +memory +pids"
 *   ROOT/mycontainer/...           parent, created and delegated to
 *   ROOT/mycontainer/c1/memory.max ...
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mc/cgroup.h>
#include <mc/util.h>

#include "workload.h"

FIXTURE(fake)
{
	char root[PATH_MAX];
};

static void put(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (mc_fs_write_atomic(path, val, strlen(val), 0644, NULL) < 0)
		abort();
}

/* get: the content of ROOT/REL/FILE, or "<missing>" */
static const char *get(const char *root, const char *rel, const char *file)
{
	static char buf[4096];
	char dir[PATH_MAX * 2];

	snprintf(dir, sizeof(dir), "%s/%s", root, rel);
	if (wl_read(dir, file, buf, sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "<missing>");
	return buf;
}

static bool exists(const char *root, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return access(path, F_OK) == 0;
}

FIXTURE_SETUP(fake)
{
	struct mc_err err = { 0 };

	snprintf(self->root, sizeof(self->root), "%s/mc-cgv2.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ASSERT_NONNULL(mkdtemp(self->root));
	put(self->root, "cgroup.controllers", "cpuset cpu io memory pids\n");
	put(self->root, "cgroup.subtree_control", "");
	ASSERT_OK(mc_cgroup_set_root(MC_CGROUP_V2, self->root, &err));
}

FIXTURE_TEARDOWN(fake)
{
	mc_cgroup_set_root(MC_CGROUP_V2, NULL, NULL);
	if (self->root[0])
		mc_fs_rm_rf(self->root, NULL);
}

TEST_F(fake, create_writes_limits_and_delegates)
{
	struct mc_cgroup_limits lim = {
		.memory_max = 50 << 20,
		.cpu_quota_us = 50000,
		.cpu_period_us = 100000,
		.cpu_weight = 200,
		.pids_max = 64,
	};
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	enum mc_cgroup_version v;

	lim.devices = mc_cgroup_default_devices(&lim.n_devices);
	ASSERT_OK(mc_cgroup_detect(&v, &err));
	ASSERT_EQ(MC_CGROUP_V2, v);
	ASSERT_OK(mc_cgroup_create("mycontainer/c1", &lim, &cg, &err));
	ASSERT_EQ(MC_CGROUP_V2, mc_cgroup_version(cg));
	ASSERT_STREQ("mycontainer/c1", mc_cgroup_path(cg));
	EXPECT_STREQ("+cpu +memory +pids", get(self->root, ".", "cgroup.subtree_control"));
	EXPECT_STREQ("+cpu +memory +pids",
		     get(self->root, "mycontainer", "cgroup.subtree_control"));
	EXPECT_STREQ("52428800", get(self->root, "mycontainer/c1", "memory.max"));
	/* --memory 50M alone: memory+swap = 100M, so 50M of swap */
	EXPECT_STREQ("52428800", get(self->root, "mycontainer/c1", "memory.swap.max"));
	EXPECT_STREQ("50000 100000", get(self->root, "mycontainer/c1", "cpu.max"));
	EXPECT_STREQ("200", get(self->root, "mycontainer/c1", "cpu.weight"));
	EXPECT_STREQ("64", get(self->root, "mycontainer/c1", "pids.max"));
	/* the leaf itself delegates nothing */
	EXPECT_STREQ("<missing>", get(self->root, "mycontainer/c1", "cgroup.subtree_control"));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
	EXPECT_FALSE(exists(self->root, "mycontainer/c1"));
	EXPECT_TRUE(exists(self->root, "mycontainer"));
}

TEST_F(fake, unlimited_values_and_explicit_swap)
{
	struct mc_cgroup_limits lim = {
		.memory_max = -1, .memory_swap_max = -1, .cpu_period_us = 50000, .pids_max = -1
	};
	struct mc_cgroup_limits upd = { .memory_max = 100 << 20, .memory_swap_max = 300 << 20 };
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;

	ASSERT_OK(mc_cgroup_create("c2", &lim, &cg, &err));
	EXPECT_STREQ("max", get(self->root, "c2", "memory.max"));
	EXPECT_STREQ("max", get(self->root, "c2", "memory.swap.max"));
	EXPECT_STREQ("max 50000", get(self->root, "c2", "cpu.max"));
	EXPECT_STREQ("max", get(self->root, "c2", "pids.max"));
	ASSERT_OK(mc_cgroup_update(cg, &upd, &err));
	EXPECT_STREQ("104857600", get(self->root, "c2", "memory.max"));
	EXPECT_STREQ("209715200", get(self->root, "c2", "memory.swap.max"));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
	EXPECT_FALSE(exists(self->root, "c2"));
}

TEST_F(fake, zeroed_limits_write_nothing)
{
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;

	ASSERT_OK(mc_cgroup_create("c3", NULL, &cg, &err));
	EXPECT_STREQ("<missing>", get(self->root, "c3", "memory.max"));
	EXPECT_STREQ("<missing>", get(self->root, "c3", "cpu.max"));
	EXPECT_STREQ("<missing>", get(self->root, "c3", "pids.max"));
	mc_cgroup_free(cg);
	ASSERT_OK(mc_cgroup_open("c3", &cg, &err));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
	EXPECT_EQ(-ENOENT, mc_cgroup_open("c3", &cg, &err));
}

TEST_F(fake, missing_controller_fails_and_leaves_nothing)
{
	struct mc_cgroup_limits lim = { .memory_max = 50 << 20 };
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;

	put(self->root, "cgroup.controllers", "cpu pids\n");
	ASSERT_EQ(-ENOTSUP, mc_cgroup_create("mycontainer/deep/c4", &lim, &cg, &err));
	TH_LOG("error: %s", err.msg);
	EXPECT_NONNULL(strstr(err.msg, "memory controller is not available"));
	EXPECT_FALSE(exists(self->root, "mycontainer"));
	ASSERT_NULL(cg);
}

TEST_F(fake, existing_leaf_is_eexist_and_untouched)
{
	struct mc_cgroup_limits lim = { .pids_max = 5 };
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	char dir[PATH_MAX * 2];

	snprintf(dir, sizeof(dir), "%s/busy", self->root);
	ASSERT_EQ(0, mkdir(dir, 0755));
	put(dir, "pids.max", "7");
	ASSERT_EQ(-EEXIST, mc_cgroup_create("busy", &lim, &cg, &err));
	EXPECT_STREQ("7", get(self->root, "busy", "pids.max"));
}

TEST_F(fake, bad_arguments_are_rejected)
{
	static const char *const bad_paths[] = { "", "/abs", "../up", "a/../b", "a//b", "a/", "." };
	struct mc_cgroup_device_rule bad_dev = { true, 'x', 1, 3, "rwm" };
	struct mc_cgroup_device_rule bad_acc = { true, 'c', 1, 3, "rwx" };
	struct mc_cgroup_limits bad[] = {
		{ .memory_max = 100 << 20, .memory_swap_max = 50 << 20 },
		{ .memory_swap_max = 50 << 20 },
		{ .cpu_weight = 20000 },
		{ .cpu_period_us = 10 },
		{ .cpu_quota_us = 5 },
		{ .pids_max = -5 },
		{ .devices = &bad_dev, .n_devices = 1 },
		{ .devices = &bad_acc, .n_devices = 1 },
	};
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;

	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++)
		EXPECT_EQ(-EINVAL, mc_cgroup_create(bad_paths[i], NULL, &cg, &err));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, mc_cgroup_create("bad", &bad[i], &cg, &err));
		TH_LOG("%zu: %s", i, err.msg);
		EXPECT_FALSE(exists(self->root, "bad"));
	}
	ASSERT_NULL(cg);
}

TEST_F(fake, stats_parse_kernel_files)
{
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	struct mc_cgroup_stats st;
	char dir[PATH_MAX * 2];

	ASSERT_OK(mc_cgroup_create("s", NULL, &cg, &err));
	snprintf(dir, sizeof(dir), "%s/s", self->root);
	put(dir, "memory.current", "1234\n");
	put(dir, "memory.peak", "5678\n");
	put(dir, "memory.max", "max\n");
	put(dir, "pids.current", "3\n");
	put(dir, "pids.max", "max\n");
	put(dir, "cpu.stat",
	    "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"
	    "nr_periods 10\nnr_throttled 4\nthrottled_usec 77\n");
	put(dir, "memory.events", "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\noom_group_kill 0\n");
	ASSERT_OK(mc_cgroup_stats(cg, &st, &err));
	EXPECT_EQ(1234, st.memory_current);
	EXPECT_EQ(5678, st.memory_peak);
	EXPECT_TRUE(st.memory_limit == UINT64_MAX);
	EXPECT_EQ(3, st.pids_current);
	EXPECT_TRUE(st.pids_max == UINT64_MAX);
	EXPECT_EQ(1500000, st.cpu_usage_ns);
	EXPECT_EQ(1000000, st.cpu_user_ns);
	EXPECT_EQ(500000, st.cpu_system_ns);
	EXPECT_EQ(10, st.nr_periods);
	EXPECT_EQ(4, st.nr_throttled);
	EXPECT_EQ(77000, st.throttled_ns);
	EXPECT_EQ(1, st.oom_kills);
	EXPECT_EQ(1, mc_cgroup_oom_killed(cg));
	put(dir, "memory.events", "oom_kill 0\n");
	EXPECT_EQ(0, mc_cgroup_oom_killed(cg));
	/* garbage from the "kernel" is an error, not a silent zero */
	put(dir, "cpu.stat", "usage_usec lots\n");
	EXPECT_EQ(-EINVAL, mc_cgroup_stats(cg, &st, &err));
	TH_LOG("error: %s", err.msg);
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
}

TEST_F(fake, attach_pids_and_kill)
{
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	pid_t *pids = NULL;
	size_t n = 0;
	char dir[PATH_MAX * 2];
	int gate = -1, st;
	pid_t child;

	ASSERT_OK(mc_cgroup_create("k", NULL, &cg, &err));
	snprintf(dir, sizeof(dir), "%s/k", self->root);
	child = wl_spawn(WL_WAIT, 0, &gate);
	ASSERT_GT(child, 0);
	ASSERT_OK(mc_cgroup_attach(cg, child, &err));
	ASSERT_OK(mc_cgroup_pids(cg, &pids, &n, &err));
	ASSERT_EQ(1, n);
	EXPECT_EQ(child, pids[0]);
	free(pids);
	/* no cgroup.kill, but a cgroup.freeze: freeze, signal the listed pid, thaw */
	put(dir, "cgroup.freeze", "0");
	EXPECT_EQ(1, mc_cgroup_kill(cg, SIGTERM, &err));
	EXPECT_STREQ("0", get(self->root, "k", "cgroup.freeze"));
	st = wl_wait(child, 5000);
	wl_release(&gate);
	ASSERT_TRUE(WIFSIGNALED(st));
	EXPECT_EQ(SIGTERM, WTERMSIG(st));
	/* with cgroup.kill (5.14+), SIGKILL is one write */
	put(dir, "cgroup.kill", "");
	put(dir, "cgroup.procs", "");
	EXPECT_EQ(0, mc_cgroup_kill(cg, SIGKILL, &err));
	EXPECT_STREQ("1", get(self->root, "k", "cgroup.kill"));
	/* a corrupt cgroup.procs is reported */
	put(dir, "cgroup.procs", "12x\n");
	EXPECT_EQ(-EINVAL, mc_cgroup_pids(cg, &pids, &n, &err));
	put(dir, "cgroup.procs", "");
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
}

TEST_F(fake, dirfd_and_attach_bad_pid)
{
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	int fd;

	ASSERT_OK(mc_cgroup_create("d", NULL, &cg, &err));
	fd = mc_cgroup_dirfd(cg, &err);
	ASSERT_GE(fd, 0);
	close(fd);
	EXPECT_EQ(-EINVAL, mc_cgroup_attach(cg, 0, &err));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
}

TEST_HARNESS_MAIN
