/* SPDX-License-Identifier: MIT */
/*
 * wal.c: the write-ahead log. One file per memtable generation, NNNNNN.log, a
 * sequence of records (docs/kv-format.md):
 *
 *   +---------+---------+---------+----------+--------------------+
 *   | crc u32 | len u32 | seq u64 | hcrc u32 | payload: len bytes |
 *   +---------+---------+---------+----------+--------------------+
 *   hcrc = CRC32C of bytes 4 .. 16 (len and seq): a length can be trusted alone
 *   crc  = CRC32C of bytes 4 .. 20+len (everything after itself)
 *
 * Recovery distinguishes a torn tail (the process or machine died mid-append:
 * truncate it) from corruption (a complete record whose checksum fails: refuse to
 * open, naming file and offset). See kv_wal_replay.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mc/cleanup.h>

static int wal_path(char *buf, size_t size, const char *dir, uint64_t num)
{
	int n = snprintf(buf, size, "%s/%06llu.log", dir, (unsigned long long)num);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int kv_wal_create(struct kv_wal *w, const char *dir, uint64_t num, struct mc_err *err)
{
	if (wal_path(w->path, sizeof(w->path), dir, num) < 0)
		return mc_err_set(err, ENAMETOOLONG, "wal path in `%s`", dir);
	w->fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0)
		return mc_err_set(err, errno, "create `%s`", w->path);
	w->num = num;
	w->size = 0;
	return 0;
}

int kv_wal_reopen(struct kv_wal *w, const char *dir, uint64_t num, uint64_t size,
		  struct mc_err *err)
{
	if (wal_path(w->path, sizeof(w->path), dir, num) < 0)
		return mc_err_set(err, ENAMETOOLONG, "wal path in `%s`", dir);
	w->fd = open(w->path, O_WRONLY | O_CLOEXEC);
	if (w->fd < 0)
		return mc_err_set(err, errno, "open `%s`", w->path);
	if (lseek(w->fd, (off_t)size, SEEK_SET) < 0) {
		int e = errno;

		close(w->fd);
		w->fd = -1;
		return mc_err_set(err, e, "seek `%s`", w->path);
	}
	w->num = num;
	w->size = size;
	return 0;
}

void kv_wal_close(struct kv_wal *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

int kv_wal_append(struct kv_wal *w, const struct iovec *reps, const uint64_t *seqs, int n)
{
	/* Headers live on the stack; a group is capped at 64 records by the caller. */
	uint8_t hdr[64][KV_WAL_HDR];
	struct iovec iov[128];
	size_t total = 0;
	int iovn = 0;

	if (n > 64)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		uint32_t crc;

		kv_put_u32(hdr[i] + 4, (uint32_t)reps[i].iov_len);
		kv_put_u64(hdr[i] + 8, seqs[i]);
		kv_put_u32(hdr[i] + 16, kv_crc32c(0, hdr[i] + 4, 12));
		crc = kv_crc32c(0, hdr[i] + 4, KV_WAL_HDR - 4);
		crc = kv_crc32c(crc, reps[i].iov_base, reps[i].iov_len);
		kv_put_u32(hdr[i], crc);
		iov[iovn++] = (struct iovec){ hdr[i], KV_WAL_HDR };
		iov[iovn++] = reps[i];
		total += KV_WAL_HDR + reps[i].iov_len;
	}
	/* One writev is one append; loop only over short writes (ENOSPC half-way). */
	size_t done = 0;
	int first = 0;

	while (done < total) {
		ssize_t r = writev(w->fd, iov + first, iovn - first);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;

			/* Cut what was half-written so the next record starts cleanly. */
			if (ftruncate(w->fd, (off_t)w->size) == 0)
				lseek(w->fd, (off_t)w->size, SEEK_SET);
			return -e;
		}
		done += (size_t)r;
		while (first < iovn && (size_t)r >= iov[first].iov_len) {
			r -= (ssize_t)iov[first].iov_len;
			first++;
		}
		if (first < iovn && r > 0) {
			iov[first].iov_base = (char *)iov[first].iov_base + r;
			iov[first].iov_len -= (size_t)r;
		}
	}
	w->size += total;
	return 0;
}

int kv_wal_sync(struct kv_wal *w)
{
	return fdatasync(w->fd) < 0 ? -errno : 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int kv_wal_replay(const char *path, bool truncate, kv_wal_record_fn *fn, void *arg, uint64_t *end,
		  int64_t *torn_at, struct mc_err *err)
{
	mc_autoclose int fd = open(path, (truncate ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	mc_autofree uint8_t *data = NULL;
	struct stat st;
	uint64_t off = 0;

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
	uint64_t size = (uint64_t)st.st_size;

	while (off < size) {
		uint64_t left = size - off;
		const uint8_t *h = data + off;

		/*
		 * Torn tail: a header cut short, a valid header whose payload runs past the
		 * end, or zeros a filesystem left after a crash. A header that fails its own
		 * CRC is corruption: its length cannot be trusted to find the tail.
		 */
		if (left < KV_WAL_HDR || all_zero(h, left)) {
			*torn_at = (int64_t)off;
			break;
		}
		if (kv_crc32c(0, h + 4, 12) != kv_get_u32(h + 16))
			return mc_err_setx(err, MC_ECORRUPT,
					   "wal `%s`: header checksum mismatch at offset %llu",
					   path, (unsigned long long)off);
		uint32_t len = kv_get_u32(h + 4);

		if (len > left - KV_WAL_HDR) {
			*torn_at = (int64_t)off;
			break;
		}
		uint32_t crc = kv_crc32c(0, h + 4, KV_WAL_HDR - 4 + (size_t)len);

		if (crc != kv_get_u32(h))
			return mc_err_setx(err, MC_ECORRUPT,
					   "wal `%s`: checksum mismatch in record at offset %llu",
					   path, (unsigned long long)off);
		int r = fn(arg, kv_get_u64(h + 8), h + KV_WAL_HDR, len);

		if (r == -MC_ECORRUPT)
			return mc_err_setx(err, MC_ECORRUPT,
					   "wal `%s`: malformed batch in record at offset %llu",
					   path, (unsigned long long)off);
		if (r < 0)
			return mc_err_set(err, -r, "wal `%s`: replay record at offset %llu", path,
					  (unsigned long long)off);
		off += KV_WAL_HDR + len;
	}
	if (*torn_at >= 0 && truncate) {
		if (ftruncate(fd, (off_t)off) < 0)
			return mc_err_set(err, errno, "truncate torn tail of `%s`", path);
		if (fdatasync(fd) < 0)
			return mc_err_set(err, errno, "fdatasync `%s`", path);
	}
	*end = off;
	return 0;
}
