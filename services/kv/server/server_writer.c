/* SPDX-License-Identifier: MIT */
/*
 * server_writer.c: kv-server's writer thread (runs the write requests of every loop,
 * one WAL record per batch) and sync thread (batch: one fdatasync for everything
 * written so far, pipelined with the writer; everysec: once a second). Used with
 * several loops and with --sync always.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <mc/log.h>

#include "server.h"

/*
 * Executes every command of @w in order through the writer's deferring context:
 * plain SETs of every request in the batch join one pending write.
 */
static void run_request(struct srv *s, struct mc_kv_cmd_ctx *ctx, struct wreq *w)
{
	struct mc_kv_resp_arg *argv = kv_srv_argv();
	size_t off = 0, argc;

	while (off < w->len) {
		ssize_t r =
			mc_kv_resp_parse(w->data + off, w->len - off, argv, MAX_ARGS, &argc, NULL);

		if (r <= 0)
			break; /* cannot happen: the loop thread parsed these bytes already */
		enum mc_kv_cmd_class cls = mc_kv_cmd_classify(argv, argc);

		w->writes += cls == MC_KV_CMD_WRITE;
		if (kv_srv_run_cmd(s, ctx, argv, argc, &w->out) < 0)
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
void kv_srv_fail_requests(struct wreq *w, const char *msg)
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
		if (s->loops_alive && mc_io_loop_post(w->cl->loop, kv_srv_req_done, w) < 0)
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
void *kv_srv_syncer_main(void *arg)
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
				kv_srv_fail_requests(
					list, "ERR storage: WAL sync failed, writes may be lost");
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

void *kv_srv_writer_main(void *arg)
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
			kv_srv_fail_requests(batch[0],
					     "ERR storage: write failed, writes may be lost");
		}
		if (r == 0 && s->sync == MC_KV_SYNC_BATCH)
			hand_to_syncer(s, batch, n);
		else
			post_requests(s, batch[0]);
	}
	mc_kv_cmd_ctx_release(&ctx);
	return NULL;
}
