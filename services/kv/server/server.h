/* SPDX-License-Identifier: MIT */
/*
 * server.h: kv-server's shared state and the functions its parts call across files:
 * kv_server.c (options, setup, shutdown), server_conn.c (connections, parsing, reads
 * inline), server_inline.c (one loop runs the writes and their fdatasync itself),
 * server_writer.c (the writer and sync threads of the multi-loop and --sync always
 * paths).
 */
#ifndef KV_SERVER_H
#define KV_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <mc/io.h>
#include <mc/kv.h>
#include <mc/kv_resp.h>
#include <mc/queue.h>
#include <mc/util.h>

#include "commit_stats.h"

#define PROG "kv-server"
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

/*
 * fdatasyncs in flight at once. 2 was measured worse than 1 (redis-benchmark -P 1:
 * 55k vs 78k SET/s side by side): concurrent syncs each took longer and split the
 * groups (9.6 requests per sync instead of 21), costing CPU on a 2-core box.
 */
#define IC_SYNCS 1

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

/* server_conn.c */
struct mc_kv_resp_arg *kv_srv_argv(void);
void kv_srv_req_free(struct wreq *r);
void kv_srv_client_free(struct client *cl);
int kv_srv_run_cmd(struct srv *s, struct mc_kv_cmd_ctx *ctx, const struct mc_kv_resp_arg *argv,
		   size_t argc, struct mc_buf *out);
void kv_srv_req_done(struct mc_io_loop *loop, void *arg);
int kv_srv_loop_init(struct mc_io_loop *loop, unsigned idx, void *arg);

/* server_inline.c */
void kv_srv_inline_request(struct client *cl, const char *data, size_t off, size_t n);
void kv_srv_ic_flush(struct mc_io_loop *loop, struct mc_io_timer *t, void *arg);

/* server_writer.c */
void kv_srv_fail_requests(struct wreq *w, const char *msg);
void *kv_srv_syncer_main(void *arg);
void *kv_srv_writer_main(void *arg);

#endif
