/* SPDX-License-Identifier: MIT */
/*
 * conn.c: buffered connections, the backend-neutral half. The application reads
 * from rbuf and appends to wbuf; the backend fills rbuf and drains sbuf. Output is
 * double-buffered so that an io_uring send in flight keeps pointing at stable
 * memory (sbuf) while the application keeps appending (wbuf); when sbuf is empty
 * the two swap. rbuf is compacted or grown only when no read is in flight.
 *
 * Every event marks the conn dirty; after the callback batch, the loop walks the
 * dirty list once and lets the backend bring the kernel in line (arm a read, send
 * what was written). That is where writes of one iteration coalesce into one send,
 * and where closes happen, so no callback ever runs inside an mc_io_conn_* call.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop_internal.h"

#define RBUF_MIN 4096
/* A request head fits in 4 KiB; the buffer grows (doubling) for more. */
#define RBUF_INITIAL 4096
#define RMAX_DEFAULT (1u << 20)
/* Conns kept for reuse per loop, and the largest buffer a pooled conn keeps. */
#define POOL_MAX 64
#define POOL_BUF_MAX (128 * 1024)
/* Bytes one conn may sendfile per loop iteration before yielding to the others
 * (it then waits for writability, which is immediate if the socket has room). */
#define FILE_BUDGET (1u << 20)

static int buf_reserve(struct iobuf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return 0;
	if (b->off) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= extra)
			return 0;
	}
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < extra) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	char *d = realloc(b->data, cap);
	if (!d)
		return -ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

static void buf_release(struct iobuf *b)
{
	free(b->data);
	*b = (struct iobuf){ 0 };
}

void conn_mark_dirty(struct mc_io_conn *c)
{
	if (c->flags & (CONN_DIRTY | CONN_CLOSED))
		return;
	c->flags |= CONN_DIRTY;
	c->dirty_next = c->loop->dirty;
	c->loop->dirty = c;
}

static struct mc_io_conn *conn_alloc(struct mc_io_loop *l, int fd, const struct mc_io_conn_ops *ops,
				     void *ud)
{
	struct mc_io_conn *c = l->pool;

	if (c) {
		/* A pooled conn keeps its (empty) buffers: no allocation per accept. */
		struct iobuf rb = c->rbuf, wb = c->wbuf, sb = c->sbuf;
		l->pool = c->dead_next;
		l->npool--;
		memset(c, 0, sizeof(*c));
		c->rbuf = rb;
		c->wbuf = wb;
		c->sbuf = sb;
	} else if (!(c = calloc(1, sizeof(*c)))) {
		return NULL;
	}
	c->loop = l;
	c->fd = fd;
	c->ops = ops;
	c->ud = ud;
	c->rmax = RMAX_DEFAULT;
	c->flags = CONN_READING;
	c->file_fd = -1;
	c->recv_op.kind = UOP_RECV;
	c->send_op.kind = UOP_SEND;
	c->conn_op.kind = UOP_CONNECT;
	c->close_op.kind = UOP_CLOSE;
	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	l->nconns++;
	return c;
}

static void conn_unlink(struct mc_io_conn *c)
{
	struct mc_io_loop *l = c->loop;

	if (c->prev)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

int mc_io_conn_open(struct mc_io_loop *l, int fd, const struct mc_io_conn_ops *ops, void *ud,
		    struct mc_io_conn **out)
{
	struct mc_io_conn *c = conn_alloc(l, fd, ops, ud);
	int one = 1;

	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	/* Best-effort: responses go out whole, so Nagle only adds latency; fails
	 * harmlessly on non-TCP sockets. Accepted sockets whose listener had it
	 * set inherited it already. */
	if (fd != l->accept_nodelay_fd)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	int r = l->be->conn_start(c);
	if (r < 0) {
		conn_unlink(c);
		l->nconns--;
		close(fd);
		free(c);
		return r;
	}
	if (out)
		*out = c;
	return 0;
}

int mc_io_conn_connect(struct mc_io_loop *l, const struct sockaddr *sa, socklen_t salen,
		       const struct mc_io_conn_ops *ops, void *ud, struct mc_io_conn **out)
{
	if (salen > sizeof(struct sockaddr_storage))
		return -EINVAL;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct mc_io_conn *c = conn_alloc(l, fd, ops, ud);
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* as above */
	memcpy(&c->peer, sa, salen);
	c->peerlen = salen;
	c->flags |= CONN_CONNECTING;
	int r = l->be->conn_start(c);
	if (r < 0) {
		conn_unlink(c);
		l->nconns--;
		close(fd);
		free(c);
		return r;
	}
	if (out)
		*out = c;
	return 0;
}

const char *mc_io_conn_rdata(const struct mc_io_conn *c, size_t *len)
{
	*len = c->rbuf.len - c->rbuf.off;
	return c->rbuf.data ? c->rbuf.data + c->rbuf.off : "";
}

void mc_io_conn_consume(struct mc_io_conn *c, size_t n)
{
	size_t avail = c->rbuf.len - c->rbuf.off;

	if (n > avail)
		n = avail;
	bool was_full = c->rbuf.len - c->rbuf.off >= c->rmax;
	c->rbuf.off += n;
	if (c->rbuf.off == c->rbuf.len)
		c->rbuf.off = c->rbuf.len = 0; /* safe: no read targets [off, len) */
	if (was_full)
		conn_mark_dirty(c); /* reading had stopped at rmax: re-arm */
}

int mc_io_conn_write(struct mc_io_conn *c, const void *data, size_t len)
{
	if (c->flags & (CONN_CLOSED | CONN_CLOSE_REQ | CONN_SHUTDOWN))
		return -EPIPE;
	if (c->file_left)
		return -EBUSY; /* it would overtake the file segment */
	if (!len)
		return 0;
	int r = buf_reserve(&c->wbuf, len);
	if (r < 0)
		return r;
	memcpy(c->wbuf.data + c->wbuf.len, data, len);
	c->wbuf.len += len;
	conn_mark_dirty(c);
	return 0;
}

int mc_io_conn_sendfile(struct mc_io_conn *c, int fd, off_t off, uint64_t len)
{
	if (c->flags & (CONN_CLOSED | CONN_CLOSE_REQ | CONN_SHUTDOWN))
		return -EPIPE;
	if (c->file_left)
		return -EBUSY;
	if (fd < 0 || off < 0)
		return -EINVAL;
	if (!len)
		return 0;
	c->file_fd = fd;
	c->file_off = off;
	c->file_left = len;
	conn_mark_dirty(c);
	return 0;
}

size_t mc_io_conn_wpending(const struct mc_io_conn *c)
{
	uint64_t n = (c->wbuf.len - c->wbuf.off) + (c->sbuf.len - c->sbuf.off) + c->file_left;

	return n > SIZE_MAX ? SIZE_MAX : (size_t)n;
}

void mc_io_conn_pause_read(struct mc_io_conn *c)
{
	c->flags &= ~CONN_READING;
	conn_mark_dirty(c);
}

void mc_io_conn_resume_read(struct mc_io_conn *c)
{
	if (c->flags & (CONN_READING | CONN_SHUTDOWN | CONN_CLOSED))
		return;
	c->flags |= CONN_READING;
	if (c->rbuf.len > c->rbuf.off)
		c->flags |= CONN_REDELIVER;
	conn_mark_dirty(c);
}

void mc_io_conn_set_rmax(struct mc_io_conn *c, size_t max)
{
	c->rmax = max < RBUF_MIN ? RBUF_MIN : max;
}

void mc_io_conn_shutdown(struct mc_io_conn *c)
{
	c->flags |= CONN_SHUTDOWN;
	c->flags &= ~CONN_READING;
	conn_mark_dirty(c);
}

void mc_io_conn_close(struct mc_io_conn *c)
{
	if (c->flags & CONN_CLOSE_REQ)
		return;
	c->flags |= CONN_CLOSE_REQ;
	c->close_status = 0;
	conn_mark_dirty(c);
}

int mc_io_conn_fd(const struct mc_io_conn *c)
{
	return c->fd;
}

struct mc_io_loop *mc_io_conn_loop(const struct mc_io_conn *c)
{
	return c->loop;
}

void mc_io_conn_set_userdata(struct mc_io_conn *c, void *ud)
{
	c->ud = ud;
}

/* ---- backend callbacks ---- */

size_t conn_rbuf_prepare(struct mc_io_conn *c)
{
	struct iobuf *b = &c->rbuf;
	size_t used = b->len - b->off;

	if (used >= c->rmax)
		return 0;
	if (b->cap - b->len < RBUF_MIN) {
		size_t want = b->cap ? b->cap : RBUF_INITIAL;
		if (used + RBUF_MIN > want)
			want = used + RBUF_INITIAL;
		if (buf_reserve(b, want - used) < 0 && b->cap - b->len == 0)
			return 0; /* out of memory: read nothing now, retry on the next event */
	}
	size_t room = b->cap - b->len;
	return room < c->rmax - used ? room : c->rmax - used;
}

void conn_read_done(struct mc_io_conn *c, size_t n)
{
	c->rbuf.len += n;
	if ((c->flags & CONN_READING) && !(c->flags & (CONN_CLOSED | CONN_CLOSE_REQ)))
		c->ops->on_read(c, c->ud);
	conn_mark_dirty(c);
}

void conn_eof(struct mc_io_conn *c)
{
	/* Half-close from the peer: answer what it sent, then close (on_close 0). */
	c->flags |= CONN_EOF | CONN_SHUTDOWN;
	c->flags &= ~CONN_READING;
	conn_mark_dirty(c);
}

void conn_error(struct mc_io_conn *c, int err)
{
	if (c->flags & (CONN_CLOSED | CONN_CLOSE_REQ))
		return;
	c->flags |= CONN_CLOSE_REQ;
	c->close_status = err;
	conn_mark_dirty(c);
}

size_t conn_sbuf_fill(struct mc_io_conn *c)
{
	if (c->sbuf.off == c->sbuf.len) {
		c->sbuf.off = c->sbuf.len = 0;
		if (c->wbuf.len > c->wbuf.off) {
			struct iobuf t = c->sbuf;
			c->sbuf = c->wbuf;
			c->wbuf = t;
		}
	}
	return c->sbuf.len - c->sbuf.off;
}

void conn_sent(struct mc_io_conn *c, size_t n)
{
	c->sbuf.off += n;
	if (c->sbuf.off == c->sbuf.len)
		c->sbuf.off = c->sbuf.len = 0;
	if (!mc_io_conn_wpending(c) && c->ops->on_drain &&
	    !(c->flags & (CONN_CLOSED | CONN_CLOSE_REQ)))
		c->ops->on_drain(c, c->ud);
	conn_mark_dirty(c);
}

int conn_file_send(struct mc_io_conn *c)
{
	size_t budget = FILE_BUDGET;

	if ((c->flags & (CONN_SHUTDOWN | CONN_CORKED)) == CONN_SHUTDOWN) {
		/*
		 * The file is the last output: cork, so that sendfile's last partial
		 * segment waits for the close and the FIN rides on it (one packet, and
		 * the peer never sees the data without the FIN and closes first). The
		 * close follows as soon as the segment is out; best-effort.
		 */
		int one = 1;
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one));
		c->flags |= CONN_CORKED;
	}

	while (c->file_left) {
		if (!budget)
			return 0;
		size_t want = c->file_left < budget ? (size_t)c->file_left : budget;
		off_t off = c->file_off;
		ssize_t n = sendfile(c->fd, c->file_fd, &off, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			/* 0: the file shrank under us; the promised length cannot be kept. */
			c->file_left = 0;
			c->file_fd = -1;
			conn_error(c, n < 0 ? -errno : -EIO);
			return -1;
		}
		c->file_off += n;
		c->file_left -= (uint64_t)n;
		budget -= (size_t)n;
	}
	c->file_fd = -1;
	/* conn_sent with nothing from sbuf: delivers on_drain if all is out. */
	conn_sent(c, 0);
	return 1;
}

void conn_connected(struct mc_io_conn *c, int res)
{
	c->flags &= ~CONN_CONNECTING;
	if (c->ops->on_connect && !(c->flags & (CONN_CLOSED | CONN_CLOSE_REQ)))
		c->ops->on_connect(c, c->ud, res);
	if (res < 0)
		conn_error(c, res);
	else
		conn_mark_dirty(c);
}

void conn_maybe_free(struct mc_io_conn *c)
{
	if (!(c->flags & CONN_CLOSED) || (c->flags & CONN_DEAD))
		return;
	if (c->recv_inflight || c->send_inflight || c->connect_inflight ||
	    c->ring_close == RING_CLOSE_INFLIGHT)
		return;
	c->flags |= CONN_DEAD;
	/* Closed conns stay on the live list until now so mc_io_loop_free can find
	 * those still waiting for io_uring completions. */
	conn_unlink(c);
	c->dead_next = c->loop->dead;
	c->loop->dead = c;
}

/* conn_finish: the one place a conn closes: backend stop, fd close, on_close. */
static void conn_finish(struct mc_io_conn *c, int status)
{
	struct mc_io_loop *l = c->loop;

	c->flags |= CONN_CLOSED;
	c->flags &= ~CONN_READING;
	l->nconns--;
	l->be->conn_stop(c);
	/* The kernel keeps its own reference for operations still in flight (io_uring);
	 * they are cancelled by conn_stop and complete before the conn is freed. */
	if (c->ring_close != RING_CLOSE_NONE)
		; /* a close linked behind the final send owns the fd (loop_uring.c) */
	else if (l->be->close_fd)
		l->be->close_fd(l, c->fd);
	else
		close(c->fd);
	c->fd = -1;
	c->ops->on_close(c, c->ud, status);
	conn_maybe_free(c);
}

static void buf_keep_small(struct iobuf *b)
{
	if (b->cap > POOL_BUF_MAX)
		buf_release(b);
	b->off = b->len = 0;
}

static void conn_free(struct mc_io_conn *c)
{
	struct mc_io_loop *l = c->loop;

	if (l->npool < POOL_MAX) {
		buf_keep_small(&c->rbuf);
		buf_keep_small(&c->wbuf);
		buf_keep_small(&c->sbuf);
		c->dead_next = l->pool;
		l->pool = c;
		l->npool++;
		return;
	}
	buf_release(&c->rbuf);
	buf_release(&c->wbuf);
	buf_release(&c->sbuf);
	free(c);
}

static void pool_free(struct mc_io_loop *l)
{
	struct mc_io_conn *c;

	while ((c = l->pool)) {
		l->pool = c->dead_next;
		buf_release(&c->rbuf);
		buf_release(&c->wbuf);
		buf_release(&c->sbuf);
		free(c);
	}
	l->npool = 0;
}

void loop_free_dead(struct mc_io_loop *l);
void loop_free_dead(struct mc_io_loop *l)
{
	struct mc_io_conn *c;

	while ((c = l->dead)) {
		l->dead = c->dead_next;
		conn_free(c);
	}
}

void loop_close_all_conns(struct mc_io_loop *l);
void loop_close_all_conns(struct mc_io_loop *l)
{
	struct mc_io_conn *c;

	/* Called after the backend's fini: nothing is in flight any more. A close
	 * linked behind a final send that never ran left its fd open. */
	while ((c = l->conns)) {
		conn_unlink(c);
		if (c->ring_close == RING_CLOSE_INFLIGHT)
			close(c->ring_fd);
		else if (c->fd >= 0 && c->ring_close == RING_CLOSE_NONE)
			close(c->fd);
		conn_free(c);
	}
	l->dirty = NULL;
	/* Closed conns still waiting for io_uring completions die with the ring. */
	while ((c = l->dead)) {
		l->dead = c->dead_next;
		if (c->ring_close == RING_CLOSE_INFLIGHT)
			close(c->ring_fd);
		conn_free(c);
	}
	pool_free(l);
}

static void process_one(struct mc_io_conn *c)
{
	if (c->flags & CONN_CLOSE_REQ) {
		conn_finish(c, c->close_status);
		return;
	}
	if ((c->flags & CONN_REDELIVER) && (c->flags & CONN_READING)) {
		c->flags &= ~CONN_REDELIVER;
		if (c->rbuf.len > c->rbuf.off)
			c->ops->on_read(c, c->ud);
		if (c->flags & CONN_CLOSE_REQ) {
			conn_finish(c, c->close_status);
			return;
		}
	}
	if ((c->flags & CONN_SHUTDOWN) && !mc_io_conn_wpending(c) && !c->send_inflight &&
	    !(c->flags & CONN_CONNECTING)) {
		conn_finish(c, 0);
		return;
	}
	c->loop->be->conn_sync(c);
}

void loop_process_dirty(struct mc_io_loop *l)
{
	struct mc_io_conn *c;

	/* Callbacks run from here can dirty more conns (a proxy writing to its
	 * upstream): keep going until the list stays empty. */
	while ((c = l->dirty)) {
		l->dirty = c->dirty_next;
		c->flags &= ~CONN_DIRTY;
		if (c->flags & CONN_CLOSED)
			continue;
		process_one(c);
	}
}
