/* SPDX-License-Identifier: MIT */
/*
 * kv-fsync-probe: the disk's own fdatasync latency, for bench/kv. Appends
 * REC-byte records to a file laid out like a kv WAL (zero-filled ahead, so a sync
 * flushes data only, no size change) and fdatasyncs after each, for SECONDS or
 * COUNT syncs, whichever ends first; prints percentiles and syncs/s.
 *   kv-fsync-probe FILE [SECONDS] [COUNT] [REC]
 * Run beside a server benchmark it shows what a sync costs on the same file
 * system at the same moment: the floor under any "ack after fdatasync" policy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mc/util.h>

#define PROG "kv-fsync-probe"
#define FILE_SIZE (16u << 20)

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int arg_u64(const char *s, const char *what, uint64_t max, uint64_t *out)
{
	if (mc_str_to_u64(s, out) < 0 || *out == 0 || *out > max) {
		fprintf(stderr, PROG ": %s: invalid value `%s`\n", what, s);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t secs = 10, count = 100000, rec = 200;
	static char zeros[1 << 20];

	if (argc < 2 || argc > 5) {
		fprintf(stderr, "usage: " PROG " FILE [SECONDS] [COUNT] [REC]\n");
		return 64;
	}
	if ((argc > 2 && arg_u64(argv[2], "SECONDS", 3600, &secs) < 0) ||
	    (argc > 3 && arg_u64(argv[3], "COUNT", 10000000, &count) < 0) ||
	    (argc > 4 && arg_u64(argv[4], "REC", 1 << 20, &rec) < 0))
		return 64;
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0) {
		fprintf(stderr, PROG ": open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* Zero-filled ahead and synced once: later syncs commit no metadata. */
	for (uint64_t off = 0; off < FILE_SIZE; off += sizeof(zeros))
		if (pwrite(fd, zeros, sizeof(zeros), (off_t)off) != (ssize_t)sizeof(zeros)) {
			fprintf(stderr, PROG ": write %s: %s\n", argv[1], strerror(errno));
			unlink(argv[1]);
			return 1;
		}
	if (fsync(fd) < 0) {
		fprintf(stderr, PROG ": fsync %s: %s\n", argv[1], strerror(errno));
		unlink(argv[1]);
		return 1;
	}
	uint64_t *lat = malloc(count * sizeof(*lat)), n = 0, off = 0;
	char *buf = malloc(rec);
	int rc = 0;

	if (!lat || !buf) {
		fprintf(stderr, PROG ": out of memory\n");
		unlink(argv[1]);
		return 1;
	}
	memset(buf, 'r', rec);
	uint64_t t0 = mc_time_mono_ns(), end = t0 + secs * 1000000000ull;

	while (n < count && mc_time_mono_ns() < end) {
		if (off + rec > FILE_SIZE)
			off = 0;
		uint64_t a = mc_time_mono_ns();

		if (pwrite(fd, buf, rec, (off_t)off) != (ssize_t)rec || fdatasync(fd) < 0) {
			fprintf(stderr, PROG ": write/fdatasync: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		lat[n++] = mc_time_mono_ns() - a;
		off += rec;
	}
	double el = (double)(mc_time_mono_ns() - t0) / 1e9;

	qsort(lat, n, sizeof(*lat), cmp_u64);
	if (n) {
		uint64_t sum = 0;

		for (uint64_t i = 0; i < n; i++)
			sum += lat[i];
		printf("fdatasync of a %llu-byte append: n=%llu mean=%llu p10=%llu p50=%llu "
		       "p90=%llu p99=%llu max=%llu us; %.0f syncs/s\n",
		       (unsigned long long)rec, (unsigned long long)n,
		       (unsigned long long)(sum / n / 1000),
		       (unsigned long long)(lat[n / 10] / 1000),
		       (unsigned long long)(lat[n / 2] / 1000),
		       (unsigned long long)(lat[n * 9 / 10] / 1000),
		       (unsigned long long)(lat[n * 99 / 100] / 1000),
		       (unsigned long long)(lat[n - 1] / 1000), (double)n / el);
	}
	free(lat);
	free(buf);
	close(fd);
	unlink(argv[1]);
	return rc;
}
