/* SPDX-License-Identifier: MIT */
/*
 * The contract's memory cases: RSS back to the OS after free and when threads exit,
 * big blocks reusing their pages (adaptive mmap threshold), short-lived threads reusing
 * warm pages.
 */
/* Part of contract.h, included by it after the helpers; not a header of its own. */

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
