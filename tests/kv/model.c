/* SPDX-License-Identifier: MIT */
/*
 * Randomised model test: 1,000,000 random operations (put, delete, get, batch,
 * range scan, restart, compaction) against the engine and against a plain array
 * of versions, compared at every read. A small memtable makes flushes and
 * background compactions happen throughout. The seed is printed (MC_TEST_SEED).
 */
#include "harness.h"
#include "kvtest.h"

#include <errno.h>

#define NKEYS 5000
#define NOPS 1000000

FIXTURE(model)
{
	char dir[256];
};

FIXTURE_SETUP(model)
{
	kvt_mkdtemp(self->dir, sizeof(self->dir));
	ASSERT_NE(0, self->dir[0]);
}

FIXTURE_TEARDOWN(model)
{
	kvt_rmdir(self->dir);
}

static size_t make_val(char *buf, int key, uint32_t ver)
{
	/* Length 0..80 derived from (key, ver) so the model only stores the version. */
	size_t len = ((uint32_t)key * 2654435761u ^ ver * 40503u) % 81;

	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + (key + ver + i) % 26);
	if (len >= 12)
		snprintf(buf, 12, "%05d:%05u", key, ver % 100000);
	return len;
}

static size_t make_key(char *buf, int key)
{
	return (size_t)snprintf(buf, 16, "m%05d", key);
}

static void reopen(struct mc_kv **kv, const char *dir, uint64_t *rs)
{
	/* Durability policies are the crash test's business; fdatasync here would dominate. */
	struct mc_kv_options o = kvt_opts(1000, MC_KV_SYNC_NONE);
	struct mc_err err = { 0 };

	if (*kv)
		mc_kv_close(*kv);
	*kv = NULL;
	o.compaction_fanout = 2 + kvt_rand(rs) % 3;
	if (mc_kv_open(dir, &o, kv, &err) < 0)
		th_assert_failed(__FILE__, __LINE__, "reopen: %s", err.msg);
}

TEST_F_TIMEOUT(model, million_random_ops_match_a_map, 150)
{
	static uint32_t ver[NKEYS]; /* 0: absent */
	uint64_t rs = th_seed() | 1;
	struct mc_kv *kv = NULL;
	struct mc_buf v = MC_BUF_INIT;
	struct mc_kv_batch *b = mc_kv_batch_new();
	char k[16], val[96];
	uint32_t next_ver = 1;
	uint64_t gets = 0, hits = 0, scans = 0;

	ASSERT_NONNULL(b);
	reopen(&kv, self->dir, &rs);
	const char *ops_env = getenv("KV_MODEL_OPS"); /* shorter runs while debugging */
	int nops = ops_env ? atoi(ops_env) : NOPS;

	for (int op = 0; op < nops; op++) {
		uint64_t r = kvt_rand(&rs);
		int key = (int)((r >> 8) % NKEYS);
		unsigned dice = r % 1000;
		size_t kl = make_key(k, key);

		if (dice < 450) {
			uint32_t nv = next_ver++;
			size_t vl = make_val(val, key, nv);

			ASSERT_OK(mc_kv_put(kv, k, kl, val, vl));
			ver[key] = nv;
		} else if (dice < 600) {
			ASSERT_OK(mc_kv_delete(kv, k, kl));
			ver[key] = 0;
		} else if (dice < 960) {
			int g = mc_kv_get(kv, k, kl, &v);

			gets++;
			if (ver[key]) {
				size_t vl = make_val(val, key, ver[key]);

				if (g != 0)
					th_assert_failed(__FILE__, __LINE__,
							 "op %d: get %s: %d, model has version %u",
							 op, k, g, ver[key]);
				ASSERT_EQ(vl, v.len);
				ASSERT_EQ(0, memcmp(val, v.data, vl));
				hits++;
			} else if (g != -ENOENT) {
				th_assert_failed(__FILE__, __LINE__,
						 "op %d: get %s: %d, model: absent", op, k, g);
			}
		} else if (dice < 995) {
			/* An atomic batch of up to 8 ops. */
			int n = 1 + (int)(r >> 40) % 8;
			int keys[8];
			uint32_t vers[8];

			mc_kv_batch_clear(b);
			for (int i = 0; i < n; i++) {
				keys[i] = (int)(kvt_rand(&rs) % NKEYS);
				kl = make_key(k, keys[i]);
				if (kvt_rand(&rs) % 4) {
					vers[i] = next_ver++;
					size_t vl = make_val(val, keys[i], vers[i]);

					ASSERT_OK(mc_kv_batch_put(b, k, kl, val, vl));
				} else {
					vers[i] = 0;
					ASSERT_OK(mc_kv_batch_delete(b, k, kl));
				}
			}
			ASSERT_OK(mc_kv_write(kv, b, 0));
			for (int i = 0; i < n; i++)
				ver[keys[i]] = vers[i];
		} else if (dice < 999 || (r >> 20) % 5) {
			/* Range scan of up to 40 keys from a random start, against the model. */
			struct mc_kv_iter *it;
			int m = key;

			scans++;
			ASSERT_OK(mc_kv_iter_new(kv, &it));
			mc_kv_iter_seek(it, k, kl);
			for (int seen = 0; seen < 40 && mc_kv_iter_valid(it); seen++) {
				size_t ikl, ivl;
				const char *ik = mc_kv_iter_key(it, &ikl),
					   *iv = mc_kv_iter_value(it, &ivl);

				while (m < NKEYS && !ver[m])
					m++;
				ASSERT_LT(m, NKEYS);
				kl = make_key(k, m);
				size_t vl = make_val(val, m, ver[m]);

				if (ikl != kl || memcmp(ik, k, kl) != 0)
					th_assert_failed(__FILE__, __LINE__,
							 "op %d: scan got %.*s, want %s", op,
							 (int)ikl, ik, k);
				ASSERT_EQ(vl, ivl);
				ASSERT_EQ(0, memcmp(iv, val, vl));
				m++;
				mc_kv_iter_next(it);
			}
			ASSERT_OK(mc_kv_iter_status(it));
			mc_kv_iter_free(it);
		} else {
			/* Restart (recovery from WAL + tables) or a full compaction. */
			if (r & (1ull << 50)) {
				reopen(&kv, self->dir, &rs);
			} else {
				struct mc_err err = { 0 };

				if (mc_kv_compact(kv, &err) < 0)
					th_assert_failed(__FILE__, __LINE__, "compact: %s",
							 err.msg);
			}
		}
	}
	/* Final full comparison after one more restart. */
	reopen(&kv, self->dir, &rs);
	for (int key = 0; key < NKEYS; key++) {
		size_t kl = make_key(k, key);
		int g = mc_kv_get(kv, k, kl, &v);

		if (ver[key]) {
			size_t vl = make_val(val, key, ver[key]);

			ASSERT_EQ(0, g);
			ASSERT_EQ(vl, v.len);
			ASSERT_EQ(0, memcmp(val, v.data, vl));
		} else {
			ASSERT_EQ(-ENOENT, g);
		}
	}
	struct mc_kv_stats st;

	mc_kv_stats_get(kv, &st);
	TH_LOG("gets=%llu hits=%llu scans=%llu tables=%u", (unsigned long long)gets,
	       (unsigned long long)hits, (unsigned long long)scans, st.tables);
	mc_kv_close(kv);
	mc_kv_batch_free(b);
	mc_buf_release(&v);
}

TEST_HARNESS_MAIN
