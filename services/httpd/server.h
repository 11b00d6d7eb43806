/* SPDX-License-Identifier: MIT */
/*
 * server.h (httpd-internal): the HTTP/1.1 server shared by `httpd` (static files)
 * and `backend` (the load balancer's demo). It owns connections, parsing, keep-
 * alive, pipelining, limits, idle timeouts, the access log and graceful shutdown;
 * a handler only turns one parsed request into one response through hconn_*.
 */
#ifndef MC_HTTPD_SERVER_H
#define MC_HTTPD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <mc/http.h>
#include <mc/io.h>

struct hconn;

struct httpd_handler {
	/* Answer @req with hconn_respond or hconn_head + hconn_body/hconn_file. */
	void (*handle)(struct hconn *hc, const struct mc_http_request *req, void *arg);
	/* Optional per-loop state (e.g. a file cache): made on each loop's thread. */
	void *(*loop_init)(void *arg);
	void (*loop_free)(void *state);
	void *arg;
};

struct httpd_opts {
	const char *prog; /* for log lines */
	const char *host;
	uint16_t port;
	unsigned threads;
	uint64_t idle_ns;	/* keep-alive / header idle timeout */
	uint64_t drain_ns;	/* max time to drain on SIGTERM */
	size_t max_head;	/* request head limit (431 beyond) */
	unsigned max_conns;	/* per server; 503 beyond */
	const char *access_log; /* NULL: none, "-": stdout, else a file */
	enum mc_io_backend backend;
	bool deferred; /* --deferred-accept: TCP_DEFER_ACCEPT on the listeners */
};

/* httpd_serve: runs until SIGTERM/SIGINT, then stops accepting and drains.
 * Returns 0 or -errno (after printing "prog: what: why"). */
int httpd_serve(const struct httpd_opts *o, const struct httpd_handler *h);

/* The per-loop state made by loop_init. */
void *hconn_loop_state(struct hconn *hc);

/* A complete small response; HEAD gets headers only. @extra: more header lines
 * ("Name: value\r\n" each) or NULL. */
void hconn_respond(struct hconn *hc, int status, const char *ctype, const void *body, size_t len,
		   const char *extra);

/* Begin a response: status line plus the common headers; add your own, then
 * hconn_head_end. @len is the Content-Length. */
struct mc_http_writer *hconn_head(struct hconn *hc, int status, uint64_t len);
void hconn_head_end(struct hconn *hc);
/* The body, when the request was not HEAD. */
void hconn_body(struct hconn *hc, const void *p, size_t n);
/* Send @len bytes of @fd from @off with sendfile (takes the fd, closes it when
 * done); for HEAD it only closes it. Call last, after hconn_head_end. */
void hconn_file(struct hconn *hc, int fd, off_t off, uint64_t len);
/* The same for a shared fd (an open-file cache): @release(@arg) is called once the
 * body is out or the connection closed (or at once for HEAD / empty bodies). */
void hconn_file_shared(struct hconn *hc, int fd, off_t off, uint64_t len,
		       void (*release)(void *arg), void *arg);

bool hconn_is_head(const struct hconn *hc);

#endif
