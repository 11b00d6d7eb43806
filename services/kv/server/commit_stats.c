/* SPDX-License-Identifier: MIT */
/*
 * commit_stats.c: the log-linear histograms behind kv-server's INFO "# Commit"
 * section: where a write's time goes between its arrival and its reply.
 */
#include <errno.h>

#include <mc/cleanup.h>

#include "commit_stats.h"

static const char *const names[KV_ST_COUNT] = {
	[KV_ST_SYNC_US] = "commit_fdatasync_us",
	[KV_ST_SYNC_REQS] = "commit_sync_requests",
	[KV_ST_SYNC_WRITES] = "commit_sync_writes",
	[KV_ST_SYNC_WAIT_US] = "commit_wait_for_sync_us",
	[KV_ST_HANDOFF_US] = "commit_handoff_us",
	[KV_ST_EXEC_US] = "commit_writer_exec_us",
	[KV_ST_BATCH_REQS] = "commit_writer_batch_requests",
	[KV_ST_POST_US] = "commit_reply_post_us",
	[KV_ST_REPLY_US] = "commit_request_to_reply_us",
	[KV_ST_IDLE_US] = "commit_writer_idle_us",
};

static unsigned bucket_of(uint64_t v)
{
	if (v < 4)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 2 */

	return 4 * (e - 1) + (unsigned)((v >> (e - 2)) & 3);
}

/* The largest value that falls into bucket @i. */
static uint64_t bucket_top(unsigned i)
{
	if (i < 4)
		return i;
	unsigned e = i / 4 + 1, sub = i % 4;
	uint64_t lo = (uint64_t)(4 + sub) << (e - 2);

	return lo + (1ull << (e - 2)) - 1;
}

void kv_hist_add(struct kv_hist *h, uint64_t v)
{
	atomic_fetch_add_explicit(&h->b[bucket_of(v)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->n, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum, v, memory_order_relaxed);
	uint64_t m = atomic_load_explicit(&h->max, memory_order_relaxed);

	while (v > m && !atomic_compare_exchange_weak_explicit(&h->max, &m, v, memory_order_relaxed,
							       memory_order_relaxed))
		;
}

void kv_commit_stats_reset(struct kv_commit_stats *st)
{
	for (unsigned k = 0; k < KV_ST_COUNT; k++) {
		struct kv_hist *h = &st->h[k];

		for (unsigned i = 0; i < KV_HIST_BUCKETS; i++)
			atomic_store_explicit(&h->b[i], 0, memory_order_relaxed);
		atomic_store_explicit(&h->n, 0, memory_order_relaxed);
		atomic_store_explicit(&h->sum, 0, memory_order_relaxed);
		atomic_store_explicit(&h->max, 0, memory_order_relaxed);
	}
}

/* The upper bound of the bucket holding the @q-th quantile (q in 1/1000), <= max. */
static uint64_t quantile(const uint64_t *b, uint64_t n, uint64_t max, unsigned q)
{
	uint64_t want = (n * q + 999) / 1000, seen = 0;

	for (unsigned i = 0; i < KV_HIST_BUCKETS; i++) {
		seen += b[i];
		if (seen >= want && seen)
			return MC_MIN(bucket_top(i), max);
	}
	return max;
}

int kv_commit_stats_info(struct kv_commit_stats *st, struct mc_buf *s)
{
	int r = mc_buf_printf(s, "# Commit\r\n");

	for (unsigned k = 0; k < KV_ST_COUNT && r == 0; k++) {
		struct kv_hist *h = &st->h[k];
		uint64_t b[KV_HIST_BUCKETS], n = 0, sum, max;

		/* A snapshot: n is the sum of the buckets read, so quantiles are consistent. */
		for (unsigned i = 0; i < KV_HIST_BUCKETS; i++) {
			b[i] = atomic_load_explicit(&h->b[i], memory_order_relaxed);
			n += b[i];
		}
		sum = atomic_load_explicit(&h->sum, memory_order_relaxed);
		max = atomic_load_explicit(&h->max, memory_order_relaxed);
		r = mc_buf_printf(
			s, "%s:count=%llu,mean=%.1f,p50=%llu,p90=%llu,p99=%llu,max=%llu\r\n",
			names[k], (unsigned long long)n, n ? (double)sum / (double)n : 0.0,
			(unsigned long long)quantile(b, n, max, 500),
			(unsigned long long)quantile(b, n, max, 900),
			(unsigned long long)quantile(b, n, max, 990), (unsigned long long)max);
	}
	return r;
}
