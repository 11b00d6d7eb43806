/* SPDX-License-Identifier: MIT */
/* opts.c: parsing and validation of the options shared by httpd, backend, tcpserver. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mc/util.h>

#include "opts.h"

void httpd_opts_defaults(struct httpd_opts *o, const char *prog, unsigned port)
{
	*o = (struct httpd_opts){
		.prog = prog,
		.port = (uint16_t)port,
		.threads = 1,
		.idle_ns = 30ull * 1000000000ull,
		.drain_ns = 10ull * 1000000000ull,
		.max_head = 16384,
		.max_conns = 10000,
		.backend = MC_IO_BACKEND_AUTO,
	};
}

static int bad(const struct httpd_opts *o, const char *what, const char *arg, const char *why)
{
	fprintf(stderr, "%s: %s `%s`: %s\n", o->prog, what, arg, why);
	return -1;
}

int httpd_opts_common(struct httpd_opts *o, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case 'H':
		o->host = arg;
		return 1;
	case 'p':
		if (mc_str_to_u64(arg, &v) < 0 || v > 65535)
			return bad(o, "--port", arg, "expected a number 0-65535");
		o->port = (uint16_t)v;
		return 1;
	case 't':
		if (mc_str_to_u64(arg, &v) < 0 || v < 1 || v > 64)
			return bad(o, "--threads", arg, "expected a number 1-64");
		o->threads = (unsigned)v;
		return 1;
	case 'B':
		if (mc_io_backend_parse(arg, &o->backend) < 0)
			return bad(o, "--backend", arg, "expected auto, uring or epoll");
		return 1;
	case 'I':
		if (mc_parse_duration(arg, &o->idle_ns) < 0 || o->idle_ns == 0)
			return bad(o, "--idle-timeout", arg,
				   "expected a duration like 30s or 500ms");
		return 1;
	case 'D':
		if (mc_parse_duration(arg, &o->drain_ns) < 0)
			return bad(o, "--drain-timeout", arg, "expected a duration like 10s");
		return 1;
	case 'M':
		if (mc_parse_size(arg, &v) < 0 || v < 256 || v > (1u << 20))
			return bad(o, "--max-header", arg, "expected a size from 256 to 1M");
		o->max_head = (size_t)v;
		return 1;
	case 'C':
		if (mc_str_to_u64(arg, &v) < 0 || v < 1 || v > 1000000)
			return bad(o, "--max-conns", arg, "expected a number 1-1000000");
		o->max_conns = (unsigned)v;
		return 1;
	case 'L':
		o->access_log = arg;
		return 1;
	case 'F':
		o->deferred = true;
		return 1;
	default:
		return 0;
	}
}
