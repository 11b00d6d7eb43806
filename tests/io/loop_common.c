/* SPDX-License-Identifier: MIT */
/* loop_common.c: the echo server and client helpers of the event loop tests. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "loop_common.h"

/* ---- an echo server ---- */

int closes, close_errors;

static void echo_read(struct mc_io_conn *c, void *ud)
{
	size_t n;
	const char *p = mc_io_conn_rdata(c, &n);

	if (mc_io_conn_write(c, p, n) == 0)
		mc_io_conn_consume(c, n);
}

static void echo_close(struct mc_io_conn *c, void *ud, int status)
{
	/* Atomic: threaded tests run this on several loops at once. */
	__atomic_fetch_add(&closes, 1, __ATOMIC_RELAXED);
	if (status < 0)
		__atomic_fetch_add(&close_errors, 1, __ATOMIC_RELAXED);
}

const struct mc_io_conn_ops echo_ops = { .on_read = echo_read, .on_close = echo_close };

void echo_accept(struct mc_io_listener *l, int fd, void *arg)
{
	mc_io_conn_open(mc_io_listener_loop(l), fd, &echo_ops, NULL, NULL);
}

int connect_port(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

void stop_task(struct mc_io_loop *l, void *arg)
{
	mc_io_loop_stop(l);
}
