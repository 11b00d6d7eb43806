/* SPDX-License-Identifier: MIT */
/*
 * Corruption and torn writes: a flipped byte anywhere in a table, the WAL or the
 * manifest is reported as MC_ECORRUPT naming the file (and offset), never returned
 * as data; a torn WAL tail (cut short, or zero-filled) is truncated and the store
 * opens with every complete record.
 */
#include "harness.h"
#include "kvtest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define NKEYS 3000

FIXTURE(corrupt)
{
	char dir[256];
};

FIXTURE_SETUP(corrupt)
{
	kvt_mkdtemp(self->dir, sizeof(self->dir));
	ASSERT_NE(0, self->dir[0]);
}

FIXTURE_TEARDOWN(corrupt)
{
	kvt_rmdir(self->dir);
}

/* Path of the only file in @dir ending in @ext. */
static void find_file(const char *dir, const char *ext, char *out, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	out[0] = '\0';
	if (!d)
		return;
	while ((de = readdir(d)))
		if (mc_str_has_suffix(de->d_name, ext)) {
			snprintf(out, size, "%s/%s", dir, de->d_name);
			n++;
		}
	closedir(d);
	if (n != 1)
		out[0] = '\0';
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void xor_byte(const char *path, off_t off, uint8_t x)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	if (fd < 0 || pread(fd, &b, 1, off) != 1)
		abort();
	b ^= x;
	if (pwrite(fd, &b, 1, off) != 1)
		abort();
	close(fd);
}

static void fill(const char *dir, uint32_t mem_entries, int n)
{
	struct mc_kv_options o = kvt_opts(mem_entries, MC_KV_SYNC_NONE);
	struct mc_err err = { 0 };
	struct mc_kv *kv;
	char k[32], v[64];

	if (mc_kv_open(dir, &o, &kv, &err) < 0)
		abort();
	for (int i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "key%06d", i);
		snprintf(v, sizeof(v), "value%06d-abcdefghijklmnopqrstuvwxyz", i);
		if (mc_kv_put(kv, k, strlen(k), v, strlen(v)) < 0)
			abort();
	}
	mc_kv_close(kv);
}

/*
 * Opens read-only and reads everything (scan and every get). Returns 0 if all data
 * came back intact, or the error, with its message in @err. Wrong data is a failure.
 */
static int read_all(const char *dir, int n, struct mc_err *err)
{
	struct mc_kv_options o = kvt_opts(0, MC_KV_SYNC_NONE);
	struct mc_buf v = MC_BUF_INIT;
	struct mc_kv *kv;
	struct mc_kv_iter *it;
	char k[32], want[64];
	int r, seen = 0;

	o.read_only = true;
	r = mc_kv_open(dir, &o, &kv, err);
	if (r < 0)
		return r;
	r = mc_kv_iter_new(kv, &it);
	if (r < 0)
		abort();
	for (mc_kv_iter_seek_first(it); mc_kv_iter_valid(it); mc_kv_iter_next(it)) {
		size_t kl, vl;
		const char *kk = mc_kv_iter_key(it, &kl), *vv = mc_kv_iter_value(it, &vl);

		snprintf(k, sizeof(k), "key%06d", seen);
		snprintf(want, sizeof(want), "value%06d-abcdefghijklmnopqrstuvwxyz", seen);
		if (kl != strlen(k) || memcmp(kk, k, kl) || vl != strlen(want) ||
		    memcmp(vv, want, vl))
			th_assert_failed(__FILE__, __LINE__, "scan returned wrong data at %d",
					 seen);
		seen++;
	}
	r = mc_kv_iter_status(it);
	mc_kv_iter_free(it);
	if (r < 0) {
		mc_kv_last_error(kv, err);
		goto out;
	}
	if (seen != n)
		th_assert_failed(__FILE__, __LINE__, "scan saw %d keys, want %d", seen, n);
	for (int i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "key%06d", i);
		snprintf(want, sizeof(want), "value%06d-abcdefghijklmnopqrstuvwxyz", i);
		r = mc_kv_get(kv, k, strlen(k), &v);
		if (r < 0) {
			mc_kv_last_error(kv, err);
			goto out;
		}
		if (strcmp(v.data, want) != 0)
			th_assert_failed(__FILE__, __LINE__, "get %s returned wrong data", k);
	}
	r = 0;
out:
	mc_buf_release(&v);
	mc_kv_close(kv);
	return r;
}

TEST_F_TIMEOUT(corrupt, flipped_byte_in_sstable_is_detected, 60)
{
	struct mc_kv_options o = kvt_opts(1000, MC_KV_SYNC_NONE);
	struct mc_err err = { 0 };
	struct mc_kv *kv;
	uint64_t rs = th_seed() | 1;
	char path[512];

	fill(self->dir, 1000, NKEYS);
	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	ASSERT_OK(mc_kv_compact(kv, &err));
	mc_kv_close(kv);
	find_file(self->dir, ".sst", path, sizeof(path));
	ASSERT_NE(0, path[0]);
	ASSERT_OK(read_all(self->dir, NKEYS, &err));
	off_t size = file_size(path);

	/* Fixed spots (first byte, footer fields, magic) plus random ones everywhere. */
	off_t spots[80] = { 0,	       size - 1,  size - 8,  size - 12, size - 20,
			    size - 40, size - 48, size - 49, size / 2 };
	int nspots = 9;

	while (nspots < (int)MC_ARRAY_SIZE(spots))
		spots[nspots++] = (off_t)(kvt_rand(&rs) % (uint64_t)size);
	for (int i = 0; i < nspots; i++) {
		uint8_t x = (uint8_t)(1 + kvt_rand(&rs) % 255);

		xor_byte(path, spots[i], x);
		memset(&err, 0, sizeof(err));
		int r = read_all(self->dir, NKEYS, &err);

		if (r != -MC_ECORRUPT)
			th_assert_failed(
				__FILE__, __LINE__,
				"flip at offset %lld of %lld: got %d (%s), want MC_ECORRUPT",
				(long long)spots[i], (long long)size, r, err.msg);
		ASSERT_NONNULL(strstr(err.msg, path));
		ASSERT_NONNULL(strstr(err.msg, "offset"));
		if (i < 3)
			TH_LOG("flip at %lld: %s", (long long)spots[i], err.msg);
		xor_byte(path, spots[i], x);
	}
	ASSERT_OK(read_all(self->dir, NKEYS, &err));
}

TEST_F(corrupt, flipped_byte_in_wal_is_detected)
{
	struct mc_err err = { 0 };
	uint64_t rs = th_seed() | 1;
	char path[512];

	fill(self->dir, 0, 300); /* no flush: everything is in the WAL */
	find_file(self->dir, ".log", path, sizeof(path));
	ASSERT_NE(0, path[0]);
	ASSERT_OK(read_all(self->dir, 300, &err));
	off_t size = file_size(path);
	off_t spots[60] = { 0, 4, 8, 16, size - 1, size - 30 };
	int nspots = 6;

	while (nspots < (int)MC_ARRAY_SIZE(spots))
		spots[nspots++] = (off_t)(kvt_rand(&rs) % (uint64_t)size);
	for (int i = 0; i < nspots; i++) {
		uint8_t x = (uint8_t)(1 + kvt_rand(&rs) % 255);

		xor_byte(path, spots[i], x);
		memset(&err, 0, sizeof(err));
		int r = read_all(self->dir, 300, &err);

		if (r != -MC_ECORRUPT)
			th_assert_failed(
				__FILE__, __LINE__,
				"flip at offset %lld of %lld: got %d (%s), want MC_ECORRUPT",
				(long long)spots[i], (long long)size, r, err.msg);
		ASSERT_NONNULL(strstr(err.msg, path));
		ASSERT_NONNULL(strstr(err.msg, "offset"));
		if (i < 2)
			TH_LOG("flip at %lld: %s", (long long)spots[i], err.msg);
		xor_byte(path, spots[i], x);
	}
	/* A read-write open refuses too, and leaves the file alone. */
	xor_byte(path, size / 2, 0x40);
	struct mc_kv *kv;

	ASSERT_EQ(-MC_ECORRUPT, mc_kv_open(self->dir, NULL, &kv, &err));
	ASSERT_EQ(size, file_size(path));
}

TEST_F(corrupt, torn_wal_tail_is_truncated)
{
	struct mc_err err = { 0 };
	struct mc_buf v = MC_BUF_INIT;
	struct mc_kv *kv;
	char path[512];

	fill(self->dir, 0, 100);
	find_file(self->dir, ".log", path, sizeof(path));
	ASSERT_NE(0, path[0]);
	off_t size = file_size(path);

	/* Zeros after the last record (what a filesystem can leave after a crash). */
	int fd = open(path, O_WRONLY | O_APPEND);
	static const char zeros[4096];

	ASSERT_GE(fd, 0);
	ASSERT_EQ(sizeof(zeros), write(fd, zeros, sizeof(zeros)));
	close(fd);
	ASSERT_OK(mc_kv_open(self->dir, NULL, &kv, &err));
	mc_kv_close(kv);
	ASSERT_EQ(size, file_size(path));
	ASSERT_OK(read_all(self->dir, 100, &err));

	/* Cut into the last record: it goes, the other 99 stay. */
	for (int cut = 1; cut <= 40; cut += 13) {
		ASSERT_EQ(0, truncate(path, size - cut));
		ASSERT_OK(mc_kv_open(self->dir, NULL, &kv, &err));
		ASSERT_EQ(-ENOENT, mc_kv_get(kv, "key000099", 9, &v));
		ASSERT_OK(mc_kv_get(kv, "key000098", 9, &v));
		/* New writes after the truncation land after the last complete record. */
		const char *val = "value000099-abcdefghijklmnopqrstuvwxyz";

		ASSERT_OK(mc_kv_put(kv, "key000099", 9, val, strlen(val)));
		mc_kv_close(kv);
		ASSERT_OK(read_all(self->dir, 100, &err));
		size = file_size(path);
	}
	mc_buf_release(&v);
}

TEST_F(corrupt, manifest_damage_is_detected)
{
	struct mc_err err = { 0 };
	struct mc_kv *kv;
	char path[512];

	fill(self->dir, 500, 2000);
	snprintf(path, sizeof(path), "%s/MANIFEST", self->dir);
	off_t size = file_size(path);

	for (off_t off = 0; off < size; off += 7) {
		xor_byte(path, off, 0x08);
		memset(&err, 0, sizeof(err));
		ASSERT_EQ(-MC_ECORRUPT, mc_kv_open(self->dir, NULL, &kv, &err));
		ASSERT_NONNULL(strstr(err.msg, "MANIFEST"));
		xor_byte(path, off, 0x08);
	}
	/* A table the manifest names but the directory lacks is an error, not data loss. */
	ASSERT_OK(read_all(self->dir, 2000, &err));
	char sst[512];
	DIR *d = opendir(self->dir);
	struct dirent *de;

	sst[0] = '\0';
	while ((de = readdir(d)))
		if (mc_str_has_suffix(de->d_name, ".sst"))
			snprintf(sst, sizeof(sst), "%s/%s", self->dir, de->d_name);
	closedir(d);
	ASSERT_NE(0, sst[0]);
	ASSERT_EQ(0, unlink(sst));
	ASSERT_EQ(-ENOENT, mc_kv_open(self->dir, NULL, &kv, &err));
	TH_LOG("%s", err.msg);
}

TEST_HARNESS_MAIN
