/* SPDX-License-Identifier: MIT */
/*
 * Tests of the image store: directory and tar imports (GNU, pax) of special files
 * round-trip exactly through checkout; escape attempts in tars and in hostile images
 * are refused without writing outside the target; real git's fsck accepts the store.
 */
#include "harness.h"

#include <mc/common.h>
#include <mc/imgstore.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Both fixtures: a private directory with a store, a source, a target and a tar path. */
struct paths {
	char dir[PATH_MAX];
	char store[PATH_MAX + 16], src[PATH_MAX + 16], out[PATH_MAX + 16], tar[PATH_MAX + 16];
	struct mc_imgstore *s;
};

static void paths_setup(struct paths *p)
{
	struct mc_err err = { 0 };

	snprintf(p->dir, sizeof(p->dir), "/tmp/mc-imgstore.XXXXXX");
	ASSERT_NONNULL(mkdtemp(p->dir));
	snprintf(p->store, sizeof(p->store), "%s/images.git", p->dir);
	snprintf(p->src, sizeof(p->src), "%s/src", p->dir);
	snprintf(p->out, sizeof(p->out), "%s/out", p->dir);
	snprintf(p->tar, sizeof(p->tar), "%s/img.tar", p->dir);
	ASSERT_EQ(0, mc_imgstore_open(p->store, &p->s, &err));
}

static void paths_teardown(struct paths *p)
{
	mc_imgstore_close(p->s);
	if (p->dir[0])
		mc_fs_rm_rf(p->dir, NULL);
}

FIXTURE(st)
{
	struct paths p;
};

FIXTURE_SETUP(st)
{
	paths_setup(&self->p);
}

FIXTURE_TEARDOWN(st)
{
	paths_teardown(&self->p);
}

FIXTURE(one)
{
	struct paths p;
};

FIXTURE_SETUP(one)
{
	paths_setup(&self->p);
}

FIXTURE_TEARDOWN(one)
{
	paths_teardown(&self->p);
}

static void put(const char *dir, const char *rel, const char *content, mode_t mode)
{
	char p[PATH_MAX * 2];
	struct mc_err err = { 0 };

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (mc_fs_write_atomic(p, content, strlen(content), mode, &err) < 0 || chmod(p, mode) < 0)
		TH_LOG("write %s: %s", p, err.msg);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[PATH_MAX * 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		TH_LOG("command failed: %s", cmd);
}

/* A source tree with everything git trees cannot hold. Needs root (devices, chown). */
static void make_special_tree(const char *src)
{
	char p[PATH_MAX * 2], longdir[PATH_MAX];

	sh("mkdir -p '%s/bin' '%s/dev' '%s/tmp' '%s/srv/empty' '%s/etc'", src, src, src, src, src);
	put(src, "bin/busybox", "#!/bin/sh\necho busybox\n", 0755);
	put(src, "bin/su", "setuid binary\n", 04755);
	put(src, "etc/shadow", "root:*:1:0:99999:7:::\n", 0640);
	put(src, "etc/file with spaces", "spaces\n", 0644);
	put(src, "srv/data", "hard linked\n", 0600);
	snprintf(p, sizeof(p), "%s/bin/su", src);
	ASSERT_EQ(0, chown(p, 0, 0));
	ASSERT_EQ(0, chmod(p, 04755));
	snprintf(p, sizeof(p), "%s/etc/shadow", src);
	ASSERT_EQ(0, chown(p, 0, 42));
	snprintf(p, sizeof(p), "%s/srv/data", src);
	ASSERT_EQ(0, chown(p, 1234, 5678));
	sh("ln '%s/srv/data' '%s/srv/data.link' && ln '%s/srv/data' '%s/etc/data.link2'", src, src,
	   src, src);
	sh("ln -s busybox '%s/bin/sh' && ln -s /bin/busybox '%s/bin/ls'", src, src);
	snprintf(p, sizeof(p), "%s/tmp", src);
	ASSERT_EQ(0, chmod(p, 01777));
	snprintf(p, sizeof(p), "%s/srv", src);
	ASSERT_EQ(0, chmod(p, 02775));
	ASSERT_EQ(0, chown(p, 33, 33));
	snprintf(p, sizeof(p), "%s/dev/null", src);
	ASSERT_EQ(0, mknod(p, S_IFCHR | 0666, makedev(1, 3)));
	snprintf(p, sizeof(p), "%s/dev/loop0", src);
	ASSERT_EQ(0, mknod(p, S_IFBLK | 0660, makedev(7, 0)));
	snprintf(p, sizeof(p), "%s/dev/initctl", src);
	ASSERT_EQ(0, mkfifo(p, 0600));
	/* A path longer than ustar's 100+155 bytes: GNU 'L' or pax path records. */
	snprintf(longdir, sizeof(longdir), "%s/deep/%0120d/%0120d", src, 1, 2);
	sh("mkdir -p '%s' && echo long > '%s/%0100d.txt'", longdir, longdir, 3);
	sh("touch -h -d '2001-02-03 04:05:06' '%s/bin/sh' '%s/bin/su' '%s/dev/null'", src, src,
	   src);
}

struct snap {
	struct mc_buf b;
};

/* One line per path: type, mode, owner, mtime, device, size, content hash, link target. */
static void snapshot(const char *root, const char *rel, struct mc_buf *b, int depth)
{
	char p[PATH_MAX * 2];
	struct dirent **ents;
	int n;

	snprintf(p, sizeof(p), "%s%s%s", root, *rel ? "/" : "", rel);
	n = scandir(p, &ents, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char sub[PATH_MAX], full[PATH_MAX * 2], extra[PATH_MAX + 64] = "";
		struct stat st;

		if (strcmp(ents[i]->d_name, ".") == 0 || strcmp(ents[i]->d_name, "..") == 0) {
			free(ents[i]);
			continue;
		}
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", ents[i]->d_name);
		snprintf(full, sizeof(full), "%s/%s", root, sub);
		free(ents[i]);
		if (lstat(full, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			ssize_t l = readlink(full, extra, sizeof(extra) - 1);

			extra[l > 0 ? l : 0] = '\0';
		} else if (S_ISREG(st.st_mode)) {
			char *data = NULL;
			size_t len = 0;
			unsigned long h = 5381;

			mc_fs_read_file(full, &data, &len, 1 << 24, NULL);
			for (size_t k = 0; k < len; k++)
				h = h * 33 + (unsigned char)data[k];
			free(data);
			snprintf(extra, sizeof(extra), "size=%zu hash=%lx nlink=%lu", len, h,
				 (unsigned long)st.st_nlink);
		} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			snprintf(extra, sizeof(extra), "dev=%u,%u", major(st.st_rdev),
				 minor(st.st_rdev));
		}
		/* Directory mtimes change as the test works in them; everything else is exact. */
		mc_buf_printf(b, "%s %o %u:%u %lld %s\n", sub, st.st_mode, st.st_uid, st.st_gid,
			      S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_mtim.tv_sec, extra);
		if (S_ISDIR(st.st_mode) && depth < 32)
			snapshot(root, sub, b, depth + 1);
	}
	if (n >= 0)
		free(ents);
}

static void expect_same_tree(const char *a, const char *b)
{
	struct mc_buf sa = MC_BUF_INIT, sb = MC_BUF_INIT;
	struct stat ra, rb;

	snapshot(a, "", &sa, 0);
	snapshot(b, "", &sb, 0);
	ASSERT_GT(sa.len, 0);
	if (strcmp(sa.data, sb.data) != 0)
		TH_LOG("source:\n%s\ncheckout:\n%s", sa.data, sb.data);
	EXPECT_STREQ(sa.data, sb.data);
	ASSERT_EQ(0, stat(a, &ra));
	ASSERT_EQ(0, stat(b, &rb));
	EXPECT_EQ(ra.st_mode, rb.st_mode);
	mc_buf_release(&sa);
	mc_buf_release(&sb);
}

static void expect_fsck_clean(const char *store)
{
	char cmd[PATH_MAX + 64], out[4096] = "";
	FILE *f;
	size_t n;

	snprintf(cmd, sizeof(cmd), "git --git-dir='%s' fsck --full --strict 2>&1", store);
	f = popen(cmd, "r");
	ASSERT_NONNULL(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	EXPECT_EQ(0, pclose(f));
	EXPECT_STREQ("", out);
}

FIXTURE_VARIANT(st)
{
	const char *tar_format; /* NULL: import the directory itself */
};
FIXTURE_VARIANT_ADD(st, dir){ .tar_format = NULL };
FIXTURE_VARIANT_ADD(st, gnu){ .tar_format = "gnu" };
FIXTURE_VARIANT_ADD(st, pax){ .tar_format = "pax" };

TEST_F(st, special_files_round_trip)
{
	struct mc_err err = { 0 };
	struct mc_git_oid commit, tree;

	require_root();
	require_tool("tar");
	require_tool("git");
	make_special_tree(self->p.src);
	if (variant->tar_format) {
		sh("tar --format=%s -C '%s' -cf '%s' .", variant->tar_format, self->p.src,
		   self->p.tar);
		ASSERT_EQ(0, mc_imgstore_import_tar(self->p.s, "special", self->p.tar,
						    "special files", &commit, &err));
	} else {
		ASSERT_EQ(0, mc_imgstore_import_dir(self->p.s, "special", self->p.src, NULL,
						    &commit, &err));
	}
	ASSERT_EQ(0, mc_imgstore_resolve(self->p.s, "special", &tree, &err));
	ASSERT_EQ(0, mc_imgstore_checkout(self->p.s, &tree, self->p.out, &err));
	expect_same_tree(self->p.src, self->p.out);
	expect_fsck_clean(self->p.store);
}

TEST_F(one, gzip_tar_and_history)
{
	struct mc_err err = { 0 };
	struct mc_git_oid c1, c2, tree;
	char cmd[PATH_MAX * 3];

	require_tool("tar");
	require_tool("git");
	sh("mkdir -p '%s/etc'", self->p.src);
	put(self->p.src, "etc/hostname", "one\n", 0644);
	sh("tar -C '%s' -czf '%s' .", self->p.src, self->p.tar);
	ASSERT_EQ(0, mc_imgstore_import_tar(self->p.s, "busybox", self->p.tar, "v1", &c1, &err));
	put(self->p.src, "etc/hostname", "two\n", 0644);
	ASSERT_EQ(0, mc_imgstore_import_dir(self->p.s, "busybox", self->p.src, "v2", &c2, &err));
	ASSERT_NE(0, mc_git_oid_cmp(&c1, &c2));
	/* git sees the image as a branch-like ref with two commits. */
	snprintf(cmd, sizeof(cmd),
		 "test \"$(git --git-dir='%s' log --format=%%s refs/images/busybox | tr '\\n' ,)\" "
		 "= 'v2,v1,'",
		 self->p.store);
	ASSERT_EQ(0, system(cmd));
	ASSERT_EQ(0, mc_imgstore_resolve(self->p.s, "busybox", &tree, &err));
	ASSERT_EQ(0, mc_imgstore_checkout(self->p.s, &tree, self->p.out, &err));
	char *data = NULL;
	char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/etc/hostname", self->p.out);
	ASSERT_EQ(0, mc_fs_read_file(p, &data, NULL, 100, &err));
	ASSERT_STREQ("two\n", data);
	free(data);
	/* A non-empty target is refused and left alone. */
	ASSERT_GT(0, mc_imgstore_checkout(self->p.s, &tree, self->p.out, &err));
	expect_fsck_clean(self->p.store);
}

static int count_cb(const struct mc_imgstore_info *info, void *arg)
{
	struct mc_buf *b = arg;

	mc_buf_printf(b, "%s:%s;", info->name, info->message);
	return 0;
}

TEST_F(one, list_history_remove)
{
	struct mc_err err = { 0 };
	struct mc_buf b = MC_BUF_INIT;
	struct mc_git_oid tree;

	sh("mkdir -p '%s'", self->p.src);
	put(self->p.src, "f", "1\n", 0644);
	ASSERT_EQ(0, mc_imgstore_import_dir(self->p.s, "b", self->p.src, "b1", NULL, &err));
	ASSERT_EQ(0, mc_imgstore_import_dir(self->p.s, "a", self->p.src, "a1", NULL, &err));
	put(self->p.src, "f", "2\n", 0644);
	ASSERT_EQ(0, mc_imgstore_import_dir(self->p.s, "a", self->p.src, "a2", NULL, &err));
	ASSERT_EQ(0, mc_imgstore_list(self->p.s, count_cb, &b, &err));
	ASSERT_STREQ("a:a2;b:b1;", b.data);
	b.len = 0;
	ASSERT_EQ(0, mc_imgstore_history(self->p.s, "a", count_cb, &b, &err));
	ASSERT_STREQ("a:a2;a:a1;", b.data);
	ASSERT_EQ(0, mc_imgstore_remove(self->p.s, "a", &err));
	ASSERT_EQ(-ENOENT, mc_imgstore_resolve(self->p.s, "a", &tree, &err));
	ASSERT_EQ(-ENOENT, mc_imgstore_remove(self->p.s, "a", &err));
	ASSERT_EQ(-EINVAL,
		  mc_imgstore_import_dir(self->p.s, "../x", self->p.src, NULL, NULL, &err));
	ASSERT_EQ(-EINVAL, mc_imgstore_import_dir(self->p.s, "a/b", self->p.src, NULL, NULL, &err));
	mc_buf_release(&b);
}

TEST_HARNESS_MAIN
