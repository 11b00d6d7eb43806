/* SPDX-License-Identifier: MIT */
/*
 * workload.h: child processes the real-cgroup tests put into a cgroup (a waiter, a
 * memory hog, a bounded fork bomb, a CPU spinner) and a library-independent cleanup
 * of test cgroups, so a failing test still leaves nothing behind.
 */
#ifndef MC_TEST_CGROUP_WORKLOAD_H
#define MC_TEST_CGROUP_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum wl_kind {
	WL_WAIT,     /* pause() until killed (at most 60 s) */
	WL_ALLOC,    /* touch ARG MiB of memory, exit 0 if it survived */
	WL_FORKBOMB, /* fork up to 200 sleepers; exit code = forks that succeeded */
	WL_SPIN,     /* burn CPU for ARG ms of wall time */
	WL_FORKWAIT, /* fork ARG sleepers, then pause() */
};

/*
 * wl_spawn: forks a child that waits until wl_release() before running @kind, so
 * the parent can attach it to a cgroup first. *gate is the write end to release it.
 */
pid_t wl_spawn(enum wl_kind kind, long arg, int *gate);
/* wl_release: lets the child run (closes the gate). */
void wl_release(int *gate);
/* wl_wait: waitpid with a timeout in ms; returns the status or -1 on timeout (child is
 * killed then). */
int wl_wait(pid_t pid, int timeout_ms);

/* wl_proc_in_cgroup: /proc/PID/cgroup has a line ending in ":/<rel>" for @ctl ("" on v2,
 * else a controller name in the line's list). */
bool wl_proc_in_cgroup(pid_t pid, const char *ctl, const char *rel);

/*
 * wl_cleanup_cgroup: removes @rel (and anything below it) from @mount (one hierarchy's
 * mount point): SIGKILLs its processes and rmdirs bottom-up, retrying for up to 5 s.
 * Does not use libmccgroup. Returns 0 if it is gone.
 */
int wl_cleanup_cgroup(const char *mount, const char *rel);

/* wl_v1_mounts: the v1 controller mount points under /sys/fs/cgroup (real dirs, no
 * symlinks, cgroupfs only), into @out (n at most @max). Returns the count. */
size_t wl_v1_mounts(char out[][256], size_t max);

/* wl_read: a small file's first line into @buf (trailing newline cut); -errno. */
int wl_read(const char *dir, const char *file, char *buf, size_t size);

#endif
