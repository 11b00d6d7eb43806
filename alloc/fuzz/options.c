/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the MCMALLOC_* option parser (alloc/options.c): the input,
 * split at newlines, is the environment block. Checks that a parse either fails with
 * a named variable, its value and a reason, or yields options within their documented
 * ranges, and that it is deterministic.
 */
#include "../internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VARS 16

static const char *const names[] = {
	"MCMALLOC_CHECK",	   "MCMALLOC_STATS",	      "MCMALLOC_SMALL",
	"MCMALLOC_MMAP_THRESHOLD", "MCMALLOC_TRIM_THRESHOLD", "MCMALLOC_LARGE_CACHE",
};

static void expect(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static bool within(const char *p, const char *buf, size_t len)
{
	return p >= buf && p <= buf + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	const char *envp[MAX_VARS + 1];
	size_t n = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	/* Newlines separate the variables; a NUL byte ends one early, as in a real environ. */
	char *s = buf;
	while (n < MAX_VARS) {
		envp[n++] = s;
		char *nl = strchr(s, '\n');
		if (!nl)
			break;
		*nl = 0;
		s = nl + 1;
	}
	envp[n] = NULL;

	struct mcm_options o = MCM_OPTIONS_DEFAULT, o2 = MCM_OPTIONS_DEFAULT;
	struct mcm_opt_error e = { 0 }, e2 = { 0 };
	int rc = mcm_options_parse(&o, envp, &e);
	int rc2 = mcm_options_parse(&o2, envp, &e2);

	expect(rc == rc2);
	if (rc) {
		expect(rc == -22 /* EINVAL */);
		expect(e.why && *e.why && e.name && e.value && within(e.value, buf, size));
		bool known = false;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			known |= !strcmp(e.name, names[i]);
		expect(known);
		expect(e.name == e2.name && e.value == e2.value && e.why == e2.why);
	} else {
		expect(o.mmap_threshold >= (16 << 10) && o.mmap_threshold <= (1ul << 30));
		expect(o.trim_threshold >= (64 << 10) && o.trim_threshold <= (1ul << 40));
		expect(o.large_cache_max <= (1ul << 32));
		expect(!o.dump || (*o.dump && within(o.dump, buf, size)));
		expect(!memcmp(&o, &o2, sizeof(o)));
	}
	free(buf);
	return 0;
}
