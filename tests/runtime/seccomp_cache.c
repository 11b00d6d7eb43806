/* SPDX-License-Identifier: MIT */
/*
 * Tests of the on-disk cache of compiled seccomp filters (runtime/seccomp_cache.c):
 * a miss compiles and stores, a hit returns the same program without recompiling,
 * corrupt or foreign files are recompiled and replaced, different profiles get
 * different entries, and a program from the cache filters like libseccomp's own.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../runtime/internal.h"

FIXTURE(cache)
{
	char dir[PATH_MAX];
	char file[PATH_MAX + 64];
	char *names_a[2], *names_b[1];
	struct rt_seccomp_rule rules[2];
	struct rt_seccomp prof;
};

FIXTURE_SETUP(cache)
{
	snprintf(self->dir, sizeof(self->dir), "%s/mc-sccache.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ASSERT_NONNULL(mkdtemp(self->dir));
	/* uname and getcpu fail with EACCES, sethostname with EPERM; the rest is allowed. */
	self->names_a[0] = "uname";
	self->names_a[1] = "getcpu";
	self->names_b[0] = "sethostname";
	self->rules[0] = (struct rt_seccomp_rule){ .names = self->names_a,
						   .n_names = 2,
						   .action = SCMP_ACT_ERRNO(EACCES) };
	self->rules[1] = (struct rt_seccomp_rule){ .names = self->names_b,
						   .n_names = 1,
						   .action = SCMP_ACT_ERRNO(EPERM) };
	self->prof = (struct rt_seccomp){ .default_action = SCMP_ACT_ALLOW,
					  .rules = self->rules,
					  .n_rules = 2 };
}

FIXTURE_TEARDOWN(cache)
{
	if (self->dir[0])
		mc_fs_rm_rf(self->dir, NULL);
}

/* The one cache file in DIR/seccomp (asserts there is exactly one). */
static int only_file(const char *dir, char *out, size_t size)
{
	char sub[PATH_MAX + 16];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(sub, sizeof(sub), "%s/seccomp", dir);
	d = opendir(sub);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && n++ == 0)
			snprintf(out, size, "%s/%s", sub, de->d_name);
	closedir(d);
	return n;
}

static bool same(const struct rt_bpf *a, const struct rt_bpf *b)
{
	return a->n == b->n && a->n && !memcmp(a->insns, b->insns, a->n * sizeof(*a->insns));
}

TEST_F(cache, miss_stores_hit_returns_the_same_program)
{
	struct rt_bpf direct, first, again;
	struct mc_err err = { 0 };
	struct stat st1, st2;

	ASSERT_OK(rt_seccomp_prepare(NULL, &self->prof, &direct, &err));
	ASSERT_OK(rt_seccomp_prepare(self->dir, &self->prof, &first, &err));
	ASSERT_EQ(1, only_file(self->dir, self->file, sizeof(self->file)));
	ASSERT_EQ(0, stat(self->file, &st1));
	EXPECT_EQ(0600, st1.st_mode & 0777);
	ASSERT_OK(rt_seccomp_prepare(self->dir, &self->prof, &again, &err));
	ASSERT_EQ(0, stat(self->file, &st2));
	/* A hit reads: the file is the same inode, not rewritten. */
	EXPECT_EQ(st1.st_ino, st2.st_ino);
	EXPECT_EQ(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
	EXPECT_TRUE(same(&direct, &first));
	EXPECT_TRUE(same(&first, &again));
	rt_bpf_release(&direct);
	rt_bpf_release(&first);
	rt_bpf_release(&again);
}

static void corrupt(const char *path, off_t where, bool truncate_it)
{
	int fd = open(path, O_RDWR);
	struct stat st;
	char c;

	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	if (truncate_it) {
		if (ftruncate(fd, st.st_size - 3) < 0)
			TH_LOG("ftruncate: %s", strerror(errno));
	} else {
		if (where < 0)
			where += st.st_size;
		if (pread(fd, &c, 1, where) == 1) {
			c ^= 0x40;
			if (pwrite(fd, &c, 1, where) != 1)
				TH_LOG("pwrite: %s", strerror(errno));
		}
	}
	close(fd);
}

FIXTURE_VARIANT(cache)
{
	off_t where; /* byte to flip; from the end if negative */
	bool truncate_it;
};
FIXTURE_VARIANT_ADD(cache, magic){ .where = 0 };
FIXTURE_VARIANT_ADD(cache, key){ .where = 40 };
FIXTURE_VARIANT_ADD(cache, program){ .where = -5 };
FIXTURE_VARIANT_ADD(cache, torn){ .truncate_it = true };

TEST_F(cache, a_damaged_file_is_recompiled_and_replaced)
{
	struct rt_bpf direct, p;
	struct mc_err err = { 0 };
	struct stat st1, st2;

	ASSERT_OK(rt_seccomp_prepare(NULL, &self->prof, &direct, &err));
	ASSERT_OK(rt_seccomp_prepare(self->dir, &self->prof, &p, &err));
	rt_bpf_release(&p);
	ASSERT_EQ(1, only_file(self->dir, self->file, sizeof(self->file)));
	ASSERT_EQ(0, stat(self->file, &st1));
	corrupt(self->file, variant->where, variant->truncate_it);
	ASSERT_OK(rt_seccomp_prepare(self->dir, &self->prof, &p, &err));
	EXPECT_TRUE(same(&direct, &p));
	rt_bpf_release(&p);
	/* Replaced by a new, valid file (rename: a new inode), which then hits. */
	ASSERT_EQ(0, stat(self->file, &st2));
	EXPECT_NE(st1.st_ino, st2.st_ino);
	EXPECT_EQ(st1.st_size, st2.st_size);
	ASSERT_OK(rt_seccomp_prepare(self->dir, &self->prof, &p, &err));
	EXPECT_TRUE(same(&direct, &p));
	ASSERT_EQ(0, stat(self->file, &st1));
	EXPECT_EQ(st2.st_ino, st1.st_ino);
	rt_bpf_release(&p);
	rt_bpf_release(&direct);
}

TEST_F(cache, another_profile_gets_its_own_entry)
{
	struct rt_bpf a, b;
	struct mc_err err = { 0 };

	ASSERT_OK(rt_seccomp_prepare(self->dir, &self->prof, &a, &err));
	self->rules[1].action = SCMP_ACT_ERRNO(EACCES);
	ASSERT_OK(rt_seccomp_prepare(self->dir, &self->prof, &b, &err));
	EXPECT_EQ(2, only_file(self->dir, self->file, sizeof(self->file)));
	EXPECT_FALSE(same(&a, &b));
	/* One byte of a name differs: still another entry, never the first's program. */
	self->names_b[0] = "setdomainname";
	rt_bpf_release(&b);
	ASSERT_OK(rt_seccomp_prepare(self->dir, &self->prof, &b, &err));
	EXPECT_EQ(3, only_file(self->dir, self->file, sizeof(self->file)));
	EXPECT_FALSE(same(&a, &b));
	rt_bpf_release(&a);
	rt_bpf_release(&b);
}

TEST_F(cache, no_profile_is_no_program)
{
	struct rt_bpf p;
	struct mc_err err = { 0 };

	ASSERT_OK(rt_seccomp_prepare(self->dir, NULL, &p, &err));
	EXPECT_EQ(0, p.n);
	EXPECT_NULL(p.insns);
	EXPECT_EQ(0, only_file(self->dir, self->file, sizeof(self->file)) > 0);
}

TEST_F(cache, a_cached_program_filters)
{
	struct rt_bpf p;
	struct mc_err err = { 0 };
	int ws;
	pid_t pid;

	/* Twice: the second comes from the file. */
	ASSERT_OK(rt_seccomp_prepare(self->dir, &self->prof, &p, &err));
	rt_bpf_release(&p);
	ASSERT_OK(rt_seccomp_prepare(self->dir, &self->prof, &p, &err));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct utsname u;

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || rt_bpf_load(&p, &err) < 0)
			_exit(10);
		if (uname(&u) == 0 || errno != EACCES)
			_exit(11);
		if (sethostname("x", 1) == 0 || errno != EPERM)
			_exit(12);
		if (getpid() <= 0)
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &ws, 0));
	EXPECT_TRUE(WIFEXITED(ws));
	EXPECT_EQ(0, WEXITSTATUS(ws));
	rt_bpf_release(&p);
}

TEST_HARNESS_MAIN
