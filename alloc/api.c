/* SPDX-License-Identifier: MIT */
/*
 * The malloc family: routes each request to a size-class page (<= 8 KiB) or the
 * boundary-tag heaps, and owns start-up, the fork and thread-exit hooks, the exit-time
 * dump and stats, and (in libmcmalloc.so) the glibc names as aliases.
 */
#include "internal.h"

#include <mc/malloc.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define MCM_API __attribute__((visibility("default")))

int mcm_ready;
static int init_state; /* 0 not started, 1 running, 2 done */
static __thread int tl_initing __attribute__((tls_model("initial-exec")));
static __thread int tl_dying __attribute__((tls_model("initial-exec")));
static pthread_key_t exit_key;

static void on_thread_exit(void *arg)
{
	struct mcm_heap *h = arg;

	if (h != mcm_tl_heap)
		return;
	/*
	 * Frees later in this thread's teardown still work (they take the cross-thread
	 * path); allocations fall back to arena 0 instead of making a heap nobody would
	 * abandon.
	 */
	tl_dying = 1;
	mcm_tl_heap = &mcm_empty_heap;
	mcm_heap_abandon(h);
}

bool mcm_thread_dying(void)
{
	return tl_dying;
}

bool mcm_thread_attach(struct mcm_heap *h)
{
	/* Another thread still creating the key: wait for it (once, at start-up). */
	while (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != 2 && !tl_initing)
		sched_yield();
	if (tl_initing)
		return false;
	/* Keys below 32 live in the thread descriptor: pthread_setspecific does not allocate. */
	return pthread_setspecific(exit_key, h) == 0;
}

static void fork_prepare(void)
{
	mcm_dump_fork_prepare();
	mcm_slab_fork_prepare();
	mcm_block_fork_prepare();
}

static void fork_parent(void)
{
	mcm_block_fork_parent();
	mcm_slab_fork_parent();
	mcm_dump_fork_parent();
}

static void fork_child(void)
{
	mcm_block_fork_child();
	mcm_dump_fork_child();
	mcm_slab_fork_child();
}

void mcm_init_slow(void)
{
	int z = 0;

	if (__atomic_compare_exchange_n(&init_state, &z, 1, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		tl_initing = 1;
		mcm_options_read();
		mcm_block_init();
		mcm_slab_init();
		/*
		 * Ready before calling into libc: pthread_key_create and pthread_atfork may
		 * allocate, and that recursion must find a working allocator.
		 */
		__atomic_store_n(&mcm_ready, 1, __ATOMIC_RELEASE);
		pthread_key_create(&exit_key, on_thread_exit);
		pthread_atfork(fork_prepare, fork_parent, fork_child);
		tl_initing = 0;
		__atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
		return;
	}
	while (!__atomic_load_n(&mcm_ready, __ATOMIC_ACQUIRE))
		sched_yield();
}

/* ---- checks (MCMALLOC_CHECK=1) ---- */

static void check_slab(struct mcm_page *pg, void *p, const char *op)
{
	char *first = (char *)pg + MCM_PAGE_HDR;
	uint8_t st = __atomic_load_n(&pg->state, __ATOMIC_RELAXED);

	if (st == MCM_PG_POOL || (char *)p < first || (char *)p >= pg->bump ||
	    (uintptr_t)((char *)p - first) % pg->size)
		mcm_die(op, p, "invalid pointer (not the start of an allocated block)");
	if (((uint64_t *)p)[1] == (MCM_FREED_MAGIC ^ (uintptr_t)p))
		mcm_die(op, p, "double free");
}

/* ---- allocation ---- */

static inline void *small_alloc(unsigned cls)
{
	struct mcm_heap *h = mcm_tl_heap;
	struct mcm_page *pg = h->cur[cls];
	void **o = pg->free;

	if (likely(o != NULL) && likely(!mcm_opt.check)) {
		pg->free = *o;
		pg->used++;
		h->n_alloc++;
		h->bytes_alloc += pg->size;
		return o;
	}
	return mcm_slab_alloc_slow(h, cls);
}

static inline struct mcm_arena *my_arena(void)
{
	struct mcm_heap *h = mcm_tl_heap;

	if (likely(h != &mcm_empty_heap))
		return h->arena;
	h = mcm_heap_get();

	return h ? h->arena : &mcm_arenas[0];
}

static void *big_alloc(size_t n)
{
	if (unlikely(n > PTRDIFF_MAX)) {
		errno = ENOMEM;
		return NULL;
	}
	mcm_init();
	return mcm_block_alloc(my_arena(), n);
}

MCM_API void *mc_malloc(size_t n)
{
	if (likely(n <= MCM_SMALL_MAX) && likely(mcm_opt.small))
		return small_alloc(mcm_size_class(n));
	return big_alloc(n);
}

static inline void slab_free(void *p)
{
	struct mcm_page *pg = mcm_page_of(p);
	struct mcm_heap *h = mcm_tl_heap;

	if (unlikely(mcm_opt.check)) {
		check_slab(pg, p, "free()");
		((uint64_t *)p)[1] = MCM_FREED_MAGIC ^ (uintptr_t)p;
	}
	if (likely(__atomic_load_n(&pg->owner, __ATOMIC_RELAXED) == h)) {
		*(void **)p = pg->free;
		pg->free = p;
		h->n_free++;
		h->bytes_freed += pg->size;
		if (unlikely(--pg->used == 0) ||
		    unlikely(__atomic_load_n(&pg->state, __ATOMIC_RELAXED) == MCM_PG_FULL))
			mcm_slab_free_slow(h, pg);
		return;
	}
	mcm_slab_free_remote(h, pg, p);
}

MCM_API void mc_free(void *p)
{
	if (likely(mcm_in_slab(p)))
		slab_free(p);
	else if (p)
		mcm_block_free(p);
}

MCM_API void *mc_calloc(size_t nmemb, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(nmemb, size, &n) || n > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	if (n <= MCM_SMALL_MAX && mcm_opt.small) {
		void *p = small_alloc(mcm_size_class(n));
		if (p)
			memset(p, 0, n);
		return p;
	}
	mcm_init();
	return mcm_block_calloc(my_arena(), n);
}

static size_t usable(void *p)
{
	if (mcm_in_slab(p))
		return mcm_page_of(p)->size;
	return mcm_block_usable(p);
}

MCM_API void *mc_realloc(void *p, size_t n)
{
	void *q;
	size_t old;

	if (!p)
		return mc_malloc(n);
	if (n == 0) {
		mc_free(p);
		return NULL;
	}
	if (unlikely(n > PTRDIFF_MAX)) {
		errno = ENOMEM;
		return NULL;
	}
	if (mcm_in_slab(p)) {
		struct mcm_page *pg = mcm_page_of(p);
		if (unlikely(mcm_opt.check))
			check_slab(pg, p, "realloc()");
		old = pg->size;
		/* Same block while the new size still uses more than half of it. */
		if (n <= old && (n > old / 2 || old == 16))
			return p;
	} else {
		q = mcm_block_resize(p, n);
		if (q)
			return q;
		old = mcm_block_usable(p);
	}
	q = mc_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	mc_free(p);
	return q;
}

MCM_API void *mc_reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return mc_realloc(p, n);
}

/* align: a power of two. */
static void *aligned(size_t align, size_t n)
{
	if (align <= MCM_ALIGN)
		return mc_malloc(n);
	if (unlikely(n > PTRDIFF_MAX || align > ((size_t)1 << 40))) {
		errno = ENOMEM;
		return NULL;
	}
	/*
	 * Objects sit at page + 128 + k * size: a class whose size is a multiple of an
	 * alignment up to 128 aligns every object in it.
	 */
	if (align <= MCM_PAGE_HDR && mcm_opt.small) {
		size_t want = (n + align - 1) & ~(align - 1);
		if (want <= MCM_SMALL_MAX) {
			for (unsigned c = mcm_size_class(want); c < MCM_NCLASS; c++)
				if (mcm_class_size[c] % align == 0)
					return small_alloc(c);
		}
	}
	mcm_init();
	return mcm_block_alloc_aligned(my_arena(), align, n);
}

static bool pow2(size_t x)
{
	return x && !(x & (x - 1));
}

MCM_API int mc_posix_memalign(void **out, size_t align, size_t n)
{
	if (!pow2(align) || align % sizeof(void *))
		return EINVAL;
	int saved = errno;
	void *p = aligned(align, n);
	if (!p) {
		errno = saved;
		return ENOMEM;
	}
	*out = p;
	return 0;
}

MCM_API void *mc_aligned_alloc(size_t align, size_t n)
{
	if (!pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return aligned(align, n);
}

MCM_API void *mc_memalign(size_t align, size_t n)
{
	/* glibc semantics: a non-power-of-two alignment is rounded up to one. */
	if (!pow2(align)) {
		if (align > ((size_t)1 << 40)) {
			errno = EINVAL;
			return NULL;
		}
		size_t a = 1;
		while (a < align)
			a <<= 1;
		align = a;
	}
	return aligned(align, n);
}

MCM_API void *mc_valloc(size_t n)
{
	return aligned(MCM_OS_PAGE, n);
}

MCM_API void *mc_pvalloc(size_t n)
{
	size_t r;

	if (__builtin_add_overflow(n, MCM_OS_PAGE - 1, &r)) {
		errno = ENOMEM;
		return NULL;
	}
	return aligned(MCM_OS_PAGE, r & ~(size_t)(MCM_OS_PAGE - 1));
}

MCM_API size_t mc_malloc_usable_size(void *p)
{
	return p ? usable(p) : 0;
}

MCM_API int mc_malloc_trim(size_t pad)
{
	if (!__atomic_load_n(&mcm_ready, __ATOMIC_ACQUIRE))
		return 0;
	int a = mcm_slab_trim();
	int b = mcm_block_trim(pad);
	return a || b;
}

/* ---- exit ---- */

__attribute__((constructor)) static void mcm_ctor(void)
{
	/* Reads MCMALLOC_* now, so a bad value is reported before the program runs. */
	mcm_init();
}

__attribute__((destructor)) static void mcm_dtor(void)
{
	if (!__atomic_load_n(&mcm_ready, __ATOMIC_ACQUIRE))
		return;
	if (mcm_opt.dump) {
		char path[4096];
		size_t j = 0;
		/* "%p" in the file name becomes the pid: forked children do not clobber it. */
		for (const char *s = mcm_opt.dump; *s && j + 24 < sizeof(path); s++) {
			if (s[0] == '%' && s[1] == 'p') {
				char tmp[24];
				int k = sizeof(tmp);
				unsigned long pid = (unsigned long)getpid();
				do {
					tmp[--k] = (char)('0' + pid % 10);
					pid /= 10;
				} while (pid);
				while (k < (int)sizeof(tmp))
					path[j++] = tmp[k++];
				s++;
			} else {
				path[j++] = *s;
			}
		}
		path[j] = 0;
		int fd = strcmp(path, "stderr")
				 ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
				 : 2;
		if (fd >= 0) {
			mc_malloc_dump(fd);
			if (fd != 2)
				close(fd);
		}
	}
	if (mcm_opt.stats)
		mc_malloc_stats_print(2);
}

/* ---- the glibc names (libmcmalloc.so only) ---- */

#ifdef MCM_OVERRIDE
#define ALIAS(name) __attribute__((alias(#name), visibility("default"), used))
void *malloc(size_t n) ALIAS(mc_malloc);
void free(void *p) ALIAS(mc_free);
void *calloc(size_t nmemb, size_t size) ALIAS(mc_calloc);
void *realloc(void *p, size_t n) ALIAS(mc_realloc);
void *reallocarray(void *p, size_t nmemb, size_t size) ALIAS(mc_reallocarray);
int posix_memalign(void **out, size_t align, size_t n) ALIAS(mc_posix_memalign);
void *aligned_alloc(size_t align, size_t n) ALIAS(mc_aligned_alloc);
void *memalign(size_t align, size_t n) ALIAS(mc_memalign);
void *valloc(size_t n) ALIAS(mc_valloc);
void *pvalloc(size_t n) ALIAS(mc_pvalloc);
size_t malloc_usable_size(void *p) ALIAS(mc_malloc_usable_size);
int malloc_trim(size_t pad) ALIAS(mc_malloc_trim);
/* cfree is gone from glibc's headers but old binaries still call it. */
void cfree(void *p) ALIAS(mc_free);
#endif
