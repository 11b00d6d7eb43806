/* SPDX-License-Identifier: MIT */
/*
 * Tests of libmcrootfs on the image store: concurrent first resolves check a tree out
 * once, the hot path never checks out again, prune keeps what containers use, a failed
 * check-out after an import puts the ref back, and the name rules.
 */
#include "harness.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mc/rootfs.h>
#include <mc/util.h>

FIXTURE(store)
{
	char dir[PATH_MAX];
	char data[PATH_MAX + 16];
	char src[PATH_MAX + 16];
};

FIXTURE_SETUP(store)
{
	char path[PATH_MAX + 64];
	struct mc_err err = { 0 };

	snprintf(self->dir, sizeof(self->dir), "/tmp/mc-rootfs-resolve.XXXXXX");
	ASSERT_NONNULL(mkdtemp(self->dir));
	snprintf(self->data, sizeof(self->data), "%s/data", self->dir);
	snprintf(self->src, sizeof(self->src), "%s/src", self->dir);
	ASSERT_EQ(0, mkdir(self->src, 0755));
	snprintf(path, sizeof(path), "%s/etc", self->src);
	ASSERT_EQ(0, mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/etc/hello", self->src);
	ASSERT_EQ(0, mc_fs_write_atomic(path, "hello\n", 6, 0644, &err));
}

FIXTURE_TEARDOWN(store)
{
	if (self->dir[0])
		mc_fs_rm_rf(self->dir, NULL);
}

/* Writes SRC/etc/version = @text (a new image version). */
static int set_version(const char *src, const char *text)
{
	char path[PATH_MAX + 64];
	struct mc_err err = { 0 };

	snprintf(path, sizeof(path), "%s/etc/version", src);
	return mc_fs_write_atomic(path, text, strlen(text), 0644, &err);
}

static int count_entries(const char *dir, const char *needle)
{
	char cmd[PATH_MAX + 64];
	FILE *f;
	int n = 0;
	char line[512];

	snprintf(cmd, sizeof(cmd), "ls -A '%s'", dir);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!needle || strstr(line, needle))
			n++;
	pclose(f);
	return n;
}

TEST(names_follow_the_store_rules)
{
	EXPECT_TRUE(mc_rootfs_image_name_valid("debian"));
	EXPECT_TRUE(mc_rootfs_image_name_valid("a.b-c_1"));
	EXPECT_FALSE(mc_rootfs_image_name_valid("a..b"));
	EXPECT_FALSE(mc_rootfs_image_name_valid("x.lock"));
	EXPECT_FALSE(mc_rootfs_image_name_valid("x."));
	EXPECT_FALSE(mc_rootfs_image_name_valid("Debian"));
	EXPECT_FALSE(mc_rootfs_image_name_valid(".x"));
}

TEST_F(store, concurrent_first_resolves_check_out_once)
{
	enum {
		N = 8
	};
	struct mc_err err = { 0 };
	char first[PATH_MAX], trees[PATH_MAX + 16];
	int go[2];
	pid_t pids[N];

	/* Enough files that unserialised check-outs would overlap (and fail). */
	snprintf(trees, sizeof(trees), "%s/many", self->src);
	ASSERT_EQ(0, mkdir(trees, 0755));
	for (int i = 0; i < 400; i++) {
		char f[PATH_MAX + 64];

		snprintf(f, sizeof(f), "%s/many/f%d", self->src, i);
		ASSERT_EQ(0, mc_fs_write_atomic(f, f, strlen(f), 0644, &err));
	}
	ASSERT_EQ(0, mc_rootfs_image_import(self->data, "img", self->src, NULL, NULL, &err));
	ASSERT_EQ(0, mc_rootfs_image_resolve(self->data, "img", first, sizeof(first), &err));
	/* Forget the check-out: every child's resolve now takes the slow path at once. */
	ASSERT_EQ(0, mc_fs_rm_rf(first, &err));
	ASSERT_EQ(0, pipe(go));
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		ASSERT_GE(pids[i], 0);
		if (pids[i] == 0) {
			char out[PATH_MAX], c;
			struct mc_err e = { 0 };

			close(go[1]);
			if (read(go[0], &c, 1) != 0)
				_exit(3);
			if (mc_rootfs_image_resolve(self->data, "img", out, sizeof(out), &e) < 0) {
				fprintf(stderr, "# child: %s\n", e.msg);
				_exit(1);
			}
			_exit(strcmp(out, first) ? 2 : 0);
		}
	}
	close(go[0]);
	close(go[1]); /* EOF releases every child at once */
	for (int i = 0; i < N; i++) {
		int st;

		ASSERT_EQ(pids[i], waitpid(pids[i], &st, 0));
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	snprintf(trees, sizeof(trees), "%s/rootfs", self->data);
	EXPECT_EQ(0, count_entries(trees, ".tmp-"));
	EXPECT_EQ(1, count_entries(trees, NULL) - count_entries(trees, ".lock") -
			     count_entries(trees, ".resolved"));
	snprintf(trees, sizeof(trees), "%s/etc/hello", first);
	EXPECT_EQ(0, access(trees, R_OK));
}

TEST_F(store, hot_path_reuses_the_check_out)
{
	struct mc_err err = { 0 };
	char a[PATH_MAX], b[PATH_MAX], marker[PATH_MAX + 16], objects[PATH_MAX + 32];
	int before;

	ASSERT_EQ(0, mc_rootfs_image_import(self->data, "img", self->src, NULL, NULL, &err));
	ASSERT_EQ(0, mc_rootfs_image_resolve(self->data, "img", a, sizeof(a), &err));
	snprintf(marker, sizeof(marker), "%s/marker", a);
	ASSERT_EQ(0, mc_fs_write_atomic(marker, "m", 1, 0644, &err));
	snprintf(objects, sizeof(objects), "%s/images.git/objects", self->data);
	before = count_entries(objects, NULL);
	ASSERT_EQ(0, mc_rootfs_image_resolve(self->data, "img", b, sizeof(b), &err));
	ASSERT_STREQ(a, b);
	/* Not checked out again (the marker survives) and nothing written to the store. */
	EXPECT_EQ(0, access(marker, F_OK));
	EXPECT_EQ(before, count_entries(objects, NULL));
}

/* Writes @text to DATA/rootfs/.resolved/img (the remembered commit -> tree). */
static int set_resolved(const char *data, const char *text)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/rootfs/.resolved/img", data);
	return mc_fs_write_atomic(path, text, strlen(text), 0600, NULL);
}

static int read_resolved(const char *data, char *buf, size_t size)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/rootfs/.resolved/img", data);
	return mc_fs_read_str(path, buf, size, NULL);
}

TEST_F(store, resolve_remembers_the_tree_of_the_current_commit_only)
{
	struct mc_err err = { 0 };
	char v1[PATH_MAX], v2[PATH_MAX], again[PATH_MAX], line[256], tree1[64], bogus[256];
	const char *slash;

	ASSERT_EQ(0, set_version(self->src, "1"));
	ASSERT_EQ(0, mc_rootfs_image_import(self->data, "img", self->src, NULL, NULL, &err));
	ASSERT_EQ(0, mc_rootfs_image_resolve(self->data, "img", v1, sizeof(v1), &err));
	/* "COMMIT TREE": the tree is the directory resolve returned. */
	ASSERT_OK(read_resolved(self->data, line, sizeof(line)));
	ASSERT_EQ(81, strlen(line));
	slash = strrchr(v1, '/');
	ASSERT_NONNULL(slash);
	snprintf(tree1, sizeof(tree1), "%s", slash + 1);
	EXPECT_STREQ(tree1, line + 41);
	/* A new version moves the ref: the remembered tree is not used for it. */
	ASSERT_EQ(0, set_version(self->src, "2"));
	ASSERT_EQ(0, mc_rootfs_image_import(self->data, "img", self->src, NULL, NULL, &err));
	ASSERT_EQ(0, mc_rootfs_image_resolve(self->data, "img", v2, sizeof(v2), &err));
	ASSERT_STRNE(v1, v2);
	ASSERT_OK(read_resolved(self->data, line, sizeof(line)));
	EXPECT_STREQ(strrchr(v2, '/') + 1, line + 41);
	/* Garbage, or another commit's line, is ignored and rewritten. */
	ASSERT_EQ(0, set_resolved(self->data, "garbage\n"));
	ASSERT_EQ(0, mc_rootfs_image_resolve(self->data, "img", again, sizeof(again), &err));
	EXPECT_STREQ(v2, again);
	ASSERT_OK(read_resolved(self->data, line, sizeof(line)));
	EXPECT_STREQ(strrchr(v2, '/') + 1, line + 41);
	snprintf(bogus, sizeof(bogus), "%040d %s\n", 7, tree1);
	ASSERT_EQ(0, set_resolved(self->data, bogus));
	ASSERT_EQ(0, mc_rootfs_image_resolve(self->data, "img", again, sizeof(again), &err));
	EXPECT_STREQ(v2, again);
	/*
	 * The current commit with a tree that is not checked out: resolve reads the
	 * object before checking anything out, and returns the real tree.
	 */
	line[41] = '\0';
	snprintf(bogus, sizeof(bogus), "%s%040d\n", line, 5);
	ASSERT_EQ(0, set_resolved(self->data, bogus));
	ASSERT_EQ(0, mc_rootfs_image_resolve(self->data, "img", again, sizeof(again), &err));
	EXPECT_STREQ(v2, again);
}

TEST_F(store, prune_keeps_trees_in_use)
{
	struct mc_err err = { 0 };
	char v1[PATH_MAX], v2[PATH_MAX];
	char *keep[] = { v1 };

	ASSERT_EQ(0, set_version(self->src, "1"));
	ASSERT_EQ(0, mc_rootfs_image_import(self->data, "img", self->src, NULL, NULL, &err));
	ASSERT_EQ(0, mc_rootfs_image_resolve(self->data, "img", v1, sizeof(v1), &err));
	ASSERT_EQ(0, set_version(self->src, "2"));
	ASSERT_EQ(0, mc_rootfs_image_import(self->data, "img", self->src, NULL, NULL, &err));
	ASSERT_EQ(0, mc_rootfs_image_resolve(self->data, "img", v2, sizeof(v2), &err));
	ASSERT_STRNE(v1, v2);
	/* v1 is a container's lower dir: kept; v2 is the image's newest version: kept. */
	ASSERT_EQ(0, mc_rootfs_image_prune(self->data, keep, 1, &err));
	EXPECT_EQ(0, access(v1, F_OK));
	EXPECT_EQ(1, mc_rootfs_image_prune(self->data, NULL, 0, &err));
	EXPECT_NE(0, access(v1, F_OK));
	EXPECT_EQ(0, access(v2, F_OK));
	/* Removing the image lets its tree go too. */
	ASSERT_EQ(0, mc_rootfs_image_rm(self->data, "img", &err));
	EXPECT_EQ(1, mc_rootfs_image_prune(self->data, NULL, 0, &err));
	EXPECT_NE(0, access(v2, F_OK));
	EXPECT_EQ(-ENOENT, mc_rootfs_image_rm(self->data, "img", &err));
}

TEST_F(store, failed_check_out_puts_the_ref_back)
{
	struct mc_err err = { 0 };
	struct mc_git_oid c1, c2, tree;
	struct mc_imgstore *store = NULL;
	char out[PATH_MAX], trees[PATH_MAX + 16], aside[PATH_MAX + 16];

	ASSERT_EQ(0, set_version(self->src, "1"));
	ASSERT_EQ(0, mc_rootfs_image_import(self->data, "img", self->src, NULL, &c1, &err));
	/* DATA_ROOT/rootfs becomes a file: no check-out can succeed. */
	snprintf(trees, sizeof(trees), "%s/rootfs", self->data);
	snprintf(aside, sizeof(aside), "%s/rootfs.aside", self->data);
	ASSERT_EQ(0, rename(trees, aside));
	ASSERT_EQ(0, mc_fs_write_atomic(trees, "x", 1, 0644, &err));
	ASSERT_EQ(0, set_version(self->src, "2"));
	EXPECT_LT(mc_rootfs_image_import(self->data, "img", self->src, NULL, &c2, &err), 0);
	TH_LOG("%s", err.msg);
	ASSERT_EQ(0, unlink(trees));
	ASSERT_EQ(0, rename(aside, trees));
	/* The image is still version 1, which resolves to its existing check-out. */
	ASSERT_EQ(0, mc_rootfs_store_open(self->data, &store, &err));
	ASSERT_EQ(0, mc_git_ref_read(mc_imgstore_repo(store), "refs/images/img", &c2, &err));
	EXPECT_EQ(0, mc_git_oid_cmp(&c1, &c2));
	ASSERT_EQ(0, mc_imgstore_resolve(store, "img", &tree, &err));
	mc_imgstore_close(store);
	ASSERT_EQ(0, mc_rootfs_image_resolve(self->data, "img", out, sizeof(out), &err));
	snprintf(trees, sizeof(trees), "%s/etc/version", out);
	char v[4] = "";

	ASSERT_LE(0, mc_fs_read_str(trees, v, sizeof(v), &err));
	EXPECT_STREQ("1", v);
	/* A new image whose first check-out fails leaves no ref at all. */
	snprintf(trees, sizeof(trees), "%s/rootfs", self->data);
	ASSERT_EQ(0, rename(trees, aside));
	ASSERT_EQ(0, mc_fs_write_atomic(trees, "x", 1, 0644, &err));
	EXPECT_LT(mc_rootfs_image_import(self->data, "fresh", self->src, NULL, NULL, &err), 0);
	ASSERT_EQ(0, unlink(trees));
	ASSERT_EQ(0, rename(aside, trees));
	EXPECT_EQ(-ENOENT, mc_rootfs_image_resolve(self->data, "fresh", out, sizeof(out), &err));
}

TEST_F(store, unknown_image_creates_no_store)
{
	struct mc_err err = { 0 };
	char out[PATH_MAX], path[PATH_MAX + 32];

	ASSERT_EQ(-ENOENT, mc_rootfs_image_resolve(self->data, "nope", out, sizeof(out), &err));
	ASSERT_NONNULL(strstr(err.msg, "unknown image `nope`"));
	snprintf(path, sizeof(path), "%s/images.git", self->data);
	EXPECT_NE(0, access(path, F_OK));
	ASSERT_EQ(-EINVAL, mc_rootfs_image_resolve(self->data, "../x", out, sizeof(out), &err));
	ASSERT_EQ(-EINVAL, mc_rootfs_image_import(self->data, "Bad", self->src, NULL, NULL, &err));
}

TEST_HARNESS_MAIN
