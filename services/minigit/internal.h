/* SPDX-License-Identifier: MIT */
/* internal.h: libmcgit's shared internals: the repository handle, packs, loose store. */
#ifndef MC_GIT_INTERNAL_H
#define MC_GIT_INTERNAL_H

#include <mc/cleanup.h>
#include <mc/git.h>
#include <mc/util.h>

#include <zlib.h>

/* A pack: the mmapped .idx (v2) and .pack, validated on open. */
struct git_pack {
	char *path; /* of the .pack */
	const uint8_t *idx;
	size_t idx_len;
	const uint8_t *pack;
	size_t pack_len;
	uint32_t nr;		 /* objects */
	const uint32_t *fanout;	 /* 256 big-endian counts */
	const uint8_t *oids;	 /* nr * 20 sorted ids */
	const uint32_t *offsets; /* nr big-endian 31-bit offsets or large-table indexes */
	const uint8_t *large;	 /* 8-byte big-endian offsets */
	uint32_t nlarge;
};

/* A loose object written in a batch: visible only after batch_end renames it. */
struct git_pending {
	char tmp[64]; /* relative to objects/ */
	char final[64];
};

struct mc_git_repo {
	char *gitdir;
	char *worktree; /* NULL when bare */
	int objfd;	/* objects/ directory */
	size_t max_object;
	struct git_pack *packs;
	size_t npacks;
	bool packs_loaded;
	/* zlib streams reused across objects: deflateInit costs more than small objects. */
	z_stream zdef;
	bool zdef_ok;
	bool batch;
	struct git_pending *pending;
	size_t npending, cap_pending;
	uint8_t made_fanout[32]; /* bitmap: objects/xx directories known to exist */
	unsigned tmp_seq;
};

/* oid.c */
int git_hex_val(int c);
/* git_hash_header: "TYPE SIZE" plus its NUL into @hdr; returns the length with NUL. */
int git_hash_header(enum mc_git_type type, size_t len, char *hdr, size_t size);

/* loose.c */
int git_loose_read(struct mc_git_repo *repo, const struct mc_git_oid *oid, enum mc_git_type *type,
		   void **data, size_t *len, struct mc_err *err);
bool git_loose_exists(struct mc_git_repo *repo, const struct mc_git_oid *oid);
/* git_loose_parse: inflates and checks a loose object's file bytes. Pure (fuzzed). */
int git_loose_parse(const void *file, size_t flen, size_t max, enum mc_git_type *type, void **data,
		    size_t *len, char *why, size_t whysz);
/* git_loose_foreach_prefix: calls @cb for each loose id whose hex starts with @hex. */
int git_loose_foreach_prefix(struct mc_git_repo *repo, const char *hex,
			     int (*cb)(const struct mc_git_oid *oid, void *arg), void *arg);

/* pack.c */
int git_packs_load(struct mc_git_repo *repo, struct mc_err *err);
void git_packs_free(struct mc_git_repo *repo);
/* git_pack_open_mem: validates an index + pack held in memory (fuzzing, open). */
int git_pack_init_mem(struct git_pack *p, const uint8_t *idx, size_t idx_len, const uint8_t *pack,
		      size_t pack_len, char *why, size_t whysz);
/* git_pack_find: index of @oid in @p, or -1. */
int64_t git_pack_find(const struct git_pack *p, const struct mc_git_oid *oid);
/*
 * git_pack_read_at: reads the object at pack offset @off, resolving deltas (REF_DELTA
 * bases through @repo when not in this pack; @repo may be NULL). Errors in @why.
 */
int git_pack_read_at(struct mc_git_repo *repo, const struct git_pack *p, uint64_t off, size_t max,
		     enum mc_git_type *type, void **data, size_t *len, char *why, size_t whysz);
int64_t git_pack_offset(const struct git_pack *p, uint32_t i);
/* git_delta_apply: applies a git delta to @base. Pure (fuzzed). */
int git_delta_apply(const uint8_t *base, size_t base_len, const uint8_t *delta, size_t dlen,
		    size_t max, uint8_t **out, size_t *out_len, char *why, size_t whysz);

/* refs.c: reading a repository's config value (core section keys, user.name). */
int git_config_get(const char *path, const char *section, const char *key, char *out, size_t size);

#endif
