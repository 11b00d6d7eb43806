/* SPDX-License-Identifier: MIT */
/*
 * resp.c: the RESP2 request parser and reply serialisers. The parser is
 * picohttpparser-shaped: it takes the bytes received so far and either returns one
 * complete command (argument pointers into the input, nothing copied or allocated),
 * says "need more", or rejects the input. Rejecting early matters: a length header
 * larger than the limits is an error as soon as it is seen, not after buffering it.
 */
#include <mc/kv_resp.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Parses a decimal line "[-]digits\r\n" starting at p; returns the end or NULL. */
static const char *parse_num_line(const char *p, const char *end, long long *out, int *status)
{
	long long v = 0;
	bool neg = false;
	const char *start;

	*status = 0;
	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	start = p;
	while (p < end && *p >= '0' && *p <= '9') {
		if (v > (LLONG_MAX - 9) / 10) {
			*status = -EBADMSG;
			return NULL;
		}
		v = v * 10 + (*p - '0');
		p++;
	}
	if (p == end)
		return NULL; /* need more */
	if (p == start || p + 1 > end || *p != '\r') {
		*status = -EBADMSG;
		return NULL;
	}
	if (p + 1 == end)
		return NULL;
	if (p[1] != '\n') {
		*status = -EBADMSG;
		return NULL;
	}
	*out = neg ? -v : v;
	return p + 2;
}

static ssize_t parse_inline(const char *buf, size_t len, struct mc_kv_resp_arg *argv,
			    size_t max_args, size_t *argc, const char **why)
{
	const char *nl = memchr(buf, '\n', len);

	if (!nl) {
		if (len > MC_KV_RESP_MAX_INLINE) {
			*why = "too big inline request";
			return -EBADMSG;
		}
		return 0;
	}
	const char *end = nl;

	if (end > buf && end[-1] == '\r')
		end--;
	size_t n = 0;

	/* Space-separated words; quoting (redis-cli's "a b") is not supported inline. */
	for (const char *p = buf; p < end;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		const char *w = p;

		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if (n == max_args)
			return -E2BIG;
		argv[n].p = w;
		argv[n].len = (size_t)(p - w);
		n++;
	}
	*argc = n;
	return nl - buf + 1;
}

ssize_t mc_kv_resp_parse(const char *buf, size_t len, struct mc_kv_resp_arg *argv, size_t max_args,
			 size_t *argc, const char **why)
{
	const char *p = buf, *end = buf + len;
	const char *dummy;
	long long n;
	int st;

	if (!why)
		why = &dummy;
	if (len == 0)
		return 0;
	if (*p != '*')
		return parse_inline(buf, len, argv, max_args, argc, why);
	p = parse_num_line(p + 1, end, &n, &st);
	if (!p) {
		if (st < 0 || len > 32)
			*why = "invalid multibulk length";
		return st < 0 || len > 32 ? -EBADMSG : 0;
	}
	if (n > 1024 * 1024) {
		*why = "invalid multibulk length";
		return -EBADMSG;
	}
	if (n <= 0) {
		/* "*0" and "*-1" are empty commands: consumed, nothing to run. */
		*argc = 0;
		return p - buf;
	}
	if ((size_t)n > max_args)
		return -E2BIG;
	for (long long i = 0; i < n; i++) {
		long long blen;

		if (p == end)
			return 0;
		if (*p != '$') {
			*why = "expected '$'";
			return -EBADMSG;
		}
		const char *q = parse_num_line(p + 1, end, &blen, &st);

		if (!q) {
			if (st < 0 || end - p > 32) {
				*why = "invalid bulk length";
				return -EBADMSG;
			}
			return 0;
		}
		if (blen < 0 || blen > MC_KV_RESP_MAX_BULK) {
			*why = "invalid bulk length";
			return -EBADMSG;
		}
		if ((size_t)(end - q) < (size_t)blen + 2)
			return 0;
		if (q[blen] != '\r' || q[blen + 1] != '\n') {
			*why = "bulk string not terminated by CRLF";
			return -EBADMSG;
		}
		argv[i].p = q;
		argv[i].len = (size_t)blen;
		p = q + blen + 2;
	}
	*argc = (size_t)n;
	return p - buf;
}

static int line(struct mc_buf *out, char type, const char *s)
{
	size_t n = strlen(s);

	if (mc_buf_reserve(out, n + 3) < 0)
		return -ENOMEM;
	out->data[out->len++] = type;
	/* A status or error line cannot carry CR or LF: replace them. */
	for (size_t i = 0; i < n; i++)
		out->data[out->len++] = s[i] == '\r' || s[i] == '\n' ? ' ' : s[i];
	return mc_buf_append(out, "\r\n", 2);
}

int mc_kv_resp_simple(struct mc_buf *out, const char *s)
{
	return line(out, '+', s);
}

int mc_kv_resp_error(struct mc_buf *out, const char *s)
{
	return line(out, '-', s);
}

/*
 * "<type><v>\r\n" without snprintf: every GET reply starts with one ("$<len>"), and
 * vfprintf was ~4% of kv-server's CPU under GET -P 16 (perf).
 */
static int num(struct mc_buf *out, char type, long long v)
{
	char tmp[32];
	char *p = tmp + sizeof(tmp);
	/* unsigned negation: well defined for LLONG_MIN too */
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	*--p = '\n';
	*--p = '\r';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	*--p = type;
	return mc_buf_append(out, p, (size_t)(tmp + sizeof(tmp) - p));
}

int mc_kv_resp_int(struct mc_buf *out, long long v)
{
	return num(out, ':', v);
}

int mc_kv_resp_array(struct mc_buf *out, long long n)
{
	return num(out, '*', n);
}

int mc_kv_resp_null(struct mc_buf *out)
{
	return mc_buf_append(out, "$-1\r\n", 5);
}

int mc_kv_resp_bulk(struct mc_buf *out, const void *p, size_t len)
{
	/* One reserve for the header, the value and the CRLF. */
	if (mc_buf_reserve(out, len + 24) < 0 || num(out, '$', (long long)len) < 0)
		return -ENOMEM;
	mc_buf_append(out, p, len);
	return mc_buf_append(out, "\r\n", 2);
}

int mc_kv_resp_command(struct mc_buf *out, const struct mc_kv_resp_arg *argv, size_t argc)
{
	if (mc_kv_resp_array(out, (long long)argc) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < argc; i++)
		if (mc_kv_resp_bulk(out, argv[i].p, argv[i].len) < 0)
			return -ENOMEM;
	return 0;
}
