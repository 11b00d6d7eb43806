/* SPDX-License-Identifier: MIT */
/*
 * table.c: reads an immutable table. The file is mapped read-only; the footer,
 * index and bloom filter are checked against their CRCs at open, and each data block
 * the first time it is read (a bit per block remembers it), so a flipped byte is
 * reported as MC_ECORRUPT with the file and offset instead of being returned as data.
 * A point read is: bloom probe, binary search of the in-memory index, binary search
 * of the block's offset array: O(log n) with no copies.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int corrupt(struct mc_err *err, const struct kv_table *t, uint64_t off, const char *what)
{
	return mc_err_setx(err, MC_ECORRUPT, "table `%s`: %s at offset %llu", t->path, what,
			   (unsigned long long)off);
}

static void table_free(struct kv_table *t)
{
	if (t->map)
		munmap((void *)t->map, t->size);
	if (t->fd >= 0)
		close(t->fd);
	free(t->index);
	free((void *)t->verified);
	free(t);
}

static bool crc_ok(const uint8_t *p, size_t len)
{
	return kv_crc32c(0, p, len) == kv_get_u32(p + len);
}

int kv_table_open(const char *dir, uint64_t num, uint32_t tier, struct kv_table **out,
		  struct mc_err *err)
{
	struct kv_table *t = calloc(1, sizeof(*t));
	struct stat st;
	int n;

	if (!t)
		return mc_err_set(err, ENOMEM, "open table %llu", (unsigned long long)num);
	t->fd = -1;
	t->num = num;
	t->tier = tier;
	atomic_init(&t->refs, 1);
	atomic_init(&t->obsolete, false);
	n = snprintf(t->path, sizeof(t->path), "%s/%06llu.sst", dir, (unsigned long long)num);
	if (n < 0 || (size_t)n >= sizeof(t->path)) {
		free(t);
		return mc_err_set(err, ENAMETOOLONG, "table path in `%s`", dir);
	}
	t->fd = open(t->path, O_RDONLY | O_CLOEXEC);
	if (t->fd < 0) {
		mc_err_set(err, errno, "open table `%s`", t->path);
		goto fail;
	}
	if (fstat(t->fd, &st) < 0) {
		mc_err_set(err, errno, "stat `%s`", t->path);
		goto fail;
	}
	t->size = (uint64_t)st.st_size;
	if (t->size < KV_SST_FOOTER) {
		corrupt(err, t, 0, "file too short for a footer");
		goto fail;
	}
	t->map = mmap(NULL, t->size, PROT_READ, MAP_SHARED, t->fd, 0);
	if (t->map == MAP_FAILED) {
		t->map = NULL;
		mc_err_set(err, errno, "mmap `%s`", t->path);
		goto fail;
	}
	madvise((void *)t->map, t->size, MADV_RANDOM);

	const uint8_t *f = t->map + t->size - KV_SST_FOOTER;
	uint64_t foff = t->size - KV_SST_FOOTER;

	if (memcmp(f + 40, KV_SST_MAGIC, 8) != 0) {
		corrupt(err, t, foff + 40, "bad magic in footer");
		goto fail;
	}
	if (kv_crc32c(0, f, 36) != kv_get_u32(f + 36)) {
		corrupt(err, t, foff, "footer checksum mismatch");
		goto fail;
	}
	if (kv_get_u32(f + 32) != KV_SST_VERSION) {
		corrupt(err, t, foff + 32, "unknown format version");
		goto fail;
	}
	uint64_t index_off = kv_get_u64(f), bloom_off = kv_get_u64(f + 16);
	uint32_t index_len = kv_get_u32(f + 8), bloom_len = kv_get_u32(f + 12);

	t->entries = kv_get_u64(f + 24);
	if (index_off > foff || index_len + 4ull > foff - index_off || index_len < 4 ||
	    bloom_off > index_off || bloom_len + 4ull > index_off - bloom_off) {
		corrupt(err, t, foff, "block handles out of range in footer");
		goto fail;
	}
	if (!crc_ok(t->map + index_off, index_len)) {
		corrupt(err, t, index_off, "index block checksum mismatch");
		goto fail;
	}
	if (!crc_ok(t->map + bloom_off, bloom_len)) {
		corrupt(err, t, bloom_off, "bloom block checksum mismatch");
		goto fail;
	}
	t->bloom = t->map + bloom_off;
	t->bloom_len = bloom_len;

	const uint8_t *p = t->map + index_off, *end = p + index_len - 4;
	uint32_t nb = kv_get_u32(end);

	if (nb > index_len / 13 + 1) {
		corrupt(err, t, index_off, "implausible block count in index");
		goto fail;
	}
	t->index = calloc(nb ? nb : 1, sizeof(*t->index));
	t->verified = calloc(nb / 64 + 1, sizeof(uint64_t));
	if (!t->index || !t->verified) {
		mc_err_set(err, ENOMEM, "open table `%s`", t->path);
		goto fail;
	}
	for (uint32_t i = 0; i < nb; i++) {
		uint64_t kl;

		if (kv_get_varint(&p, end, &kl) < 0 || kl > (uint64_t)(end - p) ||
		    (uint64_t)(end - p) - kl < 12) {
			corrupt(err, t, index_off, "malformed index entry");
			goto fail;
		}
		struct kv_index_ent *e = &t->index[i];

		e->last_key = p;
		e->klen = (uint32_t)kl;
		p += kl;
		e->off = kv_get_u64(p);
		e->size = kv_get_u32(p + 8);
		p += 12;
		if (e->off > bloom_off || e->size < 4 || e->size + 4ull > bloom_off - e->off) {
			corrupt(err, t, index_off, "index points outside the data area");
			goto fail;
		}
	}
	t->nblocks = nb;
	*out = t;
	return 0;
fail:
	table_free(t);
	return -err->code;
}

void kv_table_ref(struct kv_table *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void kv_table_unref(struct kv_table *t)
{
	if (!t)
		return;
	/* acq_rel: the last holder sees the obsolete flag set by the compaction thread. */
	if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (atomic_load_explicit(&t->obsolete, memory_order_relaxed)) {
		/* Best-effort: a leftover file is not in the manifest and goes at next open. */
		if (unlink(t->path) < 0)
			mc_log_warn("kv: unlink obsolete table `%s`: %m", t->path);
	}
	table_free(t);
}

int kv_table_block(struct kv_table *t, uint32_t i, struct kv_block *b, struct mc_err *err)
{
	const struct kv_index_ent *e = &t->index[i];
	const uint8_t *d = t->map + e->off;
	_Atomic uint64_t *word = &t->verified[i / 64];
	uint64_t bit = 1ull << (i % 64);

	/* Relaxed: the bit only saves work; a racing reader at worst checks again. */
	if (!(atomic_load_explicit(word, memory_order_relaxed) & bit)) {
		if (!crc_ok(d, e->size))
			return corrupt(err, t, e->off, "data block checksum mismatch");
		atomic_fetch_or_explicit(word, bit, memory_order_relaxed);
	}
	uint32_t n = kv_get_u32(d + e->size - 4);

	if ((uint64_t)n * 4 + 4 > e->size)
		return corrupt(err, t, e->off, "malformed data block");
	b->data = d;
	b->n = n;
	b->len = e->size - 4 - n * 4;
	b->offs = d + b->len;
	return 0;
}

int kv_block_entry(const struct kv_block *b, uint32_t j, const uint8_t **k, size_t *klen,
		   const uint8_t **v, size_t *vlen, int *kind)
{
	uint32_t off = kv_get_u32(b->offs + 4 * (size_t)j);
	const uint8_t *p = b->data + off, *end = b->data + b->len;
	uint64_t kl, vl;

	if (off >= b->len || kv_get_varint(&p, end, &kl) < 0 || kv_get_varint(&p, end, &vl) < 0 ||
	    p >= end || kl > (uint64_t)(end - p - 1) || vl > (uint64_t)(end - p - 1) - kl)
		return -MC_ECORRUPT;
	*kind = *p++;
	*k = p;
	*klen = kl;
	*v = p + kl;
	*vlen = vl;
	return 0;
}

int64_t kv_block_seek(const struct kv_block *b, const void *k, size_t klen)
{
	uint32_t lo = 0, hi = b->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const uint8_t *ek, *ev;
		size_t ekl, evl;
		int kind;

		if (kv_block_entry(b, mid, &ek, &ekl, &ev, &evl, &kind) < 0)
			return -1;
		if (kv_cmp(ek, ekl, k, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t kv_table_find_block(const struct kv_table *t, const void *k, size_t klen)
{
	uint32_t lo = 0, hi = t->nblocks;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (kv_cmp(t->index[mid].last_key, t->index[mid].klen, k, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int kv_table_get(struct kv_table *t, const void *k, size_t klen, uint32_t h, int *kind,
		 const uint8_t **v, size_t *vlen, struct mc_err *err)
{
	struct kv_block b;
	const uint8_t *ek;
	size_t ekl;
	int r;

	if (!kv_bloom_may_contain(t->bloom, t->bloom_len, h))
		return 0;
	uint32_t bi = kv_table_find_block(t, k, klen);

	if (bi >= t->nblocks)
		return 0;
	r = kv_table_block(t, bi, &b, err);
	if (r < 0)
		return r;
	int64_t j = kv_block_seek(&b, k, klen);

	if (j < 0)
		return corrupt(err, t, t->index[bi].off, "malformed entry in data block");
	if ((uint32_t)j >= b.n)
		return 0;
	if (kv_block_entry(&b, (uint32_t)j, &ek, &ekl, v, vlen, kind) < 0)
		return corrupt(err, t, t->index[bi].off, "malformed entry in data block");
	return kv_cmp(ek, ekl, k, klen) == 0;
}
