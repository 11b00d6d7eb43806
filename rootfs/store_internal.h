/* SPDX-License-Identifier: MIT */
/*
 * store_internal.h: shared internals of the image store: the tar reader, the
 * in-memory filesystem model both importers fill, and the manifest codec.
 */
#ifndef MC_STORE_INTERNAL_H
#define MC_STORE_INTERNAL_H

#include <mc/common.h>
#include <mc/git.h>
#include <mc/imgstore.h>

#include <stdint.h>

/* ---- tar (tar.c) ---- */

/* One archive member, with its path already normalised and checked. */
struct tar_entry {
	char type;	  /* 'f' file, 'd' dir, 'l' symlink, 'h' hard link, 'c', 'b', 'p' fifo */
	const char *path; /* relative, "" for the root; owned by the reader */
	const char *link; /* symlink target or hard link path ('h': normalised) */
	uint32_t mode;	  /* permission bits incl. setuid/setgid/sticky (07777) */
	uint32_t uid, gid;
	int64_t mtime;
	uint64_t size; /* data bytes of a regular file */
	uint32_t devmajor, devminor;
};

/* Reads exactly @len bytes or fewer at end of input; < 0 is -errno. */
typedef ssize_t (*tar_read_fn)(void *arg, void *buf, size_t len);

struct tar_reader {
	tar_read_fn read;
	void *arg;
	uint64_t left;	   /* data bytes of the current member not yet read */
	uint64_t pad;	   /* padding after it */
	uint64_t offset;   /* archive offset, for messages */
	char *path, *link; /* storage behind tar_entry */
	char *pax_path, *pax_link;
	bool pax_size_set, pax_uid_set, pax_gid_set, pax_mtime_set;
	uint64_t pax_size;
	uint32_t pax_uid, pax_gid;
	int64_t pax_mtime;
	char *gnu_path, *gnu_link;
	bool done;
};

void tar_reader_init(struct tar_reader *tr, tar_read_fn fn, void *arg);
void tar_reader_release(struct tar_reader *tr);
/* tar_next: the next member: 1 and @e filled, 0 at the end, < 0 with @err set. */
int tar_next(struct tar_reader *tr, struct tar_entry *e, struct mc_err *err);
/* tar_read_data: the current member's data, up to @len bytes; 0 when consumed. */
ssize_t tar_read_data(struct tar_reader *tr, void *buf, size_t len, struct mc_err *err);

/*
 * img_path_normalize: "./a//b/" -> "a/b"; "." -> "". Refuses absolute paths, `..`,
 * `.git` components and NUL bytes with -EINVAL (reason in @why). @out >= strlen+1.
 */
int img_path_normalize(const char *in, size_t len, char *out, size_t size, const char **why);

/* ---- the filesystem model (store_model.c) ---- */

struct img_node {
	char *path; /* "" for the root */
	char type;  /* as tar_entry.type */
	uint32_t mode, uid, gid;
	int64_t mtime;
	uint32_t devmajor, devminor;
	struct mc_git_oid oid; /* 'f' and 'l': the blob (a symlink's target) */
	char *link;	       /* 'h': the path of the file it links to */
	size_t *kids;	       /* child indexes ('d' only) */
	size_t nkids, capkids;
};

struct img_model {
	struct img_node *nodes;
	size_t n, cap;
	size_t *table; /* open addressing, index+1, 0 = empty */
	size_t tcap;
};

int img_model_init(struct img_model *m);
void img_model_release(struct img_model *m);
/* img_model_find: index of @path or -1. */
ssize_t img_model_find(const struct img_model *m, const char *path);
/*
 * img_model_add: records a node (parents are created as root-owned 0755 directories
 * when missing). A later entry for the same path replaces the earlier one. Refused:
 * a parent that is not a directory (an entry below a symlink), a relative symlink
 * climbing above the root, a hard link to anything but a known regular file.
 */
int img_model_add(struct img_model *m, const struct img_node *node, struct mc_err *err);
/* img_model_write: the rootfs tree + manifest + top tree into @repo; returns the top. */
int img_model_write(struct img_model *m, struct mc_git_repo *repo, struct mc_git_oid *top,
		    struct mc_err *err);
/* img_scan_dir: fills @m from a directory on disk, writing blobs to @repo. */
int img_scan_dir(struct img_model *m, struct mc_git_repo *repo, const char *dir,
		 struct mc_err *err);
/* img_symlink_escapes: a relative target that climbs above the root from @path. */
bool img_symlink_escapes(const char *path, const char *target);

/* ---- the manifest codec (store_model.c) ---- */

/* img_manifest_format: the manifest text of @m (sorted by path), in @b. */
int img_manifest_format(const struct img_model *m, struct mc_buf *b);
/* img_manifest_parse: parses manifest text into @m (nodes without kids/oids). Pure. */
int img_manifest_parse(const char *text, size_t len, struct img_model *m, struct mc_err *err);

#endif
