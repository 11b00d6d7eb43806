/* SPDX-License-Identifier: MIT */
/*
 * harness.c: runs the tests registered through harness.h. Each test is forked into
 * its own process group with a timeout; results travel back through a shared page;
 * output is TAP version 13.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TH_REASON_MAX 512

/* Shared between the harness and the forked test: written by the test, read after. */
struct th_shared {
	int failed;
	int skipped;
	int setup_started;
	int teardown_started;
	int finished;
	char reason[TH_REASON_MAX];
	/* the fixture's `self` follows, aligned */
	max_align_t self[];
};

static struct th_test *tests, **tests_tail = &tests;
static struct th_fixture *fixtures;

/* State of the test running in this (child) process. */
static struct th_shared *cur;
static sigjmp_buf cur_jmp;
static int cur_jmp_armed;
static int cur_timeout = TH_DEFAULT_TIMEOUT;
static int seed_printed;

void th_register_test(struct th_test *t)
{
	t->next = NULL;
	*tests_tail = t;
	tests_tail = &t->next;
}

void th_register_fixture(struct th_fixture *f)
{
	f->next = fixtures;
	fixtures = f;
}

void th_register_variant(struct th_fixture *f, struct th_variant *v)
{
	struct th_variant **p = &f->variants;

	while (*p)
		p = &(*p)->next;
	v->next = NULL;
	*p = v;
}

static void vdiag(const char *file, int line, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	printf("# %s:%d: %s\n", file, line, buf);
	fflush(stdout);
}

void th_log(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(file, line, fmt, ap);
	va_end(ap);
}

void th_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(file, line, fmt, ap);
	va_end(ap);
	if (cur)
		cur->failed = 1;
}

static void __attribute__((noreturn)) leave_test(void)
{
	if (cur_jmp_armed)
		siglongjmp(cur_jmp, 1);
	/* Outside a test body (should not happen): end the child. */
	fflush(stdout);
	_exit(cur && cur->failed ? 1 : 0);
}

void th_assert_failed(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(file, line, fmt, ap);
	va_end(ap);
	if (cur)
		cur->failed = 1;
	leave_test();
}

void th_skip(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	(void)file, (void)line;
	if (!cur) {
		/* Outside a test (the probe program): the reason, then exit 4. */
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
		exit(4);
	}
	va_start(ap, fmt);
	vsnprintf(cur->reason, sizeof(cur->reason), fmt, ap);
	va_end(ap);
	cur->skipped = 1;
	leave_test();
}

int th_timeout(void)
{
	return cur_timeout;
}

uint64_t th_seed(void)
{
	static uint64_t seed;
	const char *env = getenv("MC_TEST_SEED");

	if (!seed_printed) {
		if (env && *env) {
			seed = strtoull(env, NULL, 0);
		} else {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			seed = (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec ^
			       (uint64_t)getpid() << 32;
		}
		printf("# seed=%" PRIu64 " (replay with MC_TEST_SEED=%" PRIu64 ")\n", seed, seed);
		fflush(stdout);
		seed_printed = 1;
	}
	return seed;
}

void th_require_root(const char *file, int line)
{
	if (geteuid() != 0)
		th_skip(file, line, "requires root");
}

void th_require_io_uring(const char *file, int line)
{
	/* struct io_uring_params is 120 bytes; zeroed means "defaults". */
	unsigned char params[120] = { 0 };
	char buf[16] = "";
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "re");
	long fd;

	if (f) {
		if (fgets(buf, sizeof(buf), f) && atoi(buf) == 2) {
			fclose(f);
			th_skip(file, line, "io_uring disabled by kernel.io_uring_disabled=2");
		}
		fclose(f);
	}
#ifdef __NR_io_uring_setup
	fd = syscall(__NR_io_uring_setup, 1, params);
	if (fd < 0)
		th_skip(file, line, "io_uring unavailable: io_uring_setup: %s", strerror(errno));
	close((int)fd);
#else
	(void)params, (void)fd;
	th_skip(file, line, "io_uring unavailable: no io_uring_setup syscall number");
#endif
}

void th_require_cgroup_v2(const char *file, int line)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char buf[4096];
	int found = 0;

	if (f) {
		while (!found && fgets(buf, sizeof(buf), f))
			found = strstr(buf, " - cgroup2 ") != NULL;
		fclose(f);
	}
	if (!found)
		th_skip(file, line, "no cgroup v2 hierarchy is mounted");
}

void th_require_tool(const char *file, int line, const char *tool)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	while (*path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, tool);
		if (access(buf, X_OK) == 0)
			return;
		path += n;
		if (*path == ':')
			path++;
	}
	th_skip(file, line, "requires %s (not found in PATH)", tool);
}

static size_t shared_size(const struct th_test *t)
{
	size_t n = sizeof(struct th_shared) + (t->fixture ? t->fixture->self_size : 0);
	long page = sysconf(_SC_PAGESIZE);

	return (n + (size_t)page - 1) / (size_t)page * (size_t)page;
}

/*
 * In the child: setup, body, teardown. Teardown runs after a failed ASSERT or SKIP.
 * What crosses sigsetjmp lives in statics, so longjmp cannot clobber it.
 */
static struct th_test *run_t;
static const void *run_vdata;

static void __attribute__((noreturn)) run_child(void)
{
	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	cur_jmp_armed = 1;
	if (sigsetjmp(cur_jmp, 1) == 0) {
		if (run_t->fixture) {
			cur->setup_started = 1;
			run_t->fixture->setup(run_t, cur->self, run_vdata);
		}
		run_t->fn(run_t, cur->self, run_vdata);
	}
	if (run_t->fixture && !cur->teardown_started) {
		cur->teardown_started = 1;
		if (sigsetjmp(cur_jmp, 1) == 0)
			run_t->fixture->teardown(run_t, cur->self, run_vdata);
	}
	cur_jmp_armed = 0;
	cur->finished = 1;
	fflush(stdout);
	fflush(stderr);
	_exit(0);
}

static int pidfd_open_compat(pid_t pid)
{
#ifdef __NR_pidfd_open
	return (int)syscall(__NR_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/*
 * Waits for @pid up to @secs seconds. Returns 0 with *status set, or -ETIMEDOUT
 * after killing the child's process group.
 */
static int wait_timeout(pid_t pid, int secs, int *status)
{
	int pfd = pidfd_open_compat(pid);
	struct timespec start, now;
	long left_ms;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			*status = 0;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		left_ms = (long)secs * 1000 - ((now.tv_sec - start.tv_sec) * 1000 +
					       (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left_ms <= 0) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			if (pfd >= 0)
				close(pfd);
			return -ETIMEDOUT;
		}
		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };

			poll(&p, 1, left_ms > 1000 ? 1000 : (int)left_ms);
		} else {
			usleep(left_ms > 20 ? 20000 : (useconds_t)left_ms * 1000);
		}
	}
	if (pfd >= 0)
		close(pfd);
	return 0;
}

/* Runs the fixture's teardown in a fresh child after the test died without it. */
static void teardown_after_crash(struct th_test *t, const struct th_variant *v)
{
	pid_t pid;
	int status;

	run_t = t;
	run_vdata = v ? v->data : NULL;
	printf("# running teardown after the test died\n");
	fflush(stdout);
	cur->teardown_started = 1;
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		cur_jmp_armed = 1;
		if (sigsetjmp(cur_jmp, 1) == 0)
			run_t->fixture->teardown(run_t, cur->self, run_vdata);
		fflush(stdout);
		_exit(0);
	}
	if (pid < 0)
		return;
	if (wait_timeout(pid, 30, &status) < 0)
		printf("# teardown timed out\n");
	kill(-pid, SIGKILL);
}

/*
 * The harness is a child subreaper (see th_main), so processes a test left behind are
 * re-parented to it; reap them so none linger as zombies (some inits never reap).
 * Bounded: a process that escaped the test's process group is not waited for.
 */
static void reap_orphans(void)
{
	for (int i = 0; i < 50; i++) {
		pid_t r = waitpid(-1, NULL, WNOHANG);

		if (r < 0)
			return; /* ECHILD: nothing left */
		if (r == 0)
			usleep(2000);
	}
}

static double timeout_scale(void)
{
	const char *s = getenv("MC_TEST_TIMEOUT_SCALE");
	double d = s ? strtod(s, NULL) : 1.0;

	return d > 0 ? d : 1.0;
}

enum th_result {
	TH_PASS,
	TH_FAIL,
	TH_SKIP
};

static enum th_result run_one(struct th_test *t, const struct th_variant *v, const char *name,
			      int num)
{
	size_t size = shared_size(t);
	enum th_result res;
	int status = 0, rc;
	pid_t pid;

	cur = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cur == MAP_FAILED) {
		printf("# %s: mmap: %s\nnot ok %d %s\n", name, strerror(errno), num, name);
		cur = NULL;
		return TH_FAIL;
	}
	cur_timeout = (int)(t->timeout * timeout_scale() + 0.5);
	printf("# RUN %s\n", name);
	fflush(stdout);
	fflush(stderr);
	run_t = t;
	run_vdata = v ? v->data : NULL;
	pid = fork();
	if (pid == 0)
		run_child();
	if (pid < 0) {
		printf("# %s: fork: %s\n", name, strerror(errno));
		status = -1;
		rc = 0;
	} else {
		setpgid(pid, pid); /* also done by the child: no race on who is first */
		rc = wait_timeout(pid, cur_timeout, &status);
	}

	if (rc == -ETIMEDOUT) {
		printf("# %s: timed out after %d seconds\n", name, cur_timeout);
		cur->failed = 1;
	} else if (pid > 0 && WIFSIGNALED(status)) {
		printf("# %s: killed by signal %d (%s)\n", name, WTERMSIG(status),
		       strsignal(WTERMSIG(status)));
		cur->failed = 1;
	} else if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		printf("# %s: exited with status %d\n", name, WEXITSTATUS(status));
		cur->failed = 1;
	} else if (pid > 0 && !cur->finished) {
		printf("# %s: exited before the test finished\n", name);
		cur->failed = 1;
	}
	/* Whatever the test left running in its process group goes with it. */
	if (pid > 0) {
		kill(-pid, SIGKILL);
		reap_orphans();
	}
	if (t->fixture && cur->setup_started && !cur->teardown_started)
		teardown_after_crash(t, v);

	if (cur->failed) {
		printf("not ok %d %s\n", num, name);
		res = TH_FAIL;
	} else if (cur->skipped) {
		printf("ok %d %s # SKIP %s\n", num, name, cur->reason);
		res = TH_SKIP;
	} else {
		printf("ok %d %s\n", num, name);
		res = TH_PASS;
	}
	fflush(stdout);
	munmap(cur, size);
	cur = NULL;
	return res;
}

static void full_name(char *buf, size_t len, const struct th_test *t, const struct th_variant *v)
{
	if (!t->fixture)
		snprintf(buf, len, "%s", t->name);
	else if (v)
		snprintf(buf, len, "%s.%s.%s", t->fixture->name, v->name, t->name);
	else
		snprintf(buf, len, "%s.%s", t->fixture->name, t->name);
}

static int selected(const char *name, char **filters, int nfilters)
{
	if (nfilters == 0)
		return 1;
	for (int i = 0; i < nfilters; i++)
		if (strstr(name, filters[i]))
			return 1;
	return 0;
}

/* Calls @fn for every (test, variant) pair that passes the filters. */
static int for_each_case(char **filters, int nfilters,
			 void (*fn)(struct th_test *, const struct th_variant *, const char *,
				    void *),
			 void *arg)
{
	char name[512];
	int n = 0;

	for (struct th_test *t = tests; t; t = t->next) {
		const struct th_variant *v = t->fixture ? t->fixture->variants : NULL;

		do {
			full_name(name, sizeof(name), t, v);
			if (selected(name, filters, nfilters)) {
				n++;
				if (fn)
					fn(t, v, name, arg);
			}
			v = v ? v->next : NULL;
		} while (v);
	}
	return n;
}

struct totals {
	int num, pass, fail, skip;
};

static void run_cb(struct th_test *t, const struct th_variant *v, const char *name, void *arg)
{
	struct totals *tot = arg;

	switch (run_one(t, v, name, ++tot->num)) {
	case TH_PASS:
		tot->pass++;
		break;
	case TH_FAIL:
		tot->fail++;
		break;
	case TH_SKIP:
		tot->skip++;
		break;
	}
}

static void list_cb(struct th_test *t, const struct th_variant *v, const char *name, void *arg)
{
	(void)t, (void)v, (void)arg;
	printf("%s\n", name);
}

static void usage(const char *prog, FILE *out)
{
	fprintf(out,
		"usage: %s [-l] [-t NAME]...\n"
		"  -l        list the tests and exit\n"
		"  -t NAME   run only tests whose name contains NAME (repeatable)\n"
		"environment: MC_TEST_SEED, MC_TEST_TIMEOUT_SCALE\n",
		prog);
}

int th_main(int argc, char **argv)
{
	char **filters = calloc((size_t)argc + 1, sizeof(*filters));
	struct totals tot = { 0 };
	int nfilters = 0, list = 0, total;

	if (!filters)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-l")) {
			list = 1;
		} else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			filters[nfilters++] = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(argv[0], stdout);
			free(filters);
			return 0;
		} else {
			fprintf(stderr, "%s: unknown option '%s'\n", argv[0], argv[i]);
			usage(argv[0], stderr);
			free(filters);
			return 1;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Best-effort: without it, strays are still killed, just reaped by init. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	if (list) {
		for_each_case(filters, nfilters, list_cb, NULL);
		free(filters);
		return 0;
	}
	total = for_each_case(filters, nfilters, NULL, NULL);
	printf("TAP version 13\n1..%d\n", total);
	for_each_case(filters, nfilters, run_cb, &tot);
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n", tot.pass, tot.fail,
	       tot.skip);
	free(filters);
	if (tot.fail)
		return 1;
	if (total > 0 && tot.skip == total)
		return 4;
	return 0;
}
