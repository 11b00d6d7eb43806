/* SPDX-License-Identifier: MIT */
/*
 * tcpserver_main.c: `tcpserver`, the seed project: a TCP server on port 8000 that
 * telnet can talk to. Echo mode: every byte received is sent back. SIGTERM/SIGINT
 * stop it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mc/io.h>
#include <mc/log.h>

#include "opts.h"

static int lfds[64];

static void echo_read(struct mc_io_conn *c, void *ud)
{
	size_t n;
	const char *p = mc_io_conn_rdata(c, &n);

	if (mc_io_conn_write(c, p, n) < 0) {
		mc_io_conn_close(c);
		return;
	}
	mc_io_conn_consume(c, n);
	/* Backpressure: a peer that sends but never reads gets paused, not buffered. */
	if (mc_io_conn_wpending(c) > (4u << 20))
		mc_io_conn_pause_read(c);
}

static void echo_drain(struct mc_io_conn *c, void *ud)
{
	mc_io_conn_resume_read(c);
}

static void echo_close(struct mc_io_conn *c, void *ud, int status)
{
	if (status < 0)
		mc_log_debug("connection closed: %s", strerror(-status));
}

static const struct mc_io_conn_ops ops = { .on_read = echo_read,
					   .on_drain = echo_drain,
					   .on_close = echo_close };

static void on_accept(struct mc_io_listener *l, int fd, void *arg)
{
	mc_io_conn_open(mc_io_listener_loop(l), fd, &ops, NULL, NULL);
}

static int init(struct mc_io_loop *l, unsigned idx, void *arg)
{
	return mc_io_listener_add(l, lfds[idx], on_accept, NULL, NULL);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { HTTPD_COMMON_LONGOPTS, { 0 } };
	struct httpd_opts o;
	struct mc_io_threads *th;
	sigset_t set;
	int opt, sig, port;

	mc_log_set_prog("tcpserver");
	httpd_opts_defaults(&o, "tcpserver", 8000);
	while ((opt = getopt_long(argc, argv, "hp:t:", longopts, NULL)) != -1) {
		int r = httpd_opts_common(&o, opt, optarg);
		if (r < 0)
			return 64;
		if (r == 0) {
			fprintf(opt == 'h' ? stdout : stderr,
				"usage: tcpserver [--host ADDR] [--port N (8000)] [--threads N] "
				"[--backend auto|uring|epoll]\n");
			return opt == 'h' ? 0 : 64;
		}
	}
	port = o.port;
	for (unsigned i = 0; i < o.threads; i++) {
		int fd = mc_io_listen_tcp(o.host, (uint16_t)port,
					  o.threads > 1 ? MC_IO_LISTEN_REUSEPORT : 0, 1024);
		if (fd < 0) {
			fprintf(stderr, "tcpserver: listen on port %d: %s\n", port, strerror(-fd));
			return 1;
		}
		lfds[i] = fd;
		port = mc_io_socket_port(fd);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct mc_io_loop_opts lo = { .backend = o.backend };
	int r = mc_io_threads_start(o.threads, &lo, init, NULL, &th);
	if (r < 0) {
		fprintf(stderr, "tcpserver: start event loops: %s\n", strerror(-r));
		return 1;
	}
	mc_log_info("listening on %s:%d backend=%s threads=%u", o.host ? o.host : "0.0.0.0", port,
		    mc_io_loop_backend(mc_io_threads_loop(th, 0)), o.threads);
	sigwait(&set, &sig);
	mc_io_threads_stop(th);
	r = mc_io_threads_join(th);
	for (unsigned i = 0; i < o.threads; i++)
		close(lfds[i]);
	return r < 0 ? 1 : 0;
}
