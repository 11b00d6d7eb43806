/* SPDX-License-Identifier: MIT */
/* static.h (httpd-internal): the static-file handler and its helpers. */
#ifndef MC_HTTPD_STATIC_H
#define MC_HTTPD_STATIC_H

#include <stddef.h>

#include <mc/util.h>

#include "server.h"

struct static_conf {
	int root_fd;	   /* O_PATH/O_DIRECTORY fd of the document root */
	const char *index; /* "index.html" */
};

void static_handle(struct hconn *hc, const struct mc_http_request *req, void *arg);
void *static_loop_init(void *arg);
void static_loop_free(void *state);
/* static_mime: the Content-Type for a path's extension. */
const char *static_mime(const char *path);
/* static_decode_path: percent-decodes the path of @t (query dropped) into @out.
 * -EINVAL (malformed, NUL), -EPERM (a ".." segment), -ENAMETOOLONG. */
int static_decode_path(const char *t, size_t n, char *out, size_t cap);

#endif
