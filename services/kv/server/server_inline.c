/* SPDX-License-Identifier: MIT */
/*
 * server_inline.c: the inline commit of kv-server.
 *
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
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <mc/log.h>

#include "server.h"

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
		kv_srv_req_done(w->cl->loop,
				w); /* may run the client's next request: appends to run */
		w = next;
	}
}

static void ic_start_sync(struct inline_commit *ic);

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
		kv_srv_fail_requests(list, "ERR storage: WAL sync failed, writes may be lost");
	}
	/*
	 * Requests read in this same poll (their completions came before ours) would
	 * wait for the end-of-iteration timer and then for the whole next sync: write
	 * them now so the sync that starts here covers them too (bigger groups at
	 * -P 1, no extra device flush). kv_srv_ic_flush starts that sync itself.
	 */
	if (ic->run_head)
		kv_srv_ic_flush(loop, &ic->flush_timer, ic);
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
			kv_srv_fail_requests(list,
					     "ERR storage: WAL sync failed, writes may be lost");
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
void kv_srv_ic_flush(struct mc_io_loop *loop, struct mc_io_timer *t, void *arg)
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
		kv_srv_fail_requests(head, "ERR storage: write failed, writes may be lost");
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
void kv_srv_inline_request(struct client *cl, const char *data, size_t off, size_t n)
{
	struct srv *s = cl->srv;
	struct inline_commit *ic = s->ic;
	struct mc_kv_resp_arg *argv = kv_srv_argv();
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
		if (kv_srv_run_cmd(s, &ic->ctx, argv, argc, &w->out) < 0)
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
