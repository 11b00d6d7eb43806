/* SPDX-License-Identifier: MIT */
/*
 * server.c: the HTTP/1.1 server core on libmcio. One loop per thread, each with
 * its own SO_REUSEPORT listener. Per connection: parse heads incrementally,
 * answer pipelined requests in order (a streamed file pauses reading until it is
 * out), skip request bodies, keep-alive with an idle timeout, answer malformed
 * input with its 4xx/5xx and close. SIGTERM/SIGINT: every loop closes its listener,
 * closes idle connections, lets in-flight requests finish (Connection: close), and
 * stops when its last connection is gone or the drain deadline passes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mc/cleanup.h>
#include <mc/log.h>
#include <mc/util.h>

#include "server.h"

#define POOL_MAX 256

struct server {
	const struct httpd_opts *o;
	const struct httpd_handler *h;
	struct mc_http_limits lim;
	int lfds[64];
	atomic_uint nconns;
	FILE *log;
};

struct lstate {
	struct server *srv;
	struct mc_io_loop *loop;
	struct mc_io_listener *ls;
	struct hconn *conns;
	unsigned nconns;
	struct hconn *pool; /* closed hconns kept for reuse (next), at most POOL_MAX */
	unsigned npool;
	bool draining;
	struct mc_io_timer drain_timer;
	time_t date_t;
	char date[MC_HTTP_DATE_MAX];
	void *hstate;
};

struct hconn {
	struct lstate *st;
	struct mc_io_conn *c;
	struct hconn *prev, *next;
	struct mc_io_timer idle;
	struct mc_http_request req;
	bool has_req;	  /* a request is being answered */
	bool in_body;	  /* skipping the request body */
	bool close_after; /* Connection: close on the current response */
	bool closing;
	bool head;   /* current request is HEAD */
	bool linger; /* refused: discard input until the peer is done, then close */
	struct mc_http_body body;
	/* Current response, for the access log. */
	int status;
	uint64_t bytes;
	uint64_t t0;
	char method[16];
	char target[128];
	/* Sending a file (sendfile through libmcio): released when out or closed. */
	int file_fd;
	uint64_t file_len;
	void (*file_release)(void *arg);
	void *file_arg;
	/* Response head scratch. */
	struct mc_http_writer w;
	char wbuf[2048];
};

static void refresh_date(struct lstate *st)
{
	time_t now = time(NULL);

	if (now != st->date_t) {
		st->date_t = now;
		mc_http_date_format(now, st->date);
	}
}

void *hconn_loop_state(struct hconn *hc)
{
	return hc->st->hstate;
}

bool hconn_is_head(const struct hconn *hc)
{
	return hc->head;
}

struct mc_http_writer *hconn_head(struct hconn *hc, int status, uint64_t len)
{
	struct mc_http_writer *w = &hc->w;

	hc->status = status;
	if (hc->st->draining)
		hc->close_after = true;
	refresh_date(hc->st);
	mc_http_writer_init(w, hc->wbuf, sizeof(hc->wbuf));
	mc_http_write_status(w, status);
	mc_http_write_header(w, "Server", "mc-httpd");
	mc_http_write_header(w, "Date", hc->st->date);
	mc_http_write_header_u64(w, "Content-Length", len);
	if (hc->close_after)
		mc_http_write_header(w, "Connection", "close");
	else if (hc->req.minor_version == 0)
		mc_http_write_header(w, "Connection", "keep-alive");
	return w;
}

void hconn_head_end(struct hconn *hc)
{
	mc_http_write_end(&hc->w);
	int n = mc_http_writer_finish(&hc->w);
	if (n < 0) {
		/* A handler's headers overflowed 2 KiB: a bug, answer 500. */
		mc_log_warn("response head too large; answering 500");
		hconn_head(hc, 500, 0);
		hc->close_after = true;
		mc_http_write_header(&hc->w, "Connection", "close");
		mc_http_write_end(&hc->w);
		n = mc_http_writer_finish(&hc->w);
	}
	mc_io_conn_write(hc->c, hc->wbuf, (size_t)n);
}

void hconn_body(struct hconn *hc, const void *p, size_t n)
{
	if (hc->head)
		return;
	mc_io_conn_write(hc->c, p, n);
	hc->bytes += n;
}

void hconn_respond(struct hconn *hc, int status, const char *ctype, const void *body, size_t len,
		   const char *extra)
{
	struct mc_http_writer *w = hconn_head(hc, status, len);

	if (ctype)
		mc_http_write_header(w, "Content-Type", ctype);
	if (extra)
		mc_http_write_bytes(w, extra, strlen(extra));
	hconn_head_end(hc);
	hconn_body(hc, body, len);
}

static void log_access(struct hconn *hc)
{
	struct server *srv = hc->st->srv;

	if (!srv->log)
		return;
	char ts[40];
	mc_time_format_rfc3339(mc_time_real_ns(), ts, sizeof(ts));
	uint64_t us = (mc_time_mono_ns() - hc->t0) / 1000;
	fprintf(srv->log, "%s method=%s target=\"%s\" status=%d bytes=%llu us=%llu\n", ts,
		hc->method, hc->target, hc->status, (unsigned long long)hc->bytes,
		(unsigned long long)us);
}

static void on_read(struct mc_io_conn *c, void *ud);

/*
 * Lingering close (as nginx does): after refusing a request the client may still
 * be sending it. Closing with unread input makes the kernel send RST, which can
 * destroy our error response before the client reads it. So: send the response,
 * half-close, discard input until the peer closes or 2 s pass.
 */
static void linger_start(struct hconn *hc)
{
	/* Best-effort: if shutdown fails the socket is already dead; close follows. */
	(void)shutdown(mc_io_conn_fd(hc->c), SHUT_WR);
	mc_io_timer_start(hc->st->loop, &hc->idle, 2000000000ull);
}

/* The current response is fully queued: log, then keep-alive or close. */
static void request_done(struct hconn *hc)
{
	log_access(hc);
	hc->has_req = false;
	if (hc->linger) {
		hc->closing = true;
		if (!mc_io_conn_wpending(hc->c))
			linger_start(hc);
		return; /* on_drain starts lingering once the response is out */
	}
	if (hc->close_after || hc->st->draining) {
		hc->closing = true;
		mc_io_conn_shutdown(hc->c);
		return;
	}
	mc_io_timer_start(hc->st->loop, &hc->idle, hc->st->srv->o->idle_ns);
}

static void close_fd(void *arg)
{
	close((int)(intptr_t)arg);
}

static void file_drop(struct hconn *hc)
{
	if (hc->file_fd < 0)
		return;
	hc->file_fd = -1;
	hc->file_release(hc->file_arg);
}

void hconn_file_shared(struct hconn *hc, int fd, off_t off, uint64_t len,
		       void (*release)(void *arg), void *arg)
{
	if (hc->head || !len) {
		release(arg);
		return;
	}
	hc->file_fd = fd;
	hc->file_len = len;
	hc->file_release = release;
	hc->file_arg = arg;
	if (mc_io_conn_sendfile(hc->c, fd, off, len) < 0) {
		/* Closing already (or a bug): the promised body cannot follow. */
		file_drop(hc);
		hc->closing = true;
		mc_io_conn_close(hc->c);
		return;
	}
	/* Pipelined requests wait until the file is out (responses stay in order). */
	mc_io_conn_pause_read(hc->c);
	/* The last response: shut down now, so the FIN leaves with the file's last
	 * bytes (libmcio corks it); request_done's shutdown is then a no-op. */
	if (hc->close_after || hc->st->draining)
		mc_io_conn_shutdown(hc->c);
}

void hconn_file(struct hconn *hc, int fd, off_t off, uint64_t len)
{
	hconn_file_shared(hc, fd, off, len, close_fd, (void *)(intptr_t)fd);
}

/* The file segment is out: the response is complete. */
static void file_done(struct hconn *hc)
{
	hc->bytes += hc->file_len;
	file_drop(hc);
	mc_io_conn_resume_read(hc->c);
	request_done(hc);
}

static void on_drain(struct mc_io_conn *c, void *ud)
{
	struct hconn *hc = ud;

	if (hc->linger && hc->closing)
		linger_start(hc);
	else if (hc->file_fd >= 0 && !hc->closing)
		file_done(hc);
}

static void error_response(struct hconn *hc, int status)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, mc_http_reason(status));

	hc->close_after = true;
	hc->linger = true;
	hc->head = false;
	if (!hc->method[0])
		strcpy(hc->method, "-");
	hconn_respond(hc, status, "text/plain", body, (size_t)n, NULL);
	request_done(hc);
}

static void copy_span(char *dst, size_t cap, const char *p, size_t n)
{
	size_t k = n < cap - 1 ? n : cap - 1;

	for (size_t i = 0; i < k; i++)
		dst[i] = p[i] == '"' || (unsigned char)p[i] < 0x20 ? '?' : p[i];
	dst[k] = '\0';
}

static void on_read(struct mc_io_conn *c, void *ud)
{
	struct hconn *hc = ud;
	struct server *srv = hc->st->srv;

	if (hc->linger) {
		size_t n;
		mc_io_conn_rdata(c, &n);
		mc_io_conn_consume(c, n);
		return;
	}
	while (!hc->closing && hc->file_fd < 0) {
		size_t n;
		const char *p = mc_io_conn_rdata(c, &n);
		if (hc->in_body) {
			const char *d;
			size_t dl;
			ssize_t r = mc_http_body_next(&hc->body, p, n, &d, &dl);
			if (r < 0) {
				hc->in_body = false;
				error_response(hc, mc_http_error_status((int)r));
				return;
			}
			mc_io_conn_consume(c, (size_t)r);
			if (!hc->body.done) {
				if (r == 0)
					return; /* need more bytes */
				continue;	/* one span per call: keep going */
			}
			hc->in_body = false;
			continue;
		}
		if (!n)
			return;
		if (!hc->has_req) {
			hc->has_req = true;
			hc->t0 = mc_time_mono_ns();
			hc->method[0] = '\0';
			hc->target[0] = '\0';
			hc->bytes = 0;
			mc_http_request_init(&hc->req);
			mc_io_timer_start(hc->st->loop, &hc->idle, srv->o->idle_ns);
		}
		int r = mc_http_parse_request(&hc->req, p, n, &srv->lim);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			error_response(hc, mc_http_error_status(r));
			return;
		}
		mc_io_timer_stop(hc->st->loop, &hc->idle);
		const struct mc_http_request *req = &hc->req;
		copy_span(hc->method, sizeof(hc->method), req->method_str, req->method_len);
		copy_span(hc->target, sizeof(hc->target), req->target, req->target_len);
		hc->head = req->method == MC_HTTP_HEAD;
		hc->close_after = !req->framing.keep_alive;
		mc_http_body_init_request(&hc->body, req, srv->lim.max_body);
		srv->h->handle(hc, req, srv->h->arg);
		/* The head's bytes stay valid through the handler; drop them now. */
		mc_io_conn_consume(c, (size_t)r);
		hc->in_body = !hc->body.done;
		if (hc->file_fd >= 0)
			return; /* on_drain completes it */
		if (hc->closing)
			return;
		request_done(hc);
	}
}

static void hconn_unlink(struct hconn *hc)
{
	struct lstate *st = hc->st;

	if (hc->prev)
		hc->prev->next = hc->next;
	else
		st->conns = hc->next;
	if (hc->next)
		hc->next->prev = hc->prev;
}

static void on_close(struct mc_io_conn *c, void *ud, int status)
{
	struct hconn *hc = ud;
	struct lstate *st = hc->st;

	if (hc->has_req && hc->status == 0 && hc->method[0]) {
		hc->status = 499; /* client went away mid-request: nginx's convention */
		log_access(hc);
	}
	mc_io_timer_stop(st->loop, &hc->idle);
	file_drop(hc); /* the conn is gone: libmcio no longer reads the fd */
	hconn_unlink(hc);
	if (st->npool < POOL_MAX) {
		/* Kept for the next accept: no calloc/free pair per connection. */
		hc->next = st->pool;
		st->pool = hc;
		st->npool++;
	} else {
		free(hc);
	}
	st->nconns--;
	atomic_fetch_sub_explicit(&st->srv->nconns, 1, memory_order_relaxed);
	if (st->draining && st->nconns == 0)
		mc_io_loop_stop(st->loop);
}

static const struct mc_io_conn_ops http_ops = { .on_read = on_read,
						.on_drain = on_drain,
						.on_close = on_close };

static void on_idle(struct mc_io_loop *l, struct mc_io_timer *t, void *arg)
{
	struct hconn *hc = arg;
	size_t n;

	mc_io_conn_rdata(hc->c, &n);
	if (!hc->linger && hc->has_req && n && !hc->closing && hc->file_fd < 0) {
		error_response(hc, 408); /* a head that never finished */
		return;
	}
	hc->closing = true;
	mc_io_conn_close(hc->c);
}

static void on_accept(struct mc_io_listener *ls, int fd, void *arg)
{
	struct lstate *st = arg;
	struct server *srv = st->srv;

	if (atomic_fetch_add_explicit(&srv->nconns, 1, memory_order_relaxed) >= srv->o->max_conns) {
		static const char busy[] =
			"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
			"Connection: close\r\nRetry-After: 1\r\n\r\n";
		/* Best-effort: a fresh socket has room for this; if not, the close says it. */
		(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		atomic_fetch_sub_explicit(&srv->nconns, 1, memory_order_relaxed);
		return;
	}
	struct hconn *hc = st->pool;
	if (hc) {
		st->pool = hc->next;
		st->npool--;
		/* Only the fields before the scratch buffers need resetting. */
		memset(hc, 0, offsetof(struct hconn, w));
	} else {
		hc = calloc(1, sizeof(*hc));
	}
	if (!hc) {
		close(fd);
		atomic_fetch_sub_explicit(&srv->nconns, 1, memory_order_relaxed);
		return;
	}
	hc->st = st;
	hc->file_fd = -1;
	mc_io_timer_init(&hc->idle, on_idle, hc);
	if (mc_io_conn_open(st->loop, fd, &http_ops, hc, &hc->c) < 0) {
		free(hc); /* rare (out of memory): not worth pooling */
		atomic_fetch_sub_explicit(&srv->nconns, 1, memory_order_relaxed);
		return;
	}
	mc_io_conn_set_rmax(hc->c, srv->lim.max_head + 65536);
	hc->next = st->conns;
	if (st->conns)
		st->conns->prev = hc;
	st->conns = hc;
	st->nconns++;
	mc_io_timer_start(st->loop, &hc->idle, srv->o->idle_ns);
}

static void drain_deadline(struct mc_io_loop *l, struct mc_io_timer *t, void *arg)
{
	mc_log_warn("drain deadline passed with %u connections open; closing them",
		    ((struct lstate *)arg)->nconns);
	mc_io_loop_stop(l);
}

static void drain_task(struct mc_io_loop *l, void *arg)
{
	struct lstate *st = mc_io_loop_userdata(l);

	st->draining = true;
	if (st->ls) {
		mc_io_listener_close(st->ls);
		st->ls = NULL;
	}
	for (struct hconn *hc = st->conns; hc; hc = hc->next) {
		size_t n;
		mc_io_conn_rdata(hc->c, &n);
		if (!hc->has_req && !n && !hc->closing && hc->file_fd < 0) {
			hc->closing = true;
			mc_io_conn_close(hc->c);
		}
	}
	if (st->nconns == 0)
		mc_io_loop_stop(l);
	else
		mc_io_timer_start(l, &st->drain_timer, st->srv->o->drain_ns);
}

static int loop_init(struct mc_io_loop *l, unsigned idx, void *arg)
{
	struct server *srv = arg;
	struct lstate *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->srv = srv;
	st->loop = l;
	mc_io_timer_init(&st->drain_timer, drain_deadline, st);
	if (srv->h->loop_init && !(st->hstate = srv->h->loop_init(srv->h->arg))) {
		free(st);
		return -ENOMEM;
	}
	mc_io_loop_set_userdata(l, st);
	int r = mc_io_listener_add(l, srv->lfds[idx], on_accept, st, &st->ls);
	if (r < 0) {
		if (srv->h->loop_free)
			srv->h->loop_free(st->hstate);
		free(st);
		mc_io_loop_set_userdata(l, NULL);
	}
	return r;
}

int httpd_serve(const struct httpd_opts *o, const struct httpd_handler *h)
{
	struct server srv = { .o = o, .h = h, .lim = mc_http_default_limits };
	struct mc_io_loop_opts lo = { .backend = o->backend };
	struct mc_io_threads *th;
	unsigned n = o->threads ? o->threads : 1;
	sigset_t set;
	int r, sig, port = o->port;

	if (n > MC_ARRAY_SIZE(srv.lfds))
		n = MC_ARRAY_SIZE(srv.lfds);
	srv.lim.max_head = o->max_head;
	if (srv.lim.max_request_line > o->max_head)
		srv.lim.max_request_line = o->max_head;
	if (o->access_log) {
		srv.log = !strcmp(o->access_log, "-") ? stdout : fopen(o->access_log, "ae");
		if (!srv.log) {
			fprintf(stderr, "%s: open access log `%s`: %s\n", o->prog, o->access_log,
				strerror(errno));
			return -errno;
		}
		setvbuf(srv.log, NULL, _IOLBF, 0);
	}
	for (unsigned i = 0; i < n; i++) {
		r = mc_io_listen_tcp(o->host, (uint16_t)port,
				     (n > 1 ? MC_IO_LISTEN_REUSEPORT : 0) |
					     (o->deferred ? MC_IO_LISTEN_DEFER_ACCEPT : 0),
				     4096);
		if (r < 0) {
			fprintf(stderr, "%s: listen on %s:%d: %s\n", o->prog,
				o->host ? o->host : "0.0.0.0", port, strerror(-r));
			while (i--)
				close(srv.lfds[i]);
			return r;
		}
		srv.lfds[i] = r;
		if (port == 0)
			port = mc_io_socket_port(r);
	}
	/* Signals go to sigwait() below, never to a loop thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = mc_io_threads_start(n, &lo, loop_init, &srv, &th);
	if (r < 0) {
		fprintf(stderr, "%s: start event loops: %s\n", o->prog, strerror(-r));
		goto out;
	}
	mc_log_info("listening on %s:%d backend=%s threads=%u", o->host ? o->host : "0.0.0.0", port,
		    mc_io_loop_backend(mc_io_threads_loop(th, 0)), n);
	sigwait(&set, &sig);
	mc_log_info("signal %d: draining", sig);
	for (unsigned i = 0; i < n; i++)
		mc_io_loop_post(mc_io_threads_loop(th, i), drain_task, NULL);
	/* Join frees the loops: collect their per-loop state first, free it after. */
	struct lstate *states[64] = { 0 };
	for (unsigned i = 0; i < n; i++)
		states[i] = mc_io_loop_userdata(mc_io_threads_loop(th, i));
	r = mc_io_threads_join(th);
	for (unsigned i = 0; i < n; i++) {
		if (!states[i])
			continue;
		if (h->loop_free)
			h->loop_free(states[i]->hstate);
		for (struct hconn *hc; (hc = states[i]->pool);) {
			states[i]->pool = hc->next;
			free(hc);
		}
		free(states[i]);
	}
	mc_log_info("drained, exiting");
out:
	for (unsigned i = 0; i < n; i++)
		close(srv.lfds[i]);
	if (srv.log && srv.log != stdout)
		fclose(srv.log);
	return r;
}
