/* SPDX-License-Identifier: MIT */
/*
 * http_write.c: the HTTP writer (status and request lines, headers, chunk framing
 * into a caller's buffer), reason phrases, error-to-status mapping and HTTP dates.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mc/http.h>

void mc_http_writer_init(struct mc_http_writer *w, char *buf, size_t cap)
{
	*w = (struct mc_http_writer){ .buf = buf, .cap = cap };
}

void mc_http_write_bytes(struct mc_http_writer *w, const void *p, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put(struct mc_http_writer *w, const char *s)
{
	mc_http_write_bytes(w, s, strlen(s));
}

static size_t u64_dec(char out[24], uint64_t v)
{
	char tmp[24];
	size_t n = 0, i = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		out[i++] = tmp[--n];
	return i;
}

void mc_http_write_status(struct mc_http_writer *w, int status)
{
	char line[64];

	if (status < 100 || status > 999)
		status = 500;
	int n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", status, mc_http_reason(status));
	mc_http_write_bytes(w, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void mc_http_write_request_line(struct mc_http_writer *w, const char *method, const char *target)
{
	put(w, method);
	put(w, " ");
	put(w, target);
	put(w, " HTTP/1.1\r\n");
}

void mc_http_write_header(struct mc_http_writer *w, const char *name, const char *value)
{
	put(w, name);
	put(w, ": ");
	put(w, value);
	put(w, "\r\n");
}

void mc_http_write_headerf(struct mc_http_writer *w, const char *name, const char *fmt, ...)
{
	va_list ap;

	put(w, name);
	put(w, ": ");
	if (!w->overflow) {
		va_start(ap, fmt);
		int n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
		va_end(ap);
		if (n < 0 || (size_t)n >= w->cap - w->len)
			w->overflow = true;
		else
			w->len += (size_t)n;
	}
	put(w, "\r\n");
}

void mc_http_write_header_u64(struct mc_http_writer *w, const char *name, uint64_t v)
{
	char num[24];

	put(w, name);
	put(w, ": ");
	mc_http_write_bytes(w, num, u64_dec(num, v));
	put(w, "\r\n");
}

void mc_http_write_date(struct mc_http_writer *w, time_t t)
{
	char d[MC_HTTP_DATE_MAX];

	put(w, "Date: ");
	mc_http_write_bytes(w, d, mc_http_date_format(t, d));
	put(w, "\r\n");
}

void mc_http_write_end(struct mc_http_writer *w)
{
	put(w, "\r\n");
}

int mc_http_writer_finish(const struct mc_http_writer *w)
{
	return w->overflow ? -ENOBUFS : (int)w->len;
}

size_t mc_http_chunk_header(char out[MC_HTTP_CHUNK_HEADER_MAX], size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[16];
	size_t k = 0, i = 0;

	do
		tmp[k++] = hex[n & 15];
	while ((n >>= 4));
	while (k)
		out[i++] = tmp[--k];
	out[i++] = '\r';
	out[i++] = '\n';
	return i;
}

const char *mc_http_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 416:
		return "Range Not Satisfiable";
	case 417:
		return "Expectation Failed";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

int mc_http_error_status(int err)
{
	switch (err) {
	case -EMSGSIZE:
		return 413;
	case -ENAMETOOLONG:
		return 414;
	case -E2BIG:
		return 431;
	case -ENOSYS:
		return 501;
	case -EPROTONOSUPPORT:
		return 505;
	default:
		return 400;
	}
}

static const char wday[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

size_t mc_http_date_format(time_t t, char out[MC_HTTP_DATE_MAX])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
		memset(&tm, 0, sizeof(tm)), tm.tm_year = 70, tm.tm_mday = 1, tm.tm_wday = 4;
	int n = snprintf(out, MC_HTTP_DATE_MAX, "%s, %02d %s %04d %02d:%02d:%02d GMT",
			 wday[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
	return n > 0 && n < MC_HTTP_DATE_MAX ? (size_t)n : 0;
}

int mc_http_date_parse(const char *s, size_t len, time_t *out)
{
	static const char *const fmts[] = {
		"%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate */
		"%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850 */
		"%a %b %e %H:%M:%S %Y",	     /* asctime */
	};
	char buf[64];
	struct tm tm;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		const char *end = strptime(buf, fmts[i], &tm);
		if (end && *end == '\0') {
			time_t t = timegm(&tm);
			if (t == (time_t)-1)
				return -EINVAL;
			*out = t;
			return 0;
		}
	}
	return -EINVAL;
}
