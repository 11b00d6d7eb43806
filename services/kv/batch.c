/* SPDX-License-Identifier: MIT */
/*
 * batch.c: write batches. The in-memory representation is byte for byte the WAL
 * record payload, so committing a batch is one writev with no re-encoding.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

struct mc_kv_batch *mc_kv_batch_new(void)
{
	struct mc_kv_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	mc_buf_init(&b->rep);
	if (mc_buf_append(&b->rep, "\0\0\0\0", 4) < 0) {
		free(b);
		return NULL;
	}
	return b;
}

void mc_kv_batch_free(struct mc_kv_batch *b)
{
	if (!b)
		return;
	mc_buf_release(&b->rep);
	free(b);
}

void mc_kv_batch_clear(struct mc_kv_batch *b)
{
	b->rep.len = 4;
	kv_put_u32(b->rep.data, 0);
	b->count = 0;
	b->user_bytes = 0;
}

uint32_t mc_kv_batch_count(const struct mc_kv_batch *b)
{
	return b->count;
}

static int batch_add(struct mc_kv_batch *b, int kind, const void *k, size_t klen, const void *v,
		     size_t vlen, uint64_t exp)
{
	uint8_t hdr[21 + KV_EXP_LEN];
	size_t h = 0, ev = kind == KV_KIND_PUT_EXP ? KV_EXP_LEN : 0;

	if (klen > MC_KV_MAX_KEY || vlen > MC_KV_MAX_VALUE)
		return -E2BIG;
	hdr[h++] = (uint8_t)kind;
	h += kv_put_varint(hdr + h, klen);
	if (kind != KV_KIND_DEL)
		h += kv_put_varint(hdr + h, vlen + ev);
	if (mc_buf_reserve(&b->rep, h + klen + ev + vlen) < 0)
		return -ENOMEM;
	mc_buf_append(&b->rep, hdr, h);
	mc_buf_append(&b->rep, k, klen);
	if (ev) {
		kv_put_u64(hdr, exp);
		mc_buf_append(&b->rep, hdr, KV_EXP_LEN);
	}
	if (kind != KV_KIND_DEL)
		mc_buf_append(&b->rep, v, vlen);
	b->count++;
	b->user_bytes += klen + vlen;
	kv_put_u32(b->rep.data, b->count);
	return 0;
}

int mc_kv_batch_put(struct mc_kv_batch *b, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	return batch_add(b, KV_KIND_PUT, key, klen, val, vlen, 0);
}

int mc_kv_batch_put_exp(struct mc_kv_batch *b, const void *key, size_t klen, const void *val,
			size_t vlen, uint64_t expire_ms)
{
	if (!expire_ms)
		return batch_add(b, KV_KIND_PUT, key, klen, val, vlen, 0);
	return batch_add(b, KV_KIND_PUT_EXP, key, klen, val, vlen, expire_ms);
}

int mc_kv_batch_delete(struct mc_kv_batch *b, const void *key, size_t klen)
{
	return batch_add(b, KV_KIND_DEL, key, klen, NULL, 0, 0);
}

int kv_batch_foreach(const uint8_t *rep, size_t len, kv_batch_fn *fn, void *arg)
{
	const uint8_t *p = rep, *end = rep + len;
	uint32_t count;

	if (len < 4)
		return -MC_ECORRUPT;
	count = kv_get_u32(p);
	p += 4;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t klen, vlen = 0;
		int kind;

		if (p >= end)
			return -MC_ECORRUPT;
		kind = *p++;
		if (kind != KV_KIND_PUT && kind != KV_KIND_DEL && kind != KV_KIND_PUT_EXP)
			return -MC_ECORRUPT;
		if (kv_get_varint(&p, end, &klen) < 0)
			return -MC_ECORRUPT;
		if (kind != KV_KIND_DEL && kv_get_varint(&p, end, &vlen) < 0)
			return -MC_ECORRUPT;
		if (kind == KV_KIND_PUT_EXP && vlen < KV_EXP_LEN)
			return -MC_ECORRUPT;
		if (klen > (uint64_t)(end - p) || vlen > (uint64_t)(end - p) - klen)
			return -MC_ECORRUPT;
		int r = fn(arg, kind, p, klen, p + klen, vlen);

		if (r < 0)
			return r;
		p += klen + vlen;
	}
	return p == end ? 0 : -MC_ECORRUPT;
}
