/* SPDX-License-Identifier: MIT */
/*
 * Tests of the HTTP/1.1 codec: request and response heads whole, byte at a time and
 * placed against a guard page; a corpus of malformed requests with the status each
 * must get; limits; pipelining; chunked and length bodies; the writer; dates.
 */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mc/http.h>

/* ---- input against a guard page: any read past the end faults ---- */

struct guarded {
	char *map;
	size_t maplen;
};

static const char *guard_place(struct guarded *g, const char *s, size_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t pages = (n + (size_t)pg - 1) / (size_t)pg + 1;

	g->maplen = (pages + 1) * (size_t)pg;
	g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED)
		return NULL;
	char *guard = g->map + pages * (size_t)pg;
	if (mprotect(guard, (size_t)pg, PROT_NONE))
		return NULL;
	memcpy(guard - n, s, n);
	return guard - n;
}

static void guard_release(struct guarded *g)
{
	munmap(g->map, g->maplen);
}

static int parse_req_guarded(const char *s, size_t n, struct mc_http_request *req)
{
	struct guarded g;
	const char *p = guard_place(&g, s, n);

	if (!p)
		return -ENOMEM;
	mc_http_request_init(req);
	int r = mc_http_parse_request(req, p, n, NULL);
	guard_release(&g);
	return r;
}

static int parse_req(const char *s, struct mc_http_request *req)
{
	mc_http_request_init(req);
	return mc_http_parse_request(req, s, strlen(s), NULL);
}

static bool span_eq(const char *p, size_t n, const char *s)
{
	return strlen(s) == n && !memcmp(p, s, n);
}

TEST(simple_get)
{
	static const char r[] = "GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\n"
				"User-Agent:  curl/8 \r\nAccept: */*\r\n\r\n";
	struct mc_http_request req;

	ASSERT_EQ((int)strlen(r), parse_req(r, &req));
	EXPECT_EQ(MC_HTTP_GET, req.method);
	EXPECT_TRUE(span_eq(req.target, req.target_len, "/index.html?x=1"));
	EXPECT_EQ(1, req.minor_version);
	EXPECT_EQ(3, req.num_headers);
	EXPECT_TRUE(span_eq(req.host, req.host_len, "example.com"));
	const struct mc_http_header *ua =
		mc_http_header_find(req.headers, req.num_headers, "user-agent");
	ASSERT_NONNULL(ua);
	EXPECT_TRUE(span_eq(ua->value, ua->value_len, "curl/8"));
	EXPECT_TRUE(req.framing.keep_alive);
	EXPECT_EQ(-1, req.framing.content_length);
	EXPECT_FALSE(req.framing.chunked);
}

TEST(framing_and_keepalive)
{
	struct mc_http_request req;

	ASSERT_GT(parse_req("GET / HTTP/1.0\r\n\r\n", &req), 0);
	EXPECT_FALSE(req.framing.keep_alive);
	ASSERT_GT(parse_req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req), 0);
	EXPECT_TRUE(req.framing.keep_alive);
	ASSERT_GT(parse_req("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", &req),
		  0);
	EXPECT_FALSE(req.framing.keep_alive);
	ASSERT_GT(parse_req("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n", &req), 0);
	EXPECT_EQ(42, req.framing.content_length);
	EXPECT_EQ(MC_HTTP_POST, req.method);
	ASSERT_GT(parse_req("POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
			    "Expect: 100-continue\r\n\r\n",
			    &req),
		  0);
	EXPECT_TRUE(req.framing.chunked);
	EXPECT_TRUE(req.framing.expect_continue);
	/* Bare LF line ends and leading empty lines are accepted. */
	ASSERT_EQ(19, parse_req("\r\n\nGET / HTTP/1.0\n\n", &req));
	ASSERT_GT(parse_req("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	EXPECT_EQ(MC_HTTP_OTHER, req.method);
	ASSERT_GT(parse_req("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	ASSERT_GT(parse_req("GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
}

/* Valid requests, some pipelined: parsing byte by byte (and each prefix against a
 * guard page) must give -EAGAIN until complete, then the same result as whole. */
static const char *const valid[] = {
	"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a HTTP/1.0\n\n",
	"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
	"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
	"PUT /k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"\r\nHEAD /h HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n",
};

TEST(byte_at_a_time_and_guard_page)
{
	for (size_t k = 0; k < sizeof(valid) / sizeof(valid[0]); k++) {
		const char *s = valid[k];
		size_t n = strlen(s);
		struct mc_http_request whole, inc;
		int want = parse_req(s, &whole);
		ASSERT_GT(want, 0);
		/* Incremental: the same request struct across growing prefixes. */
		mc_http_request_init(&inc);
		int got = -EAGAIN;
		size_t i;
		for (i = 1; i <= n && got == -EAGAIN; i++)
			got = mc_http_parse_request(&inc, s, i, NULL);
		ASSERT_EQ(want, got);
		ASSERT_EQ((size_t)want, i - 1);
		EXPECT_EQ(whole.num_headers, inc.num_headers);
		EXPECT_EQ(whole.method, inc.method);
		EXPECT_EQ(whole.framing.content_length, inc.framing.content_length);
		/* Every prefix against the guard page, parsed fresh. */
		for (i = 1; i <= n; i++) {
			struct mc_http_request g;
			int r = parse_req_guarded(s, i, &g);
			ASSERT_EQ(i < (size_t)want ? -EAGAIN : want, r);
		}
	}
}

TEST(pipelined)
{
	const char *s = valid[3];
	size_t n = strlen(s);
	struct mc_http_request req;

	mc_http_request_init(&req);
	int a = mc_http_parse_request(&req, s, n, NULL);
	ASSERT_GT(a, 0);
	EXPECT_TRUE(span_eq(req.target, req.target_len, "/1"));
	mc_http_request_init(&req);
	int b = mc_http_parse_request(&req, s + a, n - (size_t)a, NULL);
	ASSERT_EQ((int)n - a, b);
	EXPECT_TRUE(span_eq(req.target, req.target_len, "/2"));
}

/* The malformed corpus: each input and the status a server must answer. */
static const struct {
	const char *in;
	int status;
} bad[] = {
	{ "GET / HTTP/1.1\r\n\r\n", 400 },			  /* no Host */
	{ "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },		  /* double space */
	{ "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400 },		  /* trailing space */
	{ "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400 },	  /* CTL in target */
	{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400 },		  /* space before colon */
	{ "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400 },  /* obs-fold */
	{ "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400 },	  /* bare CR */
	{ "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400 },  /* no colon */
	{ "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", 400 },	  /* empty name */
	{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400 }, /* DEL in value */
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },  /* two Hosts */
	{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	  400 }, /* smuggling */
	{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", 413 },
	{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
	{ "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400 },
	{ "GET / FTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "GET index HTTP/1.1\r\nHost: a\r\n\r\n", 400 }, /* not origin-form */
	{ "G(T / HTTP/1.1\r\n\r\n", 400 },
	{ "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400 }, /* a TLS ClientHello */
	{ " GET / HTTP/1.1\r\n\r\n", 400 },
	{ "GET\r\n\r\n", 400 },
};

TEST(malformed_corpus)
{
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct mc_http_request req;
		size_t n = strlen(bad[k].in);
		int r = parse_req_guarded(bad[k].in, n, &req);
		if (r >= 0 || mc_http_error_status(r) != bad[k].status)
			TH_LOG("case %zu: %.40s", k, bad[k].in);
		ASSERT_LT(r, 0);
		EXPECT_NE(-EAGAIN, r);
		EXPECT_EQ(bad[k].status, mc_http_error_status(r));
		/* Byte at a time never succeeds and ends in an error. */
		mc_http_request_init(&req);
		int got = -EAGAIN;
		for (size_t i = 1; i <= n && got == -EAGAIN; i++)
			got = mc_http_parse_request(&req, bad[k].in, i, NULL);
		EXPECT_LT(got, 0);
		EXPECT_NE(-EAGAIN, got);
	}
}

TEST(limits)
{
	struct mc_http_limits lim = {
		.max_request_line = 64, .max_head = 256, .max_headers = 4, .max_body = 100
	};
	struct mc_http_request req;
	char buf[2048];

	/* An endless request line: refused before it ends. */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /", 5);
	mc_http_request_init(&req);
	ASSERT_EQ(-ENAMETOOLONG, mc_http_parse_request(&req, buf, 100, &lim));
	snprintf(buf, sizeof(buf), "GET /%0100d HTTP/1.1\r\nHost: a\r\n\r\n", 0);
	mc_http_request_init(&req);
	ASSERT_EQ(-ENAMETOOLONG, mc_http_parse_request(&req, buf, strlen(buf), &lim));
	/* Complete and over both limits: the request line decides (414, not 431). */
	snprintf(buf, sizeof(buf), "GET /%0300d HTTP/1.1\r\nHost: a\r\n\r\n", 0);
	mc_http_request_init(&req);
	ASSERT_EQ(-ENAMETOOLONG, mc_http_parse_request(&req, buf, strlen(buf), &lim));
	EXPECT_EQ(414, mc_http_error_status(-ENAMETOOLONG));
	/* Too many headers. */
	snprintf(buf, sizeof(buf),
		 "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
	mc_http_request_init(&req);
	ASSERT_EQ(-E2BIG, mc_http_parse_request(&req, buf, strlen(buf), &lim));
	/* A header block that never ends. */
	int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	memset(buf + n, 'v', sizeof(buf) - (size_t)n);
	mc_http_request_init(&req);
	ASSERT_EQ(-E2BIG, mc_http_parse_request(&req, buf, 300, &lim));
	EXPECT_EQ(431, mc_http_error_status(-E2BIG));
	snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n");
	mc_http_request_init(&req);
	ASSERT_EQ(-EMSGSIZE, mc_http_parse_request(&req, buf, strlen(buf), &lim));
}

/* ---- bodies ---- */

static int decode_all(struct mc_http_body *b, const char *s, size_t n, bool bytewise, char *out,
		      size_t *outlen, size_t *consumed)
{
	size_t pos = 0, o = 0, avail = bytewise ? 0 : n;

	*outlen = 0;
	while (!b->done) {
		if (bytewise && avail < n && (pos == avail))
			avail++;
		if (pos == avail && avail == n)
			break;
		const char *d;
		size_t dl;
		ssize_t r = mc_http_body_next(b, s + pos, avail - pos, &d, &dl);
		if (r < 0)
			return (int)r;
		memcpy(out + o, d, dl);
		o += dl;
		pos += (size_t)r;
	}
	*outlen = o;
	*consumed = pos;
	return b->done ? 0 : -EAGAIN;
}

TEST(chunked_body)
{
	static const char s[] = "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
				"0\r\nTrailer: x\r\n\r\nNEXT";
	struct mc_http_request req;
	char out[128];
	size_t ol, used;

	ASSERT_GT(
		parse_req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &req),
		0);
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct mc_http_body b;
		mc_http_body_init_request(&b, &req, 1000);
		ASSERT_EQ(0, decode_all(&b, s, strlen(s), bytewise, out, &ol, &used));
		ASSERT_EQ(31, ol);
		EXPECT_EQ(0, memcmp(out, "helloabcdefghijklmnopqrstuvwxyz", 31));
		EXPECT_EQ(strlen(s) - 4, used);
		EXPECT_EQ(31, b.total);
	}
	static const char *const badchunks[] = { "x\r\n", "5\r\nhelloX", "\r\n",
						 "11111111111111111\r\n", "5\rX" };
	for (size_t k = 0; k < sizeof(badchunks) / sizeof(badchunks[0]); k++) {
		struct mc_http_body b;
		mc_http_body_init_request(&b, &req, 1000);
		EXPECT_EQ(-EBADMSG, decode_all(&b, badchunks[k], strlen(badchunks[k]), false, out,
					       &ol, &used));
	}
	struct mc_http_body b;
	mc_http_body_init_request(&b, &req, 10);
	EXPECT_EQ(-EMSGSIZE, decode_all(&b, "b\r\n", 3, false, out, &ol, &used));
}

TEST(responses)
{
	static const char r1[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP";
	static const char r2[] = "HTTP/1.0 404 Not Found\r\n\r\nrest of body";
	static const char r3[] = "HTTP/1.1 204\r\n\r\n";
	struct mc_http_response res;
	struct mc_http_body b;
	char out[64];
	size_t ol, used;

	mc_http_response_init(&res);
	int n = mc_http_parse_response(&res, r1, strlen(r1), NULL);
	ASSERT_EQ(38, n);
	EXPECT_EQ(200, res.status);
	EXPECT_TRUE(span_eq(res.reason, res.reason_len, "OK"));
	mc_http_body_init_response(&b, &res, false, 100);
	ASSERT_EQ(0, decode_all(&b, r1 + n, strlen(r1) - (size_t)n, false, out, &ol, &used));
	EXPECT_EQ(3, used);
	/* HEAD: no body whatever Content-Length says. */
	mc_http_body_init_response(&b, &res, true, 100);
	EXPECT_TRUE(b.done);

	mc_http_response_init(&res);
	n = mc_http_parse_response(&res, r2, strlen(r2), NULL);
	ASSERT_GT(n, 0);
	EXPECT_EQ(404, res.status);
	EXPECT_FALSE(res.framing.keep_alive);
	mc_http_body_init_response(&b, &res, false, 100);
	ASSERT_EQ(-EAGAIN, decode_all(&b, r2 + n, strlen(r2) - (size_t)n, false, out, &ol, &used));
	EXPECT_EQ(12, ol);
	EXPECT_EQ(0, mc_http_body_eof(&b));

	mc_http_response_init(&res);
	ASSERT_EQ((int)strlen(r3), mc_http_parse_response(&res, r3, strlen(r3), NULL));
	EXPECT_EQ(204, res.status);
	mc_http_body_init_response(&b, &res, false, 100);
	EXPECT_TRUE(b.done);

	mc_http_response_init(&res);
	EXPECT_EQ(-EBADMSG, mc_http_parse_response(&res, "SSH-2.0-x\r\n\r\n", 13, NULL));
	mc_http_response_init(&res);
	EXPECT_EQ(-EBADMSG, mc_http_parse_response(&res, "HTTP/1.1 2x0 OK\r\n\r\n", 19, NULL));
	mc_http_response_init(&res);
	EXPECT_EQ(-EAGAIN, mc_http_parse_response(&res, "HTTP/1.1 200 OK\r\n", 17, NULL));
}

TEST(writer)
{
	char buf[256], small[20];
	struct mc_http_writer w;

	mc_http_writer_init(&w, buf, sizeof(buf));
	mc_http_write_status(&w, 404);
	mc_http_write_header(&w, "Server", "httpd");
	mc_http_write_header_u64(&w, "Content-Length", 1234567890123ull);
	mc_http_write_headerf(&w, "X-N", "%d-%s", 7, "z");
	mc_http_write_end(&w);
	int n = mc_http_writer_finish(&w);
	ASSERT_GT(n, 0);
	buf[n] = '\0';
	ASSERT_STREQ("HTTP/1.1 404 Not Found\r\nServer: httpd\r\nContent-Length: 1234567890123\r\n"
		     "X-N: 7-z\r\n\r\n",
		     buf);
	/* What we write, we parse back. */
	struct mc_http_response res;
	mc_http_response_init(&res);
	ASSERT_EQ(n, mc_http_parse_response(&res, buf, (size_t)n, NULL));
	EXPECT_EQ(1234567890123ll, res.framing.content_length);

	mc_http_writer_init(&w, small, sizeof(small));
	mc_http_write_status(&w, 200);
	mc_http_write_header(&w, "Server", "httpd");
	EXPECT_EQ(-ENOBUFS, mc_http_writer_finish(&w));

	char ch[MC_HTTP_CHUNK_HEADER_MAX];
	size_t cl = mc_http_chunk_header(ch, 500);
	ASSERT_EQ(5, cl);
	EXPECT_EQ(0, memcmp(ch, "1f4\r\n", 5));
	EXPECT_EQ(3, mc_http_chunk_header(ch, 0));
	EXPECT_STREQ("Not Implemented", mc_http_reason(501));
}

TEST(dates)
{
	char d[MC_HTTP_DATE_MAX];
	time_t t;

	ASSERT_EQ(29, mc_http_date_format(784111777, d));
	ASSERT_STREQ("Sun, 06 Nov 1994 08:49:37 GMT", d);
	ASSERT_EQ(0, mc_http_date_parse(d, strlen(d), &t));
	EXPECT_EQ(784111777, t);
	ASSERT_EQ(0, mc_http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", 30, &t));
	EXPECT_EQ(784111777, t);
	ASSERT_EQ(0, mc_http_date_parse("Sun Nov  6 08:49:37 1994", 24, &t));
	EXPECT_EQ(784111777, t);
	EXPECT_EQ(-EINVAL, mc_http_date_parse("yesterday", 9, &t));
	EXPECT_EQ(-EINVAL, mc_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMTX", 30, &t));
}

TEST(list_has)
{
	EXPECT_TRUE(mc_http_list_has("keep-alive, Upgrade", 19, "upgrade"));
	EXPECT_FALSE(mc_http_list_has("keep-alive-x", 12, "keep-alive"));
	EXPECT_TRUE(mc_http_list_has(" close ", 7, "close"));
	EXPECT_FALSE(mc_http_list_has("", 0, "close"));
}

TEST_HARNESS_MAIN
