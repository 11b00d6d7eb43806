/* SPDX-License-Identifier: MIT */
/*
 * store.c: <state>/networks/NAME.json on disk. One flock on <state>/networks/.lock
 * serialises every read-modify-write (and the kernel work done under it), so two
 * concurrent `run`s never hand out one address twice. Writes are atomic (temp,
 * fsync, rename, fsync dir) through mc_fs_write_atomic.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mc/cleanup.h>
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

int store_load(struct net_store *st, const char *name, struct net_record *out, struct mc_err *err)
{
	char path[4200];
	mc_autofree char *data = NULL;
	size_t len;
	struct mc_err sub = { 0 };
	int r = record_path(st, name, path, sizeof(path), err);

	if (r < 0)
		return r;
	r = mc_fs_read_file(path, &data, &len, RECORD_MAX, &sub);
	if (r == -ENOENT)
		return mc_err_setx(err, ENOENT, "network `%s` not found", name);
	if (r < 0) {
		*err = sub;
		return r;
	}
	r = net_record_parse(data, len, out, &sub);
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

/* temp file + rename, without fsync: see store_save for why that is enough. */
static int write_replace(const char *path, const char *data, struct mc_err *err)
{
	char tmp[4300];
	int fd, r;

	snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return mc_err_set(err, errno, "create `%s`", tmp);
	r = mc_write_all(fd, data, strlen(data));
	if (r < 0 || fchmod(fd, 0600) < 0) {
		r = mc_err_set(err, r < 0 ? -r : errno, "write `%s`", tmp);
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

int store_save(struct net_store *st, const struct net_record *r, bool durable, struct mc_err *err)
{
	char path[4200];
	mc_autofree char *json = NULL;
	int ret = record_path(st, r->name, path, sizeof(path), err);

	if (ret < 0)
		return ret;
	ret = net_record_format(r, &json, err);
	if (ret < 0)
		return ret;
	/*
	 * A network's definition is written durably (fsync file and directory). Changes
	 * to its endpoints are only renamed into place: they describe veths and
	 * namespaces that a power loss destroys anyway, rename keeps every version
	 * whole, and a process crash cannot lose page-cache data. The two fsyncs cost
	 * 5-15 ms on this class of disk, more than all of attach's netlink work.
	 */
	if (durable)
		return mc_fs_write_atomic(path, json, strlen(json), 0600, err);
	return write_replace(path, json, err);
}

int store_remove(struct net_store *st, const char *name, struct mc_err *err)
{
	char path[4200];
	int r = record_path(st, name, path, sizeof(path), err);

	if (r < 0)
		return r;
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
