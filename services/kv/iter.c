/* SPDX-License-Identifier: MIT */
/*
 * iter.c: merging iteration. Each source (a memtable filtered to a snapshot
 * sequence, or a table) yields entries in key order; the merger yields each key
 * once, from the newest source that has it (highest prio), and optionally skips
 * tombstones. Compaction uses the merger directly; mc_kv_iter wraps it with refs on
 * the memtables and the version so the snapshot stays readable while flushes and
 * compactions replace them.
 *
 * The sources sit in a binary min-heap ordered by (key, newest first), so a step
 * costs O(log sources) comparisons; a sequential scan mostly pulls from the same
 * source again, which sifts down in one or two comparisons. Entries are never
 * copied: keys and values point into memtable nodes and mapped tables, both pinned
 * for the iterator's lifetime.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

static void src_load_mt(struct kv_src *s)
{
	while (s->node && s->node->seq > s->snap)
		s->node = kv_mt_next(s->node);
	s->valid = s->node != NULL;
	if (s->valid) {
		s->k = kv_mt_key(s->node);
		s->klen = s->node->klen;
		s->v = kv_mt_val(s->node);
		s->vlen = s->node->vlen;
		s->kind = s->node->kind;
	}
}

/* Positions a table source on entry (bi, ei) or the next one that exists. */
static int src_load_tbl(struct kv_src *s, bool block_loaded, struct mc_err *err)
{
	for (;;) {
		if (s->bi >= s->t->nblocks) {
			s->valid = false;
			return 0;
		}
		if (!block_loaded) {
			int r = kv_table_block(s->t, s->bi, &s->blk, err);

			if (r < 0) {
				s->valid = false;
				return r;
			}
			block_loaded = true;
		}
		if (s->ei < s->blk.n) {
			if (kv_block_entry(&s->blk, s->ei, &s->k, &s->klen, &s->v, &s->vlen,
					   &s->kind) < 0) {
				s->valid = false;
				return mc_err_setx(
					err, MC_ECORRUPT,
					"table `%s`: malformed entry in block at offset %llu",
					s->t->path, (unsigned long long)s->t->index[s->bi].off);
			}
			s->valid = true;
			return 0;
		}
		s->bi++;
		s->ei = 0;
		block_loaded = false;
	}
}

static int src_seek(struct kv_src *s, const void *k, size_t klen, struct mc_err *err)
{
	if (s->mt) {
		s->node = k ? kv_mt_seek(s->mt, k, klen, s->snap) : kv_mt_first(s->mt);
		src_load_mt(s);
		return 0;
	}
	s->bi = k ? kv_table_find_block(s->t, k, klen) : 0;
	s->ei = 0;
	if (s->bi >= s->t->nblocks) {
		s->valid = false;
		return 0;
	}
	int r = kv_table_block(s->t, s->bi, &s->blk, err);

	if (r < 0) {
		s->valid = false;
		return r;
	}
	if (k) {
		int64_t j = kv_block_seek(&s->blk, k, klen);

		if (j < 0) {
			s->valid = false;
			return mc_err_setx(err, MC_ECORRUPT,
					   "table `%s`: malformed entry in block at offset %llu",
					   s->t->path, (unsigned long long)s->t->index[s->bi].off);
		}
		s->ei = (uint32_t)j;
	}
	return src_load_tbl(s, true, err);
}

static int src_next(struct kv_src *s, struct mc_err *err)
{
	if (s->mt) {
		s->node = kv_mt_next(s->node);
		src_load_mt(s);
		return 0;
	}
	s->ei++;
	return src_load_tbl(s, true, err);
}

static void fail(struct kv_merger *m, int r)
{
	if (m->status == 0)
		m->status = r;
	m->valid = false;
}

/* Heap order: smaller key first; for equal keys the newer source (higher prio). */
static inline bool src_before(const struct kv_src *a, const struct kv_src *b)
{
	int c = kv_cmp(a->k, a->klen, b->k, b->klen);

	return c < 0 || (c == 0 && a->prio > b->prio);
}

static void sift_down(struct kv_merger *m, uint32_t i)
{
	struct kv_src **h = m->heap, *x = h[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= m->nheap)
			break;
		if (c + 1 < m->nheap && src_before(h[c + 1], h[c]))
			c++;
		if (!src_before(h[c], x))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

/* The root source moved on (or ran out): restore the heap. */
static void heap_fix_top(struct kv_merger *m)
{
	if (!m->heap[0]->valid) {
		m->heap[0] = m->heap[--m->nheap];
		if (!m->nheap)
			return;
	}
	sift_down(m, 0);
}

/* Moves every source past key (k, klen): they are the ones at the top of the heap. */
static void advance_past(struct kv_merger *m, const uint8_t *k, size_t klen)
{
	while (m->nheap) {
		struct kv_src *s = m->heap[0];

		if (kv_cmp(s->k, s->klen, k, klen) != 0)
			return;
		int r = src_next(s, &m->err);

		if (r < 0) {
			fail(m, r);
			return;
		}
		heap_fix_top(m);
	}
}

static void settle(struct kv_merger *m)
{
	while (m->status == 0) {
		if (!m->nheap) {
			m->valid = false;
			return;
		}
		const struct kv_src *best = m->heap[0];

		m->k = best->k;
		m->klen = best->klen;
		m->v = best->v;
		m->vlen = best->vlen;
		m->kind = best->kind;
		if (m->kind == KV_KIND_PUT_EXP && m->vlen < KV_EXP_LEN) {
			fail(m, -MC_ECORRUPT);
			return;
		}
		/* An expired value hides older versions like a tombstone (compaction
		 * keeps it: dropping it would bring those back). */
		if (m->skip_deleted && (m->kind == KV_KIND_DEL ||
					(m->kind == KV_KIND_PUT_EXP &&
					 kv_value_expiry(m->kind, m->v, m->vlen) <= kv_now_ms()))) {
			advance_past(m, m->k, m->klen);
			continue;
		}
		m->valid = true;
		return;
	}
	m->valid = false;
}

void kv_merger_seek(struct kv_merger *m, const void *k, size_t klen)
{
	m->status = 0;
	m->nheap = 0;
	for (uint32_t i = 0; i < m->n; i++) {
		int r = src_seek(&m->src[i], k, klen, &m->err);

		if (r < 0) {
			fail(m, r);
			return;
		}
		if (m->src[i].valid)
			m->heap[m->nheap++] = &m->src[i];
	}
	for (uint32_t i = m->nheap / 2; i-- > 0;)
		sift_down(m, i);
	settle(m);
}

void kv_merger_next(struct kv_merger *m)
{
	if (!m->valid)
		return;
	advance_past(m, m->k, m->klen);
	settle(m);
}

/* ---- the public iterator ---- */

struct mc_kv_iter {
	struct mc_kv *kv;
	struct kv_memtable *mem, *imm;
	struct kv_version *v;
	struct kv_merger m;
	struct kv_src src[]; /* then the heap: as many struct kv_src pointers */
};

int mc_kv_iter_new(struct mc_kv *kv, struct mc_kv_iter **out)
{
	struct mc_kv_iter *it;
	uint32_t n;

	pthread_mutex_lock(&kv->mu);
	n = kv->cur->n + 1 + (kv->imm ? 1 : 0);
	it = calloc(1, sizeof(*it) + n * (sizeof(it->src[0]) + sizeof(struct kv_src *)));
	if (!it) {
		pthread_mutex_unlock(&kv->mu);
		return -ENOMEM;
	}
	it->kv = kv;
	it->mem = kv->mem;
	it->imm = kv->imm;
	it->v = kv->cur;
	kv_mt_ref(it->mem);
	if (it->imm)
		kv_mt_ref(it->imm);
	kv_version_ref(it->v);
	/* Acquire pairs with the leader's release: entries up to snap are all linked in. */
	uint64_t snap = atomic_load_explicit(&kv->last_seq, memory_order_acquire);

	pthread_mutex_unlock(&kv->mu);

	uint32_t j = 0;

	for (uint32_t i = 0; i < it->v->n; i++)
		it->src[j++] = (struct kv_src){ .t = it->v->t[i], .prio = (int)i };
	if (it->imm)
		it->src[j++] = (struct kv_src){ .mt = it->imm, .snap = snap, .prio = (int)n };
	it->src[j++] = (struct kv_src){ .mt = it->mem, .snap = snap, .prio = (int)n + 1 };
	it->m.src = it->src;
	it->m.heap = (struct kv_src **)(it->src + n);
	it->m.n = j;
	it->m.skip_deleted = true;
	*out = it;
	return 0;
}

void mc_kv_iter_free(struct mc_kv_iter *it)
{
	if (!it)
		return;
	kv_mt_unref(it->mem);
	kv_mt_unref(it->imm);
	kv_version_unref(it->v);
	free(it);
}

static void iter_check(struct mc_kv_iter *it)
{
	if (it->m.status < 0)
		kv_record_error(it->kv, &it->m.err);
}

void mc_kv_iter_seek_first(struct mc_kv_iter *it)
{
	kv_merger_seek(&it->m, NULL, 0);
	iter_check(it);
}

void mc_kv_iter_seek(struct mc_kv_iter *it, const void *key, size_t klen)
{
	kv_merger_seek(&it->m, key ? key : "", key ? klen : 0);
	iter_check(it);
}

bool mc_kv_iter_valid(const struct mc_kv_iter *it)
{
	return it->m.valid;
}

void mc_kv_iter_next(struct mc_kv_iter *it)
{
	kv_merger_next(&it->m);
	iter_check(it);
}

const void *mc_kv_iter_key(const struct mc_kv_iter *it, size_t *len)
{
	*len = it->m.klen;
	return it->m.k;
}

const void *mc_kv_iter_value(const struct mc_kv_iter *it, size_t *len)
{
	/* The expiry prefix is the engine's, not the user's. */
	if (it->m.kind == KV_KIND_PUT_EXP) {
		*len = it->m.vlen - KV_EXP_LEN;
		return it->m.v + KV_EXP_LEN;
	}
	*len = it->m.vlen;
	return it->m.v;
}

int mc_kv_iter_status(const struct mc_kv_iter *it)
{
	return it->m.status;
}
