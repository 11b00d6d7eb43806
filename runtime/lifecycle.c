/* SPDX-License-Identifier: MIT */
/*
 * lifecycle.c: the container verbs on top of run.c and state.c: run (creating the
 * state directory and config), kill, stop, start, rm, wait, inspect, stats, logs.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mc/config.h>

static int set_root(char *dst, const char *arg, const char *envname, const char *def,
		    struct mc_err *err)
{
	const char *v = arg ? arg : getenv(envname);

	if (!v || !*v)
		v = def;
	if (v[0] != '/')
		return mc_err_setx(err, EINVAL, "`%s`: the state and data roots must be absolute",
				   v);
	if (mc_strlcpy(dst, v, PATH_MAX) >= PATH_MAX - 200)
		return mc_err_setx(err, ENAMETOOLONG, "`%s`: path too long", v);
	return 0;
}

int mc_rt_ctx_init(struct mc_rt_ctx *ctx, const char *state_root, const char *data_root,
		   struct mc_err *err)
{
	const char *lib = getenv("MC_MALLOC_LIB");

	memset(ctx, 0, sizeof(*ctx));
	if (set_root(ctx->state_root, state_root, "MC_ROOT", "/run/mycontainer", err) < 0 ||
	    set_root(ctx->data_root, data_root, "MC_DATA_ROOT", "/var/lib/mycontainer", err) < 0)
		return -err->code;
	snprintf(ctx->malloc_lib, sizeof(ctx->malloc_lib), "%s",
		 lib && *lib ? lib : MC_PKGLIBDIR "/libmcmalloc.so");
	if (mc_fs_mkdir_p(ctx->state_root, 0711, err) < 0 ||
	    mc_fs_mkdir_p(ctx->data_root, 0711, err) < 0)
		return -err->code;
	return 0;
}

static bool name_valid(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len >= MC_RT_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = n[i];
		bool alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || !strchr("_.-", c)))
			return false;
	}
	return true;
}

static void command_line(const struct rt_config *c, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < c->n_args && len + 1 < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s", i ? " " : "", c->args[i]);
}

/* bundle_spec: the bundle's config.json with our cgroup path and absolute root. */
static int bundle_spec(const char *bundle, const char *id, json_t **out, char *abs_bundle,
		       struct mc_err *err)
{
	char path[PATH_MAX], cg[128];
	json_error_t jerr;
	json_t *spec, *lin;

	if (!realpath(bundle, abs_bundle))
		return mc_err_set(err, errno, "bundle `%s`", bundle);
	snprintf(path, sizeof(path), "%s/config.json", abs_bundle);
	spec = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!spec)
		return mc_err_setx(err, MC_EPARSE, "%s: line %d: %s", path, jerr.line, jerr.text);
	lin = json_object_get(spec, "linux");
	if (!json_is_object(lin)) {
		json_decref(spec);
		return mc_err_setx(err, MC_EPARSE, "%s: no linux section", path);
	}
	rt_cgroup_path(id, cg, sizeof(cg));
	json_object_set_new(lin, "cgroupsPath", json_string(cg));
	*out = spec;
	return 0;
}

int mc_rt_run(const struct mc_rt_ctx *ctx, const struct mc_rt_run_opts *o, int *status,
	      bool *oom_killed, char id_out[MC_RT_ID_LEN + 1], struct mc_err *err)
{
	struct rt_launch l = { .ctx = ctx };
	struct rt_config c;
	char cfgpath[PATH_MAX];
	json_t *spec = NULL;
	char *text = NULL;
	int lk, r;

	*status = MC_RT_EXIT_RUNTIME;
	*oom_killed = false;
	memset(&c, 0, sizeof(c));
	if (geteuid() != 0)
		return mc_err_setx(err, EPERM, "mycontainer needs root (try sudo)");
	if (!o->image && !o->bundle)
		return mc_err_setx(err, EINVAL, "no image given");
	if (o->name && !name_valid(o->name))
		return mc_err_setx(err, EINVAL,
				   "invalid container name `%s`: want [a-zA-Z0-9][a-zA-Z0-9_.-]*",
				   o->name);
	rt_phase("run");
	rt_new_id(l.st.id);
	mc_strlcpy(l.st.name, o->name ? o->name : "", sizeof(l.st.name));
	if (!o->name)
		snprintf(l.st.name, sizeof(l.st.name), "mc-%.10s", l.st.id);
	rt_state_dir(ctx, l.st.id, l.state_dir, sizeof(l.state_dir));

	/* Creation under the global lock: the name check and the directory are atomic. */
	lk = rt_lock(ctx, NULL, err);
	if (lk < 0)
		return lk;
	{
		char other[MC_RT_ID_LEN + 1];

		if (rt_name_owner(ctx, l.st.name, other)) {
			rt_unlock(lk);
			return mc_err_setx(err, EEXIST,
					   "the container name `%s` is already in use by %.12s",
					   l.st.name, other);
		}
	}
	/* 0711: a user-namespaced root must reach the /etc files bound from here. */
	if (mkdir(l.state_dir, 0711) < 0) {
		r = mc_err_set(err, errno, "create state directory `%s`", l.state_dir);
		rt_unlock(lk);
		return r;
	}
	rt_phase("name checked, state dir made");
	if (o->bundle)
		r = bundle_spec(o->bundle, l.st.id, &spec, l.st.bundle, err);
	else
		r = rt_spec_from_opts(ctx, o, l.st.id, l.state_dir, &spec, err);
	rt_phase("spec built");
	if (r < 0)
		goto out_state;
	text = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text) {
		json_decref(spec);
		r = mc_err_set(err, ENOMEM, "config.json");
		goto out_state;
	}
	snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", l.state_dir);
	r = rt_write_volatile(cfgpath, text, strlen(text), 0600, err);
	if (r < 0) {
		json_decref(spec);
		goto out_state;
	}
	rt_phase("config.json written");
	/*
	 * Parsed from the document just written, not from its text: the same checks
	 * (start and exec parse the file), without a second JSON parse on every run.
	 */
	r = rt_config_parse_json(spec, o->bundle ? l.st.bundle : NULL, &c, err);
	rt_phase("config parsed");
	if (r < 0) {
		mc_err_wrap(err, "config.json");
		goto out_state;
	}
	mc_strlcpy(l.st.image, o->image ? o->image : "(bundle)", sizeof(l.st.image));
	command_line(&c, l.st.command, sizeof(l.st.command));
	mc_strlcpy(l.st.status, "created", sizeof(l.st.status));
	l.st.created_ns = mc_time_real_ns();
	l.st.auto_rm = o->rm;
	l.st.detached = o->detach;
	r = rt_state_write(ctx, &l.st, err);
	if (r < 0)
		goto out_state;
	rt_unlock(lk);
	lk = -1;

	l.c = &c;
	l.interactive = o->interactive;
	l.defer_cleanup = !o->detach;
	memcpy(id_out, l.st.id, MC_RT_ID_LEN + 1);
	if (o->detach)
		r = rt_start_detached(ctx, &l, status, err);
	else
		r = rt_launch_monitor(&l, -1, status, oom_killed, err);
	if (r < 0) {
		/* Never started: nothing of it may stay behind. */
		struct mc_err e2 = { 0 };

		rt_remove_all(ctx, l.st.id, &e2);
	}
	free(text);
	rt_config_release(&c);
	return r;
out_state:
	free(text);
	rt_config_release(&c);
	mc_fs_rm_rf(l.state_dir, NULL);
	rt_unlock(lk);
	return r;
}

static int load(const struct mc_rt_ctx *ctx, const char *id, struct rt_state *st,
		struct mc_err *err)
{
	if (rt_state_read(ctx, id, st, err) < 0)
		return mc_err_wrap(err, "container %.12s", id);
	return 0;
}

int mc_rt_kill(const struct mc_rt_ctx *ctx, const char *id, int sig, struct mc_err *err)
{
	struct rt_state st;

	if (load(ctx, id, &st, err) < 0)
		return -err->code;
	if (rt_state_effective(&st) != MC_RT_RUNNING)
		return mc_err_setx(err, EINVAL, "container %s is not running", st.name);
	if (kill(st.pid, sig) < 0)
		return mc_err_set(err, errno, "kill %d", (int)st.pid);
	/*
	 * Killing PID 1 of the container's PID namespace kills everything else in it
	 * (exec'd processes included); the cgroup removal sweeps up what remains.
	 */
	return 0;
}

/* wait_exit: until the container's PID 1 is gone (pidfd) and the state says so. */
static int wait_exit(const struct mc_rt_ctx *ctx, const char *id, int timeout_ms,
		     struct rt_state *st, struct mc_err *err)
{
	uint64_t deadline =
		timeout_ms < 0 ? UINT64_MAX : mc_time_mono_ns() + (uint64_t)timeout_ms * 1000000;

	for (;;) {
		int r = rt_state_read(ctx, id, st, err);

		if (r < 0)
			return err ? mc_err_wrap(err, "container %.12s", id) : r;
		if (rt_state_effective(st) != MC_RT_RUNNING) {
			/* The monitor records the exit status right after the exit. */
			if (!strcmp(st->status, "running") &&
			    rt_proc_alive(st->monitor_pid, st->monitor_start) &&
			    mc_time_mono_ns() < deadline) {
				mc_time_sleep_ns(10 * 1000000);
				continue;
			}
			return 1;
		}
		if (mc_time_mono_ns() >= deadline)
			return 0;
		int pfd = (int)syscall(SYS_pidfd_open, st->pid, 0);

		if (pfd >= 0) {
			struct pollfd p = { pfd, POLLIN, 0 };
			uint64_t now = mc_time_mono_ns();
			int ms = deadline == UINT64_MAX
					 ? 1000
					 : (int)MC_MIN((deadline - now) / 1000000 + 1, 1000);

			poll(&p, 1, ms);
			close(pfd);
		} else {
			mc_time_sleep_ns(20 * 1000000);
		}
	}
}

int mc_rt_stop(const struct mc_rt_ctx *ctx, const char *id, unsigned timeout_s, struct mc_err *err)
{
	struct rt_state st;
	int r;

	if (load(ctx, id, &st, err) < 0)
		return -err->code;
	if (rt_state_effective(&st) != MC_RT_RUNNING)
		return 0;
	/* A PID 1 without a TERM handler ignores it: the grace period then runs out. */
	if (kill(st.pid, SIGTERM) < 0 && errno != ESRCH)
		return mc_err_set(err, errno, "kill %d", (int)st.pid);
	r = wait_exit(ctx, id, (int)timeout_s * 1000, &st, err);
	if (r != 0)
		return r < 0 ? r : 0;
	if (mc_rt_kill(ctx, id, SIGKILL, err) < 0 && rt_state_effective(&st) == MC_RT_RUNNING)
		return -err->code;
	r = wait_exit(ctx, id, 10000, &st, err);
	if (r == 0)
		return mc_err_setx(err, ETIMEDOUT, "container %s did not exit after SIGKILL",
				   st.name);
	return r < 0 ? r : 0;
}

int mc_rt_wait(const struct mc_rt_ctx *ctx, const char *id, int *exit_code, struct mc_err *err)
{
	struct rt_state st;
	struct mc_rt_info info;
	int r = wait_exit(ctx, id, -1, &st, err);

	if (r < 0)
		return r;
	if (mc_rt_info_get(ctx, id, &info, err) < 0)
		return -err->code;
	*exit_code = info.exit_code;
	return 0;
}

int mc_rt_start(const struct mc_rt_ctx *ctx, const char *id, struct mc_err *err)
{
	struct rt_launch l = { .ctx = ctx };
	struct rt_config c;
	char cfg[PATH_MAX];
	int lk, r, status;

	lk = rt_lock(ctx, id, err);
	if (lk < 0)
		return lk;
	r = load(ctx, id, &l.st, err);
	if (r == 0 && rt_state_effective(&l.st) == MC_RT_RUNNING)
		r = mc_err_setx(err, EBUSY, "container %s is already running", l.st.name);
	rt_unlock(lk);
	/*
	 * The monitor records the exit first and then releases the network and the
	 * cgroup: `stop; start` may find it finishing that. Give it 10 s.
	 */
	for (int i = 0; r == 0 && i < 1000 && rt_proc_alive(l.st.monitor_pid, l.st.monitor_start);
	     i++)
		mc_time_sleep_ns(10 * 1000 * 1000);
	if (r == 0 && rt_proc_alive(l.st.monitor_pid, l.st.monitor_start))
		r = mc_err_setx(err, EBUSY, "container %s is still being stopped", l.st.name);
	if (r < 0)
		return r;
	rt_state_dir(ctx, id, l.state_dir, sizeof(l.state_dir));
	snprintf(cfg, sizeof(cfg), "%s/config.json", l.state_dir);
	if (rt_config_load(cfg, l.st.bundle[0] ? l.st.bundle : NULL, &c, err) < 0)
		return -err->code;
	/* The old cgroup may survive a killed monitor; a fresh start needs a fresh one. */
	{
		struct mc_cgroup *cg = NULL;

		if (mc_cgroup_open(c.cgroups_path, &cg, NULL) == 0)
			mc_cgroup_destroy(cg, NULL);
	}
	l.c = &c;
	l.st.detached = true;
	r = rt_start_detached(ctx, &l, &status, err);
	rt_config_release(&c);
	return r;
}

int mc_rt_rm(const struct mc_rt_ctx *ctx, const char *id, bool force, struct mc_err *err)
{
	struct rt_state st;
	int lk, r;

	if (load(ctx, id, &st, err) < 0)
		return -err->code;
	if (rt_state_effective(&st) == MC_RT_RUNNING) {
		if (!force)
			return mc_err_setx(err, EBUSY,
					   "container %s is running: stop it first or use rm -f",
					   st.name);
		if (mc_rt_kill(ctx, id, SIGKILL, err) < 0 && errno != ESRCH)
			mc_log_debug("rm -f: %s", err->msg);
		wait_exit(ctx, id, 10000, &st, NULL);
	}
	/* The background cleaner of a kept container (rt_launch_monitor) finishes first. */
	if (rt_wait_removal(ctx, id, 10000))
		return 0;
	lk = rt_lock(ctx, NULL, err);
	if (lk < 0)
		return lk;
	r = rt_remove_all(ctx, id, err);
	rt_unlock(lk);
	return r;
}

int mc_rt_inspect(const struct mc_rt_ctx *ctx, const char *id, char **json_out, struct mc_err *err)
{
	struct rt_state st;
	struct mc_rt_info info;
	char path[PATH_MAX], t[48];
	json_error_t jerr;
	json_t *obj, *cfg, *state, *arr;
	static const char *const names[] = { "created", "running", "exited" };

	if (load(ctx, id, &st, err) < 0)
		return -err->code;
	mc_rt_info_get(ctx, id, &info, NULL);
	snprintf(path, sizeof(path), "%s/%s/config.json", ctx->state_root, id);
	cfg = json_load_file(path, 0, &jerr);
	obj = json_object();
	json_object_set_new(obj, "Id", json_string(st.id));
	json_object_set_new(obj, "Name", json_string(st.name));
	json_object_set_new(obj, "Image", json_string(st.image));
	mc_time_format_rfc3339(st.created_ns, t, sizeof(t));
	json_object_set_new(obj, "Created", json_string(t));
	state = json_object();
	json_object_set_new(state, "Status", json_string(names[info.status]));
	json_object_set_new(state, "Running", json_boolean(info.status == MC_RT_RUNNING));
	json_object_set_new(state, "Pid", json_integer(info.pid));
	json_object_set_new(state, "ExitCode", json_integer(info.exit_code));
	json_object_set_new(state, "OOMKilled", json_boolean(st.oom_killed));
	mc_time_format_rfc3339(st.started_ns, t, sizeof(t));
	json_object_set_new(state, "StartedAt", json_string(t));
	mc_time_format_rfc3339(st.finished_ns, t, sizeof(t));
	json_object_set_new(state, "FinishedAt", json_string(t));
	json_object_set_new(obj, "State", state);
	json_object_set_new(obj, "StateDir", json_sprintf("%s/%s", ctx->state_root, id));
	json_object_set_new(obj, "Config", cfg ? cfg : json_null());
	arr = json_array();
	json_array_append_new(arr, obj);
	*json_out = json_dumps(arr, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	json_decref(arr);
	if (!*json_out)
		return mc_err_set(err, ENOMEM, "inspect");
	return 0;
}

int mc_rt_stats(const struct mc_rt_ctx *ctx, const char *id, struct mc_rt_stats *out,
		struct mc_err *err)
{
	struct mc_cgroup_stats cs;
	struct mc_cgroup *cg = NULL;
	struct rt_state st;
	char cgpath[128];
	int r;

	if (load(ctx, id, &st, err) < 0)
		return -err->code;
	if (rt_state_effective(&st) != MC_RT_RUNNING)
		return mc_err_setx(err, EINVAL, "container %s is not running", st.name);
	rt_cgroup_path(id, cgpath, sizeof(cgpath));
	if (mc_cgroup_open(cgpath, &cg, err) < 0)
		return mc_err_wrap(err, "cgroup");
	r = mc_cgroup_stats(cg, &cs, err);
	mc_cgroup_free(cg);
	if (r < 0)
		return mc_err_wrap(err, "cgroup stats");
	memset(out, 0, sizeof(*out));
	out->memory_current = cs.memory_current;
	out->memory_peak = cs.memory_peak;
	out->memory_limit = cs.memory_limit == UINT64_MAX ? 0 : cs.memory_limit;
	out->cpu_usage_ns = cs.cpu_usage_ns;
	out->pids_current = cs.pids_current;
	out->pids_max = cs.pids_max == UINT64_MAX ? 0 : cs.pids_max;
	out->nr_throttled = cs.nr_throttled;
	out->throttled_ns = cs.throttled_ns;
	out->oom_kills = cs.oom_kills;
	return 0;
}

int mc_rt_logs(const struct mc_rt_ctx *ctx, const char *id, int fd, bool follow, struct mc_err *err)
{
	char path[PATH_MAX], buf[65536];
	mc_autoclose int in = -1;
	struct rt_state st;

	if (load(ctx, id, &st, err) < 0)
		return -err->code;
	snprintf(path, sizeof(path), "%s/%s/container.log", ctx->state_root, id);
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		if (errno == ENOENT && !st.detached)
			return mc_err_setx(err, ENOENT,
					   "container %s ran in the foreground: it has no log",
					   st.name);
		if (errno == ENOENT)
			return 0;
		return mc_err_set(err, errno, "open `%s`", path);
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mc_err_set(err, errno, "read `%s`", path);
		if (n > 0) {
			if (mc_write_all(fd, buf, (size_t)n) < 0)
				return mc_err_set(err, errno, "write the log");
			continue;
		}
		if (!follow)
			return 0;
		/* At the end: stop once the container exited and nothing more came. */
		if (rt_state_read(ctx, id, &st, NULL) < 0 ||
		    rt_state_effective(&st) != MC_RT_RUNNING) {
			while ((n = read(in, buf, sizeof(buf))) > 0)
				mc_write_all(fd, buf, (size_t)n);
			return 0;
		}
		mc_time_sleep_ns(100 * 1000000);
	}
}

int mc_rt_signal_parse(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} sigs[] = { { "HUP", SIGHUP },	  { "INT", SIGINT },	 { "QUIT", SIGQUIT },
		     { "KILL", SIGKILL }, { "TERM", SIGTERM },	 { "USR1", SIGUSR1 },
		     { "USR2", SIGUSR2 }, { "STOP", SIGSTOP },	 { "CONT", SIGCONT },
		     { "ALRM", SIGALRM }, { "WINCH", SIGWINCH }, { "PIPE", SIGPIPE } };
	uint64_t v;

	if (mc_str_to_u64(s, &v) == 0)
		return v >= 1 && v < (uint64_t)NSIG ? (int)v : -EINVAL;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < MC_ARRAY_SIZE(sigs); i++)
		if (!strcasecmp(s, sigs[i].name))
			return sigs[i].sig;
	return -EINVAL;
}
