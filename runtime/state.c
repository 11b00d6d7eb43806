/* SPDX-License-Identifier: MIT */
/*
 * state.c: the state directory STATE_ROOT/ID/ (config.json, state.json, lock, log,
 * hostname, hosts, resolv.conf), written atomically and guarded by flock, plus the
 * liveness checks that let a container whose monitor was killed still be listed.
 *
 *   STATE_ROOT/.lock          global lock: creation (name uniqueness) and removal
 *   STATE_ROOT/ID/lock        per-container lock for read-modify-write of state.json
 *   STATE_ROOT/ID/state.json  status, pids (+ start times against pid reuse), times
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int rt_state_dir(const struct mc_rt_ctx *ctx, const char *id, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/%s", ctx->state_root, id);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void rt_new_id(char id[MC_RT_ID_LEN + 1])
{
	unsigned char raw[MC_RT_ID_LEN / 2];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n > 0)
			got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
}

void rt_cgroup_path(const char *id, char *out, size_t size)
{
	snprintf(out, size, "mycontainer/%s", id);
}

int rt_lock(const struct mc_rt_ctx *ctx, const char *id, struct mc_err *err)
{
	char path[PATH_MAX];
	int fd;

	if (id)
		snprintf(path, sizeof(path), "%s/%s/lock", ctx->state_root, id);
	else
		snprintf(path, sizeof(path), "%s/.lock", ctx->state_root);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return mc_err_set(err, errno, "open lock `%s`", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = mc_err_set(err, errno, "flock `%s`", path);

			close(fd);
			return r;
		}
	}
	return fd;
}

void rt_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

bool rt_wait_removal(const struct mc_rt_ctx *ctx, const char *id, int timeout_ms)
{
	char path[PATH_MAX];
	int fd, waited = 0;

	snprintf(path, sizeof(path), "%s/%s/lock", ctx->state_root, id);
	/* No O_CREAT: a lock file made now would keep the cleaner's rmdir from working. */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		while (flock(fd, LOCK_EX | LOCK_NB) < 0 &&
		       (errno == EWOULDBLOCK || errno == EINTR) && waited < timeout_ms) {
			mc_time_sleep_ns(2 * 1000 * 1000);
			waited += 2;
		}
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/%s", ctx->state_root, id);
	return access(path, F_OK) < 0 && errno == ENOENT;
}

uint64_t rt_proc_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pid <= 0 || mc_fs_read_str(path, buf, sizeof(buf), NULL) < 0)
		return 0;
	/* Field 22; the command (field 2) may hold spaces and ')' so skip past the last. */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	p += 2;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &v) != 1)
		return 0;
	return v;
}

bool rt_proc_alive(pid_t pid, uint64_t start)
{
	char path[64], buf[1024], *p;

	if (pid <= 0 || rt_proc_starttime(pid) != start)
		return false;
	/* A zombie has exited already; its parent just did not reap it yet. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (mc_fs_read_str(path, buf, sizeof(buf), NULL) < 0 || !(p = strrchr(buf, ')')))
		return false;
	return p[2] != 'Z' && p[2] != 'X';
}

enum mc_rt_status rt_state_effective(const struct rt_state *st)
{
	if (!strcmp(st->status, "running"))
		return rt_proc_alive(st->pid, st->pid_start) ? MC_RT_RUNNING : MC_RT_EXITED;
	if (!strcmp(st->status, "created"))
		return MC_RT_CREATED;
	return MC_RT_EXITED;
}

json_t *rt_state_json(const struct rt_state *st)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:I,s:i,s:I,s:I,s:I,s:I,s:i,s:b,s:b,s:b}",
			 "id", st->id, "name", st->name, "image", st->image, "command", st->command,
			 "bundle", st->bundle, "status", st->status, "pid", (int)st->pid,
			 "pid_start", (json_int_t)st->pid_start, "monitor_pid",
			 (int)st->monitor_pid, "monitor_start", (json_int_t)st->monitor_start,
			 "created", (json_int_t)st->created_ns, "started",
			 (json_int_t)st->started_ns, "finished", (json_int_t)st->finished_ns,
			 "exit_code", st->exit_code, "oom_killed", st->oom_killed, "auto_remove",
			 st->auto_rm, "detached", st->detached);
}

int rt_write_volatile(const char *path, const char *data, size_t len, mode_t mode,
		      struct mc_err *err)
{
	char tmp[PATH_MAX + 16];
	int fd, r = 0;

	/*
	 * State under /run describes processes, which a reboot ends anyway: atomic
	 * (temp file + rename, so readers never see half a file) but not fsynced, which
	 * would cost several ms per write on a disk-backed /run.
	 */
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return mc_err_set(err, errno, "create `%s`", tmp);
	if (mc_write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0)
		r = mc_err_set(err, errno, "write `%s`", tmp);
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = mc_err_set(err, errno, "rename `%s`", tmp);
	if (r < 0)
		unlink(tmp);
	return r;
}

int rt_state_write(const struct mc_rt_ctx *ctx, const struct rt_state *st, struct mc_err *err)
{
	char path[PATH_MAX];
	json_t *j = rt_state_json(st);
	char *text;
	int r;

	if (!j)
		return mc_err_set(err, ENOMEM, "state.json");
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		return mc_err_set(err, ENOMEM, "state.json");
	snprintf(path, sizeof(path), "%s/%s/state.json", ctx->state_root, st->id);
	r = rt_write_volatile(path, text, strlen(text), 0600, err);
	free(text);
	return r;
}

static void copy_str(json_t *o, const char *key, char *dst, size_t size)
{
	const char *s = json_string_value(json_object_get(o, key));

	mc_strlcpy(dst, s ? s : "", size);
}

static int64_t get_i(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

int rt_state_read(const struct mc_rt_ctx *ctx, const char *id, struct rt_state *st,
		  struct mc_err *err)
{
	char path[PATH_MAX];
	mc_autofree char *text = NULL;
	json_error_t jerr;
	size_t len;
	json_t *j;
	int r;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/%s/state.json", ctx->state_root, id);
	/* @err may be NULL (a scan that skips what vanished meanwhile). */
	if ((r = mc_fs_read_file(path, &text, &len, 1 << 20, err)) < 0)
		return r;
	j = json_loadb(text, len, 0, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		return mc_err_setx(err, MC_ECORRUPT, "%s: not a state object", path);
	}
	copy_str(j, "id", st->id, sizeof(st->id));
	copy_str(j, "name", st->name, sizeof(st->name));
	copy_str(j, "image", st->image, sizeof(st->image));
	copy_str(j, "command", st->command, sizeof(st->command));
	copy_str(j, "bundle", st->bundle, sizeof(st->bundle));
	copy_str(j, "status", st->status, sizeof(st->status));
	st->pid = (pid_t)get_i(j, "pid");
	st->pid_start = (uint64_t)get_i(j, "pid_start");
	st->monitor_pid = (pid_t)get_i(j, "monitor_pid");
	st->monitor_start = (uint64_t)get_i(j, "monitor_start");
	st->created_ns = (uint64_t)get_i(j, "created");
	st->started_ns = (uint64_t)get_i(j, "started");
	st->finished_ns = (uint64_t)get_i(j, "finished");
	st->exit_code = (int)get_i(j, "exit_code");
	st->oom_killed = json_is_true(json_object_get(j, "oom_killed"));
	st->auto_rm = json_is_true(json_object_get(j, "auto_remove"));
	st->detached = json_is_true(json_object_get(j, "detached"));
	json_decref(j);
	if (strcmp(st->id, id))
		return mc_err_setx(err, MC_ECORRUPT, "%s: id mismatch", path);
	return 0;
}

static void info_from_state(const struct rt_state *st, struct mc_rt_info *out)
{
	memset(out, 0, sizeof(*out));
	mc_strlcpy(out->id, st->id, sizeof(out->id));
	mc_strlcpy(out->name, st->name, sizeof(out->name));
	mc_strlcpy(out->image, st->image, sizeof(out->image));
	mc_strlcpy(out->command, st->command, sizeof(out->command));
	out->status = rt_state_effective(st);
	out->pid = out->status == MC_RT_RUNNING ? st->pid : 0;
	out->exit_code = st->exit_code;
	/* Recorded as running but gone, and no monitor to say how: unknown. */
	if (out->status == MC_RT_EXITED && !strcmp(st->status, "running"))
		out->exit_code = -1;
	out->oom_killed = st->oom_killed;
	out->created_ns = st->created_ns;
	out->started_ns = st->started_ns;
	out->finished_ns = st->finished_ns;
}

int mc_rt_info_get(const struct mc_rt_ctx *ctx, const char *id, struct mc_rt_info *out,
		   struct mc_err *err)
{
	struct rt_state st;

	if (rt_state_read(ctx, id, &st, err) < 0)
		return -err->code;
	info_from_state(&st, out);
	return 0;
}

static bool is_id(const char *s)
{
	return strlen(s) == MC_RT_ID_LEN && strspn(s, "0123456789abcdef") == MC_RT_ID_LEN;
}

/*
 * rt_name_owner: the container whose name is exactly @name, if any (true, its id in
 * @id). Only names count: a new container's name may look like the prefix of
 * another's id (`c2` and an id c2c8...), which mc_rt_resolve would match.
 */
bool rt_name_owner(const struct mc_rt_ctx *ctx, const char *name, char id[MC_RT_ID_LEN + 1])
{
	mc_autoclosedir DIR *d = opendir(ctx->state_root);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		struct rt_state st;

		if (is_id(de->d_name) && rt_state_read(ctx, de->d_name, &st, NULL) == 0 &&
		    !strcmp(st.name, name)) {
			memcpy(id, de->d_name, MC_RT_ID_LEN + 1);
			return true;
		}
	}
	return false;
}

int mc_rt_resolve(const struct mc_rt_ctx *ctx, const char *ref, char id[MC_RT_ID_LEN + 1],
		  struct mc_err *err)
{
	mc_autoclosedir DIR *d = opendir(ctx->state_root);
	struct dirent *de;
	int prefix_hits = 0;
	char found[MC_RT_ID_LEN + 1] = "";

	if (!ref[0])
		return mc_err_setx(err, EINVAL, "empty container name");
	if (!d)
		return mc_err_setx(err, ENOENT, "no such container: %s", ref);
	while ((de = readdir(d))) {
		struct rt_state st;

		if (!is_id(de->d_name))
			continue;
		if (!strcmp(de->d_name, ref)) {
			memcpy(id, de->d_name, MC_RT_ID_LEN + 1);
			return 0;
		}
		if (rt_state_read(ctx, de->d_name, &st, NULL) == 0 && !strcmp(st.name, ref)) {
			memcpy(id, de->d_name, MC_RT_ID_LEN + 1);
			return 0;
		}
		if (strspn(ref, "0123456789abcdef") == strlen(ref) &&
		    !strncmp(de->d_name, ref, strlen(ref))) {
			prefix_hits++;
			memcpy(found, de->d_name, sizeof(found));
		}
	}
	if (prefix_hits == 1) {
		memcpy(id, found, sizeof(found));
		return 0;
	}
	if (prefix_hits > 1)
		return mc_err_setx(err, EINVAL, "multiple containers match `%s`", ref);
	return mc_err_setx(err, ENOENT, "no such container: %s", ref);
}

static int cmp_info(const void *a, const void *b)
{
	const struct mc_rt_info *x = a, *y = b;

	return x->created_ns < y->created_ns ? 1 : x->created_ns > y->created_ns ? -1 : 0;
}

int mc_rt_list(const struct mc_rt_ctx *ctx, struct mc_rt_info **out, size_t *n, struct mc_err *err)
{
	mc_autoclosedir DIR *d = opendir(ctx->state_root);
	struct mc_rt_info *v = NULL;
	struct dirent *de;
	size_t cnt = 0;

	if (!d && errno != ENOENT)
		return mc_err_set(err, errno, "open `%s`", ctx->state_root);
	while (d && (de = readdir(d))) {
		struct rt_state st;
		struct mc_rt_info *nv;

		/* A half-created or half-removed directory has no readable state: skip it. */
		if (!is_id(de->d_name) || rt_state_read(ctx, de->d_name, &st, NULL) < 0)
			continue;
		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			return mc_err_set(err, ENOMEM, "list");
		}
		v = nv;
		info_from_state(&st, &v[cnt++]);
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_info);
	*out = v;
	*n = cnt;
	return 0;
}
