/* SPDX-License-Identifier: MIT */
/*
 * The allocator's contract, written once against M(name): api_linked.c binds it to
 * the mc_* entry points of the linked library, api_preload.c to the libc names with
 * libmcmalloc.so preloaded. Covers the API contract, threads with cross-thread frees,
 * fork while threads allocate, splitting and coalescing seen through the dump, and
 * memory going back to the OS seen in RSS.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The tests compare addresses of freed and reallocated blocks on purpose. */
#pragma GCC diagnostic ignored "-Wuse-after-free"

#ifndef M
#error "define M(name) before including contract.h"
#endif

/* The library's threshold defaults (alloc/os.c): blocks in between use the arenas. */
#define SMALL_MAX 8192
#define MMAP_THRESHOLD (256 << 10)

/* Opaque to the compiler: keeps it from folding malloc(huge) == NULL at compile time. */
static size_t opaque(size_t x)
{
	__asm__ volatile("" : "+r"(x));
	return x;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void fill(void *p, size_t n, uint64_t tag)
{
	unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		c[i] = (unsigned char)(tag + i * 31);
}

static bool verify(const void *p, size_t n, uint64_t tag)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i] != (unsigned char)(tag + i * 31))
			return false;
	return true;
}

TEST(malloc_alignment_and_usable_size)
{
	static const size_t sizes[] = { 0,     1,      7,      15,     16,	17,	24,   100,
					128,   129,    1000,   4096,   8191,	8192,	8193, 20000,
					65536, 200000, 262144, 300000, 1 << 20, 5 << 20 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		char *p = M(malloc)(n);
		ASSERT_NONNULL(p);
		ASSERT_EQ(0, (uintptr_t)p % 16);
		size_t u = M(malloc_usable_size)(p);
		ASSERT_GE(u, n);
		/* Usable means usable: the whole reported size can be written. */
		memset(p, 0xab, u);
		M(free)(p);
	}
	ASSERT_EQ(0, M(malloc_usable_size)(NULL));
}

TEST(malloc_zero_is_unique)
{
	void *a = M(malloc)(0), *b = M(malloc)(0);

	ASSERT_NONNULL(a);
	ASSERT_NONNULL(b);
	ASSERT_NE(a, b);
	M(free)(a);
	M(free)(b);
	M(free)(NULL);
}

TEST(overflow_is_enomem)
{
	errno = 0;
	ASSERT_NULL(M(malloc)(opaque(SIZE_MAX)));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_NULL(M(malloc)(opaque(SIZE_MAX / 2 + 1)));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_NULL(M(calloc)(opaque(SIZE_MAX / 2), 3));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_NULL(M(calloc)(opaque((size_t)1 << 33), (size_t)1 << 33));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_NULL(M(reallocarray)(NULL, opaque(SIZE_MAX / 4), 8));
	ASSERT_EQ(ENOMEM, errno);
	void *p = M(malloc)(100);
	ASSERT_NONNULL(p);
	errno = 0;
	ASSERT_NULL(M(realloc)(p, opaque(SIZE_MAX - 8)));
	ASSERT_EQ(ENOMEM, errno);
	/* A failed realloc leaves the block alone. */
	M(free)(p);
	errno = 0;
	ASSERT_NULL(M(aligned_alloc)(64, opaque(SIZE_MAX - 32)));
	ASSERT_EQ(ENOMEM, errno);
	void *q = NULL;
	ASSERT_EQ(ENOMEM, M(posix_memalign)(&q, 4096, opaque(SIZE_MAX - 100)));
	ASSERT_NULL(q);
	errno = 0;
	ASSERT_NULL(M(pvalloc)(opaque(SIZE_MAX - 10)));
	ASSERT_EQ(ENOMEM, errno);
}

TEST(calloc_zero_fills_recycled_memory)
{
	static const size_t sizes[] = { 1, 16, 100, 1000, 8000, 20000, 100000, 300000, 3 << 20 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		/* Dirty a block of the same size first so calloc is likely to reuse it. */
		for (int k = 0; k < 4; k++) {
			char *d = M(malloc)(n);
			ASSERT_NONNULL(d);
			memset(d, 0x5a, n);
			M(free)(d);
		}
		unsigned char *p = M(calloc)(n, 1);
		ASSERT_NONNULL(p);
		for (size_t j = 0; j < n; j++)
			ASSERT_EQ(0, p[j]);
		M(free)(p);
	}
	void *z = M(calloc)(0, 10);
	ASSERT_NONNULL(z);
	M(free)(z);
}

TEST(realloc_keeps_content)
{
	uint64_t seed = th_seed();
	size_t n = 1;
	char *p = M(malloc)(n);

	ASSERT_NONNULL(p);
	fill(p, n, seed);
	/* Grow through every path (classes, arena blocks, own mappings), then shrink. */
	while (n < (4 << 20)) {
		size_t m = n * 3 / 2 + 1;
		p = M(realloc)(p, m);
		ASSERT_NONNULL(p);
		ASSERT_EQ(0, (uintptr_t)p % 16);
		ASSERT_TRUE(verify(p, n, seed));
		fill(p, m, seed);
		n = m;
	}
	while (n > 1) {
		size_t m = n / 3;
		p = M(realloc)(p, m);
		ASSERT_NONNULL(p);
		ASSERT_TRUE(verify(p, m, seed));
		n = m;
	}
	M(free)(p);
	/* realloc(NULL, n) is malloc; realloc(p, 0) frees and returns NULL. */
	p = M(realloc)(NULL, 50);
	ASSERT_NONNULL(p);
	ASSERT_NULL(M(realloc)(p, 0));
}

TEST(realloc_in_place)
{
	/* Shrinking an arena block keeps it where it is. */
	char *p = M(malloc)(100000);
	ASSERT_NONNULL(p);
	fill(p, 100000, 7);
	char *q = M(realloc)(p, 30000);
	ASSERT_EQ(p, q);
	ASSERT_TRUE(verify(q, 30000, 7));
	/* Growing back into the space it just gave up, which nothing else took. */
	char *r = M(realloc)(q, 90000);
	ASSERT_EQ(q, r);
	ASSERT_TRUE(verify(r, 30000, 7));
	M(free)(r);
	/* Within a size class: the same object. */
	p = M(malloc)(100);
	ASSERT_EQ(p, M(realloc)(p, 110));
	M(free)(p);
}

TEST(aligned_allocations)
{
	for (size_t al = 1; al <= (1 << 22); al <<= 1) {
		static const size_t mult[] = { 0, 1, 2, 3 };
		for (size_t k = 0; k < 4; k++) {
			/* size == alignment included: the case Debian's mimalloc 2.0.9 gets wrong. */
			size_t n = al * mult[k] + (k == 0 ? 1 : 0);
			void *p = M(aligned_alloc)(al, n);
			ASSERT_NONNULL(p);
			ASSERT_EQ(0, (uintptr_t)p % al);
			ASSERT_EQ(0, (uintptr_t)p % 16);
			ASSERT_GE(M(malloc_usable_size)(p), n);
			memset(p, 1, n);
			M(free)(p);

			void *q = NULL;
			if (al >= sizeof(void *)) {
				ASSERT_EQ(0, M(posix_memalign)(&q, al, n));
				ASSERT_EQ(0, (uintptr_t)q % al);
				memset(q, 2, n);
				M(free)(q);
			}
			q = M(memalign)(al, n);
			ASSERT_NONNULL(q);
			ASSERT_EQ(0, (uintptr_t)q % al);
			M(free)(q);
		}
	}
	void *q = (void *)1;
	ASSERT_EQ(EINVAL, M(posix_memalign)(&q, 24, 10));
	ASSERT_EQ(EINVAL, M(posix_memalign)(&q, 0, 10));
	ASSERT_EQ(EINVAL, M(posix_memalign)(&q, 2, 10));
	ASSERT_EQ((void *)1, q);
	errno = 0;
	ASSERT_NULL(M(aligned_alloc)(48, 96));
	ASSERT_EQ(EINVAL, errno);
	/* memalign rounds a non-power-of-two alignment up. */
	q = M(memalign)(48, 100);
	ASSERT_NONNULL(q);
	ASSERT_EQ(0, (uintptr_t)q % 64);
	M(free)(q);
	q = M(valloc)(10);
	ASSERT_NONNULL(q);
	ASSERT_EQ(0, (uintptr_t)q % 4096);
	M(free)(q);
	q = M(pvalloc)(10);
	ASSERT_NONNULL(q);
	ASSERT_EQ(0, (uintptr_t)q % 4096);
	ASSERT_GE(M(malloc_usable_size)(q), 4096);
	M(free)(q);
}

TEST(mallinfo2_and_trim)
{
	void *p[64];

	for (int i = 0; i < 64; i++)
		ASSERT_NONNULL(p[i] = M(malloc)(50000));
	void *big = M(malloc)(2 << 20);
	ASSERT_NONNULL(big);
	struct mallinfo2 mi = M(mallinfo2)();
	ASSERT_GE(mi.uordblks, 64 * 50000);
	ASSERT_GE(mi.hblks, 1);
	ASSERT_GE(mi.hblkhd, 2 << 20);
	ASSERT_GE(mi.arena, 64 * 50000);
	for (int i = 0; i < 64; i++)
		M(free)(p[i]);
	M(free)(big);
	struct mallinfo2 after = M(mallinfo2)();
	ASSERT_LT(after.uordblks + 64 * 50000, mi.uordblks + 1);
	M(malloc_trim)(0);
}

/* ---- random operations, one thread ---- */

TEST(random_ops_verify_contents)
{
	uint64_t s = th_seed() | 1;
	enum {
		SLOTS = 2048
	};
	static char *slot[SLOTS];
	static size_t len[SLOTS];

	for (int op = 0; op < 200000; op++) {
		unsigned i = (unsigned)(rng_next(&s) % SLOTS);
		if (slot[i]) {
			ASSERT_TRUE(verify(slot[i], len[i], (uintptr_t)slot[i] ^ len[i]));
			if (rng_next(&s) % 3 == 0) {
				size_t n = rng_next(&s) % 3000;
				char *q = M(realloc)(slot[i], n);
				if (n) {
					ASSERT_NONNULL(q);
					ASSERT_TRUE(verify(q, n < len[i] ? n : len[i],
							   (uintptr_t)slot[i] ^ len[i]));
					slot[i] = q;
					len[i] = n;
					fill(q, n, (uintptr_t)q ^ n);
				} else {
					slot[i] = NULL;
				}
				continue;
			}
			M(free)(slot[i]);
			slot[i] = NULL;
		} else {
			uint64_t r = rng_next(&s);
			/* Mostly small, some arena-sized, a few mapped. */
			size_t n = r % 100 < 85 ? r % 512 : r % 100 < 98 ? r % 60000 : r % 600000;
			slot[i] = M(malloc)(n);
			ASSERT_NONNULL(slot[i]);
			ASSERT_EQ(0, (uintptr_t)slot[i] % 16);
			len[i] = n;
			fill(slot[i], n, (uintptr_t)slot[i] ^ n);
		}
	}
	for (int i = 0; i < SLOTS; i++)
		if (slot[i]) {
			ASSERT_TRUE(verify(slot[i], len[i], (uintptr_t)slot[i] ^ len[i]));
			M(free)(slot[i]);
		}
}

/* ---- threads ---- */

enum {
	XSLOTS = 4096
};
static void *xslot[XSLOTS];
struct xarg {
	uint64_t seed;
	int ops;
	int bad;
	time_t deadline;
};

/* Frees what another thread allocated most of the time: slots are shared. */
static void *xthread(void *arg)
{
	struct xarg *a = arg;
	uint64_t s = a->seed | 1;

	for (int op = 0; op < a->ops; op++) {
		if ((op & 1023) == 0 && time(NULL) > a->deadline)
			break;
		uint64_t r = rng_next(&s);
		size_t n = r % 100 < 90 ? r % 1024 : r % 100 < 99 ? r % 70000 : r % 400000;
		char *p = M(malloc)(n + 16);
		if (!p || (uintptr_t)p % 16) {
			a->bad++;
			continue;
		}
		((size_t *)p)[0] = n;
		((size_t *)p)[1] = (uintptr_t)p;
		fill(p + 16, n < 64 ? n : 64, (uintptr_t)p);
		void *old = __atomic_exchange_n(&xslot[r % XSLOTS], p, __ATOMIC_ACQ_REL);
		if (old) {
			size_t on = ((size_t *)old)[0];
			if (((size_t *)old)[1] != (uintptr_t)old ||
			    !verify((char *)old + 16, on < 64 ? on : 64, (uintptr_t)old))
				a->bad++;
			M(free)(old);
		}
	}
	return NULL;
}

TEST_TIMEOUT(threads_cross_thread_frees, 60)
{
	uint64_t seed = th_seed();
	time_t deadline = time(NULL) + 8;

	/* Three rounds of fresh threads: exited heaps are abandoned and adopted. */
	for (int round = 0; round < 3; round++) {
		pthread_t t[6];
		struct xarg a[6];
		for (int i = 0; i < 6; i++) {
			a[i] = (struct xarg){ .seed = seed + (uint64_t)round * 100 + (uint64_t)i,
					      .ops = 150000,
					      .deadline = deadline };
			ASSERT_EQ(0, pthread_create(&t[i], NULL, xthread, &a[i]));
		}
		for (int i = 0; i < 6; i++) {
			ASSERT_EQ(0, pthread_join(t[i], NULL));
			ASSERT_EQ(0, a[i].bad);
		}
	}
	for (int i = 0; i < XSLOTS; i++) {
		M(free)(xslot[i]);
		xslot[i] = NULL;
	}
}

/* Producer/consumer: everything one thread allocates, another frees. */
struct pc {
	void *ring[1024];
	unsigned head, tail;
	int n;
	int bad;
};

static void *producer(void *arg)
{
	struct pc *q = arg;

	for (int i = 0; i < q->n; i++) {
		size_t n = 16 + (size_t)(i % 700);
		char *p = M(malloc)(n);
		if (!p) {
			q->bad++;
			continue;
		}
		fill(p, n, (uint64_t)i);
		while (__atomic_load_n(&q->head, __ATOMIC_ACQUIRE) -
			       __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE) >=
		       1024)
			sched_yield();
		q->ring[q->head % 1024] = p;
		__atomic_store_n(&q->head, q->head + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

TEST_TIMEOUT(producer_consumer, 60)
{
	static struct pc q;
	pthread_t t;

	q.n = 300000;
	ASSERT_EQ(0, pthread_create(&t, NULL, producer, &q));
	for (int i = 0; i < q.n; i++) {
		while (__atomic_load_n(&q.tail, __ATOMIC_ACQUIRE) ==
		       __atomic_load_n(&q.head, __ATOMIC_ACQUIRE))
			sched_yield();
		char *p = q.ring[q.tail % 1024];
		ASSERT_TRUE(verify(p, 16 + (size_t)(i % 700), (uint64_t)i));
		M(free)(p);
		__atomic_store_n(&q.tail, q.tail + 1, __ATOMIC_RELEASE);
	}
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, q.bad);
}

/* ---- fork while other threads allocate ---- */

static volatile int fork_stop;
static int fork_started;

static void *churn(void *arg)
{
	uint64_t s = (uintptr_t)arg | 1;

	__atomic_fetch_add(&fork_started, 1, __ATOMIC_RELEASE);
	while (!fork_stop) {
		uint64_t r = rng_next(&s);
		size_t n = r % 10 < 8 ? r % 2000 : r % 10 == 8 ? r % 100000 : r % 500000;
		void *p = M(malloc)(n);
		void *old = __atomic_exchange_n(&xslot[r % 64], p, __ATOMIC_ACQ_REL);
		M(free)(old);
	}
	return NULL;
}

TEST_TIMEOUT(fork_in_threads, 60)
{
	pthread_t t[4];

	fork_stop = 0;
	fork_started = 0;
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(i + 11)));
	/*
	 * Fork only once all four run the allocator, not while one is still starting up in
	 * libc (or in libasan, whose allocator and thread registry locks a fork inherits
	 * locked in GCC 12: a child's pthread_create then waits forever in
	 * SizeClassAllocator64::GetFromAllocator). It also makes sure every fork happens
	 * with four threads inside malloc/free.
	 */
	while (__atomic_load_n(&fork_started, __ATOMIC_ACQUIRE) < 4)
		sched_yield();
	for (int k = 0; k < 40; k++) {
		pid_t pid = fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			/* A deadlocked allocator shows up as SIGALRM, not as a hung test. */
			alarm(10);
			void *p[200];
			for (int j = 0; j < 200; j++) {
				p[j] = M(malloc)((size_t)(j * 997) % 300000);
				if (!p[j])
					_exit(2);
				memset(p[j], j, (size_t)(j * 997) % 300000);
			}
			/* Objects the other (now absent) threads allocated before the fork. */
			for (int j = 0; j < 64; j++) {
				void *o = __atomic_exchange_n(&xslot[j], NULL, __ATOMIC_ACQ_REL);
				M(free)(o);
			}
			for (int j = 0; j < 200; j++)
				M(free)(p[j]);
			/* Threads in the child work too. */
			pthread_t c;
			fork_stop = 0;
			if (pthread_create(&c, NULL, churn, (void *)77))
				_exit(3);
			usleep(20000);
			fork_stop = 1;
			pthread_join(c, NULL);
			_exit(0);
		}
		int st;
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			TH_LOG("child %d: status 0x%x", k, st);
		ASSERT_TRUE(WIFEXITED(st));
		ASSERT_EQ(0, WEXITSTATUS(st));
	}
	fork_stop = 1;
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	for (int j = 0; j < 64; j++) {
		M(free)(xslot[j]);
		xslot[j] = NULL;
	}
}

/* ---- fork while threads exit ---- */

/*
 * A thread's exit hook abandons its heap page by page. A fork in the middle used to
 * leave the child a heap still marked live whose lists led into pages already on the
 * abandoned lists: the child abandoned them a second time, made a cycle, and the first
 * allocation of that class spun forever in adopt(). Short-lived threads here leave
 * dozens of pages with live objects in a few classes (long lists, a wide window) while
 * the main thread forks; each child adopts every class, checks that no object is
 * handed out twice, frees what the dead threads left, and runs a thread of its own.
 */
enum {
	EXIT_RING = 2048,
	EXIT_CHILD_OBJS = 64,
	EXIT_SIZES = 16
};
static void *exit_ring[EXIT_RING];
static volatile int exit_stop;
static int exit_spawn_failed;
static int exit_returning;  /* a short-lived thread is about to run its exit hook */
static pid_t exit_tid;	    /* that thread */
static int exit_in_handler; /* exit_pause() stopped it */

static void *short_lived(void *arg)
{
	uint64_t s = (uintptr_t)arg | 1;

	for (int i = 0; i < 400; i++) {
		uint64_t r = rng_next(&s);
		/* Mostly class 8192 (7 objects a page): one long full list, a wide window. */
		size_t n = (i & 3) ? 8000 : 1000;
		void *p = M(malloc)(n);
		if (p)
			memset(p, (int)i, 64);
		M(free)(__atomic_exchange_n(&exit_ring[r % EXIT_RING], p, __ATOMIC_ACQ_REL));
	}
	__atomic_store_n(&exit_tid, gettid(), __ATOMIC_RELAXED);
	__atomic_store_n(&exit_returning, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The exit hook is quick and takes aband_lock page by page: on an idle machine a fork
 * almost never lands in it (the forking thread waits for the lock while the hook keeps
 * retaking it); it needs the hook stopped between two pages, as preemption on a loaded
 * machine does. So the test stops it: a signal to the exiting thread, whose handler
 * spins while the main thread forks. Bounded: the handler returns after 300 us
 * whatever happens (if it stopped the hook inside the lock, the fork waits for that).
 */

static void exit_pause(int sig)
{
	struct timespec a, b;

	(void)sig;
	__atomic_store_n(&exit_in_handler, 1, __ATOMIC_RELEASE);
	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000L + b.tv_nsec - a.tv_nsec < 300000);
}

static void *exit_spawner(void *arg)
{
	uint64_t k = (uintptr_t)arg;

	while (!exit_stop) {
		pthread_t t;
		if (pthread_create(&t, NULL, short_lived, (void *)(uintptr_t)(k++ * 7919))) {
			__atomic_store_n(&exit_spawn_failed, 1, __ATOMIC_RELAXED);
			return NULL;
		}
		pthread_join(t, NULL);
	}
	return NULL;
}

/* Runs in the forked child: 0 if the allocator works, else what broke. */
static int exit_child(uint64_t seed)
{
	static uint32_t *objs[EXIT_SIZES][EXIT_CHILD_OBJS];
	static const size_t sizes[EXIT_SIZES] = {
		16,   48,   100,  128,	200,  256,  500,   1000,
		1024, 2000, 4096, 6144, 7000, 8192, 30000, 300000
	};

	/* Every class the dead threads used: adopts their abandoned pages. */
	for (int c = 0; c < EXIT_SIZES; c++)
		for (int j = 0; j < EXIT_CHILD_OBJS; j++) {
			uint32_t *p = M(malloc)(sizes[c]);
			if (!p)
				return 2;
			p[0] = (uint32_t)(c * EXIT_CHILD_OBJS + j);
			p[sizes[c] / 4 - 1] = ~p[0];
			objs[c][j] = p;
		}
	/* An object handed out twice has been overwritten by its other owner. */
	for (int c = 0; c < EXIT_SIZES; c++)
		for (int j = 0; j < EXIT_CHILD_OBJS; j++) {
			uint32_t *p = objs[c][j];
			if (p[0] != (uint32_t)(c * EXIT_CHILD_OBJS + j) ||
			    p[sizes[c] / 4 - 1] != ~p[0])
				return 4;
		}
	for (int j = 0; j < EXIT_RING; j++)
		M(free)(__atomic_exchange_n(&exit_ring[j], NULL, __ATOMIC_ACQ_REL));
	for (int c = 0; c < EXIT_SIZES; c++)
		for (int j = 0; j < EXIT_CHILD_OBJS; j++)
			M(free)(objs[c][j]);
	pthread_t t;
	if (pthread_create(&t, NULL, short_lived, (void *)(uintptr_t)seed))
		return 3;
	pthread_join(t, NULL);
	return 0;
}

TEST_TIMEOUT(fork_while_threads_exit, 60)
{
#ifdef __SANITIZE_ADDRESS__
	/*
	 * Threads start and exit all the time here, inside libasan's allocator and thread
	 * registry, whose locks GCC 12's libasan lets a fork inherit held: the child's
	 * pthread_create would hang in libasan, not in our code. preload.sh runs this
	 * case in this same build, uninstrumented, against libmcmalloc.so.
	 */
	SKIP("libasan is not fork-safe while threads start and exit; preload.sh runs this case");
#endif
	uint64_t seed = th_seed();
	pthread_t sp[2];
	struct timespec t0, now;
	int forks = 0;

	exit_stop = 0;
	struct sigaction sa = { .sa_handler = exit_pause }, old_sa;
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, &old_sa));
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&sp[i], NULL, exit_spawner,
					    (void *)(uintptr_t)(seed + (uint64_t)i * 1000003)));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Bounded in count and time: 150 forks or 15 s, whichever comes first. */
	for (; forks < 150; forks++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= 15)
			break;
		/*
		 * A few microseconds (0..8, varied) after a thread returned it is somewhere in
		 * its exit hook: stop it there and fork.
		 */
		struct timespec w0, w;
		clock_gettime(CLOCK_MONOTONIC, &w0);
		while (!__atomic_exchange_n(&exit_returning, 0, __ATOMIC_ACQUIRE)) {
			clock_gettime(CLOCK_MONOTONIC, &w);
			if (w.tv_sec - w0.tv_sec >= 2)
				break;
		}
		long delay = (long)(rng_next(&seed) % 8000);
		do
			clock_gettime(CLOCK_MONOTONIC, &w);
		while ((w.tv_sec - w0.tv_sec) * 1000000000L + w.tv_nsec - w0.tv_nsec < delay);
		__atomic_store_n(&exit_in_handler, 0, __ATOMIC_RELAXED);
		/* ESRCH if it is gone already: then this fork races the others as it can. */
		if (tgkill(getpid(), __atomic_load_n(&exit_tid, __ATOMIC_RELAXED), SIGUSR1) == 0)
			for (int spin = 0;
			     spin < 100000 && !__atomic_load_n(&exit_in_handler, __ATOMIC_ACQUIRE);
			     spin++)
				sched_yield();
		pid_t pid = fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			/* A child stuck in the allocator shows up as SIGALRM. */
			alarm(10);
			_exit(exit_child(seed));
		}
		int st;
		/*
		 * The child's alarm cannot catch a hang inside fork() itself (the atfork
		 * child handler walked the broken lists too): give it 12 s, then kill it.
		 */
		pid_t w8 = 0;
		for (int ms = 0; ms < 12000 && (w8 = waitpid(pid, &st, WNOHANG)) == 0; ms++)
			usleep(1000);
		if (w8 == 0) {
			kill(pid, SIGKILL);
			w8 = waitpid(pid, &st, 0);
		}
		ASSERT_EQ(pid, w8);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			TH_LOG("fork %d: child status 0x%x (0xe, 0x9: hung; exit 4: object handed out "
			       "twice)",
			       forks, st);
		ASSERT_TRUE(WIFEXITED(st));
		ASSERT_EQ(0, WEXITSTATUS(st));
	}
	exit_stop = 1;
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(sp[i], NULL));
	sigaction(SIGUSR1, &old_sa, NULL);
	ASSERT_EQ(0, exit_spawn_failed);
	ASSERT_GE(forks, 20);
	for (int j = 0; j < EXIT_RING; j++) {
		M(free)(exit_ring[j]);
		exit_ring[j] = NULL;
	}
}

/* ---- the block map ---- */

/* Runs mc_malloc_dump into a memfd and returns its text (plain mmap, not malloc). */
static char *dump_text(void)
{
	int fd = memfd_create("dump", MFD_CLOEXEC);
	if (fd < 0 || DUMP(fd) != 0)
		return NULL;
	off_t n = lseek(fd, 0, SEEK_END);
	char *t = mmap(NULL, (size_t)n + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	return t == MAP_FAILED ? NULL : t;
}

/* The dump line of the block whose header is at hdr, or NULL. */
static bool dump_block(const char *t, const void *hdr, size_t *size, char *state)
{
	char key[64];

	snprintf(key, sizeof(key), "[BLOCK %p: ", hdr);
	const char *l = strstr(t, key);
	if (!l)
		return false;
	unsigned long long sz;
	char st[8];
	if (sscanf(l + strlen(key), "%llu bytes %7[A-Z]]", &sz, st) != 2)
		return false;
	*size = (size_t)sz;
	strcpy(state, st);
	return true;
}

struct dump_result {
	int step;
	char why[200];
};

#define DCHECK(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			snprintf(r->why, sizeof(r->why), __VA_ARGS__);                             \
			return r;                                                                  \
		}                                                                                  \
	} while (0)

/* In a new thread, which gets an arena of its own, so the layout is predictable. */
static void *dump_scenario(void *arg)
{
	struct dump_result *r = arg;
	const size_t S = 20000;
	size_t sz, sz2;
	char st[8], *t;

	char *a = M(malloc)(S), *b = M(malloc)(S), *c = M(malloc)(S), *g = M(malloc)(S);
	DCHECK(a && b && c && g, "malloc failed");
	char *ha = a - 16, *hb = b - 16, *hc = c - 16;
	r->step = 1;
	t = dump_text();
	DCHECK(t, "dump failed");
	DCHECK(dump_block(t, ha, &sz, st) && !strcmp(st, "USED"), "a not USED in dump");
	DCHECK(hb == ha + sz && hc == hb + sz, "a, b, c not adjacent (%zu)", sz);
	DCHECK(strstr(t, "summary: heap size "), "no summary");
	DCHECK(strstr(t, "largest free block"), "no largest free block");
	DCHECK(strstr(t, "fragmentation"), "no fragmentation");

	/* Coalescing: a and b merge into one free block; b's header disappears. */
	r->step = 2;
	M(free)(a);
	M(free)(b);
	t = dump_text();
	DCHECK(dump_block(t, ha, &sz2, st) && !strcmp(st, "FREE"), "a not FREE");
	DCHECK(sz2 == 2 * sz, "a+b not coalesced: %zu", sz2);
	DCHECK(!dump_block(t, hb, &sz2, st), "b still listed after coalescing");
	/* ... and with c on the other side as well. */
	M(free)(c);
	t = dump_text();
	DCHECK(dump_block(t, ha, &sz2, st) && !strcmp(st, "FREE") && sz2 == 3 * sz,
	       "a+b+c not one block (%zu)", sz2);

	/* Splitting: a small request takes the front of the free block, the rest stays free. */
	r->step = 3;
	char *p = M(malloc)(10000);
	DCHECK(p == a, "10000 bytes not placed in the free block (%p vs %p)", (void *)p, (void *)a);
	size_t head = M(malloc_usable_size)(p) + 16;
	DCHECK(head < 10100, "no split: head block is %zu bytes", head);
	t = dump_text();
	DCHECK(dump_block(t, ha, &sz2, st) && !strcmp(st, "USED") && sz2 == head,
	       "split head wrong (%zu %s)", sz2, st);
	DCHECK(dump_block(t, ha + head, &sz2, st) && !strcmp(st, "FREE") && sz2 == 3 * sz - head,
	       "split tail wrong (%zu %s)", sz2, st);
	M(free)(p);
	M(free)(g);
	r->step = 4;
	return r;
}

TEST(dump_shows_split_and_coalesce)
{
	struct dump_result r = { 0 };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, dump_scenario, &r));
	ASSERT_EQ(0, pthread_join(t, NULL));
	if (r.step != 4)
		TH_LOG("step %d: %s", r.step, r.why);
	ASSERT_EQ(4, r.step);
}

/* ---- memory back to the OS ---- */

static long rss_kib(void)
{
	char buf[256];
	long pages = 0, res = 0;
	int fd = open("/proc/self/statm", O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	sscanf(buf, "%ld %ld", &pages, &res);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void rss_round(size_t each, size_t total)
{
	size_t n = total / each;
	char **v = mmap(NULL, n * sizeof(*v), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	ASSERT_NE(MAP_FAILED, v);
	long base = rss_kib();
	for (size_t i = 0; i < n; i++) {
		v[i] = M(malloc)(each);
		ASSERT_NONNULL(v[i]);
		memset(v[i], 1, each);
	}
	long peak = rss_kib();
	ASSERT_GT(peak - base, (long)(total / 1024) * 8 / 10);
	/* Every other one first (fragmenting), then the rest. */
	for (size_t i = 0; i < n; i += 2)
		M(free)(v[i]);
	for (size_t i = 1; i < n; i += 2)
		M(free)(v[i]);
	long after = rss_kib();
	TH_LOG("blocks of %zu: base %ld KiB, peak %ld KiB, after free %ld KiB", each, base, peak,
	       after);
	/*
	 * Without malloc_trim: at most the caches stay resident, ~5 MiB of size-class
	 * pages or 32 MiB of large mappings (MCMALLOC_LARGE_CACHE).
	 */
	ASSERT_LT(after - base, (each >= MMAP_THRESHOLD ? 40 : 12) * 1024);
	M(malloc_trim)(0);
	long trimmed = rss_kib();
	TH_LOG("after malloc_trim %ld KiB", trimmed);
	ASSERT_LT(trimmed - base, 8 * 1024);
	munmap(v, n * sizeof(*v));
}

/* ---- big blocks: the adaptive mmap threshold ---- */

static long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt;
}

struct reuse_arg {
	uint64_t seed;
	long faults, pages;
};

/* Big blocks of random sizes, every page written, freed, again: count the faults. */
static void *reuse_thread(void *arg)
{
	struct reuse_arg *r = arg;
	long before = minor_faults();

	for (int i = 0; i < 60; i++) {
		size_t n = (256 << 10) + rng_next(&r->seed) % (6 << 20);
		char *p = M(malloc)(n);
		if (!p)
			return NULL;
		memset(p, i, n);
		r->pages += (long)(n / 4096);
		M(free)(p);
	}
	r->faults = minor_faults() - before;
	return NULL;
}

TEST(big_blocks_reuse_their_pages)
{
	/*
	 * Once a big mapped block has been freed, blocks of that size come from the
	 * arenas, whose freed pages stay faulted in: four threads churning 256 KiB..6 MiB
	 * blocks fault a small fraction of the pages they write (one fault per page,
	 * every time, was the mmap-per-block behaviour).
	 */
	uint64_t seed = th_seed();
	void *warm = M(malloc)(7 << 20);
	ASSERT_NONNULL(warm);
	M(free)(warm);
	struct mallinfo2 mi0 = M(mallinfo2)();
	void *again = M(malloc)(5 << 20);
	ASSERT_NONNULL(again);
	struct mallinfo2 mi1 = M(mallinfo2)();
	/* The 5 MiB block is below the adapted threshold: not a mapping of its own. */
	ASSERT_EQ(mi0.hblks, mi1.hblks);
	M(free)(again);

	pthread_t t[4];
	struct reuse_arg r[4];
	for (int i = 0; i < 4; i++) {
		r[i] = (struct reuse_arg){ .seed = seed + (uint64_t)i * 7919 + 1 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, reuse_thread, &r[i]));
	}
	long faults = 0, pages = 0;
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(t[i], NULL));
		faults += r[i].faults;
		pages += r[i].pages;
	}
	TH_LOG("%ld pages written, %ld minor faults", pages, faults);
	ASSERT_GT(pages, 10000);
	ASSERT_LT(faults, pages / 4);
}

TEST_TIMEOUT(rss_returns_after_free, 60)
{
	rss_round(1000, 256 << 20);    /* size classes */
	rss_round(20000, 256 << 20);   /* arena blocks */
	rss_round(1 << 20, 256 << 20); /* own mappings */
}

/* Small and mid-sized blocks (size classes and arena blocks), all written, all freed. */
static void *exit_clean_thread(void *arg)
{
	uint64_t seed = *(uint64_t *)arg;
	size_t n = 20000;
	char **v = M(malloc)(n * sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint64_t x = rng_next(&seed);
		size_t len = x % 4 ? 16 + x % 2000 : 20000 + x % 40000;
		v[i] = M(malloc)(len);
		if (v[i])
			memset(v[i], 7, len);
	}
	for (size_t k = 0; k < 2; k++)
		for (size_t i = k; i < n; i += 2)
			M(free)(v[i]);
	M(free)(v);
	/* Only threads that lived 100 ms or more purge at exit. */
	usleep(150 * 1000);
	return NULL;
}

/* The same threads doing no allocation: what creating them costs without us. */
static void *idle_task(void *arg)
{
	if (arg)
		usleep(150 * 1000);
	return NULL;
}

/* Minor faults of `n` threads of fn, one after the other. */
static long thread_faults(int n, void *(*fn)(void *))
{
	struct rusage r0, r1;
	pthread_t t;

	getrusage(RUSAGE_SELF, &r0);
	for (int i = 0; i < n; i++) {
		if (pthread_create(&t, NULL, fn, NULL) || pthread_join(t, NULL))
			return -1;
	}
	getrusage(RUSAGE_SELF, &r1);
	return r1.ru_minflt - r0.ru_minflt;
}

/* A thread-per-task program's task: a few hundred blocks of many size classes. */
static void *short_task(void *arg)
{
	void *v[400];

	(void)arg;
	for (int i = 0; i < 400; i++) {
		size_t n = 16 + (size_t)i * 37 % 3000;
		v[i] = M(malloc)(n);
		if (v[i])
			memset(v[i], 1, n);
	}
	for (int i = 0; i < 400; i++)
		M(free)(v[i]);
	return NULL;
}

TEST_TIMEOUT(short_threads_reuse_warm_pages, 60)
{
	/*
	 * Threads that live only briefly leave the pool warm for the next one: purging at
	 * each exit made every thread refault its ~170 pages (500 -> 519k faults for 3000).
	 * Counted beyond what the same threads cost without allocating (a sanitizer's
	 * thread bookkeeping alone faults ~17 pages per thread).
	 */
	ASSERT_EQ(0, thread_faults(1, short_task) < 0);
	long idle = thread_faults(300, idle_task);
	long busy = thread_faults(300, short_task);
	TH_LOG("300 short threads: %ld minor faults, %ld without allocating", busy, idle);
	ASSERT_GE(idle, 0);
	ASSERT_LT(busy - idle, 300 * 20);
}

TEST_TIMEOUT(rss_returns_when_threads_exit, 60)
{
	/*
	 * Threads that freed everything and exited leave little resident: the pool of
	 * empty size-class pages is trimmed to 8 pages (512 KiB) and each exited thread's
	 * arena keeps 128 KiB: 1.0-1.3 MiB above the base here. Keeping
	 * the whole 4 MiB pool and one mmap threshold per arena left ~5.6 MiB.
	 */
	uint64_t seed = th_seed();
	/* The base includes what the threads themselves leave (stacks, a sanitizer's). */
	pthread_t t0[4];
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t0[i], NULL, idle_task, (void *)1));
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_join(t0[i], NULL));
	long base = rss_kib();
	for (int round = 0; round < 2; round++) {
		pthread_t t[4];
		uint64_t s[4];
		for (int i = 0; i < 4; i++) {
			s[i] = seed + (uint64_t)(round * 4 + i) * 7919 + 1;
			ASSERT_EQ(0, pthread_create(&t[i], NULL, exit_clean_thread, &s[i]));
		}
		for (int i = 0; i < 4; i++)
			ASSERT_EQ(0, pthread_join(t[i], NULL));
		long after = rss_kib();
		TH_LOG("round %d: base %ld KiB, after the threads exited %ld KiB", round, base,
		       after);
		ASSERT_LT(after - base, 3 * 1024);
	}
}

TEST_HARNESS_MAIN
