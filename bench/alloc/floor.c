/* SPDX-License-Identifier: MIT */
/*
 * A lower bound for the `large` workload, not an allocator: what it costs when malloc
 * and free do (almost) nothing. Each thread gets one lazily faulted 16 MiB mapping and
 * every block of 64 KiB or more is at the same place in it (the workload holds one big
 * block per thread at a time); free() releases nothing; small blocks are bumped from a
 * shared pool and never reused. The pages the workload touches still fault in once, as
 * with any allocator on 4 KiB pages. With -DFLOOR_LOCK, free() also takes and drops an
 * uncontended per-thread lock, as every real allocator's free of a big block does (the
 * locked instruction waits for the program's own pending stores; see
 * docs/benchmarks/alloc.md). For `workloads scratch N`, a small block (<= 48 bytes) is
 * a per-thread slot whenever that slot is free, so the loop's malloc + free is a TLS
 * test and a store: what that workload costs with no allocator at all. Valid only for
 * `workloads large N` and `workloads scratch N`; built and run by bench/alloc/floor.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define POOL_SIZE (256ul << 20)
#define BIG_SIZE (16ul << 20)
/* Mid-page, where mcmalloc puts a segment's first block. */
#define BIG_OFF 1136

static char *pool;
static __thread char *big __attribute__((tls_model("initial-exec")));

static void *bump(size_t n, size_t align)
{
	if (!__atomic_load_n(&pool, __ATOMIC_ACQUIRE)) {
		char *p = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		char *none = NULL;
		if (p == MAP_FAILED)
			return NULL;
		if (!__atomic_compare_exchange_n(&pool, &none, p, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			munmap(p, POOL_SIZE);
	}
	for (;;) {
		char *cur = __atomic_load_n(&pool, __ATOMIC_ACQUIRE);
		char *r = (char *)(((uintptr_t)cur + 16 + align - 1) & ~(uintptr_t)(align - 1));
		if (__atomic_compare_exchange_n(&pool, &cur, r + n, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			((size_t *)r)[-1] = n;
			return r;
		}
	}
}

static __thread char slot[64] __attribute__((aligned(64), tls_model("initial-exec")));
static __thread int slot_used __attribute__((tls_model("initial-exec")));

void *malloc(size_t n)
{
	if (n <= 48 && !slot_used) {
		slot_used = 1;
		return slot + 16;
	}
	if (n >= (64 << 10) && n <= BIG_SIZE - BIG_OFF) {
		if (!big) {
			char *p = mmap(NULL, BIG_SIZE, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				return NULL;
			big = p;
		}
		((size_t *)(big + BIG_OFF))[-1] = n;
		return big + BIG_OFF;
	}
	return bump(n, 16);
}

#ifdef FLOOR_LOCK
static __thread int lk __attribute__((tls_model("initial-exec")));
#endif

void free(void *p)
{
	if (p == slot + 16)
		slot_used = 0;
#ifdef FLOOR_LOCK
	int z = 0;
	if (__atomic_compare_exchange_n(&lk, &z, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		__atomic_store_n(&lk, 0, __ATOMIC_RELEASE);
#endif
}

void *calloc(size_t a, size_t b)
{
	void *p;

	if (b && a > SIZE_MAX / b)
		return NULL;
	p = malloc(a * b);
	if (p)
		memset(p, 0, a * b);
	return p;
}

void *realloc(void *p, size_t n)
{
	void *q = malloc(n);

	if (q && p) {
		size_t o = ((size_t *)p)[-1];
		memmove(q, p, o < n ? o : n);
	}
	return q;
}

void *memalign(size_t al, size_t n)
{
	return bump(n, al < 16 ? 16 : al);
}

void *aligned_alloc(size_t al, size_t n)
{
	return memalign(al, n);
}

int posix_memalign(void **out, size_t al, size_t n)
{
	*out = memalign(al, n);
	return *out ? 0 : ENOMEM;
}

size_t malloc_usable_size(void *p);
size_t malloc_usable_size(void *p)
{
	return p ? ((size_t *)p)[-1] : 0;
}
