/* SPDX-License-Identifier: MIT */
/*
 * Crash safety: a child process writes (puts and deletes, every sync policy, a
 * small memtable so flushes and compactions are in flight) and acknowledges each
 * write on a pipe once the call has returned; the parent kills it with SIGKILL at a
 * random moment, reopens the store and checks that every acknowledged write is
 * there. The only write allowed to go either way is the one in flight at the kill.
 * 60 rounds over one growing store; the seed is printed (MC_TEST_SEED).
 */
#include "harness.h"
#include "kvtest.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 60
#define NKEYS 2000

struct slot {
	int round; /* -1: never written or deleted */
	int op;
};

FIXTURE(crash)
{
	char dir[256];
	pid_t child;
};

FIXTURE_SETUP(crash)
{
	kvt_mkdtemp(self->dir, sizeof(self->dir));
	ASSERT_NE(0, self->dir[0]);
	self->child = 0;
}

FIXTURE_TEARDOWN(crash)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	kvt_rmdir(self->dir);
}

static bool op_is_delete(int op)
{
	return op % 10 == 9;
}

static size_t op_value(char *buf, size_t size, int round, int op)
{
	return (size_t)snprintf(buf, size, "round%d-op%d-%.*s", round, op, op % 40,
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

static void op_key(char *buf, size_t size, int op)
{
	snprintf(buf, size, "c%05d", op % NKEYS);
}

static struct mc_kv_options round_opts(int round)
{
	struct mc_kv_options o = kvt_opts(200, (enum mc_kv_sync)(round % 3));

	o.compaction_fanout = 3;
	return o;
}

static void __attribute__((noreturn)) child_main(const char *dir, int round, int fd)
{
	struct mc_kv_options o = round_opts(round);
	struct mc_err err = { 0 };
	struct mc_kv *kv;
	char k[16], v[96];

	if (mc_kv_open(dir, &o, &kv, &err) < 0) {
		fprintf(stderr, "child: open: %s\n", err.msg);
		_exit(2);
	}
	for (int op = 0;; op++) {
		int r;

		op_key(k, sizeof(k), op);
		if (op_is_delete(op)) {
			r = mc_kv_delete(kv, k, strlen(k));
		} else {
			size_t vl = op_value(v, sizeof(v), round, op);

			r = mc_kv_put(kv, k, strlen(k), v, vl);
		}
		if (r < 0) {
			fprintf(stderr, "child: write: %s\n", mc_strerror(-r));
			_exit(3);
		}
		if (write(fd, &op, sizeof(op)) != sizeof(op))
			_exit(4);
	}
}

/* Is the value in the store what slot @s says (or, for @alt, the in-flight op)? */
static bool matches(const struct slot *s, int g, const struct mc_buf *v)
{
	char want[96];

	if (s->round < 0 || op_is_delete(s->op))
		return g == -ENOENT;
	size_t wl = op_value(want, sizeof(want), s->round, s->op);

	return g == 0 && v->len == wl && memcmp(v->data, want, wl) == 0;
}

TEST_F_TIMEOUT(crash, kill9_loses_no_acknowledged_write, 120)
{
	static struct slot model[NKEYS];
	uint64_t rs = th_seed() | 1;
	struct mc_buf v = MC_BUF_INIT;
	uint64_t total_acked = 0;

	for (int i = 0; i < NKEYS; i++)
		model[i] = (struct slot){ -1, 0 };
	for (int round = 0; round < ROUNDS; round++) {
		int p[2];
		int last = -1;

		ASSERT_EQ(0, pipe(p));
		/* fork into a local: `self` is shared memory, the child must not write it. */
		pid_t pid = fork();

		ASSERT_GE(pid, 0);
		if (pid == 0) {
			close(p[0]);
			child_main(self->dir, round, p[1]);
		}
		self->child = pid;
		close(p[1]);
		/* Let it run 2..80 ms after the first ack, reading acks as they come. */
		uint64_t delay_ns = (2 + kvt_rand(&rs) % 79) * 1000000ull, deadline = 0;

		for (;;) {
			struct pollfd pfd = { .fd = p[0], .events = POLLIN };
			int op;

			if (deadline && mc_time_mono_ns() >= deadline)
				break;
			if (poll(&pfd, 1, 1) <= 0)
				continue;
			ssize_t n = read(p[0], &op, sizeof(op));

			if (n != sizeof(op))
				break; /* the child died on its own: reported below */
			last = op;
			if (!deadline)
				deadline = mc_time_mono_ns() + delay_ns;
		}
		kill(pid, SIGKILL);
		int status;

		waitpid(pid, &status, 0);
		self->child = 0;
		if (!WIFSIGNALED(status))
			th_assert_failed(__FILE__, __LINE__,
					 "round %d: writer exited by itself (%d)", round,
					 WEXITSTATUS(status));
		/* Acks written before the kill are acknowledged writes, even if unread. */
		for (int op; read(p[0], &op, sizeof(op)) == sizeof(op);)
			last = op;
		close(p[0]);
		total_acked += (uint64_t)last + 1;

		struct mc_kv_options o = round_opts(round);
		struct mc_err err = { 0 };
		struct mc_kv *kv;

		if (mc_kv_open(self->dir, &o, &kv, &err) < 0)
			th_assert_failed(__FILE__, __LINE__, "round %d: reopen: %s", round,
					 err.msg);
		/* Fold this round's acknowledged ops into the model. */
		int first = last + 1 >= NKEYS ? last + 1 - NKEYS : 0;

		for (int op = first; op <= last; op++)
			model[op % NKEYS] = (struct slot){ round, op };
		int inflight = last + 1;

		for (int key = 0; key < NKEYS; key++) {
			char k[16];

			snprintf(k, sizeof(k), "c%05d", key);
			int g = mc_kv_get(kv, k, strlen(k), &v);

			if (matches(&model[key], g, &v))
				continue;
			struct slot alt = { round, inflight };

			if (key == inflight % NKEYS && matches(&alt, g, &v)) {
				model[key] = alt; /* the unacknowledged op made it: fine */
				continue;
			}
			th_assert_failed(
				__FILE__, __LINE__,
				"round %d (policy %d, last ack op %d): key %s: got %d `%.*s`, "
				"want round %d op %d",
				round, round % 3, last, k, g, g == 0 ? (int)v.len : 0,
				g == 0 ? v.data : "", model[key].round, model[key].op);
		}
		mc_kv_close(kv);
	}
	TH_LOG("%d rounds, %llu acknowledged writes checked", ROUNDS,
	       (unsigned long long)total_acked);
	mc_buf_release(&v);
}

TEST_HARNESS_MAIN
