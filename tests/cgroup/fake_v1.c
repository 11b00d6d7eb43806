/* SPDX-License-Identifier: MIT */
/*
 * The v1 backend against a temporary directory laid out like /sys/fs/cgroup on a v1
 * host, co-mounted controllers and alias symlinks included:
 *
 *   ROOT/memory/  ROOT/cpu,cpuacct/  ROOT/cpu -> cpu,cpuacct  ROOT/pids/
 *   ROOT/devices/ ROOT/freezer/      ROOT/cpuset/ (cpuset.cpus "0-1", cpuset.mems "0")
 *   ROOT/systemd/ (a named hierarchy: not a controller, ignored)
 */
#include "harness.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mc/cgroup.h>
#include <mc/util.h>

#include "workload.h"

static const char *const ctls[] = {
	"memory", "cpu,cpuacct", "pids", "devices", "freezer", "cpuset"
};
/* The controllers a container joins: all but cpuset (last), which carries no limit. */
#define N_JOINED 5

FIXTURE(fake1)
{
	char root[PATH_MAX];
};

static void put(const char *root, const char *rel, const char *file, const char *val)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s/%s", root, rel, file);
	if (mc_fs_write_atomic(path, val, strlen(val), 0644, NULL) < 0)
		abort();
}

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

FIXTURE_SETUP(fake1)
{
	struct mc_err err = { 0 };
	char path[PATH_MAX * 2];

	snprintf(self->root, sizeof(self->root), "%s/mc-cgv1.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ASSERT_NONNULL(mkdtemp(self->root));
	for (size_t i = 0; i < sizeof(ctls) / sizeof(ctls[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", self->root, ctls[i]);
		ASSERT_EQ(0, mkdir(path, 0755));
	}
	snprintf(path, sizeof(path), "%s/systemd", self->root);
	ASSERT_EQ(0, mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/cpu", self->root);
	ASSERT_EQ(0, symlink("cpu,cpuacct", path));
	put(self->root, "cpuset", "cpuset.cpus", "0-1\n");
	put(self->root, "cpuset", "cpuset.mems", "0\n");
	ASSERT_OK(mc_cgroup_set_root(MC_CGROUP_V1, self->root, &err));
}

FIXTURE_TEARDOWN(fake1)
{
	mc_cgroup_set_root(MC_CGROUP_V1, NULL, NULL);
	if (self->root[0])
		mc_fs_rm_rf(self->root, NULL);
}

TEST_F(fake1, create_in_every_controller_with_limits)
{
	struct mc_cgroup_limits lim = {
		.memory_max = 50 << 20, .cpu_quota_us = 25000, .cpu_weight = 100, .pids_max = 9
	};
	struct mc_cgroup_device_rule rules[] = { { false, 'a', -1, -1, "" },
						 { true, 'c', 1, 3, "rwm" },
						 { false, 'c', 1, 3, "m" } };
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;

	lim.devices = rules;
	lim.n_devices = 3;
	ASSERT_OK(mc_cgroup_create("mc/x", &lim, &cg, &err));
	for (size_t i = 0; i < N_JOINED; i++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "%s/mc/x", ctls[i]);
		EXPECT_TRUE(exists(self->root, rel));
	}
	EXPECT_FALSE(exists(self->root, "systemd/mc"));
	EXPECT_STREQ("52428800", get(self->root, "memory/mc/x", "memory.limit_in_bytes"));
	EXPECT_STREQ("104857600", get(self->root, "memory/mc/x", "memory.memsw.limit_in_bytes"));
	EXPECT_STREQ("100000", get(self->root, "cpu,cpuacct/mc/x", "cpu.cfs_period_us"));
	EXPECT_STREQ("25000", get(self->root, "cpu,cpuacct/mc/x", "cpu.cfs_quota_us"));
	EXPECT_STREQ("2597", get(self->root, "cpu,cpuacct/mc/x", "cpu.shares"));
	EXPECT_STREQ("9", get(self->root, "pids/mc/x", "pids.max"));
	/* a fake file keeps only the last write: the last allow and the last deny */
	EXPECT_STREQ("c 1:3 rwm", get(self->root, "devices/mc/x", "devices.allow"));
	EXPECT_STREQ("c 1:3 m", get(self->root, "devices/mc/x", "devices.deny"));
	/* no limit lives in cpuset: the container is not placed there at all */
	EXPECT_FALSE(exists(self->root, "cpuset/mc"));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
	for (size_t i = 0; i < N_JOINED; i++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "%s/mc/x", ctls[i]);
		EXPECT_FALSE(exists(self->root, rel));
		snprintf(rel, sizeof(rel), "%s/mc", ctls[i]);
		EXPECT_TRUE(exists(self->root, rel));
	}
}

TEST_F(fake1, unlimited_and_stats)
{
	struct mc_cgroup_limits lim = { .memory_max = -1, .pids_max = -1, .cpu_period_us = 50000 };
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	struct mc_cgroup_stats st;

	ASSERT_OK(mc_cgroup_create("s", &lim, &cg, &err));
	EXPECT_STREQ("-1", get(self->root, "memory/s", "memory.limit_in_bytes"));
	EXPECT_STREQ("-1", get(self->root, "cpu,cpuacct/s", "cpu.cfs_quota_us"));
	EXPECT_STREQ("max", get(self->root, "pids/s", "pids.max"));
	put(self->root, "memory/s", "memory.usage_in_bytes", "4096\n");
	put(self->root, "memory/s", "memory.max_usage_in_bytes", "8192\n");
	put(self->root, "memory/s", "memory.limit_in_bytes", "9223372036854771712\n");
	put(self->root, "memory/s", "memory.oom_control",
	    "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
	put(self->root, "cpu,cpuacct/s", "cpuacct.usage", "3000\n");
	put(self->root, "cpu,cpuacct/s", "cpuacct.stat", "user 2\nsystem 1\n");
	put(self->root, "cpu,cpuacct/s", "cpu.stat",
	    "nr_periods 5\nnr_throttled 3\nthrottled_time 999\n");
	put(self->root, "pids/s", "pids.current", "4\n");
	ASSERT_OK(mc_cgroup_stats(cg, &st, &err));
	EXPECT_EQ(4096, st.memory_current);
	EXPECT_EQ(8192, st.memory_peak);
	EXPECT_TRUE(st.memory_limit == UINT64_MAX);
	EXPECT_EQ(3000, st.cpu_usage_ns);
	/* cpuacct.stat is in USER_HZ ticks */
	EXPECT_EQ(2 * (1000000000 / sysconf(_SC_CLK_TCK)), st.cpu_user_ns);
	EXPECT_EQ(5, st.nr_periods);
	EXPECT_EQ(3, st.nr_throttled);
	EXPECT_EQ(999, st.throttled_ns);
	EXPECT_EQ(4, st.pids_current);
	EXPECT_TRUE(st.pids_max == UINT64_MAX);
	EXPECT_EQ(2, st.oom_kills);
	EXPECT_EQ(2, mc_cgroup_oom_killed(cg));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
}

TEST_F(fake1, missing_controller_rolls_back_everywhere)
{
	struct mc_cgroup_limits lim = { .pids_max = 5 };
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/pids", self->root);
	ASSERT_EQ(0, rmdir(path));
	ASSERT_OK(mc_cgroup_set_root(MC_CGROUP_V1, self->root, &err));
	ASSERT_EQ(-ENOTSUP, mc_cgroup_create("mc/y", &lim, &cg, &err));
	TH_LOG("error: %s", err.msg);
	EXPECT_FALSE(exists(self->root, "memory/mc"));
	EXPECT_FALSE(exists(self->root, "cpuset/mc"));
	/* parents that existed before are kept */
	snprintf(path, sizeof(path), "%s/memory/keep", self->root);
	ASSERT_EQ(0, mkdir(path, 0755));
	ASSERT_EQ(-ENOTSUP, mc_cgroup_create("keep/y", &lim, &cg, &err));
	EXPECT_TRUE(exists(self->root, "memory/keep"));
	EXPECT_FALSE(exists(self->root, "memory/keep/y"));
	EXPECT_FALSE(exists(self->root, "cpuset/keep"));
}

TEST_F(fake1, existing_leaf_in_one_controller)
{
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/freezer/z", self->root);
	ASSERT_EQ(0, mkdir(path, 0755));
	ASSERT_EQ(-EEXIST, mc_cgroup_create("z", NULL, &cg, &err));
	EXPECT_TRUE(exists(self->root, "freezer/z"));
	EXPECT_FALSE(exists(self->root, "memory/z"));
	EXPECT_FALSE(exists(self->root, "pids/z"));
	ASSERT_NULL(cg);
}

/* A fake root has no kernel to move anyone: self-join is refused, not faked. */
TEST_F(fake1, self_join_is_not_supported)
{
	struct mc_err err = { 0 };
	struct mc_cgroup *cg = NULL;
	int fds[16];

	ASSERT_OK(mc_cgroup_create("mycontainer/j", NULL, &cg, &err));
	EXPECT_EQ(-ENOTSUP, mc_cgroup_join_open(cg, fds, 16, &err));
	ASSERT_OK(mc_cgroup_destroy(cg, &err));
}

TEST_F(fake1, no_controllers_is_an_error)
{
	struct mc_err err = { 0 };
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/systemd", self->root);
	EXPECT_EQ(-ENOENT, mc_cgroup_set_root(MC_CGROUP_V1, path, &err));
	TH_LOG("error: %s", err.msg);
	EXPECT_EQ(-ENOENT, mc_cgroup_set_root(MC_CGROUP_V1, "/nonexistent/x", &err));
}

TEST_HARNESS_MAIN
