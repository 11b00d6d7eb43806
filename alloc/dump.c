/* SPDX-License-Identifier: MIT */
/*
 * Seeing the heap: the block map (MCMALLOC_DUMP and mc_malloc_dump), the counters
 * (MCMALLOC_STATS and mc_malloc_stats_print) and mallinfo2. Formats with mcm_out
 * into a stack buffer and write(2)s: no malloc, no stdio.
 */
#include "internal.h"

#include <mc/malloc.h>

#include <string.h>
#include <unistd.h>

#define MCM_API __attribute__((visibility("default")))

static struct mcm_lock dump_lock;

struct totals {
	uint64_t heap, used, free, largest, nfree;
};

static void block_line(struct mcm_out *o, const void *addr, uint64_t bytes, const char *what)
{
	mcm_out_str(o, "[BLOCK ");
	mcm_out_hex(o, (uintptr_t)addr);
	mcm_out_str(o, ": ");
	mcm_out_u64(o, bytes);
	mcm_out_str(o, " bytes ");
	mcm_out_str(o, what);
	mcm_out_str(o, "]\n");
}

/* Walks the blocks of one segment or brk heap, from `first` to its fence. */
static void walk(struct mcm_out *o, struct mcm_block *b, struct totals *t, bool print)
{
	while (!(b->flags & MCM_B_FENCE)) {
		uint64_t sz = (uint64_t)b->units * 16;
		bool used = b->flags & MCM_B_INUSE;
		if (print)
			block_line(o, b, sz, used ? "USED" : "FREE");
		if (used) {
			t->used += sz;
		} else {
			t->free += sz;
			t->nfree++;
			if (sz > t->largest)
				t->largest = sz;
		}
		if (!b->units)
			break; /* a corrupted header: stop rather than loop */
		b = (struct mcm_block *)((char *)b + sz);
	}
}

static void seg_line(struct mcm_out *o, int arena, const char *kind, const void *at, size_t size)
{
	mcm_out_str(o, "arena ");
	mcm_out_u64(o, (uint64_t)arena);
	mcm_out_str(o, ": ");
	mcm_out_str(o, kind);
	mcm_out_str(o, " at ");
	mcm_out_hex(o, (uintptr_t)at);
	mcm_out_str(o, ", ");
	mcm_out_u64(o, size);
	mcm_out_str(o, " bytes\n");
}

static void arenas_walk(struct mcm_out *o, struct totals *t, bool print)
{
	for (int i = 0; i < mcm_narenas; i++) {
		struct mcm_arena *a = &mcm_arenas[i];
		mcm_lock(&a->lock);
		if (a->brk) {
			if (print)
				seg_line(o, i, "brk heap", a->brk, a->brk->size);
			t->heap += a->brk->size;
			walk(o, (struct mcm_block *)((char *)a->brk + MCM_SEG_HDR), t, print);
		}
		for (struct mcm_segment *s = a->segs; s; s = s->next) {
			if (print)
				seg_line(o, i, "segment", s, s->size);
			t->heap += s->size;
			walk(o, (struct mcm_block *)((char *)s + MCM_SEG_HDR), t, print);
		}
		if (a->spare) {
			if (print)
				seg_line(o, i, "spare segment (all free)", a->spare,
					 a->spare->size);
			t->heap += a->spare->size;
			t->free += a->spare->size;
		}
		mcm_unlock(&a->lock);
	}
}

/*
 * Slab pages of other threads are read without their owners' cooperation: the
 * counts are a snapshot that may be a few objects off, never unsafe (the region is
 * never unmapped).
 */
static void slabs_walk(struct mcm_out *o, struct totals *t, bool print)
{
	char *end = mcm_region ? mcm_slab_end() : NULL;

	for (char *p = mcm_region; p && p < end; p += MCM_PAGE_SIZE) {
		struct mcm_page *pg = (struct mcm_page *)p;
		uint8_t st = __atomic_load_n(&pg->state, __ATOMIC_RELAXED);
		if (st == MCM_PG_POOL)
			continue;
		uint32_t size = __atomic_load_n(&pg->size, __ATOMIC_RELAXED);
		uint32_t used = __atomic_load_n(&pg->used, __ATOMIC_RELAXED);
		uint32_t cap = size ? (uint32_t)((MCM_PAGE_SIZE - MCM_PAGE_HDR) / size) : 0;
		if (used > cap)
			used = cap;
		t->heap += MCM_PAGE_SIZE;
		t->used += (uint64_t)used * size + MCM_PAGE_HDR;
		t->free += (uint64_t)(cap - used) * size;
		if (print) {
			mcm_out_str(o, "[SLAB ");
			mcm_out_hex(o, (uintptr_t)p);
			mcm_out_str(o, ": ");
			mcm_out_u64(o, MCM_PAGE_SIZE);
			mcm_out_str(o, " bytes class ");
			mcm_out_u64(o, size);
			mcm_out_str(o, ": ");
			mcm_out_u64(o, used);
			mcm_out_str(o, " USED ");
			mcm_out_u64(o, cap - used);
			mcm_out_str(o, " FREE");
			if (st == MCM_PG_ABANDONED)
				mcm_out_str(o, " ABANDONED");
			mcm_out_str(o, "]\n");
		}
	}
}

static void large_walk(struct mcm_out *o, struct totals *t, bool print)
{
	mcm_lock(&mcm_large_lock);
	for (struct mcm_large *l = mcm_large_list; l; l = l->next) {
		struct mcm_block *b = (struct mcm_block *)(l + 1);
		uint64_t sz = (uint64_t)((char *)l->map + l->maplen - (char *)b);
		if (print)
			block_line(o, b, sz, "MMAP");
		t->heap += l->maplen;
		t->used += l->maplen;
	}
	mcm_unlock(&mcm_large_lock);
}

static void kv(struct mcm_out *o, const char *k, uint64_t v, bool human)
{
	mcm_out_str(o, k);
	mcm_out_u64(o, v);
	mcm_out_str(o, " bytes");
	if (human && v >= 1024) {
		mcm_out_str(o, " (");
		mcm_out_size(o, v);
		mcm_out_str(o, ")");
	}
}

MCM_API int mc_malloc_dump(int fd)
{
	struct mcm_out o;
	struct totals t = { 0 };

	mcm_init();
	mcm_out_init(&o, fd);
	mcm_lock(&dump_lock);
	mcm_out_str(&o, "mcmalloc heap map, pid ");
	mcm_out_u64(&o, (uint64_t)getpid());
	mcm_out_str(&o, "\n");
	arenas_walk(&o, &t, true);
	mcm_out_str(&o, "slab pages (size classes):\n");
	slabs_walk(&o, &t, true);
	mcm_out_str(&o, "large blocks (own mappings):\n");
	large_walk(&o, &t, true);
	mcm_out_str(&o, "summary:");
	kv(&o, " heap size ", t.heap, true);
	kv(&o, ", in use ", t.used, true);
	kv(&o, ", free ", t.free, true);
	kv(&o, ", largest free block ", t.largest, true);
	/* External fragmentation: the share of free memory outside the largest free block. */
	uint64_t permille = t.free ? 1000 - t.largest * 1000 / t.free : 0;
	mcm_out_str(&o, ", fragmentation ");
	mcm_out_u64(&o, permille / 10);
	mcm_out_str(&o, ".");
	mcm_out_u64(&o, permille % 10);
	mcm_out_str(&o, "%\n");
	int r = mcm_out_flush(&o);
	mcm_unlock(&dump_lock);
	return r;
}

static void stat_line(struct mcm_out *o, const char *k, uint64_t v)
{
	mcm_out_str(o, "  ");
	mcm_out_str(o, k);
	for (size_t n = strlen(k); n < 24; n++)
		mcm_out_str(o, " ");
	mcm_out_u64(o, v);
	mcm_out_str(o, "\n");
}

MCM_API int mc_malloc_stats_print(int fd)
{
	struct mcm_out o;
	struct mcm_slab_stats s;
	struct mcm_large_stats l;
	size_t mapped = 0, in_use = 0;
	uint64_t grows = 0, trims = 0;
	int used = 0;

	mcm_init();
	mcm_slab_stats(&s);
	mcm_large_stats(&l);
	for (int i = 0; i < mcm_narenas; i++) {
		struct mcm_arena *a = &mcm_arenas[i];
		mcm_lock(&a->lock);
		mapped += a->mapped;
		in_use += a->in_use;
		grows += a->n_grow;
		trims += a->n_trim;
		used += a->mapped != 0;
		mcm_unlock(&a->lock);
	}
	mcm_out_init(&o, fd);
	mcm_out_str(&o, "mcmalloc stats, pid ");
	mcm_out_u64(&o, (uint64_t)getpid());
	mcm_out_str(&o, "\n");
	stat_line(&o, "small mallocs", s.n_alloc);
	stat_line(&o, "small frees", s.n_free);
	stat_line(&o, "cross-thread frees", s.n_remote);
	stat_line(&o, "small bytes in use", s.bytes_alloc - s.bytes_freed);
	stat_line(&o, "slab pages made", s.pages_total);
	stat_line(&o, "slab pages pooled", s.pages_pool);
	stat_line(&o, "slab pages abandoned", s.pages_abandoned);
	stat_line(&o, "slab bytes committed", s.committed);
	stat_line(&o, "live thread heaps", s.heaps);
	stat_line(&o, "arenas with memory", (uint64_t)used);
	stat_line(&o, "arena bytes mapped", mapped);
	stat_line(&o, "arena bytes in use", in_use);
	stat_line(&o, "arena grows", grows);
	stat_line(&o, "arena trims", trims);
	stat_line(&o, "large blocks live", l.n);
	stat_line(&o, "large bytes mapped", l.bytes);
	stat_line(&o, "large maps", l.n_map);
	stat_line(&o, "large unmaps", l.n_unmap);
	stat_line(&o, "large cache reuses", l.n_reuse);
	stat_line(&o, "large cache bytes", l.cached_bytes);
	return mcm_out_flush(&o);
}

MCM_API struct mallinfo2 mc_mallinfo2(void)
{
	struct mallinfo2 mi;
	struct mcm_slab_stats s;
	struct mcm_large_stats l;
	struct totals t = { 0 };

	memset(&mi, 0, sizeof(mi));
	mcm_init();
	mcm_slab_stats(&s);
	mcm_large_stats(&l);
	arenas_walk(NULL, &t, false);
	size_t slab_bytes = (s.pages_total - s.pages_pool) * MCM_PAGE_SIZE;
	size_t small_used = s.bytes_alloc - s.bytes_freed;
	mi.arena = t.heap + slab_bytes;
	mi.ordblks = t.nfree;
	mi.smblks = s.pages_pool;
	mi.hblks = l.n;
	mi.hblkhd = l.bytes;
	mi.uordblks = t.used + small_used;
	mi.fordblks = mi.arena > mi.uordblks ? mi.arena - mi.uordblks : 0;
	mi.fsmblks = s.pages_pool * MCM_PAGE_SIZE;
	mi.keepcost = 0;
	struct mcm_arena *a = &mcm_arenas[0];
	mcm_lock(&a->lock);
	if (a->brk) {
		struct mcm_block *f = (struct mcm_block *)((char *)a->brk + a->brk->size - 16);
		if (!(f->flags & MCM_B_PINUSE))
			mi.keepcost = (size_t)f->prev_units * 16;
	}
	mcm_unlock(&a->lock);
	return mi;
}

#ifdef MCM_OVERRIDE
struct mallinfo2 mallinfo2(void) __attribute__((alias("mc_mallinfo2"), visibility("default")));
#endif

void mcm_dump_fork_prepare(void)
{
	mcm_lock(&dump_lock);
}

void mcm_dump_fork_parent(void)
{
	mcm_unlock(&dump_lock);
}

void mcm_dump_fork_child(void)
{
	dump_lock.v = 0;
}
