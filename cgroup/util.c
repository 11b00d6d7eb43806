/* SPDX-License-Identifier: MIT */
/*
 * util.c: cgroupfs file access shared by both backends (one-write values, small reads)
 * and the parsers of the kernel's text files (keyed counters, cgroup.procs).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <mc/cleanup.h>
#include <mc/log.h>
#include <mc/util.h>

#include "internal.h"

#define CG_SUPER_MAGIC 0x27e0eb
#define CG2_SUPER_MAGIC 0x63677270
#define CG_READ_MAX (1u << 20)

static const struct {
	const char *name;
	unsigned bit;
} ctl_names[] = {
	{ "memory", CG_CTL_MEMORY },	 { "cpu", CG_CTL_CPU },
	{ "cpuacct", CG_CTL_CPUACCT },	 { "pids", CG_CTL_PIDS },
	{ "devices", CG_CTL_DEVICES },	 { "freezer", CG_CTL_FREEZER },
	{ "cpuset", CG_CTL_CPUSET },	 { "blkio", CG_CTL_BLKIO },
	{ "hugetlb", CG_CTL_HUGETLB },	 { "net_cls", CG_CTL_NET_CLS },
	{ "net_prio", CG_CTL_NET_PRIO }, { "perf_event", CG_CTL_PERF_EVENT },
};

unsigned cgroup_ctl_from_name(const char *name, size_t len)
{
	for (size_t i = 0; i < MC_ARRAY_SIZE(ctl_names); i++)
		if (strlen(ctl_names[i].name) == len && !memcmp(ctl_names[i].name, name, len))
			return ctl_names[i].bit;
	return 0;
}

int cgroup_join(char *buf, const char *dir, const char *file, struct mc_err *err)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", dir, file);

	if (n < 0 || n >= PATH_MAX)
		return mc_err_setx(err, ENAMETOOLONG, "path `%s/%s` is too long", dir, file);
	return 0;
}

int cgroup_write(const struct mc_cgroup *cg, const char *dir, const char *file, const char *val,
		 struct mc_err *err)
{
	char path[PATH_MAX];
	int flags = O_WRONLY | O_TRUNC | O_CLOEXEC;
	size_t len = strlen(val);
	ssize_t n;
	int r;

	if ((r = cgroup_join(path, dir, file, err)) < 0)
		return r;
	/* A fake tree has no kernel to provide the files: create them so tests can read
	 * back what was written. On cgroupfs O_CREAT would only blur a missing controller. */
	if (cg->root->fake)
		flags |= O_CREAT;
	mc_autoclose int fd = open(path, flags, 0644);
	if (fd < 0)
		return mc_err_set(err, errno, "open `%s`", path);
	/* cgroupfs takes a value in a single write; a short write means it was rejected. */
	n = write(fd, val, len);
	if (n < 0)
		return mc_err_set(err, errno, "write `%s` to `%s`", val, path);
	if ((size_t)n != len)
		return mc_err_setx(err, EIO, "short write of `%s` to `%s`", val, path);
	return 0;
}

int cgroup_writef(const struct mc_cgroup *cg, const char *dir, const char *file, struct mc_err *err,
		  const char *fmt, ...)
{
	char val[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(val))
		return mc_err_setx(err, EINVAL, "value for `%s` is too long", file);
	return cgroup_write(cg, dir, file, val, err);
}

int cgroup_read(const char *dir, const char *file, char **out, struct mc_err *err)
{
	char path[PATH_MAX];
	int r;

	if ((r = cgroup_join(path, dir, file, err)) < 0)
		return r;
	return mc_fs_read_file(path, out, NULL, CG_READ_MAX, err);
}

int cgroup_read_u64(const char *dir, const char *file, uint64_t *out, struct mc_err *err)
{
	char path[PATH_MAX], buf[64];
	int r;

	if ((r = cgroup_join(path, dir, file, err)) < 0)
		return r;
	if ((r = mc_fs_read_str(path, buf, sizeof(buf), err)) < 0)
		return r;
	if (!strcmp(buf, "max")) {
		*out = UINT64_MAX;
		return 0;
	}
	if (mc_str_to_u64(buf, out) < 0)
		return mc_err_setx(err, EINVAL, "`%s`: unexpected content `%s`", path, buf);
	return 0;
}

bool cgroup_exists(const char *dir, const char *file)
{
	char path[PATH_MAX];

	if (cgroup_join(path, dir, file, NULL) < 0)
		return false;
	return access(path, F_OK) == 0;
}

int cgroup_parse_keyed(const char *body, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	const char *p = body;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > klen && !memcmp(p, key, klen) && p[klen] == ' ') {
			char num[32];
			size_t vlen = len - klen - 1;

			if (vlen == 0 || vlen >= sizeof(num))
				return -EINVAL;
			memcpy(num, p + klen + 1, vlen);
			num[vlen] = '\0';
			return mc_str_to_u64(num, out) < 0 ? -EINVAL : 0;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return -ENOENT;
}

int cgroup_parse_pids(const char *body, pid_t **pids, size_t *n)
{
	const char *p = body;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char num[16];
		int64_t v;
		bool dup = false;

		if (len == 0 || len >= sizeof(num))
			return -EINVAL;
		memcpy(num, p, len);
		num[len] = '\0';
		if (mc_str_to_i64(num, &v) < 0 || v <= 0 || v > INT32_MAX)
			return -EINVAL;
		for (size_t i = 0; i < *n && !dup; i++)
			dup = (*pids)[i] == (pid_t)v;
		if (!dup) {
			pid_t *np = realloc(*pids, (*n + 1) * sizeof(**pids));

			if (!np)
				return -ENOMEM;
			np[(*n)++] = (pid_t)v;
			*pids = np;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return 0;
}

bool cgroup_path_valid(const char *rel)
{
	const char *p = rel;

	if (!*rel || *rel == '/')
		return false;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && !memcmp(p, "..", 2)))
			return false;
		p += len;
		if (*p == '/')
			p++;
		else
			break;
	}
	/* a trailing slash leaves an empty last component */
	return rel[strlen(rel) - 1] != '/';
}

bool cgroup_is_cgroupfs(const char *dir, bool *v2)
{
	struct statfs sfs;

	if (statfs(dir, &sfs) < 0)
		return false;
	if (v2)
		*v2 = sfs.f_type == CG2_SUPER_MAGIC;
	return sfs.f_type == CG_SUPER_MAGIC || sfs.f_type == CG2_SUPER_MAGIC;
}

/*
 * cgroup_rmdir_created: undoes the mkdirs of create. What we made is always a tail of the
 * path (once one mkdir succeeds, everything below it is new), so it is removed from
 * the deepest directory @deep up to, and including, the one of length @first.
 */
void cgroup_rmdir_created(struct mc_cgroup *cg, const char *deep, size_t first)
{
	char path[PATH_MAX];

	if (!first)
		return;
	mc_strlcpy(path, deep, sizeof(path));
	if (cg->root->fake) {
		path[first] = '\0';
		mc_fs_rm_rf(path, NULL); /* Best-effort rollback */
		return;
	}
	while (strlen(path) >= first) {
		char *slash = strrchr(path, '/');

		/* Best-effort rollback: the error that made us roll back is what counts. */
		if (rmdir(path) < 0)
			mc_log_warn("rmdir `%s`: %s", path, mc_strerror(errno));
		if (!slash)
			break;
		*slash = '\0';
	}
}
