/* SPDX-License-Identifier: MIT */
/*
 * static.c: serving files from a directory. The request path is percent-decoded,
 * refused if it contains NUL or a ".." segment, and opened with openat2
 * RESOLVE_BENEATH under the root (5.6+; symlinks cannot escape it either). Index
 * files, MIME types, HEAD, single byte ranges, If-Modified-Since, 301 for a
 * directory without its slash, 404/405/501. An open-file cache per loop (direct-
 * mapped, revalidated by one fstatat per request: size, mtime, inode): small files
 * keep their bytes (copied into the response with its head, one send), larger ones
 * keep their open fd and go out with sendfile (no copy through user space).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "static.h"

#define CACHE_SLOTS 256
/* Bodies up to this are copied (one send with the head beats send + sendfile). */
#define COPY_MAX (16 * 1024)

/* Shared by the cache slot and every response still sending it: refcounted (one
 * loop's thread only), so replacing a slot never closes an fd being sent. */
struct centry {
	unsigned refs;
	char *path;
	char *data; /* size <= COPY_MAX */
	int fd;	    /* size > COPY_MAX */
	size_t size;
	struct timespec mtime;
	ino_t ino;
};

struct cache {
	const struct static_conf *conf;
	struct centry *e[CACHE_SLOTS];
};

static void centry_put(void *arg)
{
	struct centry *e = arg;

	if (--e->refs)
		return;
	if (e->fd >= 0)
		close(e->fd);
	free(e->path);
	free(e->data);
	free(e);
}

void *static_loop_init(void *arg)
{
	struct cache *c = calloc(1, sizeof(*c));

	if (c)
		c->conf = arg;
	return c;
}

void static_loop_free(void *state)
{
	struct cache *c = state;

	if (!c)
		return;
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (c->e[i])
			centry_put(c->e[i]);
	free(c);
}

const char *static_mime(const char *path)
{
	static const struct {
		const char *ext, *type;
	} t[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "htm", "text/html; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" },
		{ "js", "text/javascript; charset=utf-8" },
		{ "mjs", "text/javascript; charset=utf-8" },
		{ "json", "application/json" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "md", "text/markdown; charset=utf-8" },
		{ "xml", "application/xml" },
		{ "svg", "image/svg+xml" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "webp", "image/webp" },
		{ "ico", "image/x-icon" },
		{ "wasm", "application/wasm" },
		{ "pdf", "application/pdf" },
		{ "woff", "font/woff" },
		{ "woff2", "font/woff2" },
		{ "mp4", "video/mp4" },
		{ "map", "application/json" },
		{ "gz", "application/gzip" },
	};
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');

	if (dot && (!slash || dot > slash))
		for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
			if (!strcasecmp(dot + 1, t[i].ext))
				return t[i].type;
	return "application/octet-stream";
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int static_decode_path(const char *t, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	if (!n || t[0] != '/')
		return -EINVAL;
	for (size_t i = 0; i < n && t[i] != '?' && t[i] != '#'; i++) {
		char c = t[i];
		if (c == '%') {
			int a = i + 2 < n ? hexv(t[i + 1]) : -1, b = a >= 0 ? hexv(t[i + 2]) : -1;
			if (b < 0)
				return -EINVAL;
			c = (char)(a * 16 + b);
			i += 2;
		}
		if (c == '\0')
			return -EINVAL;
		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	out[o] = '\0';
	/* No ".." segment anywhere: the first line of defence (openat2 the second). */
	for (const char *s = out; (s = strstr(s, "..")); s += 2)
		if ((s == out || s[-1] == '/') && (s[2] == '/' || s[2] == '\0'))
			return -EPERM;
	return 0;
}

static int open_beneath(int root, const char *rel)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS) /* pre-5.6: the ".." check above is all we have */
		fd = openat(root, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

/* parse_range: "bytes=a-b", "bytes=a-", "bytes=-n" against @size. 1: a range in
 * [*from, *to]; 0: ignore the header (malformed or several ranges: serve it all);
 * -1: unsatisfiable (416). */
static int parse_range(const char *v, size_t n, uint64_t size, uint64_t *from, uint64_t *to)
{
	char buf[64];

	if (n >= sizeof(buf) || n < 7 || strncmp(v, "bytes=", 6))
		return 0;
	memcpy(buf, v + 6, n - 6);
	buf[n - 6] = '\0';
	if (strchr(buf, ','))
		return 0;
	char *dash = strchr(buf, '-');
	if (!dash)
		return 0;
	*dash = '\0';
	uint64_t a, b;
	bool has_a = buf[0] != '\0', has_b = dash[1] != '\0';
	if ((has_a && mc_str_to_u64(buf, &a) < 0) || (has_b && mc_str_to_u64(dash + 1, &b) < 0) ||
	    (!has_a && !has_b))
		return 0;
	if (!has_a) { /* suffix: the last b bytes */
		if (b == 0 || size == 0)
			return -1;
		*from = b >= size ? 0 : size - b;
		*to = size - 1;
		return 1;
	}
	if (has_b && b < a)
		return 0;
	if (a >= size)
		return -1;
	*from = a;
	*to = has_b && b < size ? b : size - 1;
	return 1;
}

static void not_found(struct hconn *hc)
{
	hconn_respond(hc, 404, "text/plain", "404 Not Found\n", 14, NULL);
}

static unsigned slot_of(const char *rel)
{
	unsigned h = 2166136261u;

	for (const char *p = rel; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % CACHE_SLOTS;
}

/* Cached entry for @rel if still current (st from fstatat), else NULL. */
static struct centry *cache_get(struct cache *c, const char *rel, const struct stat *st)
{
	struct centry *e = c->e[slot_of(rel)];

	if (e && !strcmp(e->path, rel) && e->size == (size_t)st->st_size && e->ino == st->st_ino &&
	    e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec)
		return e;
	return NULL;
}

/* cache_fill: a new entry for @rel taking @fd (closed here if the bytes are kept
 * instead); on failure NULL and @fd stays the caller's. */
static struct centry *cache_fill(struct cache *c, const char *rel, int fd, const struct stat *st)
{
	struct centry *e = calloc(1, sizeof(*e));
	size_t size = (size_t)st->st_size;

	if (!e || !(e->path = strdup(rel)))
		goto fail;
	e->fd = -1;
	if (size <= COPY_MAX) {
		if (!(e->data = malloc(size ? size : 1)) ||
		    mc_read_all(fd, e->data, size) != (ssize_t)size)
			goto fail;
		close(fd);
	} else {
		e->fd = fd;
	}
	e->refs = 1;
	e->size = size;
	e->mtime = st->st_mtim;
	e->ino = st->st_ino;
	struct centry **slot = &c->e[slot_of(rel)];
	if (*slot)
		centry_put(*slot);
	*slot = e;
	return e;
fail:
	if (e) {
		free(e->path);
		free(e->data);
		free(e);
	}
	return NULL;
}

void static_handle(struct hconn *hc, const struct mc_http_request *req, void *arg)
{
	const struct static_conf *conf = arg;
	struct cache *cache = hconn_loop_state(hc);
	char path[4096], rel[4200];
	struct stat st;

	if (req->method == MC_HTTP_OTHER) {
		hconn_respond(hc, 501, "text/plain", "501 Not Implemented\n", 20, NULL);
		return;
	}
	if (req->method != MC_HTTP_GET && req->method != MC_HTTP_HEAD) {
		hconn_respond(hc, 405, "text/plain", "405 Method Not Allowed\n", 23,
			      "Allow: GET, HEAD\r\n");
		return;
	}
	int r = static_decode_path(req->target, req->target_len, path, sizeof(path));
	if (r == -ENAMETOOLONG) {
		hconn_respond(hc, 414, "text/plain", "414 URI Too Long\n", 17, NULL);
		return;
	}
	if (r < 0) {
		hconn_respond(hc, r == -EPERM ? 403 : 400, "text/plain",
			      r == -EPERM ? "403 Forbidden\n" : "400 Bad Request\n",
			      r == -EPERM ? 14 : 16, NULL);
		return;
	}
	/* Relative to the root: "." for "/", else without the leading slash. */
	snprintf(rel, sizeof(rel), "%s", path[1] ? path + 1 : ".");
	if (fstatat(conf->root_fd, rel, &st, 0) < 0) {
		not_found(hc);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		size_t pl = strlen(path);
		if (path[pl - 1] != '/') {
			char loc[4200];
			snprintf(loc, sizeof(loc), "Location: %s/\r\n", path);
			hconn_respond(hc, 301, "text/plain", "301 Moved Permanently\n", 22, loc);
			return;
		}
		size_t rl = strlen(rel);
		snprintf(rel + rl, sizeof(rel) - rl, "%s%s", rl && rel[rl - 1] != '/' ? "/" : "",
			 conf->index);
		if (fstatat(conf->root_fd, rel, &st, 0) < 0 || !S_ISREG(st.st_mode)) {
			not_found(hc);
			return;
		}
	} else if (!S_ISREG(st.st_mode)) {
		not_found(hc);
		return;
	}
	const char *ctype = static_mime(rel);
	char lastmod[MC_HTTP_DATE_MAX];
	mc_http_date_format(st.st_mtim.tv_sec, lastmod);

	const struct mc_http_header *ims =
		mc_http_header_find(req->headers, req->num_headers, "if-modified-since");
	time_t since;
	if (ims && mc_http_date_parse(ims->value, ims->value_len, &since) == 0 &&
	    st.st_mtim.tv_sec <= since) {
		struct mc_http_writer *w = hconn_head(hc, 304, 0);
		mc_http_write_header(w, "Last-Modified", lastmod);
		hconn_head_end(hc);
		return;
	}
	uint64_t size = (uint64_t)st.st_size, from = 0, to = size ? size - 1 : 0;
	int status = 200;
	const struct mc_http_header *rg =
		mc_http_header_find(req->headers, req->num_headers, "range");
	if (rg) {
		int k = parse_range(rg->value, rg->value_len, size, &from, &to);
		if (k < 0) {
			char cr[64];
			snprintf(cr, sizeof(cr), "Content-Range: bytes */%llu\r\n",
				 (unsigned long long)size);
			hconn_respond(hc, 416, "text/plain", "416 Range Not Satisfiable\n", 26, cr);
			return;
		}
		if (k > 0)
			status = 206;
	}
	uint64_t len = size ? to - from + 1 : 0;

	struct centry *e = NULL;
	int fd = -1;
	if (cache)
		e = cache_get(cache, rel, &st);
	if (!e) {
		fd = open_beneath(conf->root_fd, rel);
		if (fd < 0) {
			if (fd == -EACCES)
				hconn_respond(hc, 403, "text/plain", "403 Forbidden\n", 14, NULL);
			else
				not_found(hc);
			return;
		}
		if (cache && (e = cache_fill(cache, rel, fd, &st)))
			fd = -1; /* the entry has it (or closed it after reading) */
	}
	struct mc_http_writer *w = hconn_head(hc, status, len);
	mc_http_write_header(w, "Content-Type", ctype);
	mc_http_write_header(w, "Last-Modified", lastmod);
	mc_http_write_header(w, "Accept-Ranges", "bytes");
	if (status == 206)
		mc_http_write_headerf(w, "Content-Range", "bytes %llu-%llu/%llu",
				      (unsigned long long)from, (unsigned long long)to,
				      (unsigned long long)size);
	hconn_head_end(hc);
	if (e && e->data) {
		hconn_body(hc, e->data + from, (size_t)len);
	} else if (e) {
		e->refs++;
		hconn_file_shared(hc, e->fd, (off_t)from, len, centry_put, e);
	} else {
		hconn_file(hc, fd, (off_t)from, len);
	}
}
