/* SPDX-License-Identifier: MIT */
/*
 * io.h: the event loop every network service runs on. One loop per thread; a loop
 * owns listeners, buffered connections, fd watches, timers and async file ops, and
 * calls back on its own thread only. Two backends behind one API: io_uring
 * (liburing: multishot accept, recv/send, read/write/fsync, cancellation) and epoll.
 *
 *   struct mc_io_loop *loop;
 *   mc_io_loop_new(NULL, &loop);               // MC_IO_BACKEND=epoll|uring picks one
 *   int lfd = mc_io_listen_tcp("127.0.0.1", 8000, 0, 128);
 *   mc_io_listener_add(loop, lfd, on_accept, NULL, &l);
 *   mc_io_loop_run(loop);                      // until mc_io_loop_stop()
 *
 *   static void on_accept(struct mc_io_listener *l, int fd, void *arg)
 *   {    mc_io_conn_open(mc_io_listener_loop(l), fd, &echo_ops, NULL, NULL); }
 *   static void on_read(struct mc_io_conn *c, void *ud)
 *   {    size_t n; const char *p = mc_io_conn_rdata(c, &n);
 *        mc_io_conn_write(c, p, n); mc_io_conn_consume(c, n); }
 *
 * Threading: every function except mc_io_loop_post(), mc_io_loop_stop() and
 * mc_io_threads_*() must be called on the loop's thread (the one in
 * mc_io_loop_run(), or any thread before run starts). Callbacks never run
 * re-entrantly from inside an mc_io_* call; they run from mc_io_loop_run().
 * Errors are -errno; nothing here prints or exits.
 */
#ifndef MC_IO_H
#define MC_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct mc_io_loop;
struct mc_io_conn;
struct mc_io_listener;
struct mc_io_watch;
struct mc_io_threads;

/* ---- the loop ---- */

enum mc_io_backend {
	MC_IO_BACKEND_AUTO = 0, /* $MC_IO_BACKEND if set, else io_uring, else epoll */
	MC_IO_BACKEND_URING,
	MC_IO_BACKEND_EPOLL,
};

struct mc_io_loop_opts {
	enum mc_io_backend backend;
	unsigned entries; /* io_uring SQ size / epoll batch; 0 = 256 */
	/*
	 * io_uring only, 0 = off: after an iteration that had work, poll the rings from
	 * user space for up to this many microseconds before sleeping. Saves the
	 * producers (loopback clients) a wakeup + IPI per batch and the loop a
	 * sleep/wake, for up to spin_us of CPU per busy-to-idle transition; meant for
	 * one loop per core or fewer (a spinning loop holds its core). Needs 6.1+
	 * (DEFER_TASKRUN + TASKRUN_FLAG), otherwise ignored.
	 */
	unsigned spin_us;
};

/*
 * mc_io_loop_new: a loop on @opts->backend (NULL opts = AUTO). AUTO falls back to
 * epoll when io_uring cannot be set up (io_uring_disabled sysctl, seccomp, old
 * kernel); an explicit URING does not fall back. $MC_IO_BACKEND ("uring" or
 * "epoll") overrides AUTO only. Returns 0 and *out, -errno otherwise.
 */
int mc_io_loop_new(const struct mc_io_loop_opts *opts, struct mc_io_loop **out);

/* mc_io_loop_free: closes every connection, listener and watch (no callbacks run),
 * cancels timers, frees the loop. Not while mc_io_loop_run() runs. NULL: no-op. */
void mc_io_loop_free(struct mc_io_loop *loop);

/* mc_io_loop_backend: "uring" or "epoll". */
const char *mc_io_loop_backend(const struct mc_io_loop *loop);

/* mc_io_backend_parse: "uring"/"io_uring"/"epoll"/"auto" -> enum; -EINVAL otherwise. */
int mc_io_backend_parse(const char *name, enum mc_io_backend *out);

/*
 * mc_io_loop_run: dispatches events until mc_io_loop_stop(). Returns 0, or -errno
 * if the backend failed. May be called again after it returned.
 */
int mc_io_loop_run(struct mc_io_loop *loop);

/* mc_io_loop_stop: makes run() return after the current iteration. Thread-safe. */
void mc_io_loop_stop(struct mc_io_loop *loop);

/* mc_io_loop_now: the loop's cached CLOCK_MONOTONIC, in ns, updated each iteration. */
uint64_t mc_io_loop_now(const struct mc_io_loop *loop);

typedef void (*mc_io_task_fn)(struct mc_io_loop *loop, void *arg);

/*
 * mc_io_loop_post: runs @fn(@loop, @arg) on the loop's thread, soon. Thread-safe;
 * this is the cross-thread hand-off (a lock-free mc_queue plus an eventfd wakeup,
 * at most one wakeup write per batch). Tasks from one thread run in posting order.
 * Returns 0 or -ENOMEM. Tasks still queued when the loop is freed are dropped.
 */
int mc_io_loop_post(struct mc_io_loop *loop, mc_io_task_fn fn, void *arg);

/*
 * mc_io_loop_userdata: one pointer for the application, e.g. the per-thread server
 * state of a loop started by mc_io_threads_start(). Starts NULL.
 */
void mc_io_loop_set_userdata(struct mc_io_loop *loop, void *ud);
void *mc_io_loop_userdata(const struct mc_io_loop *loop);

/* ---- timers: embedded in the caller's struct, no allocation ---- */

struct mc_io_timer;
typedef void (*mc_io_timer_fn)(struct mc_io_loop *loop, struct mc_io_timer *t, void *arg);

/* The fields are private; initialise with mc_io_timer_init(). */
struct mc_io_timer {
	uint64_t deadline;
	size_t heap_index; /* SIZE_MAX when not pending */
	mc_io_timer_fn fn;
	void *arg;
};

void mc_io_timer_init(struct mc_io_timer *t, mc_io_timer_fn fn, void *arg);
/* mc_io_timer_start: (re)arms @t to fire once, @delay_ns from now. O(log n). */
void mc_io_timer_start(struct mc_io_loop *loop, struct mc_io_timer *t, uint64_t delay_ns);
/* mc_io_timer_stop: disarms @t if pending (no callback). O(log n). */
void mc_io_timer_stop(struct mc_io_loop *loop, struct mc_io_timer *t);
bool mc_io_timer_pending(const struct mc_io_timer *t);

/* ---- sockets ---- */

#define MC_IO_LISTEN_REUSEPORT 0x1 /* SO_REUSEPORT: one listener per loop/thread */
/* TCP_DEFER_ACCEPT (1 s): a connection is handed to accept once its first bytes
 * arrived (or the second passed), so the first read finds the request there.
 * For protocols where the client speaks first (HTTP); nginx's `listen deferred`. */
#define MC_IO_LISTEN_DEFER_ACCEPT 0x2

/*
 * mc_io_listen_tcp: a non-blocking listening TCP socket on @host (NULL or "" = any
 * IPv4 address; an IPv6 literal works too) and @port (0 = ephemeral; see
 * mc_io_socket_port). Returns the fd or -errno (-EINVAL for a bad host literal).
 */
int mc_io_listen_tcp(const char *host, uint16_t port, unsigned flags, int backlog);

/* mc_io_socket_port: the local port of a bound socket, or -errno. */
int mc_io_socket_port(int fd);

/* ---- listeners ---- */

/*
 * Called once per accepted connection with a non-blocking, close-on-exec fd that
 * the callback owns: open it on this loop with mc_io_conn_open(), post it to
 * another loop, or close it.
 */
typedef void (*mc_io_accept_fn)(struct mc_io_listener *l, int fd, void *arg);

/*
 * mc_io_listener_add: starts accepting on listening socket @fd (the loop does not
 * own it: the caller closes it after mc_io_listener_close). io_uring uses multishot
 * accept where the kernel has it. On EMFILE/ENFILE accepting pauses for 100 ms.
 */
int mc_io_listener_add(struct mc_io_loop *loop, int fd, mc_io_accept_fn fn, void *arg,
		       struct mc_io_listener **out);
/* mc_io_listener_close: stops accepting now (no more callbacks); frees @l. */
void mc_io_listener_close(struct mc_io_listener *l);
struct mc_io_loop *mc_io_listener_loop(const struct mc_io_listener *l);

/* ---- connections: a socket with a read buffer and a write buffer ---- */

struct mc_io_conn_ops {
	/*
	 * New bytes were appended to the read buffer (mc_io_conn_rdata). Consume what
	 * you used with mc_io_conn_consume(); the rest stays for the next call.
	 */
	void (*on_read)(struct mc_io_conn *c, void *ud);
	/* Optional: everything written so far has been handed to the kernel. */
	void (*on_drain)(struct mc_io_conn *c, void *ud);
	/*
	 * Optional: an outgoing connection (mc_io_conn_connect) is established
	 * (@status 0) or failed (-errno; on_close follows).
	 */
	void (*on_connect)(struct mc_io_conn *c, void *ud, int status);
	/*
	 * Called exactly once, last: the peer closed (0), an I/O error (-errno), or
	 * after mc_io_conn_close()/mc_io_conn_shutdown() (0). @c is freed when it
	 * returns. Required.
	 */
	void (*on_close)(struct mc_io_conn *c, void *ud, int status);
};

/*
 * mc_io_conn_open: adopts connected socket @fd (ownership passes to the conn even
 * on failure) and starts reading. *out may be NULL. Returns 0, -ENOMEM.
 */
int mc_io_conn_open(struct mc_io_loop *loop, int fd, const struct mc_io_conn_ops *ops, void *ud,
		    struct mc_io_conn **out);

/*
 * mc_io_conn_connect: starts a non-blocking TCP connect to @sa; ops->on_connect
 * reports the result. Returns 0 (and *out), or -errno if the socket could not even
 * be created.
 */
int mc_io_conn_connect(struct mc_io_loop *loop, const struct sockaddr *sa, socklen_t salen,
		       const struct mc_io_conn_ops *ops, void *ud, struct mc_io_conn **out);

/* mc_io_conn_rdata: the unconsumed input (contiguous) and its length. */
const char *mc_io_conn_rdata(const struct mc_io_conn *c, size_t *len);
/* mc_io_conn_consume: drops the first @n bytes of the input (n <= length). */
void mc_io_conn_consume(struct mc_io_conn *c, size_t n);

/*
 * mc_io_conn_write: copies @len bytes into the write buffer; they are sent after
 * the current callback batch (writes in one iteration coalesce into one send).
 * Returns 0, -ENOMEM, or -EPIPE once the conn is closing.
 */
int mc_io_conn_write(struct mc_io_conn *c, const void *data, size_t len);
/*
 * mc_io_conn_sendfile: queues @len bytes of regular file @fd from @off after the
 * output written so far; they go to the socket with sendfile(2), without a copy
 * through user space (both backends; partial sends and a full socket are handled
 * here). The fd is not taken: keep it open until on_drain (the segment is out) or
 * on_close. Until then writes and another sendfile return -EBUSY. A file shorter
 * than promised closes the conn with -EIO. Returns 0, -EPIPE once closing,
 * -EBUSY, -EINVAL. mc_io_conn_shutdown() right after it (the file is the last
 * output) corks the socket, so that the FIN leaves with the file's last bytes.
 */
int mc_io_conn_sendfile(struct mc_io_conn *c, int fd, off_t off, uint64_t len);
/* mc_io_conn_wpending: bytes written (or queued by sendfile) not yet handed to the
 * kernel. */
size_t mc_io_conn_wpending(const struct mc_io_conn *c);

/*
 * mc_io_conn_pause_read / resume_read: backpressure. While paused no bytes are
 * read (the kernel's socket buffer fills and TCP slows the peer).
 */
void mc_io_conn_pause_read(struct mc_io_conn *c);
void mc_io_conn_resume_read(struct mc_io_conn *c);

/* mc_io_conn_set_rmax: the read buffer never grows past @max bytes (default 1 MiB);
 * when full and unconsumed, reading pauses until the application consumes. */
void mc_io_conn_set_rmax(struct mc_io_conn *c, size_t max);

/* mc_io_conn_shutdown: stop reading, send what is buffered, then close (on_close 0). */
void mc_io_conn_shutdown(struct mc_io_conn *c);
/* mc_io_conn_close: close now, dropping unsent output; on_close(0) follows. */
void mc_io_conn_close(struct mc_io_conn *c);

int mc_io_conn_fd(const struct mc_io_conn *c);
struct mc_io_loop *mc_io_conn_loop(const struct mc_io_conn *c);
void mc_io_conn_set_userdata(struct mc_io_conn *c, void *ud);

/* ---- fd readiness watches (signalfd, timerfd, pipes, inotify...) ---- */

typedef void (*mc_io_watch_fn)(struct mc_io_watch *w, int fd, void *arg);

/* mc_io_watch_add: calls @fn whenever @fd is readable (level-triggered). */
int mc_io_watch_add(struct mc_io_loop *loop, int fd, mc_io_watch_fn fn, void *arg,
		    struct mc_io_watch **out);
/* mc_io_watch_del: stops watching (the fd stays open) and frees @w. */
void mc_io_watch_del(struct mc_io_watch *w);

/* ---- async file I/O (io_uring ops; the epoll backend runs them inline and
 * delivers the result from the loop, so callers see one behaviour) ---- */

/* @res: bytes transferred, 0 for fsync, or -errno. */
typedef void (*mc_io_file_fn)(struct mc_io_loop *loop, int res, void *arg);

/* Buffers must stay valid until the callback. Returns 0 or -ENOMEM. */
int mc_io_file_read(struct mc_io_loop *loop, int fd, void *buf, size_t len, uint64_t off,
		    mc_io_file_fn fn, void *arg);
int mc_io_file_write(struct mc_io_loop *loop, int fd, const void *buf, size_t len, uint64_t off,
		     mc_io_file_fn fn, void *arg);
/* @datasync: fdatasync instead of fsync. */
int mc_io_file_fsync(struct mc_io_loop *loop, int fd, bool datasync, mc_io_file_fn fn, void *arg);

/* ---- N loops on N threads ---- */

/* Runs on thread @idx, on its loop, before that loop runs. Non-zero aborts start. */
typedef int (*mc_io_thread_init_fn)(struct mc_io_loop *loop, unsigned idx, void *arg);

/*
 * mc_io_threads_start: creates @n loops (each created on, and run by, its own
 * thread), calls @init on each and waits until all are initialised. Returns 0, or
 * the first -errno (everything started is stopped again).
 */
int mc_io_threads_start(unsigned n, const struct mc_io_loop_opts *opts, mc_io_thread_init_fn init,
			void *arg, struct mc_io_threads **out);
unsigned mc_io_threads_count(const struct mc_io_threads *t);
struct mc_io_loop *mc_io_threads_loop(const struct mc_io_threads *t, unsigned idx);
/* mc_io_threads_join: waits until every loop returned (each stopped itself or was
 * stopped), frees them. Returns the first loop error, else 0. */
int mc_io_threads_join(struct mc_io_threads *t);
/* mc_io_threads_stop: mc_io_loop_stop() on every loop. Thread-safe. */
void mc_io_threads_stop(struct mc_io_threads *t);

#endif
