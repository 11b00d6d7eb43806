/* SPDX-License-Identifier: MIT */
/*
 * Hostile input to the image store: hand-made tars with `..`, absolute paths, entries
 * below symlinks, escaping symlinks and bad hard links; corrupt tar headers; and a
 * hostile image (manifest vs tree) at checkout. Each is refused with a clear error,
 * creates no image and writes nothing outside the target.
 */
#include "harness.h"

#include <mc/common.h>
#include <mc/imgstore.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

FIXTURE(esc)
{
	char dir[PATH_MAX];
	char store[PATH_MAX + 16], tar[PATH_MAX + 16], out[PATH_MAX + 16], outside[PATH_MAX + 16];
	struct mc_imgstore *s;
};

FIXTURE_SETUP(esc)
{
	struct mc_err err = { 0 };

	snprintf(self->dir, sizeof(self->dir), "/tmp/mc-imgstore-esc.XXXXXX");
	ASSERT_NONNULL(mkdtemp(self->dir));
	snprintf(self->store, sizeof(self->store), "%s/images.git", self->dir);
	snprintf(self->tar, sizeof(self->tar), "%s/t.tar", self->dir);
	snprintf(self->out, sizeof(self->out), "%s/a/b/out", self->dir);
	snprintf(self->outside, sizeof(self->outside), "%s/outside", self->dir);
	ASSERT_EQ(0, mkdir(self->outside, 0755));
	ASSERT_EQ(0, mc_imgstore_open(self->store, &self->s, &err));
}

FIXTURE_TEARDOWN(esc)
{
	mc_imgstore_close(self->s);
	if (self->dir[0])
		mc_fs_rm_rf(self->dir, NULL);
}

/* Appends one ustar member; @data may be NULL. */
static void tar_add(struct mc_buf *t, const char *name, char type, const char *link,
		    const char *data)
{
	char h[512] = { 0 };
	size_t dl = data ? strlen(data) : 0;
	unsigned sum = 0;

	snprintf(h, 100, "%s", name);
	snprintf(h + 100, 8, "%07o", type == '5' ? 0755 : 0644);
	snprintf(h + 108, 8, "%07o", 0);
	snprintf(h + 116, 8, "%07o", 0);
	snprintf(h + 124, 12, "%011zo", dl);
	snprintf(h + 136, 12, "%011o", 1700000000);
	h[156] = type;
	if (link)
		snprintf(h + 157, 100, "%s", link);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	mc_buf_append(t, h, 512);
	if (dl) {
		char pad[512] = { 0 };

		mc_buf_append(t, data, dl);
		mc_buf_append(t, pad, (512 - dl % 512) % 512);
	}
}

static int import(FIXTURE_DATA(esc) * self, struct mc_buf *t, struct mc_err *err)
{
	char zero[1024] = { 0 };

	mc_buf_append(t, zero, sizeof(zero));
	if (mc_fs_write_atomic(self->tar, t->data, t->len, 0644, err) < 0)
		return -1;
	return mc_imgstore_import_tar(self->s, "evil", self->tar, NULL, NULL, err);
}

static void expect_refused(FIXTURE_DATA(esc) * self, struct mc_buf *t, const char *why)
{
	struct mc_err err = { 0 };
	struct mc_git_oid tree;

	EXPECT_GT(0, import(self, t, &err));
	if (!strstr(err.msg, why))
		TH_LOG("error `%s` lacks `%s`", err.msg, why);
	EXPECT_NONNULL(strstr(err.msg, why));
	EXPECT_EQ(-ENOENT, mc_imgstore_resolve(self->s, "evil", &tree, &err));
	mc_buf_release(t);
}

TEST_F(esc, tar_escapes_refused)
{
	struct mc_buf t = MC_BUF_INIT;
	char link[PATH_MAX + 32];

	tar_add(&t, "../evil", '0', NULL, "x");
	expect_refused(self, &t, "`..`");
	tar_add(&t, "ok/../../evil", '0', NULL, "x");
	expect_refused(self, &t, "`..`");
	tar_add(&t, "/etc/evil", '0', NULL, "x");
	expect_refused(self, &t, "absolute path");
	/* The classic: a symlink to somewhere, then a file "through" it. */
	snprintf(link, sizeof(link), "%s", self->outside);
	tar_add(&t, "lnk", '2', link, NULL);
	tar_add(&t, "lnk/passwd", '0', NULL, "pwned");
	expect_refused(self, &t, "not a directory");
	tar_add(&t, "a/b/up", '2', "../../../etc", NULL);
	expect_refused(self, &t, "escapes the image root");
	tar_add(&t, "hl", '1', "../outside/x", NULL);
	expect_refused(self, &t, "`..`");
	tar_add(&t, "hl", '1', "nowhere", NULL);
	expect_refused(self, &t, "hard link");
	tar_add(&t, "dotgit/.git/config", '0', NULL, "x");
	expect_refused(self, &t, ".git");
	tar_add(&t, "sock", 'S', NULL, NULL);
	expect_refused(self, &t, "unsupported type");
	/* Nothing reached the directory the links pointed at: it is still empty. */
	EXPECT_EQ(0, rmdir(self->outside));
}

TEST_F(esc, corrupt_tar_headers)
{
	struct mc_buf t = MC_BUF_INIT;
	struct mc_err err = { 0 };

	tar_add(&t, "f", '0', NULL, "data");
	t.data[150] ^= 1; /* checksum field */
	expect_refused(self, &t, "bad checksum");
	tar_add(&t, "f", '0', NULL, "data");
	memcpy(t.data + 124, "99999999999", 11); /* size: not octal */
	{
		unsigned sum = 0;

		memset(t.data + 148, ' ', 8);
		for (int i = 0; i < 512; i++)
			sum += (unsigned char)t.data[i];
		snprintf(t.data + 148, 8, "%06o", sum);
	}
	expect_refused(self, &t, "bad numeric field");
	/* Truncated in the middle of a member's data. */
	tar_add(&t, "f", '0', NULL, "0123456789");
	t.len = 512 + 5;
	ASSERT_EQ(0, mc_fs_write_atomic(self->tar, t.data, t.len, 0644, &err));
	EXPECT_GT(0, mc_imgstore_import_tar(self->s, "evil", self->tar, NULL, NULL, &err));
	EXPECT_NONNULL(strstr(err.msg, "truncated"));
	mc_buf_release(&t);
	/* A pax record with a lying length. */
	tar_add(&t, "PaxHeaders/x", 'x', NULL, "99 path=foo\n");
	tar_add(&t, "f", '0', NULL, "x");
	expect_refused(self, &t, "malformed pax header");
}

/* Builds an image commit by hand from a manifest text and a rootfs tree. */
static int hostile_image(struct mc_git_repo *repo, const char *manifest,
			 struct mc_git_tree_item *root, size_t n, struct mc_git_oid *top)
{
	struct mc_git_tree_item items[2] = { { .mode = MC_GIT_MODE_FILE, .name = "manifest" },
					     { .mode = MC_GIT_MODE_TREE, .name = "rootfs" } };
	struct mc_err err = { 0 };

	if (mc_git_odb_write(repo, MC_GIT_BLOB, manifest, strlen(manifest), &items[0].oid, &err) <
		    0 ||
	    mc_git_tree_write(repo, root, n, &items[1].oid, &err) < 0)
		return -1;
	return mc_git_tree_write(repo, items, 2, top, &err);
}

TEST_F(esc, hostile_image_checkout_refused)
{
	struct mc_git_repo *repo = mc_imgstore_repo(self->s);
	struct mc_err err = { 0 };
	struct mc_git_tree_item root[2] = { 0 };
	struct mc_git_oid top;
	char m[PATH_MAX * 2];

	/* A symlink to outside plus a file below it: the manifest parser refuses it. */
	ASSERT_EQ(0, mc_git_odb_write(repo, MC_GIT_BLOB, self->outside, strlen(self->outside),
				      &root[0].oid, &err));
	root[0].mode = MC_GIT_MODE_LINK;
	root[0].name = "lnk";
	snprintf(m, sizeof(m), "d 0755 0 0 0 - .\nl 0777 0 0 0 - lnk\nf 0644 0 0 0 - lnk/x\n");
	ASSERT_EQ(0, hostile_image(repo, m, root, 1, &top));
	EXPECT_GT(0, mc_imgstore_checkout(self->s, &top, self->out, &err));
	TH_LOG("refused: %s", err.msg);
	EXPECT_NE(0, access(self->out, F_OK));
	/* A relative symlink climbing out of the root is refused at checkout too. */
	ASSERT_EQ(0, mc_git_odb_write(repo, MC_GIT_BLOB, "../../..", 8, &root[0].oid, &err));
	snprintf(m, sizeof(m), "d 0755 0 0 0 - .\nl 0777 0 0 0 - lnk\n");
	ASSERT_EQ(0, hostile_image(repo, m, root, 1, &top));
	EXPECT_GT(0, mc_imgstore_checkout(self->s, &top, self->out, &err));
	EXPECT_NONNULL(strstr(err.msg, "escaping"));
	/* Manifest paths with `..` or that disagree with the tree are corrupt. */
	snprintf(m, sizeof(m), "d 0755 0 0 0 - .\nf 0644 0 0 0 - ../x\n");
	ASSERT_EQ(0, hostile_image(repo, m, root, 0, &top));
	EXPECT_GT(0, mc_imgstore_checkout(self->s, &top, self->out, &err));
	EXPECT_NONNULL(strstr(err.msg, "manifest"));
	ASSERT_EQ(0, mc_git_odb_write(repo, MC_GIT_BLOB, "x", 1, &root[0].oid, &err));
	root[0].mode = MC_GIT_MODE_FILE;
	root[0].name = "unlisted";
	snprintf(m, sizeof(m), "d 0755 0 0 0 - .\n");
	ASSERT_EQ(0, hostile_image(repo, m, root, 1, &top));
	EXPECT_GT(0, mc_imgstore_checkout(self->s, &top, self->out, &err));
	EXPECT_NONNULL(strstr(err.msg, "does not match the manifest"));
	/* Nothing was left behind: no target, no temporary sibling, nothing outside. */
	EXPECT_NE(0, access(self->out, F_OK));
	EXPECT_EQ(0, rmdir(self->outside));
	char parent[PATH_MAX + 16];

	snprintf(parent, sizeof(parent), "%s/a/b", self->dir);
	EXPECT_EQ(0, rmdir(parent));
}

TEST_HARNESS_MAIN
