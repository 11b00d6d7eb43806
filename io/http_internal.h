/* SPDX-License-Identifier: MIT */
/* http_internal.h (io-internal): helpers shared by the HTTP codec's files. */
#ifndef MC_IO_HTTP_INTERNAL_H
#define MC_IO_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

bool http_is_tchar(unsigned char c);
/* http_ieq: @a (length @alen) equals NUL-terminated @b, ASCII case-insensitively. */
bool http_ieq(const char *a, size_t alen, const char *b);

#endif
