/* SPDX-License-Identifier: MIT */
/*
 * Boundary-tag heaps: arena 0 grows the brk heap, other arenas map segments; blocks
 * carry a header and (when free) a boundary tag, live in 176 size-segregated bins,
 * are split when much larger than asked and coalesced with free neighbours in O(1).
 * Blocks at or above the mmap threshold go to large.c.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct mcm_arena mcm_arenas[MCM_MAX_ARENAS];
int mcm_narenas = 1;

/*
 * Arena segments are mapped 32 MiB at a time (more for a bigger block), like glibc's
 * 64 MiB thread heaps: one thread's blocks, small and big, come and go inside one
 * mapping, where freed space coalesces, a realloc can grow in place and pages stay
 * faulted in. Untouched pages cost address space only; the sweep gives back the rest.
 */
#define SEG_SIZE (32ul << 20)
#define BRK_STEP (256ul << 10)
#define BRK_KEEP (128ul << 10)
/* Split only when the rest is worth a block: 64 bytes is 4 units. */
#define SPLIT_MIN_UNITS 4u
/* Freed bytes per arena between two decommit sweeps of large free blocks. */
#define SWEEP_BYTES (2ul << 20)
#define SWEEP_MIN (256ul << 10)
/* Free pages an arena keeps resident when its thread exits. */
#define IDLE_KEEP (128ul << 10)

#ifdef MCM_OVERRIDE
static bool brk_failed;
#else
/*
 * Linked beside glibc's malloc (the mc_* library), the break belongs to glibc: two
 * unsynchronised sbrk users could shrink each other's memory. Mapped segments only.
 */
static bool brk_failed = true;
#endif

static inline struct mcm_block *blk_next(struct mcm_block *b)
{
	return (struct mcm_block *)((char *)b + (size_t)b->units * 16);
}

static inline struct mcm_block *blk_prev(struct mcm_block *b)
{
	return (struct mcm_block *)((char *)b - (size_t)b->prev_units * 16);
}

static inline struct mcm_segment *seg_of_first(struct mcm_block *b)
{
	return (struct mcm_segment *)((char *)b - MCM_SEG_HDR);
}

/* ---- bins ---- */

/* The smallest size of the last bin (16 MiB), in units. */
#define BIN_TOP_UNITS ((16u << 20) / 16)
_Static_assert(MCM_NBINS - 1 == (24 - 5) * 4, "the last bin is the first of 2^24 bytes");

static inline unsigned bin_of(uint32_t units)
{
	size_t s = (size_t)units * 16;
	unsigned b = 63 - (unsigned)__builtin_clzl(s);
	if (units >= BIN_TOP_UNITS)
		return MCM_NBINS - 1;
	return (b - 5) * 4 + (unsigned)((s >> (b - 2)) & 3);
}

static void bin_insert(struct mcm_arena *a, struct mcm_fblock *f)
{
	unsigned i = bin_of(f->h.units);

	f->bk = NULL;
	f->fd = a->bins[i];
	if (f->fd)
		f->fd->bk = f;
	a->bins[i] = f;
	a->binmap[i / 64] |= 1ull << (i % 64);
}

static void bin_remove(struct mcm_arena *a, struct mcm_fblock *f)
{
	unsigned i = bin_of(f->h.units);

	if (f->fd)
		f->fd->bk = f->bk;
	if (f->bk) {
		f->bk->fd = f->fd;
	} else {
		if (mcm_opt.check && a->bins[i] != f)
			mcm_die("heap", f, "free list corrupted (bin head mismatch)");
		a->bins[i] = f->fd;
		if (!f->fd)
			a->binmap[i / 64] &= ~(1ull << (i % 64));
	}
}

/*
 * Puts free block n where o is in bin i (n's size belongs to the same bin): what a
 * split or a merge that keeps the bin does, without two bin_of, the head and bitmap
 * updates of a remove and an insert. o and n must not overlap (they are >= 32 apart).
 */
static inline void bin_replace(struct mcm_arena *a, struct mcm_fblock *o, struct mcm_fblock *n,
			       unsigned i)
{
	n->fd = o->fd;
	n->bk = o->bk;
	if (n->fd)
		n->fd->bk = n;
	if (n->bk) {
		n->bk->fd = n;
	} else {
		if (mcm_opt.check && a->bins[i] != o)
			mcm_die("heap", o, "free list corrupted (bin head mismatch)");
		a->bins[i] = n;
	}
}

/* The first non-empty bin at or after i, or MCM_NBINS: the bitmap, not the bin heads. */
static inline unsigned bin_next(const struct mcm_arena *a, unsigned i)
{
	for (unsigned w = i / 64; w < sizeof(a->binmap) / 8; w++) {
		uint64_t m = a->binmap[w];
		if (w == i / 64)
			m &= ~0ull << (i % 64);
		if (m)
			return w * 64 + (unsigned)__builtin_ctzll(m);
	}
	return MCM_NBINS;
}

/*
 * Segregated fit: first fit among at most 16 blocks of the request's own bin (whose
 * sizes differ by < 25%), else the first block of the next non-empty bin, which fits
 * by construction. Close to best fit at O(1) cost.
 */
static struct mcm_fblock *bin_find(struct mcm_arena *a, uint32_t units)
{
	unsigned i = bin_of(units);
	int n = 0;

	for (struct mcm_fblock *f = a->bins[i]; f && n < 16; f = f->fd, n++)
		if (f->h.units >= units)
			return f;
	i = bin_next(a, i + 1);
	return i < MCM_NBINS ? a->bins[i] : NULL;
}

/* ---- segments ---- */

static void seg_link(struct mcm_arena *a, struct mcm_segment *s)
{
	s->prev = NULL;
	s->next = a->segs;
	if (s->next)
		s->next->prev = s;
	a->segs = s;
}

static void seg_unlink(struct mcm_arena *a, struct mcm_segment *s)
{
	if (s->next)
		s->next->prev = s->prev;
	if (s->prev)
		s->prev->next = s->next;
	else
		a->segs = s->next;
}

/* Lays out one free block and the fence over [first, end). */
static struct mcm_fblock *seg_format(struct mcm_arena *a, struct mcm_segment *s)
{
	struct mcm_block *first = (struct mcm_block *)((char *)s + MCM_SEG_HDR);
	struct mcm_block *fence = (struct mcm_block *)((char *)s + s->size - 16);
	uint32_t units = (uint32_t)(((char *)fence - (char *)first) / 16);

	first->arena = a->index;
	first->prev_units = 0;
	mcm_hdr_set(first, units, MCM_B_PINUSE | MCM_B_FIRST | (a->brk ? 0 : MCM_B_LAST));
	fence->arena = a->index;
	fence->prev_units = units;
	mcm_hdr_set(fence, 1, MCM_B_INUSE | MCM_B_FENCE);
	return (struct mcm_fblock *)first;
}

static bool seg_new(struct mcm_arena *a, uint32_t units)
{
	struct mcm_segment *s = a->spare;
	size_t need = (size_t)units * 16 + MCM_SEG_HDR + 16;

	if (s && s->size >= need) {
		a->spare = NULL;
	} else {
		size_t len =
			need <= SEG_SIZE ? SEG_SIZE : (need + (1ul << 20) - 1) & ~((1ul << 20) - 1);
		s = mcm_os_map(len);
		if (!s)
			return false;
		s->size = len;
		s->arena = a;
		s->is_brk = 0;
		a->mapped += len;
		a->n_grow++;
	}
	seg_link(a, s);
	bin_insert(a, seg_format(a, s));
	return true;
}

/* Takes a wholly free segment out of service: kept as the spare or unmapped. */
static void seg_release(struct mcm_arena *a, struct mcm_segment *s)
{
	seg_unlink(a, s);
	if (!a->spare && s->size == SEG_SIZE) {
		/*
		 * Kept mapped (no map/unmap churn) but not resident: the arena's other free
		 * space is used first, and a spare full of stale pages is what doubled the
		 * peak RSS of realloc chains. The first page keeps the header seg_new reads.
		 */
		mcm_os_decommit((char *)s + MCM_OS_PAGE, s->size - MCM_OS_PAGE);
		a->spare = s;
		return;
	}
	a->mapped -= s->size;
	a->n_trim++;
	mcm_os_unmap(s, s->size);
}

static inline struct mcm_block *brk_fence(struct mcm_arena *a)
{
	return (struct mcm_block *)((char *)a->brk + a->brk->size - 16);
}

/*
 * Extends the brk heap by at least `units`. The old fence becomes the header of the
 * new space, which is then merged with a free block before it. Fails (and arena 0
 * falls back to mapped segments for good) if someone else moved the break.
 */
static bool brk_grow(struct mcm_arena *a, uint32_t units)
{
	size_t incr = ((size_t)units * 16 + 16 + BRK_STEP - 1) & ~(BRK_STEP - 1);

	if (brk_failed)
		return false;
	if (!a->brk) {
		char *cur = sbrk(0);
		size_t pad = (64 - (uintptr_t)cur % 64) % 64;
		if (cur == (void *)-1 || sbrk((intptr_t)(pad + incr)) != cur) {
			brk_failed = true;
			return false;
		}
		struct mcm_segment *s = (struct mcm_segment *)(cur + pad);
		s->size = incr;
		s->arena = a;
		s->is_brk = 1;
		s->next = s->prev = NULL;
		a->brk = s;
		a->mapped += incr;
		a->n_grow++;
		bin_insert(a, seg_format(a, s));
		return true;
	}
	if (units > UINT32_MAX / 2 || a->brk->size + incr > (16ul << 30))
		return false;
	char *end = (char *)a->brk + a->brk->size;
	char *got = sbrk((intptr_t)incr);
	if (got == (void *)-1)
		return false;
	if (got != end) {
		/* Not contiguous: hand the piece back only if the break is still ours. */
		if ((char *)sbrk(0) == got + incr)
			sbrk(-(intptr_t)incr);
		brk_failed = true;
		return false;
	}
	struct mcm_block *old = brk_fence(a);
	uint32_t nu = (uint32_t)(incr / 16);
	uint16_t pflag = old->flags & MCM_B_PINUSE;
	a->brk->size += incr;
	a->mapped += incr;
	a->n_grow++;
	struct mcm_block *fence = brk_fence(a);
	fence->arena = a->index;
	mcm_hdr_set(old, nu, pflag);
	if (!pflag) {
		struct mcm_block *prev = blk_prev(old);
		bin_remove(a, (struct mcm_fblock *)prev);
		mcm_hdr_set(prev, prev->units + nu, prev->flags);
		old = prev;
	}
	fence->prev_units = old->units;
	mcm_hdr_set(fence, 1, MCM_B_INUSE | MCM_B_FENCE);
	bin_insert(a, (struct mcm_fblock *)old);
	return true;
}

/* Gives the top of the brk heap back, keeping `keep` bytes. b is the free top block. */
static bool brk_trim(struct mcm_arena *a, struct mcm_block *b, size_t keep)
{
	size_t have = (size_t)b->units * 16;
	char *end = (char *)a->brk + a->brk->size;

	if (have <= keep + 4096 || (char *)sbrk(0) != end)
		return false;
	size_t rel = (have - keep) & ~4095ul;
	uint32_t nu = b->units - (uint32_t)(rel / 16);
	if (sbrk(-(intptr_t)rel) == (void *)-1)
		return false;
	a->brk->size -= rel;
	a->mapped -= rel;
	a->n_trim++;
	mcm_hdr_set(b, nu, b->flags);
	struct mcm_block *fence = brk_fence(a);
	fence->arena = a->index;
	fence->prev_units = nu;
	mcm_hdr_set(fence, 1, MCM_B_INUSE | MCM_B_FENCE);
	return true;
}

/* Decommits the pages inside a free block; its header and links stay. */
static void decommit_interior(struct mcm_block *b, struct mcm_decommit *d)
{
	uintptr_t lo = ((uintptr_t)b + sizeof(struct mcm_fblock) + 4095) & ~4095ul;
	uintptr_t hi = ((uintptr_t)b + (size_t)b->units * 16) & ~4095ul;

	if (hi > lo)
		mcm_os_decommit_add(d, (void *)lo, hi - lo);
}

/* b is free: is it the only block of a mapped segment (so the segment can go)? */
static bool whole_segment(struct mcm_arena *a, struct mcm_block *b)
{
	if (!(b->flags & MCM_B_FIRST))
		return false;
	if (b->flags & MCM_B_LAST)
		return true;
	return (blk_next(b)->flags & MCM_B_FENCE) && !(a->brk && seg_of_first(b) == a->brk);
}

/*
 * Gives back the pages of free blocks of SWEEP_MIN or more that have stayed free since
 * the previous sweep, and of younger ones beyond `keep` bytes; wholly free segments are
 * unmapped instead. Recently freed memory up to `keep` stays resident: a program that
 * frees and reallocates big blocks reuses faulted-in pages instead of refaulting fresh
 * ones (what made the mmap-per-block path slow), while memory left free for a whole
 * sweep interval still goes back.
 */
static void sweep(struct mcm_arena *a, size_t keep)
{
	size_t young = 0;
	/* Given back in batches, before the lock is released (nothing reuses them before). */
	struct mcm_decommit d;

	d.n = 0;

	/*
	 * Only the non-empty bins: walking all 124 bin heads from SWEEP_MIN up was a third
	 * of the instructions of the large-block workload (a sweep every few frees there).
	 */
	for (unsigned i = bin_next(a, bin_of(SWEEP_MIN / 16)); i < MCM_NBINS;
	     i = bin_next(a, i + 1)) {
		struct mcm_fblock *f, *next;
		for (f = a->bins[i]; f; f = next) {
			struct mcm_block *b = &f->h;
			size_t sz = (size_t)b->units * 16;
			next = f->fd;
			if (b->flags & MCM_B_DECOM)
				continue;
			if (!(b->flags & MCM_B_AGED) && young < keep) {
				/*
				 * Young: keep its head resident (first fit reuses heads first) and
				 * give back whatever exceeds the budget.
				 */
				if (sz > keep - young) {
					uintptr_t lo =
						((uintptr_t)b + (keep - young) + 4095) & ~4095ul;
					uintptr_t hi = ((uintptr_t)b + sz) & ~4095ul;
					if (lo < (uintptr_t)(f + 1))
						lo = ((uintptr_t)(f + 1) + 4095) & ~4095ul;
					if (hi > lo && (lo < a->clean_lo || hi > a->clean_hi)) {
						mcm_os_decommit_add(&d, (void *)lo, hi - lo);
						a->clean_lo = lo;
						a->clean_hi = hi;
					}
					sz = keep - young;
				}
				young += sz;
				mcm_hdr_flags(b, b->flags | MCM_B_AGED);
				continue;
			}
			if (whole_segment(a, b)) {
				bin_remove(a, f);
				seg_release(a, seg_of_first(b));
				continue;
			}
			decommit_interior(b, &d);
			mcm_hdr_flags(b, b->flags | MCM_B_AGED | MCM_B_DECOM);
		}
	}
	if (d.n)
		mcm_os_decommit_flush(&d);
}

/* ---- allocation ---- */

static inline uint32_t units_for(size_t size)
{
	size_t u = (size + 16 + 15) / 16;

	return u < 2 ? 2 : (uint32_t)u;
}

/* [b, b + len) is about to be written: it no longer counts as known clean. */
static inline void dirty(struct mcm_arena *a, struct mcm_block *b, size_t len)
{
	uintptr_t lo = (uintptr_t)b, hi = lo + len;

	if (lo < a->clean_hi && hi > a->clean_lo) {
		if (lo <= a->clean_lo && hi < a->clean_hi)
			a->clean_lo = hi;
		else
			a->clean_lo = a->clean_hi = 0;
	}
}

/*
 * Marks free block f used with `units`, splitting the rest. f is still in its bin if
 * in_bin (the remainder then takes its place when it stays in that bin: the common
 * case of a big block carved from the head of a segment's free end).
 */
/* Inline (as are validate and lock_block): the calls' register saves and restores were
 * ~50 of the ~450 instructions of a big malloc + free (callgrind, large workload). */
static inline __attribute__((always_inline)) void *take(struct mcm_arena *a, struct mcm_fblock *f,
							uint32_t units, bool in_bin)
{
	struct mcm_block *b = &f->h;
	uint16_t keep = b->flags & (MCM_B_PINUSE | MCM_B_FIRST);
	uint16_t last = b->flags & MCM_B_LAST;

	dirty(a, b, (size_t)units * 16 + sizeof(struct mcm_fblock));
	if (b->units - units >= SPLIT_MIN_UNITS) {
		struct mcm_block *r = (struct mcm_block *)((char *)b + (size_t)units * 16);
		uint32_t ru = b->units - units;
		r->arena = a->index;
		mcm_hdr_set(r, ru, MCM_B_PINUSE | last);
		if (!last)
			blk_next(r)->prev_units = ru;
		if (in_bin && ru >= BIN_TOP_UNITS) {
			/* f was bigger still: both in the last bin. */
			bin_replace(a, f, (struct mcm_fblock *)r, MCM_NBINS - 1);
		} else {
			if (in_bin)
				bin_remove(a, f);
			bin_insert(a, (struct mcm_fblock *)r);
		}
		mcm_hdr_set(b, units, keep | MCM_B_INUSE);
	} else {
		if (in_bin)
			bin_remove(a, f);
		mcm_hdr_set(b, b->units, keep | last | MCM_B_INUSE);
		if (!last) {
			struct mcm_block *n = blk_next(b);
			mcm_hdr_flags(n, n->flags | MCM_B_PINUSE);
		}
	}
	a->in_use += (size_t)b->units * 16;
	return b + 1;
}

void *mcm_block_alloc(struct mcm_arena *a, size_t size)
{
	if (size >= mcm_mmap_threshold())
		return mcm_large_alloc(size, 16, NULL);

	uint32_t units = units_for(size);
	mcm_lock(&a->lock);
	for (;;) {
		struct mcm_fblock *f = bin_find(a, units);
		if (f) {
			void *p = take(a, f, units, true);
			mcm_unlock(&a->lock);
			return p;
		}
		if (!(a->index == 0 && brk_grow(a, units)) && !seg_new(a, units)) {
			mcm_unlock(&a->lock);
			errno = ENOMEM;
			return NULL;
		}
	}
}

/*
 * Over-allocates by the alignment, then frees the misaligned head as a block of its
 * own (at least SPLIT_MIN_UNITS, hence the extra) and splits the tail in take().
 */
void *mcm_block_alloc_aligned(struct mcm_arena *a, size_t align, size_t size)
{
	if (size >= mcm_mmap_threshold() || align >= mcm_mmap_threshold())
		return mcm_large_alloc(size, align, NULL);
	if (size > UINT32_MAX / 2)
		return mcm_large_alloc(size, align, NULL);

	uint32_t units = units_for(size);
	uint32_t want = units + (uint32_t)(align / 16) + SPLIT_MIN_UNITS + 1;
	mcm_lock(&a->lock);
	for (;;) {
		struct mcm_fblock *f = bin_find(a, want);
		if (!f) {
			if (!(a->index == 0 && brk_grow(a, want)) && !seg_new(a, want)) {
				mcm_unlock(&a->lock);
				errno = ENOMEM;
				return NULL;
			}
			continue;
		}
		bin_remove(a, f);
		struct mcm_block *b = &f->h;
		uintptr_t pay = (uintptr_t)(b + 1);
		uintptr_t al = (pay + align - 1) & ~(align - 1);
		while (al != pay && al - pay < SPLIT_MIN_UNITS * 16)
			al += align;
		if (al != pay) {
			/* The head becomes a free block; b2 starts at the aligned payload. */
			uint32_t hu = (uint32_t)((al - pay) / 16);
			struct mcm_block *b2 = (struct mcm_block *)(al - 16);
			uint32_t rest = b->units - hu;
			uint16_t last = b->flags & MCM_B_LAST;
			mcm_hdr_set(b, hu, b->flags & (MCM_B_PINUSE | MCM_B_FIRST));
			b2->arena = a->index;
			b2->prev_units = hu;
			mcm_hdr_set(b2, rest, last);
			if (!last)
				blk_next(b2)->prev_units = rest;
			bin_insert(a, (struct mcm_fblock *)b);
			f = (struct mcm_fblock *)b2;
		}
		void *p = take(a, f, units, false);
		mcm_unlock(&a->lock);
		return p;
	}
}

/* ---- checks ---- */

/* MCMALLOC_CHECK only: out of line, so lock_block's common path stays lean. */
__attribute__((noinline, cold)) static bool in_segment(const void *p)
{
	for (int i = 0; i < mcm_narenas; i++) {
		struct mcm_arena *a = &mcm_arenas[i];
		bool found = false;
		mcm_lock(&a->lock);
		if (a->brk && (char *)p > (char *)a->brk &&
		    (char *)p < (char *)a->brk + a->brk->size)
			found = true;
		for (struct mcm_segment *s = a->segs; s && !found; s = s->next)
			if ((char *)p > (char *)s && (char *)p < (char *)s + s->size)
				found = true;
		if (a->spare && (char *)p > (char *)a->spare &&
		    (char *)p < (char *)a->spare + a->spare->size)
			found = true;
		mcm_unlock(&a->lock);
		if (found)
			return true;
	}
	bool found = false;
	mcm_lock(&mcm_large_lock);
	for (struct mcm_large *l = mcm_large_list; l && !found; l = l->next)
		if ((char *)p > (char *)l->map && (char *)p < (char *)l->map + l->maplen)
			found = true;
	mcm_unlock(&mcm_large_lock);
	return found;
}

static inline __attribute__((always_inline)) void validate(struct mcm_block *b, const void *p,
							   const char *op)
{
	if (b->check != mcm_block_hash(b) || (b->flags & MCM_B_FENCE) ||
	    (!(b->flags & MCM_B_MMAP) && (b->arena >= mcm_narenas || b->units < 2)))
		mcm_die(op, p, "invalid pointer or overwritten block header");
	if (!(b->flags & MCM_B_INUSE))
		mcm_die(op, p, "double free (block is already free)");
	if (mcm_opt.check && !(b->flags & MCM_B_MMAP)) {
		struct mcm_block *n = blk_next(b);
		if (n->check != mcm_block_hash(n))
			mcm_die(op, p, "header of the next block overwritten (buffer overflow?)");
		if (!(b->flags & MCM_B_PINUSE)) {
			struct mcm_block *pr = blk_prev(b);
			if (pr->check != mcm_block_hash(pr) || pr->units != b->prev_units)
				mcm_die(op, p, "header of the previous block overwritten");
		}
	}
}

/*
 * Finds and validates the block of p. For an arena block, returns its arena with the
 * lock held: a neighbour being freed under that lock rewrites our header's PINUSE
 * flag and check, so reading the header unlocked could see half of that write. Large
 * blocks have no neighbours: NULL, no lock.
 */
static inline __attribute__((always_inline)) struct mcm_arena *
lock_block(const void *p, const char *op, struct mcm_block **out)
{
	struct mcm_block *b = mcm_blk_of(p);

	if ((uintptr_t)p % 16)
		mcm_die(op, p, "invalid pointer (not 16-byte aligned, never returned by malloc)");
	if (mcm_opt.check && !in_segment(p))
		mcm_die(op, p, "invalid pointer (not in any mcmalloc heap)");
	*out = b;
	/* The MMAP bit and the arena index never change while the block is allocated. */
	if (__atomic_load_n(&b->flags, __ATOMIC_RELAXED) & MCM_B_MMAP) {
		validate(b, p, op);
		return NULL;
	}
	uint16_t ai = __atomic_load_n(&b->arena, __ATOMIC_RELAXED);
	if (ai >= mcm_narenas)
		mcm_die(op, p, "invalid pointer or overwritten block header");
	struct mcm_arena *a = &mcm_arenas[ai];
	mcm_lock(&a->lock);
	validate(b, p, op);
	return a;
}

/* ---- free ---- */

/*
 * Merges block b (being freed, not in a bin; INUSE may still be set) with free
 * neighbours; a->lock held. b's header is always rewritten: as the merged block's, or,
 * merged into its predecessor, as a dead free header.
 */
static void release(struct mcm_arena *a, struct mcm_block *b)
{
	uint32_t units = b->units;
	uint16_t flags = b->flags & (MCM_B_PINUSE | MCM_B_FIRST | MCM_B_LAST);

	if (!(flags & MCM_B_PINUSE)) {
		struct mcm_block *p = blk_prev(b);
		bin_remove(a, (struct mcm_fblock *)p);
		/* The dead header stays valid and free, so a second free says "double free". */
		mcm_hdr_set(b, b->units, 0);
		units += p->units;
		flags = (p->flags & (MCM_B_PINUSE | MCM_B_FIRST)) | (flags & MCM_B_LAST);
		b = p;
	}
	/* A free successor stays in its bin until the end: b may take its place there. */
	struct mcm_fblock *slot = NULL;
	if (!(flags & MCM_B_LAST)) {
		struct mcm_block *n = (struct mcm_block *)((char *)b + (size_t)units * 16);
		if (!(n->flags & MCM_B_INUSE)) {
			/*
			 * n's header is left as it is, inside b now: it was free already, so a
			 * stale free of it still fails as a double free.
			 */
			slot = (struct mcm_fblock *)n;
			units += n->units;
			flags |= n->flags & MCM_B_LAST;
		}
	}
	mcm_hdr_set(b, units, flags);
	/*
	 * A wholly free segment stays in the bins: the sweep releases it once it has stayed
	 * unused, so a thread that frees and reallocates a big block does not map and
	 * fault a new segment every time.
	 */
	if (!(flags & MCM_B_LAST)) {
		struct mcm_block *n = blk_next(b);
		n->prev_units = units;
		mcm_hdr_flags(n, n->flags & ~MCM_B_PINUSE);
		if (a->brk && n == brk_fence(a) && (size_t)units * 16 > mcm_trim_threshold()) {
			/* Out of its bin first: the trim may give slot's own page back. */
			if (slot)
				bin_remove(a, slot);
			slot = NULL;
			brk_trim(a, b, BRK_KEEP);
		}
	}
	if (slot) {
		/* b took slot in: b is bigger, so if slot is in the last bin, b belongs there too. */
		if (slot->h.units >= BIN_TOP_UNITS) {
			bin_replace(a, slot, (struct mcm_fblock *)b, MCM_NBINS - 1);
			return;
		}
		bin_remove(a, slot);
	}
	bin_insert(a, (struct mcm_fblock *)b);
}

void mcm_block_free(void *p)
{
	struct mcm_block *b;
	struct mcm_arena *a = lock_block(p, "free()", &b);

	if (!a) {
		mcm_large_free(b);
		return;
	}
	size_t sz = (size_t)b->units * 16;
	a->in_use -= sz;
	/* No need to clear INUSE first: release() rewrites b's header either way. */
	release(a, b);
	a->freed += sz;
	if (a->freed > SWEEP_BYTES && a->freed > mcm_mmap_threshold()) {
		a->freed = 0;
		sweep(a, mcm_mmap_threshold());
	}
	mcm_unlock(&a->lock);
}

static size_t usable_of(struct mcm_block *b)
{
	if (b->flags & MCM_B_MMAP) {
		struct mcm_large *l = (struct mcm_large *)((char *)b - sizeof(struct mcm_large));
		return (size_t)((char *)l->map + l->maplen - (char *)(b + 1));
	}
	return (size_t)b->units * 16 - 16;
}

size_t mcm_block_usable(const void *p)
{
	struct mcm_block *b;
	struct mcm_arena *a = lock_block(p, "malloc_usable_size()", &b);
	size_t n = usable_of(b);

	if (a)
		mcm_unlock(&a->lock);
	return n;
}

void *mcm_block_resize(void *p, size_t size)
{
	struct mcm_block *b;
	struct mcm_arena *a = lock_block(p, "realloc()", &b);

	if (!a)
		return mcm_large_resize(b, size);
	/*
	 * No mmap threshold check, as in glibc: growing in place past it beats moving the
	 * block to a mapping, which copies it and keeps both resident meanwhile.
	 */
	if (size > UINT32_MAX / 2) {
		mcm_unlock(&a->lock);
		return NULL;
	}

	uint32_t units = units_for(size);
	if (units > b->units) {
		struct mcm_block *n = blk_next(b);
		if (a->brk) {
			/* At the top of the brk heap: move the break instead of the block. */
			bool nfree = !(n->flags & MCM_B_INUSE);
			struct mcm_block *top = nfree ? blk_next(n) : n;
			if (top == brk_fence(a) && b->units + (nfree ? n->units : 0) < units)
				brk_grow(a, units - b->units);
			n = blk_next(b);
		}
		if ((n->flags & MCM_B_INUSE) || b->units + n->units < units) {
			mcm_unlock(&a->lock);
			return NULL;
		}
		bin_remove(a, (struct mcm_fblock *)n);
		/* Only what the block grows into is written; a split-off tail stays clean. */
		dirty(a, n, (size_t)(units - b->units) * 16 + sizeof(struct mcm_fblock));
		a->in_use += (size_t)n->units * 16;
		uint16_t last = n->flags & MCM_B_LAST;
		mcm_hdr_set(n, n->units, 0);
		mcm_hdr_set(b, b->units + n->units, b->flags | last);
		if (!last) {
			n = blk_next(b);
			mcm_hdr_flags(n, n->flags | MCM_B_PINUSE);
		}
	}
	if (b->units - units >= SPLIT_MIN_UNITS) {
		/* Shrink: the tail becomes a free block, merged with a free successor. */
		struct mcm_block *r = (struct mcm_block *)((char *)b + (size_t)units * 16);
		uint32_t ru = b->units - units;
		r->arena = a->index;
		r->prev_units = 0;
		mcm_hdr_set(r, ru, MCM_B_PINUSE | (b->flags & MCM_B_LAST));
		mcm_hdr_set(b, units, b->flags & ~MCM_B_LAST);
		a->in_use -= (size_t)ru * 16;
		release(a, r);
	}
	mcm_unlock(&a->lock);
	return p;
}

void *mcm_block_calloc(struct mcm_arena *a, size_t size)
{
	void *p;

	if (size >= mcm_mmap_threshold()) {
		bool fresh = false;
		/* A fresh mapping is already zero: skip the memset that would fault it all in. */
		p = mcm_large_alloc(size, 16, &fresh);
		if (p && !fresh)
			memset(p, 0, size);
		return p;
	}
	p = mcm_block_alloc(a, size);
	if (p)
		memset(p, 0, size);
	return p;
}

/* ---- maintenance ---- */

void mcm_block_init(void)
{
	int n = mcm_os_ncpu() * 8;

	mcm_narenas = n < 8 ? 8 : n > MCM_MAX_ARENAS ? MCM_MAX_ARENAS : n;
	/* Only the arenas in use: touching all 64 would fault in ~100 KiB of .bss. */
	for (int i = 0; i < mcm_narenas; i++)
		mcm_arenas[i].index = (uint16_t)i;
}

int mcm_block_trim(size_t pad)
{
	int released = 0;

	for (int i = 0; i < mcm_narenas; i++) {
		struct mcm_arena *a = &mcm_arenas[i];
		mcm_lock(&a->lock);
		if (a->spare) {
			a->mapped -= a->spare->size;
			mcm_os_unmap(a->spare, a->spare->size);
			a->spare = NULL;
			released = 1;
		}
		if (a->brk) {
			struct mcm_block *f = brk_fence(a);
			if (!(f->flags & MCM_B_PINUSE)) {
				struct mcm_block *top = blk_prev(f);
				bin_remove(a, (struct mcm_fblock *)top);
				if (brk_trim(a, top, pad < 4096 ? 4096 : pad))
					released = 1;
				bin_insert(a, (struct mcm_fblock *)top);
			}
		}
		struct mcm_decommit d;
		d.n = 0;
		for (unsigned b = bin_next(a, bin_of(4096 * 2 / 16)); b < MCM_NBINS;
		     b = bin_next(a, b + 1)) {
			struct mcm_fblock *f, *next;
			for (f = a->bins[b]; f; f = next) {
				next = f->fd;
				released = 1;
				if (whole_segment(a, &f->h)) {
					bin_remove(a, f);
					seg_unlink(a, seg_of_first(&f->h));
					a->mapped -= seg_of_first(&f->h)->size;
					a->n_trim++;
					mcm_os_unmap(seg_of_first(&f->h),
						     seg_of_first(&f->h)->size);
					continue;
				}
				decommit_interior(&f->h, &d);
				mcm_hdr_flags(&f->h, f->h.flags | MCM_B_AGED | MCM_B_DECOM);
			}
		}
		if (d.n)
			mcm_os_decommit_flush(&d);
		mcm_unlock(&a->lock);
	}
	if (mcm_large_trim())
		released = 1;
	return released;
}

void mcm_block_arena_idle(struct mcm_arena *a, bool purge)
{
	mcm_lock(&a->lock);
	/*
	 * Not everything: the arena goes to the next new thread, and programs that start
	 * threads one after another would refault it all. When purging, what stays is 128
	 * KiB per arena (glibc's default top pad): the running budget of one mmap threshold
	 * (up to 32 MiB once it has adapted) kept an exited thread's big blocks resident.
	 */
	sweep(a, purge ? IDLE_KEEP : mcm_mmap_threshold());
	a->freed = 0;
	mcm_unlock(&a->lock);
}

void mcm_block_fork_prepare(void)
{
	for (int i = 0; i < mcm_narenas; i++)
		mcm_lock(&mcm_arenas[i].lock);
	mcm_lock(&mcm_large_lock);
}

void mcm_block_fork_parent(void)
{
	mcm_unlock(&mcm_large_lock);
	for (int i = mcm_narenas - 1; i >= 0; i--)
		mcm_unlock(&mcm_arenas[i].lock);
}

void mcm_block_fork_child(void)
{
	/* Only the forking thread exists now and it held every lock: reset, don't wake. */
	mcm_large_lock.v = 0;
	for (int i = 0; i < mcm_narenas; i++)
		mcm_arenas[i].lock.v = 0;
}
