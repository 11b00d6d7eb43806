/* SPDX-License-Identifier: MIT */
/*
 * err.h: the control-plane error object. A fixed-size message buffer and a code,
 * no allocation, so it works in a cloned child, after fork and out of memory.
 * See docs/errors.md for the convention.
 */
#ifndef MC_ERR_H
#define MC_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define MC_ERR_MSG_MAX 512

/* Codes above the errno range, for failures errno has no name for. */
enum {
	MC_EBASE = 4096,
	MC_ECORRUPT,  /* on-disk data failed a checksum or format check */
	MC_EPARSE,    /* malformed input (config, flags, wire bytes) */
	MC_EPROTO,    /* a peer broke the protocol */
	MC_EINTERNAL, /* a bug: an invariant did not hold */
	MC_ELAST,
};

struct mc_err {
	int code;		  /* positive errno or MC_E*; 0 when no error is set */
	char msg[MC_ERR_MSG_MAX]; /* "context: context: cause: strerror" */
};

/*
 * mc_err_set: records "FMT: strerror(code)" and returns -code, so that raising an
 * error is one line: `return mc_err_set(err, errno, "open `%s`", path);`.
 * @err may be NULL (the code is still returned). @code must be > 0.
 */
int mc_err_set(struct mc_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* mc_err_setx: like mc_err_set, without the strerror suffix. */
int mc_err_setx(struct mc_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * mc_err_wrap: prefixes context to the message already in @err ("CTX: old") and
 * returns -err->code. Used at component boundaries on the way up. If no error was
 * set, records CTX with MC_EINTERNAL.
 */
int mc_err_wrap(struct mc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void mc_err_clear(struct mc_err *err);

/* mc_strerror: strerror for errno values and the MC_E* codes. Thread-safe. */
const char *mc_strerror(int code);

#endif
