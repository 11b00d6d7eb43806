/* SPDX-License-Identifier: MIT */
/*
 * server_conn.c: kv-server's connections: RESP parsing, reads run inline on the loop,
 * write requests handed to the inline commit (one loop) or the writer thread, and
 * replies sent back in request order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <mc/log.h>

#include "server.h"

struct mc_kv_resp_arg *kv_srv_argv(void)
{
	/* One argument array per thread (loop threads and the writer). */
	static __thread struct mc_kv_resp_arg argv[MAX_ARGS];

	return argv;
}

void kv_srv_req_free(struct wreq *r)
{
	if (!r)
		return;
	mc_buf_release(&r->out);
	free(r);
}

void kv_srv_client_free(struct client *cl)
{
	struct srv *s = cl->srv;

	pthread_mutex_lock(&s->clients_mu);
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		s->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	pthread_mutex_unlock(&s->clients_mu);
	kv_srv_req_free(cl->inflight);
	mc_buf_release(&cl->out);
	free(cl);
}

static void wake_writer(struct srv *s)
{
	/*
	 * seq_cst exchange after the push: pairs with the writer's store of 1 and the
	 * seq_cst fence before its re-check pop (a Dekker pattern): either the writer
	 * sees our item or we see it idle and write the eventfd.
	 */
	if (atomic_exchange(&s->writer_idle, 0)) {
		uint64_t one = 1;

		/* Best-effort: a full eventfd counter already means "wake up". */
		if (write(s->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			mc_log_warn("wake writer: %m");
	}
}

static void process(struct client *cl);

static bool arg_is(const struct mc_kv_resp_arg *a, const char *s)
{
	size_t n = strlen(s);

	return a->len == n && strncasecmp(a->p, s, n) == 0;
}

/*
 * Runs one command through @ctx; INFO gains the "# Commit" section and CONFIG
 * RESETSTAT clears it (the engine's counters stay: they count since open).
 */
int kv_srv_run_cmd(struct srv *s, struct mc_kv_cmd_ctx *ctx, const struct mc_kv_resp_arg *argv,
		   size_t argc, struct mc_buf *out)
{
	if (argc >= 1 && argc <= 2 && arg_is(&argv[0], "INFO")) {
		struct mc_buf txt = MC_BUF_INIT;
		int r = mc_kv_cmd_flush(ctx); /* like any command: see pending writes */

		if (r == 0)
			r = mc_kv_cmd_info(s->kv, &txt);
		if (r == 0)
			r = mc_buf_printf(&txt, "\r\n");
		if (r == 0)
			r = kv_commit_stats_info(&s->st, &txt);
		if (r == 0)
			r = mc_kv_resp_bulk(out, txt.data, txt.len);
		else if (r != -ENOMEM)
			r = mc_kv_resp_error(out, "ERR storage: INFO failed");
		mc_buf_release(&txt);
		return r;
	}
	if (argc == 2 && arg_is(&argv[0], "CONFIG") && arg_is(&argv[1], "RESETSTAT")) {
		kv_commit_stats_reset(&s->st);
		return mc_kv_resp_simple(out, "OK");
	}
	return mc_kv_cmd_run(ctx, argv, argc, out);
}

/* Sends a protocol error and closes, as redis does. */
static void protocol_error(struct client *cl, const char *why)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "ERR Protocol error: %s", why);
	cl->out.len = 0;
	mc_kv_resp_error(&cl->out, msg);
	mc_io_conn_write(cl->conn, cl->out.data, cl->out.len);
	mc_io_conn_shutdown(cl->conn);
	cl->quit = true;
}

static void process(struct client *cl)
{
	struct mc_kv_resp_arg *argv = kv_srv_argv();
	size_t n, off = 0, argc;
	const char *data = mc_io_conn_rdata(cl->conn, &n);
	const char *why = "";

	if (cl->quit || cl->inflight)
		return;
	cl->out.len = 0;
	while (off < n) {
		ssize_t r = mc_kv_resp_parse(data + off, n - off, argv, MAX_ARGS, &argc, &why);

		if (r == 0)
			break;
		if (r == -E2BIG)
			why = "too many arguments";
		if (r < 0) {
			mc_io_conn_write(cl->conn, cl->out.data, cl->out.len);
			protocol_error(cl, why);
			return;
		}
		enum mc_kv_cmd_class cls = mc_kv_cmd_classify(argv, argc);

		if (cls == MC_KV_CMD_WRITE && cl->srv->ic) {
			mc_io_conn_write(cl->conn, cl->out.data, cl->out.len);
			kv_srv_inline_request(cl, data, off, n);
			return;
		}
		if (cls == MC_KV_CMD_WRITE) {
			/* This command and every complete one after it go to the writer. */
			size_t end = off + (size_t)r;

			while (end < n) {
				ssize_t m = mc_kv_resp_parse(data + end, n - end, argv, MAX_ARGS,
							     &argc, NULL);

				if (m <= 0)
					break;
				end += (size_t)m;
			}
			struct wreq *w = malloc(sizeof(*w) + (end - off));

			if (!w) {
				mc_io_conn_close(cl->conn);
				return;
			}
			*w = (struct wreq){ .out = MC_BUF_INIT, .t_arrive = mc_time_mono_ns() };
			memcpy(w->data, data + off, end - off);
			w->len = end - off;
			w->cl = cl;
			if (mc_queue_push(cl->srv->q, w) < 0) {
				kv_srv_req_free(w);
				mc_io_conn_close(cl->conn);
				return;
			}
			cl->inflight = w;
			mc_io_conn_write(cl->conn, cl->out.data, cl->out.len);
			mc_io_conn_consume(cl->conn, end);
			wake_writer(cl->srv);
			return;
		}
		if (kv_srv_run_cmd(cl->srv, mc_io_loop_userdata(cl->loop), argv, argc, &cl->out) <
		    0) {
			mc_io_conn_close(cl->conn);
			return;
		}
		off += (size_t)r;
		if (cls == MC_KV_CMD_QUIT) {
			cl->quit = true;
			break;
		}
	}
	if (cl->out.len)
		mc_io_conn_write(cl->conn, cl->out.data, cl->out.len);
	mc_io_conn_consume(cl->conn, off);
	if (cl->quit)
		mc_io_conn_shutdown(cl->conn);
}

static void on_read(struct mc_io_conn *c, void *ud)
{
	process(ud);
}

static void on_close(struct mc_io_conn *c, void *ud, int status)
{
	struct client *cl = ud;

	cl->conn = NULL;
	/* A request still with the writer comes back to a closed client: freed then. */
	if (!cl->inflight)
		kv_srv_client_free(cl);
}

static const struct mc_io_conn_ops client_ops = {
	.on_read = on_read,
	.on_close = on_close,
};

/* Runs on the client's loop: the writer finished its request. */
void kv_srv_req_done(struct mc_io_loop *loop, void *arg)
{
	struct wreq *w = arg;
	struct client *cl = w->cl;
	uint64_t now = mc_time_mono_ns();

	kv_stat_add(&cl->srv->st, KV_ST_POST_US, (now - w->t_post) / 1000);
	kv_stat_add(&cl->srv->st, KV_ST_REPLY_US, (now - w->t_arrive) / 1000);
	cl->inflight = NULL;
	if (!cl->conn) {
		kv_srv_req_free(w);
		kv_srv_client_free(cl);
		return;
	}
	mc_io_conn_write(cl->conn, w->out.data, w->out.len);
	if (w->quit) {
		cl->quit = true;
		mc_io_conn_shutdown(cl->conn);
	}
	kv_srv_req_free(w);
	process(cl); /* input that arrived meanwhile */
}

static void on_accept(struct mc_io_listener *l, int fd, void *arg)
{
	struct srv *s = arg;
	struct client *cl = calloc(1, sizeof(*cl));

	if (!cl) {
		close(fd);
		return;
	}
	cl->srv = s;
	cl->loop = mc_io_listener_loop(l);
	pthread_mutex_lock(&s->clients_mu);
	cl->next = s->clients;
	if (s->clients)
		s->clients->prev = cl;
	s->clients = cl;
	pthread_mutex_unlock(&s->clients_mu);
	if (mc_io_conn_open(cl->loop, fd, &client_ops, cl, &cl->conn) < 0)
		kv_srv_client_free(cl);
}

int kv_srv_loop_init(struct mc_io_loop *loop, unsigned idx, void *arg)
{
	struct srv *s = arg;
	struct mc_io_listener *l;
	/* Each loop's command context: reads run inline, nothing is deferred. */
	struct mc_kv_cmd_ctx *ctx = malloc(sizeof(*ctx));

	if (!ctx)
		return -ENOMEM;
	mc_kv_cmd_ctx_init(ctx, s->kv, 0, false);
	mc_io_loop_set_userdata(loop, ctx);
	s->ctxs[idx] = ctx; /* freed by main after the loops are gone */
	if (s->ic)
		s->ic->loop = loop;
	return mc_io_listener_add(loop, s->lfds[idx], on_accept, s, &l);
}
