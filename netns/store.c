/* SPDX-License-Identifier: MIT */
/*
 * store.c: <state>/networks on disk. One flock on <state>/networks/.lock serialises
 * every read-modify-write (and the kernel work done under it), so two concurrent
 * `run`s never hand out one address twice. NAME.json holds the definition, written
 * durably (temp, fsync, rename, fsync dir) by `network create`; NAME.ep holds the
 * record as endpoints change, in two checksummed slots overwritten in place (see
 * ep_save for why that is as safe as a rename and much cheaper).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mc/cleanup.h>
#include <mc/log.h>
#include <mc/util.h>

#include "internal.h"

/* A record is small: 4096 endpoints of < 1 KiB each at most. */
#define RECORD_MAX (8u << 20)

int store_open(const struct mc_netns_ctx *ctx, bool exclusive, struct net_store *st,
	       struct mc_err *err)
{
	const char *root = ctx && ctx->state_root ? ctx->state_root : MC_NETNS_STATE_DEFAULT;
	char lock[4200];
	int r;

	st->lock_fd = -1;
	if ((size_t)snprintf(st->dir, sizeof(st->dir), "%s/networks", root) >= sizeof(st->dir))
		return mc_err_setx(err, ENAMETOOLONG, "state root `%s` is too long", root);
	r = mc_fs_mkdir_p(st->dir, 0700, err);
	if (r < 0)
		return r;
	snprintf(lock, sizeof(lock), "%s/.lock", st->dir);
	st->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->lock_fd < 0)
		return mc_err_set(err, errno, "open `%s`", lock);
	while (flock(st->lock_fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno != EINTR) {
			int e = errno;

			close(st->lock_fd);
			st->lock_fd = -1;
			return mc_err_set(err, e, "lock `%s`", lock);
		}
	}
	return 0;
}

void store_close(struct net_store *st)
{
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases the flock */
	st->lock_fd = -1;
}

static int record_path(struct net_store *st, const char *name, char *buf, size_t size,
		       struct mc_err *err)
{
	if (!ipam_valid_name(name, NET_NAME_MAX))
		return mc_err_setx(err, EINVAL, "invalid network name `%.64s`", name ? name : "");
	if ((size_t)snprintf(buf, size, "%s/%s.json", st->dir, name) >= size)
		return mc_err_setx(err, ENAMETOOLONG, "network path too long");
	return 0;
}

static int parse_checked(const char *path, const char *name, const char *data, size_t len,
			 struct net_record *out, struct mc_err *err)
{
	struct mc_err sub = { 0 };
	int r = net_record_parse(data, len, out, &sub);

	if (r < 0) {
		if (err) {
			*err = sub;
			mc_err_wrap(err, "`%s`", path);
		}
		return r;
	}
	if (strcmp(out->name, name) != 0) {
		net_record_release(out);
		return mc_err_setx(err, MC_ECORRUPT, "`%s`: names network `%s`", path, out->name);
	}
	return 0;
}

/* ---- NAME.ep (format in epslot.c) ---- */

/* Slots are a power of two >= twice the record: at most 2 x 32 MiB for RECORD_MAX. */
#define EP_FILE_MAX (8 * (size_t)RECORD_MAX)

static int ep_path(struct net_store *st, const char *name, char *buf, size_t size)
{
	if ((size_t)snprintf(buf, size, "%s/%s.ep", st->dir, name) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Whether @mtime is before this boot: what such a file described died with it. */
static bool before_boot(const struct timespec *mtime)
{
	struct timespec rt, bt;

	if (clock_gettime(CLOCK_REALTIME, &rt) < 0 || clock_gettime(CLOCK_BOOTTIME, &bt) < 0)
		return false;
	return mtime->tv_sec < rt.tv_sec - bt.tv_sec;
}

/*
 * ep_load: the record in NAME.ep. 1 and *out when a slot is valid; 0 when there is
 * no NAME.ep (a network from before NAME.ep existed) or when both slots are damaged
 * by a power loss (the file was last written before this boot: the veths and
 * namespaces it described are gone, and NAME.json is used); -errno otherwise.
 */
static int ep_load(struct net_store *st, const char *name, struct net_record *out,
		   struct mc_err *err)
{
	char path[4200];
	mc_autofree char *img = NULL;
	const char *json;
	size_t len, jlen;
	uint64_t gen;
	struct stat sb;
	int idx, r;

	if (ep_path(st, name, path, sizeof(path)) < 0)
		return mc_err_setx(err, ENAMETOOLONG, "network path too long");
	r = mc_fs_read_file(path, &img, &len, EP_FILE_MAX, err);
	if (r == -ENOENT) {
		mc_err_clear(err);
		return 0;
	}
	if (r < 0)
		return r;
	idx = epslot_pick(img, len, &json, &jlen, &gen);
	if (idx < 0) {
		if (stat(path, &sb) == 0 && before_boot(&sb.st_mtim)) {
			mc_log_warn("network `%s`: `%s` was damaged before this boot; using "
				    "the definition's endpoints",
				    name, path);
			return 0;
		}
		return mc_err_setx(err, MC_ECORRUPT, "`%s`: no valid slot (damaged file)", path);
	}
	r = parse_checked(path, name, json, jlen, out, err);
	return r < 0 ? r : 1;
}

int store_load(struct net_store *st, const char *name, struct net_record *out, struct mc_err *err)
{
	char path[4200];
	mc_autofree char *data = NULL;
	size_t len;
	struct mc_err sub = { 0 };
	int r = record_path(st, name, path, sizeof(path), err);

	if (r < 0)
		return r;
	/* NAME.json decides whether the network exists (remove unlinks NAME.ep first). */
	if (access(path, F_OK) < 0) {
		if (errno == ENOENT)
			return mc_err_setx(err, ENOENT, "network `%s` not found", name);
		return mc_err_set(err, errno, "`%s`", path);
	}
	r = ep_load(st, name, out, err);
	if (r != 0)
		return r < 0 ? r : 0;
	r = mc_fs_read_file(path, &data, &len, RECORD_MAX, &sub);
	if (r == -ENOENT)
		return mc_err_setx(err, ENOENT, "network `%s` not found", name);
	if (r < 0) {
		*err = sub;
		return r;
	}
	return parse_checked(path, name, data, len, out, err);
}

/* temp file (0600 from mkostemp) + rename, without fsync: see ep_save. */
static int write_replace(const char *path, const char *data, size_t len, struct mc_err *err)
{
	char tmp[4300];
	int fd, r;

	snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return mc_err_set(err, errno, "create `%s`", tmp);
	r = mc_write_all(fd, data, len);
	if (r < 0) {
		r = mc_err_set(err, -r, "write `%s`", tmp);
		close(fd);
		unlink(tmp);
		return r;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		r = mc_err_set(err, errno, "rename `%s` to `%s`", tmp, path);
		unlink(tmp);
		return r;
	}
	return 0;
}

/*
 * A fresh NAME.ep with @json and room for both slots to grow. With @prev (the
 * version it replaces, generation @prev_gen), that one goes into slot 0 and @json
 * into slot 1 one generation later: the file holds the previous version whole after
 * a growth too, as after any other save, so a damaged newest slot still falls back.
 */
static int ep_create(const char *path, const char *prev, size_t prev_len, uint64_t prev_gen,
		     const char *json, size_t len, struct mc_err *err)
{
	size_t slot = epslot_size_for(MC_MAX(len, prev ? prev_len : 0));
	mc_autofree char *img = calloc(2, slot);

	if (!img)
		return mc_err_set(err, ENOMEM, "write `%s`", path);
	if (prev) {
		epslot_fill(img, prev_gen, prev, prev_len);
		epslot_fill(img + slot, prev_gen + 1, json, len);
	} else {
		epslot_fill(img, 1, json, len);
	}
	return write_replace(path, img, 2 * slot, err);
}

/*
 * ep_save: @json into the older slot of NAME.ep, header and JSON in one pwrite at a
 * place the file already has blocks for. Why not temp + rename: on this class of
 * ext4 volume creating the temp inode and the rename cost 1-5 ms each under load
 * (and a run saves twice); an in-place pwrite costs microseconds. Why it is as safe:
 * a process killed mid-write leaves a slot whose CRC fails, and the other slot holds
 * the previous version whole; nothing is fsynced either way, and after a power loss
 * the endpoints describe veths and namespaces that are gone (ep_load).
 */
static int ep_save(struct net_store *st, const char *name, const char *json, size_t len,
		   struct mc_err *err)
{
	char path[4200];
	mc_autofree char *img = NULL, *buf = NULL;
	mc_autoclose int fd = -1;
	const char *cur;
	size_t slot, cur_len, n = EPSLOT_HDR + len;
	uint64_t gen;
	struct stat sb;
	ssize_t w;
	int idx;

	if (ep_path(st, name, path, sizeof(path)) < 0)
		return mc_err_setx(err, ENAMETOOLONG, "network path too long");
	if (len > RECORD_MAX)
		return mc_err_setx(err, EFBIG, "network `%s`: record too large", name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size < 2 * (off_t)EPSLOT_MIN ||
	    sb.st_size > (off_t)EP_FILE_MAX)
		return ep_create(path, NULL, 0, 0, json, len, err);
	slot = (size_t)sb.st_size / 2;
	img = malloc((size_t)sb.st_size);
	if (!img)
		return mc_err_set(err, ENOMEM, "write `%s`", path);
	if (pread(fd, img, (size_t)sb.st_size, 0) != sb.st_size)
		return ep_create(path, NULL, 0, 0, json, len, err);
	idx = epslot_pick(img, (size_t)sb.st_size, &cur, &cur_len, &gen);
	if (idx < 0)
		return ep_create(path, NULL, 0, 0, json, len, err);
	/* Grows: a new file (rename), holding the current version beside the new one. */
	if (n > slot)
		return ep_create(path, cur, cur_len, gen, json, len, err);
	buf = malloc(n);
	if (!buf)
		return mc_err_set(err, ENOMEM, "write `%s`", path);
	epslot_fill(buf, gen + 1, json, len);
	w = pwrite(fd, buf, n, (off_t)((size_t)(1 - idx) * slot));
	if (w != (ssize_t)n)
		return mc_err_set(err, w < 0 ? errno : EIO, "write `%s`", path);
	return 0;
}

int store_save(struct net_store *st, const struct net_record *r, bool durable, struct mc_err *err)
{
	char path[4200], ep[4200];
	mc_autofree char *json = NULL;
	int ret = record_path(st, r->name, path, sizeof(path), err);

	if (ret < 0)
		return ret;
	ret = net_record_format(r, &json, err);
	if (ret < 0)
		return ret;
	if (!durable)
		return ep_save(st, r->name, json, strlen(json), err);
	/*
	 * The definition is written durably (fsync of file and directory) and NAME.ep
	 * starts over from the same record, so both agree from the first attach on.
	 */
	ret = mc_fs_write_atomic(path, json, strlen(json), 0600, err);
	if (ret < 0)
		return ret;
	if (ep_path(st, r->name, ep, sizeof(ep)) < 0)
		return mc_err_setx(err, ENAMETOOLONG, "network path too long");
	return ep_create(ep, NULL, 0, 0, json, strlen(json), err);
}

int store_remove(struct net_store *st, const char *name, struct mc_err *err)
{
	char path[4200], ep[4200];
	int r = record_path(st, name, path, sizeof(path), err);

	if (r < 0)
		return r;
	/* NAME.ep first: a crash in between leaves a network without it, still whole. */
	if (ep_path(st, name, ep, sizeof(ep)) < 0)
		return mc_err_setx(err, ENAMETOOLONG, "network path too long");
	if (unlink(ep) < 0 && errno != ENOENT)
		return mc_err_set(err, errno, "remove `%s`", ep);
	if (unlink(path) < 0)
		return mc_err_set(err, errno, "remove `%s`", path);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_list(struct net_store *st, char ***names, size_t *n, struct mc_err *err)
{
	mc_autoclosedir DIR *d = opendir(st->dir);
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;

	if (!d)
		return mc_err_set(err, errno, "open `%s`", st->dir);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char *name;

		if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		name = strndup(de->d_name, len - 5);
		if (!name)
			goto nomem;
		if (!ipam_valid_name(name, NET_NAME_MAX)) {
			free(name);
			continue; /* temp files of an interrupted write, strays */
		}
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 8;
			char **nv = realloc(v, nc * sizeof(*v));

			if (!nv) {
				free(name);
				goto nomem;
			}
			v = nv;
			cap = nc;
		}
		v[cnt++] = name;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*names = v;
	*n = cnt;
	return 0;
nomem:
	for (size_t i = 0; i < cnt; i++)
		free(v[i]);
	free(v);
	return mc_err_set(err, ENOMEM, "list networks");
}
