/* SPDX-License-Identifier: MIT */
/* Tests of the string utilities: strict parsers and the growable buffer. */
#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <mc/util.h>

TEST(parse_size)
{
	uint64_t v;

	ASSERT_EQ(0, mc_parse_size("50M", &v));
	ASSERT_EQ(50ull << 20, v);
	ASSERT_EQ(0, mc_parse_size("1.5g", &v));
	ASSERT_EQ(3ull << 29, v);
	ASSERT_EQ(0, mc_parse_size("64KiB", &v));
	ASSERT_EQ(65536, v);
	ASSERT_EQ(0, mc_parse_size("4096", &v));
	ASSERT_EQ(4096, v);
	ASSERT_EQ(-EINVAL, mc_parse_size("", &v));
	ASSERT_EQ(-EINVAL, mc_parse_size("12Q", &v));
	ASSERT_EQ(-EINVAL, mc_parse_size("-5M", &v));
	ASSERT_EQ(-EINVAL, mc_parse_size("1.5", &v));
	ASSERT_EQ(-ERANGE, mc_parse_size("99999999999T", &v));
}

TEST(parse_duration)
{
	uint64_t ns;

	ASSERT_EQ(0, mc_parse_duration("250ms", &ns));
	ASSERT_EQ(250000000ull, ns);
	ASSERT_EQ(0, mc_parse_duration("10", &ns));
	ASSERT_EQ(10000000000ull, ns);
	ASSERT_EQ(0, mc_parse_duration("1.5s", &ns));
	ASSERT_EQ(1500000000ull, ns);
	ASSERT_EQ(-EINVAL, mc_parse_duration("10x", &ns));
}

TEST(parse_integers_strictly)
{
	uint64_t u;
	int64_t i;

	ASSERT_EQ(0, mc_str_to_u64("18446744073709551615", &u));
	ASSERT_EQ(-ERANGE, mc_str_to_u64("18446744073709551616", &u));
	ASSERT_EQ(-EINVAL, mc_str_to_u64("12a", &u));
	ASSERT_EQ(-EINVAL, mc_str_to_u64(" 12", &u));
	ASSERT_EQ(-EINVAL, mc_str_to_u64("-1", &u));
	ASSERT_EQ(0, mc_str_to_i64("-42", &i));
	ASSERT_EQ(-42, i);
}

TEST(buf_grows_and_detaches)
{
	struct mc_buf b = MC_BUF_INIT;
	char *s;

	for (int i = 0; i < 1000; i++)
		ASSERT_EQ(0, mc_buf_printf(&b, "%d,", i));
	ASSERT_TRUE(mc_str_has_prefix(b.data, "0,1,2,"));
	ASSERT_TRUE(mc_str_has_suffix(b.data, "998,999,"));
	ASSERT_EQ(strlen(b.data), b.len);
	s = mc_buf_detach(&b);
	ASSERT_NULL(b.data);
	free(s);
}

TEST(strlcpy_truncates)
{
	char small[4];

	ASSERT_EQ(6, mc_strlcpy(small, "abcdef", sizeof(small)));
	ASSERT_STREQ("abc", small);
}

TEST_HARNESS_MAIN
