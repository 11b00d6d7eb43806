/* SPDX-License-Identifier: MIT */
/*
 * util.h: small fs, string and time utilities shared by every component.
 * Fallible functions return < 0 (-code) on failure and fill @err when given.
 */
#ifndef MC_UTIL_H
#define MC_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mc/err.h>

/* ---- files ---- */

/*
 * mc_fs_write_atomic: writes @len bytes to @path durably: a temp file in the same
 * directory, fsync, rename over @path, fsync of the directory. Readers see the old or
 * the new content, never a mix. Returns 0 or -errno.
 */
int mc_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		       struct mc_err *err);

/*
 * mc_fs_read_file: reads a whole file into a new NUL-terminated buffer (*out, owned by
 * the caller, free()), at most @max bytes (-EFBIG beyond). *len may be NULL.
 */
int mc_fs_read_file(const char *path, char **out, size_t *len, size_t max, struct mc_err *err);

/* mc_fs_write_str: open(O_WRONLY|O_TRUNC) + one write, for /proc, /sys and cgroupfs files. */
int mc_fs_write_str(const char *path, const char *s, struct mc_err *err);

/* mc_fs_read_str: reads a small file (< @size) into @buf, trailing newline removed. */
int mc_fs_read_str(const char *path, char *buf, size_t size, struct mc_err *err);

/* mc_fs_mkdir_p: mkdir -p; existing directories are fine. */
int mc_fs_mkdir_p(const char *path, mode_t mode, struct mc_err *err);

/*
 * mc_fs_rm_rf: removes @path recursively without following symlinks or crossing into
 * other mounts (a mount point below is an error: -EBUSY). Missing path: 0.
 */
int mc_fs_rm_rf(const char *path, struct mc_err *err);

/* mc_write_all / mc_read_all: loop over short transfers and EINTR. -errno on failure.
 * mc_read_all returns the bytes read (< len only at end of file). */
int mc_write_all(int fd, const void *buf, size_t len);
ssize_t mc_read_all(int fd, void *buf, size_t len);

/* ---- strings ---- */

static inline bool mc_str_has_prefix(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return false;
	return true;
}
bool mc_str_has_suffix(const char *s, const char *suffix);

/* mc_strlcpy: copies with truncation; returns strlen(src) (>= size means truncated). */
size_t mc_strlcpy(char *dst, const char *src, size_t size);

/* mc_str_to_u64 / mc_str_to_i64: whole-string decimal parse; -EINVAL, -ERANGE. */
int mc_str_to_u64(const char *s, uint64_t *out);
int mc_str_to_i64(const char *s, int64_t *out);

/*
 * mc_parse_size: "512", "50M", "1.5g", "64KiB", "2GB" -> bytes (binary multiples,
 * like docker's --memory). -EINVAL for anything else, -ERANGE on overflow.
 */
int mc_parse_size(const char *s, uint64_t *out);

/* mc_parse_duration: "250ms", "10s", "2m", "1h", "1.5s", bare number = seconds -> ns. */
int mc_parse_duration(const char *s, uint64_t *out_ns);

/* A growable byte buffer, always NUL-terminated. */
struct mc_buf {
	char *data;
	size_t len;
	size_t cap;
};
#define MC_BUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}
void mc_buf_init(struct mc_buf *b);
void mc_buf_release(struct mc_buf *b);
int mc_buf_reserve(struct mc_buf *b, size_t extra);
int mc_buf_append(struct mc_buf *b, const void *data, size_t len);
int mc_buf_puts(struct mc_buf *b, const char *s);
int mc_buf_printf(struct mc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* mc_buf_detach: hands the buffer's memory to the caller (never NULL on success). */
char *mc_buf_detach(struct mc_buf *b);

/* ---- time ---- */

uint64_t mc_time_mono_ns(void);	    /* CLOCK_MONOTONIC */
uint64_t mc_time_real_ns(void);	    /* CLOCK_REALTIME */
void mc_time_sleep_ns(uint64_t ns); /* restarts after signals */
/* mc_time_format_rfc3339: "2026-11-21T15:35:50.123456789Z" into @buf (>= 40 bytes). */
void mc_time_format_rfc3339(uint64_t real_ns, char *buf, size_t size);

#endif
