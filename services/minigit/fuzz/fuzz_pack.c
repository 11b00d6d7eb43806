/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pack.c: libFuzzer target for pack reading. Input: a 4-byte big-endian index
 * length, the .idx bytes, then the .pack bytes. A valid pair has every object read
 * (deltas resolved); any pack is also read at a few raw offsets without an index, so
 * the object-header, zlib and delta paths are reached without a valid index.
 */
#include "../internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_obj(const struct git_pack *p, uint64_t off)
{
	enum mc_git_type t;
	void *obj;
	size_t len;
	char why[200];

	if (git_pack_read_at(NULL, p, off, 1 << 20, &t, &obj, &len, why, sizeof(why)) == 0)
		free(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct git_pack p;
	char why[200];
	size_t ilen;

	if (size < 4)
		return 0;
	ilen = (size_t)data[0] << 24 | (size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3];
	if (ilen <= size - 4 && git_pack_init_mem(&p, data + 4, ilen, data + 4 + ilen,
						  size - 4 - ilen, why, sizeof(why)) == 0) {
		for (uint32_t i = 0; i < p.nr && i < 256; i++) {
			int64_t off = git_pack_offset(&p, i);

			if (off >= 0)
				read_obj(&p, (uint64_t)off);
		}
	}
	/* The pack alone, with an empty index: REF_DELTA bases are never found. */
	static const uint8_t empty_fanout[8 + 1024];
	const uint8_t *pk = data + 4 + (ilen <= size - 4 ? ilen : 0);
	size_t plen = size - (size_t)(pk - data);

	if (plen >= 32) {
		memset(&p, 0, sizeof(p));
		p.pack = pk;
		p.pack_len = plen;
		p.fanout = (const uint32_t *)(empty_fanout + 8);
		for (size_t k = 0; k < 8 && k < plen - 20; k++)
			read_obj(&p, 12 + pk[plen - 20 - 1 - k] % (plen - 32 + 1));
		read_obj(&p, 12);
	}
	return 0;
}
