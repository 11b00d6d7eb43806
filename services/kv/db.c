/* SPDX-License-Identifier: MIT */
/*
 * db.c: the database handle: open and recovery, the group-commit write path, point
 * reads, and the small public entry points. Flush and compaction are in compact.c,
 * iteration in iter.c.
 *
 * Write path: a writer queues itself; the writer at the head of the queue becomes
 * the leader, takes the writers behind it into its group (unless the policy is
 * ALWAYS), appends one WAL record per writer with a single writev, fdatasyncs once
 * for the whole group, inserts into the memtable and wakes the followers. Only the
 * leader touches the WAL and the memtable, so both need no lock of their own.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <mc/cleanup.h>

#define GROUP_MAX KV_WAL_MAX_GROUP
#define GROUP_BYTES (1u << 20)

struct kv_writer {
	const uint8_t *rep;
	size_t len;
	uint64_t user_bytes;
	uint32_t count;
	bool sync;
	bool force_rotate; /* mc_kv_flush: switch memtables even if not full */
	bool done;
	int status;
	pthread_cond_t cv;
	struct kv_writer *next;
};

void mc_kv_options_init(struct mc_kv_options *o)
{
	memset(o, 0, sizeof(*o));
	o->sync = MC_KV_SYNC_BATCH;
	o->memtable_max_entries = 1000;
	o->memtable_max_bytes = 4u << 20;
	o->block_size = 4096;
	o->bloom_bits_per_key = 10;
	o->compaction_fanout = 4;
	o->background = true;
	o->create_if_missing = true;
}

int kv_record_error(struct mc_kv *kv, const struct mc_err *e)
{
	pthread_mutex_lock(&kv->err_mu);
	kv->last_err = *e;
	pthread_mutex_unlock(&kv->err_mu);
	return -e->code;
}

int mc_kv_last_error(struct mc_kv *kv, struct mc_err *err)
{
	int code;

	pthread_mutex_lock(&kv->err_mu);
	code = kv->last_err.code;
	if (err)
		*err = kv->last_err;
	pthread_mutex_unlock(&kv->err_mu);
	return -code;
}

/* ---- recovery ---- */

struct replay_ctx {
	struct kv_memtable *mem;
	uint64_t seq;
	uint64_t max_seq;
};

static int replay_op(void *arg, int kind, const uint8_t *k, size_t klen, const uint8_t *v,
		     size_t vlen)
{
	struct replay_ctx *c = arg;
	int r = kv_mt_add(c->mem, c->seq, kind, k, klen, v, vlen);

	if (r < 0)
		return r;
	if (c->seq > c->max_seq)
		c->max_seq = c->seq;
	c->seq++;
	return 0;
}

static int replay_record(void *arg, uint64_t seq, const uint8_t *rep, size_t len)
{
	struct replay_ctx *c = arg;

	c->seq = seq;
	return kv_batch_foreach(rep, len, replay_op, c);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Parses "NNNNNN.ext"; 0 if @name does not look like that. */
static uint64_t file_num(const char *name, const char *ext)
{
	char *end;
	unsigned long long n;

	if (name[0] < '0' || name[0] > '9')
		return 0;
	n = strtoull(name, &end, 10);
	return strcmp(end, ext) == 0 ? n : 0;
}

static bool in_manifest(const struct kv_manifest *m, uint64_t num)
{
	for (uint32_t i = 0; i < m->n; i++)
		if (m->t[i].num == num)
			return true;
	return false;
}

/*
 * Lists WALs to replay (num >= log_num, ascending) and removes leftovers of
 * interrupted jobs: tables not in the manifest, temp files, WALs already flushed.
 */
static int scan_dir(struct mc_kv *kv, const struct kv_manifest *m, uint64_t **logs, size_t *nlogs,
		    uint64_t *max_num, struct mc_err *err)
{
	mc_autoclosedir DIR *d = opendir(kv->dir);
	struct dirent *de;
	size_t cap = 0;

	*logs = NULL;
	*nlogs = 0;
	*max_num = 0;
	if (!d)
		return mc_err_set(err, errno, "open directory `%s`", kv->dir);
	while ((de = readdir(d))) {
		uint64_t n;
		char path[4400];
		bool remove = false;

		snprintf(path, sizeof(path), "%s/%s", kv->dir, de->d_name);
		if ((n = file_num(de->d_name, ".log"))) {
			if (n >= m->log_num) {
				if (*nlogs == cap) {
					cap = cap ? cap * 2 : 8;
					uint64_t *p = realloc(*logs, cap * sizeof(*p));

					if (!p)
						return mc_err_set(err, ENOMEM, "recover");
					*logs = p;
				}
				(*logs)[(*nlogs)++] = n;
			} else {
				remove = true;
			}
		} else if ((n = file_num(de->d_name, ".sst"))) {
			remove = !in_manifest(m, n);
		} else if (mc_str_has_suffix(de->d_name, ".tmp")) {
			remove = true;
		}
		if (n > *max_num)
			*max_num = n;
		/* Best-effort: a leftover that cannot be removed now is retried next open. */
		if (remove && !kv->opt.read_only && unlink(path) < 0)
			mc_log_warn("kv: remove leftover `%s`: %m", path);
	}
	if (*nlogs)
		qsort(*logs, *nlogs, sizeof(**logs), cmp_u64);
	return 0;
}

static int recover(struct mc_kv *kv, struct mc_err *err)
{
	struct kv_manifest m;
	mc_autofree uint64_t *logs = NULL;
	size_t nlogs;
	uint64_t max_num;
	int r;

	r = kv_manifest_read(kv->dir, &m, err);
	if (r == -ENOENT) {
		if (!kv->opt.create_if_missing)
			return mc_err_setx(err, ENOENT, "database `%s` does not exist", kv->dir);
		if (kv->opt.read_only)
			return mc_err_setx(err, ENOENT, "database `%s` does not exist", kv->dir);
		memset(&m, 0, sizeof(m));
		m.next_file = 1;
		m.log_num = 1;
		r = kv_manifest_write(kv->dir, &m, err);
		if (r < 0)
			return r;
	} else if (r < 0) {
		return r;
	}
	kv->cur = kv_version_new(m.n);
	if (!kv->cur) {
		kv_manifest_release(&m);
		return mc_err_set(err, ENOMEM, "recover");
	}
	kv->cur->n = 0;
	for (uint32_t i = 0; i < m.n; i++) {
		r = kv_table_open(kv->dir, m.t[i].num, m.t[i].tier, &kv->cur->t[i], err);
		if (r < 0) {
			kv_manifest_release(&m);
			return r;
		}
		kv->cur->n++;
	}
	r = scan_dir(kv, &m, &logs, &nlogs, &max_num, err);
	if (r < 0) {
		kv_manifest_release(&m);
		return r;
	}
	kv->next_file = MC_MAX(m.next_file, max_num + 1);
	kv->log_num = m.log_num;
	kv->flushed_seq = m.last_seq;
	kv_manifest_release(&m);

	struct replay_ctx c = { .max_seq = kv->flushed_seq };
	uint64_t end = 0;
	int format = 2;

	c.mem = kv_mt_new(0);
	if (!c.mem)
		return mc_err_set(err, ENOMEM, "recover");
	kv->mem = c.mem;
	for (size_t i = 0; i < nlogs; i++) {
		char path[4400];
		int64_t torn;

		snprintf(path, sizeof(path), "%s/%06" PRIu64 ".log", kv->dir, logs[i]);
		r = kv_wal_replay(path, !kv->opt.read_only, replay_record, &c, &end, &torn, &format,
				  err);
		if (r < 0)
			return r;
		if (torn >= 0)
			mc_log_warn("kv: wal `%s`: torn tail at offset %" PRId64 " truncated", path,
				    torn);
	}
	atomic_store(&kv->last_seq, c.max_seq);
	atomic_store(&kv->synced_seq, c.max_seq);
	if (kv->opt.read_only) {
		kv->wal.fd = -1;
		return 0;
	}
	/*
	 * Keep appending to the newest WAL: its records belong to the recovered memtable.
	 * A format-1 file is left as it is and a new WAL started; the flush of the
	 * recovered memtable retires both.
	 */
	if (nlogs && format == 2)
		r = kv_wal_reopen(&kv->wal, kv->dir, logs[nlogs - 1], end, err);
	else
		r = kv_wal_create(&kv->wal, kv->dir, kv->next_file++, err);
	if (r < 0)
		return r;
	kv->mem->wal_num = kv->wal.num;
	return 0;
}

static int lock_dir(struct mc_kv *kv, struct mc_err *err)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/LOCK", kv->dir);
	kv->lock_fd =
		open(path, (kv->opt.read_only ? O_RDONLY : O_RDWR | O_CREAT) | O_CLOEXEC, 0644);
	if (kv->lock_fd < 0) {
		if (errno == ENOENT && kv->opt.read_only)
			return mc_err_setx(err, ENOENT, "database `%s` does not exist", kv->dir);
		return mc_err_set(err, errno, "open `%s`", path);
	}
	if (flock(kv->lock_fd, (kv->opt.read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return mc_err_setx(err, EWOULDBLOCK,
					   "database `%s` is in use by another process", kv->dir);
		return mc_err_set(err, errno, "lock `%s`", path);
	}
	return 0;
}

int mc_kv_open(const char *dir, const struct mc_kv_options *opt, struct mc_kv **out,
	       struct mc_err *err)
{
	struct mc_kv *kv = calloc(1, sizeof(*kv));
	int r;

	if (!kv)
		return mc_err_set(err, ENOMEM, "open database `%s`", dir);
	if (opt)
		kv->opt = *opt;
	else
		mc_kv_options_init(&kv->opt);
	if (!kv->opt.compaction_fanout || kv->opt.compaction_fanout < 2)
		kv->opt.compaction_fanout = 4;
	kv->lock_fd = -1;
	kv->wal.fd = -1;
	pthread_mutex_init(&kv->mu, NULL);
	pthread_mutex_init(&kv->manifest_mu, NULL);
	pthread_mutex_init(&kv->err_mu, NULL);
	pthread_cond_init(&kv->bg_cv, NULL);
	if (mc_strlcpy(kv->dir, dir, sizeof(kv->dir)) >= sizeof(kv->dir) - 32) {
		r = mc_err_set(err, ENAMETOOLONG, "open database `%.100s`", dir);
		goto fail;
	}
	if (kv->opt.create_if_missing && !kv->opt.read_only) {
		r = mc_fs_mkdir_p(dir, 0755, err);
		if (r < 0)
			goto fail;
	}
	r = lock_dir(kv, err);
	if (r < 0)
		goto fail;
	r = recover(kv, err);
	if (r < 0)
		goto fail;
	if (kv->opt.background && !kv->opt.read_only) {
		if ((r = pthread_create(&kv->flush_thread, NULL, kv_flush_main, kv)) != 0) {
			r = mc_err_set(err, r, "start flush thread");
			goto fail;
		}
		if ((r = pthread_create(&kv->compact_thread, NULL, kv_compact_main, kv)) != 0) {
			pthread_mutex_lock(&kv->mu);
			kv->closing = true;
			pthread_cond_broadcast(&kv->bg_cv);
			pthread_mutex_unlock(&kv->mu);
			pthread_join(kv->flush_thread, NULL);
			r = mc_err_set(err, r, "start compaction thread");
			goto fail;
		}
		kv->threads_started = true;
		/* A recovered memtable may already be over its limit, or tiers full. */
		pthread_cond_broadcast(&kv->bg_cv);
	}
	*out = kv;
	return 0;
fail:
	mc_kv_close(kv);
	return r;
}

void mc_kv_close(struct mc_kv *kv)
{
	if (!kv)
		return;
	pthread_mutex_lock(&kv->mu);
	kv->closing = true;
	pthread_cond_broadcast(&kv->bg_cv);
	pthread_mutex_unlock(&kv->mu);
	if (kv->threads_started) {
		pthread_join(kv->flush_thread, NULL);
		pthread_join(kv->compact_thread, NULL);
	}
	kv_wal_close(&kv->wal);
	kv_mt_unref(kv->mem);
	kv_mt_unref(kv->imm);
	kv_version_unref(kv->cur);
	if (kv->lock_fd >= 0)
		close(kv->lock_fd);
	pthread_mutex_destroy(&kv->mu);
	pthread_mutex_destroy(&kv->manifest_mu);
	pthread_mutex_destroy(&kv->err_mu);
	pthread_cond_destroy(&kv->bg_cv);
	free(kv);
}

/* ---- writes ---- */

static bool mem_full(const struct mc_kv *kv)
{
	const struct kv_memtable *m = kv->mem;
	uint64_t e = atomic_load_explicit(&m->entries, memory_order_relaxed);
	uint64_t b = atomic_load_explicit(&m->bytes, memory_order_relaxed);

	return (kv->opt.memtable_max_entries && e >= kv->opt.memtable_max_entries) ||
	       (kv->opt.memtable_max_bytes && b >= kv->opt.memtable_max_bytes);
}

/*
 * Called by the leader with mu held: makes sure the memtable has room, switching to
 * a fresh memtable and WAL when it is full. Waits (a write stall) while the previous
 * memtable is still being flushed.
 */
/*
 * Counts one fdatasync that made every op up to @seq durable. Syncs may run
 * concurrently (mc_kv_sync_wal beside the commit leader), so the mark only moves up
 * and each op is counted once.
 */
static void note_synced(struct mc_kv *kv, uint64_t seq)
{
	uint64_t old = atomic_load_explicit(&kv->synced_seq, memory_order_relaxed), ops;

	while (old < seq && !atomic_compare_exchange_weak(&kv->synced_seq, &old, seq))
		;
	ops = seq > old ? seq - old : 0;
	atomic_fetch_add_explicit(&kv->st_wal_syncs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&kv->st_sync_ops, ops, memory_order_relaxed);
	if (ops > atomic_load_explicit(&kv->st_sync_ops_max, memory_order_relaxed))
		atomic_store_explicit(&kv->st_sync_ops_max, ops, memory_order_relaxed);
}

static int make_room(struct mc_kv *kv, bool force)
{
	struct mc_err e = { 0 };

	for (;;) {
		if (kv->bg_err)
			return kv->bg_err;
		bool empty = atomic_load_explicit(&kv->mem->entries, memory_order_relaxed) == 0;

		if (!(force && !empty) && !mem_full(kv))
			return 0;
		if (kv->imm) {
			atomic_fetch_add_explicit(&kv->st_stalls, 1, memory_order_relaxed);
			pthread_cond_wait(&kv->bg_cv, &kv->mu);
			continue;
		}
		struct kv_wal nw = { .fd = -1 };
		int r = kv_wal_create(&nw, kv->dir, kv->next_file, &e);

		if (r < 0)
			return kv_record_error(kv, &e);
		struct kv_memtable *nm = kv_mt_new(nw.num);

		if (!nm) {
			kv_wal_close(&nw);
			unlink(nw.path);
			return -ENOMEM;
		}
		/*
		 * Writes made with MC_KV_WRITE_NOSYNC may still be unsynced in the old WAL
		 * while a caller syncs them with mc_kv_sync_wal, which only ever syncs the
		 * current WAL. Sync the old one before anything lands in the new one, so a
		 * synced write never survives a crash that loses an older one (recovery
		 * stays a prefix of the history). Under NONE nobody asked for durability,
		 * unless they sync by hand. Leader only, so the lock can be dropped.
		 */
		uint64_t last = atomic_load_explicit(&kv->last_seq, memory_order_relaxed);

		if (atomic_load(&kv->synced_seq) < last &&
		    (kv->opt.sync != MC_KV_SYNC_NONE || atomic_load(&kv->hand_synced))) {
			pthread_mutex_unlock(&kv->mu);
			r = kv_wal_sync(&kv->wal);
			pthread_mutex_lock(&kv->mu);
			if (r < 0) {
				kv_wal_close(&nw);
				unlink(nw.path);
				kv_mt_unref(nm);
				/* After a failed fdatasync the kernel may have dropped the
				 * pages: no later sync can vouch for them. Stop writing. */
				kv->bg_err = r;
				return r;
			}
			note_synced(kv, last);
		}
		kv->next_file++;
		/* Everything in the old WAL is synced now, or nobody asked it to be. Closing
		 * drops nothing: the file stays until its memtable is in a table. */
		kv_wal_close(&kv->wal);
		kv->wal = nw;
		kv->imm = kv->mem;
		kv->mem = nm;
		force = false;
		pthread_cond_broadcast(&kv->bg_cv);
		if (!kv->threads_started) {
			/* Foreground mode: flush (and compact) right here, without the lock. */
			pthread_mutex_unlock(&kv->mu);
			r = kv_flush_imm(kv, &e);
			if (r >= 0) {
				uint32_t first, n;

				for (;;) {
					pthread_mutex_lock(&kv->mu);
					struct kv_version *v = kv->cur;

					kv_version_ref(v);
					pthread_mutex_unlock(&kv->mu);
					n = kv_pick_run(v, kv->opt.compaction_fanout, false,
							&first);
					if (n)
						r = kv_merge_run(kv, v, first, n, &e);
					kv_version_unref(v);
					if (!n || r < 0)
						break;
				}
			}
			pthread_mutex_lock(&kv->mu);
			if (r < 0) {
				kv->bg_err = r;
				return kv_record_error(kv, &e);
			}
		}
	}
}

static int write_rep(struct mc_kv *kv, struct kv_writer *w)
{
	struct kv_writer *group[GROUP_MAX];
	struct iovec iov[GROUP_MAX];
	uint64_t seqs[GROUP_MAX];
	int n = 0, niov = 0, r;
	bool sync;

	if (kv->opt.read_only)
		return -EROFS;
	pthread_cond_init(&w->cv, NULL);
	pthread_mutex_lock(&kv->mu);
	w->next = NULL;
	if (kv->wq_tail)
		kv->wq_tail->next = w;
	else
		kv->wq_head = w;
	kv->wq_tail = w;
	while (!w->done && kv->wq_head != w)
		pthread_cond_wait(&w->cv, &kv->mu);
	if (w->done) {
		pthread_mutex_unlock(&kv->mu);
		pthread_cond_destroy(&w->cv);
		return w->status;
	}

	/* Leader from here on. */
	r = make_room(kv, w->force_rotate);
	if (r < 0 || w->force_rotate) {
		group[n++] = w;
		goto finish;
	}
	if (kv->opt.sync == MC_KV_SYNC_BATCH && kv->opt.commit_window_us && w->sync && !w->next) {
		/* Linger for company: followers queue up behind us meanwhile. */
		pthread_mutex_unlock(&kv->mu);
		usleep(kv->opt.commit_window_us);
		pthread_mutex_lock(&kv->mu);
	}
	size_t bytes = 0;
	uint64_t seq = atomic_load_explicit(&kv->last_seq, memory_order_relaxed);

	sync = false;
	for (struct kv_writer *x = w; x && n < GROUP_MAX; x = x->next) {
		if (x != w && (x->force_rotate || bytes + x->len > GROUP_BYTES))
			break;
		/* ALWAYS means one fdatasync per write call: no sharing. */
		if (x != w && kv->opt.sync == MC_KV_SYNC_ALWAYS && (x->sync || w->sync))
			break;
		group[n++] = x;
		sync |= x->sync;
		if (!x->count)
			continue; /* mc_kv_sync: nothing to log */
		iov[niov] = (struct iovec){ (void *)x->rep, x->len };
		seqs[niov++] = seq + 1;
		seq += x->count;
		bytes += x->len;
	}
	struct kv_memtable *mem = kv->mem;
	struct kv_wal *wal = &kv->wal;

	pthread_mutex_unlock(&kv->mu);

	/* The leader alone writes the WAL and the memtable while the lock is dropped. */
	int64_t wrote = niov ? kv_wal_append(wal, iov, seqs, niov) : 0;

	r = wrote < 0 ? (int)wrote : 0;
	if (r == 0 && sync) {
		r = kv_wal_sync(wal);
		if (r == 0)
			note_synced(kv, seq);
	}
	if (r == 0) {
		atomic_fetch_add_explicit(&kv->st_wal_bytes, (uint64_t)wrote, memory_order_relaxed);
		for (int i = 0, j = 0; i < n && r == 0; i++) {
			if (!group[i]->count)
				continue;
			struct replay_ctx c = { .mem = mem, .seq = seqs[j++] };

			r = kv_batch_foreach(group[i]->rep, group[i]->len, replay_op, &c);
			atomic_fetch_add_explicit(&kv->st_user_bytes, group[i]->user_bytes,
						  memory_order_relaxed);
		}
		if (r < 0) {
			/* Only ENOMEM gets here; the WAL has the records, so stop accepting writes. */
			pthread_mutex_lock(&kv->mu);
			kv->bg_err = r;
			pthread_mutex_unlock(&kv->mu);
		}
	}
	pthread_mutex_lock(&kv->mu);
	if (r == 0)
		/* Release: pairs with the acquire in mc_kv_iter_new; entries up to seq are in mem. */
		atomic_store_explicit(&kv->last_seq, seq, memory_order_release);
finish:
	for (int i = 0; i < n; i++) {
		group[i]->status = r;
		group[i]->done = true;
		if (group[i] != w)
			pthread_cond_signal(&group[i]->cv);
	}
	kv->wq_head = group[n - 1]->next;
	if (!kv->wq_head)
		kv->wq_tail = NULL;
	else
		pthread_cond_signal(&kv->wq_head->cv);
	pthread_mutex_unlock(&kv->mu);
	pthread_cond_destroy(&w->cv);
	return r;
}

static bool want_sync(const struct mc_kv *kv, unsigned flags)
{
	if (flags & MC_KV_WRITE_SYNC)
		return true;
	if (flags & MC_KV_WRITE_NOSYNC)
		return false;
	return kv->opt.sync != MC_KV_SYNC_NONE;
}

int mc_kv_write(struct mc_kv *kv, const struct mc_kv_batch *b, unsigned flags)
{
	struct kv_writer w = {
		.rep = (const uint8_t *)b->rep.data,
		.len = b->rep.len,
		.count = b->count,
		.user_bytes = b->user_bytes,
		.sync = want_sync(kv, flags),
	};

	if (b->count == 0)
		return 0;
	return write_rep(kv, &w);
}

/* Single-op writes encode into a stack buffer: no allocation on the common path. */
static int write_one(struct mc_kv *kv, int kind, const void *k, size_t klen, const void *v,
		     size_t vlen, unsigned flags)
{
	uint8_t stack[512];
	uint8_t *rep = stack;
	size_t need = 4 + 1 + 20 + klen + vlen, h = 0;
	int r;

	if (klen > MC_KV_MAX_KEY || vlen > MC_KV_MAX_VALUE)
		return -E2BIG;
	if (need > sizeof(stack)) {
		rep = malloc(need);
		if (!rep)
			return -ENOMEM;
	}
	kv_put_u32(rep, 1);
	h = 4;
	rep[h++] = (uint8_t)kind;
	h += kv_put_varint(rep + h, klen);
	if (kind == KV_KIND_PUT)
		h += kv_put_varint(rep + h, vlen);
	memcpy(rep + h, k, klen);
	h += klen;
	if (vlen)
		memcpy(rep + h, v, vlen);
	h += vlen;

	struct kv_writer w = {
		.rep = rep,
		.len = h,
		.count = 1,
		.user_bytes = klen + vlen,
		.sync = want_sync(kv, flags),
	};

	r = write_rep(kv, &w);
	if (rep != stack)
		free(rep);
	return r;
}

int mc_kv_put(struct mc_kv *kv, const void *key, size_t klen, const void *val, size_t vlen)
{
	return write_one(kv, KV_KIND_PUT, key, klen, val, vlen, 0);
}

int mc_kv_put_flags(struct mc_kv *kv, const void *key, size_t klen, const void *val, size_t vlen,
		    unsigned flags)
{
	return write_one(kv, KV_KIND_PUT, key, klen, val, vlen, flags);
}

int mc_kv_delete(struct mc_kv *kv, const void *key, size_t klen)
{
	return write_one(kv, KV_KIND_DEL, key, klen, NULL, 0, 0);
}

int mc_kv_sync_begin(struct mc_kv *kv, struct mc_kv_sync_ticket *t)
{
	int r = 0;

	/*
	 * A private descriptor of the current WAL, so a rotation may close the handle's
	 * own meanwhile; writes that returned before this point are in its page cache
	 * (or, if the WAL rotated, in the old WAL that make_room synced).
	 */
	t->fd = -1;
	atomic_store(&kv->hand_synced, true);
	pthread_mutex_lock(&kv->mu);
	t->seq = atomic_load_explicit(&kv->last_seq, memory_order_relaxed);
	if (kv->bg_err)
		r = kv->bg_err;
	/* Nothing new since a sync that has completed: the fdatasync would be idle. */
	else if (t->seq > atomic_load(&kv->synced_seq) && kv->wal.fd >= 0 &&
		 (t->fd = fcntl(kv->wal.fd, F_DUPFD_CLOEXEC, 0)) < 0)
		r = -errno;
	pthread_mutex_unlock(&kv->mu);
	return r < 0 ? r : t->fd >= 0;
}

int mc_kv_sync_end(struct mc_kv *kv, struct mc_kv_sync_ticket *t, int res)
{
	if (t->fd < 0)
		return res;
	close(t->fd);
	t->fd = -1;
	if (res < 0) {
		pthread_mutex_lock(&kv->mu);
		if (!kv->bg_err)
			kv->bg_err = res; /* see make_room: a failed sync is not retried */
		pthread_mutex_unlock(&kv->mu);
		return res;
	}
	note_synced(kv, t->seq);
	return 1;
}

int mc_kv_sync_wal(struct mc_kv *kv)
{
	struct mc_kv_sync_ticket t;
	int r = mc_kv_sync_begin(kv, &t);

	if (r <= 0)
		return r;
	return mc_kv_sync_end(kv, &t, fdatasync(t.fd) < 0 ? -errno : 0);
}

int mc_kv_sync(struct mc_kv *kv)
{
	/* Join the queue with an empty record so no leader is mid-append on this fd. */
	struct kv_writer w = { .rep = (const uint8_t *)"\0\0\0\0", .len = 4, .sync = true };

	return write_rep(kv, &w);
}

/* ---- reads ---- */

uint64_t kv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The user's value of a found entry: a KV_KIND_PUT_EXP value loses its 8-byte expiry
 * prefix (into *@exp) and is -ENOENT once expired. -MC_ECORRUPT if too short.
 */
static int found_value(int kind, const uint8_t *p, size_t plen, struct mc_buf *val, uint64_t *exp)
{
	uint64_t e = 0;

	if (kind == KV_KIND_DEL)
		return -ENOENT;
	if (kind == KV_KIND_PUT_EXP) {
		if (plen < KV_EXP_LEN)
			return -MC_ECORRUPT;
		e = kv_value_expiry(kind, p, plen);
		if (e <= kv_now_ms())
			return -ENOENT;
		p += KV_EXP_LEN;
		plen -= KV_EXP_LEN;
	}
	if (exp)
		*exp = e;
	return mc_buf_append(val, p, plen);
}

int mc_kv_get(struct mc_kv *kv, const void *key, size_t klen, struct mc_buf *val)
{
	return mc_kv_get_ex(kv, key, klen, val, NULL);
}

int mc_kv_get_ex(struct mc_kv *kv, const void *key, size_t klen, struct mc_buf *val,
		 uint64_t *expire_ms)
{
	struct kv_memtable *mem, *imm;
	struct kv_version *v;
	const struct kv_mt_node *node;
	int r = -ENOENT, found = 0;

	pthread_mutex_lock(&kv->mu);
	mem = kv->mem;
	imm = kv->imm;
	v = kv->cur;
	kv_mt_ref(mem);
	if (imm)
		kv_mt_ref(imm);
	kv_version_ref(v);
	pthread_mutex_unlock(&kv->mu);

	val->len = 0;
	if (kv_mt_get(mem, key, klen, &node) || (imm && kv_mt_get(imm, key, klen, &node))) {
		found = 1;
		r = found_value(node->kind, kv_mt_val(node), node->vlen, val, expire_ms);
	}
	if (!found) {
		uint32_t h = kv_hash(key, klen);
		struct mc_err e = { 0 };

		for (uint32_t i = v->n; i-- > 0;) {
			const uint8_t *p;
			size_t plen;
			int kind;
			struct kv_table *t = v->t[i];

			if (t->nblocks == 0 || kv_cmp(key, klen, t->index[t->nblocks - 1].last_key,
						      t->index[t->nblocks - 1].klen) > 0)
				continue;
			int g = kv_table_get(t, key, klen, h, &kind, &p, &plen, &e);

			if (g < 0) {
				r = kv_record_error(kv, &e);
				break;
			}
			if (g > 0) {
				r = found_value(kind, p, plen, val, expire_ms);
				break;
			}
		}
	}
	kv_mt_unref(mem);
	kv_mt_unref(imm);
	kv_version_unref(v);
	if (r == 0 && !val->data)
		r = mc_buf_reserve(val, 0); /* an empty value is still a NUL-terminated string */
	return r;
}

/* ---- maintenance entry points ---- */

int mc_kv_flush(struct mc_kv *kv, struct mc_err *err)
{
	struct kv_writer w = { .rep = (const uint8_t *)"\0\0\0\0", .len = 4, .force_rotate = true };
	int r = write_rep(kv, &w);

	if (r < 0)
		return mc_err_set(err, -r, "flush memtable");
	pthread_mutex_lock(&kv->mu);
	while (kv->imm && !kv->bg_err)
		pthread_cond_wait(&kv->bg_cv, &kv->mu);
	r = kv->bg_err;
	pthread_mutex_unlock(&kv->mu);
	if (r < 0) {
		mc_kv_last_error(kv, err);
		return r;
	}
	return 0;
}

int mc_kv_compact(struct mc_kv *kv, struct mc_err *err)
{
	int r = mc_kv_flush(kv, err);

	if (r < 0)
		return r;
	if (!kv->threads_started) {
		struct kv_version *v;

		pthread_mutex_lock(&kv->mu);
		v = kv->cur;
		kv_version_ref(v);
		pthread_mutex_unlock(&kv->mu);
		r = v->n ? kv_merge_run(kv, v, 0, v->n, err) : 0;
		kv_version_unref(v);
		return r;
	}
	pthread_mutex_lock(&kv->mu);
	/* A full merge requested but not started will do; one already running will not. */
	uint64_t target = kv->full_done + 1 + (kv->full_running ? 1 : 0);

	kv->want_full = true;
	pthread_cond_broadcast(&kv->bg_cv);
	while (kv->full_done < target && !kv->bg_err)
		pthread_cond_wait(&kv->bg_cv, &kv->mu);
	r = kv->bg_err;
	pthread_mutex_unlock(&kv->mu);
	if (r < 0) {
		mc_kv_last_error(kv, err);
		return r;
	}
	return 0;
}

int mc_kv_wait_idle(struct mc_kv *kv, struct mc_err *err)
{
	int r;

	pthread_mutex_lock(&kv->mu);
	for (;;) {
		uint32_t first;

		if (kv->bg_err)
			break;
		if (!kv->threads_started)
			break;
		if (!kv->imm && !kv->compacting && !kv->want_full &&
		    !kv_pick_run(kv->cur, kv->opt.compaction_fanout, false, &first))
			break;
		pthread_cond_wait(&kv->bg_cv, &kv->mu);
	}
	r = kv->bg_err;
	pthread_mutex_unlock(&kv->mu);
	if (r < 0)
		mc_kv_last_error(kv, err);
	return r;
}

void mc_kv_stats_get(struct mc_kv *kv, struct mc_kv_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&kv->mu);
	st->last_seq = atomic_load(&kv->last_seq);
	st->mem_entries = atomic_load(&kv->mem->entries);
	st->mem_bytes = atomic_load(&kv->mem->bytes);
	st->imm_pending = kv->imm != NULL;
	st->tables = kv->cur->n;
	for (uint32_t i = 0; i < kv->cur->n; i++) {
		const struct kv_table *t = kv->cur->t[i];

		st->table_bytes += t->size;
		st->table_entries += t->entries;
		st->tiers[t->tier < 7 ? t->tier : 7]++;
	}
	pthread_mutex_unlock(&kv->mu);
	st->flushes = atomic_load(&kv->st_flushes);
	st->compactions = atomic_load(&kv->st_compactions);
	st->bytes_flushed = atomic_load(&kv->st_bytes_flushed);
	st->bytes_compacted = atomic_load(&kv->st_bytes_compacted);
	st->wal_bytes = atomic_load(&kv->st_wal_bytes);
	st->wal_syncs = atomic_load(&kv->st_wal_syncs);
	st->sync_ops = atomic_load(&kv->st_sync_ops);
	st->sync_ops_max = atomic_load(&kv->st_sync_ops_max);
	st->write_stalls = atomic_load(&kv->st_stalls);
	st->user_bytes = atomic_load(&kv->st_user_bytes);
}
