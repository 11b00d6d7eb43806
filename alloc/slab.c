/* SPDX-License-Identifier: MIT */
/*
 * Size classes on 64 KiB slab pages, and the per-thread heaps that own them: the
 * common malloc/free touches only the caller's own heap and page, with no lock and no
 * atomic. Frees from other threads go onto a lock-free per-page stack that the owner
 * collects; pages of exited threads are abandoned and adopted by whoever needs them.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>

const uint32_t mcm_class_size[MCM_NCLASS] = {
	16,  32,  48,  64,   80,   96,	 112,  128,  160,  192,	 224,  256,  320,  384,	 448,  512,
	640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
};

char *mcm_region;
size_t mcm_region_size;

/* The sentinel behind every empty cur[] slot: no free objects, never owned. */
static struct mcm_page empty_page;
struct mcm_heap mcm_empty_heap = { .cur = { [0 ... MCM_NCLASS - 1] = &empty_page } };
__thread struct mcm_heap *mcm_tl_heap __attribute__((tls_model("initial-exec"))) = &mcm_empty_heap;

struct mcm_heap *mcm_heaps;
struct mcm_lock mcm_heaps_lock;
static char *meta_next, *meta_end;
static unsigned next_arena;

/* Invariant: pool_lock guards the pool lists and the region bump pointer. */
static struct mcm_lock pool_lock;
static struct mcm_page *pool_dirty;
/* Decommitted pages: their headers read as zeros, so they are kept in an array. */
static struct mcm_page **pool_clean;
static size_t n_dirty, n_clean, n_pages;
static char *region_next, *region_committed;
#define POOL_DIRTY_MAX 64 /* 4 MiB of freed pages kept resident for reuse */
#define HEAP_CACHE_MAX 4
#define POOL_KEEP_IDLE 8      /* dirty pages left when a thread exits */
#define EXIT_PURGE_MIN_MS 100 /* ... if it lived at least this long */
#define COMMIT_STEP (4ul << 20)

/* Invariant: aband_lock guards abandoned[] and every field of the pages on it. */
static struct mcm_lock aband_lock;
static struct mcm_page *abandoned[MCM_NCLASS];
static size_t n_abandoned;
static uint64_t remote_frees, remote_bytes;

static inline uint8_t pg_state(struct mcm_page *pg)
{
	return __atomic_load_n(&pg->state, __ATOMIC_RELAXED);
}

static inline void pg_set_state(struct mcm_page *pg, uint8_t st)
{
	__atomic_store_n(&pg->state, st, __ATOMIC_RELAXED);
}

void mcm_slab_init(void)
{
	/*
	 * One contiguous reservation makes "is this a slab object?" a single compare.
	 * PROT_NONE costs no commit charge; shrink the request under RLIMIT_AS.
	 */
	for (size_t sz = 64ul << 30; sz >= (256ul << 20); sz >>= 1) {
		char *p = mcm_os_reserve(sz + MCM_PAGE_SIZE);
		if (!p)
			continue;
		char *al = (char *)(((uintptr_t)p + MCM_PAGE_SIZE - 1) & ~(MCM_PAGE_SIZE - 1));
		pool_clean = mcm_os_map(sz / MCM_PAGE_SIZE * sizeof(*pool_clean));
		if (!pool_clean) {
			mcm_os_unmap(p, sz + MCM_PAGE_SIZE);
			continue;
		}
		region_next = region_committed = al;
		mcm_region_size = sz;
		/* Published last: free() tests membership against these two. */
		__atomic_store_n(&mcm_region, al, __ATOMIC_RELEASE);
		return;
	}
	mcm_opt.small = false;
}

/* ---- pages ---- */

static struct mcm_page *page_get(struct mcm_heap *h)
{
	struct mcm_page *pg;

	if (h->cache) {
		pg = h->cache;
		h->cache = pg->next;
		h->ncache--;
		return pg;
	}
	mcm_lock(&pool_lock);
	if (pool_dirty) {
		pg = pool_dirty;
		pool_dirty = pg->next;
		n_dirty--;
	} else if (n_clean) {
		pg = pool_clean[--n_clean];
	} else {
		if (region_next + MCM_PAGE_SIZE > mcm_region + mcm_region_size) {
			mcm_unlock(&pool_lock);
			return NULL;
		}
		if (region_next + MCM_PAGE_SIZE > region_committed) {
			size_t step = COMMIT_STEP;
			if (region_committed + step > mcm_region + mcm_region_size)
				step = (size_t)(mcm_region + mcm_region_size - region_committed);
			if (mcm_os_commit(region_committed, step)) {
				mcm_unlock(&pool_lock);
				return NULL;
			}
			region_committed += step;
		}
		pg = (struct mcm_page *)region_next;
		region_next += MCM_PAGE_SIZE;
		n_pages++;
	}
	mcm_unlock(&pool_lock);
	return pg;
}

static int pool_trim(size_t keep);

/* An empty page goes to the heap's cache, the dirty pool, or back to the kernel. */
static void page_put(struct mcm_heap *h, struct mcm_page *pg)
{
	__atomic_store_n(&pg->owner, NULL, __ATOMIC_RELAXED);
	pg_set_state(pg, MCM_PG_POOL);
	if (h && h->ncache < HEAP_CACHE_MAX) {
		pg->next = h->cache;
		h->cache = pg;
		h->ncache++;
		return;
	}
	mcm_lock(&pool_lock);
	pg->next = pool_dirty;
	pool_dirty = pg;
	if (++n_dirty <= POOL_DIRTY_MAX) {
		mcm_unlock(&pool_lock);
		return;
	}
	mcm_unlock(&pool_lock);
	/*
	 * Full: the older half goes back to the kernel in one batch. Page by page, the
	 * fragmentation workload made 5.5k madvise calls at 2 threads, each with a TLB
	 * shootdown IPI to the other CPU (13% of all samples, perf -a).
	 */
	pool_trim(POOL_DIRTY_MAX / 2);
}

/*
 * Decommits the dirty pool down to `keep` pages, the most recently pooled (the LIFO's
 * top) staying. The syscalls run outside the lock; a fork meanwhile only loses the
 * pages in flight to the child.
 */
static int pool_trim(size_t keep)
{
	struct mcm_page *list = NULL, **pp = &pool_dirty;

	mcm_lock(&pool_lock);
	if (n_dirty > keep) {
		for (size_t i = 0; i < keep; i++)
			pp = &(*pp)->next;
		list = *pp;
		*pp = NULL;
		n_dirty = keep;
	}
	mcm_unlock(&pool_lock);
	if (!list)
		return 0;
	/*
	 * In chunks, each decommitted in one batch before any of its pages is published
	 * (a page handed out first would lose its new contents). A page's link is read
	 * before it is decommitted: its header reads as zeros after.
	 */
	struct mcm_page *v[MCM_DECOMMIT_BATCH];
	struct mcm_decommit d;
	size_t n = 0;
	d.n = 0;
	while (list) {
		v[n++] = list;
		mcm_os_decommit_add(&d, list, MCM_PAGE_SIZE);
		list = list->next;
		if (n == MCM_DECOMMIT_BATCH || !list) {
			mcm_os_decommit_flush(&d);
			mcm_lock(&pool_lock);
			for (size_t i = 0; i < n; i++)
				pool_clean[n_clean++] = v[i];
			mcm_unlock(&pool_lock);
			n = 0;
		}
	}
	return 1;
}

static void page_init(struct mcm_page *pg, struct mcm_heap *h, unsigned cls)
{
	uint32_t size = mcm_class_size[cls];

	pg->free = NULL;
	pg->bump = (char *)pg + MCM_PAGE_HDR;
	pg->end = pg->bump + (size_t)((MCM_PAGE_SIZE - MCM_PAGE_HDR) / size) * size;
	pg->next = pg->prev = NULL;
	pg->used = 0;
	pg->size = size;
	pg->cls = (uint8_t)cls;
	pg_set_state(pg, MCM_PG_CUR);
	__atomic_store_n(&pg->thread_free, NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&pg->owner, h, __ATOMIC_RELAXED);
}

static void list_push(struct mcm_page **head, struct mcm_page *pg)
{
	pg->prev = NULL;
	pg->next = *head;
	if (pg->next)
		pg->next->prev = pg;
	*head = pg;
}

static void list_del(struct mcm_page **head, struct mcm_page *pg)
{
	if (pg->next)
		pg->next->prev = pg->prev;
	if (pg->prev)
		pg->prev->next = pg->next;
	else
		*head = pg->next;
}

/*
 * Moves the other threads' frees onto the owner's list. Acquire pairs with the
 * release CAS in mcm_slab_free_remote: the link words written by the freeing thread
 * are visible before we walk them. O(objects collected).
 */
static bool collect(struct mcm_page *pg)
{
	void *l = __atomic_exchange_n(&pg->thread_free, NULL, __ATOMIC_ACQUIRE);
	void **tail;
	uint32_t n = 1;

	if (!l)
		return false;
	for (tail = l; *tail; tail = *tail)
		n++;
	*tail = pg->free;
	pg->free = l;
	pg->used -= n;
	return true;
}

/* Threads a batch of never-used objects onto the free list: about one OS page. */
static void extend(struct mcm_page *pg)
{
	uint32_t size = pg->size;
	size_t n = (size_t)(pg->end - pg->bump) / size;
	size_t batch = size >= 4096 ? 1 : 4096 / size;
	char *p = pg->bump;

	if (n > batch)
		n = batch;
	for (size_t i = 0; i + 1 < n; i++)
		*(void **)(p + i * size) = p + (i + 1) * size;
	*(void **)(p + (n - 1) * size) = pg->free;
	/*
	 * The tail moves before the batch is published: a fork from another thread between
	 * the two stores (nothing here is locked) must not leave the batch both on the free
	 * list and in the never-used tail, or a child adopting the page hands it out twice.
	 * This order leaks the batch at worst. The release store keeps the order for the
	 * compiler and the CPU; on x86 it is a plain store.
	 */
	pg->bump = p + n * size;
	__atomic_store_n(&pg->free, (void *)p, __ATOMIC_RELEASE);
}

static void check_pop(struct mcm_page *pg, void **o)
{
	void *next = *o;

	if (next && (mcm_page_of(next) != pg || (char *)next < (char *)pg + MCM_PAGE_HDR ||
		     ((uintptr_t)((char *)next - (char *)pg - MCM_PAGE_HDR)) % pg->size))
		mcm_die("malloc()", o, "free list overwritten (use after free or overflow?)");
	o[1] = NULL;
}

static inline void *pop(struct mcm_heap *h, struct mcm_page *pg)
{
	void **o = pg->free;

	if (unlikely(mcm_opt.check))
		check_pop(pg, o);
	pg->free = *o;
	pg->used++;
	h->n_alloc++;
	h->bytes_alloc += pg->size;
	return o;
}

/*
 * The full page pg stops being current. The state store and the thread_free load are
 * both seq_cst, as are the CAS and state load in mcm_slab_free_remote: of a remote
 * free racing with this, at least one side sees the other, so a full page never waits
 * for a hint that will not come.
 */
static bool retire_full(struct mcm_heap *h, struct mcm_page *pg)
{
	list_push(&h->full[pg->cls], pg);
	__atomic_store_n(&pg->state, MCM_PG_FULL, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&pg->thread_free, __ATOMIC_SEQ_CST)) {
		list_del(&h->full[pg->cls], pg);
		pg_set_state(pg, MCM_PG_CUR);
		collect(pg);
		return false;
	}
	return true;
}

/* Rescans full pages after other threads said they freed into some of them. */
static void recover_full(struct mcm_heap *h)
{
	for (unsigned c = 0; c < MCM_NCLASS; c++) {
		struct mcm_page *pg = h->full[c], *next;
		for (; pg; pg = next) {
			next = pg->next;
			if (!__atomic_load_n(&pg->thread_free, __ATOMIC_RELAXED))
				continue;
			list_del(&h->full[c], pg);
			collect(pg);
			if (pg->used == 0) {
				page_put(h, pg);
			} else {
				pg_set_state(pg, MCM_PG_AVAIL);
				list_push(&h->avail[c], pg);
			}
		}
	}
}

/* Takes over the abandoned pages of class c. */
static void adopt(struct mcm_heap *h, unsigned c)
{
	struct mcm_page *list;

	if (!__atomic_load_n(&abandoned[c], __ATOMIC_RELAXED))
		return;
	mcm_lock(&aband_lock);
	list = abandoned[c];
	abandoned[c] = NULL;
	for (struct mcm_page *pg = list; pg; pg = pg->next)
		n_abandoned--;
	mcm_unlock(&aband_lock);
	while (list) {
		struct mcm_page *pg = list;
		list = pg->next;
		__atomic_store_n(&pg->owner, h, __ATOMIC_RELAXED);
		collect(pg);
		if (pg->used == 0) {
			page_put(h, pg);
		} else if (pg->free || pg->bump < pg->end) {
			pg_set_state(pg, MCM_PG_AVAIL);
			list_push(&h->avail[c], pg);
		} else {
			pg_set_state(pg, MCM_PG_FULL);
			list_push(&h->full[c], pg);
		}
	}
}

static void *fallback(size_t size)
{
	return mcm_block_alloc(&mcm_arenas[0], size);
}

void *mcm_slab_alloc_slow(struct mcm_heap *h, unsigned cls)
{
	if (h == &mcm_empty_heap) {
		h = mcm_heap_get();
		if (!h)
			return fallback(mcm_class_size[cls]);
	}
	if (!mcm_opt.small)
		return mcm_block_alloc(h->arena, mcm_class_size[cls]);
	for (;;) {
		struct mcm_page *pg = h->cur[cls];
		if (pg != &empty_page) {
			if (pg->free)
				return pop(h, pg);
			/*
			 * Objects other threads freed before never-used ones: extending first
			 * would fault in the whole page while freed objects wait (a producer/
			 * consumer pair then holds a full page per class).
			 */
			if (__atomic_load_n(&pg->thread_free, __ATOMIC_RELAXED) && collect(pg))
				return pop(h, pg);
			if (pg->bump < pg->end) {
				extend(pg);
				return pop(h, pg);
			}
			h->cur[cls] = &empty_page;
			if (!retire_full(h, pg)) {
				h->cur[cls] = pg;
				continue;
			}
		}
		if (!h->avail[cls] && __atomic_exchange_n(&h->remote_hint, 0, __ATOMIC_RELAXED))
			recover_full(h);
		if (!h->avail[cls])
			adopt(h, cls);
		if (h->avail[cls]) {
			pg = h->avail[cls];
			list_del(&h->avail[cls], pg);
			pg_set_state(pg, MCM_PG_CUR);
			h->cur[cls] = pg;
			continue;
		}
		pg = page_get(h);
		if (!pg) {
			/* Slab region exhausted: the boundary-tag heap takes over. */
			return mcm_block_alloc(h->arena, mcm_class_size[cls]);
		}
		page_init(pg, h, cls);
		h->cur[cls] = pg;
	}
}

/* A local free made pg empty, or freed into a full page. */
void mcm_slab_free_slow(struct mcm_heap *h, struct mcm_page *pg)
{
	uint8_t st = pg_state(pg);

	if (st == MCM_PG_FULL) {
		list_del(&h->full[pg->cls], pg);
		if (pg->used == 0) {
			page_put(h, pg);
			return;
		}
		pg_set_state(pg, MCM_PG_AVAIL);
		list_push(&h->avail[pg->cls], pg);
	} else if (st == MCM_PG_AVAIL && pg->used == 0) {
		list_del(&h->avail[pg->cls], pg);
		page_put(h, pg);
	}
}

/*
 * h is the freeing thread's heap (mcm_empty_heap if it has none yet). The counts go to
 * that heap, written by its owner alone: a thread that only frees (a consumer) made two
 * global atomic adds per free, on one line shared by every such thread, ~60% of this
 * function's samples in the producer/consumer workload at 8 threads. Such a thread now
 * takes a heap at its first remote free; only a thread already exiting uses the globals.
 */
void mcm_slab_free_remote(struct mcm_heap *h, struct mcm_page *pg, void *p)
{
	void *old = __atomic_load_n(&pg->thread_free, __ATOMIC_RELAXED);

	if (unlikely(h == &mcm_empty_heap) && !mcm_thread_dying()) {
		h = mcm_heap_get();
		if (!h)
			h = &mcm_empty_heap;
	}
	if (likely(h != &mcm_empty_heap)) {
		h->n_remote++;
		h->bytes_remote += pg->size;
	} else {
		__atomic_fetch_add(&remote_frees, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&remote_bytes, pg->size, __ATOMIC_RELAXED);
	}
	/* seq_cst: see retire_full. It includes the release the collector's acquire needs. */
	do
		*(void **)p = old;
	while (!__atomic_compare_exchange_n(&pg->thread_free, &old, p, true, __ATOMIC_SEQ_CST,
					    __ATOMIC_RELAXED));
	/*
	 * From here the page may already be collected, emptied and reused: reading its
	 * state and owner is still safe (the region is never unmapped, heaps are never
	 * freed) and at worst sends a spurious hint.
	 */
	if (__atomic_load_n(&pg->state, __ATOMIC_SEQ_CST) == MCM_PG_FULL) {
		struct mcm_heap *o = __atomic_load_n(&pg->owner, __ATOMIC_RELAXED);
		if (o)
			__atomic_fetch_add(&o->remote_hint, 1, __ATOMIC_RELAXED);
	}
}

/* ---- heaps ---- */

static struct mcm_heap *heap_new(void)
{
	size_t sz = (sizeof(struct mcm_heap) + 63) & ~63ul;

	if (meta_next + sz > meta_end) {
		meta_next = mcm_os_map(64 << 10);
		if (!meta_next)
			return NULL;
		meta_end = meta_next + (64 << 10);
	}
	struct mcm_heap *h = (struct mcm_heap *)meta_next;
	meta_next += sz;
	h->next_all = mcm_heaps;
	mcm_heaps = h;
	if (next_arena == 0 || mcm_narenas < 2)
		h->arena = &mcm_arenas[0];
	else
		h->arena = &mcm_arenas[1 + (next_arena - 1) % (unsigned)(mcm_narenas - 1)];
	next_arena++;
	h->arena->used = true;
	return h;
}

struct mcm_heap *mcm_heap_get(void)
{
	struct mcm_heap *h = mcm_tl_heap;

	if (h != &mcm_empty_heap)
		return h;
	mcm_init();
	if (mcm_thread_dying())
		return NULL;
	mcm_lock(&mcm_heaps_lock);
	h = NULL;
	/* Reuse an exited thread's heap (and with it its arena) before making one. */
	for (struct mcm_heap *x = mcm_heaps; x; x = x->next_all)
		if (!x->live) {
			h = x;
			break;
		}
	if (!h)
		h = heap_new();
	if (h) {
		for (unsigned c = 0; c < MCM_NCLASS; c++)
			h->cur[c] = &empty_page;
		h->live = true;
		h->born_ms = mcm_os_now_ms();
	}
	mcm_unlock(&mcm_heaps_lock);
	if (!h)
		return NULL;
	mcm_tl_heap = h;
	mcm_thread_attach(h);
	return h;
}

/*
 * Pass 1 of abandoning, run as the owner: collects pg and gives it back if nothing in
 * it is alive. Returns true if it did (pg is off every list then).
 */
static bool release_if_empty(struct mcm_heap *h, struct mcm_page **head, struct mcm_page *pg)
{
	collect(pg);
	if (pg->used != 0)
		return false;
	if (head)
		list_del(head, pg);
	else
		h->cur[pg->cls] = &empty_page;
	page_put(NULL, pg);
	return true;
}

static void abandon_page(struct mcm_page *pg)
{
	/* Release: the owner's writes to the page precede its adoption by another heap. */
	__atomic_store_n(&pg->owner, NULL, __ATOMIC_RELEASE);
	pg_set_state(pg, MCM_PG_ABANDONED);
	pg->prev = NULL;
	pg->next = abandoned[pg->cls];
	abandoned[pg->cls] = pg;
	n_abandoned++;
}

/*
 * Invariant (fork): a fork sees a heap either still wholly owned (its lists intact, as
 * between any two of its owner's operations) or with every page handed over and its
 * lists empty, never in between. The atfork handlers take aband_lock, so the hand-over
 * is all done under it. Abandoning page by page outside it let a fork catch the exit
 * hook half way: the child found the heap still live, walked lists whose pages were
 * already on abandoned[] (their links now into that list) and abandoned them again,
 * and the cycle made the next allocation of that class spin forever in adopt(). Now
 * the child abandons such a heap again harmlessly: its lists are either intact or empty.
 */
void mcm_heap_abandon(struct mcm_heap *h)
{
	/* Pass 1, still the owner: empty pages go back (page_put may unmap: no lock held). */
	while (h->cache) {
		struct mcm_page *pg = h->cache;
		h->cache = pg->next;
		h->ncache--;
		page_put(NULL, pg);
	}
	for (unsigned c = 0; c < MCM_NCLASS; c++) {
		struct mcm_page *pg, *next;
		if (h->cur[c] != &empty_page)
			release_if_empty(h, NULL, h->cur[c]);
		for (pg = h->avail[c]; pg; pg = next) {
			next = pg->next;
			release_if_empty(h, &h->avail[c], pg);
		}
		for (pg = h->full[c]; pg; pg = next) {
			next = pg->next;
			release_if_empty(h, &h->full[c], pg);
		}
	}
	/*
	 * A thread that lived long enough gives the pool back down to 8 pages and its
	 * arena down to 128 KiB: a program whose threads freed everything and exited kept
	 * the whole 4 MiB pool and one mmap threshold per arena resident for good
	 * (fragmentation workload: ~6 MiB after freeing everything vs glibc's ~2 MiB).
	 * Short-lived threads do not: a thread-per-task program's next thread would refault
	 * what the purge gave back (3000 threads of 400 mallocs: 496 -> 519k page faults,
	 * 0.18 -> 1.1 s). A full purge costs the next thread ~1000 faults, ~2 ms here:
	 * after 100 ms of life that is at most 2%.
	 */
	bool purge = mcm_os_now_ms() - h->born_ms >= EXIT_PURGE_MIN_MS;
	if (purge)
		pool_trim(POOL_KEEP_IDLE);
	/* Pass 2: the pages with live objects change hands at once. */
	mcm_lock(&aband_lock);
	for (unsigned c = 0; c < MCM_NCLASS; c++) {
		struct mcm_page *pg, *next;
		if (h->cur[c] != &empty_page)
			abandon_page(h->cur[c]);
		h->cur[c] = &empty_page;
		for (pg = h->avail[c]; pg; pg = next) {
			next = pg->next;
			abandon_page(pg);
		}
		for (pg = h->full[c]; pg; pg = next) {
			next = pg->next;
			abandon_page(pg);
		}
		h->avail[c] = h->full[c] = NULL;
	}
	mcm_unlock(&aband_lock);
	/* Nobody allocates from the arena until a new thread takes it: sweep it now. */
	if (h->arena)
		mcm_block_arena_idle(h->arena, purge);
	mcm_lock(&mcm_heaps_lock);
	h->live = false;
	mcm_unlock(&mcm_heaps_lock);
}

int mcm_slab_trim(void)
{
	int released = 0;
	struct mcm_heap *h = mcm_tl_heap;
	struct mcm_page *empty = NULL;

	if (!mcm_region)
		return 0;
	while (h != &mcm_empty_heap && h->cache) {
		struct mcm_page *pg = h->cache;
		h->cache = pg->next;
		h->ncache--;
		page_put(NULL, pg);
	}
	/* Abandoned pages whose objects were all freed by now. */
	mcm_lock(&aband_lock);
	for (unsigned c = 0; c < MCM_NCLASS; c++) {
		struct mcm_page **pp = &abandoned[c];
		while (*pp) {
			struct mcm_page *pg = *pp;
			collect(pg);
			if (pg->used == 0) {
				*pp = pg->next;
				n_abandoned--;
				pg->next = empty;
				empty = pg;
			} else {
				pp = &pg->next;
			}
		}
	}
	mcm_unlock(&aband_lock);
	while (empty) {
		struct mcm_page *pg = empty;
		empty = pg->next;
		page_put(NULL, pg);
	}
	if (pool_trim(0))
		released = 1;
	return released;
}

void mcm_slab_stats(struct mcm_slab_stats *s)
{
	memset(s, 0, sizeof(*s));
	mcm_lock(&mcm_heaps_lock);
	for (struct mcm_heap *h = mcm_heaps; h; h = h->next_all) {
		s->n_alloc += __atomic_load_n(&h->n_alloc, __ATOMIC_RELAXED);
		s->n_free += __atomic_load_n(&h->n_free, __ATOMIC_RELAXED);
		s->bytes_alloc += __atomic_load_n(&h->bytes_alloc, __ATOMIC_RELAXED);
		s->bytes_freed += __atomic_load_n(&h->bytes_freed, __ATOMIC_RELAXED);
		s->n_remote += __atomic_load_n(&h->n_remote, __ATOMIC_RELAXED);
		s->bytes_freed += __atomic_load_n(&h->bytes_remote, __ATOMIC_RELAXED);
		s->heaps += h->live;
	}
	mcm_unlock(&mcm_heaps_lock);
	s->n_remote += __atomic_load_n(&remote_frees, __ATOMIC_RELAXED);
	s->n_free += s->n_remote;
	s->bytes_freed += __atomic_load_n(&remote_bytes, __ATOMIC_RELAXED);
	mcm_lock(&pool_lock);
	s->pages_total = n_pages;
	s->pages_pool = n_dirty + n_clean;
	s->committed = (size_t)(region_committed - mcm_region);
	mcm_unlock(&pool_lock);
	s->pages_abandoned = __atomic_load_n(&n_abandoned, __ATOMIC_RELAXED);
}

char *mcm_slab_end(void)
{
	mcm_lock(&pool_lock);
	char *e = region_next;
	mcm_unlock(&pool_lock);
	return e;
}

void mcm_slab_fork_prepare(void)
{
	mcm_lock(&mcm_heaps_lock);
	mcm_lock(&aband_lock);
	mcm_lock(&pool_lock);
}

void mcm_slab_fork_parent(void)
{
	mcm_unlock(&pool_lock);
	mcm_unlock(&aband_lock);
	mcm_unlock(&mcm_heaps_lock);
}

void mcm_slab_fork_child(void)
{
	mcm_heaps_lock.v = 0;
	aband_lock.v = 0;
	pool_lock.v = 0;
	/*
	 * The other threads' heaps have no thread left in the child: abandon them so their
	 * pages can be adopted and objects freed into them are not stranded.
	 */
	for (struct mcm_heap *h = mcm_heaps; h; h = h->next_all)
		if (h->live && h != mcm_tl_heap)
			mcm_heap_abandon(h);
}
