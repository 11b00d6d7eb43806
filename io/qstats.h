/* SPDX-License-Identifier: MIT */
/*
 * qstats.h (io-internal): striped operation counters for the queues. Each thread
 * adds to the stripe of its hazard record index, so counting never makes threads
 * share a cache line (unless more than QSTATS_STRIPES threads run at once).
 */
#ifndef MC_IO_QSTATS_H
#define MC_IO_QSTATS_H

#include <stdalign.h>
#include <stdatomic.h>

#include <mc/queue.h>

#include "hazard.h"

#define QSTATS_STRIPES 64

struct qstats {
	struct {
		alignas(64) atomic_ulong push, pop, push_retry, pop_retry;
	} s[QSTATS_STRIPES];
};

static inline void qstats_add(struct qstats *st, const struct hazard_rec *hr, unsigned long push,
			      unsigned long pop, unsigned long push_retry, unsigned long pop_retry)
{
	unsigned idx = hr ? hazard_index(hr) : QSTATS_STRIPES;

	/*
	 * A hazard record has one owner thread at a time, so the stripe of a record
	 * index below QSTATS_STRIPES has a single writer: a relaxed load + store
	 * (no locked instruction on the hot path) cannot lose counts. Readers may see
	 * a slightly stale value, as documented. Threads beyond that share the last
	 * stripe with atomic adds.
	 */
	if (idx < QSTATS_STRIPES - 1) {
		if (push)
			atomic_store_explicit(
				&st->s[idx].push,
				atomic_load_explicit(&st->s[idx].push, memory_order_relaxed) + push,
				memory_order_relaxed);
		if (pop)
			atomic_store_explicit(
				&st->s[idx].pop,
				atomic_load_explicit(&st->s[idx].pop, memory_order_relaxed) + pop,
				memory_order_relaxed);
		if (push_retry)
			atomic_store_explicit(
				&st->s[idx].push_retry,
				atomic_load_explicit(&st->s[idx].push_retry, memory_order_relaxed) +
					push_retry,
				memory_order_relaxed);
		if (pop_retry)
			atomic_store_explicit(
				&st->s[idx].pop_retry,
				atomic_load_explicit(&st->s[idx].pop_retry, memory_order_relaxed) +
					pop_retry,
				memory_order_relaxed);
		return;
	}
	unsigned i = QSTATS_STRIPES - 1;
	/* Relaxed: statistics, ordered with nothing. */
	if (push)
		atomic_fetch_add_explicit(&st->s[i].push, push, memory_order_relaxed);
	if (pop)
		atomic_fetch_add_explicit(&st->s[i].pop, pop, memory_order_relaxed);
	if (push_retry)
		atomic_fetch_add_explicit(&st->s[i].push_retry, push_retry, memory_order_relaxed);
	if (pop_retry)
		atomic_fetch_add_explicit(&st->s[i].pop_retry, pop_retry, memory_order_relaxed);
}

static inline void qstats_sum(const struct qstats *st, struct mc_queue_stats *out)
{
	*out = (struct mc_queue_stats){ 0 };
	for (unsigned i = 0; i < QSTATS_STRIPES; i++) {
		/* Relaxed: a racy snapshot is documented behaviour. */
		out->pushes += atomic_load_explicit(&st->s[i].push, memory_order_relaxed);
		out->pops += atomic_load_explicit(&st->s[i].pop, memory_order_relaxed);
		out->push_retries +=
			atomic_load_explicit(&st->s[i].push_retry, memory_order_relaxed);
		out->pop_retries += atomic_load_explicit(&st->s[i].pop_retry, memory_order_relaxed);
	}
}

#endif
