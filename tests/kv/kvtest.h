/* SPDX-License-Identifier: MIT */
/* kvtest.h: helpers shared by the kv tests: a temp directory per test, key formatting. */
#ifndef MC_TESTS_KV_KVTEST_H
#define MC_TESTS_KV_KVTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mc/cleanup.h>
#include <mc/kv.h>
#include <mc/util.h>

static inline void kvt_mkdtemp(char *buf, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(buf, size, "%s/mc-kv-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(buf))
		buf[0] = '\0';
}

static inline void kvt_rmdir(char *path)
{
	if (path[0])
		mc_fs_rm_rf(path, NULL);
	path[0] = '\0';
}

/* Small deterministic PRNG (xorshift64*), seeded from th_seed(). */
static inline uint64_t kvt_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static inline struct mc_kv_options kvt_opts(uint32_t mem_entries, enum mc_kv_sync sync)
{
	struct mc_kv_options o;

	mc_kv_options_init(&o);
	o.memtable_max_entries = mem_entries;
	o.sync = sync;
	return o;
}

#endif
