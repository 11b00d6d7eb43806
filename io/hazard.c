/* SPDX-License-Identifier: MIT */
/*
 * hazard.c: hazard pointers (Michael 2004). Records form an append-only list that
 * lives as long as the process: a thread claims a free record on first use and
 * gives it back at exit (its unreclaimed retirees stay with the record and the next
 * owner frees them). Reclamation is amortised: a thread scans the hazards only when
 * its retire list reaches 2 x (published slots) + 16 entries, so the O(H) scan costs
 * O(1) per retire, and the queue retires one segment per 1024 items.
 *
 * Publication is asymmetric where the kernel allows (membarrier, 4.14+): readers
 * publish with a plain store and a compiler barrier; the rare scanner pays for the
 * StoreLoad ordering of every reader with one membarrier() call. Otherwise readers
 * use a seq_cst store + load, as in the textbook algorithm.
 */
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hazard.h"

static struct hazard_rec *_Atomic rec_head;
static atomic_uint rec_count;
static pthread_key_t rec_key;
static pthread_once_t rec_once = PTHREAD_ONCE_INIT;
_Thread_local struct hazard_rec *hazard_tls;
bool hazard_asym;

static void scan(struct hazard_rec *r);

static void rec_release(void *arg)
{
	struct hazard_rec *r = arg;

	for (int i = 0; i < HAZARD_SLOTS; i++)
		atomic_store_explicit(&r->slot[i], NULL, memory_order_release);
	scan(r);
	/* Before giving the record away: the next owner must not inherit our claim. */
	r->claim = (struct hazard_claim){ 0 };
	hazard_tls = NULL;
	/* Release: the retire list (and the cleared claim) we leave behind are handed
	 * to the next owner, whose acquire CAS in hazard_self() pairs with this store. */
	atomic_store_explicit(&r->active, false, memory_order_release);
}

static int membarrier(int cmd)
{
	return (int)syscall(SYS_membarrier, cmd, 0, 0);
}

static void key_init(void)
{
	/* Best-effort: without a key, records of exited threads are never reused (a
	 * bounded leak of one small record per thread), nothing worse. */
	(void)pthread_key_create(&rec_key, rec_release);
	/*
	 * Best-effort: without membarrier (pre-4.14, a seccomp filter) readers fall
	 * back to seq_cst publication. Registration precedes every record, so no
	 * hazard is ever published under the other protocol.
	 */
	int cmds = membarrier(MEMBARRIER_CMD_QUERY);
	if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
		hazard_asym = true;
}

/* The scanner's half of an asymmetric publication: after this returns, every
 * thread of the process has executed a full barrier, so any hazard store that
 * precedes a reader's re-read of the source is visible to our slot loads. */
static void scan_fence(void)
{
	if (hazard_asym && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) < 0)
		abort(); /* registered above: the kernel cannot refuse it any more */
}

struct hazard_rec *hazard_self_slow(void)
{
	struct hazard_rec *r;

	pthread_once(&rec_once, key_init);
	/* Acquire pairs with the release CAS that published each record. */
	for (r = atomic_load_explicit(&rec_head, memory_order_acquire); r; r = r->next) {
		bool expect = false;

		/* Acquire: we inherit the previous owner's retire list (rec_release). */
		if (!atomic_load_explicit(&r->active, memory_order_relaxed) &&
		    atomic_compare_exchange_strong_explicit(
			    &r->active, &expect, true, memory_order_acquire, memory_order_relaxed))
			goto claimed;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	atomic_init(&r->active, true);
	r->index = atomic_fetch_add_explicit(&rec_count, 1, memory_order_relaxed);
	struct hazard_rec *head = atomic_load_explicit(&rec_head, memory_order_relaxed);
	do {
		r->next = head;
		/* Release: r's fields are initialised before other threads can walk to it. */
	} while (!atomic_compare_exchange_weak_explicit(&rec_head, &head, r, memory_order_release,
							memory_order_relaxed));
claimed:
	hazard_tls = r;
	pthread_setspecific(rec_key, r);
	return r;
}

void *hazard_protect(struct hazard_rec *r, int slot, void *_Atomic *src)
{
	void *p = atomic_load_explicit(src, memory_order_acquire);

	for (;;) {
		void *q;

		if (hazard_asym) {
			/*
			 * Release store: what we did with the slot's previous object
			 * happens before a scanner that reads the new value frees it.
			 * The StoreLoad ordering against the re-read below comes from
			 * the scanner's membarrier (scan_fence); here only the compiler
			 * must keep the store before the load.
			 */
			atomic_store_explicit(&r->slot[slot], p, memory_order_release);
			atomic_signal_fence(memory_order_seq_cst);
			q = atomic_load_explicit(src, memory_order_acquire);
		} else {
			/*
			 * seq_cst store then seq_cst load: the publication must be
			 * globally visible before we re-read @src (StoreLoad). It pairs
			 * with the seq_cst unlink in the data structure and the seq_cst
			 * hazard loads in scan(): either the scanner sees our hazard, or
			 * we see the unlinked pointer has changed and retry.
			 */
			atomic_store_explicit(&r->slot[slot], p, memory_order_seq_cst);
			q = atomic_load_explicit(src, memory_order_seq_cst);
		}
		if (q == p)
			return p;
		p = q;
	}
}

void hazard_clear(struct hazard_rec *r, int slot)
{
	/* Release: our reads of the object happen before a scanner that sees NULL frees it. */
	atomic_store_explicit(&r->slot[slot], NULL, memory_order_release);
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

static void scan(struct hazard_rec *r)
{
	size_t n = atomic_load_explicit(&rec_count, memory_order_relaxed) * HAZARD_SLOTS + 1;
	uintptr_t *hz = malloc(n * sizeof(*hz));
	size_t nh = 0;

	if (!hz)
		return; /* Best-effort: retry at the next retire. */
	scan_fence();
	for (struct hazard_rec *o = atomic_load_explicit(&rec_head, memory_order_acquire);
	     o && nh < n; o = o->next)
		for (int i = 0; i < HAZARD_SLOTS && nh < n; i++) {
			/* seq_cst pairs with hazard_protect's publication (see there). */
			void *p = atomic_load_explicit(&o->slot[i], memory_order_seq_cst);
			if (p)
				hz[nh++] = (uintptr_t)p;
		}
	qsort(hz, nh, sizeof(*hz), ptr_cmp);
	size_t keep = 0;
	for (size_t i = 0; i < r->nretired; i++) {
		uintptr_t key = (uintptr_t)r->retired[i].p;
		if (nh && bsearch(&key, hz, nh, sizeof(*hz), ptr_cmp))
			r->retired[keep++] = r->retired[i];
		else
			r->retired[i].free_fn(r->retired[i].p);
	}
	r->nretired = keep;
	free(hz);
}

static bool is_hazard(void *p)
{
	scan_fence();
	for (struct hazard_rec *o = atomic_load_explicit(&rec_head, memory_order_acquire); o;
	     o = o->next)
		for (int i = 0; i < HAZARD_SLOTS; i++)
			/* seq_cst pairs with hazard_protect's publication. */
			if (atomic_load_explicit(&o->slot[i], memory_order_seq_cst) == p)
				return true;
	return false;
}

void hazard_retire(struct hazard_rec *r, void *p, void (*free_fn)(void *))
{
	if (r->nretired == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct retired *n = realloc(r->retired, cap * sizeof(*n));
		if (!n) {
			/* Out of memory, cannot defer: wait until no hazard names p. A
			 * reader holds a hazard only for the span of one operation. */
			while (is_hazard(p))
				sched_yield();
			free_fn(p);
			return;
		} else {
			r->retired = n;
			r->cap = cap;
		}
	}
	r->retired[r->nretired++] = (struct retired){ p, free_fn };
	if (r->nretired >=
	    2 * HAZARD_SLOTS * atomic_load_explicit(&rec_count, memory_order_relaxed) + 16)
		scan(r);
}
