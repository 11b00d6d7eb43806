/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for WAL recovery (kv_wal_replay): the input is a WAL file. Replay
 * must never crash or read out of bounds, must end with success or MC_ECORRUPT,
 * and every record it accepts must lie inside the file with a well-formed batch.
 * A second replay with truncation must accept the same records, and a third replay
 * of the truncated file must find no torn tail.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	uint64_t records, ops, bytes;
};

static int op(void *arg, int kind, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
	struct seen *s = arg;
	volatile uint8_t sink = 0;

	/* Touch every byte: ASan reports any pointer outside the replay buffer. */
	for (size_t i = 0; i < klen; i++)
		sink ^= k[i];
	for (size_t i = 0; i < vlen; i++)
		sink ^= v[i];
	(void)sink;
	if (kind != KV_KIND_PUT && kind != KV_KIND_DEL)
		abort();
	s->ops++;
	return 0;
}

static int record(void *arg, uint64_t seq, const uint8_t *rep, size_t len)
{
	struct seen *s = arg;

	(void)seq;
	s->records++;
	s->bytes += len;
	return kv_batch_foreach(rep, len, op, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/kv-wal-fuzz.XXXXXX";
	int fd = mkstemp(path);
	struct seen a = { 0 }, b = { 0 }, c = { 0 };
	struct mc_err err = { 0 };
	uint64_t end = 0, end2 = 0;
	int64_t torn, torn2;
	int format, r, r2;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	r = kv_wal_replay(path, false, record, &a, &end, &torn, &format, &err);
	if (r < 0 && r != -MC_ECORRUPT)
		abort();
	if (r == 0 && (end > size || (format != 1 && format != 2)))
		abort();
	r2 = kv_wal_replay(path, true, record, &b, &end2, &torn2, &format, &err);
	if (r2 != r || b.records != a.records || b.ops != a.ops)
		abort();
	if (r == 0) {
		if (end2 != end || torn2 != torn)
			abort();
		r = kv_wal_replay(path, true, record, &c, &end2, &torn2, &format, &err);
		if (r != 0 || c.records != a.records || torn2 != -1)
			abort();
	}
	unlink(path);
	return 0;
}
