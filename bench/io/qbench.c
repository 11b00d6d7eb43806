/* SPDX-License-Identifier: MIT */
/*
 * qbench: MPMC queue throughput, ours against the peers, same harness for all:
 * P producer threads push N items in total, C consumer threads pop until all N
 * arrived; every item is checked exactly once (count + sum). On full/empty every
 * implementation gets the same policy. Full: sched_yield and retry. Empty
 * (QB_EMPTY=block, the default): after a few yields the consumer sleeps on a futex
 * until a producer pushes, the way an event loop blocks on its eventfd, so idle
 * consumers do not burn the CPUs the producers need; QB_EMPTY=yield keeps
 * yielding instead. Output, one CSV line:
 *   impl,P,C,items,seconds,mops,exactly_once,push_retries_per_op,pop_retries_per_op
 * Usage: qbench IMPL P C ITEMS   IMPL: mc_queue mc_ring mutex twolock wfcqueue
 *                                      lfqueue ck_fifo ck_ring
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <ck_hp.h>
#include <ck_hp_fifo.h>
#include <ck_ring.h>
#include <urcu/rculfqueue.h>
#include <urcu/urcu-memb.h>
#include <urcu/wfcqueue.h>

#include <mc/queue.h>
#include <mc/util.h>

#define RING_SIZE 4096

/* ---- peers ---- */

struct lnode {
	struct lnode *next;
	uintptr_t v;
};

/* A mutex queue: the baseline of the seed project's claim. */
static pthread_mutex_t mq_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lnode *mq_head, *mq_tail;

static void mq_push(uintptr_t v)
{
	struct lnode *n = malloc(sizeof(*n));
	n->next = NULL;
	n->v = v;
	pthread_mutex_lock(&mq_mu);
	if (mq_tail)
		mq_tail->next = n;
	else
		mq_head = n;
	mq_tail = n;
	pthread_mutex_unlock(&mq_mu);
}

static uintptr_t mq_pop(void)
{
	pthread_mutex_lock(&mq_mu);
	struct lnode *n = mq_head;
	if (n) {
		mq_head = n->next;
		if (!mq_head)
			mq_tail = NULL;
	}
	pthread_mutex_unlock(&mq_mu);
	if (!n)
		return 0;
	uintptr_t v = n->v;
	free(n);
	return v;
}

/* Michael & Scott's two-lock queue (1996): a dummy node, a head and a tail lock. */
static pthread_mutex_t tl_hmu = PTHREAD_MUTEX_INITIALIZER, tl_tmu = PTHREAD_MUTEX_INITIALIZER;
static struct lnode *tl_head, *tl_tail;

static void tl_push(uintptr_t v)
{
	struct lnode *n = malloc(sizeof(*n));
	n->v = v;
	atomic_store_explicit((_Atomic(struct lnode *) *)&n->next, NULL, memory_order_relaxed);
	pthread_mutex_lock(&tl_tmu);
	/* Release: the node's fields before a dequeuer reading next (acquire). */
	atomic_store_explicit((_Atomic(struct lnode *) *)&tl_tail->next, n, memory_order_release);
	tl_tail = n;
	pthread_mutex_unlock(&tl_tmu);
}

static uintptr_t tl_pop(void)
{
	pthread_mutex_lock(&tl_hmu);
	struct lnode *d = tl_head;
	struct lnode *n =
		atomic_load_explicit((_Atomic(struct lnode *) *)&d->next, memory_order_acquire);
	if (!n) {
		pthread_mutex_unlock(&tl_hmu);
		return 0;
	}
	uintptr_t v = n->v;
	tl_head = n;
	pthread_mutex_unlock(&tl_hmu);
	free(d);
	return v;
}

/* liburcu wfcqueue: wait-free enqueue, blocking (locked) dequeue. */
static struct cds_wfcq_head wf_head;
static struct cds_wfcq_tail wf_tail;
struct wfnode {
	struct cds_wfcq_node node;
	uintptr_t v;
};

static void wf_push(uintptr_t v)
{
	struct wfnode *n = malloc(sizeof(*n));
	cds_wfcq_node_init(&n->node);
	n->v = v;
	cds_wfcq_enqueue(&wf_head, &wf_tail, &n->node);
}

static uintptr_t wf_pop(void)
{
	struct cds_wfcq_node *n = cds_wfcq_dequeue_blocking(&wf_head, &wf_tail);
	if (!n)
		return 0;
	struct wfnode *w = caa_container_of(n, struct wfnode, node);
	uintptr_t v = w->v;
	free(w);
	return v;
}

/* liburcu rculfqueue: lock-free, nodes freed through call_rcu. */
static struct cds_lfq_queue_rcu lfq;
struct lfnode {
	struct cds_lfq_node_rcu node;
	struct rcu_head rcu;
	uintptr_t v;
};

static void lf_free(struct rcu_head *h)
{
	free(caa_container_of(h, struct lfnode, rcu));
}

static void lf_push(uintptr_t v)
{
	struct lfnode *n = malloc(sizeof(*n));
	cds_lfq_node_init_rcu(&n->node);
	n->v = v;
	urcu_memb_read_lock();
	cds_lfq_enqueue_rcu(&lfq, &n->node);
	urcu_memb_read_unlock();
}

static uintptr_t lf_pop(void)
{
	urcu_memb_read_lock();
	struct cds_lfq_node_rcu *n = cds_lfq_dequeue_rcu(&lfq);
	urcu_memb_read_unlock();
	if (!n)
		return 0;
	struct lfnode *l = caa_container_of(n, struct lfnode, node);
	uintptr_t v = l->v;
	urcu_memb_call_rcu(&l->rcu, lf_free);
	return v;
}

/* Concurrency Kit: ck_hp_fifo (Michael-Scott + ck's hazard pointers) and ck_ring. */
static ck_hp_t ck_hp;
static struct ck_hp_fifo ck_fifo;
static _Thread_local ck_hp_record_t *ck_rec;
static struct ck_ring ck_ring;
static ck_ring_buffer_t ck_ring_buf[RING_SIZE];

static void ck_destroy(void *p)
{
	free(p);
}

static void ck_thread_init(void)
{
	ck_rec = malloc(sizeof(*ck_rec));
	void **ptrs = malloc(sizeof(void *) * 2);
	ck_hp_register(&ck_hp, ck_rec, ptrs);
}

static void ckf_push(uintptr_t v)
{
	struct ck_hp_fifo_entry *e = malloc(sizeof(*e));
	ck_hp_fifo_enqueue_mpmc(ck_rec, &ck_fifo, e, (void *)v);
}

static uintptr_t ckf_pop(void)
{
	void *v;
	struct ck_hp_fifo_entry *g = ck_hp_fifo_dequeue_mpmc(ck_rec, &ck_fifo, &v);
	if (!g)
		return 0;
	ck_hp_free(ck_rec, &g->hazard, g, g);
	return (uintptr_t)v;
}

/* ---- harness ---- */

enum impl {
	MC_QUEUE,
	MC_RING,
	MUTEX,
	TWOLOCK,
	WFCQ,
	LFQ,
	CK_FIFO,
	CK_RING
};
static const char *const names[] = { "mc_queue", "mc_ring", "mutex",   "twolock",
				     "wfcqueue", "lfqueue", "ck_fifo", "ck_ring" };

static enum impl impl;
static struct mc_queue *mq;
static struct mc_queue_ring *mr;
static uint64_t per_producer;
static atomic_uint_least64_t popped, sum;
static uint64_t total;

static bool push(uintptr_t v)
{
	switch (impl) {
	case MC_QUEUE:
		return mc_queue_push(mq, (void *)v) == 0;
	case MC_RING:
		return mc_queue_ring_push(mr, (void *)v) == 0;
	case MUTEX:
		mq_push(v);
		return true;
	case TWOLOCK:
		tl_push(v);
		return true;
	case WFCQ:
		wf_push(v);
		return true;
	case LFQ:
		lf_push(v);
		return true;
	case CK_FIFO:
		ckf_push(v);
		return true;
	case CK_RING:
		return ck_ring_enqueue_mpmc(&ck_ring, ck_ring_buf, (void *)v);
	}
	return false;
}

static uintptr_t pop(void)
{
	void *p = NULL;

	switch (impl) {
	case MC_QUEUE:
		return (uintptr_t)mc_queue_pop(mq);
	case MC_RING:
		return (uintptr_t)mc_queue_ring_pop(mr);
	case MUTEX:
		return mq_pop();
	case TWOLOCK:
		return tl_pop();
	case WFCQ:
		return wf_pop();
	case LFQ:
		return lf_pop();
	case CK_FIFO:
		return ckf_pop();
	case CK_RING:
		return ck_ring_dequeue_mpmc(&ck_ring, ck_ring_buf, &p) ? (uintptr_t)p : 0;
	}
	return 0;
}

static void thread_enter(void)
{
	if (impl == LFQ)
		urcu_memb_register_thread();
	if (impl == CK_FIFO)
		ck_thread_init();
}

static void thread_leave(void)
{
	if (impl == LFQ)
		urcu_memb_unregister_thread();
}

/*
 * Sleeping consumers. `sleepy` is 1 while some consumer is (about to be) asleep on
 * it. A producer checks it with a plain load after each push (the read-mostly
 * line costs nothing while nobody sleeps) and, if set, clears it and wakes all:
 * one futex call per sleep episode, not per item. A consumer sets it, re-tries
 * the queue, then waits. On x86 every push and the consumer's exchange are locked
 * instructions, so the Dekker pair (push; load sleepy) / (set sleepy; pop) cannot
 * both miss; the 1 ms timeout bounds the damage on weaker hardware anyway.
 */
static bool empty_block = true;
static atomic_int sleepy;
#define EMPTY_YIELDS 4

static void futex(atomic_int *w, int op, int val, const struct timespec *ts)
{
	/* Best-effort: EAGAIN (value changed), EINTR and ETIMEDOUT all mean "look
	 * at the queue again". */
	(void)syscall(SYS_futex, w, op | FUTEX_PRIVATE_FLAG, val, ts, NULL, 0);
}

static void wake_consumers(void)
{
	if (atomic_load_explicit(&sleepy, memory_order_relaxed) &&
	    atomic_exchange_explicit(&sleepy, 0, memory_order_seq_cst))
		futex(&sleepy, FUTEX_WAKE, INT_MAX, NULL);
}

/* Adds a consumer's batch to the total; the one that completes it wakes sleepers
 * so they notice the end. */
static void count(uint64_t n)
{
	if (n && atomic_fetch_add(&popped, n) + n == total) {
		atomic_store(&sleepy, 0);
		futex(&sleepy, FUTEX_WAKE, INT_MAX, NULL);
	}
}

static void *producer(void *arg)
{
	uintptr_t id = (uintptr_t)arg;

	thread_enter();
	for (uint64_t i = 0; i < per_producer; i++) {
		uintptr_t v = ((uintptr_t)id << 40) | (i + 1);
		while (!push(v))
			sched_yield();
		if (empty_block)
			wake_consumers();
	}
	thread_leave();
	return NULL;
}

static void *consumer(void *arg)
{
	uint64_t local = 0, n = 0;
	unsigned empties = 0;

	thread_enter();
	while (atomic_load_explicit(&popped, memory_order_relaxed) < total) {
		uintptr_t v = pop();
		if (!v) {
			/* Publish our count before idling, or all consumers could wait on
			 * each other's unpublished counts. */
			count(n);
			n = 0;
			if (!empty_block || ++empties < EMPTY_YIELDS) {
				sched_yield();
				continue;
			}
			empties = 0;
			atomic_store_explicit(&sleepy, 1, memory_order_seq_cst);
			v = pop();
			if (!v) {
				const struct timespec ms = { 0, 1000000 };
				if (atomic_load_explicit(&popped, memory_order_relaxed) < total)
					futex(&sleepy, FUTEX_WAIT, 1, &ms);
				continue;
			}
		}
		empties = 0;
		local += v;
		if (++n == 256) {
			count(n);
			n = 0;
		}
	}
	count(n);
	atomic_fetch_add(&sum, local);
	thread_leave();
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: qbench IMPL P C ITEMS\n");
		return 64;
	}
	size_t k;
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (!strcmp(argv[1], names[k]))
			break;
	if (k == sizeof(names) / sizeof(names[0])) {
		fprintf(stderr, "qbench: unknown implementation `%s`\n", argv[1]);
		return 64;
	}
	impl = (enum impl)k;
	unsigned P = (unsigned)atoi(argv[2]), C = (unsigned)atoi(argv[3]);
	uint64_t items = strtoull(argv[4], NULL, 10);
	if (P < 1 || C < 1 || P > 64 || C > 64 || items < P) {
		fprintf(stderr, "qbench: bad P, C or ITEMS\n");
		return 64;
	}
	const char *em = getenv("QB_EMPTY");
	if (em && strcmp(em, "block") && strcmp(em, "yield")) {
		fprintf(stderr, "qbench: QB_EMPTY: `%s` is not block or yield\n", em);
		return 64;
	}
	empty_block = !em || !strcmp(em, "block");
	per_producer = items / P;
	total = per_producer * P;

	mc_queue_new(&mq);
	mc_queue_ring_new(RING_SIZE, &mr);
	tl_head = tl_tail = calloc(1, sizeof(struct lnode));
	cds_wfcq_init(&wf_head, &wf_tail);
	cds_lfq_init_rcu(&lfq, urcu_memb_call_rcu);
	ck_hp_init(&ck_hp, 2, 64, ck_destroy);
	ck_hp_fifo_init(&ck_fifo, malloc(sizeof(struct ck_hp_fifo_entry)));
	ck_ring_init(&ck_ring, RING_SIZE);

	pthread_t th[128];
	uint64_t t0 = mc_time_mono_ns();
	for (unsigned i = 0; i < C; i++)
		pthread_create(&th[i], NULL, consumer, NULL);
	for (unsigned i = 0; i < P; i++)
		pthread_create(&th[C + i], NULL, producer, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < P + C; i++)
		pthread_join(th[i], NULL);
	double secs = (double)(mc_time_mono_ns() - t0) / 1e9;

	thread_enter(); /* main's own pop() below needs a ck record / rcu registration */
	uint64_t want = 0;
	for (uint64_t p = 0; p < P; p++)
		want += (p << 40) * per_producer + per_producer * (per_producer + 1) / 2;
	bool once = atomic_load(&popped) == total && atomic_load(&sum) == want && pop() == 0;
	struct mc_queue_stats st = { 0 };
	if (impl == MC_QUEUE)
		mc_queue_stats(mq, &st);
	else if (impl == MC_RING)
		mc_queue_ring_stats(mr, &st);
	printf("%s,%u,%u,%llu,%.4f,%.3f,%s,%.4f,%.4f\n", names[impl], P, C,
	       (unsigned long long)total, secs, (double)total / secs / 1e6, once ? "yes" : "NO",
	       (double)st.push_retries / (double)total, (double)st.pop_retries / (double)total);
	return once ? 0 : 1;
}
