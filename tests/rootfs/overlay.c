/* SPDX-License-Identifier: MIT */
/*
 * Tests of the per-container layer directories and their pool (rootfs/overlay.c):
 * fill makes complete, empty, root-only sets up to the bound and sweeps debris;
 * create takes one with a rename (never the same one twice, also under concurrent
 * runs), makes its own when the pool is empty or the layers belong to a user
 * namespace's root.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mc/rootfs.h>
#include <mc/util.h>

FIXTURE(pool)
{
	char dir[PATH_MAX];
	char pool[PATH_MAX + 16];
};

FIXTURE_SETUP(pool)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/mc-rootfs-pool.XXXXXX");
	ASSERT_NONNULL(mkdtemp(self->dir));
	snprintf(self->pool, sizeof(self->pool), "%s/pool", self->dir);
}

FIXTURE_TEARDOWN(pool)
{
	if (self->dir[0])
		mc_fs_rm_rf(self->dir, NULL);
}

/* Entries of @dir not starting with '.'; -1 if it cannot be read. */
static int entries(const char *dir)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* A container layer set: 0700 dir, empty upper/work/merged dirs owned by @uid. */
static bool complete(const char *dir, uid_t uid)
{
	static const char *const sub[] = { "upper", "work", "merged" };
	char p[PATH_MAX + 16];
	struct stat st;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return false;
	if (!uid && (st.st_mode & 0777) != 0700)
		return false;
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, sub[i]);
		if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid || entries(p) != 0)
			return false;
	}
	return true;
}

TEST_F(pool, fill_makes_complete_entries_up_to_the_bound)
{
	struct mc_err err = { 0 };
	char p[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;

	ASSERT_EQ(MC_ROOTFS_OVERLAY_POOL_MAX, mc_rootfs_overlay_pool_fill(self->dir, &err));
	ASSERT_EQ(MC_ROOTFS_OVERLAY_POOL_MAX, entries(self->pool));
	EXPECT_EQ(0, mc_rootfs_overlay_pool_fill(self->dir, &err));
	EXPECT_EQ(MC_ROOTFS_OVERLAY_POOL_MAX, entries(self->pool));
	d = opendir(self->pool);
	ASSERT_NONNULL(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", self->pool, de->d_name);
		EXPECT_TRUE(complete(p, 0));
	}
	closedir(d);
}

TEST_F(pool, fill_sweeps_debris_and_yields_to_a_running_filler)
{
	struct mc_err err = { 0 };
	char p[PATH_MAX + 64];
	int lock;

	ASSERT_EQ(0, mkdir(self->pool, 0700));
	snprintf(p, sizeof(p), "%s/.tmp-0123456789abcdef", self->pool);
	ASSERT_EQ(0, mkdir(p, 0700));
	snprintf(p, sizeof(p), "%s/.lock", self->pool);
	lock = open(p, O_RDWR | O_CREAT, 0600);
	ASSERT_GE(lock, 0);
	ASSERT_EQ(0, flock(lock, LOCK_EX));
	/* Locked by "another filler" (another open file description): nothing made. */
	EXPECT_EQ(0, mc_rootfs_overlay_pool_fill(self->dir, &err));
	EXPECT_EQ(0, entries(self->pool));
	close(lock);
	EXPECT_EQ(MC_ROOTFS_OVERLAY_POOL_MAX, mc_rootfs_overlay_pool_fill(self->dir, &err));
	snprintf(p, sizeof(p), "%s/.tmp-0123456789abcdef", self->pool);
	EXPECT_NE(0, access(p, F_OK));
}

TEST_F(pool, create_takes_an_entry_then_makes_its_own)
{
	struct mc_err err = { 0 };
	struct mc_rootfs_overlay a, b, c;

	ASSERT_EQ(MC_ROOTFS_OVERLAY_POOL_MAX, mc_rootfs_overlay_pool_fill(self->dir, &err));
	ASSERT_EQ(0, mc_rootfs_overlay_create(self->dir, "aaaa", 0, 0, &a, &err));
	EXPECT_EQ(MC_ROOTFS_OVERLAY_POOL_MAX - 1, entries(self->pool));
	EXPECT_TRUE(complete(a.dir, 0));
	/* Drain the pool; the next create makes its own directories. */
	while (entries(self->pool) > 0) {
		static int k;
		char id[16];

		snprintf(id, sizeof(id), "drain%d", k++);
		ASSERT_EQ(0, mc_rootfs_overlay_create(self->dir, id, 0, 0, &b, &err));
	}
	ASSERT_EQ(0, mc_rootfs_overlay_create(self->dir, "cccc", 0, 0, &c, &err));
	EXPECT_TRUE(complete(c.dir, 0));
	/* Removal is the same for both kinds. */
	EXPECT_EQ(0, mc_rootfs_overlay_remove(&a, &err));
	EXPECT_EQ(0, mc_rootfs_overlay_remove(&c, &err));
	EXPECT_NE(0, access(a.dir, F_OK));
	EXPECT_NE(0, access(c.dir, F_OK));
}

TEST_F(pool, user_namespace_layers_never_come_from_the_pool)
{
	struct mc_err err = { 0 };
	struct mc_rootfs_overlay a;

	require_root();
	ASSERT_EQ(MC_ROOTFS_OVERLAY_POOL_MAX, mc_rootfs_overlay_pool_fill(self->dir, &err));
	ASSERT_EQ(0, mc_rootfs_overlay_create(self->dir, "userns", 100000, 100000, &a, &err));
	EXPECT_EQ(MC_ROOTFS_OVERLAY_POOL_MAX, entries(self->pool));
	EXPECT_TRUE(complete(a.dir, 100000));
}

TEST_F(pool, concurrent_creates_never_share_an_entry)
{
	enum {
		N = 6
	};
	struct mc_err err = { 0 };
	char p[PATH_MAX + 64];
	pid_t pids[N];
	int go[2];

	ASSERT_EQ(MC_ROOTFS_OVERLAY_POOL_MAX, mc_rootfs_overlay_pool_fill(self->dir, &err));
	ASSERT_EQ(0, pipe(go));
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		ASSERT_GE(pids[i], 0);
		if (pids[i] == 0) {
			struct mc_rootfs_overlay ov;
			struct mc_err e = { 0 };
			char id[16], c, mark[PATH_MAX + 16];
			int fd;

			close(go[1]);
			if (read(go[0], &c, 1) != 0)
				_exit(3);
			snprintf(id, sizeof(id), "c%d", i);
			if (mc_rootfs_overlay_create(self->dir, id, 0, 0, &ov, &e) < 0)
				_exit(1);
			if (!complete(ov.dir, 0))
				_exit(2);
			/* A shared entry would show the other's marker in its upper dir. */
			snprintf(mark, sizeof(mark), "%s/mark", ov.upper);
			fd = open(mark, O_WRONLY | O_CREAT | O_EXCL, 0600);
			_exit(fd < 0 ? 4 : 0);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < N; i++) {
		int st;

		ASSERT_EQ(pids[i], waitpid(pids[i], &st, 0));
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	EXPECT_EQ(0, entries(self->pool));
	for (int i = 0; i < N; i++) {
		snprintf(p, sizeof(p), "%s/containers/c%d/upper", self->dir, i);
		EXPECT_EQ(1, entries(p));
	}
}

TEST_HARNESS_MAIN
