/* SPDX-License-Identifier: MIT */
/* opts.h (httpd-internal): the command-line options the three servers share. */
#ifndef MC_HTTPD_OPTS_H
#define MC_HTTPD_OPTS_H

#include <getopt.h>

#include "server.h"

/* Long options of the shared flags; programs append their own after these. */
#define HTTPD_COMMON_LONGOPTS                                                                      \
	{ "host", required_argument, NULL, 'H' }, { "port", required_argument, NULL, 'p' },        \
		{ "threads", required_argument, NULL, 't' },                                       \
		{ "backend", required_argument, NULL, 'B' },                                       \
		{ "idle-timeout", required_argument, NULL, 'I' },                                  \
		{ "drain-timeout", required_argument, NULL, 'D' },                                 \
		{ "max-header", required_argument, NULL, 'M' },                                    \
		{ "max-conns", required_argument, NULL, 'C' },                                     \
		{ "access-log", required_argument, NULL, 'L' },                                    \
		{ "deferred-accept", no_argument, NULL, 'F' },                                     \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

/* httpd_opts_defaults: port, 1 thread, 30 s idle, 10 s drain, 16 KiB head, 10000 conns. */
void httpd_opts_defaults(struct httpd_opts *o, const char *prog, unsigned port);

/* httpd_opts_common: handles one shared option. 1: handled; 0: not a shared option;
 * -1: bad value (message printed as "prog: what: why"). */
int httpd_opts_common(struct httpd_opts *o, int opt, const char *arg);

#endif
