/* SPDX-License-Identifier: MIT */
/*
 * internal.h: what the cgroup front end (cgroup.c) shares with its backends (v1.c,
 * v2.c), the resource translation (resources.c), the eBPF device filter (bpfdev.c) and
 * the file helpers (util.c). Not a public header: tests reach it with -Icgroup.
 */
#ifndef MC_CGROUP_INTERNAL_H
#define MC_CGROUP_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mc/cgroup.h>
#include <mc/err.h>

/* v1 controllers we know, as bits. A mount may carry several (cpu,cpuacct). */
enum {
	CG_CTL_MEMORY = 1u << 0,
	CG_CTL_CPU = 1u << 1,
	CG_CTL_CPUACCT = 1u << 2,
	CG_CTL_PIDS = 1u << 3,
	CG_CTL_DEVICES = 1u << 4,
	CG_CTL_FREEZER = 1u << 5,
	CG_CTL_CPUSET = 1u << 6,
	CG_CTL_BLKIO = 1u << 7,
	CG_CTL_HUGETLB = 1u << 8,
	CG_CTL_NET_CLS = 1u << 9,
	CG_CTL_NET_PRIO = 1u << 10,
	CG_CTL_PERF_EVENT = 1u << 11,
};
#define CG_V1_MAX_MOUNTS 16

/* cgroup_ctl_from_name: the bit of one controller name, 0 if unknown. */
unsigned cgroup_ctl_from_name(const char *name, size_t len);

/* One v1 hierarchy: its mount point and the controllers mounted there. */
struct cgroup_v1_mount {
	char dir[PATH_MAX];
	unsigned mask;
};

/* The process-wide hierarchy description: detected once or set by mc_cgroup_set_root. */
struct cgroup_root {
	enum mc_cgroup_version version;
	bool fake; /* not a real cgroupfs: create files on write, skip kernel-only steps */
	char v2[PATH_MAX];
	size_t n_v1;
	struct cgroup_v1_mount v1[CG_V1_MAX_MOUNTS];
};

/* One directory of a handle: an absolute path plus, on v1, the controllers it serves. */
struct cgroup_dir {
	char path[PATH_MAX];
	unsigned mask;
	bool removed;
	/* set by create: length of the first directory it made (0: none), so a failed
	 * create can also remove the parents it made */
	size_t first_created;
};

struct cgroup_ops;

struct mc_cgroup {
	const struct cgroup_ops *ops;
	const struct cgroup_root *root;
	char rel[PATH_MAX]; /* "mycontainer/<id>" */
	size_t n_dirs;	    /* v2: 1 */
	struct cgroup_dir dirs[CG_V1_MAX_MOUNTS];
};

/*
 * The backend table. Detection picks one table for the process; the front end does
 * argument checks, the destroy retry loop and error context.
 */
struct cgroup_ops {
	enum mc_cgroup_version version;
	/* fills cg->dirs from cg->rel (no filesystem change) */
	int (*layout)(struct mc_cgroup *cg, struct mc_err *err);
	/* mkdir in every controller, parents too; on failure removes what it made */
	int (*create)(struct mc_cgroup *cg, const struct mc_cgroup_limits *lim, struct mc_err *err);
	int (*apply)(struct mc_cgroup *cg, const struct mc_cgroup_limits *lim, struct mc_err *err);
	int (*attach)(struct mc_cgroup *cg, pid_t pid, struct mc_err *err);
	int (*stats)(struct mc_cgroup *cg, struct mc_cgroup_stats *st, struct mc_err *err);
	int (*oom_kills)(struct mc_cgroup *cg, uint64_t *out);
	int (*oom_watch)(struct mc_cgroup *cg, struct mc_err *err);
	/* freeze (true) / thaw (false); -ENOTSUP when the kernel or tree cannot */
	int (*freeze)(struct mc_cgroup *cg, bool frozen, struct mc_err *err);
	/* SIGKILL everything in one step (v2 cgroup.kill); -ENOTSUP otherwise */
	int (*kill_all)(struct mc_cgroup *cg, struct mc_err *err);
	/* one rmdir pass over the leaf dirs still present; -EBUSY while tasks linger */
	int (*remove)(struct mc_cgroup *cg, struct mc_err *err);
};

extern const struct cgroup_ops cgroup_v1_ops;
extern const struct cgroup_ops cgroup_v2_ops;

/* ---- util.c: files ---- */

/* cgroup_join: "@dir/@file" into @buf (PATH_MAX); -ENAMETOOLONG. */
int cgroup_join(char *buf, const char *dir, const char *file, struct mc_err *err);

/*
 * cgroup_write: writes @val to @dir/@file in one write(2). On a fake root the file is
 * created; on cgroupfs a missing file is -ENOENT (a controller or feature is absent).
 */
int cgroup_write(const struct mc_cgroup *cg, const char *dir, const char *file, const char *val,
		 struct mc_err *err);
int cgroup_writef(const struct mc_cgroup *cg, const char *dir, const char *file, struct mc_err *err,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* cgroup_read: @dir/@file into a new NUL-terminated buffer (free()), at most 1 MiB. */
int cgroup_read(const char *dir, const char *file, char **out, struct mc_err *err);

/* cgroup_read_u64: a one-number file; "max" reads as UINT64_MAX. */
int cgroup_read_u64(const char *dir, const char *file, uint64_t *out, struct mc_err *err);

/* cgroup_exists: @dir/@file exists. */
bool cgroup_exists(const char *dir, const char *file);

/*
 * cgroup_rmdir_created: rolls back a create's mkdirs, from @deep up to and including the
 * directory whose path is @first bytes long (0: nothing was made). Best-effort.
 */
void cgroup_rmdir_created(struct mc_cgroup *cg, const char *deep, size_t first);

/* ---- util.c: parsers (fuzzed by fuzz/cgroup_parse.c) ---- */

/*
 * cgroup_parse_keyed: finds @key in a "key value\n" file body (cpu.stat, memory.events,
 * memory.oom_control, memory.stat) and parses its value as an unsigned decimal.
 * 0, -ENOENT when absent, -EINVAL when the value is not a number.
 */
int cgroup_parse_keyed(const char *body, const char *key, uint64_t *out);

/*
 * cgroup_parse_pids: appends the decimal pids of a cgroup.procs body (one per line) to
 * *pids (realloc'd, *n entries), skipping ones already present. -EINVAL on a bad line.
 */
int cgroup_parse_pids(const char *body, pid_t **pids, size_t *n);

/* cgroup_path_valid: a relative path of plain components (no "", ".", "..", leading /). */
bool cgroup_path_valid(const char *rel);

/* cgroup_is_cgroupfs: statfs magic is cgroup v1 or v2. */
bool cgroup_is_cgroupfs(const char *dir, bool *v2);

/* ---- resources.c ---- */

/* cgroup_swap_total: memory+swap bytes to write for @lim (v1 memsw): 0 = leave, -1 = unlimited. */
int64_t cgroup_swap_total(const struct mc_cgroup_limits *lim);

/* cgroup_check_limits: rejects inconsistent limits with a clear message (-EINVAL). */
int cgroup_check_limits(const struct mc_cgroup_limits *lim, struct mc_err *err);

/* cgroup_device_v1_line: "c 1:3 rwm" for devices.allow/deny into @buf (>= 64). */
int cgroup_device_v1_line(const struct mc_cgroup_device_rule *r, char *buf, size_t size,
			  struct mc_err *err);

/* ---- bpfdev.c ---- */

#define CG_BPFDEV_MAX_RULES 256

/*
 * cgroup_bpfdev_build: translates rules into a BPF_PROG_TYPE_CGROUP_DEVICE program.
 * @insns (struct bpf_insn[]) must hold cgroup_bpfdev_max_insns(n) entries; returns the
 * number of instructions or -EINVAL for a malformed rule.
 */
size_t cgroup_bpfdev_max_insns(size_t n_rules);
int cgroup_bpfdev_build(const struct mc_cgroup_device_rule *rules, size_t n, void *insns,
			struct mc_err *err);

/* cgroup_bpfdev_load: builds and loads the program; returns its fd (caller closes). */
int cgroup_bpfdev_load(const struct mc_cgroup_device_rule *rules, size_t n, struct mc_err *err);

/* cgroup_bpfdev_attach: loads and attaches the filter to the v2 directory @dir,
 * replacing the one attached before. */
int cgroup_bpfdev_attach(const char *dir, const struct mc_cgroup_device_rule *rules, size_t n,
			 struct mc_err *err);

#endif
