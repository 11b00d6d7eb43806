/* SPDX-License-Identifier: MIT */
/*
 * http.h: an HTTP/1.1 codec. The parsers are zero-copy (every string points into
 * the caller's buffer), never allocate, and are incremental: call again with the
 * same, longer buffer when more bytes arrive; the work already done (the search
 * for the end of the head) is not repeated. The writer formats into a caller's
 * buffer. Pure functions: no I/O, no clock, no globals; thread-safe.
 *
 *   struct mc_http_request req;
 *   mc_http_request_init(&req);
 *   int n = mc_http_parse_request(&req, buf, len, NULL);
 *   if (n == -EAGAIN)  read more, call again with the same &req and the longer buffer
 *   else if (n < 0)    answer mc_http_error_status(n) and close the connection
 *   else               the head is buf[0..n); the body (mc_http_body) follows
 *
 * Errors map to the status to answer (mc_http_error_status):
 *   -EBADMSG 400  -EMSGSIZE 413  -ENAMETOOLONG 414  -E2BIG 431  -ENOSYS 501
 *   -EPROTONOSUPPORT 505
 */
#ifndef MC_HTTP_H
#define MC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define MC_HTTP_MAX_HEADERS 64

struct mc_http_header {
	const char *name; /* not NUL-terminated */
	size_t name_len;
	const char *value; /* leading/trailing whitespace trimmed */
	size_t value_len;
};

struct mc_http_limits {
	size_t max_request_line; /* method + target + version; beyond: 414 */
	size_t max_head;	 /* whole head incl. request line; beyond: 431 */
	size_t max_headers;	 /* count, <= MC_HTTP_MAX_HEADERS; beyond: 431 */
	uint64_t max_body;	 /* Content-Length or chunked total; beyond: 413 */
};
/* Used when limits is NULL: 8 KiB line, 16 KiB head, 64 headers, 1 MiB body. */
extern const struct mc_http_limits mc_http_default_limits;

enum mc_http_method {
	MC_HTTP_OTHER = 0, /* a valid token we do not know: servers answer 501 */
	MC_HTTP_GET,
	MC_HTTP_HEAD,
	MC_HTTP_POST,
	MC_HTTP_PUT,
	MC_HTTP_DELETE,
	MC_HTTP_OPTIONS,
	MC_HTTP_PATCH,
	MC_HTTP_TRACE,
	MC_HTTP_CONNECT,
};

/* Framing facts derived from the headers, shared by requests and responses. */
struct mc_http_framing {
	int64_t content_length; /* -1: none */
	bool chunked;		/* Transfer-Encoding: chunked */
	bool keep_alive;	/* from the version and Connection */
	bool expect_continue;	/* Expect: 100-continue (requests) */
	bool upgrade;		/* Connection: upgrade */
};

struct mc_http_request {
	enum mc_http_method method;
	const char *method_str;
	size_t method_len;
	const char *target; /* request-target as sent: origin, absolute or '*' form */
	size_t target_len;
	int minor_version; /* 0 or 1 */
	struct mc_http_framing framing;
	const char *host; /* Host header value or NULL */
	size_t host_len;
	size_t num_headers;
	struct mc_http_header headers[MC_HTTP_MAX_HEADERS];
	size_t scanned; /* private: how far the head terminator search got */
};

struct mc_http_response {
	int minor_version;
	int status;
	const char *reason;
	size_t reason_len;
	struct mc_http_framing framing;
	size_t num_headers;
	struct mc_http_header headers[MC_HTTP_MAX_HEADERS];
	size_t scanned; /* private */
};

/* Reset before parsing each new message. */
void mc_http_request_init(struct mc_http_request *req);
void mc_http_response_init(struct mc_http_response *res);

/*
 * mc_http_parse_request: parses a request head from @buf. Returns the head length
 * (> 0; the body starts there), -EAGAIN (incomplete: call again with more bytes),
 * or an error above. Strict where leniency lets requests be smuggled: Content-Length
 * with Transfer-Encoding, differing Content-Lengths, obs-fold, whitespace before a
 * colon, bare CR, and HTTP/1.1 without Host are 400; an unknown transfer coding 501.
 * A bare LF ends a line (RFC 9112 allows it). Leading empty lines are skipped.
 */
int mc_http_parse_request(struct mc_http_request *req, const char *buf, size_t len,
			  const struct mc_http_limits *lim);

/* mc_http_parse_response: as above for a status line + headers (client side). */
int mc_http_parse_response(struct mc_http_response *res, const char *buf, size_t len,
			   const struct mc_http_limits *lim);

/* mc_http_header_find: first header named @name (case-insensitive), or NULL. */
const struct mc_http_header *mc_http_header_find(const struct mc_http_header *h, size_t n,
						 const char *name);

/* mc_http_list_has: does comma-separated @value contain @token (case-insensitive)? */
bool mc_http_list_has(const char *value, size_t len, const char *token);

/* ---- bodies ---- */

struct mc_http_body {
	uint64_t remaining; /* private */
	uint64_t total;	    /* payload bytes delivered so far */
	uint64_t max;
	int state;    /* private */
	unsigned aux; /* private */
	bool done;    /* the whole body (and any trailers) has been consumed */
};

/* Request body framing: Content-Length, chunked, or none (done at once). */
void mc_http_body_init_request(struct mc_http_body *b, const struct mc_http_request *req,
			       uint64_t max_body);
/*
 * Response body framing; @head_request: the request was HEAD. 1xx/204/304 and HEAD
 * have no body; without Content-Length or chunked the body runs to the connection's
 * end: feed it with len 0 at EOF (mc_http_body_eof) to finish.
 */
void mc_http_body_init_response(struct mc_http_body *b, const struct mc_http_response *res,
				bool head_request, uint64_t max_body);

/*
 * mc_http_body_next: consumes framing and payload from @buf. Returns the bytes
 * consumed (>= 0) and points *data and *data_len at the payload inside them (possibly
 * empty). Loop while it consumes and !b->done. Errors: -EBADMSG (bad chunk syntax),
 * -EMSGSIZE (larger than max). Zero-copy: never writes to @buf.
 */
ssize_t mc_http_body_next(struct mc_http_body *b, const char *buf, size_t len, const char **data,
			  size_t *data_len);
/* mc_http_body_eof: the connection ended; 0 if that completes the body, else -EBADMSG. */
int mc_http_body_eof(struct mc_http_body *b);

/* ---- writing ---- */

/* Formats into a caller-owned buffer; overflow is sticky and reported at the end. */
struct mc_http_writer {
	char *buf;
	size_t cap;
	size_t len;
	bool overflow;
};

void mc_http_writer_init(struct mc_http_writer *w, char *buf, size_t cap);
/* "HTTP/1.1 200 OK\r\n" */
void mc_http_write_status(struct mc_http_writer *w, int status);
/* "GET /x HTTP/1.1\r\n" */
void mc_http_write_request_line(struct mc_http_writer *w, const char *method, const char *target);
void mc_http_write_header(struct mc_http_writer *w, const char *name, const char *value);
void mc_http_write_headerf(struct mc_http_writer *w, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void mc_http_write_header_u64(struct mc_http_writer *w, const char *name, uint64_t v);
/* "Date: <IMF-fixdate>\r\n" */
void mc_http_write_date(struct mc_http_writer *w, time_t t);
void mc_http_write_bytes(struct mc_http_writer *w, const void *p, size_t n);
/* The blank line ending the head. */
void mc_http_write_end(struct mc_http_writer *w);
/* mc_http_writer_finish: the length written, or -ENOBUFS if anything overflowed. */
int mc_http_writer_finish(const struct mc_http_writer *w);

/* Chunked encoding: mc_http_chunk_header() then the data then "\r\n"; end with
 * MC_HTTP_CHUNK_LAST. Returns the header length written ("1f4\r\n"). */
#define MC_HTTP_CHUNK_HEADER_MAX 20
#define MC_HTTP_CHUNK_LAST "0\r\n\r\n"
size_t mc_http_chunk_header(char out[MC_HTTP_CHUNK_HEADER_MAX], size_t n);

/* mc_http_reason: "OK", "Not Found"...; "Unknown" for codes it does not know. */
const char *mc_http_reason(int status);
/* mc_http_error_status: parse error -> status to answer (400 for anything else). */
int mc_http_error_status(int err);

/* IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT": format (29 chars + NUL) and parse
 * (also RFC 850 and asctime forms). Parse returns 0 or -EINVAL. */
#define MC_HTTP_DATE_MAX 30
size_t mc_http_date_format(time_t t, char out[MC_HTTP_DATE_MAX]);
int mc_http_date_parse(const char *s, size_t len, time_t *out);

#endif
