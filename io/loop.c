/* SPDX-License-Identifier: MIT */
/*
 * loop.c: the backend-neutral event loop: backend choice and fallback, the run
 * loop, timers (a binary min-heap: O(log n) start/stop, O(1) next deadline),
 * cross-thread tasks (mc_queue + eventfd), listeners, watches, file ops and the
 * N-loops-on-N-threads helper.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <mc/log.h>
#include <mc/util.h>

#include "loop_internal.h"

void loop_free_dead(struct mc_io_loop *l);
void loop_close_all_conns(struct mc_io_loop *l);

/* ---- timers ---- */

static void heap_swap(struct mc_io_loop *l, size_t a, size_t b)
{
	struct mc_io_timer *t = l->heap[a];

	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->heap_index = a;
	l->heap[b]->heap_index = b;
}

static void heap_up(struct mc_io_loop *l, size_t i)
{
	while (i && l->heap[(i - 1) / 2]->deadline > l->heap[i]->deadline) {
		heap_swap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct mc_io_loop *l, size_t i)
{
	for (;;) {
		size_t m = i, a = 2 * i + 1, b = a + 1;
		if (a < l->nheap && l->heap[a]->deadline < l->heap[m]->deadline)
			m = a;
		if (b < l->nheap && l->heap[b]->deadline < l->heap[m]->deadline)
			m = b;
		if (m == i)
			return;
		heap_swap(l, i, m);
		i = m;
	}
}

void mc_io_timer_init(struct mc_io_timer *t, mc_io_timer_fn fn, void *arg)
{
	t->deadline = 0;
	t->heap_index = SIZE_MAX;
	t->fn = fn;
	t->arg = arg;
}

bool mc_io_timer_pending(const struct mc_io_timer *t)
{
	return t->heap_index != SIZE_MAX;
}

void mc_io_timer_stop(struct mc_io_loop *l, struct mc_io_timer *t)
{
	size_t i = t->heap_index;

	if (i == SIZE_MAX)
		return;
	t->heap_index = SIZE_MAX;
	if (i != --l->nheap) {
		l->heap[i] = l->heap[l->nheap];
		l->heap[i]->heap_index = i;
		heap_down(l, i);
		heap_up(l, i);
	}
}

void mc_io_timer_start(struct mc_io_loop *l, struct mc_io_timer *t, uint64_t delay_ns)
{
	mc_io_timer_stop(l, t);
	if (l->nheap == l->capheap) {
		size_t cap = l->capheap ? l->capheap * 2 : 64;
		struct mc_io_timer **h = realloc(l->heap, cap * sizeof(*h));
		if (!h) {
			/* Best-effort: the timer stays unarmed; nothing else can be done
			 * without an error return in a void API. */
			mc_log_warn("io: out of memory arming a timer");
			return;
		}
		l->heap = h;
		l->capheap = cap;
	}
	/* A fresh clock, +1: a timer re-armed from its own callback with delay 0 runs
	 * on the next iteration, not in an endless loop within this one. */
	t->deadline = mc_time_mono_ns() + delay_ns + 1;
	t->heap_index = l->nheap;
	l->heap[l->nheap++] = t;
	heap_up(l, t->heap_index);
}

static void run_timers(struct mc_io_loop *l)
{
	while (l->nheap && l->heap[0]->deadline <= l->now) {
		struct mc_io_timer *t = l->heap[0];
		mc_io_timer_stop(l, t);
		t->fn(l, t, t->arg);
	}
}

/* ---- tasks ---- */

static void wake(struct mc_io_loop *l)
{
	/*
	 * acq_rel exchange: release orders our task push before it, so the loop's
	 * acquire exchange in loop_woken (same RMW chain) sees the task; only the
	 * poster that flips 0 -> 1 pays for the write(2).
	 */
	if (atomic_exchange_explicit(&l->wake_pending, 1, memory_order_acq_rel) == 0) {
		uint64_t one = 1;
		/* Best-effort: EAGAIN means the counter is already non-zero, which
		 * wakes the loop just as well. */
		(void)!write(l->wake_fd, &one, sizeof(one));
	}
}

int mc_io_loop_post(struct mc_io_loop *l, mc_io_task_fn fn, void *arg)
{
	struct task *t = malloc(sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->fn = fn;
	t->arg = arg;
	int r = mc_queue_push(l->tasks, t);
	if (r < 0) {
		free(t);
		return r;
	}
	wake(l);
	return 0;
}

void loop_woken(struct mc_io_loop *l)
{
	/* Acquire pairs with the posters' release exchanges (see wake()); resetting
	 * before draining means a post racing with the drain writes again. */
	atomic_exchange_explicit(&l->wake_pending, 0, memory_order_acq_rel);
	struct task *t;
	while ((t = mc_queue_pop(l->tasks))) {
		mc_io_task_fn fn = t->fn;
		void *arg = t->arg;
		free(t);
		fn(l, arg);
	}
}

void mc_io_loop_stop(struct mc_io_loop *l)
{
	/* Release: pairs with the acquire load in run(). */
	atomic_store_explicit(&l->stop, true, memory_order_release);
	wake(l);
}

/* ---- the loop ---- */

static const struct backend_ops *backend_of(enum mc_io_backend b)
{
	return b == MC_IO_BACKEND_EPOLL ? &epoll_backend : &uring_backend;
}

int mc_io_backend_parse(const char *name, enum mc_io_backend *out)
{
	if (!strcmp(name, "uring") || !strcmp(name, "io_uring"))
		*out = MC_IO_BACKEND_URING;
	else if (!strcmp(name, "epoll"))
		*out = MC_IO_BACKEND_EPOLL;
	else if (!strcmp(name, "auto") || !*name)
		*out = MC_IO_BACKEND_AUTO;
	else
		return -EINVAL;
	return 0;
}

int mc_io_loop_new(const struct mc_io_loop_opts *opts, struct mc_io_loop **out)
{
	enum mc_io_backend want = opts ? opts->backend : MC_IO_BACKEND_AUTO;
	unsigned entries = opts && opts->entries ? opts->entries : 256;
	struct mc_io_loop *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		return -ENOMEM;
	if (want == MC_IO_BACKEND_AUTO) {
		const char *env = getenv("MC_IO_BACKEND");
		if (env && mc_io_backend_parse(env, &want) < 0)
			mc_log_warn("io: MC_IO_BACKEND=%s: unknown backend, using auto", env);
	}
	l->accept_nodelay_fd = -1;
	l->spin_ns = opts ? (uint64_t)opts->spin_us * 1000 : 0;
	l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->wake_fd < 0) {
		r = -errno;
		goto out_free;
	}
	l->wake_op.kind = UOP_WAKE;
	if ((r = mc_queue_new(&l->tasks)) < 0)
		goto out_close;
	l->now = mc_time_mono_ns();
	l->be = backend_of(want);
	r = l->be->init(l, entries);
	if (r < 0 && want == MC_IO_BACKEND_AUTO) {
		/* io_uring refused (io_uring_disabled, seccomp, old kernel): epoll. */
		mc_log_debug("io: io_uring unavailable (%s), falling back to epoll", strerror(-r));
		l->be = &epoll_backend;
		r = l->be->init(l, entries);
	}
	if (r < 0)
		goto out_queue;
	*out = l;
	return 0;
out_queue:
	mc_queue_free(l->tasks);
out_close:
	close(l->wake_fd);
out_free:
	free(l);
	return r;
}

const char *mc_io_loop_backend(const struct mc_io_loop *l)
{
	return l->be->name;
}

uint64_t mc_io_loop_now(const struct mc_io_loop *l)
{
	return l->now;
}

void mc_io_loop_set_userdata(struct mc_io_loop *l, void *ud)
{
	l->userdata = ud;
}

void *mc_io_loop_userdata(const struct mc_io_loop *l)
{
	return l->userdata;
}

static void reap(struct mc_io_loop *l);

static void deliver_files(struct mc_io_loop *l)
{
	struct file_op *op;

	while ((op = l->files_done)) {
		l->files_done = op->next;
		file_done(l, op, op->res);
	}
}

int mc_io_loop_run(struct mc_io_loop *l)
{
	int ret = 0;

	l->running = true;
	/* Acquire pairs with mc_io_loop_stop's release store. */
	while (!atomic_load_explicit(&l->stop, memory_order_acquire)) {
		l->now = mc_time_mono_ns();
		run_timers(l);
		deliver_files(l);
		loop_process_dirty(l);
		loop_free_dead(l);
		uint64_t timeout = UINT64_MAX;
		if (l->dirty || l->files_done)
			timeout = 0;
		else if (l->nheap)
			timeout = l->heap[0]->deadline > l->now ? l->heap[0]->deadline - l->now : 0;
		int r = l->be->poll(l, timeout);
		if (r < 0 && r != -EINTR && r != -ETIME && r != -EAGAIN) {
			ret = r;
			break;
		}
		l->now = mc_time_mono_ns();
		deliver_files(l);
		loop_process_dirty(l);
		loop_free_dead(l);
		reap(l);
	}
	atomic_store_explicit(&l->stop, false, memory_order_relaxed);
	l->running = false;
	return ret;
}

void mc_io_loop_free(struct mc_io_loop *l)
{
	if (!l)
		return;
	/*
	 * Backend first: io_uring_queue_exit cancels and reaps every operation, so no
	 * kernel write (a recv into a conn's buffer) can land after we free below.
	 */
	l->be->fini(l);
	loop_close_all_conns(l);
	for (struct mc_io_listener *ls; (ls = l->listeners);) {
		l->listeners = ls->next;
		free(ls);
	}
	for (struct mc_io_watch *w; (w = l->watches);) {
		l->watches = w->next;
		free(w);
	}
	for (struct file_op *op; (op = l->files_done);) {
		l->files_done = op->next;
		free(op);
	}
	struct task *t;
	while ((t = mc_queue_pop(l->tasks)))
		free(t);
	mc_queue_free(l->tasks);
	close(l->wake_fd);
	free(l->heap);
	free(l);
}

/* ---- listeners ---- */

static void listener_resume(struct mc_io_loop *l, struct mc_io_timer *t, void *arg)
{
	struct mc_io_listener *ls = arg;

	ls->paused = false;
	if (!ls->closed && l->be->listener_start(ls) < 0)
		listener_pause(ls);
}

int mc_io_listener_add(struct mc_io_loop *l, int fd, mc_io_accept_fn fn, void *arg,
		       struct mc_io_listener **out)
{
	struct mc_io_listener *ls = calloc(1, sizeof(*ls));

	if (!ls)
		return -ENOMEM;
	ls->loop = l;
	ls->fd = fd;
	int nd = 0;
	socklen_t ndlen = sizeof(nd);
	/* Linux copies TCP_NODELAY from a listener to the sockets it accepts. A
	 * failure (not TCP) just means each conn sets it itself. */
	ls->nodelay = getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nd, &ndlen) == 0 && nd;
	ls->fn = fn;
	ls->arg = arg;
	ls->op.kind = UOP_ACCEPT;
	ls->multishot = true;
	mc_io_timer_init(&ls->resume, listener_resume, ls);
	int r = l->be->listener_start(ls);
	if (r < 0) {
		free(ls);
		return r;
	}
	ls->next = l->listeners;
	if (l->listeners)
		l->listeners->prev = ls;
	l->listeners = ls;
	if (out)
		*out = ls;
	return 0;
}

void listener_pause(struct mc_io_listener *ls)
{
	if (ls->paused || ls->closed)
		return;
	ls->paused = true;
	mc_io_timer_start(ls->loop, &ls->resume, 100 * 1000000ull);
}

void listener_accepted(struct mc_io_listener *ls, int fd)
{
	if (ls->closed) {
		close(fd);
		return;
	}
	struct mc_io_loop *l = ls->loop;
	l->accept_nodelay_fd = ls->nodelay ? fd : -1;
	ls->fn(ls, fd, ls->arg);
	l->accept_nodelay_fd = -1;
}

/* Closed listeners stay on the loop's list until the backend holds nothing in
 * flight for them, so mc_io_loop_free() can still find them. */
void listener_maybe_free(struct mc_io_listener *ls)
{
	if (ls->closed && !ls->inflight)
		ls->loop->reap = true; /* freed after this batch: events may still name it */
}

static void listener_free(struct mc_io_listener *ls)
{
	struct mc_io_loop *l = ls->loop;

	if (ls->prev)
		ls->prev->next = ls->next;
	else
		l->listeners = ls->next;
	if (ls->next)
		ls->next->prev = ls->prev;
	free(ls);
}

void mc_io_listener_close(struct mc_io_listener *ls)
{
	struct mc_io_loop *l = ls->loop;

	ls->closed = true;
	mc_io_timer_stop(l, &ls->resume);
	l->be->listener_stop(ls);
	listener_maybe_free(ls);
}

struct mc_io_loop *mc_io_listener_loop(const struct mc_io_listener *ls)
{
	return ls->loop;
}

/* ---- watches ---- */

int mc_io_watch_add(struct mc_io_loop *l, int fd, mc_io_watch_fn fn, void *arg,
		    struct mc_io_watch **out)
{
	struct mc_io_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->loop = l;
	w->fd = fd;
	w->fn = fn;
	w->arg = arg;
	w->op.kind = UOP_POLL;
	int r = l->be->watch_start(w);
	if (r < 0) {
		free(w);
		return r;
	}
	w->next = l->watches;
	if (l->watches)
		l->watches->prev = w;
	l->watches = w;
	if (out)
		*out = w;
	return 0;
}

void watch_ready(struct mc_io_watch *w)
{
	if (!w->closed)
		w->fn(w, w->fd, w->arg);
}

/* As for listeners: unlinked only once nothing is in flight. */
void watch_maybe_free(struct mc_io_watch *w)
{
	if (w->closed && !w->inflight)
		w->loop->reap = true; /* as for listeners */
}

static void watch_free(struct mc_io_watch *w)
{
	struct mc_io_loop *l = w->loop;

	if (w->prev)
		w->prev->next = w->next;
	else
		l->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	free(w);
}

void mc_io_watch_del(struct mc_io_watch *w)
{
	struct mc_io_loop *l = w->loop;

	w->closed = true;
	l->be->watch_stop(w);
	watch_maybe_free(w);
}

static void reap(struct mc_io_loop *l)
{
	if (!l->reap)
		return;
	l->reap = false;
	for (struct mc_io_listener *ls = l->listeners, *n; ls; ls = n) {
		n = ls->next;
		if (ls->closed && !ls->inflight)
			listener_free(ls);
	}
	for (struct mc_io_watch *w = l->watches, *n; w; w = n) {
		n = w->next;
		if (w->closed && !w->inflight)
			watch_free(w);
	}
}

/* ---- file ops ---- */

static int file_submit(struct mc_io_loop *l, int kind, int fd, void *buf, size_t len, uint64_t off,
		       mc_io_file_fn fn, void *arg)
{
	struct file_op *op = calloc(1, sizeof(*op));

	if (!op)
		return -ENOMEM;
	*op = (struct file_op){ .op.kind = UOP_FILE,
				.kind = kind,
				.fd = fd,
				.buf = buf,
				.len = len,
				.off = off,
				.fn = fn,
				.arg = arg };
	int r = l->be->file_submit(l, op);
	if (r < 0) {
		free(op);
		return r;
	}
	l->files_inflight++;
	return 0;
}

int mc_io_file_read(struct mc_io_loop *l, int fd, void *buf, size_t len, uint64_t off,
		    mc_io_file_fn fn, void *arg)
{
	return file_submit(l, 0, fd, buf, len, off, fn, arg);
}

int mc_io_file_write(struct mc_io_loop *l, int fd, const void *buf, size_t len, uint64_t off,
		     mc_io_file_fn fn, void *arg)
{
	return file_submit(l, 1, fd, (void *)buf, len, off, fn, arg);
}

int mc_io_file_fsync(struct mc_io_loop *l, int fd, bool datasync, mc_io_file_fn fn, void *arg)
{
	return file_submit(l, datasync ? 3 : 2, fd, NULL, 0, 0, fn, arg);
}

void file_done(struct mc_io_loop *l, struct file_op *op, int res)
{
	mc_io_file_fn fn = op->fn;
	void *arg = op->arg;

	l->files_inflight--;
	free(op);
	fn(l, res, arg);
}

/* ---- N loops on N threads ---- */

struct mc_io_threads {
	unsigned n;
	struct mc_io_loop_opts opts;
	mc_io_thread_init_fn init;
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned ready;
	int err;
	struct slot {
		struct mc_io_threads *t;
		unsigned idx;
		pthread_t th;
		bool started;
		struct mc_io_loop *loop;
		int rc;
	} * slots;
};

static void *thread_main(void *arg)
{
	struct slot *s = arg;
	struct mc_io_threads *t = s->t;
	struct mc_io_loop *l = NULL;
	int r = mc_io_loop_new(&t->opts, &l);

	if (r == 0 && t->init)
		r = t->init(l, s->idx, t->arg);
	pthread_mutex_lock(&t->mu);
	s->loop = l;
	if (r < 0 && !t->err)
		t->err = r;
	t->ready++;
	pthread_cond_broadcast(&t->cv);
	/* Wait until every thread is initialised: a failure anywhere aborts all. */
	while (t->ready < t->n)
		pthread_cond_wait(&t->cv, &t->mu);
	bool go = t->err == 0;
	pthread_mutex_unlock(&t->mu);
	if (go)
		s->rc = mc_io_loop_run(l);
	return NULL;
}

int mc_io_threads_start(unsigned n, const struct mc_io_loop_opts *opts, mc_io_thread_init_fn init,
			void *arg, struct mc_io_threads **out)
{
	if (n == 0)
		return -EINVAL;
	struct mc_io_threads *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->slots = calloc(n, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return -ENOMEM;
	}
	t->n = n;
	if (opts)
		t->opts = *opts;
	t->init = init;
	t->arg = arg;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	for (unsigned i = 0; i < n; i++) {
		t->slots[i] = (struct slot){ .t = t, .idx = i };
		int r = pthread_create(&t->slots[i].th, NULL, thread_main, &t->slots[i]);
		if (r) {
			pthread_mutex_lock(&t->mu);
			if (!t->err)
				t->err = -r;
			t->ready += n - i; /* release the started ones */
			pthread_cond_broadcast(&t->cv);
			pthread_mutex_unlock(&t->mu);
			break;
		}
		t->slots[i].started = true;
	}
	pthread_mutex_lock(&t->mu);
	while (t->ready < t->n)
		pthread_cond_wait(&t->cv, &t->mu);
	int err = t->err;
	pthread_mutex_unlock(&t->mu);
	if (err) {
		mc_io_threads_join(t);
		return err;
	}
	*out = t;
	return 0;
}

unsigned mc_io_threads_count(const struct mc_io_threads *t)
{
	return t->n;
}

struct mc_io_loop *mc_io_threads_loop(const struct mc_io_threads *t, unsigned idx)
{
	return idx < t->n ? t->slots[idx].loop : NULL;
}

void mc_io_threads_stop(struct mc_io_threads *t)
{
	for (unsigned i = 0; i < t->n; i++)
		if (t->slots[i].loop)
			mc_io_loop_stop(t->slots[i].loop);
}

int mc_io_threads_join(struct mc_io_threads *t)
{
	int err = 0;

	for (unsigned i = 0; i < t->n; i++) {
		if (t->slots[i].started)
			pthread_join(t->slots[i].th, NULL);
		if (t->slots[i].rc < 0 && !err)
			err = t->slots[i].rc;
		mc_io_loop_free(t->slots[i].loop);
	}
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t->slots);
	free(t);
	return err;
}
