/* SPDX-License-Identifier: MIT */
/*
 * wal.c: the write-ahead log. One file per memtable generation, NNNNNN.log, a
 * sequence of records (docs/kv-format.md), then zeros written ahead of them:
 *
 *   +---------+---------+---------+----------+--------------------+------+
 *   | crc u32 | len u32 | seq u64 | hcrc u32 | payload: len bytes | 0xa5 |  ... 00 00 00
 *   +---------+---------+---------+----------+--------------------+------+
 *   hcrc = ~CRC32C of bytes 4 .. 16 (len and seq): a length can be trusted alone
 *   crc  = CRC32C of bytes 4 .. 20+len (header after itself, and the payload)
 *
 * Why zeros ahead: an fdatasync after an append that grows the file must also commit
 * the new size (a journal commit on ext4: a second ordered write and flush). So the
 * file is extended in steps (64 KiB doubling to 1 MiB) by writing real zeros, and
 * records overwrite them: most syncs then flush data only. fallocate() alone would
 * not do: it leaves unwritten extents whose conversion on first write is journaled
 * just the same.
 *
 * Recovery distinguishes the end of the log (only zeros follow), a torn tail (the
 * process or machine died mid-write: the last record's end marker and everything
 * after it are zero; truncate it) and corruption (anything else that fails a check:
 * refuse to open, naming file and offset). See kv_wal_replay.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mc/cleanup.h>

#define STEP_MIN (64u << 10)
#define STEP_MAX (1u << 20)

static const uint8_t zeros[64 << 10];

static int wal_path(char *buf, size_t size, const char *dir, uint64_t num)
{
	int n = snprintf(buf, size, "%s/%06llu.log", dir, (unsigned long long)num);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int kv_wal_create(struct kv_wal *w, const char *dir, uint64_t num, struct mc_err *err)
{
	if (wal_path(w->path, sizeof(w->path), dir, num) < 0)
		return mc_err_set(err, ENAMETOOLONG, "wal path in `%s`", dir);
	w->fd = open(w->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0)
		return mc_err_set(err, errno, "create `%s`", w->path);
	w->format = 2;
	w->num = num;
	w->size = 0;
	w->alloc = 0;
	w->step = STEP_MIN;
	return 0;
}

int kv_wal_reopen(struct kv_wal *w, const char *dir, uint64_t num, uint64_t size,
		  struct mc_err *err)
{
	struct stat st;

	if (wal_path(w->path, sizeof(w->path), dir, num) < 0)
		return mc_err_set(err, ENAMETOOLONG, "wal path in `%s`", dir);
	w->fd = open(w->path, O_RDWR | O_CLOEXEC);
	if (w->fd < 0)
		return mc_err_set(err, errno, "open `%s`", w->path);
	if (fstat(w->fd, &st) < 0) {
		int e = errno;

		close(w->fd);
		w->fd = -1;
		return mc_err_set(err, e, "stat `%s`", w->path);
	}
	/* Replay checked that everything past @size is zero (or cut it off). */
	w->format = 2;
	w->num = num;
	w->size = size;
	w->alloc = MC_MAX((uint64_t)st.st_size, size);
	w->step = STEP_MIN;
	return 0;
}

void kv_wal_close(struct kv_wal *w)
{
	if (w->fd < 0)
		return;
	/* Best-effort: the zero tail is valid on disk; trimming only tidies the file. */
	if (w->alloc > w->size && ftruncate(w->fd, (off_t)w->size) < 0)
		mc_log_warn("kv: trim `%s`: %m", w->path);
	close(w->fd);
	w->fd = -1;
}

static int pwrite_full(int fd, const void *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t r = pwrite(fd, p, n, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p = (const char *)p + r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Writes zeros ahead so the file covers at least @need bytes. */
static int wal_extend(struct kv_wal *w, uint64_t need)
{
	uint64_t to = MC_MAX(w->alloc + w->step, (need + 4095) & ~4095ull);

	for (uint64_t off = w->alloc; off < to;) {
		size_t n = (size_t)MC_MIN(to - off, (uint64_t)sizeof(zeros));
		int r = pwrite_full(w->fd, zeros, n, off);

		if (r < 0)
			return r; /* a partial extension is still zeros: harmless */
		off += n;
		w->alloc = off;
	}
	w->step = MC_MIN(w->step * 2, (uint64_t)STEP_MAX);
	return 0;
}

int64_t kv_wal_append(struct kv_wal *w, const struct iovec *reps, const uint64_t *seqs, int n)
{
	/* Headers live on the stack; a group is capped at KV_WAL_MAX_GROUP records. */
	static const uint8_t end_marker = KV_WAL_END;
	uint8_t hdr[KV_WAL_MAX_GROUP][KV_WAL_HDR];
	struct iovec iov[3 * KV_WAL_MAX_GROUP];
	size_t total = 0;
	int iovn = 0, r;

	if (n > KV_WAL_MAX_GROUP)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		uint32_t crc;

		kv_put_u32(hdr[i] + 4, (uint32_t)reps[i].iov_len);
		kv_put_u64(hdr[i] + 8, seqs[i]);
		kv_put_u32(hdr[i] + 16, ~kv_crc32c(0, hdr[i] + 4, 12));
		crc = kv_crc32c(0, hdr[i] + 4, KV_WAL_HDR - 4);
		crc = kv_crc32c(crc, reps[i].iov_base, reps[i].iov_len);
		kv_put_u32(hdr[i], crc);
		iov[iovn++] = (struct iovec){ hdr[i], KV_WAL_HDR };
		iov[iovn++] = reps[i];
		iov[iovn++] = (struct iovec){ (void *)&end_marker, 1 };
		total += KV_WAL_HDR + reps[i].iov_len + 1;
	}
	if (w->size + total > w->alloc && (r = wal_extend(w, w->size + total)) < 0)
		return r;
	/* One pwritev is one append; loop only over short writes. */
	size_t done = 0;
	int first = 0;

	while (done < total) {
		ssize_t k = pwritev(w->fd, iov + first, iovn - first, (off_t)(w->size + done));

		if (k < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;

			/*
			 * Zero what was half-written so the next record, written at the same
			 * offset, is not followed by stray bytes that would read as corruption.
			 * Best-effort: if even that fails the error is returned all the same.
			 */
			for (size_t z = 0; z < done;) {
				size_t m = MC_MIN(done - z, sizeof(zeros));

				if (pwrite_full(w->fd, zeros, m, w->size + z) < 0)
					break;
				z += m;
			}
			return -e;
		}
		done += (size_t)k;
		while (first < iovn && (size_t)k >= iov[first].iov_len) {
			k -= (ssize_t)iov[first].iov_len;
			first++;
		}
		if (first < iovn && k > 0) {
			iov[first].iov_base = (char *)iov[first].iov_base + k;
			iov[first].iov_len -= (size_t)k;
		}
	}
	w->size += total;
	return (int64_t)total;
}

int kv_wal_sync(struct kv_wal *w)
{
	return fdatasync(w->fd) < 0 ? -errno : 0;
}

int kv_wal_replay(const char *path, bool truncate, kv_wal_record_fn *fn, void *arg, uint64_t *end,
		  int64_t *torn_at, int *format, struct mc_err *err)
{
	mc_autoclose int fd = open(path, (truncate ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	mc_autofree uint8_t *data = NULL;
	struct stat st;
	uint64_t off = 0;
	int fmt = 0;

	*torn_at = -1;
	if (fd < 0)
		return mc_err_set(err, errno, "open `%s`", path);
	if (fstat(fd, &st) < 0)
		return mc_err_set(err, errno, "stat `%s`", path);
	if (st.st_size > 0) {
		data = malloc((size_t)st.st_size);
		if (!data)
			return mc_err_set(err, ENOMEM, "read `%s`", path);
		ssize_t n = mc_read_all(fd, data, (size_t)st.st_size);

		if (n < 0)
			return mc_err_set(err, (int)-n, "read `%s`", path);
		if ((uint64_t)n != (uint64_t)st.st_size)
			return mc_err_setx(err, EIO, "read `%s`: file changed size", path);
	}
	uint64_t size = (uint64_t)st.st_size, nz = size;

	/* [nz, size) is the zero tail: written ahead, or what a crash left. */
	while (nz > 0 && data[nz - 1] == 0)
		nz--;
	while (off < nz) {
		uint64_t left = size - off;
		const uint8_t *h = data + off;

		/* A header cut short by the end of the file (format 1, or a truncation). */
		if (left < KV_WAL_HDR) {
			*torn_at = (int64_t)off;
			break;
		}
		uint32_t hc = kv_crc32c(0, h + 4, 12), stored = kv_get_u32(h + 16);

		if (!fmt)
			fmt = stored == ~hc ? 2 : stored == hc ? 1 : 0;
		if (!fmt || stored != (fmt == 2 ? ~hc : hc)) {
			/*
			 * A header whose last byte and everything after it are zero was cut
			 * short by a crash. Otherwise its length cannot be trusted to find
			 * the tail: corruption.
			 */
			if (nz < off + KV_WAL_HDR) {
				*torn_at = (int64_t)off;
				break;
			}
			return mc_err_setx(err, MC_ECORRUPT,
					   "wal `%s`: header checksum mismatch at offset %llu",
					   path, (unsigned long long)off);
		}
		uint32_t len = kv_get_u32(h + 4);
		uint64_t rec = KV_WAL_HDR + (uint64_t)len + (fmt == 2);

		if (rec > left) {
			*torn_at = (int64_t)off;
			break;
		}
		uint32_t crc = kv_crc32c(0, h + 4, KV_WAL_HDR - 4 + (size_t)len);
		bool crc_ok = crc == kv_get_u32(h),
		     marker_ok = fmt == 1 || h[rec - 1] == KV_WAL_END;

		if (!crc_ok || !marker_ok) {
			/*
			 * Torn (format 2): the write stopped before the end marker, so the
			 * marker and everything after it are still zero. A record whose marker
			 * is there, or that is followed by data, was complete: corruption.
			 */
			if (fmt == 2 && h[rec - 1] == 0 && nz < off + rec) {
				*torn_at = (int64_t)off;
				break;
			}
			return mc_err_setx(
				err, MC_ECORRUPT,
				crc_ok ? "wal `%s`: bad end marker in record at offset %llu"
				       : "wal `%s`: checksum mismatch in record at offset %llu",
				path, (unsigned long long)off);
		}
		int r = fn(arg, kv_get_u64(h + 8), h + KV_WAL_HDR, len);

		if (r == -MC_ECORRUPT)
			return mc_err_setx(err, MC_ECORRUPT,
					   "wal `%s`: malformed batch in record at offset %llu",
					   path, (unsigned long long)off);
		if (r < 0)
			return mc_err_set(err, -r, "wal `%s`: replay record at offset %llu", path,
					  (unsigned long long)off);
		off += rec;
	}
	if (*torn_at >= 0 && truncate) {
		if (ftruncate(fd, (off_t)off) < 0)
			return mc_err_set(err, errno, "truncate torn tail of `%s`", path);
		if (fdatasync(fd) < 0)
			return mc_err_set(err, errno, "fdatasync `%s`", path);
	}
	*end = off;
	*format = fmt ? fmt : 2;
	return 0;
}
