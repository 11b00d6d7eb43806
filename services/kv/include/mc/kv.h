/* SPDX-License-Identifier: MIT */
/*
 * kv.h: libmckv, an LSM key-value store. A write-ahead log with a CRC per record,
 * a skiplist memtable, immutable sorted tables (SSTables) with a bloom filter, an
 * atomically replaced manifest and background size-tiered compaction.
 * Design: docs/kv.md; on-disk formats byte by byte: docs/kv-format.md.
 *
 * Threading: one struct mc_kv may be used from any number of threads at once.
 * Reads never block writes; writes are serialised through a group-commit queue.
 * Keys and values are arbitrary bytes (keys up to MC_KV_MAX_KEY, values up to
 * MC_KV_MAX_VALUE).
 *
 * Errors: data-path calls return -errno or -MC_ECORRUPT. The detailed message of
 * the last failure (a corrupt block names the file and offset) is kept in the
 * handle: mc_kv_last_error().
 */
#ifndef MC_KV_KV_H
#define MC_KV_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mc/err.h>
#include <mc/util.h>

#define MC_KV_MAX_KEY (64u * 1024)
#define MC_KV_MAX_VALUE (512u * 1024 * 1024)

struct mc_kv;
struct mc_kv_iter;
struct mc_kv_batch;

/*
 * When a write is durable. Every policy writes the WAL record with write(2) before
 * the call returns, so a killed process loses nothing that was acknowledged; the
 * policies differ only in what survives a power loss.
 */
enum mc_kv_sync {
	MC_KV_SYNC_NONE = 0, /* never fdatasync: the OS writes back when it likes */
	MC_KV_SYNC_BATCH,    /* group commit: concurrent writers share one fdatasync */
	MC_KV_SYNC_ALWAYS,   /* each write call does its own fdatasync */
};

struct mc_kv_options {
	enum mc_kv_sync sync;	       /* default MC_KV_SYNC_BATCH */
	uint32_t memtable_max_entries; /* flush at this many entries; 0 = no limit (1000) */
	size_t memtable_max_bytes;     /* flush at this many bytes; 0 = no limit (4 MiB) */
	uint32_t commit_window_us;     /* BATCH: a lone leader waits this long for company (0) */
	uint32_t block_size;	       /* target data block size in bytes (4096) */
	uint32_t bloom_bits_per_key;   /* bloom filter density (10: ~1% false positives) */
	uint32_t compaction_fanout;    /* merge a tier when it holds this many tables (4) */
	bool background;	       /* flush and compact on background threads (true) */
	bool create_if_missing;	       /* create the directory and an empty store (true) */
	bool read_only;		       /* no WAL, no flush, no compaction; shared lock */
};

/* mc_kv_options_init: fills @o with the defaults above. */
void mc_kv_options_init(struct mc_kv_options *o);

/*
 * mc_kv_open: opens (and recovers) the store in directory @dir: reads the manifest,
 * opens its tables, replays the WAL (a torn tail is truncated; a checksum mismatch
 * anywhere else fails with MC_ECORRUPT naming file and offset). Takes an exclusive
 * flock on DIR/LOCK (shared when read_only); a second writer gets -EWOULDBLOCK.
 * @opt may be NULL for the defaults. On success *out owns the handle: mc_kv_close().
 */
int mc_kv_open(const char *dir, const struct mc_kv_options *opt, struct mc_kv **out,
	       struct mc_err *err);

/*
 * mc_kv_close: waits for the running background job, stops the threads and frees
 * everything. Unflushed memtable contents stay in the WAL and are replayed on the
 * next open. NULL is a no-op.
 */
void mc_kv_close(struct mc_kv *kv);

/* Writes. 0 or -errno. Blocks while the memtable is full and the previous one is
 * still being flushed (a write stall), and for fdatasync under the sync policy. */
int mc_kv_put(struct mc_kv *kv, const void *key, size_t klen, const void *val, size_t vlen);
int mc_kv_delete(struct mc_kv *kv, const void *key, size_t klen);

/* A batch of puts and deletes applied atomically (one WAL record). */
struct mc_kv_batch *mc_kv_batch_new(void);
void mc_kv_batch_free(struct mc_kv_batch *b);
void mc_kv_batch_clear(struct mc_kv_batch *b);
int mc_kv_batch_put(struct mc_kv_batch *b, const void *key, size_t klen, const void *val,
		    size_t vlen);
/* mc_kv_batch_put_exp: a put that expires at @expire_ms (unix ms; 0: never). */
int mc_kv_batch_put_exp(struct mc_kv_batch *b, const void *key, size_t klen, const void *val,
			size_t vlen, uint64_t expire_ms);
int mc_kv_batch_delete(struct mc_kv_batch *b, const void *key, size_t klen);
uint32_t mc_kv_batch_count(const struct mc_kv_batch *b);

#define MC_KV_WRITE_NOSYNC 0x1u /* skip the policy's fdatasync (see mc_kv_sync) */
#define MC_KV_WRITE_SYNC 0x2u	/* fdatasync before returning, whatever the policy */
int mc_kv_write(struct mc_kv *kv, const struct mc_kv_batch *b, unsigned flags);
/* mc_kv_put_flags: mc_kv_put with MC_KV_WRITE_* @flags (no batch allocation). */
int mc_kv_put_flags(struct mc_kv *kv, const void *key, size_t klen, const void *val, size_t vlen,
		    unsigned flags);

/* mc_kv_sync: fdatasync of the current WAL: every write returned so far is durable. */
int mc_kv_sync(struct mc_kv *kv);
/*
 * mc_kv_sync_wal: the same guarantee (every write that returned before the call is
 * durable when it returns 0) without joining the write queue: writes go on while
 * the fdatasync runs, so one thread can write batch N+1 while another syncs batch N.
 * Returns 1 after an fdatasync, 0 if every write was durable already (no syscall),
 * or -errno. A failure is sticky: every later write fails (the kernel may have
 * dropped the unsynced pages, so a later successful sync would prove nothing).
 */
int mc_kv_sync_wal(struct mc_kv *kv);

/*
 * mc_kv_sync_wal in two halves, for callers that run the fdatasync themselves (an
 * io_uring IORING_OP_FSYNC): mc_kv_sync_begin returns 1 with @t->fd, a descriptor
 * of the WAL to fdatasync, 0 if nothing needs syncing (no descriptor), or -errno.
 * After a 1, call mc_kv_sync_end with the fdatasync's result (0 or -errno) exactly
 * once: it closes @t->fd and returns 1 or that -errno (sticky as above).
 */
struct mc_kv_sync_ticket {
	int fd;
	uint64_t seq; /* every write up to this one is durable when the sync succeeds */
};
int mc_kv_sync_begin(struct mc_kv *kv, struct mc_kv_sync_ticket *t);
int mc_kv_sync_end(struct mc_kv *kv, struct mc_kv_sync_ticket *t, int res);

/*
 * mc_kv_get: the newest value of @key, appended to @val (which is reset first).
 * 0 found, -ENOENT missing or deleted, -MC_ECORRUPT, -errno.
 */
int mc_kv_get(struct mc_kv *kv, const void *key, size_t klen, struct mc_buf *val);
/*
 * mc_kv_get_ex: mc_kv_get that also returns the key's expiry in unix ms (0: none)
 * in *@expire_ms (may be NULL). A key whose expiry has passed reads as missing
 * (-ENOENT) here and in iterators; its bytes stay until overwritten or deleted.
 */
int mc_kv_get_ex(struct mc_kv *kv, const void *key, size_t klen, struct mc_buf *val,
		 uint64_t *expire_ms);

/*
 * Iterators see a consistent snapshot taken at mc_kv_iter_new: later writes,
 * flushes and compactions do not change what they return. Keys come in bytewise
 * order; deleted keys are skipped. The key/value pointers stay valid until the
 * next call on the iterator. An iterator must be freed before mc_kv_close.
 */
int mc_kv_iter_new(struct mc_kv *kv, struct mc_kv_iter **out);
void mc_kv_iter_free(struct mc_kv_iter *it);
void mc_kv_iter_seek_first(struct mc_kv_iter *it);
void mc_kv_iter_seek(struct mc_kv_iter *it, const void *key, size_t klen); /* first >= key */
bool mc_kv_iter_valid(const struct mc_kv_iter *it);
void mc_kv_iter_next(struct mc_kv_iter *it);
const void *mc_kv_iter_key(const struct mc_kv_iter *it, size_t *len);
const void *mc_kv_iter_value(const struct mc_kv_iter *it, size_t *len);
/* mc_kv_iter_status: 0, or the error (e.g. -MC_ECORRUPT) that ended the iteration. */
int mc_kv_iter_status(const struct mc_kv_iter *it);

/*
 * mc_kv_flush: writes the memtable to a table now and waits for it.
 * mc_kv_compact: flush, then merge every table into one, dropping shadowed versions
 * and tombstones. Both block until done; writes continue meanwhile.
 */
int mc_kv_flush(struct mc_kv *kv, struct mc_err *err);
int mc_kv_compact(struct mc_kv *kv, struct mc_err *err);

/* mc_kv_wait_idle: waits until no flush or compaction is pending or running. */
int mc_kv_wait_idle(struct mc_kv *kv, struct mc_err *err);

struct mc_kv_stats {
	uint64_t last_seq;	  /* sequence number of the newest write */
	uint64_t mem_entries;	  /* entries in the active memtable */
	uint64_t mem_bytes;	  /* bytes in the active memtable */
	uint32_t imm_pending;	  /* 1 while a memtable waits for its flush */
	uint32_t tables;	  /* live tables */
	uint64_t table_bytes;	  /* their total size */
	uint64_t table_entries;	  /* entries in them, shadowed versions included */
	uint32_t tiers[8];	  /* tables per tier (tier 7 counts 7 and above) */
	uint64_t flushes;	  /* memtables flushed since open */
	uint64_t compactions;	  /* compactions since open */
	uint64_t bytes_flushed;	  /* table bytes written by flushes */
	uint64_t bytes_compacted; /* table bytes written by compactions */
	uint64_t wal_bytes;	  /* WAL bytes written since open */
	uint64_t wal_syncs;	  /* fdatasync calls on the WAL since open */
	uint64_t sync_ops;	  /* operations those fdatasyncs made durable (group commit: */
	uint64_t sync_ops_max;	  /* sync_ops / wal_syncs is the mean per sync; this the max) */
	uint64_t write_stalls;	  /* writes that waited for a flush */
	uint64_t user_bytes;	  /* key+value bytes written by users since open */
};
void mc_kv_stats_get(struct mc_kv *kv, struct mc_kv_stats *st);

/*
 * mc_kv_last_error: copies the message of the last failure seen by this handle
 * (a data-path error or a failed background job) into @err; returns its -code, or 0.
 */
int mc_kv_last_error(struct mc_kv *kv, struct mc_err *err);

#endif
