/* SPDX-License-Identifier: MIT */
/*
 * memtable.c: the in-memory write buffer, a skiplist over an arena. One writer (the
 * commit leader) inserts while any number of readers search and iterate without
 * locks: a node is fully written before a release store links it in, and readers
 * follow links with acquire loads. Nodes are never removed; the whole arena goes
 * at once when the last reference (the db, an iterator or a flush) is dropped.
 *
 * Insert and search are O(log n) expected (p = 1/4, at most 12 levels: good up to
 * ~16M entries per memtable, far beyond any flush threshold we use).
 *
 * Point lookups (kv_mt_get, every GET) do not walk the skiplist: a chained hash
 * index over the same nodes finds the newest entry of a key in about one cache miss
 * instead of the skiplist's ~2 per level (perf, 100k random keys, GET -P 16: the
 * skiplist search was 38% of kv-server's CPU). Same publication rule: a node is
 * complete before a release store puts it at the head of its chain.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

#define ARENA_CHUNK (256u * 1024)
/*
 * Fixed bucket count (the index never resizes, so readers need no lock): 512 KiB of
 * lazily zeroed pages per memtable; chains stay ~1-2 long up to ~100k entries, which
 * a 4 MiB write buffer of small values reaches, and degrade gently beyond.
 */
#define KV_MT_BUCKETS (1u << 16)

struct kv_arena_chunk {
	struct kv_arena_chunk *next;
	char data[];
};

static void *arena_alloc(struct kv_memtable *m, size_t size)
{
	size = (size + 7) & ~(size_t)7;
	if (size > m->arena_left) {
		/* Big entries get their own chunk so the current one keeps its tail. */
		size_t csize = size > ARENA_CHUNK / 4 ? size : ARENA_CHUNK;
		struct kv_arena_chunk *c = malloc(sizeof(*c) + csize);

		if (!c)
			return NULL;
		c->next = m->chunks;
		m->chunks = c;
		atomic_fetch_add_explicit(&m->bytes, csize, memory_order_relaxed);
		if (csize != ARENA_CHUNK)
			return c->data;
		m->arena_ptr = c->data;
		m->arena_left = csize;
	}
	void *p = m->arena_ptr;

	m->arena_ptr += size;
	m->arena_left -= size;
	return p;
}

static struct kv_mt_node *node_new(struct kv_memtable *m, int height, uint64_t seq, int kind,
				   const void *k, size_t klen, const void *v, size_t vlen)
{
	struct kv_mt_node *n =
		arena_alloc(m, sizeof(*n) + height * sizeof(n->next[0]) + klen + vlen);

	if (!n)
		return NULL;
	n->seq = seq;
	n->klen = (uint32_t)klen;
	n->vlen = (uint32_t)vlen;
	n->kind = (uint8_t)kind;
	n->height = (uint8_t)height;
	atomic_init(&n->hnext, NULL);
	for (int i = 0; i < height; i++)
		atomic_init(&n->next[i], NULL);
	if (klen)
		memcpy((uint8_t *)kv_mt_key(n), k, klen);
	if (vlen)
		memcpy((uint8_t *)kv_mt_val(n), v, vlen);
	return n;
}

struct kv_memtable *kv_mt_new(uint64_t wal_num)
{
	struct kv_memtable *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->head = node_new(m, KV_MT_MAX_HEIGHT, 0, 0, NULL, 0, NULL, 0);
	m->buckets = calloc(KV_MT_BUCKETS, sizeof(*m->buckets));
	if (!m->head || !m->buckets) {
		free(m->buckets);
		while (m->chunks) {
			struct kv_arena_chunk *c = m->chunks;

			m->chunks = c->next;
			free(c);
		}
		free(m);
		return NULL;
	}
	m->rnd = 0x2545f4914f6cdd1dull ^ wal_num;
	atomic_init(&m->max_height, 1);
	atomic_init(&m->refs, 1);
	m->wal_num = wal_num;
	return m;
}

void kv_mt_ref(struct kv_memtable *m)
{
	atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void kv_mt_unref(struct kv_memtable *m)
{
	if (!m)
		return;
	/* acq_rel: the last dropper must see every write made by the other holders. */
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
		return;
	while (m->chunks) {
		struct kv_arena_chunk *c = m->chunks;

		m->chunks = c->next;
		free(c);
	}
	free(m->buckets);
	free(m);
}

/* (k, seq) order: key ascending, then seq descending. */
static int node_cmp(const struct kv_mt_node *n, const void *k, size_t klen, uint64_t seq)
{
	int r = kv_cmp(kv_mt_key(n), n->klen, k, klen);

	if (r)
		return r;
	return n->seq > seq ? -1 : n->seq < seq;
}

static inline struct kv_mt_node *next_at(struct kv_mt_node *n, int level)
{
	/* Pairs with the release store in kv_mt_add. */
	return atomic_load_explicit(&n->next[level], memory_order_acquire);
}

/* Finds the first node >= (k, seq); fills prev[] with the last node < it per level. */
static struct kv_mt_node *find_ge(struct kv_memtable *m, const void *k, size_t klen, uint64_t seq,
				  struct kv_mt_node **prev)
{
	struct kv_mt_node *x = m->head;
	int level = atomic_load_explicit(&m->max_height, memory_order_relaxed) - 1;

	for (;;) {
		struct kv_mt_node *nx = next_at(x, level);

		if (nx && node_cmp(nx, k, klen, seq) < 0) {
			x = nx;
			continue;
		}
		if (prev)
			prev[level] = x;
		if (level == 0)
			return nx;
		level--;
	}
}

int kv_mt_add(struct kv_memtable *m, uint64_t seq, int kind, const void *k, size_t klen,
	      const void *v, size_t vlen)
{
	struct kv_mt_node *prev[KV_MT_MAX_HEIGHT];
	int height = 1;

	/* xorshift64: a height of h with probability (1/4)^(h-1) */
	m->rnd ^= m->rnd << 13;
	m->rnd ^= m->rnd >> 7;
	m->rnd ^= m->rnd << 17;
	for (uint64_t r = m->rnd; height < KV_MT_MAX_HEIGHT && (r & 3) == 0; r >>= 2)
		height++;

	find_ge(m, k, klen, seq, prev);
	struct kv_mt_node *n = node_new(m, height, seq, kind, k, klen, v, vlen);

	if (!n)
		return -ENOMEM;
	if (height > m->max_height) {
		for (int i = m->max_height; i < height; i++)
			prev[i] = m->head;
		/*
		 * Relaxed is enough: a reader that sees the new height early finds NULL
		 * (or the new node, published below) in head's upper links and drops a level.
		 */
		atomic_store_explicit(&m->max_height, height, memory_order_relaxed);
	}
	for (int i = 0; i < height; i++) {
		/* The new node's own link can be relaxed: it is not reachable yet. */
		atomic_store_explicit(&n->next[i], next_at(prev[i], i), memory_order_relaxed);
		/* Release: publishes the node's contents to readers (acquire in next_at). */
		atomic_store_explicit(&prev[i]->next[i], n, memory_order_release);
	}
	/*
	 * Hash chain: entries arrive in seq order (one writer), so the newest node of a
	 * key is the first match in its chain. Release as for the skiplist links.
	 */
	_Atomic(struct kv_mt_node *) *b = &m->buckets[kv_hash(k, klen) & (KV_MT_BUCKETS - 1)];

	atomic_store_explicit(&n->hnext, atomic_load_explicit(b, memory_order_relaxed),
			      memory_order_relaxed);
	atomic_store_explicit(b, n, memory_order_release);
	atomic_fetch_add_explicit(&m->entries, 1, memory_order_relaxed);
	return 0;
}

int kv_mt_get(struct kv_memtable *m, const void *k, size_t klen, const struct kv_mt_node **node)
{
	struct kv_mt_node *n = atomic_load_explicit(
		&m->buckets[kv_hash(k, klen) & (KV_MT_BUCKETS - 1)], memory_order_acquire);

	for (; n; n = atomic_load_explicit(&n->hnext, memory_order_acquire)) {
		if (n->klen == klen && memcmp(kv_mt_key(n), k, klen) == 0) {
			*node = n;
			return 1;
		}
	}
	return 0;
}

const struct kv_mt_node *kv_mt_seek(struct kv_memtable *m, const void *k, size_t klen, uint64_t seq)
{
	return find_ge(m, k, klen, seq, NULL);
}

const struct kv_mt_node *kv_mt_first(struct kv_memtable *m)
{
	return next_at(m->head, 0);
}
