/* SPDX-License-Identifier: MIT */
/* err.c: the fixed-size error object (see mc/err.h and docs/errors.md). */
#include <mc/err.h>

#include <stdio.h>
#include <string.h>

static const char *const mc_codes[] = {
	[MC_ECORRUPT - MC_EBASE] = "data corrupted",
	[MC_EPARSE - MC_EBASE] = "malformed input",
	[MC_EPROTO - MC_EBASE] = "protocol error",
	[MC_EINTERNAL - MC_EBASE] = "internal error",
};

const char *mc_strerror(int code)
{
	if (code < 0)
		code = -code;
	if (code > MC_EBASE && code < MC_ELAST)
		return mc_codes[code - MC_EBASE];
	/* strerror() may use a static buffer only for unknown codes; strerrordesc_np never. */
	const char *s = strerrordesc_np(code);

	return s ? s : "unknown error";
}

static int vset(struct mc_err *err, int code, int with_cause, const char *fmt, va_list ap)
{
	int n;

	if (code <= 0)
		code = MC_EINTERNAL;
	if (!err)
		return -code;
	err->code = code;
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (with_cause && n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", mc_strerror(code));
	return -code;
}

int mc_err_set(struct mc_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vset(err, code, 1, fmt, ap);
	va_end(ap);
	return r;
}

int mc_err_setx(struct mc_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vset(err, code, 0, fmt, ap);
	va_end(ap);
	return r;
}

int mc_err_wrap(struct mc_err *err, const char *fmt, ...)
{
	char ctx[MC_ERR_MSG_MAX];
	char old[MC_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return -MC_EINTERNAL;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	if (err->code == 0) {
		err->code = MC_EINTERNAL;
		snprintf(err->msg, sizeof(err->msg), "%s", ctx);
		return -err->code;
	}
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", ctx, old);
	return -err->code;
}

void mc_err_clear(struct mc_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
