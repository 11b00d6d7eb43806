/* SPDX-License-Identifier: MIT */
/*
 * queue.h: lock-free multi-producer multi-consumer queues of pointers.
 *
 *   struct mc_queue       unbounded: a Michael-Scott linked list whose nodes are
 *                         arrays of slots filled with fetch-and-add, reclaimed with
 *                         hazard pointers (one retire per segment, not per item).
 *   struct mc_queue_ring  bounded: a power-of-two ring of sequenced cells.
 *
 * Neither ever waits for another thread: a producer or consumer preempted in the
 * middle of an operation makes others retry or report empty/full, never spin on it.
 * Items are opaque non-NULL pointers; the queue never dereferences them. Every
 * item pushed is popped exactly once. FIFO order holds per producer.
 *
 * Contention is measured: every failed compare-and-swap and every slot a racing
 * consumer spoilt counts as one retry (struct mc_queue_stats), so a benchmark can
 * plot retries per operation against thread count. Counters are per queue and
 * approximate under concurrency only in that they are read without a snapshot.
 */
#ifndef MC_QUEUE_H
#define MC_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct mc_queue;
struct mc_queue_ring;

struct mc_queue_stats {
	uint64_t pushes;       /* successful pushes */
	uint64_t pops;	       /* successful pops (not counting empty results) */
	uint64_t push_retries; /* failed CAS or spoilt slots on the push side */
	uint64_t pop_retries;  /* failed CAS or empty slots on the pop side */
	uint64_t segments;     /* mc_queue only: segments allocated so far */
};

/*
 * mc_queue_new: an empty unbounded queue. Returns 0 and *out, or -ENOMEM.
 * mc_queue_free: frees the queue and its segments, not the items still in it.
 * Must not run concurrently with any other call on @q. NULL is a no-op.
 */
int mc_queue_new(struct mc_queue **out);
void mc_queue_free(struct mc_queue *q);

/*
 * mc_queue_push: appends @item (non-NULL). Lock-free; allocates a segment once
 * every MC_QUEUE_SEGMENT pushes. Returns 0, or -ENOMEM (the item was not queued).
 * Thread-safe with every other push/pop.
 */
int mc_queue_push(struct mc_queue *q, void *item);

/* mc_queue_pop: removes and returns the oldest item, or NULL when empty. Lock-free. */
void *mc_queue_pop(struct mc_queue *q);

/* mc_queue_stats: a snapshot of the counters. Thread-safe. */
void mc_queue_stats(const struct mc_queue *q, struct mc_queue_stats *out);

#define MC_QUEUE_SEGMENT 1024

/*
 * mc_queue_ring_new: a bounded queue holding up to @capacity items (a power of two,
 * >= 2). Returns 0 and *out, -EINVAL for a bad capacity, -ENOMEM.
 */
int mc_queue_ring_new(size_t capacity, struct mc_queue_ring **out);
void mc_queue_ring_free(struct mc_queue_ring *r);

/*
 * mc_queue_ring_push: 0, or -EAGAIN when the ring is full (or the slot it needs is
 * still being drained by a preempted consumer). Never allocates. Lock-free.
 */
int mc_queue_ring_push(struct mc_queue_ring *r, void *item);

/* mc_queue_ring_pop: the oldest item or NULL (empty, or its producer is mid-push). */
void *mc_queue_ring_pop(struct mc_queue_ring *r);

void mc_queue_ring_stats(const struct mc_queue_ring *r, struct mc_queue_stats *out);

#endif
