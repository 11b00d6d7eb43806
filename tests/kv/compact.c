/* SPDX-License-Identifier: MIT */
/*
 * Compaction: contents are identical before and after (background tier merges and a
 * full compaction), shadowed versions and tombstones are dropped by a full merge,
 * tiers stay bounded, and writes keep flowing while a long merge runs.
 */
#include "harness.h"
#include "kvtest.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

FIXTURE(compact)
{
	char dir[256];
};

FIXTURE_SETUP(compact)
{
	kvt_mkdtemp(self->dir, sizeof(self->dir));
	ASSERT_NE(0, self->dir[0]);
}

FIXTURE_TEARDOWN(compact)
{
	kvt_rmdir(self->dir);
}

/* Scans everything into one buffer of "key=value\n" lines. */
static void dump(struct mc_kv *kv, struct mc_buf *out, size_t *count)
{
	struct mc_kv_iter *it;

	out->len = 0;
	*count = 0;
	if (mc_kv_iter_new(kv, &it) < 0)
		abort();
	for (mc_kv_iter_seek_first(it); mc_kv_iter_valid(it); mc_kv_iter_next(it)) {
		size_t kl, vl;
		const char *k = mc_kv_iter_key(it, &kl), *v = mc_kv_iter_value(it, &vl);

		mc_buf_append(out, k, kl);
		mc_buf_append(out, "=", 1);
		mc_buf_append(out, v, vl);
		mc_buf_append(out, "\n", 1);
		(*count)++;
	}
	if (mc_kv_iter_status(it) < 0)
		abort();
	mc_kv_iter_free(it);
}

TEST_F_TIMEOUT(compact, contents_preserved_and_garbage_dropped, 90)
{
	struct mc_kv_options o = kvt_opts(500, MC_KV_SYNC_NONE);
	struct mc_err err = { 0 };
	struct mc_buf before = MC_BUF_INIT, after = MC_BUF_INIT;
	struct mc_kv_stats st;
	struct mc_kv *kv;
	uint64_t rs = th_seed() | 1;
	size_t n1, n2;
	char k[32], v[64];

	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	for (int i = 0; i < 60000; i++) {
		int key = (int)(kvt_rand(&rs) % 8000);

		snprintf(k, sizeof(k), "k%05d", key);
		if (kvt_rand(&rs) % 5 == 0) {
			ASSERT_OK(mc_kv_delete(kv, k, strlen(k)));
		} else {
			snprintf(v, sizeof(v), "v%d-%d", key, i);
			ASSERT_OK(mc_kv_put(kv, k, strlen(k), v, strlen(v)));
		}
	}
	ASSERT_OK(mc_kv_wait_idle(kv, &err));
	dump(kv, &before, &n1);
	mc_kv_stats_get(kv, &st);
	TH_LOG("background: %u tables, %llu compactions, %llu entries for %zu live keys", st.tables,
	       (unsigned long long)st.compactions, (unsigned long long)st.table_entries, n1);
	ASSERT_GT(st.compactions, 0);
	/* Size-tiered: fewer than fanout tables per tier once idle. */
	for (int t = 0; t < 7; t++)
		ASSERT_LT(st.tiers[t], o.compaction_fanout);

	ASSERT_OK(mc_kv_compact(kv, &err));
	dump(kv, &after, &n2);
	ASSERT_EQ(n1, n2);
	ASSERT_EQ(before.len, after.len);
	ASSERT_EQ(0, memcmp(before.data, after.data, before.len));
	mc_kv_stats_get(kv, &st);
	ASSERT_EQ(1, st.tables);
	/* No shadowed version, no tombstone survives a full merge. */
	ASSERT_EQ(n1, st.table_entries);
	mc_kv_close(kv);

	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	dump(kv, &after, &n2);
	ASSERT_EQ(before.len, after.len);
	ASSERT_EQ(0, memcmp(before.data, after.data, before.len));
	/* Deleting everything and compacting leaves no table at all. */
	struct mc_kv_iter *it;

	ASSERT_OK(mc_kv_iter_new(kv, &it));
	for (mc_kv_iter_seek_first(it); mc_kv_iter_valid(it); mc_kv_iter_next(it)) {
		size_t kl;
		const void *kk = mc_kv_iter_key(it, &kl);

		ASSERT_OK(mc_kv_delete(kv, kk, kl));
	}
	mc_kv_iter_free(it);
	ASSERT_OK(mc_kv_compact(kv, &err));
	mc_kv_stats_get(kv, &st);
	ASSERT_EQ(0, st.tables);
	dump(kv, &after, &n2);
	ASSERT_EQ(0, n2);
	mc_kv_close(kv);
	mc_buf_release(&before);
	mc_buf_release(&after);
}

struct compactor {
	struct mc_kv *kv;
	atomic_bool done;
	uint64_t ns;
	int r;
};

static void *run_compact(void *p)
{
	struct compactor *c = p;
	struct mc_err err = { 0 };
	uint64_t t0 = mc_time_mono_ns();

	c->r = mc_kv_compact(c->kv, &err);
	c->ns = mc_time_mono_ns() - t0;
	atomic_store(&c->done, true);
	return NULL;
}

TEST_F_TIMEOUT(compact, writes_proceed_during_a_long_merge, 90)
{
	struct mc_kv_options o = kvt_opts(0, MC_KV_SYNC_NONE);
	struct mc_err err = { 0 };
	struct mc_kv *kv;
	char k[32], v[128];

	o.memtable_max_bytes = 4u << 20;
	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	memset(v, 'x', sizeof(v));
	for (int i = 0; i < 200000; i++) {
		snprintf(k, sizeof(k), "big%08d", (int)((int64_t)i * 7919 % 200000));
		ASSERT_OK(mc_kv_put(kv, k, strlen(k), v, 100));
	}
	ASSERT_OK(mc_kv_flush(kv, &err));
	ASSERT_OK(mc_kv_wait_idle(kv, &err));

	struct compactor c = { .kv = kv };
	pthread_t th;
	uint64_t worst = 0, writes = 0;

	atomic_init(&c.done, false);
	ASSERT_EQ(0, pthread_create(&th, NULL, run_compact, &c));
	while (!atomic_load(&c.done) && writes < 2000000) {
		uint64_t t0 = mc_time_mono_ns();

		snprintf(k, sizeof(k), "new%08llu", (unsigned long long)writes);
		ASSERT_OK(mc_kv_put(kv, k, strlen(k), v, 16));
		uint64_t dt = mc_time_mono_ns() - t0;

		if (dt > worst)
			worst = dt;
		writes++;
	}
	pthread_join(th, NULL);
	ASSERT_OK(c.r);
	TH_LOG("full merge took %.1f ms; %llu writes meanwhile, slowest %.2f ms", c.ns / 1e6,
	       (unsigned long long)writes, worst / 1e6);
	ASSERT_GT(writes, 0);
	/* A write that waited for the merge would take about as long as the merge. */
	ASSERT_LT(worst, c.ns / 2);
	mc_kv_close(kv);
}

TEST_HARNESS_MAIN
