/* SPDX-License-Identifier: MIT */
/*
 * compact.c: the background jobs. The flush thread writes the immutable memtable
 * to a new table; the compaction thread merges tables. Both publish their result
 * through kv_install: a new manifest on disk first, then a new version in memory.
 * Writers never wait for either, except when a full memtable finds the previous
 * one still flushing (a stall, counted in the stats).
 *
 * Policy: size-tiered. A flushed table has tier 0; merging the tables of tier t
 * gives one table of tier t+1. Tables are kept oldest first and tiers never increase
 * from older to newer, so the tables of one tier are adjacent and merging them keeps
 * newest-to-oldest read order intact. A tier is merged when it holds `fanout` (4)
 * tables. With F = fanout and N tables' worth of data: write amplification is
 * O(log_F N) (each byte is rewritten once per tier), read amplification at most
 * (F-1) tables per tier, each guarded by a bloom filter. Tombstones are dropped only
 * when a merge includes the oldest table, since nothing older can hold a value they
 * shadow; shadowed versions are always dropped (newer tables win).
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <mc/cleanup.h>

/* Removes WAL files older than @log_num: their contents are in tables now. */
static void drop_old_wals(struct mc_kv *kv, uint64_t log_num)
{
	mc_autoclosedir DIR *d = opendir(kv->dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		unsigned long long n;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		n = strtoull(de->d_name, &end, 10);
		if (strcmp(end, ".log") != 0 || n >= log_num)
			continue;
		char path[4400];

		snprintf(path, sizeof(path), "%s/%s", kv->dir, de->d_name);
		/* Best-effort: an old WAL left behind is deleted at the next open. */
		if (unlink(path) < 0)
			mc_log_warn("kv: remove old wal `%s`: %m", path);
	}
}

int kv_install(struct mc_kv *kv, struct kv_table *const *drop, uint32_t ndrop, struct kv_table *add,
	       bool add_newest, uint64_t new_log_num, uint64_t new_flushed_seq, struct mc_err *err)
{
	struct kv_manifest m = { 0 };
	struct kv_version *nv, *old;
	int r;

	pthread_mutex_lock(&kv->manifest_mu);
	pthread_mutex_lock(&kv->mu);
	old = kv->cur;
	nv = kv_version_new(old->n - ndrop + (add ? 1 : 0));
	if (!nv) {
		pthread_mutex_unlock(&kv->mu);
		pthread_mutex_unlock(&kv->manifest_mu);
		return mc_err_set(err, ENOMEM, "install tables");
	}
	uint32_t j = 0;
	bool placed = false;

	for (uint32_t i = 0; i < old->n; i++) {
		bool dropped = false;

		for (uint32_t d = 0; d < ndrop; d++)
			dropped |= old->t[i] == drop[d];
		if (dropped) {
			/* The merged table takes the place of the run it replaces. */
			if (add && !add_newest && !placed) {
				nv->t[j++] = add;
				placed = true;
			}
			continue;
		}
		kv_table_ref(old->t[i]);
		nv->t[j++] = old->t[i];
	}
	if (add && !placed)
		nv->t[j++] = add;
	KV_ASSERT(j == nv->n);
	m.next_file = kv->next_file;
	m.last_seq = new_flushed_seq ? new_flushed_seq : kv->flushed_seq;
	m.log_num = new_log_num ? new_log_num : kv->log_num;
	pthread_mutex_unlock(&kv->mu);

	m.n = nv->n;
	m.t = calloc(nv->n ? nv->n : 1, sizeof(*m.t));
	if (!m.t) {
		r = mc_err_set(err, ENOMEM, "install tables");
		goto fail;
	}
	for (uint32_t i = 0; i < nv->n; i++)
		m.t[i] = (struct kv_manifest_table){ nv->t[i]->num, nv->t[i]->tier };
	r = kv_manifest_write(kv->dir, &m, err);
	free(m.t);
	if (r < 0)
		goto fail;

	pthread_mutex_lock(&kv->mu);
	kv->cur = nv;
	kv->log_num = m.log_num;
	kv->flushed_seq = m.last_seq;
	for (uint32_t d = 0; d < ndrop; d++)
		atomic_store_explicit(&drop[d]->obsolete, true, memory_order_relaxed);
	pthread_mutex_unlock(&kv->mu);
	pthread_mutex_unlock(&kv->manifest_mu);
	/* Dropped tables are unlinked when the last reader lets go of them. */
	kv_version_unref(old);
	return 0;
fail:
	/* The new version owned @add: it goes with it, and its file with it. */
	if (add)
		atomic_store_explicit(&add->obsolete, true, memory_order_relaxed);
	kv_version_unref(nv);
	pthread_mutex_unlock(&kv->manifest_mu);
	return r;
}

static int table_path(char *buf, size_t size, const char *dir, uint64_t num)
{
	int n = snprintf(buf, size, "%s/%06" PRIu64 ".sst", dir, num);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int kv_flush_imm(struct mc_kv *kv, struct mc_err *err)
{
	struct kv_memtable *imm;
	struct kv_table *t = NULL;
	struct kv_tb tb;
	uint64_t num, next_log, max_seq = 0, size = 0;
	bool drop_tombstones;
	char path[4400];
	int r;

	pthread_mutex_lock(&kv->mu);
	imm = kv->imm;
	if (!imm) {
		pthread_mutex_unlock(&kv->mu);
		return 0;
	}
	kv_mt_ref(imm);
	num = kv->next_file++;
	next_log = kv->mem->wal_num;
	/* With no table at all, nothing older exists for a tombstone to hide. */
	drop_tombstones = kv->cur->n == 0;
	pthread_mutex_unlock(&kv->mu);

	table_path(path, sizeof(path), kv->dir, num);
	r = kv_tb_open(&tb, path, kv->opt.block_size, kv->opt.bloom_bits_per_key, err);
	if (r < 0)
		goto out;
	const struct kv_mt_node *prev = NULL;

	for (const struct kv_mt_node *n = kv_mt_first(imm); n; n = kv_mt_next(n)) {
		if (n->seq > max_seq)
			max_seq = n->seq;
		/* Only the newest version of a key (the first in seq-descending order). */
		if (prev && kv_cmp(kv_mt_key(prev), prev->klen, kv_mt_key(n), n->klen) == 0)
			continue;
		prev = n;
		if (n->kind == KV_KIND_DEL && drop_tombstones)
			continue;
		r = kv_tb_add(&tb, kv_mt_key(n), n->klen, kv_mt_val(n), n->vlen, n->kind);
		if (r < 0) {
			kv_tb_abort(&tb);
			r = mc_err_set(err, -r, "write table `%s`", path);
			goto out;
		}
	}
	uint64_t entries = tb.entries;

	r = kv_tb_finish(&tb, &size, err);
	if (r < 0)
		goto out;
	if (entries == 0) {
		unlink(path);
	} else {
		r = kv_table_open(kv->dir, num, 0, &t, err);
		if (r < 0)
			goto out;
	}
	r = kv_install(kv, NULL, 0, t, true, next_log, max_seq, err);
	if (r < 0)
		goto out;
	atomic_fetch_add_explicit(&kv->st_flushes, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&kv->st_bytes_flushed, size, memory_order_relaxed);
	pthread_mutex_lock(&kv->mu);
	kv->imm = NULL;
	pthread_cond_broadcast(&kv->bg_cv);
	pthread_mutex_unlock(&kv->mu);
	kv_mt_unref(imm); /* the db's reference */
	drop_old_wals(kv, next_log);
out:
	kv_mt_unref(imm);
	if (r < 0)
		mc_err_wrap(err, "flush memtable");
	return r;
}

uint32_t kv_pick_run(const struct kv_version *v, uint32_t fanout, bool full, uint32_t *first)
{
	uint32_t best = 0, best_tier = UINT32_MAX;

	if (full) {
		*first = 0;
		return v->n;
	}
	/* O(n) over the live tables; n stays around fanout * tiers. */
	for (uint32_t i = 0; i < v->n;) {
		uint32_t j = i;

		while (j < v->n && v->t[j]->tier == v->t[i]->tier)
			j++;
		if (j - i >= fanout && v->t[i]->tier < best_tier) {
			best_tier = v->t[i]->tier;
			*first = i;
			best = j - i;
		}
		i = j;
	}
	return best;
}

int kv_merge_run(struct mc_kv *kv, struct kv_version *v, uint32_t first, uint32_t count,
		 struct mc_err *err)
{
	struct kv_src *src = calloc(count, sizeof(*src) + sizeof(struct kv_src *));
	struct kv_merger m = {
		.src = src,
		.n = count,
		.heap = (struct kv_src **)(src + count),
		.skip_deleted = first == 0,
	};
	struct kv_table *t = NULL;
	struct kv_tb tb;
	uint64_t num, size = 0;
	uint32_t tier = 0;
	char path[4400];
	int r;

	if (!src)
		return mc_err_set(err, ENOMEM, "compact");
	for (uint32_t i = 0; i < count; i++) {
		src[i].t = v->t[first + i];
		src[i].prio = (int)i;
		if (src[i].t->tier + 1 > tier)
			tier = src[i].t->tier + 1;
	}
	pthread_mutex_lock(&kv->mu);
	num = kv->next_file++;
	pthread_mutex_unlock(&kv->mu);
	table_path(path, sizeof(path), kv->dir, num);
	r = kv_tb_open(&tb, path, kv->opt.block_size, kv->opt.bloom_bits_per_key, err);
	if (r < 0)
		goto out;
	for (kv_merger_seek(&m, NULL, 0); m.valid; kv_merger_next(&m)) {
		r = kv_tb_add(&tb, m.k, m.klen, m.v, m.vlen, m.kind);
		if (r < 0) {
			kv_tb_abort(&tb);
			r = mc_err_set(err, -r, "write table `%s`", path);
			goto out;
		}
	}
	if (m.status < 0) {
		kv_tb_abort(&tb);
		*err = m.err;
		r = m.status;
		goto out;
	}
	uint64_t entries = tb.entries;

	r = kv_tb_finish(&tb, &size, err);
	if (r < 0)
		goto out;
	if (entries == 0) {
		unlink(path);
	} else {
		r = kv_table_open(kv->dir, num, tier, &t, err);
		if (r < 0)
			goto out;
	}
	r = kv_install(kv, v->t + first, count, t, false, 0, 0, err);
	if (r < 0)
		goto out;
	atomic_fetch_add_explicit(&kv->st_compactions, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&kv->st_bytes_compacted, size, memory_order_relaxed);
out:
	free(src);
	if (r < 0)
		mc_err_wrap(err, "compact");
	return r;
}

static void set_bg_error(struct mc_kv *kv, int r, const struct mc_err *e)
{
	/* Called with mu held. A failed job stops writes: retrying blindly could loop. */
	kv_record_error(kv, e);
	if (!kv->bg_err)
		kv->bg_err = r;
	mc_log_warn("kv: background job: %s", e->msg);
}

void *kv_flush_main(void *arg)
{
	struct mc_kv *kv = arg;

	pthread_mutex_lock(&kv->mu);
	while (!kv->closing) {
		if (kv->imm && !kv->bg_err) {
			struct mc_err e = { 0 };

			pthread_mutex_unlock(&kv->mu);
			int r = kv_flush_imm(kv, &e);

			pthread_mutex_lock(&kv->mu);
			if (r < 0)
				set_bg_error(kv, r, &e);
			pthread_cond_broadcast(&kv->bg_cv);
			continue;
		}
		pthread_cond_wait(&kv->bg_cv, &kv->mu);
	}
	pthread_mutex_unlock(&kv->mu);
	return NULL;
}

void *kv_compact_main(void *arg)
{
	struct mc_kv *kv = arg;

	pthread_mutex_lock(&kv->mu);
	while (!kv->closing) {
		uint32_t first = 0, n = 0;

		if (!kv->bg_err)
			n = kv_pick_run(kv->cur, kv->opt.compaction_fanout, kv->want_full, &first);
		if (kv->want_full && !kv->bg_err) {
			kv->want_full = false;
			kv->full_running = true;
		}
		if (n || kv->full_running) {
			struct kv_version *v = kv->cur;
			struct mc_err e = { 0 };
			int r = 0;

			kv_version_ref(v);
			kv->compacting = true;
			pthread_mutex_unlock(&kv->mu);
			if (n)
				r = kv_merge_run(kv, v, first, n, &e);
			kv_version_unref(v);
			pthread_mutex_lock(&kv->mu);
			kv->compacting = false;
			if (kv->full_running) {
				kv->full_running = false;
				kv->full_done++;
			}
			if (r < 0)
				set_bg_error(kv, r, &e);
			pthread_cond_broadcast(&kv->bg_cv);
			continue;
		}
		pthread_cond_wait(&kv->bg_cv, &kv->mu);
	}
	pthread_mutex_unlock(&kv->mu);
	return NULL;
}
