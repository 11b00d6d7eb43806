/* SPDX-License-Identifier: MIT */
/*
 * kv-server: libmckv over the Redis protocol, on io/'s event loops.
 *
 *   loop thread(s)                        writer thread            sync thread
 *   parse RESP, run reads inline --push--> mc_queue --pop--> run the
 *   (GET, MGET, EXISTS, SCAN...)                    writes of every queued
 *   a write (and whatever follows it                request, write(2) them
 *   on that connection) becomes a                   as one WAL record --> pending
 *   request; the conn waits for it                                        fdatasync
 *                                <--mc_io_loop_post---------------------- post replies
 *
 * Replies leave in request order: while a connection's request is with the writer,
 * its further input stays buffered. A write is acknowledged only after the
 * fdatasync that covers it (--sync batch, the default), so an acknowledged write
 * survives power loss; many connections' writes share one fdatasync. The commit is
 * pipelined: while the sync thread waits for one fdatasync, the writer already
 * writes the next batch into the page cache; when the sync returns, the sync thread
 * at once starts the next one for everything written meanwhile. Nothing lingers.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <mc/cleanup.h>
#include <mc/io.h>
#include <mc/kv.h>
#include <mc/kv_resp.h>
#include <mc/log.h>
#include <mc/queue.h>

#include "commit_stats.h"

#define PROG "kv-server"
#define EX_USAGE 64
#define MAX_ARGS 4096
#define WRITER_BATCH 512

struct client;
struct inline_commit;

struct srv {
	struct mc_kv *kv;
	enum mc_kv_sync sync;
	bool everysec;	    /* ack after write(2), fdatasync once a second (redis' everysec) */
	struct mc_queue *q; /* struct wreq *, loop threads -> writer */
	int efd;	    /* wakes the writer */
	atomic_int writer_idle;
	atomic_bool stopping;
	pthread_t writer;
	pthread_mutex_t post_mu; /* the writer posts only while loops_alive */
	bool loops_alive;
	pthread_mutex_t clients_mu;
	struct client *clients; /* every live client, freed at shutdown if still there */
	int *lfds;
	unsigned nlfds;
	struct mc_kv_cmd_ctx **ctxs; /* one per loop */
	struct mc_io_loop_opts lo;

	/* The sync thread: batch syncs (pending list) and everysec's once a second. */
	pthread_t syncer;
	bool syncer_started;
	pthread_mutex_t sync_mu;
	pthread_cond_t sync_cv;
	struct wreq *sync_head, *sync_tail; /* written, waiting for an fdatasync */
	bool sync_stop;

	struct kv_commit_stats st;
	struct inline_commit *ic; /* one loop: it runs the writes itself (see there) */
	bool sync_async;	  /* --fdatasync uring: IORING_OP_FSYNC, not on the loop */
};

struct wreq {
	struct client *cl;
	struct wreq *next; /* on the sync thread's pending list */
	size_t len;
	unsigned ncmds;			    /* commands run: each has one reply in out */
	unsigned writes;		    /* of those, write commands */
	uint64_t t_arrive, t_ready, t_post; /* parsed on the loop, written, posted back */
	struct mc_buf out;
	bool quit;
	char data[]; /* the raw commands, copied out of the connection buffer */
};

struct client {
	struct srv *srv;
	struct mc_io_conn *conn; /* NULL once closed */
	struct mc_io_loop *loop;
	struct wreq *inflight; /* with the writer, or posted back */
	bool quit;
	struct mc_buf out;
	struct client *prev, *next;
};

/* ---- inline commit: one loop thread runs the writes itself ---- */

/*
 * With a single event loop (the default) there is nobody to serialise writes
 * against, so the loop runs them itself and no request crosses a thread:
 *
 *   on_read: a write request runs through the loop's deferring context (plain
 *            SETs join one pending batch); its replies wait in the request
 *   end of the loop iteration (a zero-delay timer): the pending batch is written
 *            to the WAL as one record (write(2), page cache only)
 *   then one fdatasync covers everything written so far: by default the loop
 *            calls it itself (--fdatasync inline) and sends the replies it covers
 *            when it returns; with --fdatasync uring it is an IORING_OP_FSYNC,
 *            batches written while it runs wait for the next one, submitted from
 *            its completion, which sends the replies
 *
 * Either way a sync starts the moment the previous one ends, it covers everything
 * read before it started, and requests never wait for a linger. Inline blocks the
 * loop for one device flush, which measured faster on 2 busy cores than the io-wq
 * worker's overlap (see ic_start_sync).
 */
/*
 * fdatasyncs in flight at once. 2 was measured worse than 1 (redis-benchmark -P 1:
 * 55k vs 78k SET/s side by side): concurrent syncs each took longer and split the
 * groups (9.6 requests per sync instead of 21), costing CPU on a 2-core box.
 */
#define IC_SYNCS 1

struct inline_commit;

/* One fdatasync in flight and the requests it covers. */
struct ic_sync {
	struct inline_commit *ic;
	struct wreq *list;
	struct mc_kv_sync_ticket ticket;
	uint64_t t0;
	bool busy;
};

struct inline_commit {
	struct srv *s;
	struct mc_io_loop *loop;
	struct mc_kv_cmd_ctx ctx; /* deferring; NOSYNC under batch */
	struct mc_io_timer flush_timer;
	struct wreq *run_head, *run_tail;   /* ran this iteration, not yet written */
	struct wreq *wait_head, *wait_tail; /* written, waiting for a free sync slot */
	/* The fdatasync(s) in flight; batches written meanwhile wait in wait_*. */
	struct ic_sync sync[IC_SYNCS];
	unsigned nsyncing;
};

static struct mc_kv_resp_arg *loop_argv(void)
{
	/* One argument array per thread (loop threads and the writer). */
	static __thread struct mc_kv_resp_arg argv[MAX_ARGS];

	return argv;
}

static void req_free(struct wreq *r)
{
	if (!r)
		return;
	mc_buf_release(&r->out);
	free(r);
}

static void client_free(struct client *cl)
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
	req_free(cl->inflight);
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
static void inline_request(struct client *cl, const char *data, size_t off, size_t n);

static bool arg_is(const struct mc_kv_resp_arg *a, const char *s)
{
	size_t n = strlen(s);

	return a->len == n && strncasecmp(a->p, s, n) == 0;
}

/*
 * Runs one command through @ctx; INFO gains the "# Commit" section and CONFIG
 * RESETSTAT clears it (the engine's counters stay: they count since open).
 */
static int run_cmd(struct srv *s, struct mc_kv_cmd_ctx *ctx, const struct mc_kv_resp_arg *argv,
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
	struct mc_kv_resp_arg *argv = loop_argv();
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
			inline_request(cl, data, off, n);
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
				req_free(w);
				mc_io_conn_close(cl->conn);
				return;
			}
			cl->inflight = w;
			mc_io_conn_write(cl->conn, cl->out.data, cl->out.len);
			mc_io_conn_consume(cl->conn, end);
			wake_writer(cl->srv);
			return;
		}
		if (run_cmd(cl->srv, mc_io_loop_userdata(cl->loop), argv, argc, &cl->out) < 0) {
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
		client_free(cl);
}

static const struct mc_io_conn_ops client_ops = {
	.on_read = on_read,
	.on_close = on_close,
};

/* Runs on the client's loop: the writer finished its request. */
static void req_done(struct mc_io_loop *loop, void *arg)
{
	struct wreq *w = arg;
	struct client *cl = w->cl;
	uint64_t now = mc_time_mono_ns();

	kv_stat_add(&cl->srv->st, KV_ST_POST_US, (now - w->t_post) / 1000);
	kv_stat_add(&cl->srv->st, KV_ST_REPLY_US, (now - w->t_arrive) / 1000);
	cl->inflight = NULL;
	if (!cl->conn) {
		req_free(w);
		client_free(cl);
		return;
	}
	mc_io_conn_write(cl->conn, w->out.data, w->out.len);
	if (w->quit) {
		cl->quit = true;
		mc_io_conn_shutdown(cl->conn);
	}
	req_free(w);
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
		client_free(cl);
}

static int loop_init(struct mc_io_loop *loop, unsigned idx, void *arg)
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

static void list_append(struct wreq **head, struct wreq **tail, struct wreq *first,
			struct wreq *last)
{
	if (*tail)
		(*tail)->next = first;
	else
		*head = first;
	*tail = last;
}

/* Sends the replies of @w and the requests after it (on the loop's thread). */
static void reply_all(struct wreq *w)
{
	uint64_t now = mc_time_mono_ns();

	while (w) {
		struct wreq *next = w->next;

		w->next = NULL;
		w->t_post = now;
		req_done(w->cl->loop, w); /* may run the client's next request: appends to run */
		w = next;
	}
}

static void fail_requests(struct wreq *w, const char *msg);
static void ic_start_sync(struct inline_commit *ic);
static void ic_flush(struct mc_io_loop *loop, struct mc_io_timer *t, void *arg);

static void ic_sync_done(struct mc_io_loop *loop, int res, void *arg)
{
	struct ic_sync *sl = arg;
	struct inline_commit *ic = sl->ic;
	struct srv *s = ic->s;
	struct wreq *list = sl->list;
	unsigned reqs = 0, writes = 0;
	int r = mc_kv_sync_end(s->kv, &sl->ticket, res);

	kv_stat_add(&s->st, KV_ST_SYNC_US, (mc_time_mono_ns() - sl->t0) / 1000);
	for (struct wreq *w = list; w; w = w->next) {
		reqs++;
		writes += w->writes;
	}
	kv_stat_add(&s->st, KV_ST_SYNC_REQS, reqs);
	kv_stat_add(&s->st, KV_ST_SYNC_WRITES, writes);
	sl->list = NULL;
	sl->busy = false;
	ic->nsyncing--;
	if (r < 0) {
		/* Nothing here is known durable; the engine refuses writes now. */
		mc_log_error("fdatasync of the WAL: %s", mc_strerror(-r));
		fail_requests(list, "ERR storage: WAL sync failed, writes may be lost");
	}
	/*
	 * Requests read in this same poll (their completions came before ours) would
	 * wait for the end-of-iteration timer and then for the whole next sync: write
	 * them now so the sync that starts here covers them too (bigger groups at
	 * -P 1, no extra device flush). ic_flush starts that sync itself.
	 */
	if (ic->run_head)
		ic_flush(loop, &ic->flush_timer, ic);
	/* The next sync first: the batches waiting for it need not wait for our sends. */
	if (ic->wait_head && ic->nsyncing < IC_SYNCS)
		ic_start_sync(ic);
	reply_all(list);
}

/* Starts an fdatasync for the waiting requests; the caller checked for a free slot. */
static void ic_start_sync(struct inline_commit *ic)
{
	struct srv *s = ic->s;
	struct wreq *list = ic->wait_head;
	struct ic_sync *sl = &ic->sync[0];
	uint64_t now = mc_time_mono_ns();

	while (sl->busy)
		sl++;
	int r = mc_kv_sync_begin(s->kv, &sl->ticket);

	ic->wait_head = ic->wait_tail = NULL;
	if (r <= 0) {
		/* 0: every write is durable already (requests that wrote nothing). */
		if (r < 0)
			fail_requests(list, "ERR storage: WAL sync failed, writes may be lost");
		reply_all(list);
		return;
	}
	for (struct wreq *w = list; w; w = w->next)
		kv_stat_add(&s->st, KV_ST_SYNC_WAIT_US, (now - w->t_ready) / 1000);
	sl->ic = ic;
	sl->list = list;
	sl->busy = true;
	sl->t0 = now;
	ic->nsyncing++;
	/*
	 * Inline (the default): the loop itself blocks in fdatasync. Requests that
	 * arrive meanwhile could not join this sync anyway, and on a busy 2-core box
	 * the io-wq hop costs more than the overlap gains: the worker and then the
	 * loop each wait for a core (schedstat, redis-benchmark SET -P 1: 70 + 115 us
	 * of run-queue wait per sync; in-server fdatasync p50 223 us vs 127 us inline).
	 * Nesting is bounded: ic_sync_done writes only what was read before it.
	 */
	if (!s->sync_async || mc_io_file_fsync(ic->loop, sl->ticket.fd, true, ic_sync_done, sl) < 0)
		/* Inline, or no memory for the async op: sync right here rather than fail. */
		ic_sync_done(ic->loop, fdatasync(sl->ticket.fd) < 0 ? -errno : 0, sl);
}

/* End of a loop iteration: write what this iteration's requests deferred. */
static void ic_flush(struct mc_io_loop *loop, struct mc_io_timer *t, void *arg)
{
	struct inline_commit *ic = arg;
	struct srv *s = ic->s;
	struct wreq *head = ic->run_head, *tail = ic->run_tail;
	uint64_t t0 = mc_time_mono_ns(), n = 0;

	if (!head)
		return;
	ic->run_head = ic->run_tail = NULL;
	/* The SETs of every request of this iteration: one WAL record. */
	int r = mc_kv_cmd_flush(&ic->ctx);
	uint64_t t1 = mc_time_mono_ns();

	for (struct wreq *w = head; w; w = w->next) {
		w->t_ready = t1;
		n++;
	}
	kv_stat_add(&s->st, KV_ST_EXEC_US, (t1 - t0) / 1000);
	kv_stat_add(&s->st, KV_ST_BATCH_REQS, n);
	if (r < 0) {
		mc_log_error("write to the engine: %s", mc_strerror(-r));
		fail_requests(head, "ERR storage: write failed, writes may be lost");
		reply_all(head);
		return;
	}
	if (s->sync != MC_KV_SYNC_BATCH) {
		reply_all(head); /* everysec, none: durable later, or never */
		return;
	}
	list_append(&ic->wait_head, &ic->wait_tail, head, tail);
	if (ic->nsyncing < IC_SYNCS)
		ic_start_sync(ic);
}

/*
 * A write command at @off of the connection's input: it and every complete command
 * after it run now through the deferring context; their replies wait for the
 * batch's write (and sync) in a request, like the writer thread's.
 */
static void inline_request(struct client *cl, const char *data, size_t off, size_t n)
{
	struct srv *s = cl->srv;
	struct inline_commit *ic = s->ic;
	struct mc_kv_resp_arg *argv = loop_argv();
	struct wreq *w = malloc(sizeof(*w));
	size_t argc;

	if (!w) {
		mc_io_conn_close(cl->conn);
		return;
	}
	*w = (struct wreq){ .out = MC_BUF_INIT, .cl = cl, .t_arrive = mc_time_mono_ns() };
	while (off < n) {
		ssize_t m = mc_kv_resp_parse(data + off, n - off, argv, MAX_ARGS, &argc, NULL);

		if (m <= 0)
			break; /* incomplete or bad: handled after the reply, in order */
		enum mc_kv_cmd_class cls = mc_kv_cmd_classify(argv, argc);

		w->writes += cls == MC_KV_CMD_WRITE;
		if (run_cmd(s, &ic->ctx, argv, argc, &w->out) < 0)
			mc_kv_resp_error(&w->out, "ERR out of memory");
		w->ncmds += argc > 0;
		off += (size_t)m;
		if (cls == MC_KV_CMD_QUIT) {
			w->quit = true;
			break;
		}
	}
	mc_io_conn_consume(cl->conn, off);
	cl->inflight = w;
	list_append(&ic->run_head, &ic->run_tail, w, w);
	if (!mc_io_timer_pending(&ic->flush_timer))
		mc_io_timer_start(ic->loop, &ic->flush_timer, 0);
}

/* ---- the writer ---- */

/*
 * Executes every command of @w in order through the writer's deferring context:
 * plain SETs of every request in the batch join one pending write.
 */
static void run_request(struct srv *s, struct mc_kv_cmd_ctx *ctx, struct wreq *w)
{
	struct mc_kv_resp_arg *argv = loop_argv();
	size_t off = 0, argc;

	while (off < w->len) {
		ssize_t r =
			mc_kv_resp_parse(w->data + off, w->len - off, argv, MAX_ARGS, &argc, NULL);

		if (r <= 0)
			break; /* cannot happen: the loop thread parsed these bytes already */
		enum mc_kv_cmd_class cls = mc_kv_cmd_classify(argv, argc);

		w->writes += cls == MC_KV_CMD_WRITE;
		if (run_cmd(s, ctx, argv, argc, &w->out) < 0)
			mc_kv_resp_error(&w->out, "ERR out of memory");
		w->ncmds += argc > 0;
		off += (size_t)r;
		if (cls == MC_KV_CMD_QUIT) {
			w->quit = true;
			break;
		}
	}
}

/* Replaces every reply of the requests by @msg, one per command. */
static void fail_requests(struct wreq *w, const char *msg)
{
	for (; w; w = w->next) {
		w->out.len = 0;
		for (unsigned j = 0; j < w->ncmds; j++)
			mc_kv_resp_error(&w->out, msg);
	}
}

/* Posts each reply back to its client's loop. */
static void post_requests(struct srv *s, struct wreq *w)
{
	uint64_t now = mc_time_mono_ns();

	pthread_mutex_lock(&s->post_mu);
	while (w) {
		struct wreq *next = w->next;

		w->next = NULL;
		w->t_post = now;
		/* Once the loops are gone the client cleanup frees the request. */
		if (s->loops_alive && mc_io_loop_post(w->cl->loop, req_done, w) < 0)
			mc_log_warn("post reply: out of memory");
		w = next;
	}
	pthread_mutex_unlock(&s->post_mu);
}

/*
 * The sync thread. Under batch it takes everything the writer finished so far,
 * fdatasyncs once and releases those replies; batches the writer finishes during
 * that fdatasync wait for the next one, which starts as soon as this one returns.
 * Under everysec it fdatasyncs once a second when something was written, off the
 * writer's path like redis' background fsync.
 */
static void *syncer_main(void *arg)
{
	struct srv *s = arg;
	uint64_t last = mc_time_mono_ns();

	pthread_mutex_lock(&s->sync_mu);
	for (;;) {
		while (!s->sync_head && !s->sync_stop) {
			if (!s->everysec) {
				pthread_cond_wait(&s->sync_cv, &s->sync_mu);
				continue;
			}
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 1;
			if (pthread_cond_timedwait(&s->sync_cv, &s->sync_mu, &ts) == ETIMEDOUT)
				break;
		}
		struct wreq *list = s->sync_head;
		bool stop = s->sync_stop;

		s->sync_head = s->sync_tail = NULL;
		pthread_mutex_unlock(&s->sync_mu);

		uint64_t t0 = mc_time_mono_ns();

		if (list) {
			unsigned reqs = 0, writes = 0;

			for (struct wreq *w = list; w; w = w->next) {
				reqs++;
				writes += w->writes;
				kv_stat_add(&s->st, KV_ST_SYNC_WAIT_US, (t0 - w->t_ready) / 1000);
			}
			/* Also for requests that wrote nothing: their replies may reveal
			 * writes of others not yet durable (SET NX on a fresh key). The
			 * engine skips the fdatasync when everything is durable already. */
			int r = mc_kv_sync_wal(s->kv);

			if (r > 0)
				kv_stat_add(&s->st, KV_ST_SYNC_US, (mc_time_mono_ns() - t0) / 1000);
			kv_stat_add(&s->st, KV_ST_SYNC_REQS, reqs);
			kv_stat_add(&s->st, KV_ST_SYNC_WRITES, writes);
			if (r < 0) {
				/* Nothing here is known durable; the engine refuses writes now. */
				mc_log_error("fdatasync of the WAL: %s", mc_strerror(-r));
				fail_requests(list,
					      "ERR storage: WAL sync failed, writes may be lost");
			}
			post_requests(s, list);
		} else if (s->everysec && t0 - last >= 1000000000ull) {
			int r = mc_kv_sync_wal(s->kv);

			if (r > 0)
				kv_stat_add(&s->st, KV_ST_SYNC_US, (mc_time_mono_ns() - t0) / 1000);
			/* Best-effort like redis' everysec: the failure is logged; the engine
			 * then refuses writes, which report it. */
			if (r < 0)
				mc_log_error("fdatasync of the WAL: %s", mc_strerror(-r));
			last = t0;
		}
		pthread_mutex_lock(&s->sync_mu);
		if (stop && !s->sync_head)
			break;
	}
	pthread_mutex_unlock(&s->sync_mu);
	if (s->everysec && mc_kv_sync_wal(s->kv) < 0)
		mc_log_error("final fdatasync of the WAL failed");
	return NULL;
}

/* Hands a written batch to the sync thread (batch policy). */
static void hand_to_syncer(struct srv *s, struct wreq **batch, unsigned n)
{
	uint64_t now = mc_time_mono_ns();

	for (unsigned i = 0; i + 1 < n; i++)
		batch[i]->next = batch[i + 1];
	batch[n - 1]->next = NULL;
	for (unsigned i = 0; i < n; i++)
		batch[i]->t_ready = now;
	pthread_mutex_lock(&s->sync_mu);
	if (s->sync_tail)
		s->sync_tail->next = batch[0];
	else
		s->sync_head = batch[0];
	s->sync_tail = batch[n - 1];
	pthread_cond_signal(&s->sync_cv);
	pthread_mutex_unlock(&s->sync_mu);
}

static void *writer_main(void *arg)
{
	struct srv *s = arg;
	struct wreq *batch[WRITER_BATCH];
	/* BATCH: writes skip their own fdatasync and share the sync thread's. */
	unsigned flags = s->sync == MC_KV_SYNC_BATCH ? MC_KV_WRITE_NOSYNC : 0;
	struct mc_kv_cmd_ctx ctx;

	mc_kv_cmd_ctx_init(&ctx, s->kv, flags, true);

	for (;;) {
		unsigned n = 0;

		while (n < WRITER_BATCH && (batch[n] = mc_queue_pop(s->q)))
			n++;
		if (n == 0) {
			atomic_store(&s->writer_idle, 1);
			/* Pairs with the exchange in wake_writer (see there). */
			atomic_thread_fence(memory_order_seq_cst);
			if ((batch[0] = mc_queue_pop(s->q))) {
				atomic_store(&s->writer_idle, 0);
				n = 1;
			} else {
				uint64_t v, t0 = mc_time_mono_ns();
				struct pollfd pfd = { .fd = s->efd, .events = POLLIN };

				if (atomic_load(&s->stopping))
					break;
				if (poll(&pfd, 1, -1) > 0 && read(s->efd, &v, sizeof(v)) < 0 &&
				    errno != EINTR && errno != EAGAIN)
					break;
				atomic_store(&s->writer_idle, 0);
				kv_stat_add(&s->st, KV_ST_IDLE_US, (mc_time_mono_ns() - t0) / 1000);
				continue;
			}
		}
		uint64_t t0 = mc_time_mono_ns();

		kv_stat_add(&s->st, KV_ST_BATCH_REQS, n);
		for (unsigned i = 0; i < n; i++) {
			kv_stat_add(&s->st, KV_ST_HANDOFF_US, (t0 - batch[i]->t_arrive) / 1000);
			run_request(s, &ctx, batch[i]);
			batch[i]->next = i + 1 < n ? batch[i + 1] : NULL;
		}
		/* The SETs of the whole batch: one WAL record. */
		int r = mc_kv_cmd_flush(&ctx);

		kv_stat_add(&s->st, KV_ST_EXEC_US, (mc_time_mono_ns() - t0) / 1000);
		if (r < 0) {
			mc_log_error("write to the engine: %s", mc_strerror(-r));
			fail_requests(batch[0], "ERR storage: write failed, writes may be lost");
		}
		if (r == 0 && s->sync == MC_KV_SYNC_BATCH)
			hand_to_syncer(s, batch, n);
		else
			post_requests(s, batch[0]);
	}
	mc_kv_cmd_ctx_release(&ctx);
	return NULL;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [--port N] [--bind ADDR] [--dir PATH] [--sync none|batch|always]\n"
		"                 [--threads N] [--memtable-entries N] [--memtable-size SIZE]\n"
		"                 [--backend auto|uring|epoll] [--fdatasync inline|uring]\n"
		"  --port N            TCP port (default 6379; 0 picks a free one, printed)\n"
		"  --bind ADDR         address to listen on (default 127.0.0.1)\n"
		"  --dir PATH          database directory (default ./kv-data)\n"
		"  --sync POLICY       batch: replies after a shared fdatasync (default);\n"
		"                      always: one fdatasync per write; everysec: reply after\n"
		"                      write(2), fdatasync once a second; none: no fdatasync\n"
		"  --threads N         event loop threads (default 1)\n"
		"  --fdatasync MODE    batch with one loop: inline (the loop calls fdatasync,\n"
		"                      default) or uring (IORING_OP_FSYNC, overlapping the loop)\n"
		"  --memtable-entries N / --memtable-size SIZE   flush thresholds (0: none)\n");
}

static int parse_uint(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
	if (mc_str_to_u64(s, out) < 0 || *out > max) {
		fprintf(stderr, PROG ": %s: invalid value `%s`\n", opt, s);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "dir", required_argument, NULL, 'd' },
		{ "sync", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "memtable-entries", required_argument, NULL, 'e' },
		{ "memtable-size", required_argument, NULL, 'm' },
		{ "backend", required_argument, NULL, 'B' },
		{ "fdatasync", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct srv s = { .efd = -1, .loops_alive = true };
	struct mc_kv_options opt;
	const char *bind = "127.0.0.1", *dir = "kv-data";
	uint64_t port = 6379, threads = 1, v;
	struct mc_err err = { 0 };
	int c, rc = 1;

	mc_log_set_prog(PROG);
	mc_kv_options_init(&opt);
	opt.memtable_max_entries = 0; /* the server flushes by size: 4 MiB memtables */
	while ((c = getopt_long(argc, argv, "p:b:d:s:t:e:m:B:F:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_uint("--port", optarg, 65535, &port) < 0)
				return EX_USAGE;
			break;
		case 'b':
			bind = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 's':
			if (strcmp(optarg, "none") == 0)
				opt.sync = MC_KV_SYNC_NONE;
			else if (strcmp(optarg, "batch") == 0)
				opt.sync = MC_KV_SYNC_BATCH;
			else if (strcmp(optarg, "always") == 0) {
				opt.sync = MC_KV_SYNC_ALWAYS;
			} else if (strcmp(optarg, "everysec") == 0) {
				opt.sync = MC_KV_SYNC_NONE;
				s.everysec = true;
			} else {
				fprintf(stderr,
					PROG
					": --sync: unknown policy `%s` (batch, always, everysec, none)\n",
					optarg);
				return EX_USAGE;
			}
			break;
		case 't':
			if (parse_uint("--threads", optarg, 64, &threads) < 0 || threads == 0) {
				if (threads == 0)
					fprintf(stderr, PROG ": --threads: must be at least 1\n");
				return EX_USAGE;
			}
			break;
		case 'e':
			if (parse_uint("--memtable-entries", optarg, UINT32_MAX, &v) < 0)
				return EX_USAGE;
			opt.memtable_max_entries = (uint32_t)v;
			break;
		case 'm':
			if (mc_parse_size(optarg, &v) < 0) {
				fprintf(stderr, PROG ": --memtable-size: invalid size `%s`\n",
					optarg);
				return EX_USAGE;
			}
			opt.memtable_max_bytes = v;
			break;
		case 'B':
			if (mc_io_backend_parse(optarg, &s.lo.backend) < 0) {
				fprintf(stderr, PROG ": --backend: unknown backend `%s`\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'F':
			if (strcmp(optarg, "inline") == 0)
				s.sync_async = false;
			else if (strcmp(optarg, "uring") == 0)
				s.sync_async = true;
			else {
				fprintf(stderr, PROG ": --fdatasync: unknown mode `%s`\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, PROG ": unexpected argument `%s`\n", argv[optind]);
		return EX_USAGE;
	}
	s.sync = opt.sync;
	if (mc_kv_open(dir, &opt, &s.kv, &err) < 0) {
		fprintf(stderr, PROG ": open database: %s\n", err.msg);
		return 1;
	}
	pthread_mutex_init(&s.post_mu, NULL);
	pthread_mutex_init(&s.sync_mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s.sync_cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	pthread_mutex_init(&s.clients_mu, NULL);
	s.lfds = calloc(threads, sizeof(int));
	s.ctxs = calloc(threads, sizeof(*s.ctxs));
	if (!s.lfds || !s.ctxs || mc_queue_new(&s.q) < 0 || (s.efd = eventfd(0, EFD_CLOEXEC)) < 0) {
		fprintf(stderr, PROG ": setup: %s\n", strerror(ENOMEM));
		goto out_kv;
	}
	/* One listening socket per loop; several share the port through SO_REUSEPORT. */
	for (unsigned i = 0; i < threads; i++) {
		int fd = mc_io_listen_tcp(bind, (uint16_t)port,
					  threads > 1 ? MC_IO_LISTEN_REUSEPORT : 0, 511);

		if (fd < 0) {
			fprintf(stderr, PROG ": listen on %s:%llu: %s\n", bind,
				(unsigned long long)port, strerror(-fd));
			goto out_fds;
		}
		s.lfds[s.nlfds++] = fd;
		port = (uint64_t)mc_io_socket_port(fd);
	}
	if (threads == 1 && s.sync != MC_KV_SYNC_ALWAYS) {
		s.ic = calloc(1, sizeof(*s.ic));
		if (!s.ic) {
			fprintf(stderr, PROG ": setup: %s\n", strerror(ENOMEM));
			goto out_fds;
		}
		s.ic->s = &s;
		mc_kv_cmd_ctx_init(&s.ic->ctx, s.kv,
				   s.sync == MC_KV_SYNC_BATCH ? MC_KV_WRITE_NOSYNC : 0, true);
		mc_io_timer_init(&s.ic->flush_timer, ic_flush, s.ic);
	}
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&s.syncer, NULL, syncer_main, &s) != 0) {
		fprintf(stderr, PROG ": start sync thread: %s\n", strerror(errno));
		goto out_fds;
	}
	s.syncer_started = true;
	if (pthread_create(&s.writer, NULL, writer_main, &s) != 0) {
		fprintf(stderr, PROG ": start writer thread: %s\n", strerror(errno));
		goto out_syncer;
	}
	struct mc_io_threads *th;
	int r = mc_io_threads_start((unsigned)threads, &s.lo, loop_init, &s, &th);

	if (r < 0) {
		fprintf(stderr, PROG ": start event loops: %s\n", strerror(-r));
		goto out_writer;
	}
	printf(PROG ": listening on %s:%llu (backend %s, %llu thread(s), sync %s, dir %s)\n", bind,
	       (unsigned long long)port, mc_io_loop_backend(mc_io_threads_loop(th, 0)),
	       (unsigned long long)threads,
	       s.everysec		     ? "everysec"
	       : s.sync == MC_KV_SYNC_BATCH  ? "batch"
	       : s.sync == MC_KV_SYNC_ALWAYS ? "always"
					     : "none",
	       dir);
	fflush(stdout);
	sigwait(&set, &sig);
	mc_io_threads_stop(th);
	pthread_mutex_lock(&s.post_mu);
	s.loops_alive = false;
	pthread_mutex_unlock(&s.post_mu);
	r = mc_io_threads_join(th);
	rc = r < 0 ? 1 : 0;

out_writer:
	atomic_store(&s.stopping, true);
	{
		uint64_t one = 1;

		if (write(s.efd, &one, sizeof(one)) < 0)
			mc_log_warn("wake writer: %m");
	}
	pthread_join(s.writer, NULL);
out_syncer:
	/* After the writer: it may still hand over a batch. */
	pthread_mutex_lock(&s.sync_mu);
	s.sync_stop = true;
	pthread_cond_signal(&s.sync_cv);
	pthread_mutex_unlock(&s.sync_mu);
	pthread_join(s.syncer, NULL);
	/* Requests never answered (the loops are gone) are freed with their clients. */
	while (s.clients)
		client_free(s.clients);
	while (mc_queue_pop(s.q))
		;
out_fds:
	for (unsigned i = 0; i < s.nlfds; i++)
		close(s.lfds[i]);
out_kv:
	if (s.efd >= 0)
		close(s.efd);
	mc_queue_free(s.q);
	free(s.lfds);
	for (unsigned i = 0; s.ctxs && i < threads; i++) {
		if (s.ctxs[i])
			mc_kv_cmd_ctx_release(s.ctxs[i]);
		free(s.ctxs[i]);
	}
	free(s.ctxs);
	if (s.ic) {
		/* An fdatasync cancelled with its loop: its descriptor is still open. */
		for (unsigned i = 0; i < IC_SYNCS; i++)
			if (s.ic->sync[i].busy)
				close(s.ic->sync[i].ticket.fd);
		mc_kv_cmd_ctx_release(&s.ic->ctx);
		free(s.ic);
	}
	mc_kv_close(s.kv);
	return rc;
}
