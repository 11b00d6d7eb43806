/* SPDX-License-Identifier: MIT */
/* backend_main.c: `backend --port N --name NAME`, the load balancer's demo backend:
 * every request is answered "Response from NAME". */
#include <stdio.h>
#include <string.h>

#include <mc/log.h>

#include "opts.h"

struct backend {
	char body[300];
	size_t len;
};

static void handle(struct hconn *hc, const struct mc_http_request *req, void *arg)
{
	struct backend *b = arg;

	hconn_respond(hc, 200, "text/plain", b->body, b->len, NULL);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		HTTPD_COMMON_LONGOPTS,
		{ "name", required_argument, NULL, 'n' },
		{ 0 },
	};
	struct httpd_opts o;
	struct backend b;
	const char *name = NULL;
	int opt;

	mc_log_set_prog("backend");
	httpd_opts_defaults(&o, "backend", 8081);
	while ((opt = getopt_long(argc, argv, "hp:n:", longopts, NULL)) != -1) {
		int r = httpd_opts_common(&o, opt, optarg);
		if (r < 0)
			return 64;
		if (r > 0)
			continue;
		if (opt == 'n') {
			name = optarg;
		} else {
			fprintf(opt == 'h' ? stdout : stderr,
				"usage: backend --port N --name NAME [--host ADDR] [--threads N]\n");
			return opt == 'h' ? 0 : 64;
		}
	}
	if (!name || !*name || strlen(name) > 256) {
		fprintf(stderr, "backend: --name: required, 1-256 characters\n");
		return 64;
	}
	b.len = (size_t)snprintf(b.body, sizeof(b.body), "Response from %s\n", name);
	struct httpd_handler h = { .handle = handle, .arg = &b };
	return httpd_serve(&o, &h) < 0 ? 1 : 0;
}
