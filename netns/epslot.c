/* SPDX-License-Identifier: MIT */
/*
 * epslot.c: the format of NAME.ep, the endpoint state of a network: two equal
 * slots, each a header (magic, generation, length, CRC-32) followed by the record's
 * JSON. Pure functions over bytes (no I/O), so the parser is fuzzed alone; store.c
 * does the reading and the in-place writing.
 */
#include <string.h>

#include "internal.h"

#define EP_MAGIC "MCNETEP1"

struct ep_hdr {
	char magic[8];
	uint64_t gen; /* the newer valid slot wins */
	uint32_t len; /* bytes of JSON after the header */
	uint32_t crc; /* CRC-32 of the header (crc = 0) and the JSON */
	uint64_t reserved;
};
_Static_assert(sizeof(struct ep_hdr) == EPSLOT_HDR, "slot header size");

static uint32_t crc32_update(uint32_t crc, const void *data, size_t n)
{
	static uint32_t table[256];
	const unsigned char *p = data;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t hdr_crc(const struct ep_hdr *h, const char *json)
{
	struct ep_hdr z = *h;

	z.crc = 0;
	return crc32_update(crc32_update(0, &z, sizeof(z)), json, h->len);
}

size_t epslot_size_for(size_t len)
{
	size_t slot = EPSLOT_MIN;

	while (slot < 2 * (EPSLOT_HDR + len))
		slot *= 2;
	return slot;
}

void epslot_fill(char *dst, uint64_t gen, const char *json, size_t len)
{
	struct ep_hdr h = { .gen = gen, .len = (uint32_t)len };

	memcpy(h.magic, EP_MAGIC, sizeof(h.magic));
	h.crc = hdr_crc(&h, json);
	memcpy(dst, &h, sizeof(h));
	memmove(dst + sizeof(h), json, len);
}

int epslot_pick(const char *img, size_t size, const char **json, size_t *len, uint64_t *gen)
{
	size_t slot = size / 2;
	int best = -1;

	if (size % 2 || slot < EPSLOT_MIN || (slot & (slot - 1)))
		return -1;
	for (int i = 0; i < 2; i++) {
		const char *base = img + (size_t)i * slot;
		struct ep_hdr h;

		memcpy(&h, base, sizeof(h));
		if (memcmp(h.magic, EP_MAGIC, 8) != 0 || h.len > slot - sizeof(h) ||
		    hdr_crc(&h, base + sizeof(h)) != h.crc)
			continue;
		if (best < 0 || h.gen > *gen) {
			*gen = h.gen;
			*json = base + sizeof(h);
			*len = h.len;
			best = i;
		}
	}
	return best;
}
