/* SPDX-License-Identifier: MIT */
/*
 * internal.h: what the files of libmckv share: coding helpers, the memtable, the
 * WAL, tables (builder and reader), versions, the manifest and the database struct.
 */
#ifndef MC_KV_INTERNAL_H
#define MC_KV_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include <mc/kv.h>
#include <mc/log.h>

/* Invariants: always checked, never used for bad input (STYLE.md). */
#define KV_ASSERT(x)                                                                               \
	do {                                                                                       \
		if (!(x))                                                                          \
			kv_assert_fail(#x, __FILE__, __LINE__);                                    \
	} while (0)
void kv_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

/* ---- coding (coding.c) ---- */

uint32_t kv_crc32c(uint32_t crc, const void *data, size_t len);
uint32_t kv_hash(const void *data, size_t len);

static inline void kv_put_u32(void *p, uint32_t v)
{
	memcpy(p, &v, 4); /* little-endian hosts only: see docs/kv-format.md */
}
static inline void kv_put_u64(void *p, uint64_t v)
{
	memcpy(p, &v, 8);
}
static inline uint32_t kv_get_u32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}
static inline uint64_t kv_get_u64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* kv_put_varint: LEB128; writes at most 10 bytes, returns the count. */
size_t kv_put_varint(uint8_t *p, uint64_t v);
/* kv_get_varint: decodes from [*p, end); advances *p; -1 if truncated or too long. */
int kv_get_varint_slow(const uint8_t **p, const uint8_t *end, uint64_t *out);
static inline int kv_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	/* Lengths of keys and small values fit one byte: decode those inline. */
	if (*p < end && **p < 0x80) {
		*out = *(*p)++;
		return 0;
	}
	return kv_get_varint_slow(p, end, out);
}

/*
 * kv_cmp: bytewise key order (memcmp, then shorter first). Compares 8 bytes at a time
 * as big-endian words: keys are short, and a libc memcmp call costs more than the
 * comparison itself on the iterator and lookup paths.
 */
static inline int kv_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	const uint8_t *x = a, *y = b;
	size_t n = alen < blen ? alen : blen;

	while (n >= 8) {
		uint64_t u = __builtin_bswap64(kv_get_u64(x)), v = __builtin_bswap64(kv_get_u64(y));

		if (u != v)
			return u < v ? -1 : 1;
		x += 8;
		y += 8;
		n -= 8;
	}
	while (n--) {
		if (*x != *y)
			return *x < *y ? -1 : 1;
		x++;
		y++;
	}
	return alen < blen ? -1 : alen > blen;
}

/* ---- write batches (batch.c) ---- */

/*
 * The batch representation is also the WAL payload:
 *   u32 count | count * ( u8 kind | varint klen | [varint vlen] | key | [value] )
 * kind 1 = put (vlen and value present), 0 = delete.
 */
enum {
	KV_KIND_DEL = 0,
	KV_KIND_PUT = 1,
	KV_KIND_PUT_EXP = 2 /* value = u64 LE expiry (unix ms) | the user's value */
};

#define KV_EXP_LEN 8

/* The expiry of a KV_KIND_PUT_EXP value (its first 8 bytes), 0 for other kinds. */
static inline uint64_t kv_value_expiry(int kind, const uint8_t *v, size_t vlen)
{
	uint64_t e = 0;

	if (kind != KV_KIND_PUT_EXP || vlen < KV_EXP_LEN)
		return 0;
	for (int i = KV_EXP_LEN - 1; i >= 0; i--)
		e = e << 8 | v[i];
	return e;
}

/* kv_now_ms: wall-clock time in unix ms, what expiries are compared with. */
uint64_t kv_now_ms(void);

struct mc_kv_batch {
	struct mc_buf rep;
	uint32_t count;
	uint64_t user_bytes;
};

/* kv_batch_foreach: calls @fn per op of a batch representation. -MC_ECORRUPT if malformed. */
typedef int kv_batch_fn(void *arg, int kind, const uint8_t *k, size_t klen, const uint8_t *v,
			size_t vlen);
int kv_batch_foreach(const uint8_t *rep, size_t len, kv_batch_fn *fn, void *arg);

/* ---- memtable (memtable.c) ---- */

#define KV_MT_MAX_HEIGHT 12

/*
 * A skiplist node. Keys order by (key bytes ascending, seq descending), so the
 * first node at or after (key, UINT64_MAX) is the newest version of key. Invariant:
 * next[i] of a published node is only ever changed from its old value to a node
 * that was fully initialised before the release store that links it.
 */
struct kv_mt_node {
	uint64_t seq;
	uint32_t klen;
	uint32_t vlen;
	uint8_t kind;
	uint8_t height;
	_Atomic(struct kv_mt_node *) hnext;  /* next node in the same hash bucket (older) */
	_Atomic(struct kv_mt_node *) next[]; /* height entries, then key, then value */
};

static inline const uint8_t *kv_mt_key(const struct kv_mt_node *n)
{
	return (const uint8_t *)&n->next[n->height];
}
static inline const uint8_t *kv_mt_val(const struct kv_mt_node *n)
{
	return kv_mt_key(n) + n->klen;
}

struct kv_arena_chunk;

/* One writer at a time (the commit leader), any number of concurrent readers. */
struct kv_memtable {
	struct kv_mt_node *head;
	struct kv_arena_chunk *chunks;
	char *arena_ptr;
	size_t arena_left;
	_Atomic uint64_t entries;
	_Atomic uint64_t bytes; /* arena bytes in use (the flush trigger) */
	uint64_t rnd;
	atomic_int max_height; /* written by the writer only */
	atomic_int refs;
	uint64_t wal_num; /* the WAL this memtable's writes go to */
	/* Point-lookup index: KV_MT_BUCKETS chains, newest node of a key first. */
	_Atomic(struct kv_mt_node *) *buckets;
};

struct kv_memtable *kv_mt_new(uint64_t wal_num);
void kv_mt_ref(struct kv_memtable *m);
void kv_mt_unref(struct kv_memtable *m);
int kv_mt_add(struct kv_memtable *m, uint64_t seq, int kind, const void *k, size_t klen,
	      const void *v, size_t vlen);
/* kv_mt_get: the newest entry for key: 1 with *node set, 0 if absent. */
int kv_mt_get(struct kv_memtable *m, const void *k, size_t klen, const struct kv_mt_node **node);
/* first node >= (k, seq) or NULL */
const struct kv_mt_node *kv_mt_seek(struct kv_memtable *m, const void *k, size_t klen,
				    uint64_t seq);
const struct kv_mt_node *kv_mt_first(struct kv_memtable *m);
static inline const struct kv_mt_node *kv_mt_next(const struct kv_mt_node *n)
{
	/* Acquire pairs with the release store in kv_mt_add that published the next node. */
	return atomic_load_explicit(&((struct kv_mt_node *)n)->next[0], memory_order_acquire);
}

/* ---- WAL (wal.c) ---- */

#define KV_WAL_HDR 20	    /* u32 crc | u32 len | u64 first_seq | u32 header crc */
#define KV_WAL_END 0xa5	    /* format 2: the byte after every payload */
#define KV_WAL_MAX_GROUP 64 /* records per kv_wal_append */

struct kv_wal {
	int fd;
	int format; /* 2 for files we create; 1 for an old file we only read */
	uint64_t num;
	uint64_t size;	/* bytes of records */
	uint64_t alloc; /* bytes of the file: records, then zeros written ahead */
	uint64_t step;	/* next zero-fill extension, doubling up to KV_WAL_STEP_MAX */
	char path[4096];
};

int kv_wal_create(struct kv_wal *w, const char *dir, uint64_t num, struct mc_err *err);
/* kv_wal_reopen: opens an existing format-2 WAL for appending at @size. */
int kv_wal_reopen(struct kv_wal *w, const char *dir, uint64_t num, uint64_t size,
		  struct mc_err *err);
/* kv_wal_close: trims the zero-filled tail (best-effort) and closes. */
void kv_wal_close(struct kv_wal *w);
/* kv_wal_append: one record per (rep, seq) pair (at most KV_WAL_MAX_GROUP), written with
 * one pwritev; returns the bytes appended or -errno. */
int64_t kv_wal_append(struct kv_wal *w, const struct iovec *reps, const uint64_t *seqs, int n);
int kv_wal_sync(struct kv_wal *w);

typedef int kv_wal_record_fn(void *arg, uint64_t seq, const uint8_t *rep, size_t len);
/*
 * kv_wal_replay: calls @fn per valid record of WAL file @path. The zero-filled tail
 * ends the log. A torn record (cut short: its end marker and everything after it are
 * zero, or its length runs past the end of the file) is truncated away when
 * @truncate, and reported in *torn_at (-1 if none). A checksum mismatch elsewhere
 * fails with MC_ECORRUPT naming the file and offset. *end gets the valid length and
 * *format the file's format (1 or 2; 2 for an empty file).
 */
int kv_wal_replay(const char *path, bool truncate, kv_wal_record_fn *fn, void *arg, uint64_t *end,
		  int64_t *torn_at, int *format, struct mc_err *err);

/* ---- bloom filter (bloom.c) ---- */

/* Appends a bloom block body (u32 nbits | u8 k | bits) for @n key hashes. */
int kv_bloom_build(struct mc_buf *out, const uint32_t *hashes, size_t n, uint32_t bits_per_key);
/* true if the key with hash @h may be in the filter (a malformed filter says yes) */
bool kv_bloom_may_contain(const uint8_t *bloom, size_t len, uint32_t h);

/* ---- tables (sstable.c: builder, table.c: reader) ---- */

#define KV_SST_MAGIC "mcKVsst1"
#define KV_SST_FOOTER 48
#define KV_SST_VERSION 1

struct kv_tb {
	int fd;
	uint32_t block_size;
	uint32_t bloom_bits;
	uint64_t off;	     /* file offset of out.data[0] */
	struct mc_buf out;   /* file bytes not yet written */
	struct mc_buf block; /* the data block being built */
	uint32_t *offs;	     /* entry offsets of that block */
	size_t noffs, offs_cap;
	struct mc_buf last_key;
	struct mc_buf index;
	uint32_t *hashes;
	size_t nhashes, hashes_cap;
	uint64_t entries;
	char path[4096];
};

int kv_tb_open(struct kv_tb *tb, const char *path, uint32_t block_size, uint32_t bloom_bits,
	       struct mc_err *err);
int kv_tb_add(struct kv_tb *tb, const void *k, size_t klen, const void *v, size_t vlen, int kind);
/* kv_tb_finish: writes the remaining blocks, bloom, index and footer, fsyncs, closes. */
int kv_tb_finish(struct kv_tb *tb, uint64_t *size, struct mc_err *err);
/* kv_tb_abort: closes and removes the partial file. */
void kv_tb_abort(struct kv_tb *tb);

struct kv_index_ent {
	const uint8_t *last_key; /* points into the mapping */
	uint32_t klen;
	uint32_t size; /* block bytes without the CRC */
	uint64_t off;
};

/* An open immutable table, shared by versions and iterators through refs. */
struct kv_table {
	uint64_t num;
	uint32_t tier;
	uint64_t size;
	uint64_t entries;
	int fd;
	const uint8_t *map;
	struct kv_index_ent *index;
	uint32_t nblocks;
	const uint8_t *bloom;
	uint32_t bloom_len;
	_Atomic uint64_t *verified; /* one bit per data block whose CRC was checked */
	atomic_int refs;
	atomic_bool obsolete; /* unlink the file when the last ref goes */
	char path[4096];
};

int kv_table_open(const char *dir, uint64_t num, uint32_t tier, struct kv_table **out,
		  struct mc_err *err);
void kv_table_ref(struct kv_table *t);
void kv_table_unref(struct kv_table *t);

/* A decoded data block: entries addressed through the offset array. */
struct kv_block {
	const uint8_t *data;
	uint32_t n;
	const uint8_t *offs; /* n little-endian u32 */
	uint32_t len;	     /* bytes of entries (offset array start) */
};

/* kv_table_block: verifies (once) and decodes data block @i. */
int kv_table_block(struct kv_table *t, uint32_t i, struct kv_block *b, struct mc_err *err);
/* kv_block_entry: decodes entry @j. -MC_ECORRUPT if it does not fit. */
int kv_block_entry(const struct kv_block *b, uint32_t j, const uint8_t **k, size_t *klen,
		   const uint8_t **v, size_t *vlen, int *kind);
/* kv_block_seek: first entry index with key >= k (b->n if none), -1 on corruption */
int64_t kv_block_seek(const struct kv_block *b, const void *k, size_t klen);
/* kv_table_find_block: first block whose last key >= k (nblocks if none) */
uint32_t kv_table_find_block(const struct kv_table *t, const void *k, size_t klen);
/* kv_table_get: 1 found (kind/value set; value points into the map), 0 absent, < 0 error */
int kv_table_get(struct kv_table *t, const void *k, size_t klen, uint32_t h, int *kind,
		 const uint8_t **v, size_t *vlen, struct mc_err *err);

/* ---- versions (version.c) ---- */

/* The set of live tables, oldest first; immutable once published, shared by refs. */
struct kv_version {
	atomic_int refs;
	uint32_t n;
	struct kv_table *t[]; /* t[0] oldest ... t[n-1] newest */
};

struct kv_version *kv_version_new(uint32_t n);
void kv_version_ref(struct kv_version *v);
void kv_version_unref(struct kv_version *v);

/* ---- manifest (manifest.c) ---- */

struct kv_manifest_table {
	uint64_t num;
	uint32_t tier;
};

struct kv_manifest {
	uint64_t next_file;
	uint64_t last_seq; /* newest seq in the tables */
	uint64_t log_num;  /* WALs numbered >= this hold writes not yet in tables */
	uint32_t n;
	struct kv_manifest_table *t; /* oldest first */
};

/* kv_manifest_read: -ENOENT if DIR/MANIFEST does not exist, MC_ECORRUPT if malformed. */
int kv_manifest_read(const char *dir, struct kv_manifest *m, struct mc_err *err);
/* kv_manifest_write: temp file, fsync, rename over DIR/MANIFEST, fsync of DIR. */
int kv_manifest_write(const char *dir, const struct kv_manifest *m, struct mc_err *err);
void kv_manifest_release(struct kv_manifest *m);

/* ---- the database (db.c) ---- */

struct kv_writer;

struct mc_kv {
	char dir[4096];
	struct mc_kv_options opt;
	int lock_fd;

	pthread_mutex_t mu;	 /* guards everything below unless noted */
	pthread_cond_t bg_cv;	 /* background work done or requested */
	struct kv_memtable *mem; /* written by the commit leader only */
	struct kv_memtable *imm; /* waiting for or being flushed, or NULL */
	struct kv_version *cur;	 /* live tables */
	struct kv_wal wal;	 /* written by the commit leader only */
	_Atomic uint64_t last_seq;
	uint64_t next_file;
	uint64_t log_num;
	uint64_t flushed_seq; /* newest seq contained in tables */
	struct kv_writer *wq_head, *wq_tail;

	pthread_mutex_t manifest_mu; /* one metadata change (flush/compaction) at a time */
	pthread_t flush_thread, compact_thread;
	bool threads_started;
	bool closing;
	bool compacting;    /* a merge is running */
	bool want_full;	    /* mc_kv_compact asked for a full merge */
	bool full_running;  /* a full merge is running */
	uint64_t full_done; /* count of finished full merges */
	int bg_err;	    /* sticky background failure (-code) */
	struct mc_err bg_msg;
	pthread_mutex_t err_mu; /* guards last_err */
	struct mc_err last_err;

	/* statistics, updated with relaxed atomics */
	_Atomic uint64_t st_flushes, st_compactions, st_bytes_flushed, st_bytes_compacted;
	_Atomic uint64_t st_wal_bytes, st_wal_syncs, st_stalls, st_user_bytes;
	_Atomic uint64_t st_sync_ops, st_sync_ops_max;
	_Atomic uint64_t synced_seq; /* every op up to this seq is on disk (fdatasync) */
	_Atomic bool hand_synced;    /* mc_kv_sync_wal was called: see make_room */
};

/* kv_record_error: remembers @e as the handle's last error; returns -e->code. */
int kv_record_error(struct mc_kv *kv, const struct mc_err *e);

/* kv_install_tables: under manifest_mu: replaces the tables @old (may be 0) by @add
 * and writes the manifest. Called by flush and compaction. */
int kv_install(struct mc_kv *kv, struct kv_table *const *drop, uint32_t ndrop, struct kv_table *add,
	       bool add_newest, uint64_t new_log_num, uint64_t new_flushed_seq, struct mc_err *err);

/* compact.c */
int kv_flush_imm(struct mc_kv *kv, struct mc_err *err);
/* kv_pick_run: chooses tables to merge; returns the count (0: nothing to do). */
uint32_t kv_pick_run(const struct kv_version *v, uint32_t fanout, bool full, uint32_t *first);
int kv_merge_run(struct mc_kv *kv, struct kv_version *v, uint32_t first, uint32_t count,
		 struct mc_err *err);
void *kv_flush_main(void *arg);
void *kv_compact_main(void *arg);

/* ---- merging iteration over sources (iter.c) ---- */

/* One sorted source: a memtable (filtered to seq <= snap) or a table. */
struct kv_src {
	struct kv_memtable *mt;
	const struct kv_mt_node *node;
	uint64_t snap;
	struct kv_table *t;
	uint32_t bi; /* block index */
	uint32_t ei; /* entry index */
	struct kv_block blk;
	bool valid;
	const uint8_t *k, *v;
	size_t klen, vlen;
	int kind;
	int prio; /* larger = newer */
};

struct kv_merger {
	struct kv_src *src;
	uint32_t n;
	struct kv_src **heap; /* n slots from the caller; the valid sources, a min-heap */
	uint32_t nheap;
	int status;
	struct mc_err err;
	/* current output */
	bool valid;
	const uint8_t *k, *v;
	size_t klen, vlen;
	int kind;
	bool skip_deleted;
};

void kv_merger_seek(struct kv_merger *m, const void *k, size_t klen); /* NULL k: first */
void kv_merger_next(struct kv_merger *m);

#endif
