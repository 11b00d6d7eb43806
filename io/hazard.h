/* SPDX-License-Identifier: MIT */
/*
 * hazard.h (io-internal): a process-wide hazard-pointer domain for lock-free
 * structures. A thread publishes the pointer it is about to dereference; memory is
 * retired instead of freed and freed only once no published hazard names it.
 */
#ifndef MC_IO_HAZARD_H
#define MC_IO_HAZARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define HAZARD_SLOTS 2

struct retired {
	void *p;
	void (*free_fn)(void *);
};

/*
 * A producer's claim on a run of slots of one queue segment (queue.c): slots
 * [idx, end) of the segment @seg with serial number @serial were handed to this
 * thread by one fetch-and-add. @k is the size of the next claim (adaptive).
 */
struct hazard_claim {
	const void *seg;
	unsigned long serial;
	unsigned long idx, end;
	unsigned k;
};

/*
 * One per thread (reused after the thread exits). Invariant: slot[i] is written
 * only by the owner; a non-NULL slot[i] keeps what it names alive until the owner
 * overwrites it. Slots may stay published between operations (hazard_hold).
 */
struct hazard_rec {
	void *_Atomic slot[HAZARD_SLOTS];
	atomic_bool active;
	unsigned index;
	struct hazard_rec *next; /* immutable once the record is published */
	/* Owner-only: */
	struct hazard_claim claim;
	struct retired *retired;
	size_t nretired, cap;
};

extern _Thread_local struct hazard_rec *hazard_tls;
/*
 * hazard_asym: true once membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) is
 * registered. Then publishing a hazard needs no StoreLoad fence on the reader's
 * side: the scanner's membarrier forces one onto every running thread of the
 * process before it reads the slots (asymmetric fences). Written once, before any
 * record exists (pthread_once), read-only afterwards.
 */
extern bool hazard_asym;

struct hazard_rec *hazard_self_slow(void);

/* hazard_self: this thread's record (claimed on first use, released at thread exit);
 * NULL only when its first allocation fails. */
static inline struct hazard_rec *hazard_self(void)
{
	struct hazard_rec *r = hazard_tls;

	return __builtin_expect(r != NULL, 1) ? r : hazard_self_slow();
}

/* hazard_index: a small dense number of the record, stable while the thread lives. */
static inline unsigned hazard_index(const struct hazard_rec *r)
{
	return r->index;
}

/*
 * hazard_protect: loads *src, publishes it in slot @slot and re-checks that *src
 * still holds it, so the object cannot be freed until the slot is overwritten.
 * Returns the protected pointer (possibly NULL).
 */
void *hazard_protect(struct hazard_rec *r, int slot, void *_Atomic *src);

/*
 * hazard_hold: hazard_protect for a pointer that changes rarely (a queue's head
 * or tail segment). When slot @slot already names what *src holds, the object has
 * been protected since that earlier publication and nothing is written: the
 * common case costs one load and one compare, no fence. The slot stays published
 * after the operation; the next publication (or hazard_clear) replaces it.
 */
static inline void *hazard_hold(struct hazard_rec *r, int slot, void *_Atomic *src)
{
	/* Acquire pairs with the release/seq_cst CAS that installed the pointer, so
	 * the object's initialisation is visible. */
	void *p = atomic_load_explicit(src, memory_order_acquire);

	/* Relaxed: our own slot, only we write it. */
	if (__builtin_expect(p == atomic_load_explicit(&r->slot[slot], memory_order_relaxed), 1))
		return p;
	return hazard_protect(r, slot, src);
}

/* hazard_clear: the thread no longer dereferences what slot @slot protected. */
void hazard_clear(struct hazard_rec *r, int slot);
/* hazard_retire: @p is unreachable for new readers; free_fn(p) once no hazard names it. */
void hazard_retire(struct hazard_rec *r, void *p, void (*free_fn)(void *));

#endif
