/* SPDX-License-Identifier: MIT */
/*
 * http_body.c: message body framing: Content-Length, chunked (RFC 9112 7.1, with
 * extensions skipped and trailers consumed), and read-until-close for responses.
 * A byte-at-a-time state machine for the framing; payload bytes are handed back as
 * spans of the caller's buffer, never copied.
 */
#include <errno.h>
#include <stdint.h>

#include <mc/http.h>

enum {
	B_DONE,
	B_LENGTH,
	B_UNTIL_CLOSE,
	B_SIZE,	      /* chunk-size hex digits */
	B_EXT,	      /* chunk extension, skipped */
	B_SIZE_LF,    /* CR seen after the size line */
	B_DATA,	      /* chunk payload */
	B_DATA_CR,    /* CRLF after the payload */
	B_DATA_LF,    /* CR seen after the payload */
	B_TRAILER,    /* at the start of a trailer line (or the final blank line) */
	B_TRAILER_IN, /* inside a trailer line */
	B_TRAILER_LF, /* CR seen inside a trailer line */
	B_FINAL_LF,   /* CR of the final blank line seen */
};

#define MAX_SIZE_DIGITS 16
#define MAX_EXT 4096
#define MAX_TRAILERS 8192

static void body_init(struct mc_http_body *b, bool chunked, int64_t length, bool until_close,
		      uint64_t max)
{
	*b = (struct mc_http_body){ .max = max };
	if (chunked) {
		b->state = B_SIZE;
	} else if (length > 0) {
		b->state = B_LENGTH;
		b->remaining = (uint64_t)length;
	} else if (length < 0 && until_close) {
		b->state = B_UNTIL_CLOSE;
	} else {
		b->state = B_DONE;
		b->done = true;
	}
}

void mc_http_body_init_request(struct mc_http_body *b, const struct mc_http_request *req,
			       uint64_t max_body)
{
	body_init(b, req->framing.chunked, req->framing.content_length, false, max_body);
}

void mc_http_body_init_response(struct mc_http_body *b, const struct mc_http_response *res,
				bool head_request, uint64_t max_body)
{
	if (head_request || res->status < 200 || res->status == 204 || res->status == 304)
		body_init(b, false, 0, false, max_body);
	else
		body_init(b, res->framing.chunked, res->framing.content_length, true, max_body);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The size line ended: start the payload, or the trailers after the last chunk. */
static int size_done(struct mc_http_body *b)
{
	if (b->remaining == 0) {
		b->state = B_TRAILER;
		b->aux = 0;
		return 0;
	}
	if (b->remaining > b->max || b->total + b->remaining > b->max)
		return -EMSGSIZE;
	b->state = B_DATA;
	return 0;
}

ssize_t mc_http_body_next(struct mc_http_body *b, const char *buf, size_t len, const char **data,
			  size_t *data_len)
{
	size_t i = 0;
	int r;

	*data = buf;
	*data_len = 0;
	switch (b->state) {
	case B_DONE:
		return 0;
	case B_LENGTH: {
		size_t n = len < b->remaining ? len : (size_t)b->remaining;
		b->remaining -= n;
		b->total += n;
		*data_len = n;
		if (!b->remaining) {
			b->state = B_DONE;
			b->done = true;
		}
		return (ssize_t)n;
	}
	case B_UNTIL_CLOSE:
		if (b->total + len > b->max)
			return -EMSGSIZE;
		b->total += len;
		*data_len = len;
		return (ssize_t)len;
	default:
		break;
	}
	while (i < len) {
		char c = buf[i];
		switch (b->state) {
		case B_SIZE: {
			int h = hexval(c);
			if (h >= 0) {
				if (++b->aux > MAX_SIZE_DIGITS)
					return -EBADMSG;
				b->remaining = b->remaining * 16 + (uint64_t)h;
				i++;
				continue;
			}
			if (!b->aux)
				return -EBADMSG;
			if (c == ';' || c == ' ' || c == '\t') {
				b->state = B_EXT;
				b->aux = 0;
			} else if (c == '\r') {
				b->state = B_SIZE_LF;
			} else if (c == '\n') {
				if ((r = size_done(b)) < 0)
					return r;
			} else {
				return -EBADMSG;
			}
			i++;
			break;
		}
		case B_EXT:
			if (c == '\r') {
				b->state = B_SIZE_LF;
			} else if (c == '\n') {
				if ((r = size_done(b)) < 0)
					return r;
			} else if (++b->aux > MAX_EXT || ((unsigned char)c < 0x20 && c != '\t')) {
				return -EBADMSG;
			}
			i++;
			break;
		case B_SIZE_LF:
			if (c != '\n')
				return -EBADMSG;
			if ((r = size_done(b)) < 0)
				return r;
			i++;
			break;
		case B_DATA: {
			size_t n = len - i < b->remaining ? len - i : (size_t)b->remaining;
			*data = buf + i;
			*data_len = n;
			b->remaining -= n;
			b->total += n;
			if (!b->remaining)
				b->state = B_DATA_CR;
			return (ssize_t)(i + n);
		}
		case B_DATA_CR:
			if (c == '\r')
				b->state = B_DATA_LF;
			else if (c == '\n')
				b->state = B_SIZE, b->aux = 0, b->remaining = 0;
			else
				return -EBADMSG;
			i++;
			break;
		case B_DATA_LF:
			if (c != '\n')
				return -EBADMSG;
			b->state = B_SIZE;
			b->aux = 0;
			b->remaining = 0;
			i++;
			break;
		case B_TRAILER:
			if (c == '\r') {
				b->state = B_FINAL_LF;
			} else if (c == '\n') {
				b->state = B_DONE;
				b->done = true;
				return (ssize_t)(i + 1);
			} else {
				b->state = B_TRAILER_IN;
				b->aux++;
			}
			i++;
			break;
		case B_TRAILER_IN:
			if (++b->aux > MAX_TRAILERS)
				return -E2BIG;
			if (c == '\r')
				b->state = B_TRAILER_LF;
			else if (c == '\n')
				b->state = B_TRAILER;
			else if ((unsigned char)c < 0x20 && c != '\t')
				return -EBADMSG;
			i++;
			break;
		case B_TRAILER_LF:
			if (c != '\n')
				return -EBADMSG;
			b->state = B_TRAILER;
			i++;
			break;
		case B_FINAL_LF:
			if (c != '\n')
				return -EBADMSG;
			b->state = B_DONE;
			b->done = true;
			return (ssize_t)(i + 1);
		default:
			return -EBADMSG;
		}
	}
	return (ssize_t)i;
}

int mc_http_body_eof(struct mc_http_body *b)
{
	if (b->state == B_UNTIL_CLOSE) {
		b->state = B_DONE;
		b->done = true;
	}
	return b->done ? 0 : -EBADMSG;
}
