/* SPDX-License-Identifier: MIT */
/*
 * cmd.c: the command table of kv-server: each Redis command the server supports,
 * executed against the engine, with replies shaped as redis shapes them (so
 * redis-cli and redis-benchmark work unchanged). Unknown commands and wrong
 * arities get redis' own error texts.
 */
#include <mc/kv_resp.h>

#include "internal.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include <mc/cleanup.h>
#include <mc/config.h>

typedef int cmd_fn(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		   unsigned wf);

struct cmd {
	const char *name;
	int arity; /* like redis: N exact, -N at least N (the name counts) */
	enum mc_kv_cmd_class cls;
	cmd_fn *fn;
};

static bool is(const struct mc_kv_resp_arg *a, const char *s)
{
	return a->len == strlen(s) && strncasecmp(a->p, s, a->len) == 0;
}

static int engine_error(struct mc_buf *out, int r)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "ERR storage: %s", mc_strerror(-r));
	return mc_kv_resp_error(out, msg);
}

/* Parses a whole argument as a signed 64-bit decimal, as redis' string2ll does. */
static bool to_ll(const char *p, size_t len, long long *out)
{
	char tmp[24];
	int64_t v;

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	if (tmp[0] == '+' || (tmp[0] == '0' && len > 1) || (tmp[0] == '-' && tmp[1] == '0'))
		return false;
	if (mc_str_to_i64(tmp, &v) < 0)
		return false;
	*out = v;
	return true;
}

static int c_ping(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		  unsigned wf)
{
	if (n == 2)
		return mc_kv_resp_bulk(out, a[1].p, a[1].len);
	return mc_kv_resp_simple(out, "PONG");
}

static int c_echo(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		  unsigned wf)
{
	return mc_kv_resp_bulk(out, a[1].p, a[1].len);
}

static int c_get(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		 unsigned wf)
{
	struct mc_buf v = MC_BUF_INIT;
	int r = mc_kv_get(kv, a[1].p, a[1].len, &v);

	if (r == 0)
		r = mc_kv_resp_bulk(out, v.data, v.len);
	else if (r == -ENOENT)
		r = mc_kv_resp_null(out);
	else
		r = engine_error(out, r);
	mc_buf_release(&v);
	return r;
}

/* Writes @key = @val expiring at @exp (unix ms, 0: never) with @wf. */
static int put_exp(struct mc_kv *kv, const struct mc_kv_resp_arg *key, const void *val, size_t vlen,
		   uint64_t exp, unsigned wf)
{
	if (!exp)
		return mc_kv_put_flags(kv, key->p, key->len, val, vlen, wf);
	struct mc_kv_batch *b = mc_kv_batch_new();
	int r = b ? mc_kv_batch_put_exp(b, key->p, key->len, val, vlen, exp) : -ENOMEM;

	if (r == 0)
		r = mc_kv_write(kv, b, wf);
	mc_kv_batch_free(b);
	return r;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * An expiry argument in @unit ms (1000 for seconds), relative to now unless @at:
 * the absolute unix ms, or 0 with an error reply appended if not a valid time.
 * @allow_past: EXPIRE with a time already gone (the key is deleted) instead of an
 * error, as in redis; SET refuses a non-positive time.
 */
static uint64_t parse_expiry(const struct mc_kv_resp_arg *a, uint64_t unit, bool at,
			     bool allow_past, const char *cmd, struct mc_buf *out, int *r)
{
	long long v;
	char msg[80];
	uint64_t now = now_ms();

	if (!to_ll(a->p, a->len, &v)) {
		*r = mc_kv_resp_error(out, "ERR value is not an integer or out of range");
		return 0;
	}
	if ((!allow_past && v <= 0) || v > (long long)(INT64_MAX / 1000 / 2) ||
	    v < -(long long)(INT64_MAX / 1000 / 2)) {
		snprintf(msg, sizeof(msg), "ERR invalid expire time in '%s' command", cmd);
		*r = mc_kv_resp_error(out, msg);
		return 0;
	}
	long long ms = v * (long long)unit + (at ? 0 : (long long)now);

	return ms <= 0 ? 1 : (uint64_t)ms; /* 1: the past (1970), never 0 (no expiry) */
}

static int c_set(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		 unsigned wf)
{
	bool nx = false, xx = false, get = false, keepttl = false;
	struct mc_buf old = MC_BUF_INIT;
	uint64_t exp = 0, old_exp = 0;
	int r = 0, ttl_opts = 0;

	for (size_t i = 3; i < n; i++) {
		bool ex = is(&a[i], "EX"), px = is(&a[i], "PX"), exat = is(&a[i], "EXAT"),
		     pxat = is(&a[i], "PXAT");

		if (is(&a[i], "NX"))
			nx = true;
		else if (is(&a[i], "XX"))
			xx = true;
		else if (is(&a[i], "GET"))
			get = true;
		else if (is(&a[i], "KEEPTTL"))
			keepttl = true, ttl_opts++;
		else if ((ex || px || exat || pxat) && i + 1 < n) {
			ttl_opts++;
			exp = parse_expiry(&a[++i], ex || exat ? 1000 : 1, exat || pxat, false,
					   "set", out, &r);
			if (!exp)
				return r;
		} else
			return mc_kv_resp_error(out, "ERR syntax error");
	}
	if ((nx && xx) || ttl_opts > 1)
		return mc_kv_resp_error(out, "ERR syntax error");
	if (nx || xx || get || keepttl) {
		r = mc_kv_get_ex(kv, a[1].p, a[1].len, &old, &old_exp);
		if (r < 0 && r != -ENOENT) {
			mc_buf_release(&old);
			return engine_error(out, r);
		}
		bool exists = r == 0;

		if ((nx && exists) || (xx && !exists)) {
			r = get && exists ? mc_kv_resp_bulk(out, old.data, old.len)
					  : mc_kv_resp_null(out);
			mc_buf_release(&old);
			return r;
		}
		if (!exists)
			old.len = SIZE_MAX;
		else if (keepttl)
			exp = old_exp;
	}
	r = a[2].len > MC_KV_MAX_VALUE ? -E2BIG : put_exp(kv, &a[1], a[2].p, a[2].len, exp, wf);
	if (r == -E2BIG)
		r = mc_kv_resp_error(out, "ERR string exceeds maximum allowed size");
	else if (r < 0)
		r = engine_error(out, r);
	else if (get)
		r = old.len == SIZE_MAX ? mc_kv_resp_null(out)
					: mc_kv_resp_bulk(out, old.data, old.len);
	else
		r = mc_kv_resp_simple(out, "OK");
	mc_buf_release(&old);
	return r;
}

/* EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT: rewrites the value with the new expiry. */
static int set_expiry(struct mc_kv *kv, const struct mc_kv_resp_arg *a, struct mc_buf *out,
		      unsigned wf, uint64_t unit, bool at, const char *cmd)
{
	struct mc_buf v = MC_BUF_INIT;
	int r = 0;
	uint64_t exp = parse_expiry(&a[2], unit, at, true, cmd, out, &r);

	if (!exp)
		return r;
	r = mc_kv_get(kv, a[1].p, a[1].len, &v);
	if (r == -ENOENT)
		r = mc_kv_resp_int(out, 0);
	else if (r < 0)
		r = engine_error(out, r);
	else {
		/* A time already past deletes the key, as in redis. */
		r = exp <= now_ms() ? mc_kv_delete(kv, a[1].p, a[1].len)
				    : put_exp(kv, &a[1], v.data, v.len, exp, wf);
		r = r < 0 ? engine_error(out, r) : mc_kv_resp_int(out, 1);
	}
	mc_buf_release(&v);
	return r;
}

static int c_expire(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		    unsigned wf)
{
	return set_expiry(kv, a, out, wf, 1000, false, "expire");
}

static int c_pexpire(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		     unsigned wf)
{
	return set_expiry(kv, a, out, wf, 1, false, "pexpire");
}

static int c_expireat(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n,
		      struct mc_buf *out, unsigned wf)
{
	return set_expiry(kv, a, out, wf, 1000, true, "expireat");
}

static int c_pexpireat(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n,
		       struct mc_buf *out, unsigned wf)
{
	return set_expiry(kv, a, out, wf, 1, true, "pexpireat");
}

/* TTL/PTTL: -2 no key, -1 no expiry, else the time left (TTL rounds to seconds). */
static int ttl_of(struct mc_kv *kv, const struct mc_kv_resp_arg *a, struct mc_buf *out, bool ms)
{
	struct mc_buf v = MC_BUF_INIT;
	uint64_t exp = 0;
	int r = mc_kv_get_ex(kv, a[1].p, a[1].len, &v, &exp);

	mc_buf_release(&v);
	if (r == -ENOENT)
		return mc_kv_resp_int(out, -2);
	if (r < 0)
		return engine_error(out, r);
	if (!exp)
		return mc_kv_resp_int(out, -1);
	uint64_t now = now_ms(), left = exp > now ? exp - now : 0;

	return mc_kv_resp_int(out, (long long)(ms ? left : (left + 500) / 1000));
}

static int c_ttl(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		 unsigned wf)
{
	return ttl_of(kv, a, out, false);
}

static int c_pttl(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		  unsigned wf)
{
	return ttl_of(kv, a, out, true);
}

static int c_persist(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		     unsigned wf)
{
	struct mc_buf v = MC_BUF_INIT;
	uint64_t exp = 0;
	int r = mc_kv_get_ex(kv, a[1].p, a[1].len, &v, &exp);

	if (r == -ENOENT || (r == 0 && !exp))
		r = mc_kv_resp_int(out, 0);
	else if (r < 0)
		r = engine_error(out, r);
	else {
		r = mc_kv_put_flags(kv, a[1].p, a[1].len, v.data, v.len, wf);
		r = r < 0 ? engine_error(out, r) : mc_kv_resp_int(out, 1);
	}
	mc_buf_release(&v);
	return r;
}

static int c_del(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		 unsigned wf)
{
	struct mc_buf v = MC_BUF_INIT;
	long long count = 0;
	int r = 0;

	/* DEL answers how many existed, so each key is looked up first. */
	for (size_t i = 1; i < n && r >= 0; i++) {
		r = mc_kv_get(kv, a[i].p, a[i].len, &v);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r == 0) {
			count++;
			struct mc_kv_batch *b = mc_kv_batch_new();

			r = b ? mc_kv_batch_delete(b, a[i].p, a[i].len) : -ENOMEM;
			if (r == 0)
				r = mc_kv_write(kv, b, wf);
			mc_kv_batch_free(b);
		}
	}
	mc_buf_release(&v);
	if (r < 0)
		return engine_error(out, r);
	return mc_kv_resp_int(out, count);
}

static int c_exists(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		    unsigned wf)
{
	struct mc_buf v = MC_BUF_INIT;
	long long count = 0;
	int r = 0;

	for (size_t i = 1; i < n; i++) {
		r = mc_kv_get(kv, a[i].p, a[i].len, &v);
		if (r == 0)
			count++;
		else if (r != -ENOENT)
			break;
		r = 0;
	}
	mc_buf_release(&v);
	if (r < 0)
		return engine_error(out, r);
	return mc_kv_resp_int(out, count);
}

static int c_mget(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		  unsigned wf)
{
	struct mc_buf v = MC_BUF_INIT;
	size_t mark = out->len;
	int r = mc_kv_resp_array(out, (long long)n - 1);

	for (size_t i = 1; i < n && r >= 0; i++) {
		r = mc_kv_get(kv, a[i].p, a[i].len, &v);
		if (r == 0)
			r = mc_kv_resp_bulk(out, v.data, v.len);
		else if (r == -ENOENT)
			r = mc_kv_resp_null(out);
		else {
			out->len = mark; /* replace the partial array by one error */
			r = engine_error(out, r);
			break;
		}
	}
	mc_buf_release(&v);
	return r;
}

static int c_mset(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		  unsigned wf)
{
	if (n % 2 == 0)
		return mc_kv_resp_error(out, "ERR wrong number of arguments for 'mset' command");
	struct mc_kv_batch *b = mc_kv_batch_new();
	int r = b ? 0 : -ENOMEM;

	/* One batch: MSET is atomic, as in redis. */
	for (size_t i = 1; i + 1 < n && r == 0; i += 2)
		r = mc_kv_batch_put(b, a[i].p, a[i].len, a[i + 1].p, a[i + 1].len);
	if (r == 0)
		r = mc_kv_write(kv, b, wf);
	mc_kv_batch_free(b);
	if (r < 0)
		return engine_error(out, r);
	return mc_kv_resp_simple(out, "OK");
}

static int incr_by(struct mc_kv *kv, const struct mc_kv_resp_arg *key, long long by,
		   struct mc_buf *out, unsigned wf)
{
	struct mc_buf v = MC_BUF_INIT;
	long long cur = 0;
	char tmp[24];
	uint64_t exp = 0;
	int r = mc_kv_get_ex(kv, key->p, key->len, &v, &exp);

	if (r < 0 && r != -ENOENT) {
		mc_buf_release(&v);
		return engine_error(out, r);
	}
	if (r == 0 && !to_ll(v.data, v.len, &cur)) {
		mc_buf_release(&v);
		return mc_kv_resp_error(out, "ERR value is not an integer or out of range");
	}
	mc_buf_release(&v);
	if ((by > 0 && cur > LLONG_MAX - by) || (by < 0 && cur < LLONG_MIN - by))
		return mc_kv_resp_error(out, "ERR increment or decrement would overflow");
	cur += by;
	int len = snprintf(tmp, sizeof(tmp), "%lld", cur);

	r = put_exp(kv, key, tmp, (size_t)len, exp, wf); /* INCR keeps the TTL, as in redis */
	if (r < 0)
		return engine_error(out, r);
	return mc_kv_resp_int(out, cur);
}

static int c_incr(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		  unsigned wf)
{
	return incr_by(kv, &a[1], 1, out, wf);
}

static int c_decr(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		  unsigned wf)
{
	return incr_by(kv, &a[1], -1, out, wf);
}

static int c_incrby(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		    unsigned wf)
{
	long long by;

	if (!to_ll(a[2].p, a[2].len, &by))
		return mc_kv_resp_error(out, "ERR value is not an integer or out of range");
	return incr_by(kv, &a[1], by, out, wf);
}

static int c_decrby(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		    unsigned wf)
{
	long long by;

	if (!to_ll(a[2].p, a[2].len, &by) || by == LLONG_MIN)
		return mc_kv_resp_error(out, "ERR value is not an integer or out of range");
	return incr_by(kv, &a[1], -by, out, wf);
}

/* Matches a key against a glob pattern; keys with NUL bytes never match a pattern. */
static bool key_matches(const char *k, size_t kl, const char *pat)
{
	char tmp[1024];

	if (!pat)
		return true;
	if (kl >= sizeof(tmp) || memchr(k, '\0', kl))
		return false;
	memcpy(tmp, k, kl);
	tmp[kl] = '\0';
	return fnmatch(pat, tmp, 0) == 0;
}

/*
 * SCAN cursor [MATCH pattern] [COUNT n]: the cursor is the number of keys already
 * walked in key order (redis-cli parses cursors as integers). A key inserted or
 * deleted before the cursor between calls shifts the walk by one: a key present
 * the whole time can be returned twice or, after deletions, skipped. O(cursor + count).
 */
static int c_scan(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		  unsigned wf)
{
	long long cursor, count = 10;
	char pat[512];
	const char *match = NULL;

	if (!to_ll(a[1].p, a[1].len, &cursor) || cursor < 0)
		return mc_kv_resp_error(out, "ERR invalid cursor");
	for (size_t i = 2; i < n; i += 2) {
		if (i + 1 >= n)
			return mc_kv_resp_error(out, "ERR syntax error");
		if (is(&a[i], "COUNT")) {
			if (!to_ll(a[i + 1].p, a[i + 1].len, &count) || count < 1)
				return mc_kv_resp_error(
					out, "ERR value is not an integer or out of range");
		} else if (is(&a[i], "MATCH")) {
			if (a[i + 1].len >= sizeof(pat) || memchr(a[i + 1].p, '\0', a[i + 1].len))
				return mc_kv_resp_error(out, "ERR pattern too long");
			memcpy(pat, a[i + 1].p, a[i + 1].len);
			pat[a[i + 1].len] = '\0';
			match = pat;
		} else {
			return mc_kv_resp_error(out, "ERR syntax error");
		}
	}
	struct mc_kv_iter *it;
	struct mc_buf keys = MC_BUF_INIT;
	long long pos = 0, walked = 0, found = 0;
	int r = mc_kv_iter_new(kv, &it);

	if (r < 0)
		return engine_error(out, r);
	mc_kv_iter_seek_first(it);
	for (; pos < cursor && mc_kv_iter_valid(it); pos++)
		mc_kv_iter_next(it);
	for (; walked < count && mc_kv_iter_valid(it); walked++, pos++) {
		size_t kl;
		const char *k = mc_kv_iter_key(it, &kl);

		if (key_matches(k, kl, match)) {
			if (mc_kv_resp_bulk(&keys, k, kl) < 0) {
				r = -ENOMEM;
				break;
			}
			found++;
		}
		mc_kv_iter_next(it);
	}
	bool more = mc_kv_iter_valid(it);

	if (r == 0)
		r = mc_kv_iter_status(it);
	mc_kv_iter_free(it);
	if (r < 0) {
		mc_buf_release(&keys);
		return r == -ENOMEM ? r : engine_error(out, r);
	}
	char cur[24];
	int cl = snprintf(cur, sizeof(cur), "%lld", more ? pos : 0);

	if (mc_kv_resp_array(out, 2) < 0 || mc_kv_resp_bulk(out, cur, (size_t)cl) < 0 ||
	    mc_kv_resp_array(out, found) < 0 || mc_buf_append(out, keys.data, keys.len) < 0)
		r = -ENOMEM;
	mc_buf_release(&keys);
	return r;
}

static int count_keys(struct mc_kv *kv, long long *out)
{
	struct mc_kv_iter *it;
	long long n = 0;
	int r = mc_kv_iter_new(kv, &it);

	if (r < 0)
		return r;
	for (mc_kv_iter_seek_first(it); mc_kv_iter_valid(it); mc_kv_iter_next(it))
		n++;
	r = mc_kv_iter_status(it);
	mc_kv_iter_free(it);
	*out = n;
	return r;
}

/* DBSIZE walks the keys: O(n). The engine keeps no live-key count (see docs/kv.md). */
static int c_dbsize(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		    unsigned wf)
{
	long long count;
	int r = count_keys(kv, &count);

	if (r < 0)
		return engine_error(out, r);
	return mc_kv_resp_int(out, count);
}

static int c_flushdb(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		     unsigned wf)
{
	struct mc_kv_iter *it;
	struct mc_kv_batch *b = mc_kv_batch_new();
	int r = b ? mc_kv_iter_new(kv, &it) : -ENOMEM;

	if (r < 0) {
		mc_kv_batch_free(b);
		return engine_error(out, r);
	}
	for (mc_kv_iter_seek_first(it); mc_kv_iter_valid(it) && r == 0; mc_kv_iter_next(it)) {
		size_t kl;
		const void *k = mc_kv_iter_key(it, &kl);

		r = mc_kv_batch_delete(b, k, kl);
	}
	if (r == 0)
		r = mc_kv_iter_status(it);
	mc_kv_iter_free(it);
	if (r == 0)
		r = mc_kv_write(kv, b, wf);
	mc_kv_batch_free(b);
	if (r < 0)
		return engine_error(out, r);
	return mc_kv_resp_simple(out, "OK");
}

int mc_kv_cmd_info(struct mc_kv *kv, struct mc_buf *s)
{
	struct mc_kv_stats st;
	long long keys;
	int r = count_keys(kv, &keys);

	if (r < 0)
		return r;
	mc_kv_stats_get(kv, &st);
	return mc_buf_printf(
		s,
		"# Server\r\nredis_version:7.0.0\r\nmckv_version:%s\r\n"
		"redis_mode:standalone\r\n\r\n"
		"# Persistence\r\nwal_bytes_written:%llu\r\nwal_syncs:%llu\r\n"
		"wal_synced_ops:%llu\r\nwal_synced_ops_max:%llu\r\n"
		"memtable_entries:%llu\r\nmemtable_bytes:%llu\r\ntables:%u\r\n"
		"table_bytes:%llu\r\nflushes:%llu\r\ncompactions:%llu\r\n"
		"bytes_flushed:%llu\r\nbytes_compacted:%llu\r\nwrite_stalls:%llu\r\n\r\n"
		"# Keyspace\r\ndb0:keys=%lld,expires=0,avg_ttl=0\r\n",
		MC_VERSION, (unsigned long long)st.wal_bytes, (unsigned long long)st.wal_syncs,
		(unsigned long long)st.sync_ops, (unsigned long long)st.sync_ops_max,
		(unsigned long long)st.mem_entries, (unsigned long long)st.mem_bytes, st.tables,
		(unsigned long long)st.table_bytes, (unsigned long long)st.flushes,
		(unsigned long long)st.compactions, (unsigned long long)st.bytes_flushed,
		(unsigned long long)st.bytes_compacted, (unsigned long long)st.write_stalls, keys);
}

static int c_info(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		  unsigned wf)
{
	struct mc_buf s = MC_BUF_INIT;
	int r = mc_kv_cmd_info(kv, &s);

	if (r == 0)
		r = mc_kv_resp_bulk(out, s.data, s.len);
	else if (r != -ENOMEM)
		r = engine_error(out, r);
	mc_buf_release(&s);
	return r;
}

static int c_select(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		    unsigned wf)
{
	if (is(&a[1], "0"))
		return mc_kv_resp_simple(out, "OK");
	return mc_kv_resp_error(out, "ERR DB index is out of range");
}

static int c_ok(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		unsigned wf)
{
	return mc_kv_resp_simple(out, "OK");
}

/*
 * CONFIG GET: the few parameters clients ask about (redis-benchmark reads `save` and
 * `appendonly` at startup), as name/value pairs; anything else is an empty list.
 */
static int c_config(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		    unsigned wf)
{
	static const char *const params[][2] = { { "save", "" },
						 { "appendonly", "yes" },
						 { "databases", "1" } };

	if (!is(&a[1], "GET") || n != 3)
		return mc_kv_resp_error(out, "ERR CONFIG subcommand not supported");
	for (size_t i = 0; i < MC_ARRAY_SIZE(params); i++)
		if (is(&a[2], params[i][0])) {
			int r = mc_kv_resp_array(out, 2);

			r |= mc_kv_resp_bulk(out, params[i][0], strlen(params[i][0]));
			r |= mc_kv_resp_bulk(out, params[i][1], strlen(params[i][1]));
			return r ? -ENOMEM : 0;
		}
	return mc_kv_resp_array(out, 0);
}

static int c_command(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		     unsigned wf);

static const struct cmd cmds[] = {
	{ "PING", -1, MC_KV_CMD_READ, c_ping },
	{ "ECHO", 2, MC_KV_CMD_READ, c_echo },
	{ "GET", 2, MC_KV_CMD_READ, c_get },
	{ "SET", -3, MC_KV_CMD_WRITE, c_set },
	{ "DEL", -2, MC_KV_CMD_WRITE, c_del },
	{ "UNLINK", -2, MC_KV_CMD_WRITE, c_del },
	{ "EXISTS", -2, MC_KV_CMD_READ, c_exists },
	{ "MGET", -2, MC_KV_CMD_READ, c_mget },
	{ "MSET", -3, MC_KV_CMD_WRITE, c_mset },
	{ "INCR", 2, MC_KV_CMD_WRITE, c_incr },
	{ "EXPIRE", 3, MC_KV_CMD_WRITE, c_expire },
	{ "PEXPIRE", 3, MC_KV_CMD_WRITE, c_pexpire },
	{ "EXPIREAT", 3, MC_KV_CMD_WRITE, c_expireat },
	{ "PEXPIREAT", 3, MC_KV_CMD_WRITE, c_pexpireat },
	{ "TTL", 2, MC_KV_CMD_READ, c_ttl },
	{ "PTTL", 2, MC_KV_CMD_READ, c_pttl },
	{ "PERSIST", 2, MC_KV_CMD_WRITE, c_persist },
	{ "DECR", 2, MC_KV_CMD_WRITE, c_decr },
	{ "INCRBY", 3, MC_KV_CMD_WRITE, c_incrby },
	{ "DECRBY", 3, MC_KV_CMD_WRITE, c_decrby },
	{ "SCAN", -2, MC_KV_CMD_READ, c_scan },
	{ "DBSIZE", 1, MC_KV_CMD_READ, c_dbsize },
	{ "FLUSHDB", -1, MC_KV_CMD_WRITE, c_flushdb },
	{ "FLUSHALL", -1, MC_KV_CMD_WRITE, c_flushdb },
	{ "INFO", -1, MC_KV_CMD_READ, c_info },
	{ "SELECT", 2, MC_KV_CMD_READ, c_select },
	{ "CONFIG", -2, MC_KV_CMD_READ, c_config },
	{ "CLIENT", -2, MC_KV_CMD_READ, c_ok },
	{ "COMMAND", -1, MC_KV_CMD_READ, c_command },
	{ "QUIT", -1, MC_KV_CMD_QUIT, c_ok },
};

/*
 * COMMAND: the command table in redis' reply shape (name, arity, flags, first key,
 * last key, step). COMMAND COUNT and COMMAND DOCS (an empty map as an empty array,
 * which redis-cli accepts) cover what redis-cli asks at startup.
 */
static int c_command(struct mc_kv *kv, const struct mc_kv_resp_arg *a, size_t n, struct mc_buf *out,
		     unsigned wf)
{
	if (n >= 2 && is(&a[1], "COUNT"))
		return mc_kv_resp_int(out, (long long)MC_ARRAY_SIZE(cmds));
	if (n >= 2 && !is(&a[1], "INFO"))
		return mc_kv_resp_array(out, 0);
	int r = mc_kv_resp_array(out, (long long)MC_ARRAY_SIZE(cmds));

	for (size_t i = 0; i < MC_ARRAY_SIZE(cmds) && r == 0; i++) {
		const struct cmd *c = &cmds[i];
		char lower[16];
		size_t l = strlen(c->name);
		bool keyed = c->fn == c_get || c->fn == c_set || c->fn == c_del ||
			     c->fn == c_exists || c->fn == c_mget || c->fn == c_mset ||
			     c->fn == c_incr || c->fn == c_decr || c->fn == c_incrby ||
			     c->fn == c_decrby || c->fn == c_expire || c->fn == c_pexpire ||
			     c->fn == c_expireat || c->fn == c_pexpireat || c->fn == c_ttl ||
			     c->fn == c_pttl || c->fn == c_persist;
		bool multi = c->arity < 0;

		for (size_t j = 0; j <= l; j++)
			lower[j] = (char)(c->name[j] >= 'A' && c->name[j] <= 'Z' ? c->name[j] + 32
										 : c->name[j]);
		r |= mc_kv_resp_array(out, 6);
		r |= mc_kv_resp_bulk(out, lower, l);
		r |= mc_kv_resp_int(out, c->arity);
		r |= mc_kv_resp_array(out, 1);
		r |= mc_kv_resp_simple(out, c->cls == MC_KV_CMD_WRITE ? "write" : "readonly");
		r |= mc_kv_resp_int(out, keyed ? 1 : 0);
		r |= mc_kv_resp_int(out, keyed ? (multi ? -1 : 1) : 0);
		r |= mc_kv_resp_int(out, keyed ? (c->fn == c_mset ? 2 : 1) : 0);
	}
	return r ? -ENOMEM : 0;
}

static bool is3(const struct mc_kv_resp_arg *a, const char *s);

static const struct cmd *lookup(const struct mc_kv_resp_arg *name)
{
	/* The first letter rules out most entries before the case-insensitive compare. */
	char first = name->len ? (char)(name->p[0] | 0x20) : 0;

	for (size_t i = 0; i < MC_ARRAY_SIZE(cmds); i++)
		if ((cmds[i].name[0] | 0x20) == first && is(name, cmds[i].name))
			return &cmds[i];
	return NULL;
}

enum mc_kv_cmd_class mc_kv_cmd_classify(const struct mc_kv_resp_arg *argv, size_t argc)
{
	if (argc && is3(&argv[0], "get"))
		return MC_KV_CMD_READ;
	if (argc && is3(&argv[0], "set"))
		return MC_KV_CMD_WRITE;
	const struct cmd *c = argc ? lookup(&argv[0]) : NULL;

	return c ? c->cls : MC_KV_CMD_UNKNOWN;
}

/* ---- contexts: reused buffers and deferred writes ---- */

/* A deferred batch is written early past this size (MSET of large values). */
#define DEFER_MAX_BYTES (4u << 20)

void mc_kv_cmd_ctx_init(struct mc_kv_cmd_ctx *ctx, struct mc_kv *kv, unsigned write_flags,
			bool defer)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->kv = kv;
	ctx->write_flags = write_flags;
	ctx->defer = defer;
	mc_buf_init(&ctx->val);
}

void mc_kv_cmd_ctx_release(struct mc_kv_cmd_ctx *ctx)
{
	mc_kv_batch_free(ctx->batch);
	ctx->batch = NULL;
	mc_buf_release(&ctx->val);
}

int mc_kv_cmd_flush(struct mc_kv_cmd_ctx *ctx)
{
	int r = ctx->failed;

	if (r == 0 && ctx->batch && mc_kv_batch_count(ctx->batch)) {
		r = mc_kv_write(ctx->kv, ctx->batch, ctx->write_flags);
		ctx->writes++;
	}
	if (ctx->batch)
		mc_kv_batch_clear(ctx->batch);
	ctx->failed = 0;
	return r;
}

/* Writes what is pending before a command that must see it; failures stick. */
static int flush_pending(struct mc_kv_cmd_ctx *ctx)
{
	if (ctx->failed == 0 && ctx->batch && mc_kv_batch_count(ctx->batch)) {
		int r = mc_kv_write(ctx->kv, ctx->batch, ctx->write_flags);

		ctx->writes++;
		mc_kv_batch_clear(ctx->batch);
		if (r < 0)
			ctx->failed = r;
	}
	return ctx->failed;
}

static bool is3(const struct mc_kv_resp_arg *a, const char *s)
{
	return a->len == 3 && (a->p[0] | 0x20) == s[0] && (a->p[1] | 0x20) == s[1] &&
	       (a->p[2] | 0x20) == s[2];
}

/*
 * Plain SET and MSET in a deferring context: added to the pending batch and
 * answered +OK at once; the caller sends that reply only after mc_kv_cmd_flush
 * (and, for durability, its sync) succeeded, and replaces it otherwise.
 * Returns 1 if the command was taken, 0 if it must run normally.
 */
static int defer_write(struct mc_kv_cmd_ctx *ctx, const struct mc_kv_resp_arg *argv, size_t argc,
		       struct mc_buf *out)
{
	bool set = argc == 3 && is3(&argv[0], "set");
	bool mset = !set && argc >= 3 && argc % 2 == 1 && is(&argv[0], "MSET");
	int r = 0;

	if (!set && !mset)
		return 0;
	if (!ctx->batch && !(ctx->batch = mc_kv_batch_new()))
		return -ENOMEM;
	for (size_t i = 1; i + 1 < argc; i += 2) {
		if (argv[i].len > MC_KV_MAX_KEY || argv[i + 1].len > MC_KV_MAX_VALUE)
			return 0; /* the normal path answers with the right error */
	}
	for (size_t i = 1; i + 1 < argc && r == 0; i += 2)
		r = mc_kv_batch_put(ctx->batch, argv[i].p, argv[i].len, argv[i + 1].p,
				    argv[i + 1].len);
	if (r < 0)
		return r;
	r = mc_kv_resp_simple(out, "OK");
	if (r == 0 && ctx->batch->rep.len > DEFER_MAX_BYTES)
		flush_pending(ctx);
	return r < 0 ? r : 1;
}

int mc_kv_cmd_run(struct mc_kv_cmd_ctx *ctx, const struct mc_kv_resp_arg *argv, size_t argc,
		  struct mc_buf *out)
{
	if (argc == 0)
		return 0;
	if (ctx->defer && !ctx->failed) {
		int r = defer_write(ctx, argv, argc, out);

		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (flush_pending(ctx) < 0)
		return engine_error(out, ctx->failed);
	/* GET, the hottest read: no table lookup, the context's value buffer. */
	if (argc == 2 && is3(&argv[0], "get")) {
		int r = mc_kv_get(ctx->kv, argv[1].p, argv[1].len, &ctx->val);

		if (r == 0)
			r = mc_kv_resp_bulk(out, ctx->val.data, ctx->val.len);
		else if (r == -ENOENT)
			r = mc_kv_resp_null(out);
		else
			r = engine_error(out, r);
		if (ctx->val.cap > 64u << 10)
			mc_buf_release(&ctx->val); /* do not pin one huge value's buffer */
		return r;
	}
	return mc_kv_cmd_exec(ctx->kv, argv, argc, out, ctx->write_flags);
}

int mc_kv_cmd_exec(struct mc_kv *kv, const struct mc_kv_resp_arg *argv, size_t argc,
		   struct mc_buf *out, unsigned write_flags)
{
	char msg[200];

	if (argc == 0)
		return 0;
	const struct cmd *c = lookup(&argv[0]);

	if (!c) {
		snprintf(msg, sizeof(msg), "ERR unknown command '%.*s', with args beginning with: ",
			 (int)MC_MIN(argv[0].len, 64), argv[0].p);
		return mc_kv_resp_error(out, msg);
	}
	if ((c->arity > 0 && argc != (size_t)c->arity) ||
	    (c->arity < 0 && argc < (size_t)-c->arity)) {
		snprintf(msg, sizeof(msg), "ERR wrong number of arguments for '%.*s' command",
			 (int)MC_MIN(argv[0].len, 64), argv[0].p);
		for (char *p = msg; *p; p++)
			if (*p >= 'A' && *p <= 'Z' && p > msg + 3)
				*p = (char)(*p + 32);
		return mc_kv_resp_error(out, msg);
	}
	return c->fn(kv, argv, argc, out, write_flags);
}
