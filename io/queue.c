/* SPDX-License-Identifier: MIT */
/*
 * queue.c: the unbounded lock-free MPMC queue. A Michael-Scott queue whose nodes
 * are segments of MC_QUEUE_SEGMENT slots (after Ramalhete and Correia's FAA array
 * queue): within a segment a producer claims a slot with one fetch-and-add and fills
 * it with one CAS; a consumer claims with fetch-and-add and empties with exchange.
 * Only when a segment is full does the Michael-Scott CAS on next/tail happen, and
 * only then is a segment retired through hazard pointers: reclamation and
 * allocation are amortised over 1024 items. No operation waits for another: a
 * consumer that reaches a slot before its (maybe preempted) producer marks it
 * TAKEN and moves on; the producer sees its CAS fail and claims another slot.
 *
 *   head ──► [seg: deqidx | items[0..1023] | enqidx | next] ──► [seg] ──► ... ◄── tail
 */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <mc/queue.h>

#include "hazard.h"
#include "qstats.h"

#define SEG MC_QUEUE_SEGMENT

/* Marks a slot a consumer emptied or gave up on; no user pointer can equal it. */
static char taken_marker;
#define TAKEN ((void *)&taken_marker)

struct seg {
	alignas(64) atomic_ulong deqidx;
	alignas(64) atomic_ulong enqidx;
	alignas(64) struct seg *_Atomic next;
	alignas(64) void *_Atomic items[SEG];
};

struct mc_queue {
	alignas(64) struct seg *_Atomic head;
	alignas(64) struct seg *_Atomic tail;
	alignas(64) atomic_ulong segments;
	struct qstats stats;
};

static struct seg *seg_new(void *first)
{
	struct seg *s = aligned_alloc(64, sizeof(*s));

	if (!s)
		return NULL;
	/* Relaxed init: the segment is published by a release/seq_cst CAS on next. */
	for (size_t i = 0; i < SEG; i++)
		atomic_init(&s->items[i], NULL);
	atomic_init(&s->deqidx, 0);
	atomic_init(&s->enqidx, first ? 1 : 0);
	atomic_init(&s->next, NULL);
	if (first)
		atomic_init(&s->items[0], first);
	return s;
}

int mc_queue_new(struct mc_queue **out)
{
	struct mc_queue *q = aligned_alloc(64, sizeof(*q));

	if (!q)
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	struct seg *s = seg_new(NULL);
	if (!s) {
		free(q);
		return -ENOMEM;
	}
	atomic_init(&q->head, s);
	atomic_init(&q->tail, s);
	atomic_init(&q->segments, 1);
	*out = q;
	return 0;
}

void mc_queue_free(struct mc_queue *q)
{
	if (!q)
		return;
	struct seg *s = atomic_load_explicit(&q->head, memory_order_relaxed);
	while (s) {
		struct seg *n = atomic_load_explicit(&s->next, memory_order_relaxed);
		free(s);
		s = n;
	}
	free(q);
}

int mc_queue_push(struct mc_queue *q, void *item)
{
	struct hazard_rec *hr = hazard_self();
	unsigned long retries = 0;

	if (!hr)
		return -ENOMEM;
	for (;;) {
		struct seg *lt = hazard_protect(hr, 0, (void *_Atomic *)&q->tail);
		/* Relaxed FAA: it only hands out distinct indices; the slot CAS below
		 * carries the data. */
		unsigned long idx = atomic_fetch_add_explicit(&lt->enqidx, 1, memory_order_relaxed);

		if (idx < SEG) {
			void *expect = NULL;
			/*
			 * Release: the item's contents (written by the caller before push)
			 * happen before the consumer's acquire exchange that takes it.
			 */
			if (atomic_compare_exchange_strong_explicit(&lt->items[idx], &expect, item,
								    memory_order_release,
								    memory_order_relaxed))
				break;
			retries++; /* a consumer marked the slot TAKEN first */
			continue;
		}
		/* Segment full: help the tail forward or append a new segment. */
		if (lt != atomic_load_explicit(&q->tail, memory_order_acquire)) {
			retries++;
			continue;
		}
		/* Acquire pairs with the release CAS that linked next, so the
		 * segment's initialisation is visible before we use it. */
		struct seg *ln = atomic_load_explicit(&lt->next, memory_order_acquire);
		if (!ln) {
			struct seg *ns = seg_new(item);
			if (!ns) {
				hazard_clear(hr, 0);
				return -ENOMEM;
			}
			struct seg *expect = NULL;
			/* Release publishes ns's init (and the item in slot 0) to whoever
			 * follows next with acquire. */
			if (atomic_compare_exchange_strong_explicit(&lt->next, &expect, ns,
								    memory_order_release,
								    memory_order_relaxed)) {
				/* seq_cst like every tail/head update: hazard readers
				 * re-validate against it (hazard_protect). Failure is fine:
				 * someone else already swung the tail. */
				atomic_compare_exchange_strong_explicit(&q->tail, &lt, ns,
									memory_order_seq_cst,
									memory_order_relaxed);
				atomic_fetch_add_explicit(&q->segments, 1, memory_order_relaxed);
				break;
			}
			free(ns);
			retries++;
		} else {
			if (!atomic_compare_exchange_strong_explicit(
				    &q->tail, &lt, ln, memory_order_seq_cst, memory_order_relaxed))
				retries++;
		}
	}
	hazard_clear(hr, 0);
	qstats_add(&q->stats, hr, 1, 0, retries, 0);
	return 0;
}

static void seg_free(void *p)
{
	free(p);
}

void *mc_queue_pop(struct mc_queue *q)
{
	struct hazard_rec *hr = hazard_self();
	unsigned long retries = 0;
	void *item = NULL;

	if (!hr)
		return NULL;
	for (;;) {
		struct seg *lh = hazard_protect(hr, 0, (void *_Atomic *)&q->head);
		/* Relaxed is enough for the emptiness check: a stale answer either way
		 * is linearisable at the moment of the loads (as in the MS queue). */
		unsigned long d = atomic_load_explicit(&lh->deqidx, memory_order_relaxed);
		unsigned long e = atomic_load_explicit(&lh->enqidx, memory_order_relaxed);
		if (d >= e && !atomic_load_explicit(&lh->next, memory_order_acquire))
			break;
		if (d < SEG) {
			unsigned long idx =
				atomic_fetch_add_explicit(&lh->deqidx, 1, memory_order_relaxed);
			if (idx < SEG) {
				/* Acquire pairs with the producer's release CAS: the item's
				 * contents are visible to the caller. */
				item = atomic_exchange_explicit(&lh->items[idx], TAKEN,
								memory_order_acquire);
				if (item)
					break;
				retries++; /* producer not there yet: it will retry elsewhere */
				continue;
			}
		}
		/* This segment is spent; advance head. */
		struct seg *ln = atomic_load_explicit(&lh->next, memory_order_acquire);
		if (!ln)
			break; /* full segment, nothing after it: empty */
		/*
		 * Never let head pass tail: a lagging tail would still name the segment
		 * we retire, and a producer could protect it after our scan. Help the
		 * tail forward first (the Michael-Scott rule). seq_cst: see below.
		 */
		struct seg *lt = atomic_load_explicit(&q->tail, memory_order_seq_cst);
		if (lt == lh) {
			atomic_compare_exchange_strong_explicit(
				&q->tail, &lt, ln, memory_order_seq_cst, memory_order_relaxed);
			retries++;
			continue;
		}
		/*
		 * seq_cst unlink: pairs with hazard_protect's seq_cst re-read, so any
		 * reader that still protects lh published its hazard before this CAS
		 * and our retire's scan will see it.
		 */
		if (atomic_compare_exchange_strong_explicit(&q->head, &lh, ln, memory_order_seq_cst,
							    memory_order_relaxed)) {
			hazard_clear(hr, 0);
			hazard_retire(hr, lh, seg_free);
		} else {
			retries++;
		}
	}
	hazard_clear(hr, 0);
	qstats_add(&q->stats, hr, 0, item != NULL, 0, retries);
	return item;
}

void mc_queue_stats(const struct mc_queue *q, struct mc_queue_stats *out)
{
	qstats_sum(&q->stats, out);
	out->segments = atomic_load_explicit(&q->segments, memory_order_relaxed);
}
