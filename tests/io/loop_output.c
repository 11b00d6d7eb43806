/* SPDX-License-Identifier: MIT */
/*
 * Tests of the event loop's output path, each on both backends: shutdown sends
 * everything then closes, close drops, on_close exactly once, the final send of a
 * shut-down conn carrying its close, sendfile segments (head, file, tail; partial
 * sends; a reader leaving mid-file). All traffic is on 127.0.0.1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mc/cleanup.h>
#include <mc/io.h>
#include <mc/util.h>

#include "loop_common.h"

/* ---- shutdown sends everything, close drops; on_close exactly once ---- */

static void big_accept(struct mc_io_listener *l, int fd, void *arg)
{
	struct mc_io_conn *c;
	static char buf[1 << 20];

	memset(buf, 'z', sizeof(buf));
	closes = 0;
	if (mc_io_conn_open(mc_io_listener_loop(l), fd, &echo_ops, NULL, &c) == 0) {
		mc_io_conn_write(c, buf, sizeof(buf));
		mc_io_conn_shutdown(c);
		/* Writes after shutdown are refused. */
		*(int *)arg = mc_io_conn_write(c, "x", 1);
	}
}

static void *read_all_client(void *arg)
{
	struct client *cl = arg;
	int fd = connect_port(cl->port);
	char buf[65536];
	size_t total = 0;
	ssize_t n;

	usleep(50000);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != 'z')
				cl->ok = -1;
		total += (size_t)n;
	}
	if (cl->ok == 0 && total == 1 << 20)
		cl->ok = 1;
	if (fd >= 0)
		close(fd);
	mc_io_loop_post(cl->loop, stop_task, NULL);
	return NULL;
}

TEST_F(loop, shutdown_flushes_then_closes)
{
	struct mc_io_listener *ls;
	struct client cl = { .loop = self->loop, .port = self->port };
	int after = 0;
	pthread_t th;

	ASSERT_OK(mc_io_listener_add(self->loop, self->lfd, big_accept, &after, &ls));
	ASSERT_EQ(0, pthread_create(&th, NULL, read_all_client, &cl));
	ASSERT_OK(mc_io_loop_run(self->loop));
	pthread_join(th, NULL);
	EXPECT_EQ(1, cl.ok);
	EXPECT_EQ(-EPIPE, after);
	EXPECT_EQ(1, closes);
	mc_io_listener_close(ls);
}

/*
 * The last send of a shut-down conn and the close of its fd (io_uring links them
 * in one submit): the fd must be closed exactly once, by the loop, both when the
 * peer reads everything and when it resets the connection in the middle (the
 * send fails, the linked close is cancelled and done by hand).
 */
#define LAST_LEN (4u << 20)

struct last {
	int fd;	      /* the accepted socket */
	int closed;   /* on_close calls */
	int status;   /* on_close status */
	bool leave;   /* the client resets after a few KiB */
	uint64_t got; /* bytes the client read */
	int port;
	int phase;
};

static void last_read(struct mc_io_conn *c, void *ud)
{
	size_t n;

	mc_io_conn_rdata(c, &n);
	mc_io_conn_consume(c, n);
}

static void last_close(struct mc_io_conn *c, void *ud, int status)
{
	struct last *t = ud;

	t->closed++;
	t->status = status;
}

static const struct mc_io_conn_ops last_ops = { .on_read = last_read, .on_close = last_close };

static void last_accept(struct mc_io_listener *l, int fd, void *arg)
{
	struct last *t = arg;
	struct mc_io_conn *c;
	int small = 16384;
	char *buf = malloc(LAST_LEN);

	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	t->fd = fd;
	if (buf && mc_io_conn_open(mc_io_listener_loop(l), fd, &last_ops, t, &c) == 0) {
		memset(buf, 'q', LAST_LEN);
		mc_io_conn_write(c, buf, LAST_LEN);
		mc_io_conn_shutdown(c);
	}
	free(buf);
}

static void *last_client(void *arg)
{
	struct last *t = arg;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(t->port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), small = 16384;
	struct timeval tv = { .tv_sec = 10 };
	char buf[4096];
	ssize_t n;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			usleep(100000); /* the server's send is parked on a full socket */
			while ((n = read(fd, buf, sizeof(buf))) > 0) {
				t->got += (uint64_t)n;
				if (t->leave && t->got >= 3 * sizeof(buf))
					break;
			}
		}
		if (t->leave) {
			/* Unread data makes close send RST: the server's send fails. */
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(fd);
	}
	return NULL;
}

static void last_tick(struct mc_io_loop *l, struct mc_io_timer *tm, void *arg)
{
	struct last *t = arg;

	/* Phase 0: poll until on_close ran. Phase 1: one grace period, then stop. */
	if (t->phase == 1 || t->closed) {
		mc_io_loop_stop(l);
		return;
	}
	mc_io_timer_start(l, tm, 20000000ull);
}

static void last_run(FIXTURE_DATA(loop) * self, bool leave)
{
	struct mc_io_listener *ls;
	struct last t = { .fd = -1, .leave = leave, .port = self->port };
	struct mc_io_timer tm;
	pthread_t th;

	mc_io_timer_init(&tm, last_tick, &t);
	mc_io_timer_start(self->loop, &tm, 20000000ull);
	ASSERT_OK(mc_io_listener_add(self->loop, self->lfd, last_accept, &t, &ls));
	ASSERT_EQ(0, pthread_create(&th, NULL, last_client, &t));
	ASSERT_OK(mc_io_loop_run(self->loop));
	pthread_join(th, NULL);
	mc_io_listener_close(ls);
	/* Let the loop submit and reap what the close left queued. */
	t.phase = 1;
	mc_io_timer_start(self->loop, &tm, 50000000ull);
	ASSERT_OK(mc_io_loop_run(self->loop));
	EXPECT_EQ(1, t.closed);
	ASSERT_GE(t.fd, 0);
	/* Closed by the loop while it ran, not at mc_io_loop_free. */
	errno = 0;
	EXPECT_EQ(-1, fcntl(t.fd, F_GETFD));
	EXPECT_EQ(EBADF, errno);
	if (leave) {
		EXPECT_LT(t.got, LAST_LEN);
		EXPECT_LT(t.status, 0);
	} else {
		EXPECT_EQ(LAST_LEN, t.got);
		EXPECT_EQ(0, t.status);
	}
}

TEST_F(loop, shutdown_last_send_closes_fd_once)
{
	last_run(self, false);
}

TEST_F(loop, shutdown_last_send_peer_resets)
{
	last_run(self, true);
}

/* ---- sendfile: head, file segment, tail; a slow reader; a reader that leaves ---- */

#define SF_OFF 1000
#define SF_LEN (3u << 20)

struct sf {
	int file_fd;
	int busy;     /* mc_io_conn_write while the segment is queued */
	int drained;  /* on_drain calls */
	int close_st; /* on_close status */
	int closed;
};

static void sf_read(struct mc_io_conn *c, void *ud)
{
	struct sf *sf = ud;
	size_t n;

	mc_io_conn_rdata(c, &n);
	mc_io_conn_consume(c, n);
	if (sf->drained || mc_io_conn_wpending(c))
		return;
	mc_io_conn_write(c, "HEAD\n", 5);
	if (mc_io_conn_sendfile(c, sf->file_fd, SF_OFF, SF_LEN) == 0)
		sf->busy = mc_io_conn_write(c, "x", 1);
}

static void sf_drain(struct mc_io_conn *c, void *ud)
{
	struct sf *sf = ud;

	if (!sf->drained) {
		sf->drained = 1; /* later calls: the tail drained too */
		mc_io_conn_write(c, "TAIL", 4);
		mc_io_conn_shutdown(c);
	}
}

static void sf_close(struct mc_io_conn *c, void *ud, int status)
{
	struct sf *sf = ud;

	sf->close_st = status;
	sf->closed = 1;
	mc_io_loop_stop(mc_io_conn_loop(c));
}

static const struct mc_io_conn_ops sf_ops = { .on_read = sf_read,
					      .on_drain = sf_drain,
					      .on_close = sf_close };

static void sf_accept(struct mc_io_listener *l, int fd, void *arg)
{
	int small = 16384;

	/* Small socket buffers on both ends: 3 MiB cannot hide in them, so sends are
	 * partial and hit EAGAIN, and a reader that leaves finds the file unsent. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	mc_io_conn_open(mc_io_listener_loop(l), fd, &sf_ops, arg, NULL);
}

struct sf_client {
	int port;
	bool leave; /* close after a few bytes instead of reading everything */
	char *got;
	size_t len;
};

static void *sf_client_run(void *arg)
{
	struct sf_client *cl = arg;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(cl->port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), small = 16384;
	size_t cap = SF_LEN + 64;
	struct timeval tv = { .tv_sec = 10 };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			close(fd);
			fd = -1;
		}
	}

	cl->got = malloc(cap);
	if (fd < 0 || !cl->got) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (write(fd, "go", 2) == 2) {
		/* Let the socket fill first: the server's sendfile must hit EAGAIN. */
		usleep(200000);
		ssize_t n;
		while (cl->len < cap &&
		       (n = read(fd, cl->got + cl->len, cl->leave ? 4096 : cap - cl->len)) > 0) {
			cl->len += (size_t)n;
			if (cl->leave && cl->len >= 8192)
				break;
		}
	}
	close(fd);
	return NULL;
}

/* A temp file (already unlinked) of seeded random bytes; returns its fd or -1. */
static int make_sf_file(char **content)
{
	char path[] = "/tmp/mc-io-sendfile-XXXXXX";
	uint64_t seed = th_seed();
	size_t total = SF_OFF + SF_LEN + 500;
	char *buf = malloc(total);
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (size_t i = 0; i < total; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		buf[i] = (char)(seed >> 56);
	}
	if (mc_write_all(fd, buf, total) < 0) {
		free(buf);
		close(fd);
		return -1;
	}
	*content = buf;
	return fd;
}

TEST_F(loop, sendfile_after_head_then_tail)
{
	struct mc_io_listener *ls;
	struct sf sf = { 0 };
	struct sf_client cl = { .port = self->port };
	char *content = NULL;
	pthread_t th;

	sf.file_fd = make_sf_file(&content);
	ASSERT_GE(sf.file_fd, 0);
	ASSERT_OK(mc_io_listener_add(self->loop, self->lfd, sf_accept, &sf, &ls));
	ASSERT_EQ(0, pthread_create(&th, NULL, sf_client_run, &cl));
	ASSERT_OK(mc_io_loop_run(self->loop));
	pthread_join(th, NULL);
	mc_io_listener_close(ls);
	close(sf.file_fd);
	EXPECT_EQ(-EBUSY, sf.busy);
	EXPECT_EQ(1, sf.drained);
	EXPECT_EQ(0, sf.close_st);
	ASSERT_EQ(5 + SF_LEN + 4, cl.len);
	EXPECT_EQ(0, memcmp(cl.got, "HEAD\n", 5));
	EXPECT_EQ(0, memcmp(cl.got + 5, content + SF_OFF, SF_LEN));
	EXPECT_EQ(0, memcmp(cl.got + 5 + SF_LEN, "TAIL", 4));
	free(cl.got);
	free(content);
}

TEST_F(loop, sendfile_reader_leaves_mid_send)
{
	struct mc_io_listener *ls;
	struct sf sf = { 0 };
	struct sf_client cl = { .port = self->port, .leave = true };
	char *content = NULL;
	pthread_t th;

	sf.file_fd = make_sf_file(&content);
	ASSERT_GE(sf.file_fd, 0);
	ASSERT_OK(mc_io_listener_add(self->loop, self->lfd, sf_accept, &sf, &ls));
	ASSERT_EQ(0, pthread_create(&th, NULL, sf_client_run, &cl));
	ASSERT_OK(mc_io_loop_run(self->loop));
	pthread_join(th, NULL);
	mc_io_listener_close(ls);
	EXPECT_EQ(1, sf.closed);
	EXPECT_EQ(0, sf.drained);  /* the segment never finished */
	EXPECT_LT(sf.close_st, 0); /* EPIPE/ECONNRESET */
	/* libmcio did not close the caller's file. */
	EXPECT_GE(fcntl(sf.file_fd, F_GETFD), 0);
	close(sf.file_fd);
	EXPECT_EQ(0, memcmp(cl.got, "HEAD\n", 5));
	free(cl.got);
	free(content);
}

TEST_HARNESS_MAIN
