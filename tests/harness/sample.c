/* SPDX-License-Identifier: MIT */
/*
 * sample: a test program that misbehaves on purpose (failed asserts, crashes, a hang,
 * a skip, a stray process) so that selftest.sh can check how the harness reports
 * each. Markers written to $MARK_DIR show what ran. Not run by the runner itself.
 */
#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void mark(const char *fmt, ...)
{
	const char *dir = getenv("MARK_DIR");
	char name[256], path[512];
	va_list ap;
	int fd;

	if (!dir)
		return;
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

TEST(passes)
{
	ASSERT_EQ(4, 2 + 2);
	ASSERT_STREQ("a", "a");
	ASSERT_NULL(NULL);
	mark("passes");
}

TEST(assert_stops)
{
	ASSERT_EQ(1, 2);
	mark("after_assert");
}

TEST(expect_continues)
{
	EXPECT_EQ(1, 2);
	EXPECT_STREQ("left", "right");
	mark("after_expect");
}

TEST(segfaults)
{
	/* raise() rather than a NULL store, which UBSan would report before the signal. */
	raise(SIGSEGV);
}

TEST(aborts)
{
	abort();
}

TEST_TIMEOUT(hangs, 1)
{
	for (;;)
		pause();
}

TEST(skips)
{
	SKIP("no frobnicator here");
	mark("after_skip");
}

TEST(leaves_a_process)
{
	char path[512];
	pid_t pid = fork();
	FILE *f;

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	snprintf(path, sizeof(path), "%s/stray.pid",
		 getenv("MARK_DIR") ? getenv("MARK_DIR") : "/tmp");
	f = fopen(path, "w");
	ASSERT_NONNULL(f);
	fprintf(f, "%d\n", pid);
	fclose(f);
}

TEST(seeded)
{
	TH_LOG("value=%llu", (unsigned long long)th_seed());
}

TEST(mixed_types_compare)
{
	size_t n = 3;
	long neg = -1;
	unsigned char c = 200;

	ASSERT_EQ(n, 3);
	ASSERT_LT(neg, n);
	ASSERT_EQ(c, 200);
	ASSERT_OK(0);
}

FIXTURE(fx)
{
	int x;
	char tag[32];
};

FIXTURE_VARIANT(fx)
{
	int v;
};

FIXTURE_VARIANT_ADD(fx, one){
	.v = 1,
};

FIXTURE_VARIANT_ADD(fx, two){
	.v = 2,
};

FIXTURE_SETUP(fx)
{
	self->x = variant->v;
	strcpy(self->tag, "none");
}

FIXTURE_TEARDOWN(fx)
{
	mark("teardown-%s-%d", self->tag, self->x);
}

TEST_F(fx, assert_then_teardown)
{
	strcpy(self->tag, "assert");
	ASSERT_EQ(1, self->x);
}

TEST_F(fx, crash_then_teardown)
{
	strcpy(self->tag, "crash");
	if (self->x == 2)
		raise(SIGKILL);
}

TEST_HARNESS_MAIN
