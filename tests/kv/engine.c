/* SPDX-License-Identifier: MIT */
/*
 * Engine basics: 10,000 puts and gets across restarts (the seed test), deletes,
 * batches, empty and large values, limits, the directory lock, iterators and
 * snapshots, concurrent writers sharing fdatasyncs (group commit), mc_kv_sync_wal
 * beside a writer (the server's pipelined commit) across WAL rotations.
 */
#include "harness.h"
#include "kvtest.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

FIXTURE(db)
{
	char dir[256];
};

FIXTURE_SETUP(db)
{
	kvt_mkdtemp(self->dir, sizeof(self->dir));
	ASSERT_NE(0, self->dir[0]);
}

FIXTURE_TEARDOWN(db)
{
	kvt_rmdir(self->dir);
}

static void check_range(struct mc_kv *kv, int from, int to)
{
	struct mc_buf v = MC_BUF_INIT;
	char k[32], want[64];

	for (int i = from; i < to; i++) {
		snprintf(k, sizeof(k), "key%06d", i);
		snprintf(want, sizeof(want), "value-%d-payload", i);
		ASSERT_EQ(0, mc_kv_get(kv, k, strlen(k), &v));
		ASSERT_STREQ(want, v.data);
	}
	mc_buf_release(&v);
}

TEST_F(db, ten_thousand_puts_and_gets)
{
	struct mc_kv_options o = kvt_opts(1000, MC_KV_SYNC_NONE);
	struct mc_err err = { 0 };
	struct mc_kv *kv;
	char k[32], v[64];

	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	for (int i = 0; i < 10000; i++) {
		snprintf(k, sizeof(k), "key%06d", i);
		snprintf(v, sizeof(v), "value-%d-%s", i, "payload");
		ASSERT_OK(mc_kv_put(kv, k, strlen(k), v, strlen(v)));
	}
	check_range(kv, 0, 10000);
	ASSERT_OK(mc_kv_wait_idle(kv, &err));
	struct mc_kv_stats st;

	mc_kv_stats_get(kv, &st);
	TH_LOG("tables=%u flushes=%llu compactions=%llu", st.tables, (unsigned long long)st.flushes,
	       (unsigned long long)st.compactions);
	EXPECT_GE(st.flushes, 9);
	EXPECT_GE(st.compactions, 1);
	mc_kv_close(kv);

	/* Survives a restart: tables plus WAL replay of the last memtable. */
	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	check_range(kv, 0, 10000);
	struct mc_buf b = MC_BUF_INIT;

	ASSERT_EQ(-ENOENT, mc_kv_get(kv, "key010000", 9, &b));
	ASSERT_EQ(-ENOENT, mc_kv_get(kv, "", 0, &b));
	mc_buf_release(&b);
	mc_kv_close(kv);
}

TEST_F(db, delete_and_overwrite_across_flushes)
{
	struct mc_kv_options o = kvt_opts(100, MC_KV_SYNC_NONE);
	struct mc_err err = { 0 };
	struct mc_buf v = MC_BUF_INIT;
	struct mc_kv *kv;

	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	ASSERT_OK(mc_kv_put(kv, "a", 1, "1", 1));
	ASSERT_OK(mc_kv_flush(kv, &err));
	ASSERT_OK(mc_kv_delete(kv, "a", 1));
	ASSERT_EQ(-ENOENT, mc_kv_get(kv, "a", 1, &v));
	ASSERT_OK(mc_kv_flush(kv, &err));
	ASSERT_EQ(-ENOENT, mc_kv_get(kv, "a", 1, &v));
	ASSERT_OK(mc_kv_put(kv, "a", 1, "2", 1));
	ASSERT_OK(mc_kv_get(kv, "a", 1, &v));
	ASSERT_STREQ("2", v.data);
	/* Empty values are values, not deletions. */
	ASSERT_OK(mc_kv_put(kv, "e", 1, "", 0));
	ASSERT_OK(mc_kv_get(kv, "e", 1, &v));
	ASSERT_EQ(0, v.len);
	mc_kv_close(kv);
	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	ASSERT_OK(mc_kv_get(kv, "a", 1, &v));
	ASSERT_STREQ("2", v.data);
	ASSERT_OK(mc_kv_get(kv, "e", 1, &v));
	ASSERT_EQ(0, v.len);
	mc_kv_close(kv);
	mc_buf_release(&v);
}

/*
 * Point lookups use the memtable's hash index (fixed 65536 buckets): with 200,000
 * keys in one memtable every chain holds several keys, and each key has three
 * versions (put, overwrite, some deleted): a GET must see exactly the newest.
 */
TEST_F(db, memtable_hash_chains_return_newest_version)
{
	struct mc_kv_options o = kvt_opts(0, MC_KV_SYNC_NONE);
	struct mc_err err = { 0 };
	struct mc_buf v = MC_BUF_INIT;
	struct mc_kv *kv;
	struct mc_kv_stats st;
	char k[32], want[32];
	enum {
		N = 200000
	};

	o.memtable_max_bytes = 256u << 20;
	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	for (int pass = 0; pass < 3; pass++) {
		for (int i = 0; i < N; i++) {
			snprintf(k, sizeof(k), "h%d", i);
			if (pass == 2 && i % 7 == 0) {
				ASSERT_OK(mc_kv_delete(kv, k, strlen(k)));
				continue;
			}
			snprintf(want, sizeof(want), "v%d.%d", i, pass);
			ASSERT_OK(mc_kv_put(kv, k, strlen(k), want, strlen(want)));
		}
	}
	mc_kv_stats_get(kv, &st);
	ASSERT_EQ(0, st.flushes); /* all three versions are still in the memtable */
	for (int i = 0; i < N; i++) {
		snprintf(k, sizeof(k), "h%d", i);
		if (i % 7 == 0) {
			ASSERT_EQ(-ENOENT, mc_kv_get(kv, k, strlen(k), &v));
			continue;
		}
		snprintf(want, sizeof(want), "v%d.2", i);
		ASSERT_OK(mc_kv_get(kv, k, strlen(k), &v));
		ASSERT_EQ(strlen(want), v.len);
		ASSERT_EQ(0, memcmp(want, v.data, v.len));
	}
	/* Absent keys, including prefixes and extensions of present ones. */
	ASSERT_EQ(-ENOENT, mc_kv_get(kv, "h", 1, &v));
	ASSERT_EQ(-ENOENT, mc_kv_get(kv, "h1x", 3, &v));
	ASSERT_EQ(-ENOENT, mc_kv_get(kv, "h200000", 7, &v));
	mc_kv_close(kv);
	mc_buf_release(&v);
}

TEST_F(db, batch_large_value_and_limits)
{
	struct mc_err err = { 0 };
	struct mc_buf v = MC_BUF_INIT;
	struct mc_kv *kv;
	struct mc_kv_batch *b = mc_kv_batch_new();
	size_t big = 3u << 20;
	char *bigv = malloc(big);

	ASSERT_NONNULL(b);
	ASSERT_NONNULL(bigv);
	for (size_t i = 0; i < big; i++)
		bigv[i] = (char)(i * 7);
	ASSERT_OK(mc_kv_open(self->dir, NULL, &kv, &err));
	ASSERT_OK(mc_kv_batch_put(b, "x", 1, "1", 1));
	ASSERT_OK(mc_kv_batch_put(b, "y", 1, "2", 1));
	ASSERT_OK(mc_kv_batch_delete(b, "x", 1));
	ASSERT_EQ(3, mc_kv_batch_count(b));
	ASSERT_OK(mc_kv_write(kv, b, 0));
	ASSERT_EQ(-ENOENT, mc_kv_get(kv, "x", 1, &v));
	ASSERT_OK(mc_kv_get(kv, "y", 1, &v));
	ASSERT_OK(mc_kv_put(kv, "big", 3, bigv, big));
	ASSERT_OK(mc_kv_flush(kv, &err));
	ASSERT_OK(mc_kv_get(kv, "big", 3, &v));
	ASSERT_EQ(big, v.len);
	ASSERT_EQ(0, memcmp(v.data, bigv, big));
	static char hugekey[MC_KV_MAX_KEY + 1];

	ASSERT_EQ(-E2BIG, mc_kv_put(kv, hugekey, sizeof(hugekey), "v", 1));
	ASSERT_EQ(-E2BIG, mc_kv_batch_put(b, hugekey, sizeof(hugekey), "v", 1));
	mc_kv_close(kv);
	ASSERT_OK(mc_kv_open(self->dir, NULL, &kv, &err));
	ASSERT_OK(mc_kv_get(kv, "big", 3, &v));
	ASSERT_EQ(0, memcmp(v.data, bigv, big));
	mc_kv_close(kv);
	mc_kv_batch_free(b);
	mc_buf_release(&v);
	free(bigv);
}

TEST_F(db, second_writer_is_refused)
{
	struct mc_err err = { 0 };
	struct mc_kv *kv, *kv2;

	ASSERT_OK(mc_kv_open(self->dir, NULL, &kv, &err));
	ASSERT_EQ(-EWOULDBLOCK, mc_kv_open(self->dir, NULL, &kv2, &err));
	TH_LOG("%s", err.msg);
	ASSERT_NONNULL(strstr(err.msg, "in use"));
	mc_kv_close(kv);
	ASSERT_OK(mc_kv_open(self->dir, NULL, &kv2, &err));
	mc_kv_close(kv2);
}

TEST_F(db, iterator_order_prefix_and_snapshot)
{
	struct mc_kv_options o = kvt_opts(50, MC_KV_SYNC_NONE);
	struct mc_err err = { 0 };
	struct mc_kv *kv;
	struct mc_kv_iter *it;
	char k[32];

	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	/* Insert in a scrambled order so every table and the memtable hold a mix. */
	for (int i = 0; i < 500; i++) {
		int j = (i * 263) % 500;

		snprintf(k, sizeof(k), "k%04d", j);
		ASSERT_OK(mc_kv_put(kv, k, strlen(k), k, strlen(k)));
	}
	for (int i = 0; i < 500; i += 3) {
		snprintf(k, sizeof(k), "k%04d", i);
		ASSERT_OK(mc_kv_delete(kv, k, strlen(k)));
	}
	ASSERT_OK(mc_kv_iter_new(kv, &it));
	/* Writes after the snapshot are invisible to it, even across a compaction. */
	ASSERT_OK(mc_kv_put(kv, "k0000", 5, "new", 3));
	ASSERT_OK(mc_kv_put(kv, "k0001", 5, "new", 3));
	ASSERT_OK(mc_kv_compact(kv, &err));
	int n = 0, expect = 0;

	for (mc_kv_iter_seek_first(it); mc_kv_iter_valid(it); mc_kv_iter_next(it)) {
		size_t kl, vl;
		const char *kk = mc_kv_iter_key(it, &kl), *vv = mc_kv_iter_value(it, &vl);

		while (expect % 3 == 0)
			expect++;
		snprintf(k, sizeof(k), "k%04d", expect);
		ASSERT_EQ(5, kl);
		ASSERT_EQ(0, memcmp(kk, k, 5));
		ASSERT_EQ(0, memcmp(vv, k, 5));
		expect++;
		n++;
	}
	ASSERT_OK(mc_kv_iter_status(it));
	ASSERT_EQ(500 - 167, n);
	/* seek lands on the first key >= target */
	mc_kv_iter_seek(it, "k0300", 5); /* deleted: 300 % 3 == 0 */
	ASSERT_TRUE(mc_kv_iter_valid(it));
	size_t kl;
	const char *kk = mc_kv_iter_key(it, &kl);

	ASSERT_EQ(0, memcmp(kk, "k0301", 5));
	mc_kv_iter_free(it);

	ASSERT_OK(mc_kv_iter_new(kv, &it));
	mc_kv_iter_seek_first(it);
	ASSERT_TRUE(mc_kv_iter_valid(it));
	kk = mc_kv_iter_key(it, &kl);
	ASSERT_EQ(0, memcmp(kk, "k0000", 5));
	mc_kv_iter_free(it);
	mc_kv_close(kv);
}

struct writer_arg {
	struct mc_kv *kv;
	int id;
	int n;
};

static void *writer(void *p)
{
	struct writer_arg *a = p;
	char k[32], v[32];

	for (int i = 0; i < a->n; i++) {
		snprintf(k, sizeof(k), "t%d-%05d", a->id, i);
		snprintf(v, sizeof(v), "v%d", i);
		if (mc_kv_put(a->kv, k, strlen(k), v, strlen(v)) < 0)
			return (void *)1;
	}
	return NULL;
}

TEST_F(db, group_commit_shares_fsyncs)
{
	struct mc_kv_options o = kvt_opts(0, MC_KV_SYNC_BATCH);
	struct mc_err err = { 0 };
	struct mc_kv *kv;
	pthread_t th[8];
	struct writer_arg a[8];
	struct mc_kv_stats st;
	const int per = 300;

	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	for (int i = 0; i < 8; i++) {
		a[i] = (struct writer_arg){ kv, i, per };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, writer, &a[i]));
	}
	for (int i = 0; i < 8; i++) {
		void *rv;

		pthread_join(th[i], &rv);
		ASSERT_NULL(rv);
	}
	mc_kv_stats_get(kv, &st);
	TH_LOG("writes=%d wal_syncs=%llu", 8 * per, (unsigned long long)st.wal_syncs);
	ASSERT_EQ(8 * per, st.last_seq);
	/* Eight concurrent writers must have shared fdatasyncs. */
	EXPECT_LT(st.wal_syncs, 8 * per);
	mc_kv_close(kv);
	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	struct mc_buf v = MC_BUF_INIT;

	for (int t = 0; t < 8; t++)
		for (int i = 0; i < per; i++) {
			char k[32], want[32];

			snprintf(k, sizeof(k), "t%d-%05d", t, i);
			snprintf(want, sizeof(want), "v%d", i);
			ASSERT_OK(mc_kv_get(kv, k, strlen(k), &v));
			ASSERT_STREQ(want, v.data);
		}
	mc_buf_release(&v);
	mc_kv_close(kv);
}

TEST_F(db, sync_always_syncs_every_write)
{
	struct mc_kv_options o = kvt_opts(0, MC_KV_SYNC_ALWAYS);
	struct mc_err err = { 0 };
	struct mc_kv *kv;
	struct mc_kv_stats st;

	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	for (int i = 0; i < 20; i++)
		ASSERT_OK(mc_kv_put(kv, "k", 1, "v", 1));
	mc_kv_stats_get(kv, &st);
	ASSERT_EQ(20, st.wal_syncs);
	mc_kv_close(kv);
	o.sync = MC_KV_SYNC_NONE;
	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	for (int i = 0; i < 20; i++)
		ASSERT_OK(mc_kv_put(kv, "k", 1, "v", 1));
	mc_kv_stats_get(kv, &st);
	ASSERT_EQ(0, st.wal_syncs);
	ASSERT_OK(mc_kv_sync(kv));
	mc_kv_stats_get(kv, &st);
	ASSERT_EQ(1, st.wal_syncs);
	mc_kv_close(kv);
}

TEST_F(db, read_only_open_sees_wal_and_refuses_writes)
{
	struct mc_kv_options o = kvt_opts(1000, MC_KV_SYNC_NONE);
	struct mc_err err = { 0 };
	struct mc_buf v = MC_BUF_INIT;
	struct mc_kv *kv;

	o.read_only = true;
	ASSERT_EQ(-ENOENT, mc_kv_open(self->dir, &o, &kv, &err));
	o.read_only = false;
	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	ASSERT_OK(mc_kv_put(kv, "a", 1, "b", 1));
	mc_kv_close(kv);
	o.read_only = true;
	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	ASSERT_OK(mc_kv_get(kv, "a", 1, &v));
	ASSERT_STREQ("b", v.data);
	ASSERT_EQ(-EROFS, mc_kv_put(kv, "a", 1, "c", 1));
	mc_kv_close(kv);
	mc_buf_release(&v);
}

struct nosync_arg {
	struct mc_kv *kv;
	int n;
	atomic_bool done;
};

static void *nosync_writer(void *p)
{
	struct nosync_arg *a = p;
	char k[32];

	for (int i = 0; i < a->n; i++) {
		snprintf(k, sizeof(k), "p%06d", i);
		if (mc_kv_put_flags(a->kv, k, strlen(k), k, strlen(k), MC_KV_WRITE_NOSYNC) < 0) {
			atomic_store(&a->done, true);
			return (void *)1;
		}
	}
	atomic_store(&a->done, true);
	return NULL;
}

TEST_F(db, sync_wal_beside_writer_across_rotations)
{
	/* 100-entry memtables: the WAL rotates about every 100 writes. */
	struct mc_kv_options o = kvt_opts(100, MC_KV_SYNC_BATCH);
	struct mc_err err = { 0 };
	struct mc_kv *kv;
	struct mc_kv_stats st;
	struct nosync_arg a = { .n = 3000 };
	pthread_t th;
	void *rv;
	int syncs = 0;

	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	a.kv = kv;
	ASSERT_EQ(0, pthread_create(&th, NULL, nosync_writer, &a));
	while (!atomic_load(&a.done)) {
		int r = mc_kv_sync_wal(kv);

		ASSERT_GE(r, 0);
		syncs += r;
	}
	pthread_join(th, &rv);
	ASSERT_NULL(rv);
	ASSERT_GE(mc_kv_sync_wal(kv), 0);
	mc_kv_stats_get(kv, &st);
	TH_LOG("hand syncs=%d wal_syncs=%llu", syncs, (unsigned long long)st.wal_syncs);
	/* Every op counted durable exactly once, by a hand sync or a rotation's sync. */
	ASSERT_EQ(3000, st.last_seq);
	ASSERT_EQ(3000, st.sync_ops);
	/* Nothing new: no fdatasync at all. */
	ASSERT_EQ(0, mc_kv_sync_wal(kv));
	uint64_t before = st.wal_syncs;

	mc_kv_stats_get(kv, &st);
	ASSERT_EQ(before, st.wal_syncs);
	mc_kv_close(kv);

	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	struct mc_buf v = MC_BUF_INIT;

	for (int i = 0; i < 3000; i++) {
		char k[32];

		snprintf(k, sizeof(k), "p%06d", i);
		ASSERT_OK(mc_kv_get(kv, k, strlen(k), &v));
		ASSERT_EQ(strlen(k), v.len);
		ASSERT_EQ(0, memcmp(k, v.data, v.len));
	}
	mc_buf_release(&v);
	mc_kv_close(kv);
}

TEST_F(db, rotation_syncs_unsynced_wal)
{
	struct mc_kv_options o = kvt_opts(100, MC_KV_SYNC_BATCH);
	struct mc_err err = { 0 };
	struct mc_kv *kv;
	struct mc_kv_stats st;
	char k[32];

	/*
	 * NOSYNC writes leave the WAL unsynced; a rotation must sync it before the next
	 * WAL gets writes (else a later sync of the new WAL could make newer writes
	 * durable while older ones are lost). 1000 writes: at least 9 rotations.
	 */
	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	for (int i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "r%06d", i);
		ASSERT_OK(mc_kv_put_flags(kv, k, strlen(k), "v", 1, MC_KV_WRITE_NOSYNC));
	}
	mc_kv_stats_get(kv, &st);
	TH_LOG("wal_syncs=%llu synced_ops=%llu", (unsigned long long)st.wal_syncs,
	       (unsigned long long)st.sync_ops);
	ASSERT_GE(st.wal_syncs, 9);
	ASSERT_GE(st.sync_ops, 900);
	mc_kv_close(kv);
	kvt_rmdir(self->dir);
	kvt_mkdtemp(self->dir, sizeof(self->dir));
	/* Under NONE, nobody asked for durability: rotations do not sync. */
	o.sync = MC_KV_SYNC_NONE;
	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	for (int i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "r%06d", i);
		ASSERT_OK(mc_kv_put(kv, k, strlen(k), "v", 1));
	}
	mc_kv_stats_get(kv, &st);
	ASSERT_EQ(0, st.wal_syncs);
	mc_kv_close(kv);
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int put_exp(struct mc_kv *kv, const char *k, const char *v, uint64_t exp)
{
	struct mc_kv_batch *b = mc_kv_batch_new();
	int r = b ? mc_kv_batch_put_exp(b, k, strlen(k), v, strlen(v), exp) : -ENOMEM;

	if (r == 0)
		r = mc_kv_write(kv, b, 0);
	mc_kv_batch_free(b);
	return r;
}

/* Live keys an iterator yields, with their values checked against "v-<key>". */
static int count_live(struct mc_kv *kv)
{
	struct mc_kv_iter *it;
	int n = 0;

	if (mc_kv_iter_new(kv, &it) < 0)
		return -1;
	for (mc_kv_iter_seek(it, "", 0); mc_kv_iter_valid(it); mc_kv_iter_next(it)) {
		size_t kl, vl;
		const char *k = mc_kv_iter_key(it, &kl), *v = mc_kv_iter_value(it, &vl);

		if (vl != kl + 2 || memcmp(v, "v-", 2) || memcmp(v + 2, k, kl))
			n = -1000000;
		n++;
	}
	mc_kv_iter_free(it);
	return n;
}

TEST_F(db, expiry_kept_through_flush_compaction_and_reopen)
{
	struct mc_kv_options o = kvt_opts(0, MC_KV_SYNC_NONE);
	struct mc_err err = { 0 };
	struct mc_buf v = MC_BUF_INIT;
	struct mc_kv *kv;
	uint64_t exp, far = wall_ms() + 3600 * 1000;

	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	/* "old" has a plain value under an expired one: the expired one must hide it. */
	ASSERT_OK(mc_kv_put(kv, "old", 3, "v-old", 5));
	ASSERT_OK(mc_kv_put(kv, "plain", 5, "v-plain", 7));
	ASSERT_OK(put_exp(kv, "live", "v-live", far));
	ASSERT_OK(mc_kv_compact(kv, &err)); /* "old" and "plain" now in a table */
	ASSERT_OK(put_exp(kv, "old", "v-old", wall_ms() + 150));
	ASSERT_OK(put_exp(kv, "soon", "v-soon", wall_ms() + 150));
	ASSERT_OK(mc_kv_get_ex(kv, "soon", 4, &v, &exp));
	ASSERT_STREQ("v-soon", v.data);
	ASSERT_GT(exp, wall_ms());
	ASSERT_EQ(4, count_live(kv));
	usleep(300 * 1000);
	ASSERT_EQ(-ENOENT, mc_kv_get(kv, "soon", 4, &v));
	ASSERT_EQ(-ENOENT, mc_kv_get(kv, "old", 3, &v));
	ASSERT_EQ(2, count_live(kv)); /* plain, live */
	/* Expiry and the hiding survive a flush, a full merge and a reopen (WAL/table). */
	ASSERT_OK(mc_kv_compact(kv, &err));
	ASSERT_EQ(-ENOENT, mc_kv_get(kv, "old", 3, &v));
	mc_kv_close(kv);
	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	ASSERT_EQ(-ENOENT, mc_kv_get(kv, "old", 3, &v));
	ASSERT_OK(mc_kv_get_ex(kv, "live", 4, &v, &exp));
	ASSERT_EQ(6, v.len);
	ASSERT_EQ(0, memcmp("v-live", v.data, 6));
	ASSERT_EQ(far, exp);
	ASSERT_OK(mc_kv_get_ex(kv, "plain", 5, &v, &exp));
	ASSERT_EQ(0, exp);
	ASSERT_EQ(2, count_live(kv));
	/* A WAL record with an expiry replays too (no compaction before close). */
	ASSERT_OK(put_exp(kv, "walexp", "v-walexp", far));
	mc_kv_close(kv);
	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	ASSERT_OK(mc_kv_get_ex(kv, "walexp", 6, &v, &exp));
	ASSERT_EQ(far, exp);
	ASSERT_EQ(3, count_live(kv));
	mc_kv_close(kv);
	mc_buf_release(&v);
}

TEST_HARNESS_MAIN
