/* SPDX-License-Identifier: MIT */
/*
 * loop_internal.h (io-internal): the loop's objects, shared by the backend-neutral
 * core (loop.c, conn.c) and the two backends (loop_uring.c, loop_epoll.c).
 *
 * Division of labour: the core owns buffers, callbacks, timers, tasks and object
 * lifetime; a backend only moves bytes and reports completions back through the
 * conn_*_done() functions below. A backend may hold kernel operations in flight on
 * an object (io_uring); such objects are freed only when the backend says they are
 * idle, so the kernel never writes into freed memory.
 */
#ifndef MC_IO_LOOP_INTERNAL_H
#define MC_IO_LOOP_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <mc/io.h>
#include <mc/queue.h>

/* An operation tag embedded in objects; io_uring's user_data points at one. */
enum uop_kind {
	UOP_RECV = 1,
	UOP_SEND,
	UOP_CONNECT,
	UOP_ACCEPT,
	UOP_POLL,
	UOP_WAKE,
	UOP_FILE,
	UOP_CLOSE,
};
struct uop {
	uint8_t kind;
};

/* A byte buffer: data lives in [off, len). */
struct iobuf {
	char *data;
	size_t off, len, cap;
};

enum {
	CONN_READING = 1 << 0,	   /* the app wants input (not paused) */
	CONN_CONNECTING = 1 << 1,  /* connect in progress */
	CONN_SHUTDOWN = 1 << 2,	   /* close once the output is flushed */
	CONN_CLOSED = 1 << 3,	   /* on_close delivered; waiting to be idle */
	CONN_EOF = 1 << 4,	   /* peer sent FIN */
	CONN_DIRTY = 1 << 5,	   /* on the loop's pending list */
	CONN_CLOSE_REQ = 1 << 6,   /* the app asked for an immediate close */
	CONN_WANT_OUT = 1 << 7,	   /* epoll: EPOLLOUT is armed */
	CONN_IN_EPOLL_IN = 1 << 8, /* epoll: EPOLLIN is armed */
	CONN_REDELIVER = 1 << 9,   /* resumed with unread input: call on_read again */
	CONN_DEAD = 1 << 10,	   /* on the dead list */
	CONN_NODELAY = 1 << 11,
	CONN_CORKED = 1 << 12, /* TCP_CORK set for a shut-down conn's last file bytes */
};

struct mc_io_conn {
	struct mc_io_loop *loop;
	int fd;
	unsigned flags;
	int close_status;
	const struct mc_io_conn_ops *ops;
	void *ud;
	struct iobuf rbuf; /* input; the backend appends, the app consumes */
	struct iobuf wbuf; /* output the app appended, not yet handed over */
	struct iobuf sbuf; /* output being sent (an io_uring send may point here) */
	/* A file segment queued after wbuf/sbuf (mc_io_conn_sendfile); not owned. */
	int file_fd;
	off_t file_off;
	uint64_t file_left;
	bool send_poll; /* io_uring: send_op is a POLLOUT wait for the file, not a send */
	size_t rmax;
	struct uop recv_op, send_op, conn_op;
	bool recv_inflight, send_inflight, connect_inflight;
	/*
	 * io_uring: the final send of a shut-down conn carries a linked close of the fd
	 * (close_op), so the FIN follows the last bytes in the same submit. ring_close:
	 * RING_CLOSE_NONE, _INFLIGHT (the ring owns the fd: conn_finish must not close
	 * it; ring_fd is that fd), _DONE (closed by the ring). send_linked: the send in
	 * flight is that final send (anything short of all of sbuf is an error).
	 */
	struct uop close_op;
	uint8_t ring_close;
	bool send_linked;
	int ring_fd;
	struct sockaddr_storage peer; /* connect target, kept for io_uring */
	socklen_t peerlen;
	struct mc_io_conn *prev, *next; /* all live conns of the loop */
	struct mc_io_conn *dirty_next;
	struct mc_io_conn *dead_next; /* on the loop's free-at-end-of-iteration list */
};

enum {
	RING_CLOSE_NONE,
	RING_CLOSE_INFLIGHT,
	RING_CLOSE_DONE
};

struct mc_io_listener {
	struct mc_io_loop *loop;
	int fd;
	mc_io_accept_fn fn;
	void *arg;
	struct uop op;
	bool inflight, multishot, closed, paused;
	bool nodelay; /* the listening socket has TCP_NODELAY: accepted ones inherit it */
	struct mc_io_timer resume;
	struct mc_io_listener *prev, *next;
};

struct mc_io_watch {
	struct mc_io_loop *loop;
	int fd;
	mc_io_watch_fn fn;
	void *arg;
	struct uop op;
	bool inflight, closed;
	struct mc_io_watch *prev, *next;
};

struct file_op {
	struct uop op;
	int kind; /* 0 read, 1 write, 2 fsync, 3 fdatasync */
	int fd;
	void *buf;
	size_t len;
	uint64_t off;
	int res;
	mc_io_file_fn fn;
	void *arg;
	struct file_op *next;
};

struct backend_ops {
	const char *name;
	int (*init)(struct mc_io_loop *l, unsigned entries);
	void (*fini)(struct mc_io_loop *l);
	/* Wait up to @timeout_ns (UINT64_MAX: forever) and dispatch what completed. */
	int (*poll)(struct mc_io_loop *l, uint64_t timeout_ns);
	/* Start the socket: connect if CONN_CONNECTING, else arm reading. */
	int (*conn_start)(struct mc_io_conn *c);
	/* Bring kernel state in line with the conn: arm/disarm reads, send sbuf/wbuf. */
	void (*conn_sync)(struct mc_io_conn *c);
	/* The conn is closed: cancel everything; afterwards conn_idle() decides. */
	void (*conn_stop)(struct mc_io_conn *c);
	int (*listener_start)(struct mc_io_listener *ls);
	void (*listener_stop)(struct mc_io_listener *ls);
	int (*watch_start)(struct mc_io_watch *w);
	void (*watch_stop)(struct mc_io_watch *w);
	/* Submit a file op; its completion comes back through file_done(). */
	int (*file_submit)(struct mc_io_loop *l, struct file_op *op);
	/* Optional: close a conn's fd (io_uring batches it with the next submit). */
	void (*close_fd)(struct mc_io_loop *l, int fd);
};

extern const struct backend_ops uring_backend;
extern const struct backend_ops epoll_backend;

struct task {
	mc_io_task_fn fn;
	void *arg;
};

struct mc_io_loop {
	const struct backend_ops *be;
	void *be_data;
	uint64_t now;
	atomic_bool stop;
	bool running;
	int wake_fd;		 /* eventfd */
	atomic_int wake_pending; /* a wakeup write is outstanding */
	struct uop wake_op;
	uint64_t wake_buf;
	struct mc_queue *tasks;
	struct mc_io_timer **heap;
	size_t nheap, capheap;
	struct mc_io_conn *conns;
	size_t nconns;
	struct mc_io_conn *dirty;
	struct mc_io_conn *dead;
	struct mc_io_listener *listeners;
	struct mc_io_watch *watches;
	struct file_op *files_done; /* epoll: completed inline, delivered from the loop */
	size_t files_inflight;
	bool reap; /* closed listeners or watches wait to be freed */
	/* Freed conns kept for reuse with their buffers (accept-heavy loads). */
	struct mc_io_conn *pool;
	unsigned npool;
	/* The fd being handed to an accept callback, if it inherited TCP_NODELAY
	 * from its listener (-1 otherwise): mc_io_conn_open skips the setsockopt. */
	int accept_nodelay_fd;
	void *userdata;
	uint64_t spin_ns; /* io_uring: busy-poll this long before sleeping (opts.spin_us) */
};

/* ---- core entry points for the backends ---- */

/* Make sure rbuf has room for a read; returns the free space (0: at rmax). */
size_t conn_rbuf_prepare(struct mc_io_conn *c);
/* @n > 0 bytes were appended to rbuf: deliver on_read. */
void conn_read_done(struct mc_io_conn *c, size_t n);
/* The peer sent FIN. */
void conn_eof(struct mc_io_conn *c);
/* An I/O error (-errno): the conn closes with that status. */
void conn_error(struct mc_io_conn *c, int err);
/* @n bytes of sbuf were sent. */
void conn_sent(struct mc_io_conn *c, size_t n);
/* Connect finished with @res (0 or -errno). */
void conn_connected(struct mc_io_conn *c, int res);
/*
 * conn_file_send: with sbuf and wbuf empty, sendfile(2) the queued file segment
 * (non-blocking) until it is out, the socket is full or a per-call budget is used.
 * Returns 1 when the segment is done (on_drain delivered), 0 when the caller must
 * wait for the socket to be writable (EAGAIN or budget), -1 after conn_error.
 */
int conn_file_send(struct mc_io_conn *c);
/* Move wbuf into sbuf if sbuf is empty; returns the bytes waiting in sbuf. */
size_t conn_sbuf_fill(struct mc_io_conn *c);
/* After CONN_CLOSED: free if the backend holds nothing in flight. */
void conn_maybe_free(struct mc_io_conn *c);
/* The conn needs conn_sync after the current callback batch. */
void conn_mark_dirty(struct mc_io_conn *c);

void listener_accepted(struct mc_io_listener *ls, int fd);
/* EMFILE and friends: stop accepting for a while, then re-arm. */
void listener_pause(struct mc_io_listener *ls);
void listener_maybe_free(struct mc_io_listener *ls);
void watch_ready(struct mc_io_watch *w);
void watch_maybe_free(struct mc_io_watch *w);
void file_done(struct mc_io_loop *l, struct file_op *op, int res);
/* The wake eventfd fired (or a wake CQE arrived): run posted tasks. */
void loop_woken(struct mc_io_loop *l);
/* Pending conn work (flushes, closes) after a batch of callbacks. */
void loop_process_dirty(struct mc_io_loop *l);

#endif
