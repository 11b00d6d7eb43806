/* SPDX-License-Identifier: MIT */
/*
 * bloom.c: the per-table bloom filter. k probes derived from one 32-bit hash by
 * double hashing (delta = rotated hash). With 10 bits per key and k = 7 the false
 * positive rate is about 1%, so a point read of a missing key touches a data block
 * in ~1% of the tables it consults.
 *
 *   body: u32 nbits | u8 k | ceil(nbits/8) bytes of bits (bit i = byte i/8, 1 << i%8)
 */
#include "internal.h"

#include <errno.h>

int kv_bloom_build(struct mc_buf *out, const uint32_t *hashes, size_t n, uint32_t bits_per_key)
{
	uint64_t nbits = (uint64_t)n * bits_per_key;
	uint32_t k = (uint32_t)(bits_per_key * 69 / 100); /* ln 2 * bits/key is optimal */
	uint8_t hdr[5];

	if (nbits < 64)
		nbits = 64;
	if (nbits > UINT32_MAX - 7)
		nbits = UINT32_MAX - 7;
	if (k < 1)
		k = 1;
	if (k > 30)
		k = 30;
	size_t nbytes = (size_t)((nbits + 7) / 8);

	nbits = nbytes * 8;
	kv_put_u32(hdr, (uint32_t)nbits);
	hdr[4] = (uint8_t)k;
	if (mc_buf_append(out, hdr, 5) < 0 || mc_buf_reserve(out, nbytes) < 0)
		return -ENOMEM;
	uint8_t *bits = (uint8_t *)out->data + out->len;

	memset(bits, 0, nbytes);
	for (size_t i = 0; i < n; i++) {
		uint32_t h = hashes[i], delta = (h >> 17) | (h << 15);

		for (uint32_t j = 0; j < k; j++) {
			uint32_t pos = (uint32_t)(h % nbits);

			bits[pos / 8] |= (uint8_t)(1u << (pos % 8));
			h += delta;
		}
	}
	out->len += nbytes;
	out->data[out->len] = '\0';
	return 0;
}

bool kv_bloom_may_contain(const uint8_t *bloom, size_t len, uint32_t h)
{
	if (len < 5)
		return true;
	uint32_t nbits = kv_get_u32(bloom), k = bloom[4];
	const uint8_t *bits = bloom + 5;

	if (nbits == 0 || (nbits + 7) / 8 > len - 5 || k > 30)
		return true;
	uint32_t delta = (h >> 17) | (h << 15);

	for (uint32_t j = 0; j < k; j++) {
		uint32_t pos = h % nbits;

		if (!(bits[pos / 8] & (1u << (pos % 8))))
			return false;
		h += delta;
	}
	return true;
}
