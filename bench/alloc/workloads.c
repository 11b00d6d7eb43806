/* SPDX-License-Identifier: MIT */
/*
 * Allocator workloads modelled on the well-known benchmarks (larson, xmalloc,
 * cache-scratch), plus realloc chains, fragmentation and large blocks. Run under an
 * LD_PRELOADed allocator: `workloads NAME THREADS`. Every block's contents and
 * alignment are checked; one line of results: name threads wall_s cpu_s peak_kib
 * final_kib ok|FAIL (times to the microsecond: the large workload takes ~20 ms, and
 * milliseconds made its ratios move in steps of 5%).
 */
#include <linux/futex.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int nthreads;
static volatile int failed;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void stamp(void *p, size_t n)
{
	/* First and last word carry the address: enough to catch overlap and corruption. */
	if (n >= 16) {
		((uintptr_t *)p)[0] = (uintptr_t)p;
		memcpy((char *)p + n - 8, &p, 8);
	} else if (n) {
		memset(p, (int)((uintptr_t)p & 0xff), n);
	}
}

static void check(void *p, size_t n, size_t align)
{
	/* Blocks under 16 bytes cannot hold a max_align_t: 8 is all C asks of them. */
	if (align == 16 && n < 16)
		align = 8;
	if (!p || (uintptr_t)p % align) {
		failed = 1;
		return;
	}
	if (n >= 16) {
		void *tail;
		memcpy(&tail, (char *)p + n - 8, 8);
		if (((uintptr_t *)p)[0] != (uintptr_t)p || tail != p)
			failed = 1;
	} else {
		for (size_t i = 0; i < n; i++)
			if (((unsigned char *)p)[i] != (unsigned char)((uintptr_t)p & 0xff))
				failed = 1;
	}
}

static long rss_kib(void)
{
	long a = 0, r = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &a, &r) != 2)
			r = 0;
		fclose(f);
	}
	return r * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ---- larson: threads replace random blocks; arrays move between threads ---- */

#define LSLOTS 2000
struct lslot {
	void *p;
	size_t n, al;
};
static struct lslot *larrays[64];
static pthread_barrier_t lbar;

static void *larson(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
	int rounds = 8, ops = 4000000 / nthreads;

	for (int r = 0; r < rounds; r++) {
		struct lslot *a = larrays[(id + r) % nthreads];
		for (int i = 0; i < ops / rounds; i++) {
			struct lslot *sl = &a[rnd(&s) % LSLOTS];
			if (sl->p) {
				check(sl->p, sl->n, sl->al);
				free(sl->p);
			}
			uint64_t x = rnd(&s);
			if (x % 64 == 0) {
				/* size == alignment, 256..1024: mimalloc 2.0.9's weak spot. */
				sl->al = (size_t)256 << (x / 64 % 3);
				sl->n = sl->al;
				sl->p = aligned_alloc(sl->al, sl->n);
			} else {
				sl->al = 16;
				sl->n = 8 + x % 500;
				sl->p = malloc(sl->n);
			}
			if (sl->p)
				stamp(sl->p, sl->n);
			else
				failed = 1;
		}
		/* Blocks allocated here are freed by the next thread in the next round. */
		pthread_barrier_wait(&lbar);
	}
	return NULL;
}

static void larson_setup(void)
{
	pthread_barrier_init(&lbar, NULL, (unsigned)nthreads);
	for (int i = 0; i < nthreads; i++)
		larrays[i] = calloc(LSLOTS, sizeof(struct lslot));
}

static void larson_teardown(void)
{
	for (int i = 0; i < nthreads; i++) {
		for (int j = 0; j < LSLOTS; j++)
			if (larrays[i][j].p) {
				check(larrays[i][j].p, larrays[i][j].n, larrays[i][j].al);
				free(larrays[i][j].p);
			}
		free(larrays[i]);
	}
}

/* ---- xmalloc: producers allocate, consumers free ---- */

#define RING 4096
struct ring {
	void *slot[RING];
	size_t len[RING];
	unsigned head, tail;
	int waiters; /* threads asleep in ring_wait */
	int seq;     /* bumped every 256 items: what sleepers wait on */
	char pad[64];
};
static struct ring rings[64];

/*
 * Waits until *word has moved `need` past `from` (sleeping on a futex): the consumer
 * waits for a batch of items, the producer for a batch of room. Spinning on
 * sched_yield per item, as before, made the CPU time of a pair a function of the
 * scheduler, not of the allocator (one configuration varied 0.5x..6x between runs on
 * 2 loaded cores).
 */
static void ring_wait(struct ring *q, unsigned *word, unsigned from, unsigned need)
{
	__atomic_add_fetch(&q->waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		int seq = __atomic_load_n(&q->seq, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(word, __ATOMIC_SEQ_CST) - from >= need)
			break;
		syscall(SYS_futex, &q->seq, FUTEX_WAIT_PRIVATE, seq, NULL, NULL, 0);
	}
	__atomic_sub_fetch(&q->waiters, 1, __ATOMIC_SEQ_CST);
}

#define XBATCH 1024

/*
 * Publishes a new value of *word; wakes a sleeping other side every 256 items (or on
 * the last one), so it wakes to a batch instead of a futex round trip per item.
 */
static void ring_post(struct ring *q, unsigned *word, unsigned v, int last)
{
	__atomic_store_n(word, v, __ATOMIC_SEQ_CST);
	if (v % 256 == 0 || last) {
		__atomic_add_fetch(&q->seq, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&q->waiters, __ATOMIC_SEQ_CST))
			syscall(SYS_futex, &q->seq, FUTEX_WAKE_PRIVATE, 64, NULL, NULL, 0);
	}
}

static void *xmalloc_thread(void *arg)
{
	int id = (int)(intptr_t)arg;
	int total = 2000000 / (nthreads < 2 ? 1 : nthreads / 2);
	uint64_t s = (uint64_t)id * 7919 + 1;

	if (nthreads == 1) {
		/* One thread: allocate a batch, free it, like a pipeline with no overlap. */
		static void *batch[1024];
		static size_t blen[1024];
		for (int i = 0; i < total; i += 1024) {
			for (int j = 0; j < 1024; j++) {
				blen[j] = 16 + rnd(&s) % 512;
				batch[j] = malloc(blen[j]);
				stamp(batch[j], blen[j]);
			}
			for (int j = 0; j < 1024; j++) {
				check(batch[j], blen[j], 16);
				free(batch[j]);
			}
		}
		return NULL;
	}
	struct ring *q = &rings[id / 2];
	if (id % 2 == 0) {
		for (int i = 0; i < total; i++) {
			size_t n = 16 + rnd(&s) % 512;
			void *p = malloc(n);
			stamp(p, n);
			/* Full: wait until the consumer has made room for a batch. */
			if (q->head - __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE) >= RING)
				ring_wait(q, &q->tail, q->head - RING, XBATCH);
			q->slot[q->head % RING] = p;
			q->len[q->head % RING] = n;
			ring_post(q, &q->head, q->head + 1, i == total - 1);
		}
	} else {
		for (int i = 0; i < total; i++) {
			/* Empty: wait for a batch (or for whatever is left). */
			if (__atomic_load_n(&q->head, __ATOMIC_ACQUIRE) == q->tail) {
				unsigned left = (unsigned)(total - i);
				ring_wait(q, &q->head, q->tail, left < XBATCH ? left : XBATCH);
			}
			check(q->slot[q->tail % RING], q->len[q->tail % RING], 16);
			free(q->slot[q->tail % RING]);
			ring_post(q, &q->tail, q->tail + 1, i == total - 1);
		}
	}
	return NULL;
}

/* ---- realloc chains: grow a buffer step by step, then shrink it ---- */

static void *realloc_thread(void *arg)
{
	uint64_t s = (uint64_t)(intptr_t)arg + 3;
	int chains = 480 / nthreads;

	for (int c = 0; c < chains; c++) {
		size_t n = 16, limit = (size_t)1 << (14 + rnd(&s) % 7);
		char *p = malloc(n);
		memset(p, 0x5a, n);
		while (n < limit) {
			size_t m = n + n / 4 + rnd(&s) % 64;
			p = realloc(p, m);
			if (!p || (uintptr_t)p % 16 || p[n - 1] != 0x5a || p[0] != 0x5a) {
				failed = 1;
				return NULL;
			}
			memset(p + n, 0x5a, m - n);
			n = m;
		}
		while (n > 64) {
			n /= 3;
			p = realloc(p, n);
			if (!p || p[n - 1] != 0x5a)
				failed = 1;
		}
		free(p);
	}
	return NULL;
}

/*
 * ---- fragmentation: a server's heap ----
 * Long-lived blocks (1 in 16, the "state") are interleaved with short-lived ones (the
 * "requests"), so when the requests are freed the long-lived blocks stay scattered
 * over the whole heap, as in a real server:
 *   1. allocate `count` blocks: 70% 16..271 B, 20% 1000..4999 B, 10% 20000..59999 B;
 *   2. free the short-lived ones (even indexes first, then odd: holes, then merging);
 *   3. allocate them again at 2x+64 bytes (the heap must grow past the holes), 1 in 16
 *      of these long-lived too; peak RSS is taken here;
 *   4. free the short-lived ones; all threads wait, then RSS is measured with only
 *      the long-lived blocks alive ("kept"), next to their byte count ("live");
 *   5. free the rest; main measures RSS once every thread is done ("final").
 */
static long frag_kept_kib, frag_live;
static pthread_barrier_t fbar;

static size_t frag_size(uint64_t *s)
{
	uint64_t x = rnd(s);

	return x % 10 < 7 ? 16 + x % 256 : x % 10 < 9 ? 1000 + x % 4000 : 20000 + x % 40000;
}

static void *frag_thread(void *arg)
{
	uint64_t s = (uint64_t)(intptr_t)arg * 31 + 5;
	size_t count = 240000 / (size_t)nthreads;
	void **v = malloc(count * sizeof(*v));
	size_t *len = malloc(count * sizeof(*len));
	char *lived = calloc(count, 1);

	for (size_t i = 0; i < count; i++) {
		len[i] = frag_size(&s);
		lived[i] = rnd(&s) % 16 == 0;
		v[i] = malloc(len[i]);
		stamp(v[i], len[i]);
	}
	for (size_t k = 0; k < 2; k++)
		for (size_t i = k; i < count; i += 2)
			if (!lived[i]) {
				check(v[i], len[i], 16);
				free(v[i]);
			}
	for (size_t i = 0; i < count; i++) {
		if (lived[i])
			continue;
		len[i] = len[i] * 2 + 64;
		lived[i] = rnd(&s) % 16 == 0;
		v[i] = malloc(len[i]);
		stamp(v[i], len[i]);
	}
	size_t live = 0;
	for (size_t k = 0; k < 2; k++)
		for (size_t i = k; i < count; i += 2) {
			if (lived[i]) {
				live += len[i];
				continue;
			}
			check(v[i], len[i], 16);
			free(v[i]);
			v[i] = NULL;
		}
	__atomic_add_fetch(&frag_live, (long)live, __ATOMIC_RELAXED);
	pthread_barrier_wait(&fbar);
	if ((intptr_t)arg == 0)
		frag_kept_kib = rss_kib();
	pthread_barrier_wait(&fbar);
	for (size_t i = 0; i < count; i++)
		if (v[i]) {
			check(v[i], len[i], 16);
			free(v[i]);
		}
	free(v);
	free(len);
	free(lived);
	return NULL;
}

/* ---- large blocks ---- */

static void *large_thread(void *arg)
{
	uint64_t s = (uint64_t)(intptr_t)arg + 99;
	int n = 20000 / nthreads;

	for (int i = 0; i < n; i++) {
		size_t sz = (256 << 10) + rnd(&s) % (8 << 20);
		char *p = malloc(sz);
		if (!p) {
			failed = 1;
			continue;
		}
		for (size_t off = 0; off < sz; off += 65536)
			p[off] = (char)off;
		stamp(p, sz);
		check(p, sz, 16);
		free(p);
	}
	return NULL;
}

/* ---- false sharing (cache-scratch style): small objects written hard ---- */

static void *handed[64];

static void *scratch_thread(void *arg)
{
	int id = (int)(intptr_t)arg;
	int iters = 200000000 / nthreads;

	/* Free the object another thread allocated for us, then work on our own. */
	free(handed[id]);
	for (int i = 0; i < iters / 100; i++) {
		volatile char *p = malloc(8);
		for (int k = 0; k < 100; k++)
			p[k % 8] = (char)(p[k % 8] + 1);
		free((void *)p);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	void *(*fn)(void *) = NULL;
	const char *name = argc > 1 ? argv[1] : "";

	nthreads = argc > 2 ? atoi(argv[2]) : 1;
	if (nthreads < 1 || nthreads > 64) {
		fprintf(stderr, "workloads: threads: expected 1..64\n");
		return 2;
	}
	if (!strcmp(name, "larson")) {
		fn = larson;
		larson_setup();
	} else if (!strcmp(name, "xmalloc")) {
		fn = xmalloc_thread;
	} else if (!strcmp(name, "realloc")) {
		fn = realloc_thread;
	} else if (!strcmp(name, "frag")) {
		fn = frag_thread;
		pthread_barrier_init(&fbar, NULL, (unsigned)nthreads);
	} else if (!strcmp(name, "large")) {
		fn = large_thread;
	} else if (!strcmp(name, "scratch")) {
		fn = scratch_thread;
		for (int i = 0; i < nthreads; i++)
			handed[i] = malloc(8);
	} else {
		fprintf(stderr, "workloads: unknown workload `%s`\n", name);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_t t[64];
	int nt = nthreads == 1 && fn == xmalloc_thread ? 1 : nthreads;
	for (int i = 0; i < nt; i++)
		pthread_create(&t[i], NULL, fn, (void *)(intptr_t)i);
	for (int i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	if (fn == larson)
		larson_teardown();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long final_kib = rss_kib();
	getrusage(RUSAGE_SELF, &ru);
	double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	/* frag adds RSS with the long-lived blocks alive and their size, in KiB. */
	printf("%s %d %.6f %.6f %ld %ld %s", name, nthreads, wall, cpu, ru.ru_maxrss, final_kib,
	       failed ? "FAIL" : "ok");
	if (fn == frag_thread)
		printf(" %ld %ld", frag_kept_kib, frag_live / 1024);
	printf("\n");
	return failed ? 1 : 0;
}
