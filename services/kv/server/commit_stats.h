/* SPDX-License-Identifier: MIT */
/*
 * commit_stats.h: kv-server's latency and batch-size histograms for the commit
 * path (fdatasync time, writes per sync, hand-off and reply latency), reported by
 * INFO in a "# Commit" section and cleared by CONFIG RESETSTAT.
 */
#ifndef KV_SERVER_COMMIT_STATS_H
#define KV_SERVER_COMMIT_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include <mc/util.h>

/*
 * A log-linear histogram: four buckets per power of two (about 19% wide), values
 * 0-3 exact. Any thread may add; adds are relaxed atomics, so a report taken while
 * threads add may be off by the adds in progress.
 */
#define KV_HIST_BUCKETS 256

struct kv_hist {
	_Atomic uint64_t b[KV_HIST_BUCKETS];
	_Atomic uint64_t n, sum, max;
};

enum kv_commit_stat {
	KV_ST_SYNC_US,	    /* one fdatasync of the WAL */
	KV_ST_SYNC_REQS,    /* requests released by one sync */
	KV_ST_SYNC_WRITES,  /* write commands made durable by one sync */
	KV_ST_SYNC_WAIT_US, /* a batch written, waiting for the sync that covers it to start */
	KV_ST_HANDOFF_US,   /* request pushed by a loop -> popped by the writer */
	KV_ST_EXEC_US,	    /* the writer running one batch and writing it to the WAL */
	KV_ST_BATCH_REQS,   /* requests per writer batch */
	KV_ST_POST_US,	    /* reply posted by the writer or syncer -> run on its loop */
	KV_ST_REPLY_US,	    /* write request parsed on its loop -> its reply written */
	KV_ST_IDLE_US,	    /* the writer asleep waiting for requests */
	KV_ST_COUNT
};

struct kv_commit_stats {
	struct kv_hist h[KV_ST_COUNT];
};

void kv_hist_add(struct kv_hist *h, uint64_t v);
void kv_commit_stats_reset(struct kv_commit_stats *st);
/* Appends "# Commit\r\n" and one "name:count=..,mean=..,p50=..,p90=..,p99=..,max=.."
 * line per histogram. 0 or -ENOMEM. */
int kv_commit_stats_info(struct kv_commit_stats *st, struct mc_buf *s);

static inline void kv_stat_add(struct kv_commit_stats *st, enum kv_commit_stat k, uint64_t v)
{
	kv_hist_add(&st->h[k], v);
}

#endif
