/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the passwd/group parser and -u resolution (runtime/passwd.c): field
 * splitting with empty fields, malformed and hostile lines, docker's defaults,
 * supplementary groups, and file access that stays inside the given root.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/internal.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "# a comment:x:5:5\n"
			     "+nis:x:6:6::/:\n"
			     "nopw::1000:1001:no password field:/home/nopw:/bin/sh\n"
			     "short:x:7\n"
			     "neg:x:-1:2::/:\n"
			     "big:x:4294967295:2::/:\n"
			     "huge:x:99999999999:2::/:\n"
			     "sp:x: 8:8::/:\n"
			     "app:x:2000:2000\n"
			     "last:x:3000:3000::/:/bin/sh";
static const char group[] = "root:x:0:\n"
			    "wheel:x:10:app,nopw\n"
			    "staff:x:50:nopw\n"
			    "dup:x:10:nopw\n"
			    "appgrp:x:2000:\n"
			    "bad:x:z:nopw\n"
			    "tail:x:60:other,nopw";

static int resolve(const char *spec, struct rt_user *u)
{
	struct mc_err err = { 0 };
	int r = rt_user_resolve(spec, passwd, strlen(passwd), group, strlen(group), u, &err);

	if (r < 0)
		TH_LOG("%s: %s", spec, err.msg);
	return r;
}

TEST(names_and_ids)
{
	struct rt_user u;

	ASSERT_EQ(0, resolve("nopw", &u));
	EXPECT_EQ(1000, u.uid);
	EXPECT_EQ(1001, u.gid);
	ASSERT_EQ(0, resolve("root", &u));
	EXPECT_EQ(0, u.uid);
	EXPECT_EQ(0, u.gid);
	/* A file without a final newline still has its last line. */
	ASSERT_EQ(0, resolve("last", &u));
	EXPECT_EQ(3000, u.uid);
	/* A listed uid takes its passwd gid; an unlisted one gets 0 (docker). */
	ASSERT_EQ(0, resolve("1000", &u));
	EXPECT_EQ(1001, u.gid);
	ASSERT_EQ(0, resolve("4242", &u));
	EXPECT_EQ(4242, u.uid);
	EXPECT_EQ(0, u.gid);
	ASSERT_EQ(0, resolve("app:wheel", &u));
	EXPECT_EQ(2000, u.uid);
	EXPECT_EQ(10, u.gid);
	ASSERT_EQ(0, resolve("app:77", &u));
	EXPECT_EQ(77, u.gid);
	ASSERT_EQ(0, resolve("0:staff", &u));
	EXPECT_EQ(50, u.gid);
}

TEST(malformed_lines_never_match)
{
	struct rt_user u;

	/* Comments, NIS entries, short lines, signs, spaces, overflow, 2^32-1. */
	EXPECT_EQ(-ENOENT, resolve("# a comment", &u));
	EXPECT_EQ(-ENOENT, resolve("+nis", &u));
	EXPECT_EQ(-ENOENT, resolve("short", &u));
	EXPECT_EQ(-ENOENT, resolve("neg", &u));
	EXPECT_EQ(-ENOENT, resolve("big", &u));
	EXPECT_EQ(-ENOENT, resolve("huge", &u));
	EXPECT_EQ(-ENOENT, resolve("sp", &u));
	EXPECT_EQ(-ENOENT, resolve("nobody", &u));
	EXPECT_EQ(-ENOENT, resolve("app:nogroup", &u));
	/* "bad" has no numeric gid: not a group. */
	EXPECT_EQ(-ENOENT, resolve("app:bad", &u));
}

TEST(bad_specs_are_refused)
{
	struct rt_user u;
	char longname[400];

	EXPECT_EQ(-EINVAL, resolve("", &u));
	EXPECT_EQ(-EINVAL, resolve(":0", &u));
	EXPECT_EQ(-EINVAL, resolve("app:", &u));
	EXPECT_EQ(-EINVAL, resolve("a:b:c", &u));
	EXPECT_EQ(-EINVAL, resolve("4294967295", &u));
	EXPECT_EQ(-EINVAL, resolve("0:99999999999", &u));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	EXPECT_EQ(-EINVAL, resolve(longname, &u));
}

TEST(supplementary_groups_from_membership)
{
	struct rt_user u;

	ASSERT_EQ(0, resolve("nopw", &u));
	/* wheel, staff and tail; "dup" repeats gid 10; "bad" has no gid. */
	ASSERT_EQ(3, u.n_groups);
	EXPECT_EQ(10, u.groups[0]);
	EXPECT_EQ(50, u.groups[1]);
	EXPECT_EQ(60, u.groups[2]);
	/* A numeric uid with a passwd entry gets its name's memberships too. */
	ASSERT_EQ(0, resolve("2000", &u));
	ASSERT_EQ(1, u.n_groups);
	EXPECT_EQ(10, u.groups[0]);
	ASSERT_EQ(0, resolve("4242", &u));
	EXPECT_EQ(0, u.n_groups);
}

TEST(nul_bytes_and_no_files)
{
	static const char withnul[] = "evil\0:x:1:1\nok:x:2:2\n";
	struct rt_user u;
	struct mc_err err = { 0 };

	EXPECT_EQ(-ENOENT,
		  rt_user_resolve("evil", withnul, sizeof(withnul) - 1, NULL, 0, &u, &err));
	ASSERT_EQ(0, rt_user_resolve("ok", withnul, sizeof(withnul) - 1, NULL, 0, &u, &err));
	EXPECT_EQ(2, u.uid);
	/* Without files only ids resolve. */
	EXPECT_EQ(-ENOENT, rt_user_resolve("root", NULL, 0, NULL, 0, &u, &err));
	ASSERT_EQ(0, rt_user_resolve("5:6", NULL, 0, NULL, 0, &u, &err));
	EXPECT_EQ(5, u.uid);
	EXPECT_EQ(6, u.gid);
}

FIXTURE(root)
{
	char dir[PATH_MAX];
	char outside[PATH_MAX + 16];
};

FIXTURE_SETUP(root)
{
	char p[PATH_MAX + 32];

	snprintf(self->dir, sizeof(self->dir), "%s/mc-passwd.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ASSERT_NONNULL(mkdtemp(self->dir));
	snprintf(p, sizeof(p), "%s/root", self->dir);
	ASSERT_EQ(0, mkdir(p, 0755));
	snprintf(p, sizeof(p), "%s/root/etc", self->dir);
	ASSERT_EQ(0, mkdir(p, 0755));
	/* A file outside the root, with a user the root itself does not have. */
	snprintf(self->outside, sizeof(self->outside), "%s/outside", self->dir);
	ASSERT_EQ(0, mc_fs_write_atomic(self->outside, "host:x:777:777::/:\n", 19, 0644, NULL));
}

FIXTURE_TEARDOWN(root)
{
	if (self->dir[0])
		mc_fs_rm_rf(self->dir, NULL);
}

static int in_root(const char *dir, const char *spec, struct rt_user *u)
{
	char p[PATH_MAX + 16];
	struct mc_err err = { 0 };
	int fd, r;

	snprintf(p, sizeof(p), "%s/root", dir);
	fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = rt_user_resolve_in_root(fd, spec, u, &err);
	close(fd);
	return r;
}

TEST_F(root, symlinks_resolve_inside_the_root)
{
	char p[PATH_MAX + 32], target[PATH_MAX + 32];
	struct rt_user u;

	/* etc/passwd -> the absolute path of a host file: resolved inside the root. */
	snprintf(p, sizeof(p), "%s/root/etc/passwd", self->dir);
	ASSERT_EQ(0, symlink(self->outside, p));
	EXPECT_EQ(-ENOENT, in_root(self->dir, "host", &u));
	/* ... and ../ cannot climb out either. */
	ASSERT_EQ(0, unlink(p));
	ASSERT_EQ(0, symlink("../../outside", p));
	EXPECT_EQ(-ENOENT, in_root(self->dir, "host", &u));
	/* The same absolute path inside the root is what counts. */
	snprintf(target, sizeof(target), "%s/root%s", self->dir, self->outside);
	snprintf(p, sizeof(p), "mkdir -p \"$(dirname '%s')\"", target);
	ASSERT_EQ(0, system(p));
	ASSERT_EQ(0, mc_fs_write_atomic(target, "inner:x:5:6::/:\n", 16, 0644, NULL));
	snprintf(p, sizeof(p), "%s/root/etc/passwd", self->dir);
	ASSERT_EQ(0, unlink(p));
	ASSERT_EQ(0, symlink(self->outside, p));
	ASSERT_EQ(0, in_root(self->dir, "inner", &u));
	EXPECT_EQ(5, u.uid);
	EXPECT_EQ(6, u.gid);
}

TEST_F(root, only_regular_files_are_read)
{
	char p[PATH_MAX + 32];
	struct rt_user u;
	char *text;
	size_t len;
	int fd;

	snprintf(p, sizeof(p), "%s/root/etc/passwd", self->dir);
	ASSERT_EQ(0, mkfifo(p, 0644));
	snprintf(p, sizeof(p), "%s/root", self->dir);
	fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	/* A fifo would block a plain open; here it is refused at once. */
	EXPECT_EQ(-EINVAL, rt_root_file_read(fd, "etc/passwd", &text, &len));
	EXPECT_EQ(-ENOENT, rt_root_file_read(fd, "etc/group", &text, &len));
	close(fd);
	EXPECT_EQ(-ENOENT, in_root(self->dir, "root", &u));
	ASSERT_EQ(0, in_root(self->dir, "3:4", &u));
	EXPECT_EQ(3, u.uid);
}

TEST_HARNESS_MAIN
