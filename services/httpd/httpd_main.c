/* SPDX-License-Identifier: MIT */
/* httpd_main.c: `httpd`, a static file server. Flags -> static handler -> httpd_serve. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mc/log.h>

#include "opts.h"
#include "static.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: httpd [--root DIR] [--index NAME] [--host ADDR] [--port N]\n"
		   "             [--threads N] [--backend auto|uring|epoll] [--idle-timeout DUR]\n"
		   "             [--drain-timeout DUR] [--max-header SIZE] [--max-conns N]\n"
		   "             [--access-log PATH|-] [--deferred-accept]\n"
		   "Serves DIR (default .) on port 8080. SIGTERM drains and exits.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		HTTPD_COMMON_LONGOPTS,
		{ "root", required_argument, NULL, 'r' },
		{ "index", required_argument, NULL, 'i' },
		{ 0 },
	};
	struct httpd_opts o;
	struct static_conf conf = { .index = "index.html" };
	const char *root = ".";
	int opt;

	mc_log_set_prog("httpd");
	httpd_opts_defaults(&o, "httpd", 8080);
	while ((opt = getopt_long(argc, argv, "hp:r:t:", longopts, NULL)) != -1) {
		int r = httpd_opts_common(&o, opt, optarg);
		if (r < 0)
			return 64;
		if (r > 0)
			continue;
		switch (opt) {
		case 'r':
			root = optarg;
			break;
		case 'i':
			if (strchr(optarg, '/') || !*optarg) {
				fprintf(stderr, "httpd: --index `%s`: must be a plain file name\n",
					optarg);
				return 64;
			}
			conf.index = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "httpd: unexpected argument `%s`\n", argv[optind]);
		return 64;
	}
	conf.root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (conf.root_fd < 0) {
		fprintf(stderr, "httpd: open root `%s`: %s\n", root, strerror(errno));
		return 66;
	}
	struct httpd_handler h = { .handle = static_handle,
				   .loop_init = static_loop_init,
				   .loop_free = static_loop_free,
				   .arg = &conf };
	int r = httpd_serve(&o, &h);
	close(conf.root_fd);
	return r < 0 ? 1 : 0;
}
