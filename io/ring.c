/* SPDX-License-Identifier: MIT */
/*
 * ring.c: the bounded lock-free MPMC queue: a power-of-two array of cells, each
 * with a sequence number that says whose turn the cell is (after Vyukov). For the
 * cell at position pos: seq == pos means free for the producer of lap pos/cap,
 * seq == pos + 1 means full for the consumer of that lap, seq == pos + cap means
 * free for the next lap. Producers and consumers claim positions with a CAS on
 * their own counter; a cell still owned by a slower thread of the previous lap
 * reads as full/empty and the caller gets -EAGAIN/NULL instead of spinning on it.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mc/queue.h>

#include "hazard.h"
#include "qstats.h"

struct cell {
	atomic_size_t seq;
	void *data; /* plain: ordered by seq's release/acquire */
};

struct mc_queue_ring {
	alignas(64) atomic_size_t enq;
	alignas(64) atomic_size_t deq;
	alignas(64) size_t mask;
	struct cell *cells;
	struct qstats stats;
};

int mc_queue_ring_new(size_t capacity, struct mc_queue_ring **out)
{
	if (capacity < 2 || (capacity & (capacity - 1)) || capacity > (SIZE_MAX >> 2))
		return -EINVAL;
	struct mc_queue_ring *r = aligned_alloc(64, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->cells = calloc(capacity, sizeof(*r->cells));
	if (!r->cells) {
		free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < capacity; i++)
		atomic_init(&r->cells[i].seq, i);
	r->mask = capacity - 1;
	*out = r;
	return 0;
}

void mc_queue_ring_free(struct mc_queue_ring *r)
{
	if (!r)
		return;
	free(r->cells);
	free(r);
}

int mc_queue_ring_push(struct mc_queue_ring *r, void *item)
{
	struct hazard_rec *hr = hazard_self();
	unsigned long retries = 0;
	size_t pos = atomic_load_explicit(&r->enq, memory_order_relaxed);
	struct cell *c;

	for (;;) {
		c = &r->cells[pos & r->mask];
		/* Acquire pairs with the consumer's release store of seq: its read of
		 * the previous lap's data is done before we overwrite it. */
		size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		intptr_t dif = (intptr_t)seq - (intptr_t)pos;
		if (dif == 0) {
			/* Relaxed CAS: it only claims the position; the cell's seq carries
			 * the ordering of the data. */
			if (atomic_compare_exchange_weak_explicit(&r->enq, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed))
				break;
			retries++;
		} else if (dif < 0) {
			qstats_add(&r->stats, hr, 0, 0, retries, 0);
			return -EAGAIN;
		} else {
			retries++;
			pos = atomic_load_explicit(&r->enq, memory_order_relaxed);
		}
	}
	c->data = item;
	/* Release: the data store happens before a consumer's acquire load of seq. */
	atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
	qstats_add(&r->stats, hr, 1, 0, retries, 0);
	return 0;
}

void *mc_queue_ring_pop(struct mc_queue_ring *r)
{
	struct hazard_rec *hr = hazard_self();
	unsigned long retries = 0;
	size_t pos = atomic_load_explicit(&r->deq, memory_order_relaxed);
	struct cell *c;

	for (;;) {
		c = &r->cells[pos & r->mask];
		/* Acquire pairs with the producer's release store: data is visible. */
		size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		intptr_t dif = (intptr_t)seq - (intptr_t)(pos + 1);
		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(&r->deq, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed))
				break;
			retries++;
		} else if (dif < 0) {
			qstats_add(&r->stats, hr, 0, 0, 0, retries);
			return NULL;
		} else {
			retries++;
			pos = atomic_load_explicit(&r->deq, memory_order_relaxed);
		}
	}
	void *item = c->data;
	/* Release: our read of data happens before the next lap's producer writes. */
	atomic_store_explicit(&c->seq, pos + r->mask + 1, memory_order_release);
	qstats_add(&r->stats, hr, 0, 1, 0, retries);
	return item;
}

void mc_queue_ring_stats(const struct mc_queue_ring *r, struct mc_queue_stats *out)
{
	qstats_sum(&r->stats, out);
	out->segments = 0;
}
