/* SPDX-License-Identifier: MIT */
/*
 * kv-server: libmckv over the Redis protocol, on io/'s event loops.
 *
 *   loop thread(s)                        writer thread            sync thread
 *   parse RESP, run reads inline --push--> mc_queue --pop--> run the
 *   (GET, MGET, EXISTS, SCAN...)                    writes of every queued
 *   a write (and whatever follows it                request, write(2) them
 *   on that connection) becomes a                   as one WAL record --> pending
 *   request; the conn waits for it                                        fdatasync
 *                                <--mc_io_loop_post---------------------- post replies
 *
 * Replies leave in request order: while a connection's request is with the writer,
 * its further input stays buffered. A write is acknowledged only after the
 * fdatasync that covers it (--sync batch, the default), so an acknowledged write
 * survives power loss; many connections' writes share one fdatasync. The commit is
 * pipelined: while the sync thread waits for one fdatasync, the writer already
 * writes the next batch into the page cache; when the sync returns, the sync thread
 * at once starts the next one for everything written meanwhile. Nothing lingers.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <mc/log.h>

#include "server.h"

#define EX_USAGE 64

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [--port N] [--bind ADDR] [--dir PATH] [--sync none|batch|always]\n"
		"                 [--threads N] [--memtable-entries N] [--memtable-size SIZE]\n"
		"                 [--backend auto|uring|epoll] [--fdatasync inline|uring]\n"
		"                 [--busy-poll USEC]\n"
		"  --port N            TCP port (default 6379; 0 picks a free one, printed)\n"
		"  --bind ADDR         address to listen on (default 127.0.0.1)\n"
		"  --dir PATH          database directory (default ./kv-data)\n"
		"  --sync POLICY       batch: replies after a shared fdatasync (default);\n"
		"                      always: one fdatasync per write; everysec: reply after\n"
		"                      write(2), fdatasync once a second; none: no fdatasync\n"
		"  --threads N         event loop threads (default 1)\n"
		"  --fdatasync MODE    batch with one loop: inline (the loop calls fdatasync,\n"
		"                      default) or uring (IORING_OP_FSYNC, overlapping the loop)\n"
		"  --busy-poll USEC    io_uring: after a busy iteration a loop polls for up to\n"
		"                      USEC before it sleeps (default 50, 0 = off, max 10000)\n"
		"  --memtable-entries N / --memtable-size SIZE   flush thresholds (0: none)\n");
}

static int parse_uint(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
	if (mc_str_to_u64(s, out) < 0 || *out > max) {
		fprintf(stderr, PROG ": %s: invalid value `%s`\n", opt, s);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "dir", required_argument, NULL, 'd' },
		{ "sync", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "memtable-entries", required_argument, NULL, 'e' },
		{ "memtable-size", required_argument, NULL, 'm' },
		{ "backend", required_argument, NULL, 'B' },
		{ "fdatasync", required_argument, NULL, 'F' },
		{ "busy-poll", required_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	/* Busy-poll 50 us before sleeping (--busy-poll; docs/kv.md, "Busy polling"). */
	struct srv s = { .efd = -1, .loops_alive = true, .lo.spin_us = 50 };
	struct mc_kv_options opt;
	const char *bind = "127.0.0.1", *dir = "kv-data";
	uint64_t port = 6379, threads = 1, v;
	struct mc_err err = { 0 };
	int c, rc = 1;

	mc_log_set_prog(PROG);
	mc_kv_options_init(&opt);
	opt.memtable_max_entries = 0; /* the server flushes by size: 4 MiB memtables */
	while ((c = getopt_long(argc, argv, "p:b:d:s:t:e:m:B:F:y:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_uint("--port", optarg, 65535, &port) < 0)
				return EX_USAGE;
			break;
		case 'b':
			bind = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 's':
			if (strcmp(optarg, "none") == 0)
				opt.sync = MC_KV_SYNC_NONE;
			else if (strcmp(optarg, "batch") == 0)
				opt.sync = MC_KV_SYNC_BATCH;
			else if (strcmp(optarg, "always") == 0) {
				opt.sync = MC_KV_SYNC_ALWAYS;
			} else if (strcmp(optarg, "everysec") == 0) {
				opt.sync = MC_KV_SYNC_NONE;
				s.everysec = true;
			} else {
				fprintf(stderr,
					PROG
					": --sync: unknown policy `%s` (batch, always, everysec, none)\n",
					optarg);
				return EX_USAGE;
			}
			break;
		case 't':
			if (parse_uint("--threads", optarg, 64, &threads) < 0 || threads == 0) {
				if (threads == 0)
					fprintf(stderr, PROG ": --threads: must be at least 1\n");
				return EX_USAGE;
			}
			break;
		case 'e':
			if (parse_uint("--memtable-entries", optarg, UINT32_MAX, &v) < 0)
				return EX_USAGE;
			opt.memtable_max_entries = (uint32_t)v;
			break;
		case 'm':
			if (mc_parse_size(optarg, &v) < 0) {
				fprintf(stderr, PROG ": --memtable-size: invalid size `%s`\n",
					optarg);
				return EX_USAGE;
			}
			opt.memtable_max_bytes = v;
			break;
		case 'B':
			if (mc_io_backend_parse(optarg, &s.lo.backend) < 0) {
				fprintf(stderr, PROG ": --backend: unknown backend `%s`\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'F':
			if (strcmp(optarg, "inline") == 0)
				s.sync_async = false;
			else if (strcmp(optarg, "uring") == 0)
				s.sync_async = true;
			else {
				fprintf(stderr, PROG ": --fdatasync: unknown mode `%s`\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'y':
			if (parse_uint("--busy-poll", optarg, 10000, &v) < 0)
				return EX_USAGE;
			s.lo.spin_us = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, PROG ": unexpected argument `%s`\n", argv[optind]);
		return EX_USAGE;
	}
	s.sync = opt.sync;
	if (mc_kv_open(dir, &opt, &s.kv, &err) < 0) {
		fprintf(stderr, PROG ": open database: %s\n", err.msg);
		return 1;
	}
	pthread_mutex_init(&s.post_mu, NULL);
	pthread_mutex_init(&s.sync_mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s.sync_cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	pthread_mutex_init(&s.clients_mu, NULL);
	s.lfds = calloc(threads, sizeof(int));
	s.ctxs = calloc(threads, sizeof(*s.ctxs));
	if (!s.lfds || !s.ctxs || mc_queue_new(&s.q) < 0 || (s.efd = eventfd(0, EFD_CLOEXEC)) < 0) {
		fprintf(stderr, PROG ": setup: %s\n", strerror(ENOMEM));
		goto out_kv;
	}
	/* One listening socket per loop; several share the port through SO_REUSEPORT. */
	for (unsigned i = 0; i < threads; i++) {
		int fd = mc_io_listen_tcp(bind, (uint16_t)port,
					  threads > 1 ? MC_IO_LISTEN_REUSEPORT : 0, 511);

		if (fd < 0) {
			fprintf(stderr, PROG ": listen on %s:%llu: %s\n", bind,
				(unsigned long long)port, strerror(-fd));
			goto out_fds;
		}
		s.lfds[s.nlfds++] = fd;
		port = (uint64_t)mc_io_socket_port(fd);
	}
	if (threads == 1 && s.sync != MC_KV_SYNC_ALWAYS) {
		s.ic = calloc(1, sizeof(*s.ic));
		if (!s.ic) {
			fprintf(stderr, PROG ": setup: %s\n", strerror(ENOMEM));
			goto out_fds;
		}
		s.ic->s = &s;
		mc_kv_cmd_ctx_init(&s.ic->ctx, s.kv,
				   s.sync == MC_KV_SYNC_BATCH ? MC_KV_WRITE_NOSYNC : 0, true);
		mc_io_timer_init(&s.ic->flush_timer, kv_srv_ic_flush, s.ic);
	}
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&s.syncer, NULL, kv_srv_syncer_main, &s) != 0) {
		fprintf(stderr, PROG ": start sync thread: %s\n", strerror(errno));
		goto out_fds;
	}
	s.syncer_started = true;
	if (pthread_create(&s.writer, NULL, kv_srv_writer_main, &s) != 0) {
		fprintf(stderr, PROG ": start writer thread: %s\n", strerror(errno));
		goto out_syncer;
	}
	struct mc_io_threads *th;
	int r = mc_io_threads_start((unsigned)threads, &s.lo, kv_srv_loop_init, &s, &th);

	if (r < 0) {
		fprintf(stderr, PROG ": start event loops: %s\n", strerror(-r));
		goto out_writer;
	}
	printf(PROG ": listening on %s:%llu (backend %s, %llu thread(s), sync %s, dir %s)\n", bind,
	       (unsigned long long)port, mc_io_loop_backend(mc_io_threads_loop(th, 0)),
	       (unsigned long long)threads,
	       s.everysec		     ? "everysec"
	       : s.sync == MC_KV_SYNC_BATCH  ? "batch"
	       : s.sync == MC_KV_SYNC_ALWAYS ? "always"
					     : "none",
	       dir);
	fflush(stdout);
	sigwait(&set, &sig);
	mc_io_threads_stop(th);
	pthread_mutex_lock(&s.post_mu);
	s.loops_alive = false;
	pthread_mutex_unlock(&s.post_mu);
	r = mc_io_threads_join(th);
	rc = r < 0 ? 1 : 0;

out_writer:
	atomic_store(&s.stopping, true);
	{
		uint64_t one = 1;

		if (write(s.efd, &one, sizeof(one)) < 0)
			mc_log_warn("wake writer: %m");
	}
	pthread_join(s.writer, NULL);
out_syncer:
	/* After the writer: it may still hand over a batch. */
	pthread_mutex_lock(&s.sync_mu);
	s.sync_stop = true;
	pthread_cond_signal(&s.sync_cv);
	pthread_mutex_unlock(&s.sync_mu);
	pthread_join(s.syncer, NULL);
	/* Requests never answered (the loops are gone) are freed with their clients. */
	while (s.clients)
		kv_srv_client_free(s.clients);
	while (mc_queue_pop(s.q))
		;
out_fds:
	for (unsigned i = 0; i < s.nlfds; i++)
		close(s.lfds[i]);
out_kv:
	if (s.efd >= 0)
		close(s.efd);
	mc_queue_free(s.q);
	free(s.lfds);
	for (unsigned i = 0; s.ctxs && i < threads; i++) {
		if (s.ctxs[i])
			mc_kv_cmd_ctx_release(s.ctxs[i]);
		free(s.ctxs[i]);
	}
	free(s.ctxs);
	if (s.ic) {
		/* An fdatasync cancelled with its loop: its descriptor is still open. */
		for (unsigned i = 0; i < IC_SYNCS; i++)
			if (s.ic->sync[i].busy)
				close(s.ic->sync[i].ticket.fd);
		mc_kv_cmd_ctx_release(&s.ic->ctx);
		free(s.ic);
	}
	mc_kv_close(s.kv);
	return rc;
}
