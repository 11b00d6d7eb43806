/* SPDX-License-Identifier: MIT */
/*
 * cgroup.h: control groups for containers behind one interface. The hierarchy kind
 * (cgroup v1 controllers, hybrid, or pure v2) is detected once per process; a v1
 * and a v2 backend translate the same limits into their own files. See docs/cgroup.md.
 *
 * Threading: detection and mc_cgroup_set_root() touch process-wide state and are not
 * thread-safe against each other; a handle may be used by one thread at a time.
 */
#ifndef MC_CGROUP_H
#define MC_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mc/err.h>

struct mc_cgroup; /* opaque handle */

enum mc_cgroup_version {
	MC_CGROUP_V1 = 1,
	MC_CGROUP_V2 = 2,
};

/*
 * One OCI-style device rule (config.json linux.resources.devices[]). Rules are applied
 * in order and the last match wins, as in the OCI spec; what no rule matches is denied
 * (the list starts from "deny all" whenever n_devices > 0).
 */
struct mc_cgroup_device_rule {
	bool allow;
	char type;	/* 'a' (all), 'c' (char) or 'b' (block) */
	int64_t major;	/* -1 = any */
	int64_t minor;	/* -1 = any */
	char access[4]; /* subset of "rwm", NUL-terminated; "" means "rwm" */
};

/*
 * Limits. A zeroed struct means "touch nothing": every field's 0 is "unset", and a
 * fresh cgroup is unlimited anyway.
 */
struct mc_cgroup_limits {
	int64_t memory_max; /* bytes; 0 = unset, -1 = unlimited */
	/*
	 * memory + swap total, as docker's --memory-swap: 0 = unset (2x memory_max when
	 * memory_max > 0, like docker), -1 = unlimited swap, else bytes >= memory_max.
	 * v1: memory.memsw.limit_in_bytes (when the kernel has swap accounting);
	 * v2: memory.swap.max = total - memory_max.
	 */
	int64_t memory_swap_max;
	uint64_t cpu_quota_us;	/* 0 = unlimited; --cpus 0.5 -> 50000 with period 100000 */
	uint64_t cpu_period_us; /* 0 = default (100000) */
	uint64_t cpu_weight;	/* v2 cpu.weight 1..10000, 0 = unset; v1: converted to cpu.shares */
	int64_t pids_max;	/* 0 = unset, -1 = unlimited */
	const struct mc_cgroup_device_rule *devices; /* NULL/0 = leave devices alone */
	size_t n_devices;
};

struct mc_cgroup_stats {
	uint64_t memory_current; /* bytes in use now (v1 usage_in_bytes) */
	uint64_t memory_peak;	 /* high-water mark (v2 memory.peak, 0 on kernels < 5.19) */
	uint64_t memory_limit;	 /* UINT64_MAX when unlimited */
	uint64_t cpu_usage_ns;
	uint64_t cpu_user_ns;
	uint64_t cpu_system_ns;
	uint64_t nr_periods;   /* CFS enforcement periods elapsed */
	uint64_t nr_throttled; /* periods in which the group was throttled */
	uint64_t throttled_ns;
	uint64_t pids_current;
	uint64_t pids_max; /* UINT64_MAX when unlimited */
	uint64_t oom_kills;
};

/*
 * mc_cgroup_detect: which backend this machine uses. Pure v2 -> V2; hybrid (v1
 * controllers plus a cgroup2 mount at .../unified) -> V1 unless the v2 mount holds the
 * memory, cpu and pids controllers; legacy v1 -> V1. The result is cached for the
 * process (or is what mc_cgroup_set_root() fixed). Returns 0, or -ENOENT/-ENOTSUP with
 * @err set when no usable hierarchy is mounted.
 */
int mc_cgroup_detect(enum mc_cgroup_version *out, struct mc_err *err);

/*
 * mc_cgroup_set_root: overrides detection, for tests and unusual mounts. V2: @root is a
 * cgroup2 mount point (or a directory laid out like one). V1: @root is the directory
 * holding one directory per controller (<root>/memory, <root>/pids, ...). When @root is
 * not a real cgroup filesystem the backends create the files they write (a fake tree
 * for tests) and skip what only the kernel can do (attaching eBPF programs, waiting for
 * tasks to die). @root NULL restores auto-detection. Returns 0 or -errno.
 */
int mc_cgroup_set_root(enum mc_cgroup_version v, const char *root, struct mc_err *err);

/*
 * mc_cgroup_create: creates @path ("mycontainer/<id>", relative to the hierarchy roots;
 * no "..", no leading "/") in every controller it needs, parents included, and applies
 * @lim (may be NULL). The leaf must not exist yet (-EEXIST). On failure everything it
 * created is removed again. On success *out is a new handle owned by the caller
 * (mc_cgroup_destroy or mc_cgroup_free). Blocking (filesystem writes).
 */
int mc_cgroup_create(const char *path, const struct mc_cgroup_limits *lim, struct mc_cgroup **out,
		     struct mc_err *err);

/* mc_cgroup_open: a handle to an existing cgroup (for exec, stats, kill, rm from another
 * CLI process). -ENOENT when it does not exist. */
int mc_cgroup_open(const char *path, struct mc_cgroup **out, struct mc_err *err);

/* mc_cgroup_update: applies @lim to an existing cgroup (same rules as create). */
int mc_cgroup_update(struct mc_cgroup *cg, const struct mc_cgroup_limits *lim, struct mc_err *err);

/* mc_cgroup_attach: moves process @pid (all its threads) into the cgroup, in every
 * controller. 0 or -errno. */
int mc_cgroup_attach(struct mc_cgroup *cg, pid_t pid, struct mc_err *err);

/* mc_cgroup_stats: fills *st; counters a controller does not provide stay 0. */
int mc_cgroup_stats(struct mc_cgroup *cg, struct mc_cgroup_stats *st, struct mc_err *err);

/*
 * mc_cgroup_oom_killed: number of OOM kills in the cgroup so far (v2 memory.events
 * oom_kill, v1 memory.oom_control oom_kill; memory.failcnt is not a kill count).
 * > 0 if a kill happened, 0 if none, -errno if it cannot be read.
 */
int mc_cgroup_oom_killed(struct mc_cgroup *cg);

/*
 * mc_cgroup_oom_watch: a new fd (O_CLOEXEC, caller closes) that becomes readable when
 * the cgroup hits an OOM event: v1 an eventfd registered on memory.oom_control through
 * cgroup.event_control (read 8 bytes to re-arm), v2 an inotify watch on memory.events
 * (read the inotify events to re-arm). Confirm with mc_cgroup_oom_killed().
 */
int mc_cgroup_oom_watch(struct mc_cgroup *cg, struct mc_err *err);

/*
 * mc_cgroup_pids: the processes in the cgroup (cgroup.procs), in a new array (*out,
 * free()) of *n entries. 0 or -errno.
 */
int mc_cgroup_pids(struct mc_cgroup *cg, pid_t **out, size_t *n, struct mc_err *err);

/*
 * mc_cgroup_kill: sends @sig to every process in the cgroup. SIGKILL on v2 >= 5.14 is
 * one write to cgroup.kill, else passes over cgroup.procs until one finds no pid it has
 * not signalled (a task with SIGKILL pending cannot fork). Other signals: the group is
 * frozen (v1 freezer / v2 cgroup.freeze, when available) so nothing forks while
 * cgroup.procs is walked, then thawed. Returns the number of processes signalled
 * (cgroup.kill: 0) or -errno.
 */
int mc_cgroup_kill(struct mc_cgroup *cg, int sig, struct mc_err *err);

/*
 * mc_cgroup_destroy: kills what is still inside, removes the leaf directory in every
 * controller (retrying for a bounded time while the kernel still lists dying tasks),
 * and frees @cg, even on failure. Parents ("mycontainer/") are left in place.
 */
int mc_cgroup_destroy(struct mc_cgroup *cg, struct mc_err *err);

/*
 * mc_cgroup_prime_path: the cgroup.procs file of the caller's own cgroup in one
 * hierarchy, into @buf. Writing the caller's pid there is a migration to where it
 * already is: it changes nothing, but it takes the kernel's cgroup migration lock
 * (cgroup_threadgroup_rwsem), whose writer waits for an RCU grace period (~10-30 ms)
 * unless another writer did within the last grace period. A runtime that has a
 * helper process write the helper's own pid there while it prepares a container
 * finds the lock warm when it attaches the container.
 * -ENOTSUP on a fake root, when CLONE_INTO_CGROUP makes attaching unnecessary (v2)
 * or when /proc/self/cgroup has no usable line.
 */
int mc_cgroup_prime_path(char *buf, size_t size, struct mc_err *err);

/*
 * mc_cgroup_join_open: for a process that will move itself into @cg (v1 only): opens
 * the `tasks` file of @cg in every hierarchy it uses, O_WRONLY | O_CLOEXEC, into
 * @fds (at most @max). Returns how many, or -errno: -ENOTSUP on v2 (use
 * CLONE_INTO_CGROUP or mc_cgroup_attach there) and on a fake root.
 *
 * Why: a v1 attach by pid (cgroup.procs, or `tasks` with a pid) takes the kernel's
 * global cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period
 * (8-16 ms here, 2-4 ticks at HZ=250) unless another writer came within the last
 * one. A thread that writes "0" (itself) to `tasks` skips that lock: it cannot exit
 * or exec under the kernel's hands, and cgroup_mutex orders it against every other
 * migration (kernel/cgroup/cgroup.c, cgroup_procs_write_start). For a
 * single-threaded process, moving its only thread moves the process.
 */
int mc_cgroup_join_open(struct mc_cgroup *cg, int *fds, size_t max, struct mc_err *err);

/*
 * mc_cgroup_join_self: writes "0" to one fd from mc_cgroup_join_open: moves the
 * calling thread into that hierarchy's cgroup. 0 or -errno; async-signal-safe (a
 * freshly cloned child may call it). The caller must be single-threaded for the
 * whole process to move.
 */
int mc_cgroup_join_self(int fd);

/* mc_cgroup_free: frees the handle only; the kernel object stays. NULL is a no-op. */
void mc_cgroup_free(struct mc_cgroup *cg);

/* mc_cgroup_path: the relative path given at create/open; valid while @cg lives. */
const char *mc_cgroup_path(const struct mc_cgroup *cg);

enum mc_cgroup_version mc_cgroup_version(const struct mc_cgroup *cg);

/*
 * mc_cgroup_dirfd: an O_DIRECTORY|O_CLOEXEC fd of the v2 cgroup directory (for clone3's
 * CLONE_INTO_CGROUP), caller closes. -ENOTSUP on v1.
 */
int mc_cgroup_dirfd(const struct mc_cgroup *cg, struct mc_err *err);

/*
 * mc_cgroup_default_devices: docker's default device allow-list (deny all, then
 * null, zero, full, random, urandom, tty, console, ptmx, every pts, mknod of any c/b),
 * a static array of *n rules.
 */
const struct mc_cgroup_device_rule *mc_cgroup_default_devices(size_t *n);

/*
 * mc_cgroup_cpu_weight_to_shares / _shares_to_weight: the v1 <-> v2 CPU share mapping
 * used by the backends (formula in resources.c and docs/cgroup.md).
 */
uint64_t mc_cgroup_cpu_weight_to_shares(uint64_t weight);
uint64_t mc_cgroup_cpu_shares_to_weight(uint64_t shares);

#endif
