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

		/*
		 * The last byte is the final record's end marker (0xa5): turning it into 0
		 * is exactly what a torn write looks like (see wal_torn_shapes), so flip it
		 * to something else.
		 */
		if (spots[i] == size - 1 && x == 0xa5)
			x = 0x5a;
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

static void append_zeros(const char *path, size_t n)
{
	static const char zeros[4096];
	int fd = open(path, O_WRONLY | O_APPEND);

	if (fd < 0)
		abort();
	for (size_t done = 0; done < n; done += sizeof(zeros))
		if (write(fd, zeros, MC_MIN(sizeof(zeros), n - done)) < 0)
			abort();
	close(fd);
}

static void zero_range(const char *path, off_t from, off_t to)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		abort();
	for (off_t o = from; o < to; o++)
		if (pwrite(fd, "", 1, o) != 1)
			abort();
	close(fd);
}

/* While the store is open its WAL has zeros written ahead; close trims them. */
TEST_F(corrupt, wal_is_preallocated_and_trimmed)
{
	struct mc_kv_options o = kvt_opts(0, MC_KV_SYNC_BATCH);
	struct mc_err err = { 0 };
	struct mc_kv *kv;
	char path[512];

	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	ASSERT_OK(mc_kv_put(kv, "a", 1, "1", 1));
	find_file(self->dir, ".log", path, sizeof(path));
	ASSERT_NE(0, path[0]);
	ASSERT_GE(file_size(path), 64 * 1024);
	mc_kv_close(kv);
	/* header 20 + batch (count 4, kind, klen, vlen, "a", "1") 9 + end marker 1 */
	ASSERT_EQ(30, file_size(path));
	ASSERT_OK(mc_kv_open(self->dir, &o, &kv, &err));
	struct mc_buf v = MC_BUF_INIT;

	ASSERT_OK(mc_kv_get(kv, "a", 1, &v));
	ASSERT_STREQ("1", v.data);
	mc_buf_release(&v);
	mc_kv_close(kv);
}

/*
 * What a crash leaves in a zero-filled WAL: the last record written only up to some
 * byte, zeros after. Such a record goes; damage anywhere else is corruption.
 */
TEST_F(corrupt, wal_torn_shapes)
{
	struct mc_err err = { 0 };
	struct mc_buf v = MC_BUF_INIT;
	struct mc_kv *kv;
	char path[512];
	const off_t rec = 20 + 4 + 1 + 1 + 1 + 9 + 38 + 1; /* one put of fill() */

	fill(self->dir, 0, 100);
	find_file(self->dir, ".log", path, sizeof(path));
	ASSERT_NE(0, path[0]);
	off_t size = file_size(path);

	ASSERT_EQ(100 * rec, size);
	/* Record cut after its header, and cut inside its header: torn, truncated. */
	const off_t cuts[] = { size - 1, size - 30, size - rec + 20, size - rec + 7 };

	for (size_t i = 0; i < MC_ARRAY_SIZE(cuts); i++) {
		zero_range(path, cuts[i], size);
		append_zeros(path, 70000);
		ASSERT_OK(mc_kv_open(self->dir, NULL, &kv, &err));
		ASSERT_EQ(-ENOENT, mc_kv_get(kv, "key000099", 9, &v));
		ASSERT_OK(mc_kv_get(kv, "key000098", 9, &v));
		const char *val = "value000099-abcdefghijklmnopqrstuvwxyz";

		ASSERT_OK(mc_kv_put(kv, "key000099", 9, val, strlen(val)));
		mc_kv_close(kv);
		ASSERT_EQ(size, file_size(path));
		ASSERT_OK(read_all(self->dir, 100, &err));
	}
	/* A complete last record with a flipped byte, zeros after it: corruption. */
	append_zeros(path, 70000);
	xor_byte(path, size - 20, 0x01);
	ASSERT_EQ(-MC_ECORRUPT, read_all(self->dir, 100, &err));
	ASSERT_NONNULL(strstr(err.msg, "checksum mismatch"));
	xor_byte(path, size - 20, 0x01);
	ASSERT_OK(read_all(self->dir, 100, &err));
	/* A torn-looking record that is followed by data is not a tail: corruption. */
	zero_range(path, size - rec - 1, size - rec);
	ASSERT_EQ(-MC_ECORRUPT, read_all(self->dir, 100, &err));
	ASSERT_NONNULL(strstr(err.msg, "end marker"));
	xor_byte(path, size - rec - 1, 0xa5);
	/* Stray bytes in the zero tail: corruption, not a silent end. */
	xor_byte(path, size + 100, 0x10);
	ASSERT_EQ(-MC_ECORRUPT, read_all(self->dir, 100, &err));
	ASSERT_NONNULL(strstr(err.msg, path));
	TH_LOG("%s", err.msg);
	xor_byte(path, size + 100, 0x10);
	ASSERT_OK(read_all(self->dir, 100, &err));
	mc_buf_release(&v);
}

/* CRC32C (Castagnoli), bit by bit: an independent check of docs/kv-format.md. */
static uint32_t crc32c(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t c = ~0u;

	while (len--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
	}
	return ~c;
}

/* A format-1 WAL (no end markers, plain header CRC) is still replayed. */
TEST_F(corrupt, wal_format1_is_read)
{
	struct mc_err err = { 0 };
	struct mc_buf v = MC_BUF_INIT;
	struct mc_kv *kv;
	char path[512];
	uint8_t recs[2][64];
	size_t lens[2];

	ASSERT_OK(mc_kv_open(self->dir, NULL, &kv, &err));
	mc_kv_close(kv);
	find_file(self->dir, ".log", path, sizeof(path));
	ASSERT_NE(0, path[0]);
	/* Two records, seq 1 and 2: put k1=v1, put k2=v2, written the format-1 way. */
	for (int i = 0; i < 2; i++) {
		uint8_t *r = recs[i], body[] = {
			1, 0, 0, 0, 1, 2, 2, 'k', (uint8_t)('1' + i), 'v', (uint8_t)('1' + i)
		};
		uint32_t len = sizeof(body), hcrc, crc;
		uint64_t seq = (uint64_t)i + 1;

		memcpy(r + 4, &len, 4);
		memcpy(r + 8, &seq, 8);
		hcrc = crc32c(r + 4, 12);
		memcpy(r + 16, &hcrc, 4);
		memcpy(r + 20, body, sizeof(body));
		crc = crc32c(r + 4, 16 + sizeof(body));
		memcpy(r, &crc, 4);
		lens[i] = 20 + sizeof(body);
	}
	int fd = open(path, O_WRONLY | O_TRUNC);

	ASSERT_GE(fd, 0);
	ASSERT_EQ((ssize_t)lens[0], write(fd, recs[0], lens[0]));
	ASSERT_EQ((ssize_t)lens[1], write(fd, recs[1], lens[1]));
	close(fd);
	ASSERT_OK(mc_kv_open(self->dir, NULL, &kv, &err));
	ASSERT_OK(mc_kv_get(kv, "k1", 2, &v));
	ASSERT_STREQ("v1", v.data);
	ASSERT_OK(mc_kv_get(kv, "k2", 2, &v));
	ASSERT_STREQ("v2", v.data);
	/* New writes go to a new (format-2) WAL; the old one stays until the flush. */
	ASSERT_OK(mc_kv_put(kv, "k3", 2, "v3", 2));
	mc_kv_close(kv);
	ASSERT_OK(mc_kv_open(self->dir, NULL, &kv, &err));
	ASSERT_OK(mc_kv_get(kv, "k1", 2, &v));
	ASSERT_OK(mc_kv_get(kv, "k3", 2, &v));
	ASSERT_STREQ("v3", v.data);
	mc_kv_close(kv);
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
