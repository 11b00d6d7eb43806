/* SPDX-License-Identifier: MIT */
/*
 * http_fuzz.c: libFuzzer target for the HTTP codec. The input is copied to an exact-
 * size heap buffer (ASan catches any read past it) and parsed as a request, then
 * incrementally in two pieces (the result must match), then its body is decoded;
 * the same bytes are parsed as a response. Invariants are checked with abort().
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mc/http.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void body(struct mc_http_body *b, const char *p, size_t n)
{
	while (!b->done) {
		const char *d;
		size_t dl;
		ssize_t r = mc_http_body_next(b, p, n, &d, &dl);
		if (r < 0)
			return;
		if ((size_t)r > n || dl > (size_t)r || (dl && (d < p || d + dl > p + r)))
			abort();
		if (r == 0)
			return;
		p += r;
		n -= (size_t)r;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	struct mc_http_request req, inc;
	struct mc_http_response res;
	struct mc_http_body b;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	mc_http_request_init(&req);
	int r = mc_http_parse_request(&req, buf, size, NULL);
	if (r > (int)size || r == 0)
		abort();
	if (r > 0 && (req.num_headers > MC_HTTP_MAX_HEADERS || req.minor_version > 1))
		abort();
	/* Incremental in two pieces must agree with whole. */
	mc_http_request_init(&inc);
	int r2 = mc_http_parse_request(&inc, buf, size / 2, NULL);
	if (r2 == -EAGAIN)
		r2 = mc_http_parse_request(&inc, buf, size, NULL);
	if (r > 0 && r2 != r)
		abort();
	if (r > 0) {
		mc_http_body_init_request(&b, &req, 1 << 20);
		body(&b, buf + r, size - (size_t)r);
	}
	mc_http_response_init(&res);
	r = mc_http_parse_response(&res, buf, size, NULL);
	if (r > (int)size || r == 0)
		abort();
	if (r > 0) {
		mc_http_body_init_response(&b, &res, false, 1 << 20);
		body(&b, buf + r, size - (size_t)r);
	}
	/* Fuzz the chunked decoder directly too. */
	memset(&req, 0, sizeof(req));
	req.framing.chunked = true;
	req.framing.content_length = -1;
	mc_http_body_init_request(&b, &req, 1 << 20);
	body(&b, buf, size);
	free(buf);
	return 0;
}
