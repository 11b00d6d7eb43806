/* SPDX-License-Identifier: MIT */
/*
 * http_parse.c: request and response heads (RFC 9112). Two phases: find the end of
 * the head incrementally (memchr for LF, resumed where the last call stopped, so a
 * head trickling in byte by byte costs O(n) in total), then parse the complete head
 * once. Limits are enforced in both phases, so an endless request line or header
 * block is refused as soon as it passes the limit, not when it ends.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <mc/http.h>

#include "http_internal.h"

const struct mc_http_limits mc_http_default_limits = {
	.max_request_line = 8192,
	.max_head = 16384,
	.max_headers = MC_HTTP_MAX_HEADERS,
	.max_body = 1 << 20,
};

/* tchar (RFC 9110 5.6.2): the characters of methods and header names. */
static const unsigned char tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
	['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,  ['~'] = 1, ['0'] = 1,
	['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,  ['7'] = 1, ['8'] = 1,
	['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,  ['F'] = 1, ['G'] = 1,
	['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,  ['N'] = 1, ['O'] = 1,
	['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1,
	['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1,
	['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1,
	['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

bool http_is_tchar(unsigned char c)
{
	return tchar[c];
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

bool http_ieq(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++)
		if (!b[i] || lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return b[i] == '\0';
}

void mc_http_request_init(struct mc_http_request *req)
{
	req->num_headers = 0;
	req->scanned = 0;
}

void mc_http_response_init(struct mc_http_response *res)
{
	res->num_headers = 0;
	res->scanned = 0;
}

/* Leading empty lines before a request line are ignored (RFC 9112 2.2). */
static size_t skip_empty_lines(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && (buf[i] == '\n' || (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')))
		i += buf[i] == '\r' ? 2 : 1;
	if (i + 1 == len && buf[i] == '\r')
		return len; /* a CR whose LF has not arrived: wait for it */
	return i;
}

/*
 * find_head_end: the length of the head (through the blank line) or 0 when not
 * there yet. *scanned is where the next search resumes: a line end seen whose
 * follow-up bytes have not arrived is searched again.
 */
static size_t find_head_end(const char *buf, size_t len, size_t start, size_t *scanned)
{
	size_t i = *scanned > start ? *scanned : start;

	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		if (!nl) {
			*scanned = len;
			return 0;
		}
		size_t p = (size_t)(nl - buf);
		if (p + 1 >= len || (buf[p + 1] == '\r' && p + 2 >= len)) {
			*scanned = p; /* need the bytes after this LF */
			return 0;
		}
		if (buf[p + 1] == '\n')
			return p + 2;
		if (buf[p + 1] == '\r' && buf[p + 2] == '\n')
			return p + 3;
		i = p + 1;
	}
	*scanned = len;
	return 0;
}

/* The end of the line starting at @p (the index of its LF), or -EBADMSG for a CR
 * that is not followed by LF. The caller guarantees a LF exists. */
static int line_end(const char *buf, size_t p, size_t end, size_t *lf, size_t *content_end)
{
	const char *nl = memchr(buf + p, '\n', end - p);
	size_t e = (size_t)(nl - buf);
	size_t ce = e > p && buf[e - 1] == '\r' ? e - 1 : e;

	/* A CR anywhere else is a bare CR: refused (request smuggling vector). */
	if (memchr(buf + p, '\r', ce - p))
		return -EBADMSG;
	*lf = e;
	*content_end = ce;
	return 0;
}

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * parse_headers: header lines from @p to the blank line at @end. Fills @h, derives
 * the framing. Returns 0 or -errno.
 */
static int parse_headers(const char *buf, size_t p, size_t end, const struct mc_http_limits *lim,
			 struct mc_http_header *h, size_t *nh, struct mc_http_framing *fr,
			 int minor, bool request, const char **host, size_t *host_len)
{
	bool conn_close = false, conn_keep = false, have_te = false, have_host = false;
	size_t max =
		lim->max_headers < MC_HTTP_MAX_HEADERS ? lim->max_headers : MC_HTTP_MAX_HEADERS;
	int r;

	*nh = 0;
	fr->content_length = -1;
	fr->chunked = fr->expect_continue = fr->upgrade = false;
	for (;;) {
		size_t lf, ce;
		if ((r = line_end(buf, p, end, &lf, &ce)) < 0)
			return r;
		if (ce == p)
			break; /* the blank line */
		if (buf[p] == ' ' || buf[p] == '\t')
			return -EBADMSG; /* obs-fold */
		size_t n = p;
		while (n < ce && tchar[(unsigned char)buf[n]])
			n++;
		if (n == p || n == ce || buf[n] != ':')
			return -EBADMSG; /* empty name, no colon, or space before it */
		size_t v = n + 1, ve = ce;
		while (v < ve && (buf[v] == ' ' || buf[v] == '\t'))
			v++;
		while (ve > v && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
			ve--;
		for (size_t i = v; i < ve; i++) {
			unsigned char c = (unsigned char)buf[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return -EBADMSG;
		}
		if (*nh >= max)
			return -E2BIG;
		struct mc_http_header *hd = &h[(*nh)++];
		hd->name = buf + p;
		hd->name_len = n - p;
		hd->value = buf + v;
		hd->value_len = ve - v;

		if (http_ieq(hd->name, hd->name_len, "content-length")) {
			uint64_t cl;
			if (!parse_u64(hd->value, hd->value_len, &cl) || cl > INT64_MAX)
				return -EBADMSG;
			if (fr->content_length >= 0 && (uint64_t)fr->content_length != cl)
				return -EBADMSG;
			fr->content_length = (int64_t)cl;
		} else if (http_ieq(hd->name, hd->name_len, "transfer-encoding")) {
			/* Only "chunked" alone: we implement no other coding (501). A
			 * second Transfer-Encoding line is refused outright. */
			if (have_te)
				return -EBADMSG;
			if (!http_ieq(hd->value, hd->value_len, "chunked"))
				return hd->value_len ? -ENOSYS : -EBADMSG;
			have_te = true;
			fr->chunked = true;
		} else if (http_ieq(hd->name, hd->name_len, "connection")) {
			conn_close |= mc_http_list_has(hd->value, hd->value_len, "close");
			conn_keep |= mc_http_list_has(hd->value, hd->value_len, "keep-alive");
			fr->upgrade |= mc_http_list_has(hd->value, hd->value_len, "upgrade");
		} else if (request && http_ieq(hd->name, hd->name_len, "host")) {
			if (have_host)
				return -EBADMSG;
			have_host = true;
			*host = hd->value;
			*host_len = hd->value_len;
		} else if (request && http_ieq(hd->name, hd->name_len, "expect")) {
			fr->expect_continue = http_ieq(hd->value, hd->value_len, "100-continue");
		}
		p = lf + 1;
	}
	/* Both framings at once is how requests get smuggled past proxies: refuse. */
	if (fr->chunked && fr->content_length >= 0)
		return -EBADMSG;
	if (request && fr->chunked && minor == 0)
		return -EBADMSG;
	if (request && minor == 1 && !have_host)
		return -EBADMSG;
	if (request && fr->content_length > 0 && (uint64_t)fr->content_length > lim->max_body)
		return -EMSGSIZE;
	fr->keep_alive = minor >= 1 ? !conn_close : (conn_keep && !conn_close);
	return 0;
}

/* "HTTP/1.1" at @p: the minor version, or -EPROTONOSUPPORT / -EBADMSG. */
static int parse_version(const char *s, size_t n)
{
	if (n != 8 || memcmp(s, "HTTP/", 5) || s[6] != '.' || s[5] < '0' || s[5] > '9' ||
	    s[7] < '0' || s[7] > '9')
		return -EBADMSG;
	if (s[5] != '1')
		return -EPROTONOSUPPORT;
	return s[7] == '0' ? 0 : 1; /* 1.x with x > 1 is treated as 1.1 (RFC 9110 2.5) */
}

static enum mc_http_method method_of(const char *m, size_t n)
{
	static const struct {
		const char *name;
		enum mc_http_method m;
	} tab[] = {
		{ "GET", MC_HTTP_GET },		{ "HEAD", MC_HTTP_HEAD },
		{ "POST", MC_HTTP_POST },	{ "PUT", MC_HTTP_PUT },
		{ "DELETE", MC_HTTP_DELETE },	{ "OPTIONS", MC_HTTP_OPTIONS },
		{ "PATCH", MC_HTTP_PATCH },	{ "TRACE", MC_HTTP_TRACE },
		{ "CONNECT", MC_HTTP_CONNECT },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strlen(tab[i].name) == n && !memcmp(tab[i].name, m, n))
			return tab[i].m;
	return MC_HTTP_OTHER;
}

/* Limits that can be judged before the head is complete. */
static int check_partial(const char *buf, size_t len, size_t start,
			 const struct mc_http_limits *lim)
{
	const char *nl = memchr(buf + start, '\n', len - start);

	if (!nl && len - start > lim->max_request_line)
		return -ENAMETOOLONG;
	if (len - start > lim->max_head)
		return nl && (size_t)(nl - buf) - start > lim->max_request_line ? -ENAMETOOLONG
										: -E2BIG;
	/* Early garbage detection: the method must be a token followed by a space. */
	for (size_t i = start; i < len; i++) {
		if (buf[i] == ' ')
			return i == start ? -EBADMSG : 0;
		if (!tchar[(unsigned char)buf[i]])
			return -EBADMSG;
	}
	return 0;
}

int mc_http_parse_request(struct mc_http_request *req, const char *buf, size_t len,
			  const struct mc_http_limits *lim)
{
	if (!lim)
		lim = &mc_http_default_limits;
	size_t start = skip_empty_lines(buf, len);
	if (start == len)
		return -EAGAIN;
	size_t end = find_head_end(buf, len, start, &req->scanned);
	if (!end) {
		int r = check_partial(buf, len, start, lim);
		return r < 0 ? r : -EAGAIN;
	}
	/* The request line first: an overlong one is 414 however the bytes arrived. */
	size_t lf, ce;
	if (line_end(buf, start, end, &lf, &ce) < 0)
		return -EBADMSG;
	if (ce - start > lim->max_request_line)
		return -ENAMETOOLONG;
	if (end - start > lim->max_head)
		return -E2BIG;
	/* method SP target SP version: exactly single spaces. */
	size_t p = start;
	while (p < ce && tchar[(unsigned char)buf[p]])
		p++;
	if (p == start || p >= ce || buf[p] != ' ')
		return -EBADMSG;
	req->method_str = buf + start;
	req->method_len = p - start;
	req->method = method_of(req->method_str, req->method_len);
	size_t t = ++p;
	while (p < ce && (unsigned char)buf[p] > 0x20 && (unsigned char)buf[p] < 0x7f)
		p++;
	if (p == t || p >= ce || buf[p] != ' ')
		return -EBADMSG;
	req->target = buf + t;
	req->target_len = p - t;
	int minor = parse_version(buf + p + 1, ce - p - 1);
	if (minor < 0)
		return minor;
	req->minor_version = minor;
	/* The target's form must suit the method (RFC 9112 3.2). */
	if (req->target[0] != '/') {
		bool absolute = req->target_len > 7 &&
				(http_ieq(req->target, 7, "http://") ||
				 (req->target_len > 8 && http_ieq(req->target, 8, "https://")));
		bool star = req->target_len == 1 && req->target[0] == '*' &&
			    req->method == MC_HTTP_OPTIONS;
		if (!absolute && !star && req->method != MC_HTTP_CONNECT)
			return -EBADMSG;
	}
	req->host = NULL;
	req->host_len = 0;
	return parse_headers(buf, lf + 1, end, lim, req->headers, &req->num_headers, &req->framing,
			     minor, true, &req->host, &req->host_len)
		       ?: (int)end;
}

int mc_http_parse_response(struct mc_http_response *res, const char *buf, size_t len,
			   const struct mc_http_limits *lim)
{
	if (!lim)
		lim = &mc_http_default_limits;
	size_t end = find_head_end(buf, len, 0, &res->scanned);
	if (!end) {
		if (len > lim->max_head)
			return -E2BIG;
		if (len >= 5 && memcmp(buf, "HTTP/", 5))
			return -EBADMSG;
		return -EAGAIN;
	}
	if (end > lim->max_head)
		return -E2BIG;
	size_t lf, ce;
	if (line_end(buf, 0, end, &lf, &ce) < 0)
		return -EBADMSG;
	/* HTTP/1.1 SP 3DIGIT [SP reason]: a missing reason is tolerated. */
	if (ce < 12 || buf[8] != ' ' || (ce > 12 && buf[12] != ' '))
		return -EBADMSG;
	int minor = parse_version(buf, 8);
	if (minor < 0)
		return minor;
	int status = 0;
	for (int i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -EBADMSG;
		status = status * 10 + buf[i] - '0';
	}
	if (status < 100)
		return -EBADMSG;
	size_t rs = ce > 12 ? 13 : 12;
	for (size_t i = rs; i < ce; i++)
		if (((unsigned char)buf[i] < 0x20 && buf[i] != '\t') || buf[i] == 0x7f)
			return -EBADMSG;
	res->minor_version = minor;
	res->status = status;
	res->reason = buf + rs;
	res->reason_len = ce - rs;
	const char *host;
	size_t host_len;
	return parse_headers(buf, lf + 1, end, lim, res->headers, &res->num_headers, &res->framing,
			     minor, false, &host, &host_len)
		       ?: (int)end;
}

const struct mc_http_header *mc_http_header_find(const struct mc_http_header *h, size_t n,
						 const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (http_ieq(h[i].name, h[i].name_len, name))
			return &h[i];
	return NULL;
}

bool mc_http_list_has(const char *v, size_t len, const char *token)
{
	size_t i = 0;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < len && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s && http_ieq(v + s, e - s, token))
			return true;
	}
	return false;
}
