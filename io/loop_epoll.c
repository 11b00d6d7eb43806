/* SPDX-License-Identifier: MIT */
/*
 * loop_epoll.c: the readiness backend, for kernels or sandboxes without io_uring.
 * Level-triggered: a conn is registered for EPOLLIN while it wants input and for
 * EPOLLOUT only while a send hit EAGAIN, so an idle conn costs no wakeups. Reads
 * happen once per readiness event into the conn's buffer; sends happen directly
 * from conn_sync (after the callbacks of an iteration), falling back to EPOLLOUT.
 * File ops run inline (regular files are always "ready") and complete from the loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop_internal.h"

#define MAX_EVENTS 256

struct ep {
	int epfd;
	unsigned batch;
	struct epoll_event ev[MAX_EVENTS];
};

static struct ep *ep_of(struct mc_io_loop *l)
{
	return l->be_data;
}

static int ctl(struct mc_io_loop *l, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	return epoll_ctl(ep_of(l)->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static int ep_init(struct mc_io_loop *l, unsigned entries)
{
	struct ep *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0) {
		int r = -errno;
		free(e);
		return r;
	}
	e->batch = entries < MAX_EVENTS ? entries : MAX_EVENTS;
	l->be_data = e;
	int r = ctl(l, EPOLL_CTL_ADD, l->wake_fd, EPOLLIN, &l->wake_op);
	if (r < 0) {
		close(e->epfd);
		free(e);
		l->be_data = NULL;
	}
	return r;
}

static void ep_fini(struct mc_io_loop *l)
{
	struct ep *e = ep_of(l);

	if (!e)
		return;
	close(e->epfd);
	free(e);
	l->be_data = NULL;
}

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

static int sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

static void conn_event(struct mc_io_conn *c, uint32_t ev)
{
	if (c->flags & CONN_CLOSED)
		return;
	if (c->flags & CONN_CONNECTING) {
		if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			conn_connected(c, sock_error(c->fd));
		return;
	}
	if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (c->flags & CONN_IN_EPOLL_IN)) {
		size_t room = conn_rbuf_prepare(c);
		if (room) {
			ssize_t n = recv(c->fd, c->rbuf.data + c->rbuf.len, room, 0);
			if (n > 0)
				conn_read_done(c, (size_t)n);
			else if (n == 0)
				conn_eof(c);
			else if (errno != EAGAIN && errno != EINTR)
				conn_error(c, -errno);
		}
	} else if (ev & (EPOLLERR | EPOLLHUP)) {
		/* Not reading, and the socket is dead: level-triggered HUP would spin. */
		int err = sock_error(c->fd);
		conn_error(c, err ? err : -ECONNRESET);
		return;
	}
	if (ev & EPOLLOUT)
		conn_mark_dirty(c);
}

static void listener_event(struct mc_io_listener *ls)
{
	/* Bounded: other events get their turn even under an accept storm. */
	for (int i = 0; i < 64 && !ls->closed && !ls->paused; i++) {
		int fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			listener_accepted(ls, fd);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* Out of fds: stop watching for a while, or we would spin. */
			(void)ctl(ls->loop, EPOLL_CTL_DEL, ls->fd, 0, NULL);
			listener_pause(ls);
		}
		/* EAGAIN: drained. ECONNABORTED and friends: the peer gave up; next. */
		if (errno != ECONNABORTED && errno != EINTR)
			break;
	}
}

static int ep_poll(struct mc_io_loop *l, uint64_t timeout_ns)
{
	struct ep *e = ep_of(l);
	int ms = timeout_ns == UINT64_MAX ? -1
		 : timeout_ns > (uint64_t)INT32_MAX * 1000000ull
			 ? INT32_MAX
			 : (int)((timeout_ns + 999999) / 1000000);
	int n = epoll_wait(e->epfd, e->ev, (int)e->batch, ms);

	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		struct uop *op = e->ev[i].data.ptr;
		uint32_t ev = e->ev[i].events;
		switch (op->kind) {
		case UOP_RECV:
			conn_event(container_of(op, struct mc_io_conn, recv_op), ev);
			break;
		case UOP_ACCEPT:
			listener_event(container_of(op, struct mc_io_listener, op));
			break;
		case UOP_POLL:
			watch_ready(container_of(op, struct mc_io_watch, op));
			break;
		case UOP_WAKE: {
			uint64_t v;
			/* Best-effort: EAGAIN only means another read already reset it. */
			(void)!read(l->wake_fd, &v, sizeof(v));
			loop_woken(l);
			break;
		}
		default:
			break;
		}
	}
	return n;
}

static int ep_conn_start(struct mc_io_conn *c)
{
	if (c->flags & CONN_CONNECTING) {
		if (connect(c->fd, (struct sockaddr *)&c->peer, c->peerlen) < 0 &&
		    errno != EINPROGRESS)
			return -errno;
		c->flags |= CONN_WANT_OUT;
		return ctl(c->loop, EPOLL_CTL_ADD, c->fd, EPOLLOUT, &c->recv_op);
	}
	c->flags |= CONN_IN_EPOLL_IN;
	return ctl(c->loop, EPOLL_CTL_ADD, c->fd, EPOLLIN | EPOLLRDHUP, &c->recv_op);
}

static void ep_conn_sync(struct mc_io_conn *c)
{
	bool want_out = false;

	if (c->flags & (CONN_CLOSED | CONN_CONNECTING))
		return;
	while (conn_sbuf_fill(c)) {
		/* MSG_MORE ahead of a file: the head leaves with the file's first bytes. */
		ssize_t n = send(c->fd, c->sbuf.data + c->sbuf.off, c->sbuf.len - c->sbuf.off,
				 MSG_NOSIGNAL | (c->file_left ? MSG_MORE : 0));
		if (n > 0) {
			conn_sent(c, (size_t)n);
			if (c->flags & (CONN_CLOSE_REQ | CONN_CLOSED))
				return;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			want_out = errno == EAGAIN;
			if (want_out)
				break;
			continue;
		}
		conn_error(c, n < 0 ? -errno : -EPIPE);
		return;
	}
	if (!want_out && c->file_left) {
		int r = conn_file_send(c);
		if (r < 0 || (c->flags & (CONN_CLOSE_REQ | CONN_CLOSED)))
			return;
		want_out = r == 0;
	}
	bool want_in = (c->flags & CONN_READING) && !(c->flags & CONN_EOF) &&
		       c->rbuf.len - c->rbuf.off < c->rmax;
	bool has_in = c->flags & CONN_IN_EPOLL_IN, has_out = c->flags & CONN_WANT_OUT;
	if (want_in == has_in && want_out == has_out)
		return;
	uint32_t ev = (want_in ? EPOLLIN | EPOLLRDHUP : 0) | (want_out ? EPOLLOUT : 0);
	int r = ctl(c->loop, EPOLL_CTL_MOD, c->fd, ev, &c->recv_op);
	if (r < 0) {
		conn_error(c, r);
		return;
	}
	c->flags = (c->flags & ~(CONN_IN_EPOLL_IN | CONN_WANT_OUT)) |
		   (want_in ? CONN_IN_EPOLL_IN : 0) | (want_out ? CONN_WANT_OUT : 0);
}

static void ep_conn_stop(struct mc_io_conn *c)
{
	/* Best-effort: close() drops the registration anyway unless the fd was dup'ed. */
	(void)ctl(c->loop, EPOLL_CTL_DEL, c->fd, 0, NULL);
}

static int ep_listener_start(struct mc_io_listener *ls)
{
	return ctl(ls->loop, EPOLL_CTL_ADD, ls->fd, EPOLLIN, &ls->op);
}

static void ep_listener_stop(struct mc_io_listener *ls)
{
	if (!ls->paused) /* Best-effort, as in ep_conn_stop. */
		(void)ctl(ls->loop, EPOLL_CTL_DEL, ls->fd, 0, NULL);
}

static int ep_watch_start(struct mc_io_watch *w)
{
	return ctl(w->loop, EPOLL_CTL_ADD, w->fd, EPOLLIN, &w->op);
}

static void ep_watch_stop(struct mc_io_watch *w)
{
	(void)ctl(w->loop, EPOLL_CTL_DEL, w->fd, 0, NULL); /* Best-effort, as above. */
}

static int ep_file_submit(struct mc_io_loop *l, struct file_op *op)
{
	ssize_t r;

	switch (op->kind) {
	case 0:
		r = pread(op->fd, op->buf, op->len, (off_t)op->off);
		break;
	case 1:
		r = pwrite(op->fd, op->buf, op->len, (off_t)op->off);
		break;
	case 2:
		r = fsync(op->fd);
		break;
	default:
		r = fdatasync(op->fd);
		break;
	}
	op->res = r < 0 ? -errno : (int)r;
	/* Append: completions are delivered in submission order. */
	struct file_op **pp = &l->files_done;
	while (*pp)
		pp = &(*pp)->next;
	op->next = NULL;
	*pp = op;
	return 0;
}

const struct backend_ops epoll_backend = {
	.name = "epoll",
	.init = ep_init,
	.fini = ep_fini,
	.poll = ep_poll,
	.conn_start = ep_conn_start,
	.conn_sync = ep_conn_sync,
	.conn_stop = ep_conn_stop,
	.listener_start = ep_listener_start,
	.listener_stop = ep_listener_stop,
	.watch_start = ep_watch_start,
	.watch_stop = ep_watch_stop,
	.file_submit = ep_file_submit,
};
