/* SPDX-License-Identifier: MIT */
/*
 * git.h: libmcgit, git-format objects that real git reads. Loose objects (zlib),
 * packs (.idx v2 + .pack with OFS_DELTA/REF_DELTA), trees, commits and refs of a
 * repository on disk. Object formats are drawn in docs/minigit.md.
 *
 * A struct mc_git_repo is not thread-safe: use one per thread. Every fallible
 * function returns 0 (or a count) on success and -code on failure with @err filled;
 * out-parameters are written only on success.
 */
#ifndef MC_GIT_H
#define MC_GIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mc/err.h>

#define MC_GIT_OID_RAWSZ 20
#define MC_GIT_OID_HEXSZ 40

struct mc_git_oid {
	uint8_t id[MC_GIT_OID_RAWSZ];
};

/* Object types; the values are the pack type codes. */
enum mc_git_type {
	MC_GIT_BAD = 0,
	MC_GIT_COMMIT = 1,
	MC_GIT_TREE = 2,
	MC_GIT_BLOB = 3,
	MC_GIT_TAG = 4,
};

/* Tree entry modes as git writes them (directories are "40000" in the object). */
#define MC_GIT_MODE_FILE 0100644
#define MC_GIT_MODE_EXEC 0100755
#define MC_GIT_MODE_LINK 0120000
#define MC_GIT_MODE_TREE 0040000
#define MC_GIT_MODE_GITLINK 0160000

/* Objects larger than this are refused on read (bounds hostile size fields). */
#define MC_GIT_MAX_OBJECT_DEFAULT ((size_t)1 << 32)

/* ---- ids and types (pure) ---- */

const char *mc_git_type_name(enum mc_git_type t);
/* mc_git_type_parse: "blob" -> MC_GIT_BLOB; MC_GIT_BAD for anything else. */
enum mc_git_type mc_git_type_parse(const char *s, size_t len);
/* mc_git_oid_fmt: 40 hex digits + NUL into @hex (>= 41 bytes); returns @hex. */
char *mc_git_oid_fmt(const struct mc_git_oid *oid, char *hex);
/* mc_git_oid_parse: exactly 40 hex digits (either case); -EINVAL otherwise. */
int mc_git_oid_parse(const char *hex, struct mc_git_oid *oid);
int mc_git_oid_cmp(const struct mc_git_oid *a, const struct mc_git_oid *b);
bool mc_git_oid_is_zero(const struct mc_git_oid *oid);
/* mc_git_hash: the object id of @type + @data ("TYPE SIZE\0DATA" through SHA-1). */
void mc_git_hash(enum mc_git_type type, const void *data, size_t len, struct mc_git_oid *out);

/* ---- repositories ---- */

struct mc_git_repo;

/*
 * mc_git_repo_init: creates a repository at @path (`path/.git`, or @path itself when
 * @bare) with objects/, refs/ and HEAD -> refs/heads/master, like `git init`. An
 * existing repository is fine (reinitialised, nothing lost). Opens it into *out.
 */
int mc_git_repo_init(const char *path, bool bare, struct mc_git_repo **out, struct mc_err *err);

/*
 * mc_git_repo_open: opens the repository at @path: a bare repository, a directory with
 * a .git directory, or (when @discover) the nearest such directory above @path.
 * NULL @path means $GIT_DIR if set, otherwise discovery from the current directory.
 */
int mc_git_repo_open(const char *path, bool discover, struct mc_git_repo **out, struct mc_err *err);
void mc_git_repo_free(struct mc_git_repo *repo);
const char *mc_git_repo_gitdir(const struct mc_git_repo *repo);
/* The work tree's top directory, or NULL for a bare repository. */
const char *mc_git_repo_worktree(const struct mc_git_repo *repo);
/* Lowers the per-object size limit (fuzzing, tests); 0 restores the default. */
void mc_git_repo_set_max_object(struct mc_git_repo *repo, size_t max);

/*
 * Batched durability. Between begin and end, new loose objects are written to temp
 * files without a per-file fsync; mc_git_batch_end flushes them all with one syncfs
 * and then renames them into place, so no object becomes visible before its bytes are
 * durable. Without a batch each object is fsync'ed then renamed. Refs always sync.
 */
void mc_git_batch_begin(struct mc_git_repo *repo);
int mc_git_batch_end(struct mc_git_repo *repo, struct mc_err *err);

/* ---- the object database ---- */

/* mc_git_odb_write: stores an object (loose), returning its id; existing: no-op. */
int mc_git_odb_write(struct mc_git_repo *repo, enum mc_git_type type, const void *data, size_t len,
		     struct mc_git_oid *out, struct mc_err *err);

/*
 * mc_git_odb_read: reads an object from the loose store or a pack. *data is a new
 * NUL-terminated buffer (free()) of *len bytes. The content is re-hashed: a mismatch,
 * a zlib error, a bad header or a size mismatch is MC_ECORRUPT naming the object.
 * A missing object is -ENOENT. @type/@len may be NULL.
 */
int mc_git_odb_read(struct mc_git_repo *repo, const struct mc_git_oid *oid, enum mc_git_type *type,
		    void **data, size_t *len, struct mc_err *err);
/* mc_git_odb_read_typed: like odb_read, and -EINVAL unless the object is @want. */
int mc_git_odb_read_typed(struct mc_git_repo *repo, const struct mc_git_oid *oid,
			  enum mc_git_type want, void **data, size_t *len, struct mc_err *err);
/* mc_git_odb_info: type and size without keeping the content (still verified). */
int mc_git_odb_info(struct mc_git_repo *repo, const struct mc_git_oid *oid, enum mc_git_type *type,
		    size_t *len, struct mc_err *err);
bool mc_git_odb_exists(struct mc_git_repo *repo, const struct mc_git_oid *oid);

/*
 * mc_git_odb_find_prefix: the unique object whose hex id starts with @hex (4..40
 * digits). -ENOENT when none, -EEXIST ("ambiguous") when several.
 */
int mc_git_odb_find_prefix(struct mc_git_repo *repo, const char *hex, struct mc_git_oid *out,
			   struct mc_err *err);
/* mc_git_odb_abbrev: the shortest unique prefix of @oid, at least @min digits. */
int mc_git_odb_abbrev(struct mc_git_repo *repo, const struct mc_git_oid *oid, int min, char *hex);

/* ---- trees ---- */

struct mc_git_tree_entry {
	uint32_t mode;	  /* MC_GIT_MODE_* */
	const char *name; /* points into the tree buffer, NUL-terminated there */
	size_t name_len;
	struct mc_git_oid oid;
};

/*
 * mc_git_tree_next: parses the entry at *pos of a tree object's bytes and advances
 * *pos. Returns 1 with @e filled, 0 at the end, -MC_ECORRUPT for a malformed entry
 * (bad mode, empty name, name with '/', ".", "..", truncated id). Pure, no allocation.
 */
int mc_git_tree_next(const void *buf, size_t len, size_t *pos, struct mc_git_tree_entry *e);

/* One entry of a tree being built; the name is copied by mc_git_tree_build. */
struct mc_git_tree_item {
	uint32_t mode;
	const char *name;
	struct mc_git_oid oid;
};

/*
 * mc_git_tree_write: sorts @items in git's order (a directory sorts as "name/"),
 * rejects duplicates and invalid names (-EINVAL), writes the tree object and returns
 * its id. @items is reordered in place.
 */
int mc_git_tree_write(struct mc_git_repo *repo, struct mc_git_tree_item *items, size_t n,
		      struct mc_git_oid *out, struct mc_err *err);
/* mc_git_tree_name_ok: a valid entry name (non-empty, no '/', not "." or ".."). */
bool mc_git_tree_name_ok(const char *name, size_t len);

/* mc_git_write_tree_dir: writes @dir recursively (skipping .git) as trees; like
 * `git add -A && git write-tree` on a work tree holding those files. */
int mc_git_write_tree_dir(struct mc_git_repo *repo, const char *dir, struct mc_git_oid *out,
			  struct mc_err *err);

/*
 * mc_git_checkout_tree: writes tree @tree into @dir (created if missing). Every path
 * is created relative to a directory fd with O_NOFOLLOW: an existing symlink in @dir
 * is never followed and no write lands outside @dir.
 */
int mc_git_checkout_tree(struct mc_git_repo *repo, const struct mc_git_oid *tree, const char *dir,
			 struct mc_err *err);

/* ---- commits ---- */

/* An identity line: "Name <email> 1234567890 +0100". */
struct mc_git_ident {
	char name[256];
	char email[256];
	int64_t when;	/* seconds since the epoch */
	int tz_minutes; /* offset east of UTC */
};

/*
 * mc_git_ident_from_env: the author (@who = "AUTHOR") or committer ("COMMITTER") from
 * GIT_<who>_NAME/EMAIL/DATE, then user.name/user.email of the repository config and
 * ~/.gitconfig, then the passwd entry. Dates: "@SECS +ZZZZ", "SECS +ZZZZ", ISO 8601
 * and RFC 2822, like git.
 */
int mc_git_ident_from_env(struct mc_git_repo *repo, const char *who, struct mc_git_ident *out,
			  struct mc_err *err);
/* mc_git_date_parse: one of the date formats above; -EINVAL otherwise. */
int mc_git_date_parse(const char *s, int64_t *when, int *tz_minutes);
/* mc_git_date_format: git's default log date "Thu Apr 7 15:13:13 2005 -0700". */
void mc_git_date_format(int64_t when, int tz_minutes, char *buf, size_t size);

struct mc_git_commit {
	struct mc_git_oid tree;
	struct mc_git_oid *parents; /* owned; free with mc_git_commit_release */
	size_t nparents;
	struct mc_git_ident author;
	struct mc_git_ident committer;
	char *message; /* owned, the text after the blank line */
};

/* mc_git_commit_parse: parses commit bytes (strictly enough for hostile input). */
int mc_git_commit_parse(const void *buf, size_t len, struct mc_git_commit *out);
void mc_git_commit_release(struct mc_git_commit *c);
/* mc_git_commit_read: reads and parses a commit object. */
int mc_git_commit_read(struct mc_git_repo *repo, const struct mc_git_oid *oid,
		       struct mc_git_commit *out, struct mc_err *err);

/* mc_git_commit_write: formats and stores a commit; @message is used verbatim. */
int mc_git_commit_write(struct mc_git_repo *repo, const struct mc_git_oid *tree,
			const struct mc_git_oid *parents, size_t nparents,
			const struct mc_git_ident *author, const struct mc_git_ident *committer,
			const char *message, struct mc_git_oid *out, struct mc_err *err);

/* ---- refs ---- */

/* mc_git_ref_name_ok: git's check-ref-format rules for a full name like refs/heads/x. */
bool mc_git_ref_name_ok(const char *name);

/*
 * mc_git_ref_read: the id @name (full ref name or HEAD) points at, following symbolic
 * refs (at most 5 levels), loose first then packed-refs. -ENOENT if unborn/missing.
 */
int mc_git_ref_read(struct mc_git_repo *repo, const char *name, struct mc_git_oid *out,
		    struct mc_err *err);

/*
 * mc_git_ref_update: points @name at @new under a lock file (NAME.lock, O_EXCL),
 * written temp -> fsync -> rename. With @old, fails with -ESTALE unless the ref
 * currently has that value (a zero @old means "must not exist"). HEAD is followed to
 * the branch it names.
 */
int mc_git_ref_update(struct mc_git_repo *repo, const char *name, const struct mc_git_oid *new_oid,
		      const struct mc_git_oid *old, struct mc_err *err);
/* mc_git_ref_delete: removes a loose and packed ref (rewrites packed-refs). */
int mc_git_ref_delete(struct mc_git_repo *repo, const char *name, const struct mc_git_oid *old,
		      struct mc_err *err);

typedef int (*mc_git_ref_cb)(const char *name, const struct mc_git_oid *oid, void *arg);
/* mc_git_ref_foreach: every ref under @prefix ("refs/" for all), sorted by name. A
 * non-zero callback result stops the walk and is returned. */
int mc_git_ref_foreach(struct mc_git_repo *repo, const char *prefix, mc_git_ref_cb cb, void *arg,
		       struct mc_err *err);

/*
 * mc_git_resolve: a revision as `git rev-parse` reads it: a full or abbreviated id,
 * HEAD, a ref (x, refs/x, refs/tags/x, refs/heads/x, refs/remotes/x), followed by
 * any of ^, ^N, ~N, ^{tree}, ^{commit}, ^{} .
 */
int mc_git_resolve(struct mc_git_repo *repo, const char *rev, struct mc_git_oid *out,
		   struct mc_err *err);

#endif
