/* SPDX-License-Identifier: MIT */
/*
 * loop_uring.c: the io_uring backend (liburing). Completion-based: each conn keeps
 * at most one recv (into the free tail of its read buffer) and one send (from its
 * send buffer) in flight; listeners use multishot accept (5.19+; single-shot
 * re-armed on older kernels); watches are one-shot polls re-armed after each
 * callback, which gives level-triggered behaviour; the wakeup eventfd is a pending
 * read. Closing cancels by user_data; an object is freed only after its last CQE.
 *
 * Ring setup tries SINGLE_ISSUER | DEFER_TASKRUN (6.1+: completions are processed
 * only when the loop asks, in batches, no IPIs), created disabled so that the
 * thread which first runs the loop becomes the submitter; it falls back to
 * COOP_TASKRUN (5.19+) and then to no flags. A loop with spin_us also asks for
 * TASKRUN_FLAG and busy-polls the rings for that long before it sleeps (ur_spin).
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "loop_internal.h"
#include <mc/util.h>

struct ur {
	struct io_uring ring;
	bool enabled;
	unsigned last; /* completions handled by the previous ur_poll */
};

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

static struct ur *ur_of(struct mc_io_loop *l)
{
	return l->be_data;
}

static void ur_enable(struct ur *u)
{
	if (!u->enabled) {
		/* The raw syscall: Debian's liburing 2.3 declares io_uring_enable_rings but
		 * does not export it. Only fails if the ring was not created disabled,
		 * which is fine either way. */
		(void)syscall(__NR_io_uring_register, u->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS,
			      NULL, 0);
		u->enabled = true;
	}
}

static struct io_uring_sqe *get_sqe(struct mc_io_loop *l)
{
	struct ur *u = ur_of(l);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		/* SQ full: submit what is queued to make room. */
		ur_enable(u);
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static void arm_wake(struct mc_io_loop *l)
{
	struct io_uring_sqe *sqe = get_sqe(l);

	if (!sqe)
		return;
	io_uring_prep_read(sqe, l->wake_fd, &l->wake_buf, sizeof(l->wake_buf), 0);
	io_uring_sqe_set_data(sqe, &l->wake_op);
}

static int ur_init(struct mc_io_loop *l, unsigned entries)
{
	/* TASKRUN_FLAG (6.1+ with DEFER_TASKRUN) only for loops that spin (ur_spin):
	 * it also makes liburing's peeks enter the kernel when work is pending. */
	static const unsigned flag_sets[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED |
			IORING_SETUP_TASKRUN_FLAG,
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	struct ur *u = calloc(1, sizeof(*u));
	int r = -EINVAL;

	if (!u)
		return -ENOMEM;
	for (size_t i = l->spin_ns ? 0 : 1; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		struct io_uring_params p = { .flags = flag_sets[i] };
		p.flags |= IORING_SETUP_CQSIZE;
		p.cq_entries = entries * 4;
		r = io_uring_queue_init_params(entries, &u->ring, &p);
		if (r != -EINVAL)
			break;
		u->enabled = false;
	}
	if (r < 0) {
		free(u);
		return r;
	}
	u->enabled = !(u->ring.flags & IORING_SETUP_R_DISABLED);
	l->be_data = u;
	arm_wake(l);
	return 0;
}

/* At teardown: the linked close of op's conn (if op is one) ran with @res. */
static void ring_close_settle(struct uop *op, int res)
{
	if (op->kind != UOP_CLOSE)
		return;
	struct mc_io_conn *c = container_of(op, struct mc_io_conn, close_op);
	if (res != -ECANCELED) {
		c->ring_close = RING_CLOSE_DONE;
		c->fd = -1;
	}
}

static void ur_fini(struct mc_io_loop *l)
{
	struct ur *u = ur_of(l);

	if (!u)
		return;
	/*
	 * Closes still queued in the SQ (ur_close_fd) never reached the kernel; do
	 * them here or their fds leak. Not by submitting: fini may run on another
	 * thread than the ring's single issuer.
	 */
	for (unsigned i = u->ring.sq.sqe_head; i != u->ring.sq.sqe_tail; i++) {
		struct io_uring_sqe *sqe = &u->ring.sq.sqes[i & u->ring.sq.ring_mask];
		if (sqe->opcode != IORING_OP_CLOSE)
			continue;
		close(sqe->fd);
		if (sqe->user_data) /* a conn's linked close (send_last) */
			ring_close_settle((struct uop *)(uintptr_t)sqe->user_data, 0);
	}
	/* Linked closes that ran but whose completion was not reaped yet: record it,
	 * so that loop_close_all_conns does not close their (maybe reused) fd numbers. */
	struct io_uring_cqe *cqe;
	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		if (cqe->user_data)
			ring_close_settle((struct uop *)(uintptr_t)cqe->user_data, cqe->res);
		io_uring_cqe_seen(&u->ring, cqe);
	}
	io_uring_queue_exit(&u->ring);
	free(u);
	l->be_data = NULL;
}

static void cancel(struct mc_io_loop *l, struct uop *op)
{
	struct io_uring_sqe *sqe = get_sqe(l);

	if (!sqe)
		return;
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
	io_uring_sqe_set_data64(sqe, 0);
}

/*
 * A conn's close rides on the next submit instead of costing its own syscall
 * (one per connection under Connection: close). The fd stays open until then,
 * so its number cannot be reused by an accept in between; cancels of the conn's
 * operations target them by user_data, not by fd, so their order is irrelevant.
 */
static void ur_close_fd(struct mc_io_loop *l, int fd)
{
	struct io_uring_sqe *sqe = get_sqe(l);

	if (!sqe) {
		close(fd);
		return;
	}
	io_uring_prep_close(sqe, fd);
	io_uring_sqe_set_data64(sqe, 0);
}

static int ur_listener_start(struct mc_io_listener *ls)
{
	struct io_uring_sqe *sqe = get_sqe(ls->loop);

	if (!sqe)
		return -EBUSY;
	if (ls->multishot)
		io_uring_prep_multishot_accept(sqe, ls->fd, NULL, NULL,
					       SOCK_NONBLOCK | SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data(sqe, &ls->op);
	ls->inflight = true;
	return 0;
}

static void ur_listener_stop(struct mc_io_listener *ls)
{
	if (ls->inflight)
		cancel(ls->loop, &ls->op);
}

static void accept_cqe(struct mc_io_listener *ls, int res, unsigned flags)
{
	bool more = flags & IORING_CQE_F_MORE;

	/* inflight stays true during the callback so it cannot free ls under us. */
	if (res >= 0)
		listener_accepted(ls, res);
	ls->inflight = more;
	if (ls->closed) {
		listener_maybe_free(ls);
		return;
	}
	if (res == -EINVAL && ls->multishot && !more) {
		ls->multishot = false; /* kernel < 5.19: single-shot accepts */
	} else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
		if (more)
			cancel(ls->loop, &ls->op);
		listener_pause(ls);
		return;
	}
	if (!more && !ls->paused && ur_listener_start(ls) < 0)
		listener_pause(ls);
}

static int ur_watch_start(struct mc_io_watch *w)
{
	struct io_uring_sqe *sqe = get_sqe(w->loop);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, w->fd, POLLIN);
	io_uring_sqe_set_data(sqe, &w->op);
	w->inflight = true;
	return 0;
}

static void ur_watch_stop(struct mc_io_watch *w)
{
	if (w->inflight)
		cancel(w->loop, &w->op);
}

static void poll_cqe(struct mc_io_watch *w, int res)
{
	if (res >= 0)
		watch_ready(w);
	w->inflight = false;
	if (w->closed)
		watch_maybe_free(w);
	else if (ur_watch_start(w) < 0)
		mc_io_watch_del(w); /* cannot happen short of a broken ring */
}

static int ur_conn_start(struct mc_io_conn *c)
{
	if (c->flags & CONN_CONNECTING) {
		struct io_uring_sqe *sqe = get_sqe(c->loop);
		if (!sqe)
			return -EBUSY;
		io_uring_prep_connect(sqe, c->fd, (struct sockaddr *)&c->peer, c->peerlen);
		io_uring_sqe_set_data(sqe, &c->conn_op);
		c->connect_inflight = true;
		return 0;
	}
	conn_mark_dirty(c); /* conn_sync arms the first recv after this batch */
	return 0;
}

/*
 * send_last: a shut-down conn whose remaining output is all in sbuf sends it with
 * the close of its fd linked behind (IOSQE_IO_LINK): both run in the same submit,
 * so the FIN leaves right after the last bytes instead of one loop iteration later,
 * when the peer has often read the response and closed first (it then ends up in
 * TIME_WAIT on the client side, and pays for it on its next connect). MSG_WAITALL
 * makes the ring retry a short send and fail the link if the bytes cannot all go,
 * which cancels the close (-ECANCELED: the fd is closed by hand, close_cqe).
 * MSG_MORE holds the last partial segment for the close, whose FIN rides on it:
 * one packet (data + FIN) instead of two, and the close always follows (linked, or
 * by hand after a failure), so nothing waits for a cork timer. Only on
 * DEFER_TASKRUN rings (6.1+), where send honours MSG_WAITALL (5.19+); needs two
 * free SQ slots so that the pair is submitted together. Returns true if queued.
 */
static bool send_last(struct mc_io_conn *c, size_t pending)
{
	struct ur *u = ur_of(c->loop);

	if (!(c->flags & CONN_SHUTDOWN) || c->file_left || c->wbuf.len != c->wbuf.off ||
	    c->ring_close != RING_CLOSE_NONE || !(u->ring.flags & IORING_SETUP_DEFER_TASKRUN) ||
	    io_uring_sq_space_left(&u->ring) < 2)
		return false;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	struct io_uring_sqe *csqe = io_uring_get_sqe(&u->ring);
	io_uring_prep_send(sqe, c->fd, c->sbuf.data + c->sbuf.off, pending,
			   MSG_NOSIGNAL | MSG_WAITALL | MSG_MORE);
	io_uring_sqe_set_data(sqe, &c->send_op);
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_prep_close(csqe, c->fd);
	io_uring_sqe_set_data(csqe, &c->close_op);
	c->send_inflight = true;
	c->send_linked = true;
	c->ring_close = RING_CLOSE_INFLIGHT;
	c->ring_fd = c->fd;
	return true;
}

static void ur_conn_sync(struct mc_io_conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->flags & (CONN_CLOSED | CONN_CONNECTING))
		return;
	size_t pending = c->send_inflight ? 0 : conn_sbuf_fill(c);

	if (pending && c->file_left) {
		/*
		 * A response head ahead of a file segment: send(2) it inline with
		 * MSG_MORE, so that the sendfile below runs in this iteration too (as
		 * SQE it would complete one iteration later, and the file wait for it).
		 * Whatever does not fit goes by SQE as usual.
		 */
		ssize_t n = send(c->fd, c->sbuf.data + c->sbuf.off, pending,
				 MSG_NOSIGNAL | MSG_DONTWAIT | MSG_MORE);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			conn_error(c, -errno);
			return;
		}
		if (n > 0) {
			conn_sent(c, (size_t)n);
			pending -= (size_t)n;
		}
	}
	if (pending && send_last(c, pending)) {
		/* the final send, with the fd's close linked behind it */
	} else if (pending && (sqe = get_sqe(c->loop))) {
		io_uring_prep_send(sqe, c->fd, c->sbuf.data + c->sbuf.off,
				   c->sbuf.len - c->sbuf.off,
				   MSG_NOSIGNAL | (c->file_left ? MSG_MORE : 0));
		io_uring_sqe_set_data(sqe, &c->send_op);
		c->send_inflight = true;
	} else if (!pending && !c->send_inflight && c->file_left) {
		/*
		 * The file segment, once the buffered head is out: sendfile(2) inline,
		 * non-blocking (page-cache pages go to the socket, no copy through us). A
		 * full socket parks a POLLOUT on send_op; its completion retries here.
		 */
		int r = conn_file_send(c);
		if (r < 0 || (c->flags & (CONN_CLOSE_REQ | CONN_CLOSED)))
			return;
		if (r == 0 && (sqe = get_sqe(c->loop))) {
			io_uring_prep_poll_add(sqe, c->fd, POLLOUT);
			io_uring_sqe_set_data(sqe, &c->send_op);
			c->send_inflight = true;
			c->send_poll = true;
		} else if (r == 0) {
			conn_mark_dirty(c); /* SQ full: retry after this batch is submitted */
		}
	}
	if ((c->flags & CONN_READING) && !(c->flags & CONN_EOF) && !c->recv_inflight) {
		size_t room = conn_rbuf_prepare(c);
		if (room && (sqe = get_sqe(c->loop))) {
			io_uring_prep_recv(sqe, c->fd, c->rbuf.data + c->rbuf.len, room, 0);
			io_uring_sqe_set_data(sqe, &c->recv_op);
			c->recv_inflight = true;
		}
	}
}

static void ur_conn_stop(struct mc_io_conn *c)
{
	if (c->recv_inflight)
		cancel(c->loop, &c->recv_op);
	if (c->send_inflight)
		cancel(c->loop, &c->send_op);
	if (c->connect_inflight)
		cancel(c->loop, &c->conn_op);
}

static void recv_cqe(struct mc_io_conn *c, int res)
{
	c->recv_inflight = false;
	if (c->flags & CONN_CLOSED)
		conn_maybe_free(c);
	else if (res > 0)
		conn_read_done(c, (size_t)res);
	else if (res == 0)
		conn_eof(c);
	else if (res == -EAGAIN || res == -EINTR || res == -ENOBUFS)
		conn_mark_dirty(c);
	else
		conn_error(c, res);
}

static void send_cqe(struct mc_io_conn *c, int res)
{
	bool poll = c->send_poll, linked = c->send_linked;

	c->send_inflight = false;
	c->send_poll = false;
	c->send_linked = false;
	if (c->flags & CONN_CLOSED)
		conn_maybe_free(c);
	else if (linked && (res < 0 || (size_t)res != c->sbuf.len - c->sbuf.off))
		conn_error(c, res < 0 ? res : -EPIPE); /* the linked close was cancelled */
	else if (poll)
		conn_mark_dirty(c); /* writable (or an error the sendfile will report) */
	else if (res >= 0)
		conn_sent(c, (size_t)res);
	else if (res == -EAGAIN || res == -EINTR)
		conn_mark_dirty(c);
	else
		conn_error(c, res);
}

/* The close linked behind a final send (send_last) completed. */
static void close_cqe(struct mc_io_conn *c, int res)
{
	if (res == -ECANCELED) {
		/* The send failed and broke the link: the fd is still open. An open conn
		 * closes it itself (conn_error follows from the send's CQE). */
		c->ring_close = RING_CLOSE_NONE;
		if (c->flags & CONN_CLOSED)
			ur_close_fd(c->loop, c->ring_fd);
	} else {
		c->ring_close = RING_CLOSE_DONE; /* closed, whatever close(2) said */
		c->fd = -1;
	}
	if (c->flags & CONN_CLOSED)
		conn_maybe_free(c);
}

static void connect_cqe(struct mc_io_conn *c, int res)
{
	c->connect_inflight = false;
	if (c->flags & CONN_CLOSED)
		conn_maybe_free(c);
	else
		conn_connected(c, res);
}

static void dispatch(struct mc_io_loop *l, uint64_t ud, int res, unsigned flags)
{
	struct uop *op = (struct uop *)(uintptr_t)ud;

	if (!op)
		return; /* a cancel's own completion */
	switch (op->kind) {
	case UOP_RECV:
		recv_cqe(container_of(op, struct mc_io_conn, recv_op), res);
		break;
	case UOP_SEND:
		send_cqe(container_of(op, struct mc_io_conn, send_op), res);
		break;
	case UOP_CONNECT:
		connect_cqe(container_of(op, struct mc_io_conn, conn_op), res);
		break;
	case UOP_CLOSE:
		close_cqe(container_of(op, struct mc_io_conn, close_op), res);
		break;
	case UOP_ACCEPT:
		accept_cqe(container_of(op, struct mc_io_listener, op), res, flags);
		break;
	case UOP_POLL:
		poll_cqe(container_of(op, struct mc_io_watch, op), res);
		break;
	case UOP_WAKE:
		loop_woken(l);
		arm_wake(l);
		break;
	case UOP_FILE:
		file_done(l, container_of(op, struct file_op, op), res);
		break;
	default:
		break;
	}
}

#define BATCH 64

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/*
 * Busy polling (mc_io_loop_opts.spin_us): after an iteration that had work, before
 * sleeping, submit and then watch the rings from user space for up to @spin_ns. On
 * a DEFER_TASKRUN ring the kernel wakes a sleeping loop from the producer's
 * context: the client's send(2) on loopback pays try_to_wake_up and, across cores,
 * an IPI (on this VM a VM exit) for every batch that finds the loop asleep. While
 * the loop spins it is not in the kernel's wait, so a completion costs its producer
 * only a list add and IORING_SQ_TASKRUN in the SQ flags, which we see here; the
 * loop then runs the work with one non-blocking io_uring_enter. Returns true if
 * there is work, false when the spin ran out (the caller then blocks as usual).
 */
static bool ur_spin(struct ur *u, uint64_t spin_ns, uint64_t timeout_ns)
{
	uint64_t start = mc_time_mono_ns();
	uint64_t limit = timeout_ns < spin_ns ? timeout_ns : spin_ns;

	io_uring_submit_and_get_events(&u->ring);
	for (unsigned i = 0;; i++) {
		if (io_uring_cq_ready(&u->ring))
			return true;
		if (__atomic_load_n(u->ring.sq.kflags, __ATOMIC_ACQUIRE) & IORING_SQ_TASKRUN) {
			io_uring_get_events(&u->ring);
			return true;
		}
		/* The clock (vDSO, ~20 ns) every 16 rounds: a pause is ~40-140 cycles. */
		if ((i & 15) == 15 && mc_time_mono_ns() - start >= limit)
			return false;
		cpu_relax();
	}
}

static int ur_poll(struct mc_io_loop *l, uint64_t timeout_ns)
{
	struct ur *u = ur_of(l);
	struct io_uring_cqe *cqe, *cqes[BATCH];
	int r;

	ur_enable(u);
	if (timeout_ns != 0 && l->spin_ns && u->last &&
	    (u->ring.flags & IORING_SETUP_TASKRUN_FLAG) && ur_spin(u, l->spin_ns, timeout_ns)) {
		r = 0;
	} else if (timeout_ns == 0) {
		r = io_uring_submit_and_get_events(&u->ring);
	} else if (timeout_ns == UINT64_MAX) {
		r = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, NULL, NULL);
	} else {
		struct __kernel_timespec ts = { .tv_sec = (long long)(timeout_ns / 1000000000ull),
						.tv_nsec =
							(long long)(timeout_ns % 1000000000ull) };
		r = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
	}
	if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY)
		return r;
	unsigned n, total = 0;
	do {
		struct {
			uint64_t ud;
			int res;
			unsigned flags;
		} done[BATCH];
		n = io_uring_peek_batch_cqe(&u->ring, cqes, BATCH);
		/* Copy and release the CQ slots before any callback runs: callbacks
		 * submit, and the CQ must not overflow while we hold entries. */
		for (unsigned i = 0; i < n; i++) {
			done[i].ud = cqes[i]->user_data;
			done[i].res = cqes[i]->res;
			done[i].flags = cqes[i]->flags;
		}
		io_uring_cq_advance(&u->ring, n);
		total += n;
		for (unsigned i = 0; i < n; i++)
			dispatch(l, done[i].ud, done[i].res, done[i].flags);
	} while (n == BATCH);
	u->last = total;
	return 0;
}

static int ur_file_submit(struct mc_io_loop *l, struct file_op *op)
{
	struct io_uring_sqe *sqe = get_sqe(l);

	if (!sqe)
		return -EBUSY;
	switch (op->kind) {
	case 0:
		io_uring_prep_read(sqe, op->fd, op->buf, (unsigned)op->len, op->off);
		break;
	case 1:
		io_uring_prep_write(sqe, op->fd, op->buf, (unsigned)op->len, op->off);
		break;
	default:
		io_uring_prep_fsync(sqe, op->fd, op->kind == 3 ? IORING_FSYNC_DATASYNC : 0);
		break;
	}
	io_uring_sqe_set_data(sqe, &op->op);
	return 0;
}

const struct backend_ops uring_backend = {
	.name = "uring",
	.init = ur_init,
	.fini = ur_fini,
	.close_fd = ur_close_fd,
	.poll = ur_poll,
	.conn_start = ur_conn_start,
	.conn_sync = ur_conn_sync,
	.conn_stop = ur_conn_stop,
	.listener_start = ur_listener_start,
	.listener_stop = ur_listener_stop,
	.watch_start = ur_watch_start,
	.watch_stop = ur_watch_stop,
	.file_submit = ur_file_submit,
};
