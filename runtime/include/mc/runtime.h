/* SPDX-License-Identifier: MIT */
/*
 * runtime.h: libmcrt, the container runtime library behind the `mycontainer` CLI.
 * A container is an OCI runtime-spec config (config.json) plus a state directory;
 * this header offers the lifecycle (run, exec, kill, stop, start, rm, wait), the
 * read side (list, inspect, stats, logs) and the spec builder used by the CLI.
 *
 * Every function is control-plane code: it returns 0 (or a count) on success and
 * -code on failure with @err filled ("context: cause: strerror"); nothing prints.
 * None of them are thread-safe against each other within one process; concurrent
 * CLI processes are safe (flock on the state directory).
 */
#ifndef MC_RUNTIME_H
#define MC_RUNTIME_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <mc/err.h>

/* Exit statuses of `run` and `exec` when the container itself did not exit. */
#define MC_RT_EXIT_RUNTIME 125 /* the runtime failed before the command ran */
#define MC_RT_EXIT_CANNOT_EXEC 126
#define MC_RT_EXIT_NOT_FOUND 127

#define MC_RT_ID_LEN 64
#define MC_RT_NAME_MAX 128

/* Where state and data live. Defaults: /run/mycontainer and /var/lib/mycontainer;
 * MC_ROOT / MC_DATA_ROOT (or --root / --data-root) relocate them. */
struct mc_rt_ctx {
	char state_root[PATH_MAX];
	char data_root[PATH_MAX];
	/* libmcmalloc to bind into containers: MC_MALLOC_LIB, else MC_PKGLIBDIR's copy. */
	char malloc_lib[PATH_MAX];
};

/*
 * mc_rt_ctx_init: fills @ctx from the arguments (NULL = environment, then default)
 * and creates both roots (0711). Returns 0 or -errno.
 */
int mc_rt_ctx_init(struct mc_rt_ctx *ctx, const char *state_root, const char *data_root,
		   struct mc_err *err);

/* ---- networks ---- */

/*
 * The network attach hook. `run` calls it in the parent after clone(), after the
 * cgroup attach and the id maps, before the child is released to set itself up:
 * the child's network namespace exists (/proc/PID/ns/net) and is still empty but for
 * lo. A bridge/veth implementation moves one end of a veth pair into it here. It
 * returns 0 or -code with @err set; a failure aborts the run and rolls everything
 * back (the hook's @detach is then called if it is set). @detach runs when the
 * container is removed, to release addresses and links.
 */
struct mc_rt_net_hook {
	int (*attach)(const char *id, const char *network, pid_t pid, void *arg,
		      struct mc_err *err);
	void (*detach)(const char *id, const char *network, void *arg);
	/*
	 * Optional, for a container that exited: @exited releases what other containers
	 * can observe (address, names, ports) and leaves the kernel objects that die
	 * with the container's namespaces; `run` calls it before reporting the exit
	 * status, then @release from its background cleaner for what may remain.
	 * Without them @detach does both.
	 */
	void (*exited)(const char *id, const char *network, void *arg);
	void (*release)(const char *id, const char *network, void *arg);
	void *arg;
};

/* mc_rt_set_net_hook: installs the hook for networks other than none|host (NULL clears). */
void mc_rt_set_net_hook(const struct mc_rt_net_hook *hook);

/* ---- run ---- */

/* Options of `run` as the CLI parsed them; they build the OCI config. */
struct mc_rt_run_opts {
	const char *image;  /* image name (NULL with bundle) */
	const char *bundle; /* OCI bundle directory (config.json + rootfs) */
	char **argv;	    /* command; NULL/empty = the image's default (/bin/sh) */
	const char *name;
	const char *hostname;
	char **env; /* KEY=VALUE or KEY (taken from our environment) */
	size_t n_env;
	const char *workdir;
	const char *user; /* uid[:gid] or names from the image's /etc/passwd */
	char **volumes;	  /* host:ctr[:ro] */
	size_t n_volumes;
	char **cap_add, **cap_drop;
	size_t n_cap_add, n_cap_drop;
	char **ulimits; /* nofile=SOFT[:HARD] */
	size_t n_ulimits;
	bool read_only;
	const char *memory, *memory_swap, *cpus, *cpu_shares, *pids_limit;
	const char *network; /* none (default) | host | a named network (hook) */
	const char *seccomp; /* NULL default | unconfined | FILE (OCI/docker JSON) */
	const char *userns;  /* NULL | CTR:HOST:SIZE applied to uids and gids */
	char **annotations;  /* KEY=VALUE, stored in the config's annotations */
	size_t n_annotations;
	bool init;
	bool no_preload_malloc;
	bool tty, interactive, detach, rm;
};

/*
 * mc_rt_run: creates and starts a container from @opts. Foreground: waits for it
 * (proxying the pty with -t, forwarding signals) and stores its exit status in
 * *status (the container's code, 128+signal, 137 for an OOM kill). Detached: a
 * monitor process keeps the container; *status = 0 and @id_out gets the id.
 * An OOM kill sets *oom_killed. On failure everything made is removed, -code is
 * returned and *status is the exit status to use: 125, 126 or 127.
 */
int mc_rt_run(const struct mc_rt_ctx *ctx, const struct mc_rt_run_opts *opts, int *status,
	      bool *oom_killed, char id_out[MC_RT_ID_LEN + 1], struct mc_err *err);

/*
 * mc_rt_spec_build: the OCI config JSON `run` would use for @opts (image resolved
 * against @ctx), as a new string (free()). With @opts NULL: the default spec with
 * "rootfs" as root path and `sh` as the command, like `crun spec`.
 */
int mc_rt_spec_build(const struct mc_rt_ctx *ctx, const struct mc_rt_run_opts *opts,
		     char **json_out, struct mc_err *err);

/* ---- lifecycle ---- */

enum mc_rt_status {
	MC_RT_CREATED,
	MC_RT_RUNNING,
	MC_RT_EXITED,
};

struct mc_rt_info {
	char id[MC_RT_ID_LEN + 1];
	char name[MC_RT_NAME_MAX];
	char image[256];
	char command[256];
	enum mc_rt_status status;
	pid_t pid;     /* host pid of the container's PID 1, 0 when not running */
	int exit_code; /* -1 when unknown (the monitor was killed) */
	bool oom_killed;
	uint64_t created_ns, started_ns, finished_ns; /* CLOCK_REALTIME */
};

/* mc_rt_resolve: full id, unique id prefix or name -> full id. -ENOENT with a message. */
int mc_rt_resolve(const struct mc_rt_ctx *ctx, const char *ref, char id[MC_RT_ID_LEN + 1],
		  struct mc_err *err);

/* mc_rt_list: every container, newest first; *out is a new array (free()). */
int mc_rt_list(const struct mc_rt_ctx *ctx, struct mc_rt_info **out, size_t *n, struct mc_err *err);

int mc_rt_info_get(const struct mc_rt_ctx *ctx, const char *id, struct mc_rt_info *out,
		   struct mc_err *err);

/* mc_rt_kill: sends @sig to the container's PID 1 (SIGKILL: to its whole cgroup). */
int mc_rt_kill(const struct mc_rt_ctx *ctx, const char *id, int sig, struct mc_err *err);

/* mc_rt_stop: SIGTERM, waits up to @timeout_s, then SIGKILL; returns once it exited. */
int mc_rt_stop(const struct mc_rt_ctx *ctx, const char *id, unsigned timeout_s, struct mc_err *err);

/* mc_rt_start: starts an exited (or created) container again, detached, same config. */
int mc_rt_start(const struct mc_rt_ctx *ctx, const char *id, struct mc_err *err);

/* mc_rt_rm: removes a stopped container (state, overlay, cgroup); @force kills first. */
int mc_rt_rm(const struct mc_rt_ctx *ctx, const char *id, bool force, struct mc_err *err);

/* mc_rt_wait: blocks until the container exited; *exit_code as in mc_rt_info. */
int mc_rt_wait(const struct mc_rt_ctx *ctx, const char *id, int *exit_code, struct mc_err *err);

/* mc_rt_inspect: a JSON array with one object (state + OCI config), new string. */
int mc_rt_inspect(const struct mc_rt_ctx *ctx, const char *id, char **json_out, struct mc_err *err);

struct mc_rt_stats {
	uint64_t memory_current, memory_peak, memory_limit; /* limit: 0 = unlimited */
	uint64_t cpu_usage_ns, pids_current, pids_max;	    /* pids_max: 0 = unlimited */
	uint64_t nr_throttled, throttled_ns, oom_kills;
};
int mc_rt_stats(const struct mc_rt_ctx *ctx, const char *id, struct mc_rt_stats *st,
		struct mc_err *err);

/*
 * mc_rt_logs: copies the log of a detached container to @fd; @follow keeps copying
 * until the container exited. Returns 0 or -code.
 */
int mc_rt_logs(const struct mc_rt_ctx *ctx, const char *id, int fd, bool follow,
	       struct mc_err *err);

/* ---- exec ---- */

struct mc_rt_exec_opts {
	char **argv;
	char **env;
	size_t n_env;
	const char *workdir;
	const char *user;
	bool tty, interactive;
};

/*
 * mc_rt_exec: runs a command in a running container: it joins every namespace, the
 * cgroup, and gets the container's capabilities, seccomp filter and no_new_privs.
 * *status is the command's exit status (as mc_rt_run's).
 */
int mc_rt_exec(const struct mc_rt_ctx *ctx, const char *id, const struct mc_rt_exec_opts *opts,
	       int *status, struct mc_err *err);

/* ---- small helpers shared with the CLI ---- */

/* mc_rt_signal_parse: "TERM", "SIGTERM", "15" -> 15; -EINVAL otherwise. */
int mc_rt_signal_parse(const char *s);

#endif
