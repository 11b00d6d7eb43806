/* SPDX-License-Identifier: MIT */
/*
 * The contract's fork cases: fork while other threads allocate, and fork while
 * threads run their exit hooks (the child must find a working allocator).
 */
/* Part of contract.h, included by it after the helpers; not a header of its own. */

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
