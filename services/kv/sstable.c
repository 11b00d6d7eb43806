/* SPDX-License-Identifier: MIT */
/*
 * sstable.c: writes a sorted table (NNNNNN.sst) from entries given in key order.
 * Layout, byte by byte in docs/kv-format.md:
 *
 *   +--------------+-----+--------------+-------------+-------------+-----------+
 *   | data block 0 | ... | data block N | bloom block | index block | footer 48 |
 *   +--------------+-----+--------------+-------------+-------------+-----------+
 *   every block is followed by the CRC32C of its bytes (u32)
 *
 *   data block:  entry* | u32 offset[n] | u32 n
 *                entry = varint klen | varint vlen | u8 kind | key | value
 *   bloom block: u32 nbits | u8 k | bits
 *   index block: ( varint klen | last key of block | u64 offset | u32 size )* | u32 n
 *   footer:      u64 index_off | u32 index_len | u32 bloom_len | u64 bloom_off |
 *                u64 entries | u32 version | u32 crc(bytes 0..35) | "mcKVsst1"
 *
 * The builder keeps the file's tail in memory and writes it in 1 MiB pieces; the
 * file is fsynced by kv_tb_finish before anybody may reference it.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define OUT_CHUNK (1u << 20)

int kv_tb_open(struct kv_tb *tb, const char *path, uint32_t block_size, uint32_t bloom_bits,
	       struct mc_err *err)
{
	memset(tb, 0, sizeof(*tb));
	if (mc_strlcpy(tb->path, path, sizeof(tb->path)) >= sizeof(tb->path))
		return mc_err_set(err, ENAMETOOLONG, "create `%s`", path);
	tb->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (tb->fd < 0)
		return mc_err_set(err, errno, "create `%s`", path);
	tb->block_size = block_size ? block_size : 4096;
	tb->bloom_bits = bloom_bits;
	return 0;
}

static void tb_free(struct kv_tb *tb)
{
	mc_buf_release(&tb->out);
	mc_buf_release(&tb->block);
	mc_buf_release(&tb->last_key);
	mc_buf_release(&tb->index);
	free(tb->offs);
	free(tb->hashes);
	tb->offs = NULL;
	tb->hashes = NULL;
}

void kv_tb_abort(struct kv_tb *tb)
{
	if (tb->fd >= 0) {
		close(tb->fd);
		unlink(tb->path);
	}
	tb->fd = -1;
	tb_free(tb);
}

static int tb_drain(struct kv_tb *tb, bool all)
{
	if (tb->out.len < OUT_CHUNK && !all)
		return 0;
	int r = mc_write_all(tb->fd, tb->out.data, tb->out.len);

	if (r < 0)
		return r;
	tb->off += tb->out.len;
	tb->out.len = 0;
	return 0;
}

/* Appends @len bytes of a block plus its CRC to the output. */
static int tb_emit(struct kv_tb *tb, const void *data, size_t len, uint64_t *off)
{
	uint8_t crc[4];

	kv_put_u32(crc, kv_crc32c(0, data, len));
	*off = tb->off + tb->out.len;
	if (mc_buf_append(&tb->out, data, len) < 0 || mc_buf_append(&tb->out, crc, 4) < 0)
		return -ENOMEM;
	return tb_drain(tb, false);
}

static int tb_flush_block(struct kv_tb *tb)
{
	uint8_t tail[4], ient[10 + 12];
	uint64_t off;
	size_t n;

	if (tb->noffs == 0)
		return 0;
	if (mc_buf_append(&tb->block, tb->offs, tb->noffs * 4) < 0)
		return -ENOMEM;
	kv_put_u32(tail, (uint32_t)tb->noffs);
	if (mc_buf_append(&tb->block, tail, 4) < 0)
		return -ENOMEM;
	uint32_t size = (uint32_t)tb->block.len;
	int r = tb_emit(tb, tb->block.data, tb->block.len, &off);

	if (r < 0)
		return r;
	n = kv_put_varint(ient, tb->last_key.len);
	if (mc_buf_append(&tb->index, ient, n) < 0 ||
	    mc_buf_append(&tb->index, tb->last_key.data, tb->last_key.len) < 0)
		return -ENOMEM;
	kv_put_u64(ient, off);
	kv_put_u32(ient + 8, size);
	if (mc_buf_append(&tb->index, ient, 12) < 0)
		return -ENOMEM;
	tb->block.len = 0;
	tb->noffs = 0;
	return 0;
}

int kv_tb_add(struct kv_tb *tb, const void *k, size_t klen, const void *v, size_t vlen, int kind)
{
	uint8_t hdr[21];
	size_t h;

	if (tb->noffs == tb->offs_cap) {
		size_t cap = tb->offs_cap ? tb->offs_cap * 2 : 256;
		uint32_t *p = realloc(tb->offs, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		tb->offs = p;
		tb->offs_cap = cap;
	}
	if (tb->nhashes == tb->hashes_cap) {
		size_t cap = tb->hashes_cap ? tb->hashes_cap * 2 : 4096;
		uint32_t *p = realloc(tb->hashes, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		tb->hashes = p;
		tb->hashes_cap = cap;
	}
	tb->hashes[tb->nhashes++] = kv_hash(k, klen);
	kv_put_u32(&tb->offs[tb->noffs++], (uint32_t)tb->block.len);
	h = kv_put_varint(hdr, klen);
	h += kv_put_varint(hdr + h, vlen);
	hdr[h++] = (uint8_t)kind;
	if (mc_buf_reserve(&tb->block, h + klen + vlen) < 0)
		return -ENOMEM;
	mc_buf_append(&tb->block, hdr, h);
	mc_buf_append(&tb->block, k, klen);
	mc_buf_append(&tb->block, v, vlen);
	tb->last_key.len = 0;
	if (mc_buf_append(&tb->last_key, k, klen) < 0)
		return -ENOMEM;
	tb->entries++;
	if (tb->block.len + tb->noffs * 4 + 4 >= tb->block_size)
		return tb_flush_block(tb);
	return 0;
}

int kv_tb_finish(struct kv_tb *tb, uint64_t *size, struct mc_err *err)
{
	struct mc_buf bloom = MC_BUF_INIT;
	uint8_t foot[KV_SST_FOOTER], cnt[4];
	uint64_t bloom_off, index_off;
	int r;

	r = tb_flush_block(tb);
	if (r < 0)
		goto out;
	r = kv_bloom_build(&bloom, tb->hashes, tb->nhashes, tb->bloom_bits ? tb->bloom_bits : 10);
	if (r < 0)
		goto out;
	r = tb_emit(tb, bloom.data, bloom.len, &bloom_off);
	if (r < 0)
		goto out;
	/* The index's entry count: how many blocks were emitted. */
	uint32_t nblocks = 0;

	for (const uint8_t *p = (uint8_t *)tb->index.data, *end = p + tb->index.len; p < end;) {
		uint64_t kl;

		kv_get_varint(&p, end, &kl);
		p += kl + 12;
		nblocks++;
	}
	kv_put_u32(cnt, nblocks);
	if (mc_buf_append(&tb->index, cnt, 4) < 0) {
		r = -ENOMEM;
		goto out;
	}
	r = tb_emit(tb, tb->index.data, tb->index.len, &index_off);
	if (r < 0)
		goto out;
	kv_put_u64(foot, index_off);
	kv_put_u32(foot + 8, (uint32_t)tb->index.len);
	kv_put_u32(foot + 12, (uint32_t)bloom.len);
	kv_put_u64(foot + 16, bloom_off);
	kv_put_u64(foot + 24, tb->entries);
	kv_put_u32(foot + 32, KV_SST_VERSION);
	kv_put_u32(foot + 36, kv_crc32c(0, foot, 36));
	memcpy(foot + 40, KV_SST_MAGIC, 8);
	if (mc_buf_append(&tb->out, foot, sizeof(foot)) < 0) {
		r = -ENOMEM;
		goto out;
	}
	r = tb_drain(tb, true);
	if (r < 0)
		goto out;
	if (fdatasync(tb->fd) < 0) {
		r = -errno;
		goto out;
	}
	*size = tb->off;
	close(tb->fd);
	tb->fd = -1;
	mc_buf_release(&bloom);
	tb_free(tb);
	return 0;
out:
	mc_buf_release(&bloom);
	mc_err_set(err, -r, "write table `%s`", tb->path);
	kv_tb_abort(tb);
	return r;
}
