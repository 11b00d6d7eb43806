/* SPDX-License-Identifier: MIT */
/*
 * cleanup.h: scope-bound cleanup for local resources, and explicit ownership
 * hand-off. Initialise at declaration; hand ownership out with mc_steal_fd/ptr.
 *
 *   mc_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
 *   mc_autofree char *buf = malloc(n);
 *   ...
 *   return mc_steal_fd(&fd);   // caller owns it now; nothing is closed here
 *
 * Library handles get their own: MC_DEFINE_AUTO(struct mc_foo, mc_foo_free) then
 * `mc_auto(mc_foo_free) struct mc_foo *f = mc_foo_new();`.
 */
#ifndef MC_CLEANUP_H
#define MC_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void mc_freep(void *p)
{
	free(*(void **)p);
}

/* Closes *fd if >= 0, keeping errno (cleanup must not clobber the error being returned). */
static inline void mc_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}

static inline void mc_fclosep(FILE **f)
{
	if (*f) {
		int saved = errno;

		fclose(*f);
		errno = saved;
	}
}

static inline void mc_closedirp(DIR **d)
{
	if (*d) {
		int saved = errno;

		closedir(*d);
		errno = saved;
	}
}

#define mc_autofree __attribute__((cleanup(mc_freep)))
#define mc_autoclose __attribute__((cleanup(mc_closep)))
#define mc_autofclose __attribute__((cleanup(mc_fclosep)))
#define mc_autoclosedir __attribute__((cleanup(mc_closedirp)))

/* MC_DEFINE_AUTO(type, fn): defines fn##_autop for `mc_auto(fn) type *x = ...;`. */
#define MC_DEFINE_AUTO(type, fn)                                                                   \
	static inline void fn##_autop(type **p)                                                    \
	{                                                                                          \
		if (*p)                                                                            \
			fn(*p);                                                                    \
	}
#define mc_auto(fn) __attribute__((cleanup(fn##_autop)))

/* Ownership hand-off: returns the value and leaves -1 / NULL behind. */
static inline int mc_steal_fd(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}

static inline void *mc_steal_ptr(void *pp)
{
	void **p = pp;
	void *r = *p;

	*p = NULL;
	return r;
}

#define MC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define MC_LIKELY(x) __builtin_expect(!!(x), 1)
#define MC_UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif
