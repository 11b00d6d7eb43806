/* SPDX-License-Identifier: MIT */
/*
 * The MCMALLOC_* environment options: finding them in an environment block and
 * parsing their values (booleans, sizes with k/m/g suffixes) into struct mcm_options.
 * Pure (no allocation, no output, no globals): it runs inside malloc before libc is
 * set up, and the alloc_options fuzzer drives it directly.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>

static const char *env_get(const char *const *envp, const char *name)
{
	size_t n = strlen(name);

	if (!envp)
		return NULL;
	for (const char *const *e = envp; *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static int fail(struct mcm_opt_error *e, const char *name, const char *val, const char *why)
{
	e->name = name;
	e->value = val;
	e->why = why;
	return -EINVAL;
}

/* Unset or empty: the default stays. */
static int opt_bool(const char *const *envp, const char *name, bool *out, struct mcm_opt_error *e)
{
	const char *v = env_get(envp, name);

	if (!v || !*v)
		return 0;
	if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
		*out = false;
	else
		return fail(e, name, v, "expected 0 or 1");
	return 0;
}

/* A size: decimal with an optional k, m or g suffix (binary units), within [min, max]. */
static int opt_size(const char *const *envp, const char *name, size_t *out, size_t min, size_t max,
		    struct mcm_opt_error *e)
{
	const char *v = env_get(envp, name), *s;
	uint64_t n = 0;

	if (!v || !*v)
		return 0;
	for (s = v; *s >= '0' && *s <= '9'; s++) {
		if (n > (UINT64_MAX - 9) / 10)
			return fail(e, name, v, "too large");
		n = n * 10 + (uint64_t)(*s - '0');
	}
	if (s == v)
		return fail(e, name, v, "expected a size such as 262144 or 256k");
	unsigned shift = 0;
	switch (*s) {
	case 'k':
	case 'K':
		shift = 10;
		s++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		s++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		s++;
		break;
	}
	if (*s)
		return fail(e, name, v, "expected a size such as 262144 or 256k");
	if (n > (max >> shift) || (n << shift) < min)
		return fail(e, name, v, "out of range");
	*out = (size_t)(n << shift);
	return 0;
}

int mcm_options_parse(struct mcm_options *o, const char *const *envp, struct mcm_opt_error *e)
{
	int rc;

	if ((rc = opt_bool(envp, "MCMALLOC_CHECK", &o->check, e)) ||
	    (rc = opt_bool(envp, "MCMALLOC_STATS", &o->stats, e)) ||
	    (rc = opt_bool(envp, "MCMALLOC_SMALL", &o->small, e)))
		return rc;
	o->dump = env_get(envp, "MCMALLOC_DUMP");
	if (o->dump && !*o->dump)
		o->dump = NULL;
	if ((rc = opt_size(envp, "MCMALLOC_MMAP_THRESHOLD", &o->mmap_threshold, 16 << 10, 1ul << 30,
			   e)) ||
	    (rc = opt_size(envp, "MCMALLOC_TRIM_THRESHOLD", &o->trim_threshold, 64 << 10, 1ul << 40,
			   e)) ||
	    (rc = opt_size(envp, "MCMALLOC_LARGE_CACHE", &o->large_cache_max, 0, 1ul << 32, e)))
		return rc;
	/* As in glibc: a threshold the user chose is not moved by the adaptation. */
	const char *m = env_get(envp, "MCMALLOC_MMAP_THRESHOLD");
	const char *t = env_get(envp, "MCMALLOC_TRIM_THRESHOLD");
	o->threshold_fixed = (m && *m) || (t && *t);
	return 0;
}
