/* SPDX-License-Identifier: MIT */
/* Tests of images by name (build, resolve, list, rm on the image store) and the overlay. */
#include "harness.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mc/rootfs.h>
#include <mc/util.h>

FIXTURE(root)
{
	char dir[PATH_MAX];
};

FIXTURE_SETUP(root)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/mc-rootfs.XXXXXX");
	ASSERT_NONNULL(mkdtemp(self->dir));
}

FIXTURE_TEARDOWN(root)
{
	char merged[PATH_MAX + 64];

	snprintf(merged, sizeof(merged), "%s/containers/c1/merged", self->dir);
	umount2(merged, MNT_DETACH);
	if (self->dir[0])
		mc_fs_rm_rf(self->dir, NULL);
}

TEST(image_names)
{
	EXPECT_TRUE(mc_rootfs_image_name_valid("busybox"));
	EXPECT_TRUE(mc_rootfs_image_name_valid("a1.b-c_d"));
	EXPECT_FALSE(mc_rootfs_image_name_valid(""));
	EXPECT_FALSE(mc_rootfs_image_name_valid("../x"));
	EXPECT_FALSE(mc_rootfs_image_name_valid("-x"));
	EXPECT_FALSE(mc_rootfs_image_name_valid("A"));
	EXPECT_FALSE(mc_rootfs_image_name_valid("a/b"));
}

TEST_F(root, unknown_image)
{
	struct mc_err err = { 0 };
	char out[PATH_MAX];

	ASSERT_EQ(-ENOENT, mc_rootfs_image_resolve(self->dir, "nope", out, sizeof(out), &err));
	ASSERT_NONNULL(strstr(err.msg, "unknown image `nope`"));
	ASSERT_EQ(-EINVAL, mc_rootfs_image_resolve(self->dir, "../etc", out, sizeof(out), &err));
	ASSERT_EQ(-EINVAL, mc_rootfs_image_build(self->dir, "alpine", NULL, &err));
}

TEST_F(root, busybox_build_list_rm)
{
	struct mc_err err = { 0 };
	char out[PATH_MAX], path[PATH_MAX + 32];
	char **names = NULL;
	size_t n = 0;
	struct stat st;

	if (access("/bin/busybox", X_OK) < 0)
		SKIP("busybox-static is not installed");
	ASSERT_EQ(0, mc_rootfs_image_build(self->dir, "busybox", NULL, &err));
	ASSERT_EQ(0, mc_rootfs_image_resolve(self->dir, "busybox", out, sizeof(out), &err));
	snprintf(path, sizeof(path), "%s/bin/sh", out);
	ASSERT_EQ(0, lstat(path, &st));
	ASSERT_TRUE(S_ISLNK(st.st_mode));
	snprintf(path, sizeof(path), "%s/etc/passwd", out);
	ASSERT_EQ(0, access(path, R_OK));
	/* Rebuilding replaces the tree atomically and leaves no temporary directory. */
	ASSERT_EQ(0, mc_rootfs_image_build(self->dir, "busybox", NULL, &err));
	ASSERT_EQ(0, mc_rootfs_image_list(self->dir, &names, &n, &err));
	ASSERT_EQ(1, n);
	ASSERT_STREQ("busybox", names[0]);
	mc_rootfs_names_free(names, n);
	snprintf(path, sizeof(path), "%s/images", self->dir);
	ASSERT_EQ(0, mc_rootfs_image_rm(self->dir, "busybox", &err));
	ASSERT_EQ(0, mc_rootfs_image_list(self->dir, &names, &n, &err));
	ASSERT_EQ(0, n);
	free(names);
	ASSERT_EQ(-ENOENT, mc_rootfs_image_rm(self->dir, "busybox", &err));
}

TEST_F(root, dist_copies_library_closure)
{
	struct mc_err err = { 0 };
	char from[PATH_MAX + 16], out[PATH_MAX], path[PATH_MAX + 64];

	if (access("/bin/busybox", X_OK) < 0)
		SKIP("busybox-static is not installed");
	/* A directory holding one dynamically linked program: a copy of ourselves. */
	snprintf(from, sizeof(from), "%s/from", self->dir);
	ASSERT_EQ(0, mkdir(from, 0755));
	snprintf(path, sizeof(path), "cp /proc/%d/exe %s/prog", (int)getpid(), from);
	ASSERT_EQ(0, system(path));
	ASSERT_EQ(0, mc_rootfs_image_build(self->dir, "dist", from, &err));
	ASSERT_EQ(0, mc_rootfs_image_resolve(self->dir, "dist", out, sizeof(out), &err));
	snprintf(path, sizeof(path), "%s/usr/bin/prog", out);
	ASSERT_EQ(0, access(path, X_OK));
	snprintf(path, sizeof(path), "%s/lib/x86_64-linux-gnu/libc.so.6", out);
	if (access(path, R_OK) < 0)
		snprintf(path, sizeof(path), "%s/usr/lib/x86_64-linux-gnu/libc.so.6", out);
	ASSERT_EQ(0, access(path, R_OK));
}

TEST_F(root, overlay_create_mount_remove)
{
	struct mc_rootfs_overlay ov;
	struct mc_err err = { 0 };
	char lower[PATH_MAX + 16], file[PATH_MAX + 32];

	require_root();
	snprintf(lower, sizeof(lower), "%s/lower", self->dir);
	ASSERT_EQ(0, mkdir(lower, 0755));
	snprintf(file, sizeof(file), "%s/a", lower);
	ASSERT_EQ(0, mc_fs_write_atomic(file, "x", 1, 0644, &err));
	ASSERT_EQ(0, mc_rootfs_overlay_create(self->dir, "c1", 0, 0, &ov, &err));
	ASSERT_EQ(0, mc_rootfs_overlay_mount(lower, &ov, &err));
	snprintf(file, sizeof(file), "%s/b", ov.merged);
	ASSERT_EQ(0, mc_fs_write_atomic(file, "y", 1, 0644, &err));
	ASSERT_EQ(0, umount2(ov.merged, 0));
	/* The write went to the upper layer, never to the image. */
	snprintf(file, sizeof(file), "%s/b", ov.upper);
	EXPECT_EQ(0, access(file, F_OK));
	snprintf(file, sizeof(file), "%s/b", lower);
	EXPECT_NE(0, access(file, F_OK));
	ASSERT_EQ(0, mc_rootfs_overlay_remove(&ov, &err));
	ASSERT_NE(0, access(ov.dir, F_OK));
	/* Paths overlayfs cannot express are refused. */
	ASSERT_EQ(-EINVAL, mc_rootfs_overlay_mount("/a:b", &ov, &err));
}

TEST_HARNESS_MAIN
