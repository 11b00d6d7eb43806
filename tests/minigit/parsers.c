/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of libmcgit's parsers on hand-made and random bytes: loose objects,
 * trees, commits, deltas, dates, ids. Hostile input must give an error, never a crash.
 */
#include "harness.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static size_t zpack(const void *in, size_t len, uint8_t *out, size_t cap)
{
	uLongf ol = cap;

	if (compress(out, &ol, in, len) != Z_OK)
		return 0;
	return ol;
}

TEST(oid_roundtrip_and_hash)
{
	struct mc_git_oid o;
	char hex[41];

	mc_git_hash(MC_GIT_BLOB, "", 0, &o);
	ASSERT_STREQ("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", mc_git_oid_fmt(&o, hex));
	mc_git_hash(MC_GIT_BLOB, "hello\n", 6, &o);
	ASSERT_STREQ("ce013625030ba8dba906f756967f9e9ca394464a", mc_git_oid_fmt(&o, hex));
	mc_git_hash(MC_GIT_TREE, "", 0, &o);
	ASSERT_STREQ("4b825dc642cb6eb9a060e54bf8d69288fbee4904", mc_git_oid_fmt(&o, hex));
	ASSERT_EQ(0, mc_git_oid_parse("CE013625030BA8DBA906F756967F9E9CA394464A", &o));
	ASSERT_STREQ("ce013625030ba8dba906f756967f9e9ca394464a", mc_git_oid_fmt(&o, hex));
	ASSERT_EQ(-EINVAL, mc_git_oid_parse("ce01", &o));
	ASSERT_EQ(-EINVAL, mc_git_oid_parse("ce013625030ba8dba906f756967f9e9ca394464ax", &o));
	ASSERT_EQ(-EINVAL, mc_git_oid_parse("ge013625030ba8dba906f756967f9e9ca394464a", &o));
}

TEST(loose_parse_good_and_bad)
{
	uint8_t z[256];
	enum mc_git_type t;
	void *d = NULL;
	size_t len, zl;
	char why[160];

	zl = zpack("blob 5\0hello", 12, z, sizeof(z));
	ASSERT_EQ(0, git_loose_parse(z, zl, 1 << 20, &t, &d, &len, why, sizeof(why)));
	ASSERT_EQ(MC_GIT_BLOB, t);
	ASSERT_EQ(5, len);
	ASSERT_EQ(0, memcmp(d, "hello", 5));
	free(d);

	static const struct {
		const char *raw;
		size_t len;
		const char *why;
	} bad[] = {
		{ "blob 9\0hello", 12, "size mismatch" },
		{ "blob 3\0hello", 12, "size mismatch" },
		{ "blub 5\0hello", 12, "bad object header" },
		{ "blob 05\0hello", 13, "bad object header" },
		{ "blob\0hello", 10, "bad object header" },
		{ "blob 5hello", 11, "bad object header" },
		{ "blob 99999999999999999999999\0x", 30, "bad object header" },
	};
	for (size_t i = 0; i < MC_ARRAY_SIZE(bad); i++) {
		zl = zpack(bad[i].raw, bad[i].len, z, sizeof(z));
		d = NULL;
		EXPECT_EQ(-MC_ECORRUPT,
			  git_loose_parse(z, zl, 1 << 20, &t, &d, &len, why, sizeof(why)));
		EXPECT_NONNULL(strstr(why, bad[i].why));
		EXPECT_NULL(d);
	}
	/* Too large for the limit: refused before allocating. */
	zl = zpack("blob 5\0hello", 12, z, sizeof(z));
	ASSERT_EQ(-MC_ECORRUPT, git_loose_parse(z, zl, 4, &t, &d, &len, why, sizeof(why)));
	/* Truncated stream, garbage after the stream, not zlib at all. */
	ASSERT_EQ(-MC_ECORRUPT,
		  git_loose_parse(z, zl - 3, 1 << 20, &t, &d, &len, why, sizeof(why)));
	memcpy(z + zl, "junk", 4);
	ASSERT_EQ(-MC_ECORRUPT,
		  git_loose_parse(z, zl + 4, 1 << 20, &t, &d, &len, why, sizeof(why)));
	ASSERT_NONNULL(strstr(why, "garbage"));
	ASSERT_EQ(-MC_ECORRUPT,
		  git_loose_parse("plain text", 10, 1 << 20, &t, &d, &len, why, sizeof(why)));
	ASSERT_NONNULL(strstr(why, "zlib"));
}

TEST(tree_parse_rejects_hostile_entries)
{
	static const char *const bad_names[] = { "", ".", "..", "a/b" };
	char buf[128];
	struct mc_git_tree_entry e;
	size_t pos, n;

	n = (size_t)snprintf(buf, sizeof(buf), "100644 ok") + 1;
	memset(buf + n, 0xab, 20);
	pos = 0;
	ASSERT_EQ(1, mc_git_tree_next(buf, n + 20, &pos, &e));
	ASSERT_STREQ("ok", e.name);
	ASSERT_EQ(n + 20, pos);
	ASSERT_EQ(0, mc_git_tree_next(buf, n + 20, &pos, &e));
	/* Truncated id. */
	pos = 0;
	ASSERT_EQ(-MC_ECORRUPT, mc_git_tree_next(buf, n + 19, &pos, &e));
	for (size_t i = 0; i < MC_ARRAY_SIZE(bad_names); i++) {
		n = (size_t)snprintf(buf, sizeof(buf), "100644 %s", bad_names[i]) + 1;
		memset(buf + n, 1, 20);
		pos = 0;
		EXPECT_EQ(-MC_ECORRUPT, mc_git_tree_next(buf, n + 20, &pos, &e));
	}
	static const char *const bad_modes[] = { "100645", "abc", "", "1006440000" };
	for (size_t i = 0; i < MC_ARRAY_SIZE(bad_modes); i++) {
		n = (size_t)snprintf(buf, sizeof(buf), "%s x", bad_modes[i]) + 1;
		memset(buf + n, 1, 20);
		pos = 0;
		EXPECT_EQ(-MC_ECORRUPT, mc_git_tree_next(buf, n + 20, &pos, &e));
	}
}

TEST(commit_parse)
{
	static const char good[] = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
				   "parent ce013625030ba8dba906f756967f9e9ca394464a\n"
				   "author A <a@x> 1700000000 +0100\n"
				   "committer C <c@x> 1700000100 -0530\n"
				   "\nsubject\n\nbody\n";
	struct mc_git_commit c;

	ASSERT_EQ(0, mc_git_commit_parse(good, sizeof(good) - 1, &c));
	ASSERT_EQ(1, c.nparents);
	ASSERT_STREQ("A", c.author.name);
	ASSERT_STREQ("c@x", c.committer.email);
	ASSERT_EQ(1700000100, c.committer.when);
	ASSERT_EQ(-330, c.committer.tz_minutes);
	ASSERT_STREQ("subject\n\nbody\n", c.message);
	mc_git_commit_release(&c);
	/* Every prefix of a valid commit that cuts a header line is malformed. */
	for (size_t n = 0; n < 150; n++)
		EXPECT_EQ(-MC_ECORRUPT, mc_git_commit_parse(good, n, &c));
	ASSERT_EQ(-MC_ECORRUPT, mc_git_commit_parse("tree zz\n\n", 10, &c));
}

static int apply(const char *base, const uint8_t *delta, size_t dl, char *out)
{
	uint8_t *res = NULL;
	size_t rl;
	char why[128];
	int r = git_delta_apply((const uint8_t *)base, strlen(base), delta, dl, 1 << 20, &res, &rl,
				why, sizeof(why));

	if (r == 0) {
		memcpy(out, res, rl);
		out[rl] = 0;
		free(res);
	}
	return r;
}

TEST(delta_apply)
{
	char out[64];
	/* src 11, dst 9: copy 5 bytes at offset 6 ("world"), insert " hey". */
	static const uint8_t ok[] = { 11, 9, 0x91, 6, 5, 4, ' ', 'h', 'e', 'y' };

	ASSERT_EQ(0, apply("hello world", ok, sizeof(ok), out));
	ASSERT_STREQ("world hey", out);
	static const uint8_t wrong_base[] = { 12, 9, 0x91, 6, 5, 4, ' ', 'h', 'e', 'y' };
	ASSERT_EQ(-MC_ECORRUPT, apply("hello world", wrong_base, sizeof(wrong_base), out));
	static const uint8_t copy_oob[] = { 11, 9, 0x91, 8, 5, 4, ' ', 'h', 'e', 'y' };
	ASSERT_EQ(-MC_ECORRUPT, apply("hello world", copy_oob, sizeof(copy_oob), out));
	static const uint8_t short_out[] = { 11, 8, 0x91, 6, 5, 4, ' ', 'h', 'e', 'y' };
	ASSERT_EQ(-MC_ECORRUPT, apply("hello world", short_out, sizeof(short_out), out));
	static const uint8_t zero_op[] = { 11, 1, 0 };
	ASSERT_EQ(-MC_ECORRUPT, apply("hello world", zero_op, sizeof(zero_op), out));
	static const uint8_t trunc_insert[] = { 11, 4, 4, 'a' };
	ASSERT_EQ(-MC_ECORRUPT, apply("hello world", trunc_insert, sizeof(trunc_insert), out));
	static const uint8_t huge[] = { 11, 0xff, 0xff, 0xff, 0xff, 0x7f };
	ASSERT_EQ(-MC_ECORRUPT, apply("hello world", huge, sizeof(huge), out));
}

TEST(random_bytes_never_crash)
{
	uint64_t seed = th_seed();
	uint8_t buf[512];
	char why[160];

	srandom((unsigned)seed);
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = (size_t)random() % sizeof(buf), pos = 0;
		enum mc_git_type t;
		struct mc_git_tree_entry e;
		struct mc_git_commit c;
		void *d = NULL;
		uint8_t *res = NULL;
		size_t len;

		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)random();
		/* Half the inputs get a valid zlib wrapper so the header parser is reached. */
		if (iter % 2) {
			uint8_t z[1024];
			size_t zl = zpack(buf, n, z, sizeof(z));

			if (git_loose_parse(z, zl, 1 << 16, &t, &d, &len, why, sizeof(why)) == 0)
				free(d);
		} else if (git_loose_parse(buf, n, 1 << 16, &t, &d, &len, why, sizeof(why)) == 0) {
			free(d);
		}
		while (mc_git_tree_next(buf, n, &pos, &e) > 0)
			;
		if (mc_git_commit_parse(buf, n, &c) == 0)
			mc_git_commit_release(&c);
		if (git_delta_apply(buf, n / 2, buf + n / 2, n - n / 2, 1 << 16, &res, &len, why,
				    sizeof(why)) == 0)
			free(res);
	}
}

TEST(dates)
{
	int64_t when;
	int tz;
	char buf[64];

	ASSERT_EQ(0, mc_git_date_parse("1112911993 -0700", &when, &tz));
	ASSERT_EQ(1112911993, when);
	ASSERT_EQ(-420, tz);
	ASSERT_EQ(0, mc_git_date_parse("2005-04-07T22:13:13+02:00", &when, &tz));
	ASSERT_EQ(1112904793, when);
	ASSERT_EQ(120, tz);
	ASSERT_EQ(0, mc_git_date_parse("Thu, 07 Apr 2005 22:13:13 +0200", &when, &tz));
	ASSERT_EQ(1112904793, when);
	mc_git_date_format(1112904793, 120, buf, sizeof(buf));
	ASSERT_STREQ("Thu Apr 7 22:13:13 2005 +0200", buf);
	ASSERT_EQ(-EINVAL, mc_git_date_parse("yesterday-ish", &when, &tz));
	ASSERT_EQ(-EINVAL, mc_git_date_parse("2005-04-07T25:99", &when, &tz));
}

FIXTURE(repo)
{
	char dir[PATH_MAX];
	struct mc_git_repo *repo;
};

FIXTURE_SETUP(repo)
{
	struct mc_err err = { 0 };

	snprintf(self->dir, sizeof(self->dir), "/tmp/mc-minigit-unit.XXXXXX");
	ASSERT_NONNULL(mkdtemp(self->dir));
	ASSERT_EQ(0, mc_git_repo_init(self->dir, true, &self->repo, &err));
}

FIXTURE_TEARDOWN(repo)
{
	mc_git_repo_free(self->repo);
	if (self->dir[0])
		mc_fs_rm_rf(self->dir, NULL);
}

TEST_F(repo, hash_mismatch_names_the_object)
{
	struct mc_err err = { 0 };
	struct mc_git_oid oid;
	char path[PATH_MAX + 64], hex[41];
	uint8_t z[128];
	size_t zl;
	void *d;

	ASSERT_EQ(0, mc_git_odb_write(self->repo, MC_GIT_BLOB, "hello", 5, &oid, &err));
	mc_git_oid_fmt(&oid, hex);
	snprintf(path, sizeof(path), "%s/objects/%.2s/%s", self->dir, hex, hex + 2);
	/* Well-formed object, other content, stored under hello's name. */
	zl = zpack("blob 5\0other", 12, z, sizeof(z));
	ASSERT_EQ(0, unlink(path));
	ASSERT_EQ(0, mc_fs_write_atomic(path, z, zl, 0444, &err));
	ASSERT_EQ(-MC_ECORRUPT, mc_git_odb_read(self->repo, &oid, NULL, &d, NULL, &err));
	ASSERT_NONNULL(strstr(err.msg, hex));
	ASSERT_NONNULL(strstr(err.msg, "hash mismatch"));
	/* And a header that lies about the size. */
	zl = zpack("blob 9\0hello", 12, z, sizeof(z));
	ASSERT_EQ(0, mc_fs_write_atomic(path, z, zl, 0444, &err));
	ASSERT_EQ(-MC_ECORRUPT, mc_git_odb_read(self->repo, &oid, NULL, &d, NULL, &err));
	ASSERT_NONNULL(strstr(err.msg, "size mismatch"));
}

TEST_F(repo, refs_update_delete_and_stale_old)
{
	struct mc_err err = { 0 };
	struct mc_git_oid a, b, got, zero = { { 0 } };

	ASSERT_EQ(0, mc_git_odb_write(self->repo, MC_GIT_BLOB, "a", 1, &a, &err));
	ASSERT_EQ(0, mc_git_odb_write(self->repo, MC_GIT_BLOB, "b", 1, &b, &err));
	ASSERT_EQ(0, mc_git_ref_update(self->repo, "refs/images/x", &a, &zero, &err));
	ASSERT_EQ(-ESTALE, mc_git_ref_update(self->repo, "refs/images/x", &b, &zero, &err));
	ASSERT_EQ(0, mc_git_ref_update(self->repo, "refs/images/x", &b, &a, &err));
	ASSERT_EQ(0, mc_git_ref_read(self->repo, "refs/images/x", &got, &err));
	ASSERT_EQ(0, mc_git_oid_cmp(&got, &b));
	ASSERT_EQ(-EINVAL, mc_git_ref_update(self->repo, "refs/images/../x", &b, NULL, &err));
	ASSERT_EQ(-EINVAL, mc_git_ref_update(self->repo, "refs/x.lock", &b, NULL, &err));
	ASSERT_EQ(0, mc_git_ref_delete(self->repo, "refs/images/x", &b, &err));
	ASSERT_EQ(-ENOENT, mc_git_ref_read(self->repo, "refs/images/x", &got, &err));
}

TEST_HARNESS_MAIN
