/* SPDX-License-Identifier: MIT */
/*
 * RESP2: the parser byte at a time and on malformed input, the serialisers, and the
 * command table against a real engine (replies compared byte for byte with redis').
 */
#include "harness.h"
#include "kvtest.h"

#include <errno.h>
#include <limits.h>
#include <mc/kv_resp.h>

TEST(parse_byte_at_a_time)
{
	const char req[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$12\r\nhello\r\nworld\r\n";
	size_t len = sizeof(req) - 1;
	struct mc_kv_resp_arg argv[8];
	size_t argc;

	for (size_t i = 0; i < len; i++)
		if (mc_kv_resp_parse(req, i, argv, 8, &argc, NULL) != 0)
			th_assert_failed(__FILE__, __LINE__,
					 "prefix of %zu bytes did not ask for more", i);
	ASSERT_EQ((ssize_t)len, mc_kv_resp_parse(req, len, argv, 8, &argc, NULL));
	ASSERT_EQ(3, argc);
	ASSERT_EQ(12, argv[2].len);
	ASSERT_EQ(0, memcmp(argv[2].p, "hello\r\nworld", 12));
	ASSERT_EQ(-E2BIG, mc_kv_resp_parse(req, len, argv, 2, &argc, NULL));
}

/* The hand-rolled integer formatter, checked against snprintf at the edges. */
TEST(reply_integers_and_bulk_headers)
{
	const long long vals[] = { 0, 1, -1, 9, 10, -10, 123456789, LLONG_MAX, LLONG_MIN };
	struct mc_buf b = MC_BUF_INIT;
	char want[64];

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		b.len = 0;
		ASSERT_OK(mc_kv_resp_int(&b, vals[i]));
		snprintf(want, sizeof(want), ":%lld\r\n", vals[i]);
		ASSERT_EQ(strlen(want), b.len);
		ASSERT_EQ(0, memcmp(want, b.data, b.len));
	}
	b.len = 0;
	ASSERT_OK(mc_kv_resp_array(&b, 3));
	ASSERT_OK(mc_kv_resp_bulk(&b, "hello", 5));
	ASSERT_OK(mc_kv_resp_bulk(&b, "", 0));
	ASSERT_OK(mc_kv_resp_null(&b));
	ASSERT_EQ(26, b.len);
	ASSERT_EQ(0, memcmp("*3\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n", b.data, b.len));
	mc_buf_release(&b);
}

TEST(parse_inline_and_errors)
{
	struct mc_kv_resp_arg argv[8];
	const char *why = NULL;
	size_t argc;

	ASSERT_EQ(12, mc_kv_resp_parse("GET  a   b\r\n", 12, argv, 8, &argc, NULL));
	ASSERT_EQ(3, argc);
	ASSERT_EQ(0, memcmp(argv[2].p, "b", 1));
	ASSERT_EQ(2, mc_kv_resp_parse("\r\n", 2, argv, 8, &argc, NULL));
	ASSERT_EQ(0, argc);
	ASSERT_EQ(-EBADMSG, mc_kv_resp_parse("*x\r\n", 4, argv, 8, &argc, &why));
	ASSERT_NONNULL(why);
	ASSERT_EQ(-EBADMSG, mc_kv_resp_parse("*1\r\n+3\r\n", 8, argv, 8, &argc, NULL));
	ASSERT_EQ(-EBADMSG, mc_kv_resp_parse("*1\r\n$3\r\nabcXY", 13, argv, 8, &argc, NULL));
	ASSERT_EQ(-EBADMSG, mc_kv_resp_parse("*1\r\n$-5\r\n", 9, argv, 8, &argc, NULL));
	ASSERT_EQ(-EBADMSG, mc_kv_resp_parse("*1\r\n$99999999999\r\n", 18, argv, 8, &argc, NULL));
	ASSERT_EQ(-EBADMSG, mc_kv_resp_parse("*1\n", 3, argv, 8, &argc, NULL));
	ASSERT_EQ(-EBADMSG,
		  mc_kv_resp_parse("*99999999999999999999\r\n", 23, argv, 8, &argc, NULL));
	/* A huge inline line without a newline is refused rather than buffered forever. */
	static char big[MC_KV_RESP_MAX_INLINE + 2];

	memset(big, 'a', sizeof(big));
	ASSERT_EQ(-EBADMSG, mc_kv_resp_parse(big, sizeof(big), argv, 8, &argc, NULL));
}

FIXTURE(cmd)
{
	char dir[256];
};

FIXTURE_SETUP(cmd)
{
	kvt_mkdtemp(self->dir, sizeof(self->dir));
	ASSERT_NE(0, self->dir[0]);
}

FIXTURE_TEARDOWN(cmd)
{
	kvt_rmdir(self->dir);
}

/* Runs one inline command line and returns the raw reply (static buffer). */
static const char *run(struct mc_kv *kv, const char *line)
{
	static struct mc_buf out;
	struct mc_kv_resp_arg argv[32];
	char req[512];
	size_t argc;

	snprintf(req, sizeof(req), "%s\r\n", line);
	out.len = 0;
	if (mc_kv_resp_parse(req, strlen(req), argv, 32, &argc, NULL) <= 0)
		return "(parse failed)";
	if (mc_kv_cmd_exec(kv, argv, argc, &out, 0) < 0)
		return "(exec failed)";
	mc_buf_append(&out, "", 0);
	return out.data;
}

TEST_F(cmd, replies_match_redis)
{
	struct mc_err err = { 0 };
	struct mc_kv *kv;

	ASSERT_OK(mc_kv_open(self->dir, NULL, &kv, &err));
	ASSERT_STREQ("+PONG\r\n", run(kv, "PING"));
	ASSERT_STREQ("$2\r\nhi\r\n", run(kv, "ping hi"));
	ASSERT_STREQ("$-1\r\n", run(kv, "GET a"));
	ASSERT_STREQ("+OK\r\n", run(kv, "SET a 1"));
	ASSERT_STREQ("$1\r\n1\r\n", run(kv, "get a"));
	ASSERT_STREQ(":2\r\n", run(kv, "INCR a"));
	ASSERT_STREQ(":-3\r\n", run(kv, "DECRBY a 5"));
	ASSERT_STREQ(":1\r\n", run(kv, "INCR fresh"));
	ASSERT_STREQ("+OK\r\n", run(kv, "SET s notanumber"));
	ASSERT_STREQ("-ERR value is not an integer or out of range\r\n", run(kv, "INCR s"));
	ASSERT_STREQ("+OK\r\n", run(kv, "SET big 9223372036854775807"));
	ASSERT_STREQ("-ERR increment or decrement would overflow\r\n", run(kv, "INCR big"));
	ASSERT_STREQ("$-1\r\n", run(kv, "SET a 7 NX"));
	ASSERT_STREQ("$2\r\n-3\r\n", run(kv, "SET a 8 GET"));
	ASSERT_STREQ("+OK\r\n", run(kv, "MSET k1 v1 k2 v2"));
	ASSERT_STREQ("*3\r\n$2\r\nv1\r\n$-1\r\n$2\r\nv2\r\n", run(kv, "MGET k1 nope k2"));
	ASSERT_STREQ(":2\r\n", run(kv, "EXISTS k1 k2 nope"));
	ASSERT_STREQ(":6\r\n", run(kv, "DBSIZE"));
	ASSERT_STREQ(":2\r\n", run(kv, "DEL k1 k2 nope"));
	ASSERT_STREQ(":4\r\n", run(kv, "DBSIZE"));
	ASSERT_STREQ("*2\r\n$1\r\n2\r\n*2\r\n$1\r\na\r\n$3\r\nbig\r\n", run(kv, "SCAN 0 COUNT 2"));
	ASSERT_STREQ("*2\r\n$1\r\n0\r\n*2\r\n$5\r\nfresh\r\n$1\r\ns\r\n",
		     run(kv, "SCAN 2 COUNT 10"));
	ASSERT_STREQ("*2\r\n$1\r\n0\r\n*1\r\n$5\r\nfresh\r\n", run(kv, "SCAN 0 MATCH f*"));
	ASSERT_STREQ("-ERR wrong number of arguments for 'get' command\r\n", run(kv, "GET"));
	ASSERT_STREQ("-ERR wrong number of arguments for 'mset' command\r\n", run(kv, "MSET a"));
	ASSERT_STREQ("-ERR unknown command 'NOPE', with args beginning with: \r\n",
		     run(kv, "NOPE x"));
	ASSERT_STREQ("-ERR syntax error\r\n", run(kv, "SET a b WHAT"));
	ASSERT_STREQ("-ERR invalid cursor\r\n", run(kv, "SCAN x"));
	ASSERT_NONNULL(strstr(run(kv, "INFO"), "db0:keys=4"));
	ASSERT_TRUE(mc_kv_cmd_classify((struct mc_kv_resp_arg[]){ { "set", 3 } }, 1) ==
		    MC_KV_CMD_WRITE);
	ASSERT_TRUE(mc_kv_cmd_classify((struct mc_kv_resp_arg[]){ { "GET", 3 } }, 1) ==
		    MC_KV_CMD_READ);
	ASSERT_STREQ("+OK\r\n", run(kv, "FLUSHDB"));
	ASSERT_STREQ(":0\r\n", run(kv, "DBSIZE"));
	mc_kv_close(kv);
}

/* Runs one inline command through a command context; the reply is appended to @out. */
static int run_ctx(struct mc_kv_cmd_ctx *ctx, const char *line, struct mc_buf *out)
{
	struct mc_kv_resp_arg argv[32];
	char req[512];
	size_t argc;

	snprintf(req, sizeof(req), "%s\r\n", line);
	if (mc_kv_resp_parse(req, strlen(req), argv, 32, &argc, NULL) <= 0)
		return -EBADMSG;
	return mc_kv_cmd_run(ctx, argv, argc, out);
}

/*
 * A deferring context (kv-server's writer): plain SETs and MSETs of many commands
 * become one write, answered +OK at once; any other command sees them first.
 */
TEST_F(cmd, deferred_writes_are_batched_and_visible)
{
	struct mc_err err = { 0 };
	struct mc_kv *kv;
	struct mc_kv_cmd_ctx ctx;
	struct mc_buf out = MC_BUF_INIT, v = MC_BUF_INIT;
	struct mc_kv_stats st;

	ASSERT_OK(mc_kv_open(self->dir, NULL, &kv, &err));
	mc_kv_cmd_ctx_init(&ctx, kv, MC_KV_WRITE_NOSYNC, true);
	for (int i = 0; i < 100; i++) {
		char line[64];

		snprintf(line, sizeof(line), "SET key%03d value%03d", i, i);
		ASSERT_OK(run_ctx(&ctx, line, &out));
	}
	ASSERT_OK(run_ctx(&ctx, "MSET m1 x m2 y", &out));
	/* Nothing written yet: the engine has not seen a single operation. */
	ASSERT_EQ(-ENOENT, mc_kv_get(kv, "key000", 6, &v));
	ASSERT_EQ(0, ctx.writes);
	/* INCR must see the pending SET: it writes the batch first. */
	ASSERT_OK(run_ctx(&ctx, "SET n 41", &out));
	ASSERT_OK(run_ctx(&ctx, "INCR n", &out));
	ASSERT_EQ(1, ctx.writes);
	ASSERT_OK(run_ctx(&ctx, "SET last 1", &out));
	ASSERT_OK(run_ctx(&ctx, "GET key007", &out));
	ASSERT_EQ(2, ctx.writes);
	ASSERT_OK(run_ctx(&ctx, "SET tail 1", &out));
	ASSERT_OK(mc_kv_cmd_flush(&ctx));
	ASSERT_EQ(3, ctx.writes);
	ASSERT_OK(mc_kv_cmd_flush(&ctx)); /* nothing pending: no write */
	ASSERT_EQ(3, ctx.writes);
	mc_buf_append(&out, "", 0);
	/* 101 + 1 OKs, :42, +OK, the GET, +OK, in order. */
	const char *p = out.data;

	for (int i = 0; i < 102; i++) {
		ASSERT_EQ(0, strncmp(p, "+OK\r\n", 5));
		p += 5;
	}
	ASSERT_STREQ(":42\r\n+OK\r\n$8\r\nvalue007\r\n+OK\r\n", p);
	ASSERT_OK(mc_kv_get(kv, "key099", 6, &v));
	ASSERT_STREQ("value099", v.data);
	ASSERT_OK(mc_kv_get(kv, "m2", 2, &v));
	ASSERT_STREQ("y", v.data);
	ASSERT_OK(mc_kv_get(kv, "tail", 4, &v));
	/* Wrong arity and oversized values still take the normal path and its errors. */
	out.len = 0;
	ASSERT_OK(run_ctx(&ctx, "MSET a", &out));
	ASSERT_OK(run_ctx(&ctx, "SET a b NX", &out));
	ASSERT_OK(mc_kv_cmd_flush(&ctx));
	mc_buf_append(&out, "", 0);
	ASSERT_STREQ("-ERR wrong number of arguments for 'mset' command\r\n+OK\r\n", out.data);
	mc_kv_stats_get(kv, &st);
	ASSERT_EQ(105 + 2, st.last_seq); /* 100 + 2 + n, last, tail; INCR; SET NX */
	mc_kv_cmd_ctx_release(&ctx);
	mc_buf_release(&out);
	mc_buf_release(&v);
	mc_kv_close(kv);
}

TEST_HARNESS_MAIN
