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
	unsigned long serial; /* unique per allocation: tells reused addresses apart */
	alignas(64) void *_Atomic items[SEG];
};

struct mc_queue {
	alignas(64) struct seg *_Atomic head;
	alignas(64) struct seg *_Atomic tail;
	alignas(64) atomic_ulong segments;
	struct qstats stats;
};

/* A producer that keeps pushing claims up to CLAIM_MAX slots per fetch-and-add. */
#define CLAIM_MAX 16
/* A consumer facing an unfilled slot looks this far ahead for a filled one. */
#define PEEK 16

static atomic_ulong seg_serial;

/* A fresh segment; with @first, slot 0 holds it and slots [0, @claimed) are
 * already handed out. */
static struct seg *seg_new(void *first, unsigned long claimed)
{
	struct seg *s = aligned_alloc(64, sizeof(*s));

	if (!s)
		return NULL;
	/* Relaxed init: the segment is published by a release/seq_cst CAS on next. */
	for (size_t i = 0; i < SEG; i++)
		atomic_init(&s->items[i], NULL);
	atomic_init(&s->deqidx, 0);
	atomic_init(&s->enqidx, first ? claimed : 0);
	atomic_init(&s->next, NULL);
	/* Relaxed: only uniqueness matters. */
	s->serial = atomic_fetch_add_explicit(&seg_serial, 1, memory_order_relaxed) + 1;
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
	struct seg *s = seg_new(NULL, 0);
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

/*
 * Claims: a fetch-and-add on enqidx costs a locked instruction on a line every
 * producer and consumer touches. A producer that pushes in a stream therefore
 * claims k slots at once (k doubles up to CLAIM_MAX while claims get used up,
 * drops to 1 when a consumer spoilt one) and fills them one CAS each. The claim
 * lives in the thread's hazard record and is valid only for the segment it was
 * made on (pointer and serial), which slot 0's hazard keeps alive. Unfilled
 * claimed slots are holes: a consumer that needs to pass one marks it TAKEN like
 * any slot whose producer is late, and the producer claims afresh.
 */
int mc_queue_push(struct mc_queue *q, void *item)
{
	struct hazard_rec *hr = hazard_self();
	unsigned long retries = 0;

	if (!hr)
		return -ENOMEM;
	struct hazard_claim *cl = &hr->claim;
	for (;;) {
		/* Slot 0 keeps the tail segment published across pushes: a fence is
		 * paid once per segment, not once per item. */
		struct seg *lt = hazard_hold(hr, 0, (void *_Atomic *)&q->tail);
		unsigned long idx;

		if (cl->seg == lt && cl->serial == lt->serial && cl->idx < cl->end) {
			idx = cl->idx++;
		} else {
			unsigned k = cl->k ? cl->k : 1;
			/* Relaxed FAA: it only hands out distinct indices; the slot CAS
			 * below carries the data. */
			idx = atomic_fetch_add_explicit(&lt->enqidx, k, memory_order_relaxed);
			cl->seg = NULL;
			if (idx < SEG)
				*cl = (struct hazard_claim){ .seg = lt,
							     .serial = lt->serial,
							     .idx = idx + 1,
							     .end = idx + k < SEG ? idx + k : SEG,
							     .k = k };
		}
		if (idx < SEG) {
			void *expect = NULL;
			/*
			 * Release: the item's contents (written by the caller before push)
			 * happen before the consumer's acquire load that takes it.
			 */
			if (atomic_compare_exchange_strong_explicit(&lt->items[idx], &expect, item,
								    memory_order_release,
								    memory_order_relaxed)) {
				if (cl->idx == cl->end && cl->k < CLAIM_MAX)
					cl->k *= 2; /* used up: claim more next time */
				break;
			}
			/* A consumer marked the slot TAKEN first: it passed our claim. */
			retries++;
			cl->seg = NULL;
			cl->k = 1;
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
			unsigned k = cl->k ? cl->k : 1;
			struct seg *ns = seg_new(item, k);
			if (!ns)
				return -ENOMEM;
			/* Read before publishing: once the CAS below links ns, consumers
			 * may drain it, pass it and free it while we are preempted, and
			 * no hazard of ours protects it until the next push. */
			unsigned long ns_serial = ns->serial;
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
				/* Our claim on ns is valid only once slot 0 protects ns,
				 * which the next push's hazard_hold checks (pointer and
				 * serial): until then it is a plain record. */
				*cl = (struct hazard_claim){
					.seg = ns, .serial = ns_serial, .idx = 1, .end = k, .k = k
				};
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
	qstats_add(&q->stats, hr, 1, 0, retries, 0);
	return 0;
}

static void seg_free(void *p)
{
	free(p);
}

/*
 * worth_claiming: slot @d of @s is still NULL, so its producer (or a claim holder)
 * has not filled it. Claiming it now would spoil it; that is only worth it when a
 * filled slot waits behind it (or it is too far to look), so a preempted
 * producer never hides items pushed after it. Otherwise the queue holds nothing
 * but pushes still in flight, and pop reports empty, as the ring does.
 */
static bool worth_claiming(struct seg *s, unsigned long d, unsigned long e)
{
	unsigned long lim = e < SEG ? e : SEG;

	if (lim - d > PEEK || atomic_load_explicit(&s->next, memory_order_relaxed))
		return true;
	for (unsigned long j = d + 1; j < lim; j++)
		/* Relaxed: a hint; the claim below does the real work. */
		if (atomic_load_explicit(&s->items[j], memory_order_relaxed))
			return true;
	return false;
}

void *mc_queue_pop(struct mc_queue *q)
{
	struct hazard_rec *hr = hazard_self();
	unsigned long retries = 0;
	void *item = NULL;

	if (!hr)
		return NULL;
	for (;;) {
		/* Slot 1 holds the head segment across pops (see push). */
		struct seg *lh = hazard_hold(hr, 1, (void *_Atomic *)&q->head);
		/* Relaxed is enough for the emptiness check: a stale answer either way
		 * is linearisable at the moment of the loads (as in the MS queue). */
		unsigned long d = atomic_load_explicit(&lh->deqidx, memory_order_relaxed);
		unsigned long e = atomic_load_explicit(&lh->enqidx, memory_order_relaxed);
		if (d >= e && !atomic_load_explicit(&lh->next, memory_order_acquire))
			break;
		if (d < SEG) {
			if (d < e && !atomic_load_explicit(&lh->items[d], memory_order_relaxed) &&
			    !worth_claiming(lh, d, e))
				break;
			unsigned long idx =
				atomic_fetch_add_explicit(&lh->deqidx, 1, memory_order_relaxed);
			if (idx < SEG) {
				/* Acquire pairs with the producer's release CAS: the item's
				 * contents are visible to the caller. The slot is ours
				 * alone (the FAA), so a filled one needs no write. */
				item = atomic_load_explicit(&lh->items[idx], memory_order_acquire);
				if (item)
					break;
				/* Producer not there yet: spoil the slot so it retries
				 * elsewhere. Acquire on failure: the item arrived after all. */
				if (!atomic_compare_exchange_strong_explicit(
					    &lh->items[idx], &item, TAKEN, memory_order_acquire,
					    memory_order_acquire))
					break;
				item = NULL;
				retries++;
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
		 * and our retire's scan will see it (with asymmetric publication the
		 * scan's membarrier provides the reader's half).
		 */
		if (atomic_compare_exchange_strong_explicit(&q->head, &lh, ln, memory_order_seq_cst,
							    memory_order_relaxed)) {
			/* Drop our own hold first, or our scan would keep lh. */
			hazard_clear(hr, 1);
			hazard_retire(hr, lh, seg_free);
		} else {
			retries++;
		}
	}
	qstats_add(&q->stats, hr, 0, item != NULL, 0, retries);
	return item;
}

void mc_queue_stats(const struct mc_queue *q, struct mc_queue_stats *out)
{
	qstats_sum(&q->stats, out);
	out->segments = atomic_load_explicit(&q->segments, memory_order_relaxed);
}
