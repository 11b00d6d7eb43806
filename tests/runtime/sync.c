/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the parent/child sync socket (runtime/process.c): one message per
 * packet, a passed descriptor, EOF, and the child that fails before reading what the
 * parent sent: its error line must still reach the parent (the kernel reports
 * ECONNRESET ahead of the packets such a peer queued).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../runtime/internal.h"

FIXTURE(pair)
{
	int sv[2];
};

FIXTURE_SETUP(pair)
{
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, self->sv), 0);
}

FIXTURE_TEARDOWN(pair)
{
	for (int i = 0; i < 2; i++)
		if (self->sv[i] >= 0)
			close(self->sv[i]);
}

static struct rt_sync_msg err_msg(const char *text)
{
	struct rt_sync_msg m = { .type = RT_SYNC_ERR, .code = ENOENT, .status = 125 };

	snprintf(m.msg, sizeof(m.msg), "%s", text);
	return m;
}

TEST_F(pair, message_then_eof)
{
	struct rt_sync_msg m = err_msg("setup rootfs: mount `proc`: No such file"), got;
	int fd;

	ASSERT_OK(rt_sync_send(self->sv[1], &m, -1));
	close(self->sv[1]);
	self->sv[1] = -1;
	ASSERT_EQ(rt_sync_recv(self->sv[0], &got, &fd), 1);
	EXPECT_EQ(got.type, RT_SYNC_ERR);
	EXPECT_EQ(got.code, ENOENT);
	EXPECT_EQ(got.status, 125);
	EXPECT_STREQ(got.msg, m.msg);
	EXPECT_EQ(fd, -1);
	EXPECT_EQ(rt_sync_recv(self->sv[0], &got, &fd), 0);
}

TEST_F(pair, descriptor_is_passed)
{
	struct rt_sync_msg m = { .type = RT_SYNC_PTY }, got;
	int p[2], fd = -1;

	ASSERT_EQ(pipe(p), 0);
	ASSERT_OK(rt_sync_send(self->sv[1], &m, p[1]));
	ASSERT_EQ(rt_sync_recv(self->sv[0], &got, &fd), 1);
	EXPECT_EQ(got.type, RT_SYNC_PTY);
	ASSERT_GE(fd, 0);
	/* The received descriptor is the pipe's write end: it carries bytes to p[0]. */
	EXPECT_EQ(write(fd, "x", 1), 1);
	char c = 0;
	EXPECT_EQ(read(p[0], &c, 1), 1);
	EXPECT_EQ(c, 'x');
	EXPECT_NE(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	close(fd);
	close(p[0]);
	close(p[1]);
}

/* The flake this guards: the parent sends JOINED, the child has already failed, writes
 * its error and exits without reading JOINED. */
TEST_F(pair, error_of_a_peer_that_left_our_packet_unread)
{
	struct rt_sync_msg joined = { .type = RT_SYNC_JOINED }, got;
	struct rt_sync_msg m = err_msg("setup rootfs: pivot_root: Invalid argument");
	int fd;

	ASSERT_OK(rt_sync_send(self->sv[0], &joined, -1));
	ASSERT_OK(rt_sync_send(self->sv[1], &m, -1));
	close(self->sv[1]);
	self->sv[1] = -1;
	ASSERT_EQ(rt_sync_recv(self->sv[0], &got, &fd), 1);
	EXPECT_EQ(got.type, RT_SYNC_ERR);
	EXPECT_STREQ(got.msg, m.msg);
	EXPECT_EQ(rt_sync_recv(self->sv[0], &got, &fd), 0);
}

/* Same, with nothing queued by the peer: EOF, not an error and not a hang. */
TEST_F(pair, peer_that_left_silently_is_eof)
{
	struct rt_sync_msg joined = { .type = RT_SYNC_JOINED }, got;
	int fd;

	ASSERT_OK(rt_sync_send(self->sv[0], &joined, -1));
	close(self->sv[1]);
	self->sv[1] = -1;
	EXPECT_EQ(rt_sync_recv(self->sv[0], &got, &fd), 0);
}

TEST_HARNESS_MAIN
