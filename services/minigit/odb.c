/* SPDX-License-Identifier: MIT */
/*
 * odb.c: the object database as one thing: loose objects first, then packs. Every
 * object read is re-hashed against its id, so a flipped bit anywhere is caught and
 * reported with the object's name. Prefix lookup serves abbreviated ids.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mc_git_odb_read(struct mc_git_repo *repo, const struct mc_git_oid *oid, enum mc_git_type *type,
		    void **data, size_t *len, struct mc_err *err)
{
	char hex[MC_GIT_OID_HEXSZ + 1], why[200];
	enum mc_git_type t;
	void *d = NULL;
	size_t l = 0;
	int r;

	r = git_loose_read(repo, oid, &t, &d, &l, err);
	if (r == -ENOENT) {
		r = git_packs_load(repo, err);
		if (r < 0)
			return r;
		r = -ENOENT;
		for (size_t i = 0; i < repo->npacks; i++) {
			struct git_pack *p = &repo->packs[i];
			int64_t at = git_pack_find(p, oid), off;

			if (at < 0)
				continue;
			off = git_pack_offset(p, (uint32_t)at);
			if (off < 0)
				return mc_err_setx(err, MC_ECORRUPT,
						   "object %s: bad pack index offset",
						   mc_git_oid_fmt(oid, hex));
			r = git_pack_read_at(repo, p, (uint64_t)off, repo->max_object, &t, &d, &l,
					     why, sizeof(why));
			if (r < 0)
				return mc_err_setx(err, -r, "object %s (pack %s): %s",
						   mc_git_oid_fmt(oid, hex), p->path, why);
			break;
		}
		if (r == -ENOENT)
			return mc_err_setx(err, ENOENT, "object %s not found",
					   mc_git_oid_fmt(oid, hex));
	}
	if (r < 0)
		return r;
	struct mc_git_oid check;

	mc_git_hash(t, d, l, &check);
	if (mc_git_oid_cmp(&check, oid) != 0) {
		char got[MC_GIT_OID_HEXSZ + 1];

		free(d);
		return mc_err_setx(err, MC_ECORRUPT,
				   "object %s: hash mismatch (content hashes to %s)",
				   mc_git_oid_fmt(oid, hex), mc_git_oid_fmt(&check, got));
	}
	if (type)
		*type = t;
	if (len)
		*len = l;
	if (data)
		*data = d;
	else
		free(d);
	return 0;
}

int mc_git_odb_read_typed(struct mc_git_repo *repo, const struct mc_git_oid *oid,
			  enum mc_git_type want, void **data, size_t *len, struct mc_err *err)
{
	enum mc_git_type t;
	void *d;
	size_t l;
	int r = mc_git_odb_read(repo, oid, &t, &d, &l, err);
	char hex[MC_GIT_OID_HEXSZ + 1];

	if (r < 0)
		return r;
	if (t != want) {
		free(d);
		return mc_err_setx(err, EINVAL, "object %s is a %s, not a %s",
				   mc_git_oid_fmt(oid, hex), mc_git_type_name(t),
				   mc_git_type_name(want));
	}
	*data = d;
	if (len)
		*len = l;
	return 0;
}

int mc_git_odb_info(struct mc_git_repo *repo, const struct mc_git_oid *oid, enum mc_git_type *type,
		    size_t *len, struct mc_err *err)
{
	return mc_git_odb_read(repo, oid, type, NULL, len, err);
}

bool mc_git_odb_exists(struct mc_git_repo *repo, const struct mc_git_oid *oid)
{
	if (git_loose_exists(repo, oid))
		return true;
	if (git_packs_load(repo, NULL) < 0)
		return false;
	for (size_t i = 0; i < repo->npacks; i++)
		if (git_pack_find(&repo->packs[i], oid) >= 0)
			return true;
	return false;
}

struct prefix_state {
	struct mc_git_oid found;
	int count;
};

static int prefix_cb(const struct mc_git_oid *oid, void *arg)
{
	struct prefix_state *st = arg;

	if (st->count && mc_git_oid_cmp(&st->found, oid) == 0)
		return 0;
	st->found = *oid;
	return ++st->count > 1;
}

/* Calls @cb for every id in the packs starting with @hex (as a byte-prefix search). */
static int pack_prefix(struct mc_git_repo *repo, const char *hex,
		       int (*cb)(const struct mc_git_oid *, void *), void *arg)
{
	size_t hl = strlen(hex);
	uint8_t lowb[20] = { 0 };

	for (size_t i = 0; i < hl; i++) {
		int v = git_hex_val((unsigned char)hex[i]);

		lowb[i / 2] |= (uint8_t)(i % 2 ? v : v << 4);
	}
	for (size_t k = 0; k < repo->npacks; k++) {
		const struct git_pack *p = &repo->packs[k];
		uint32_t lo = 0, hi = p->nr;

		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (memcmp(p->oids + (size_t)mid * 20, lowb, 20) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (uint32_t i = lo; i < p->nr; i++) {
			struct mc_git_oid o;
			char h[MC_GIT_OID_HEXSZ + 1];

			memcpy(o.id, p->oids + (size_t)i * 20, 20);
			mc_git_oid_fmt(&o, h);
			if (strncasecmp(h, hex, hl) != 0)
				break;
			int r = cb(&o, arg);

			if (r)
				return r;
		}
	}
	return 0;
}

int mc_git_odb_find_prefix(struct mc_git_repo *repo, const char *hex, struct mc_git_oid *out,
			   struct mc_err *err)
{
	struct prefix_state st = { .count = 0 };
	size_t hl = strlen(hex);
	char lower[MC_GIT_OID_HEXSZ + 1];

	if (hl < 4 || hl > MC_GIT_OID_HEXSZ)
		return mc_err_setx(err, EINVAL, "`%s` is not an abbreviated object id", hex);
	for (size_t i = 0; i < hl; i++) {
		if (git_hex_val((unsigned char)hex[i]) < 0)
			return mc_err_setx(err, EINVAL, "`%s` is not an abbreviated object id",
					   hex);
		lower[i] = (char)(hex[i] | 0x20);
	}
	lower[hl] = '\0';
	if (git_packs_load(repo, err) < 0)
		return -(err ? err->code : EIO);
	if (git_loose_foreach_prefix(repo, lower, prefix_cb, &st) == 0)
		pack_prefix(repo, lower, prefix_cb, &st);
	if (st.count == 0)
		return mc_err_setx(err, ENOENT, "no object matches `%s`", hex);
	if (st.count > 1)
		return mc_err_setx(err, EEXIST, "short object id `%s` is ambiguous", hex);
	*out = st.found;
	return 0;
}

int mc_git_odb_abbrev(struct mc_git_repo *repo, const struct mc_git_oid *oid, int min, char *hex)
{
	char full[MC_GIT_OID_HEXSZ + 1];

	mc_git_oid_fmt(oid, full);
	if (min < 4)
		min = 4;
	for (int n = min; n < MC_GIT_OID_HEXSZ; n++) {
		struct prefix_state st = { .count = 0 };
		char pre[MC_GIT_OID_HEXSZ + 1];

		memcpy(pre, full, (size_t)n);
		pre[n] = '\0';
		git_packs_load(repo, NULL);
		if (git_loose_foreach_prefix(repo, pre, prefix_cb, &st) == 0)
			pack_prefix(repo, pre, prefix_cb, &st);
		if (st.count <= 1) {
			memcpy(hex, pre, (size_t)n + 1);
			return n;
		}
	}
	memcpy(hex, full, sizeof(full));
	return MC_GIT_OID_HEXSZ;
}
