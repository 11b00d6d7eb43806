/* SPDX-License-Identifier: MIT */
/* Tests of the error object: set, wrap, codes beyond errno. */
#include "harness.h"

#include <errno.h>
#include <mc/err.h>

TEST(set_appends_strerror)
{
	struct mc_err err = { 0 };

	ASSERT_EQ(-ENOENT, mc_err_set(&err, ENOENT, "open `%s`", "/x"));
	ASSERT_EQ(ENOENT, err.code);
	ASSERT_STREQ("open `/x`: No such file or directory", err.msg);
}

TEST(wrap_adds_context_outermost_first)
{
	struct mc_err err = { 0 };

	mc_err_set(&err, EPERM, "mount `proc`");
	ASSERT_EQ(-EPERM, mc_err_wrap(&err, "setup rootfs"));
	ASSERT_STREQ("setup rootfs: mount `proc`: Operation not permitted", err.msg);
}

TEST(wrap_without_error_is_internal)
{
	struct mc_err err = { 0 };

	ASSERT_EQ(-MC_EINTERNAL, mc_err_wrap(&err, "ctx"));
	ASSERT_STREQ("ctx", err.msg);
}

TEST(project_codes_have_names)
{
	struct mc_err err = { 0 };

	mc_err_set(&err, MC_ECORRUPT, "sstable `%s` offset %d", "a.sst", 40);
	ASSERT_STREQ("sstable `a.sst` offset 40: data corrupted", err.msg);
	ASSERT_STREQ("malformed input", mc_strerror(-MC_EPARSE));
}

TEST(null_err_still_returns_code)
{
	ASSERT_EQ(-EINVAL, mc_err_setx(NULL, EINVAL, "x"));
}

TEST(long_messages_truncate_safely)
{
	struct mc_err err = { 0 };
	char big[2000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mc_err_setx(&err, EIO, "%s", big);
	ASSERT_EQ(MC_ERR_MSG_MAX - 1, strlen(err.msg));
	mc_err_wrap(&err, "%s", big);
	ASSERT_EQ(MC_ERR_MSG_MAX - 1, strlen(err.msg));
}

TEST_HARNESS_MAIN
