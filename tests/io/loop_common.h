/* SPDX-License-Identifier: MIT */
/*
 * loop_common.h: what the event loop tests (loop.c, loop_output.c) share: the loop
 * fixture (every test on each backend), an echo server, a blocking client connect.
 */
#ifndef IO_TEST_LOOP_COMMON_H
#define IO_TEST_LOOP_COMMON_H

#include "harness.h"

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include <mc/io.h>

FIXTURE(loop)
{
	struct mc_io_loop *loop;
	int lfd;
	int port;
};

FIXTURE_VARIANT(loop)
{
	enum mc_io_backend backend;
	const char *name;
	unsigned spin_us;
};

FIXTURE_VARIANT_ADD(loop, uring){ .backend = MC_IO_BACKEND_URING, .name = "uring" };
FIXTURE_VARIANT_ADD(loop, epoll){ .backend = MC_IO_BACKEND_EPOLL, .name = "epoll" };
/* io_uring with busy polling (opts.spin_us): every loop test also runs spinning. */
FIXTURE_VARIANT_ADD(loop,
		    uring_spin){ .backend = MC_IO_BACKEND_URING, .name = "uring", .spin_us = 50 };

FIXTURE_SETUP(loop)
{
	struct mc_io_loop_opts o = { .backend = variant->backend, .spin_us = variant->spin_us };

	self->loop = NULL;
	self->lfd = -1;
	if (variant->backend == MC_IO_BACKEND_URING)
		require_io_uring();
	ASSERT_OK(mc_io_loop_new(&o, &self->loop));
	ASSERT_STREQ(variant->name, mc_io_loop_backend(self->loop));
	self->lfd = mc_io_listen_tcp("127.0.0.1", 0, 0, 4096);
	ASSERT_OK(self->lfd);
	self->port = mc_io_socket_port(self->lfd);
	ASSERT_GT(self->port, 0);
}

FIXTURE_TEARDOWN(loop)
{
	mc_io_loop_free(self->loop);
	if (self->lfd >= 0)
		close(self->lfd);
}

/* loop_common.c: an echo server counting its closes (atomically). */
extern int closes, close_errors;
extern const struct mc_io_conn_ops echo_ops;
void echo_accept(struct mc_io_listener *l, int fd, void *arg);

/* A blocking client socket to 127.0.0.1:@port (10 s receive timeout), or -1. */
int connect_port(int port);

/* A blocking client on another thread. */
struct client {
	struct mc_io_loop *loop;
	int port;
	int ok;
	uint64_t elapsed_ns;
	bool stop_loop;
};

/* A task that stops the loop it runs on. */
void stop_task(struct mc_io_loop *l, void *arg);

#endif
