/* SPDX-License-Identifier: MIT */
/*
 * Tests of the event loop, each on both backends (FIXTURE_VARIANT): echo with
 * partial reads, 1,000 concurrent connections, a slow reader not stalling others,
 * timers, cross-thread posts, watches, file ops, N loops on N threads
 * (SO_REUSEPORT and acceptor hand-off). Plus backend choice: $MC_IO_BACKEND, and
 * the fallback to epoll when a seccomp filter forbids io_uring. The output path
 * (shutdown, close, sendfile) is in loop_output.c. All traffic is on 127.0.0.1.
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

/* Sends a message one byte at a time with pauses, expects it back whole. */
static void *trickle_client(void *arg)
{
	struct client *cl = arg;
	static const char msg[] = "hello, partial world";
	char back[sizeof(msg)];
	int fd = connect_port(cl->port);

	if (fd >= 0) {
		for (size_t i = 0; i < sizeof(msg) - 1; i++) {
			if (write(fd, msg + i, 1) != 1)
				break;
			usleep(1000);
		}
		if (mc_read_all(fd, back, sizeof(msg) - 1) == (ssize_t)(sizeof(msg) - 1) &&
		    !memcmp(back, msg, sizeof(msg) - 1))
			cl->ok = 1;
		shutdown(fd, SHUT_WR);
		cl->ok &= read(fd, back, 1) == 0; /* server closes after our FIN */
		close(fd);
	}
	if (cl->stop_loop)
		mc_io_loop_post(cl->loop, stop_task, NULL);
	return NULL;
}

TEST_F(loop, echo_partial_reads)
{
	struct mc_io_listener *ls;
	struct client cl = { .loop = self->loop, .port = self->port, .stop_loop = true };
	pthread_t th;

	closes = close_errors = 0;
	ASSERT_OK(mc_io_listener_add(self->loop, self->lfd, echo_accept, NULL, &ls));
	ASSERT_EQ(0, pthread_create(&th, NULL, trickle_client, &cl));
	ASSERT_OK(mc_io_loop_run(self->loop));
	pthread_join(th, NULL);
	EXPECT_EQ(1, cl.ok);
	/* The close may land after stop; give the loop one more turn. */
	for (int i = 0; i < 50 && closes < 1; i++) {
		mc_io_loop_post(self->loop, stop_task, NULL);
		mc_io_loop_run(self->loop);
	}
	EXPECT_EQ(1, closes);
	EXPECT_EQ(0, close_errors);
	mc_io_listener_close(ls);
}

/* ---- 1,000 concurrent connections, the clients on the same loop ---- */

#define MANY 1000

struct many {
	struct mc_io_loop *loop;
	int done, failed, connected;
};

struct mclient {
	struct many *m;
	char msg[32];
	size_t len;
};

static void mc_read(struct mc_io_conn *c, void *ud)
{
	struct mclient *mc = ud;
	size_t n;
	const char *p = mc_io_conn_rdata(c, &n);

	if (n < mc->len)
		return;
	if (memcmp(p, mc->msg, mc->len))
		mc->m->failed++;
	else
		mc->m->done++;
	mc_io_conn_consume(c, n);
	mc_io_conn_close(c);
}

static void mc_connect(struct mc_io_conn *c, void *ud, int status)
{
	struct mclient *mc = ud;

	if (status < 0) {
		mc->m->failed++;
		return;
	}
	mc->m->connected++;
	/* Write only once every client is connected: all 1,000 are open at once. */
	if (mc->m->connected == MANY)
		mc_io_loop_post(mc_io_conn_loop(c), stop_task, NULL);
}

static void mc_close(struct mc_io_conn *c, void *ud, int status)
{
	free(ud);
}

static const struct mc_io_conn_ops mclient_ops = { .on_read = mc_read,
						   .on_connect = mc_connect,
						   .on_close = mc_close };

TEST_F_TIMEOUT(loop, thousand_connections, 60)
{
	struct rlimit rl;
	struct mc_io_listener *ls;
	struct many m = { .loop = self->loop };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(self->port) };
	struct mc_io_conn *conns[MANY];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 2 * MANY + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < 2 * MANY + 64)
		SKIP("RLIMIT_NOFILE hard limit %llu < %d", (unsigned long long)rl.rlim_max,
		     2 * MANY + 64);
	closes = 0;
	ASSERT_OK(mc_io_listener_add(self->loop, self->lfd, echo_accept, NULL, &ls));
	for (int i = 0; i < MANY; i++) {
		struct mclient *mc = calloc(1, sizeof(*mc));
		ASSERT_NONNULL(mc);
		mc->m = &m;
		mc->len = (size_t)snprintf(mc->msg, sizeof(mc->msg), "client %d", i);
		ASSERT_OK(mc_io_conn_connect(self->loop, (struct sockaddr *)&a, sizeof(a),
					     &mclient_ops, mc, &conns[i]));
	}
	uint64_t t0 = mc_time_mono_ns();
	while (m.connected + m.failed < MANY && mc_time_mono_ns() - t0 < 20000000000ull)
		ASSERT_OK(mc_io_loop_run(self->loop));
	ASSERT_EQ(MANY, m.connected);
	/* All connected (the server accepted each); now every one talks. */
	for (int i = 0; i < MANY; i++) {
		char msg[32];
		int n = snprintf(msg, sizeof(msg), "client %d", i);
		ASSERT_OK(mc_io_conn_write(conns[i], msg, (size_t)n));
	}
	t0 = mc_time_mono_ns();
	while (m.done + m.failed < MANY && mc_time_mono_ns() - t0 < 20000000000ull) {
		mc_io_loop_post(self->loop, stop_task, NULL);
		ASSERT_OK(mc_io_loop_run(self->loop));
	}
	EXPECT_EQ(MANY, m.done);
	EXPECT_EQ(0, m.failed);
	/* Server side sees the client closes. */
	t0 = mc_time_mono_ns();
	while (closes < MANY && mc_time_mono_ns() - t0 < 10000000000ull) {
		mc_io_loop_post(self->loop, stop_task, NULL);
		ASSERT_OK(mc_io_loop_run(self->loop));
	}
	EXPECT_EQ(MANY, closes);
	mc_io_listener_close(ls);
}

/* ---- a reader that never reads does not stall other clients ---- */

static void blast_accept(struct mc_io_listener *l, int fd, void *arg)
{
	int *first = arg;

	if (*first) {
		/* The first client never reads: 8 MiB back-pressure against it. */
		static char junk[1 << 16];
		struct mc_io_conn *c;
		*first = 0;
		if (mc_io_conn_open(mc_io_listener_loop(l), fd, &echo_ops, NULL, &c) == 0)
			for (int i = 0; i < 128; i++)
				mc_io_conn_write(c, junk, sizeof(junk));
		return;
	}
	echo_accept(l, fd, arg);
}

static void *slow_then_fast(void *arg)
{
	struct client *cl = arg;
	int slow = connect_port(cl->port);

	usleep(100000); /* the server is now blocked on the slow socket's buffer */
	uint64_t t0 = mc_time_mono_ns();
	cl->stop_loop = false;
	trickle_client(cl);
	cl->elapsed_ns = mc_time_mono_ns() - t0;
	close(slow);
	mc_io_loop_post(cl->loop, stop_task, NULL);
	return NULL;
}

TEST_F(loop, slow_reader_does_not_stall_others)
{
	struct mc_io_listener *ls;
	struct client cl = { .loop = self->loop, .port = self->port };
	int first = 1;
	pthread_t th;

	ASSERT_OK(mc_io_listener_add(self->loop, self->lfd, blast_accept, &first, &ls));
	ASSERT_EQ(0, pthread_create(&th, NULL, slow_then_fast, &cl));
	ASSERT_OK(mc_io_loop_run(self->loop));
	pthread_join(th, NULL);
	EXPECT_EQ(1, cl.ok);
	EXPECT_LT(cl.elapsed_ns, 3000000000ull);
	mc_io_listener_close(ls);
}

/* ---- timers ---- */

static int fired[8], nfired;

static void on_timer(struct mc_io_loop *l, struct mc_io_timer *t, void *arg)
{
	fired[nfired++] = (int)(intptr_t)arg;
	if ((intptr_t)arg == 3)
		mc_io_loop_stop(l);
}

TEST_F(loop, timers_order_and_cancel)
{
	struct mc_io_timer t1, t2, t3, tx;

	nfired = 0;
	mc_io_timer_init(&t1, on_timer, (void *)1);
	mc_io_timer_init(&t2, on_timer, (void *)2);
	mc_io_timer_init(&t3, on_timer, (void *)3);
	mc_io_timer_init(&tx, on_timer, (void *)9);
	mc_io_timer_start(self->loop, &t3, 60000000);
	mc_io_timer_start(self->loop, &t1, 10000000);
	mc_io_timer_start(self->loop, &tx, 20000000);
	mc_io_timer_start(self->loop, &t2, 5000000);
	mc_io_timer_start(self->loop, &t2, 30000000); /* re-arm moves it later */
	ASSERT_TRUE(mc_io_timer_pending(&tx));
	mc_io_timer_stop(self->loop, &tx);
	ASSERT_FALSE(mc_io_timer_pending(&tx));
	uint64_t t0 = mc_time_mono_ns();
	ASSERT_OK(mc_io_loop_run(self->loop));
	uint64_t dt = mc_time_mono_ns() - t0;
	ASSERT_EQ(3, nfired);
	EXPECT_EQ(1, fired[0]);
	EXPECT_EQ(2, fired[1]);
	EXPECT_EQ(3, fired[2]);
	EXPECT_GE(dt, 60000000ull);
	EXPECT_LT(dt, 2000000000ull);
}

/* ---- cross-thread posts ---- */

#define POSTERS 4
#define POSTS 20000

struct post_state {
	struct mc_io_loop *loop;
	int next[POSTERS];
	int order_errors;
	int total;
};

static struct post_state ps;

static void post_task(struct mc_io_loop *l, void *arg)
{
	uintptr_t v = (uintptr_t)arg;
	int who = (int)(v >> 24), seq = (int)(v & 0xffffff);

	if (seq != ps.next[who])
		ps.order_errors++;
	ps.next[who] = seq + 1;
	if (++ps.total == POSTERS * POSTS)
		mc_io_loop_stop(l);
}

static void *poster(void *arg)
{
	uintptr_t who = (uintptr_t)arg;

	for (uintptr_t i = 0; i < POSTS; i++)
		while (mc_io_loop_post(ps.loop, post_task, (void *)((who << 24) | i)) < 0)
			usleep(100);
	return NULL;
}

TEST_F(loop, post_from_threads)
{
	pthread_t th[POSTERS];

	memset(&ps, 0, sizeof(ps));
	ps.loop = self->loop;
	for (uintptr_t i = 0; i < POSTERS; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, poster, (void *)i));
	ASSERT_OK(mc_io_loop_run(self->loop));
	for (int i = 0; i < POSTERS; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(POSTERS * POSTS, ps.total);
	EXPECT_EQ(0, ps.order_errors);
}

/* ---- watches and file ops ---- */

static struct mc_io_loop *cur_loop;

static void on_pipe2(struct mc_io_watch *w, int fd, void *arg)
{
	int *got = arg;
	char c;

	/* Level-triggered: one byte per callback, the rest comes on the next call. */
	if (read(fd, &c, 1) == 1)
		(*got)++;
	if (*got == 3) {
		mc_io_watch_del(w);
		mc_io_loop_stop(cur_loop);
	}
}

TEST_F(loop, watch_is_level_triggered)
{
	int p[2], got = 0;
	struct mc_io_watch *w;

	ASSERT_EQ(0, pipe2(p, O_NONBLOCK | O_CLOEXEC));
	cur_loop = self->loop;
	ASSERT_OK(mc_io_watch_add(self->loop, p[0], on_pipe2, &got, &w));
	ASSERT_EQ(3, write(p[1], "abc", 3));
	ASSERT_OK(mc_io_loop_run(self->loop));
	EXPECT_EQ(3, got);
	close(p[0]);
	close(p[1]);
}

struct fstate {
	int fd;
	char out[64];
	int step, wres, sres, rres;
};

static void file_step(struct mc_io_loop *l, int res, void *arg)
{
	struct fstate *f = arg;

	switch (f->step++) {
	case 0:
		f->wres = res;
		mc_io_file_fsync(l, f->fd, true, file_step, f);
		break;
	case 1:
		f->sres = res;
		mc_io_file_read(l, f->fd, f->out, sizeof(f->out), 6, file_step, f);
		break;
	default:
		f->rres = res;
		mc_io_loop_stop(l);
	}
}

TEST_F(loop, file_write_fsync_read)
{
	char path[] = "/tmp/mc-io-file.XXXXXX";
	struct fstate f = { 0 };
	static const char data[] = "hello file world";

	f.fd = mkstemp(path);
	ASSERT_OK(f.fd);
	unlink(path);
	ASSERT_OK(mc_io_file_write(self->loop, f.fd, data, sizeof(data) - 1, 0, file_step, &f));
	ASSERT_OK(mc_io_loop_run(self->loop));
	close(f.fd);
	EXPECT_EQ((int)sizeof(data) - 1, f.wres);
	EXPECT_EQ(0, f.sres);
	ASSERT_EQ(10, f.rres);
	EXPECT_EQ(0, memcmp(f.out, "file world", 10));
}

/* ---- N loops on N threads ---- */

struct mt {
	int port;
	int lfds[2];
	int accepted[2];
	bool handoff; /* loop 0 accepts, loop 1 serves */
	struct mc_io_threads *threads;
	/* Written by each loop's init, before mc_io_threads_start's barrier releases
	 * the loops, so every loop thread sees both. */
	struct mc_io_loop *loops[2];
};

static void adopt_task(struct mc_io_loop *l, void *arg)
{
	struct mt *mt = mc_io_loop_userdata(l);

	mt->accepted[1]++;
	mc_io_conn_open(l, (int)(intptr_t)arg, &echo_ops, NULL, NULL);
}

static void mt_accept(struct mc_io_listener *ls, int fd, void *arg)
{
	struct mt *mt = arg;
	struct mc_io_loop *l = mc_io_listener_loop(ls);

	if (mt->handoff) {
		struct mc_io_loop *worker = mt->loops[1];
		mt->accepted[0]++;
		if (!worker || mc_io_loop_post(worker, adopt_task, (void *)(intptr_t)fd) < 0)
			close(fd);
		return;
	}
	for (int i = 0; i < 2; i++)
		if (mt->loops[i] == l)
			__atomic_fetch_add(&mt->accepted[i], 1, __ATOMIC_RELAXED);
	mc_io_conn_open(l, fd, &echo_ops, NULL, NULL);
}

static int mt_init(struct mc_io_loop *l, unsigned idx, void *arg)
{
	struct mt *mt = arg;

	mc_io_loop_set_userdata(l, mt);
	mt->loops[idx] = l;
	if (mt->handoff && idx == 1)
		return 0;
	return mc_io_listener_add(l, mt->lfds[idx], mt_accept, mt, NULL);
}

static void run_threads(struct mt *mt, const struct mc_io_loop_opts *o)
{
	static const char msg[] = "ping";
	char back[4];
	int ok = 0;

	ASSERT_OK(mc_io_threads_start(2, o, mt_init, mt, &mt->threads));
	ASSERT_EQ(2, mc_io_threads_count(mt->threads));
	for (int i = 0; i < 40; i++) {
		int fd = connect_port(mt->port);
		if (fd < 0)
			continue;
		if (write(fd, msg, 4) == 4 && mc_read_all(fd, back, 4) == 4 &&
		    !memcmp(back, msg, 4))
			ok++;
		close(fd);
	}
	mc_io_threads_stop(mt->threads);
	ASSERT_OK(mc_io_threads_join(mt->threads));
	EXPECT_EQ(40, ok);
}

TEST_F(loop, threads_reuseport)
{
	struct mc_io_loop_opts o = { .backend = variant->backend };
	struct mt mt = { 0 };

	mt.lfds[0] = mc_io_listen_tcp("127.0.0.1", 0, MC_IO_LISTEN_REUSEPORT, 128);
	ASSERT_OK(mt.lfds[0]);
	mt.port = mc_io_socket_port(mt.lfds[0]);
	mt.lfds[1] = mc_io_listen_tcp("127.0.0.1", (uint16_t)mt.port, MC_IO_LISTEN_REUSEPORT, 128);
	ASSERT_OK(mt.lfds[1]);
	run_threads(&mt, &o);
	close(mt.lfds[0]);
	close(mt.lfds[1]);
	EXPECT_EQ(40, mt.accepted[0] + mt.accepted[1]);
	TH_LOG("reuseport split: %d / %d", mt.accepted[0], mt.accepted[1]);
}

TEST_F(loop, threads_acceptor_handoff)
{
	struct mc_io_loop_opts o = { .backend = variant->backend };
	struct mt mt = { .handoff = true };

	mt.lfds[0] = self->lfd;
	mt.port = self->port;
	run_threads(&mt, &o);
	EXPECT_EQ(40, mt.accepted[0]);
	EXPECT_EQ(40, mt.accepted[1]);
}

/* ---- busy polling (opts.spin_us) ---- */

struct pinger {
	struct mc_io_loop *loop;
	int port, n, ok;
};

/* n echoes of 4 bytes, 20 ms apart: n busy-to-idle transitions of the loop. */
static void *pinger_run(void *arg)
{
	struct pinger *p = arg;
	int fd = connect_port(p->port);
	char back[4];

	for (int i = 0; fd >= 0 && i < p->n; i++) {
		if (write(fd, "ping", 4) != 4 || mc_read_all(fd, back, 4) != 4 ||
		    memcmp(back, "ping", 4))
			break;
		p->ok++;
		usleep(20000);
	}
	if (fd >= 0)
		close(fd);
	mc_io_loop_post(p->loop, stop_task, NULL);
	return NULL;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * A loop that busy-polls 2 ms after each busy iteration must still go to sleep when
 * its peer is idle: 10 echoes 20 ms apart cost at most a few ms of spinning each,
 * while a spin that never gave up would burn the whole 200+ ms. The echoes must all
 * come back (completions seen while spinning are run, not lost).
 */
TEST(spin_is_bounded_when_idle)
{
	struct mc_io_loop_opts o = { .backend = MC_IO_BACKEND_URING, .spin_us = 2000 };
	struct mc_io_loop *l;
	struct mc_io_listener *ls;
	pthread_t th;

	require_io_uring();
	ASSERT_OK(mc_io_loop_new(&o, &l));
	int lfd = mc_io_listen_tcp("127.0.0.1", 0, 0, 16);
	ASSERT_OK(lfd);
	struct pinger p = { .loop = l, .port = mc_io_socket_port(lfd), .n = 10 };
	ASSERT_OK(mc_io_listener_add(l, lfd, echo_accept, NULL, &ls));
	uint64_t c0 = thread_cpu_ns(), t0 = mc_time_mono_ns();
	ASSERT_EQ(0, pthread_create(&th, NULL, pinger_run, &p));
	EXPECT_EQ(0, mc_io_loop_run(l));
	uint64_t cpu = thread_cpu_ns() - c0, wall = mc_time_mono_ns() - t0;
	pthread_join(th, NULL);
	TH_LOG("%d echoes in %.1f ms, loop thread CPU %.1f ms", p.ok, wall / 1e6, cpu / 1e6);
	EXPECT_EQ(10, p.ok);
	EXPECT_GE(wall, 200000000ull);
	EXPECT_LT(cpu, 120000000ull);
	mc_io_listener_close(ls);
	mc_io_loop_free(l);
	close(lfd);
}

/* ---- backend selection ---- */

TEST(env_selects_backend)
{
	struct mc_io_loop *l;

	setenv("MC_IO_BACKEND", "epoll", 1);
	ASSERT_OK(mc_io_loop_new(NULL, &l));
	EXPECT_STREQ("epoll", mc_io_loop_backend(l));
	mc_io_loop_free(l);
	unsetenv("MC_IO_BACKEND");
	enum mc_io_backend b;
	EXPECT_EQ(-EINVAL, mc_io_backend_parse("kqueue", &b));
	ASSERT_OK(mc_io_backend_parse("io_uring", &b));
	EXPECT_EQ(MC_IO_BACKEND_URING, b);
}

/* In a child: a seccomp filter makes io_uring_setup fail with EPERM, as Docker's
 * default profile does. AUTO must fall back to epoll; URING must fail. */
TEST(fallback_when_seccomp_blocks_io_uring)
{
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { .len = MC_ARRAY_SIZE(f), .filter = f };
		struct mc_io_loop *l;
		struct mc_io_loop_opts o = { .backend = MC_IO_BACKEND_URING };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
			_exit(2);
		unsetenv("MC_IO_BACKEND");
		if (mc_io_loop_new(&o, &l) != -EPERM)
			_exit(3);
		if (mc_io_loop_new(NULL, &l) < 0)
			_exit(4);
		int bad = strcmp(mc_io_loop_backend(l), "epoll") != 0;
		mc_io_loop_free(l);
		_exit(bad ? 5 : 0);
	}
	int st;
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
}

TEST_HARNESS_MAIN
