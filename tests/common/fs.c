/* SPDX-License-Identifier: MIT */
/* Tests of the fs utilities in a private temporary directory. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <mc/util.h>

FIXTURE(tmp)
{
	char dir[PATH_MAX];
};

FIXTURE_SETUP(tmp)
{
	snprintf(self->dir, sizeof(self->dir), "%s/mc-fs.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ASSERT_NONNULL(mkdtemp(self->dir));
}

FIXTURE_TEARDOWN(tmp)
{
	if (self->dir[0])
		mc_fs_rm_rf(self->dir, NULL);
}

TEST_F(tmp, write_atomic_then_read)
{
	char path[PATH_MAX + 16];
	char *data = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/state.json", self->dir);
	ASSERT_EQ(0, mc_fs_write_atomic(path, "{\"a\":1}", 7, 0600, NULL));
	ASSERT_EQ(0, mc_fs_write_atomic(path, "{\"a\":2}", 7, 0600, NULL));
	ASSERT_EQ(0, mc_fs_read_file(path, &data, &len, 1 << 20, NULL));
	ASSERT_EQ(7, len);
	ASSERT_STREQ("{\"a\":2}", data);
	free(data);
}

TEST_F(tmp, read_file_enforces_limit)
{
	char path[PATH_MAX + 16];
	struct mc_err err = { 0 };
	char *data = NULL;

	snprintf(path, sizeof(path), "%s/big", self->dir);
	ASSERT_EQ(0, mc_fs_write_atomic(path, "0123456789", 10, 0644, NULL));
	ASSERT_EQ(-EFBIG, mc_fs_read_file(path, &data, NULL, 5, &err));
	ASSERT_NULL(data);
	ASSERT_EQ(0, mc_fs_read_file(path, &data, NULL, 10, &err));
	free(data);
}

TEST_F(tmp, mkdir_p_and_rm_rf)
{
	char path[PATH_MAX + 32];
	struct stat st;

	snprintf(path, sizeof(path), "%s/a/b/c", self->dir);
	ASSERT_EQ(0, mc_fs_mkdir_p(path, 0755, NULL));
	ASSERT_EQ(0, mc_fs_mkdir_p(path, 0755, NULL));
	ASSERT_EQ(0, stat(path, &st));
	snprintf(path, sizeof(path), "%s/a/b/link", self->dir);
	ASSERT_EQ(0, symlink("/etc", path));
	snprintf(path, sizeof(path), "%s/a", self->dir);
	ASSERT_EQ(0, mc_fs_rm_rf(path, NULL));
	ASSERT_EQ(-1, stat(path, &st));
	ASSERT_EQ(0, access("/etc/passwd", F_OK)); /* the symlink was not followed */
	ASSERT_EQ(0, mc_fs_rm_rf(path, NULL));	   /* missing is fine */
}

TEST_F(tmp, read_str_strips_newline)
{
	char path[PATH_MAX + 16], buf[32];

	snprintf(path, sizeof(path), "%s/v", self->dir);
	ASSERT_EQ(0, mc_fs_write_atomic(path, "max\n", 4, 0644, NULL));
	ASSERT_EQ(3, mc_fs_read_str(path, buf, sizeof(buf), NULL));
	ASSERT_STREQ("max", buf);
}

TEST_HARNESS_MAIN
