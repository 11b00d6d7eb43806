/* SPDX-License-Identifier: MIT */
/*
 * The contract's thread cases: cross-thread frees through shared slots, and a
 * producer/consumer pair where everything one thread allocates another frees.
 */
/* Part of contract.h, included by it after the helpers; not a header of its own. */

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

/*
 * Threads that never allocate, only free what main allocated, then exit: such a thread
 * takes a heap at its first cross-thread free to count it. Every byte freed must show
 * in mallinfo2 (counted by the freeing thread, summed over heaps), and main's pages
 * must serve the next round with every object's content intact.
 */
enum {
	FO_THREADS = 4,
	FO_EACH = 5000
};
static void *fo_blk[FO_THREADS][FO_EACH];
static size_t fo_len[FO_THREADS][FO_EACH];

static void *free_only(void *arg)
{
	intptr_t t = (intptr_t)arg, bad = 0;

	for (int i = 0; i < FO_EACH; i++) {
		if (!verify(fo_blk[t][i], fo_len[t][i], (uintptr_t)fo_blk[t][i]))
			bad++;
		M(free)(fo_blk[t][i]);
	}
	return (void *)bad;
}

TEST_TIMEOUT(free_only_threads, 60)
{
	uint64_t seed = th_seed();

	for (int round = 0; round < 3; round++) {
		size_t before = M(mallinfo2)().uordblks, bytes = 0;
		pthread_t th[FO_THREADS];
		for (int t = 0; t < FO_THREADS; t++)
			for (int i = 0; i < FO_EACH; i++) {
				size_t n = 1 + rng_next(&seed) % 4096;
				void *p = M(malloc)(n);
				ASSERT_NONNULL(p);
				fill(p, n, (uintptr_t)p);
				fo_blk[t][i] = p;
				fo_len[t][i] = n;
				bytes += n;
			}
		ASSERT_GE(M(mallinfo2)().uordblks, before + bytes);
		for (int t = 0; t < FO_THREADS; t++)
			ASSERT_EQ(0, pthread_create(&th[t], NULL, free_only, (void *)(intptr_t)t));
		for (int t = 0; t < FO_THREADS; t++) {
			void *bad;
			ASSERT_EQ(0, pthread_join(th[t], &bad));
			ASSERT_EQ(NULL, bad);
		}
		/*
		 * Preloaded, libc's own allocations (thread creation) count too: within 64 KiB
		 * of where it started, against the ~40 MB the threads freed.
		 */
		ASSERT_LT(M(mallinfo2)().uordblks, before + (64 << 10));
	}
}
