/* SPDX-License-Identifier: MIT */
/*
 * kv-bench: a db_bench-like driver. Built twice: against libmckv (kv-bench) and,
 * with KV_BENCH_LEVELDB defined, against LevelDB's C API (kv-bench-leveldb), so
 * the two engines run the very same workload code. Flags follow db_bench:
 *   --benchmarks=fillseq,fillrandom,overwrite,readrandom,readseq,deleterandom
 *   --num=N (ops per thread) --threads=T --key_size=16 --value_size=100
 *   --sync=0|1 --write_buffer_size=BYTES --db=DIR
 * Output lines have db_bench's shape: "name : X micros/op Y ops/sec".
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mc/util.h>

#ifdef KV_BENCH_LEVELDB
#include <leveldb/c.h>
#define ENGINE "leveldb"
#else
#include <mc/kv.h>
#define ENGINE "mckv"
#endif

static long num = 1000000, threads = 1, key_size = 16, value_size = 100, wbs = 4 << 20;
static bool sync_on;
static char db[1024] = "/tmp/kv-bench-db";
static char benchmarks[1024] = "fillseq,fillrandom,overwrite,readrandom,readseq,deleterandom";
static char *valbuf; /* random bytes the values are sliced from */

/* ---- the engine shim ---- */

#ifdef KV_BENCH_LEVELDB
static leveldb_t *ldb;
static leveldb_options_t *lopt;
static leveldb_writeoptions_t *lwo;
static leveldb_readoptions_t *lro;

static void eng_open(bool fresh)
{
	char *err = NULL;

	if (fresh)
		mc_fs_rm_rf(db, NULL);
	lopt = leveldb_options_create();
	leveldb_options_set_create_if_missing(lopt, 1);
	leveldb_options_set_write_buffer_size(lopt, (size_t)wbs);
	leveldb_options_set_compression(lopt, leveldb_no_compression);
	leveldb_options_set_filter_policy(lopt, leveldb_filterpolicy_create_bloom(10));
	ldb = leveldb_open(lopt, db, &err);
	if (err) {
		fprintf(stderr, "kv-bench: open `%s`: %s\n", db, err);
		exit(1);
	}
	lwo = leveldb_writeoptions_create();
	leveldb_writeoptions_set_sync(lwo, sync_on);
	lro = leveldb_readoptions_create();
}
static void eng_close(void)
{
	leveldb_close(ldb);
	leveldb_writeoptions_destroy(lwo);
	leveldb_readoptions_destroy(lro);
	leveldb_options_destroy(lopt);
}
static void check(char *err, const char *what)
{
	if (err) {
		fprintf(stderr, "kv-bench: %s: %s\n", what, err);
		exit(1);
	}
}
static void eng_put(const char *k, size_t kl, const char *v, size_t vl)
{
	char *err = NULL;

	leveldb_put(ldb, lwo, k, kl, v, vl, &err);
	check(err, "put");
}
static void eng_del(const char *k, size_t kl)
{
	char *err = NULL;

	leveldb_delete(ldb, lwo, k, kl, &err);
	check(err, "delete");
}
static bool eng_get(const char *k, size_t kl)
{
	char *err = NULL;
	size_t vl;
	char *v = leveldb_get(ldb, lro, k, kl, &vl, &err);

	check(err, "get");
	leveldb_free(v);
	return v != NULL;
}
static long eng_scan(void)
{
	leveldb_iterator_t *it = leveldb_create_iterator(ldb, lro);
	long n = 0;

	for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t kl, vl;

		leveldb_iter_key(it, &kl);
		leveldb_iter_value(it, &vl);
		n++;
	}
	leveldb_iter_destroy(it);
	return n;
}
static void eng_settle(void)
{
	/* LevelDB compacts in the background; nothing to wait for through the C API. */
}
#else
static struct mc_kv *kv;
static struct mc_buf *getbufs;

static void eng_open(bool fresh)
{
	struct mc_kv_options o;
	struct mc_err err = { 0 };

	if (fresh)
		mc_fs_rm_rf(db, NULL);
	mc_kv_options_init(&o);
	o.memtable_max_entries = 0;
	o.memtable_max_bytes = (size_t)wbs;
	/* sync=1 asks each write to be durable on return, as db_bench's --sync does;
	 * BATCH lets concurrent writers share the fdatasync (group commit). */
	o.sync = sync_on ? MC_KV_SYNC_BATCH : MC_KV_SYNC_NONE;
	if (mc_kv_open(db, &o, &kv, &err) < 0) {
		fprintf(stderr, "kv-bench: open: %s\n", err.msg);
		exit(1);
	}
}
static void eng_close(void)
{
	struct mc_kv_stats st;

	mc_kv_stats_get(kv, &st);
	if (sync_on && st.wal_syncs)
		printf("  group commit: %llu writes in %llu fdatasyncs: mean group %.1f, max %llu\n",
		       (unsigned long long)st.sync_ops, (unsigned long long)st.wal_syncs,
		       (double)st.sync_ops / (double)st.wal_syncs,
		       (unsigned long long)st.sync_ops_max);
	mc_kv_close(kv);
}
static void eng_put(const char *k, size_t kl, const char *v, size_t vl)
{
	int r = mc_kv_put(kv, k, kl, v, vl);

	if (r < 0) {
		fprintf(stderr, "kv-bench: put: %s\n", mc_strerror(-r));
		exit(1);
	}
}
static void eng_del(const char *k, size_t kl)
{
	int r = mc_kv_delete(kv, k, kl);

	if (r < 0) {
		fprintf(stderr, "kv-bench: delete: %s\n", mc_strerror(-r));
		exit(1);
	}
}
static __thread struct mc_buf tbuf;
static bool eng_get(const char *k, size_t kl)
{
	int r = mc_kv_get(kv, k, kl, &tbuf);

	if (r < 0 && r != -ENOENT) {
		fprintf(stderr, "kv-bench: get: %s\n", mc_strerror(-r));
		exit(1);
	}
	return r == 0;
}
static long eng_scan(void)
{
	struct mc_kv_iter *it;
	long n = 0;

	if (mc_kv_iter_new(kv, &it) < 0)
		exit(1);
	for (mc_kv_iter_seek_first(it); mc_kv_iter_valid(it); mc_kv_iter_next(it)) {
		size_t kl, vl;

		mc_kv_iter_key(it, &kl);
		mc_kv_iter_value(it, &vl);
		n++;
	}
	mc_kv_iter_free(it);
	return n;
}
static void eng_settle(void)
{
	(void)getbufs;
}
#endif

/* ---- workloads ---- */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void make_key(char *buf, long k)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%016ld", k);
	memcpy(buf, tmp + strlen(tmp) - (size_t)key_size, (size_t)key_size);
}

enum op {
	FILLSEQ,
	FILLRANDOM,
	OVERWRITE,
	READRANDOM,
	READSEQ,
	DELETERANDOM
};

struct job {
	enum op op;
	int tid;
	long found;
	uint64_t ns;
};

static void *run_job(void *arg)
{
	struct job *j = arg;
	uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(j->tid + 1) + 12345;
	char key[64];
	uint64_t t0 = now_ns();
	long total = num * threads;

	for (long i = 0; i < num; i++) {
		long k;

		switch (j->op) {
		case FILLSEQ:
			k = (long)j->tid * num + i;
			break;
		default:
			k = (long)(rnd(&s) % (uint64_t)total);
			break;
		}
		make_key(key, k);
		const char *v = valbuf + (rnd(&s) % 4096);

		switch (j->op) {
		case FILLSEQ:
		case FILLRANDOM:
		case OVERWRITE:
			eng_put(key, (size_t)key_size, v, (size_t)value_size);
			break;
		case READRANDOM:
			j->found += eng_get(key, (size_t)key_size);
			break;
		case DELETERANDOM:
			eng_del(key, (size_t)key_size);
			break;
		case READSEQ:
			break;
		}
	}
	j->ns = now_ns() - t0;
	return NULL;
}

static void run(const char *name, enum op op)
{
	pthread_t th[64];
	struct job jobs[64];
	uint64_t t0 = now_ns();
	long ops = num * threads, found = 0;

	if (op == FILLSEQ || op == FILLRANDOM) {
		eng_close();
		eng_open(true);
	}
	if (op == READSEQ) {
		ops = eng_scan();
		found = ops;
	} else {
		for (long t = 0; t < threads; t++) {
			jobs[t] = (struct job){ .op = op, .tid = (int)t };
			pthread_create(&th[t], NULL, run_job, &jobs[t]);
		}
		for (long t = 0; t < threads; t++) {
			pthread_join(th[t], NULL);
			found += jobs[t].found;
		}
	}
	double secs = (double)(now_ns() - t0) / 1e9;

	printf("%-13s: %10.3f micros/op %10.0f ops/sec", name, secs * 1e6 / (double)ops,
	       (double)ops / secs);
	if (op == READRANDOM)
		printf(" (%ld of %ld found)", found, ops);
	if (op == READSEQ)
		printf(" (%ld entries)", ops);
	printf("\n");
	fflush(stdout);
}

static bool flag(const char *arg, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) == 0 && arg[n] == '=') {
		*val = arg + n + 1;
		return true;
	}
	return false;
}

static long num_arg(const char *name, const char *v, long max)
{
	char *end;
	long x = strtol(v, &end, 10);

	if (*v == '\0' || *end || x < 0 || x > max) {
		fprintf(stderr, "kv-bench: %s: invalid value `%s`\n", name, v);
		exit(64);
	}
	return x;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *v;

		if (flag(argv[i], "--num", &v))
			num = num_arg("--num", v, 1L << 40);
		else if (flag(argv[i], "--threads", &v))
			threads = num_arg("--threads", v, 64);
		else if (flag(argv[i], "--key_size", &v))
			key_size = num_arg("--key_size", v, 16);
		else if (flag(argv[i], "--value_size", &v))
			value_size = num_arg("--value_size", v, 4096);
		else if (flag(argv[i], "--write_buffer_size", &v))
			wbs = num_arg("--write_buffer_size", v, 1L << 34);
		else if (flag(argv[i], "--sync", &v))
			sync_on = num_arg("--sync", v, 1);
		else if (flag(argv[i], "--db", &v))
			snprintf(db, sizeof(db), "%s", v);
		else if (flag(argv[i], "--benchmarks", &v))
			snprintf(benchmarks, sizeof(benchmarks), "%s", v);
		else {
			fprintf(stderr, "kv-bench: unknown flag `%s`\n", argv[i]);
			return 64;
		}
	}
	if (threads < 1 || key_size < 8) {
		fprintf(stderr, "kv-bench: --threads >= 1 and --key_size >= 8 required\n");
		return 64;
	}
	valbuf = malloc(8192);
	uint64_t s = 42;

	for (int i = 0; i < 8192; i++)
		valbuf[i] = (char)(' ' + rnd(&s) % 95);
	printf("engine: %s  keys: %ld bytes  values: %ld bytes  num: %ld x %ld threads  sync: %d  "
	       "write_buffer: %ld\n",
	       ENGINE, key_size, value_size, num, threads, sync_on, wbs);
	eng_open(false);
	char *save = NULL;

	for (char *b = strtok_r(benchmarks, ",", &save); b; b = strtok_r(NULL, ",", &save)) {
		if (!strcmp(b, "fillseq"))
			run(b, FILLSEQ);
		else if (!strcmp(b, "fillrandom"))
			run(b, FILLRANDOM);
		else if (!strcmp(b, "overwrite"))
			run(b, OVERWRITE);
		else if (!strcmp(b, "readrandom"))
			run(b, READRANDOM);
		else if (!strcmp(b, "readseq"))
			run(b, READSEQ);
		else if (!strcmp(b, "deleterandom"))
			run(b, DELETERANDOM);
		else {
			fprintf(stderr, "kv-bench: unknown benchmark `%s`\n", b);
			return 64;
		}
		eng_settle();
	}
	eng_close();
	mc_fs_rm_rf(db, NULL);
	free(valbuf);
	return 0;
}
