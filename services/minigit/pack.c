/* SPDX-License-Identifier: MIT */
/*
 * pack.c: reading packfiles. An .idx (version 2) maps sorted ids to offsets in the
 * .pack; objects there are zlib streams behind a varint header, whole or as deltas
 * against a base found by offset (OFS_DELTA) or by id (REF_DELTA). Every offset,
 * size and delta instruction is bounds-checked: packs may be hostile. See
 * docs/minigit.md for the byte layouts.
 */
#include "internal.h"

#include <mc/cleanup.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define OBJ_OFS_DELTA 6
#define OBJ_REF_DELTA 7
/* Longest delta chain followed: git's own packs use at most 50 (250 with --aggressive). */
#define MAX_CHAIN 4096

static uint32_t be32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

int git_pack_init_mem(struct git_pack *p, const uint8_t *idx, size_t idx_len, const uint8_t *pack,
		      size_t pack_len, char *why, size_t whysz)
{
	static const uint8_t magic[4] = { 0xff, 't', 'O', 'c' };
	size_t fixed = 8 + 256 * 4, need;
	uint32_t n, prev = 0;

	memset(p, 0, sizeof(*p));
	if (idx_len < fixed + 40 || memcmp(idx, magic, 4) != 0 || be32(idx + 4) != 2)
		return snprintf(why, whysz, "not a version 2 pack index"), -MC_ECORRUPT;
	p->fanout = (const uint32_t *)(idx + 8);
	for (int i = 0; i < 256; i++) {
		uint32_t c = be32(idx + 8 + 4 * i);

		if (c < prev)
			return snprintf(why, whysz, "index fan-out is not sorted"), -MC_ECORRUPT;
		prev = c;
	}
	n = prev;
	need = fixed + (size_t)n * 28 + 40;
	if (idx_len < need || (idx_len - need) % 8 != 0)
		return snprintf(why, whysz, "index size does not match %u objects", n),
		       -MC_ECORRUPT;
	p->nr = n;
	p->oids = idx + fixed;
	p->offsets = (const uint32_t *)(idx + fixed + (size_t)n * 24);
	p->large = idx + fixed + (size_t)n * 28;
	p->nlarge = (uint32_t)((idx_len - need) / 8);
	p->idx = idx;
	p->idx_len = idx_len;
	if (pack_len < 32 || memcmp(pack, "PACK", 4) != 0 ||
	    (be32(pack + 4) != 2 && be32(pack + 4) != 3))
		return snprintf(why, whysz, "not a version 2 or 3 pack"), -MC_ECORRUPT;
	if (be32(pack + 8) != n)
		return snprintf(why, whysz, "pack has %u objects, index %u", be32(pack + 8), n),
		       -MC_ECORRUPT;
	/* The index records the pack's trailing checksum: a mismatch means the wrong pair. */
	if (memcmp(idx + idx_len - 40, pack + pack_len - 20, 20) != 0)
		return snprintf(why, whysz, "index does not belong to this pack"), -MC_ECORRUPT;
	p->pack = pack;
	p->pack_len = pack_len;
	return 0;
}

int64_t git_pack_offset(const struct git_pack *p, uint32_t i)
{
	uint32_t o = be32(&p->offsets[i]);

	if (o & 0x80000000u) {
		uint32_t li = o & 0x7fffffffu;

		if (li >= p->nlarge)
			return -1;
		uint64_t v = (uint64_t)be32(p->large + 8 * (size_t)li) << 32 |
			     be32(p->large + 8 * (size_t)li + 4);

		return v > (uint64_t)INT64_MAX ? -1 : (int64_t)v;
	}
	return o;
}

int64_t git_pack_find(const struct git_pack *p, const struct mc_git_oid *oid)
{
	uint8_t b = oid->id[0];
	uint32_t lo = b ? be32(&p->fanout[b - 1]) : 0, hi = be32(&p->fanout[b]);

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(p->oids + (size_t)mid * 20, oid->id, 20);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- object headers and zlib ---- */

struct obj_hdr {
	int type;	    /* 1..4, 6, 7 */
	size_t size;	    /* inflated size (of the delta, for deltas) */
	size_t data;	    /* offset of the zlib stream */
	uint64_t base;	    /* OFS_DELTA: the base's offset */
	const uint8_t *ref; /* REF_DELTA: the base's id */
};

static int parse_obj_hdr(const struct git_pack *p, uint64_t off, struct obj_hdr *h, char *why,
			 size_t whysz)
{
	size_t end = p->pack_len - 20, i = (size_t)off;
	unsigned shift = 4;
	uint8_t c;

	if (off < 12 || off >= end)
		return snprintf(why, whysz, "object offset %llu out of range",
				(unsigned long long)off),
		       -MC_ECORRUPT;
	c = p->pack[i++];
	h->type = (c >> 4) & 7;
	h->size = c & 15;
	while (c & 0x80) {
		if (i >= end || shift > 57)
			return snprintf(why, whysz, "bad object header at offset %llu",
					(unsigned long long)off),
			       -MC_ECORRUPT;
		c = p->pack[i++];
		h->size |= (size_t)(c & 0x7f) << shift;
		shift += 7;
	}
	if (h->type == OBJ_OFS_DELTA) {
		uint64_t rel;

		if (i >= end)
			goto trunc;
		c = p->pack[i++];
		rel = c & 0x7f;
		while (c & 0x80) {
			if (i >= end || rel > (UINT64_MAX >> 8))
				goto trunc;
			c = p->pack[i++];
			rel = ((rel + 1) << 7) | (c & 0x7f);
		}
		if (rel == 0 || rel >= off)
			return snprintf(why, whysz, "delta base offset out of range at %llu",
					(unsigned long long)off),
			       -MC_ECORRUPT;
		h->base = off - rel;
	} else if (h->type == OBJ_REF_DELTA) {
		if (end - i < 20)
			goto trunc;
		h->ref = p->pack + i;
		i += 20;
	} else if (h->type < MC_GIT_COMMIT || h->type > MC_GIT_TAG) {
		return snprintf(why, whysz, "bad object type %d at offset %llu", h->type,
				(unsigned long long)off),
		       -MC_ECORRUPT;
	}
	h->data = i;
	return 0;
trunc:
	return snprintf(why, whysz, "truncated object header at offset %llu",
			(unsigned long long)off),
	       -MC_ECORRUPT;
}

/* Inflates exactly @size bytes from the stream at @pos; anything else is corruption. */
static int inflate_exact(const struct git_pack *p, size_t pos, size_t size, uint8_t **out,
			 char *why, size_t whysz)
{
	z_stream z = { 0 };
	uint8_t *buf = malloc(size + 1), extra;
	int zr;

	if (!buf)
		return snprintf(why, whysz, "out of memory for %zu bytes", size), -ENOMEM;
	if (inflateInit(&z) != Z_OK) {
		free(buf);
		return snprintf(why, whysz, "zlib init failed"), -ENOMEM;
	}
	z.next_in = (Bytef *)p->pack + pos;
	z.avail_in = (uInt)MC_MIN(p->pack_len - 20 - pos, (size_t)UINT32_MAX);
	z.next_out = buf;
	z.avail_out = (uInt)size;
	do {
		zr = inflate(&z, Z_FINISH);
		if (zr == Z_BUF_ERROR && z.avail_out == 0 && z.avail_in > 0) {
			/* Output full but the stream goes on: probe whether it has more bytes. */
			z.next_out = &extra;
			z.avail_out = 1;
			zr = inflate(&z, Z_FINISH);
			if (z.avail_out == 0) {
				snprintf(why, whysz, "inflated size exceeds %zu at pack offset %zu",
					 size, pos);
				goto fail;
			}
		}
	} while (zr == Z_OK);
	if (zr != Z_STREAM_END) {
		snprintf(why, whysz, "zlib: %s at pack offset %zu",
			 z.msg ? z.msg : "truncated stream", pos);
		goto fail;
	}
	if (z.total_out != size) {
		snprintf(why, whysz, "size mismatch at pack offset %zu: %zu != %lu", pos, size,
			 (unsigned long)z.total_out);
		goto fail;
	}
	inflateEnd(&z);
	buf[size] = 0;
	*out = buf;
	return 0;
fail:
	inflateEnd(&z);
	free(buf);
	return -MC_ECORRUPT;
}

/* ---- deltas ---- */

static int delta_varint(const uint8_t **p, const uint8_t *end, size_t *out)
{
	size_t v = 0;
	unsigned shift = 0;
	uint8_t c;

	do {
		if (*p >= end || shift > 63)
			return -1;
		c = *(*p)++;
		v |= (size_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	*out = v;
	return 0;
}

int git_delta_apply(const uint8_t *base, size_t base_len, const uint8_t *delta, size_t dlen,
		    size_t max, uint8_t **out, size_t *out_len, char *why, size_t whysz)
{
	const uint8_t *d = delta, *end = delta + dlen;
	size_t src_size, dst_size, o = 0;
	uint8_t *dst;

	if (delta_varint(&d, end, &src_size) < 0 || delta_varint(&d, end, &dst_size) < 0)
		return snprintf(why, whysz, "truncated delta header"), -MC_ECORRUPT;
	if (src_size != base_len)
		return snprintf(why, whysz, "delta base size %zu != %zu", src_size, base_len),
		       -MC_ECORRUPT;
	if (dst_size > max)
		return snprintf(why, whysz, "delta result too large (%zu bytes)", dst_size),
		       -MC_ECORRUPT;
	dst = malloc(dst_size + 1);
	if (!dst)
		return snprintf(why, whysz, "out of memory for %zu bytes", dst_size), -ENOMEM;
	while (d < end) {
		uint8_t op = *d++;

		if (op & 0x80) {
			size_t off = 0, sz = 0;

			for (int i = 0; i < 4; i++)
				if (op & (1u << i)) {
					if (d >= end)
						goto bad;
					off |= (size_t)*d++ << (8 * i);
				}
			for (int i = 0; i < 3; i++)
				if (op & (0x10u << i)) {
					if (d >= end)
						goto bad;
					sz |= (size_t)*d++ << (8 * i);
				}
			if (sz == 0)
				sz = 0x10000;
			if (off > base_len || sz > base_len - off || sz > dst_size - o)
				goto bad;
			memcpy(dst + o, base + off, sz);
			o += sz;
		} else if (op) {
			if (op > (size_t)(end - d) || op > dst_size - o)
				goto bad;
			memcpy(dst + o, d, op);
			d += op;
			o += op;
		} else {
			goto bad; /* opcode 0 is reserved */
		}
	}
	if (o != dst_size)
		goto bad;
	dst[o] = 0;
	*out = dst;
	*out_len = o;
	return 0;
bad:
	free(dst);
	return snprintf(why, whysz, "malformed delta"), -MC_ECORRUPT;
}

/* REF_DELTA bases outside this pack are read through the repository; this bounds that. */
static __thread int ref_depth;

int git_pack_read_at(struct mc_git_repo *repo, const struct git_pack *p, uint64_t off, size_t max,
		     enum mc_git_type *type, void **data, size_t *len, char *why, size_t whysz)
{
	struct obj_hdr chain[64], *stack = chain, h;
	size_t n = 0, cap = MC_ARRAY_SIZE(chain), blen = 0;
	uint8_t *base = NULL;
	enum mc_git_type btype = MC_GIT_BAD;
	int r;

	/* Walk down to a whole object, remembering each delta on the way. */
	for (;;) {
		r = parse_obj_hdr(p, off, &h, why, whysz);
		if (r < 0)
			goto out;
		if (h.type != OBJ_OFS_DELTA && h.type != OBJ_REF_DELTA)
			break;
		if (n == MAX_CHAIN) {
			snprintf(why, whysz, "delta chain longer than %d", MAX_CHAIN);
			r = -MC_ECORRUPT;
			goto out;
		}
		if (n == cap) {
			struct obj_hdr *ns = malloc(sizeof(*ns) * cap * 2);

			if (!ns) {
				r = -ENOMEM;
				goto out;
			}
			memcpy(ns, stack, sizeof(*ns) * n);
			if (stack != chain)
				free(stack);
			stack = ns;
			cap *= 2;
		}
		stack[n++] = h;
		if (h.type == OBJ_OFS_DELTA) {
			off = h.base;
			continue;
		}
		struct mc_git_oid bid;

		memcpy(bid.id, h.ref, 20);
		int64_t bi = git_pack_find(p, &bid);

		if (bi >= 0) {
			int64_t bo = git_pack_offset(p, (uint32_t)bi);

			if (bo < 0) {
				snprintf(why, whysz, "bad large offset in index");
				r = -MC_ECORRUPT;
				goto out;
			}
			off = (uint64_t)bo;
			continue;
		}
		/* The base lives elsewhere (a thin pack completed by another pack). */
		char hex[MC_GIT_OID_HEXSZ + 1];
		struct mc_err e = { 0 };
		void *bd;

		if (!repo || ref_depth > 8) {
			snprintf(why, whysz, "delta base %s not found", mc_git_oid_fmt(&bid, hex));
			r = -MC_ECORRUPT;
			goto out;
		}
		ref_depth++;
		r = mc_git_odb_read(repo, &bid, &btype, &bd, &blen, &e);
		ref_depth--;
		if (r < 0) {
			snprintf(why, whysz, "delta base %s: %s", mc_git_oid_fmt(&bid, hex), e.msg);
			r = -MC_ECORRUPT;
			goto out;
		}
		base = bd;
		break;
	}
	if (!base) {
		if (h.size > max) {
			snprintf(why, whysz, "object too large (%zu bytes)", h.size);
			r = -MC_ECORRUPT;
			goto out;
		}
		r = inflate_exact(p, h.data, h.size, &base, why, whysz);
		if (r < 0)
			goto out;
		btype = (enum mc_git_type)h.type;
		blen = h.size;
	}
	/* Apply the deltas from the innermost outwards. */
	while (n > 0) {
		struct obj_hdr *dh = &stack[--n];
		uint8_t *delta, *res;
		size_t rlen;

		if (dh->size > max) {
			snprintf(why, whysz, "delta too large (%zu bytes)", dh->size);
			r = -MC_ECORRUPT;
			goto out;
		}
		r = inflate_exact(p, dh->data, dh->size, &delta, why, whysz);
		if (r < 0)
			goto out;
		r = git_delta_apply(base, blen, delta, dh->size, max, &res, &rlen, why, whysz);
		free(delta);
		if (r < 0)
			goto out;
		free(base);
		base = res;
		blen = rlen;
	}
	*type = btype;
	*data = base;
	*len = blen;
	base = NULL;
	r = 0;
out:
	free(base);
	if (stack != chain)
		free(stack);
	return r;
}

/* ---- loading the packs of a repository ---- */

static int map_file(int dirfd, const char *name, const uint8_t **out, size_t *len)
{
	mc_autoclose int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	void *m;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		return -EINVAL;
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	*out = m;
	*len = (size_t)st.st_size;
	return 0;
}

static int pack_cmp(const void *a, const void *b)
{
	return strcmp(((const struct git_pack *)a)->path, ((const struct git_pack *)b)->path);
}

int git_packs_load(struct mc_git_repo *repo, struct mc_err *err)
{
	mc_autoclose int pfd = -1;
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (repo->packs_loaded)
		return 0;
	repo->packs_loaded = true;
	pfd = openat(repo->objfd, "pack", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return 0;
	d = fdopendir(dup(pfd));
	if (!d)
		return mc_err_set(err, errno, "read objects/pack");
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		char packname[NAME_MAX + 1], why[160];
		const uint8_t *idx, *pk;
		size_t ilen, plen;
		struct git_pack p;

		if (nl < 5 || strcmp(de->d_name + nl - 4, ".idx") != 0)
			continue;
		snprintf(packname, sizeof(packname), "%.*s.pack", (int)(nl - 4), de->d_name);
		if (map_file(pfd, de->d_name, &idx, &ilen) < 0)
			continue;
		if (map_file(pfd, packname, &pk, &plen) < 0) {
			munmap((void *)idx, ilen);
			continue;
		}
		r = git_pack_init_mem(&p, idx, ilen, pk, plen, why, sizeof(why));
		if (r < 0) {
			munmap((void *)idx, ilen);
			munmap((void *)pk, plen);
			r = mc_err_setx(err, MC_ECORRUPT, "pack `%s`: %s", packname, why);
			break;
		}
		struct git_pack *np = realloc(repo->packs, (repo->npacks + 1) * sizeof(*np));

		if (!np || !(p.path = strdup(packname))) {
			if (np)
				repo->packs = np;
			munmap((void *)idx, ilen);
			munmap((void *)pk, plen);
			r = mc_err_set(err, ENOMEM, "load packs");
			break;
		}
		repo->packs = np;
		repo->packs[repo->npacks++] = p;
	}
	closedir(d);
	if (repo->npacks > 1)
		qsort(repo->packs, repo->npacks, sizeof(*repo->packs), pack_cmp);
	return r;
}

void git_packs_free(struct mc_git_repo *repo)
{
	for (size_t i = 0; i < repo->npacks; i++) {
		munmap((void *)repo->packs[i].idx, repo->packs[i].idx_len);
		munmap((void *)repo->packs[i].pack, repo->packs[i].pack_len);
		free(repo->packs[i].path);
	}
	free(repo->packs);
	repo->packs = NULL;
	repo->npacks = 0;
	repo->packs_loaded = false;
}
