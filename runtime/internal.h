/* SPDX-License-Identifier: MIT */
/*
 * internal.h: libmcrt's cross-file declarations. The container model is the OCI
 * config; config.c turns its JSON into struct rt_config, which is all the cloned
 * child reads (no JSON after clone).
 */
#ifndef MC_RT_INTERNAL_H
#define MC_RT_INTERNAL_H

#include <jansson.h>
#include <seccomp.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <mc/cgroup.h>
#include <mc/common.h>
#include <mc/rootfs.h>
#include <mc/runtime.h>

/* Annotations carrying what OCI has no field for. */
#define RT_ANN_IMAGE "org.mycontainer.image"
#define RT_ANN_LOWER "org.mycontainer.overlay.lower"
#define RT_ANN_INIT "org.mycontainer.init"
#define RT_ANN_NETWORK "org.mycontainer.network"
#define RT_ANN_MALLOC "org.mycontainer.preload-malloc"

#define RT_MALLOC_CTR_PATH "/usr/lib/mycontainer/libmcmalloc.so"

enum rt_ns {
	RT_NS_PID,
	RT_NS_NET,
	RT_NS_IPC,
	RT_NS_UTS,
	RT_NS_MNT,
	RT_NS_CGROUP,
	RT_NS_USER,
	RT_NS_COUNT,
};

struct rt_mount {
	char *destination, *type, *source;
	unsigned long flags;	   /* MS_* for the mount itself */
	unsigned long propagation; /* MS_PRIVATE/MS_SLAVE/... (| MS_REC), 0 = none */
	char *data;		   /* options mount(2) passes on (mode=, size=, ...) */
	bool bind;
};

struct rt_idmap {
	uint32_t container_id, host_id, size;
};

struct rt_rlimit {
	int resource;
	uint64_t soft, hard;
};

struct rt_seccomp_arg {
	unsigned index;
	uint64_t value, value_two;
	int op; /* enum scmp_compare */
};

struct rt_seccomp_rule {
	char **names;
	size_t n_names;
	uint32_t action; /* SCMP_ACT_* */
	struct rt_seccomp_arg args[6];
	size_t n_args;
};

struct rt_seccomp {
	uint32_t default_action;
	struct rt_seccomp_rule *rules;
	size_t n_rules;
};

struct rt_config {
	json_t *json; /* the parsed document (owned) */
	/* process */
	char **args, **env;
	size_t n_args, n_env;
	char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t n_groups;
	bool terminal, no_new_privs;
	uint64_t caps[5]; /* bounding, effective, inheritable, permitted, ambient */
	struct rt_rlimit *rlimits;
	size_t n_rlimits;
	/* root */
	char *root_path; /* absolute */
	bool root_readonly;
	char *hostname;
	struct rt_mount *mounts;
	size_t n_mounts;
	/* linux */
	bool ns[RT_NS_COUNT];
	char *ns_path[RT_NS_COUNT]; /* join this one instead of creating it */
	struct rt_idmap *uid_maps, *gid_maps;
	size_t n_uid_maps, n_gid_maps;
	char **masked, **readonly;
	size_t n_masked, n_readonly;
	struct rt_seccomp *seccomp; /* NULL: none */
	struct mc_cgroup_limits limits;
	struct mc_cgroup_device_rule *devices;
	char *cgroups_path;
	/* annotations */
	char *image, *lower, *network;
	bool init, preload_malloc;
};

enum {
	RT_CAP_BOUNDING,
	RT_CAP_EFFECTIVE,
	RT_CAP_INHERITABLE,
	RT_CAP_PERMITTED,
	RT_CAP_AMBIENT
};

/* config.c */
int rt_config_parse(const char *text, size_t len, const char *bundle_dir, struct rt_config *c,
		    struct mc_err *err);
/* rt_config_parse_json: the same from a document; @root's reference passes to @c. */
int rt_config_parse_json(json_t *root, const char *bundle_dir, struct rt_config *c,
			 struct mc_err *err);
int rt_config_load(const char *path, const char *bundle_dir, struct rt_config *c,
		   struct mc_err *err);
void rt_config_release(struct rt_config *c);
int rt_mount_options(json_t *opts, struct rt_mount *m, struct mc_err *err);
int rt_seccomp_parse(json_t *obj, struct rt_seccomp **out, struct mc_err *err);
void rt_seccomp_free(struct rt_seccomp *s);
int rt_cap_from_name(const char *name);
const char *rt_cap_name(int cap);

/* spec.c */
json_t *rt_spec_default(void);
json_t *rt_seccomp_default_json(void);
uint64_t rt_caps_default(void);
int rt_parse_idmap(const char *s, struct rt_idmap *m, struct mc_err *err);
int rt_spec_from_opts(const struct mc_rt_ctx *ctx, const struct mc_rt_run_opts *o, const char *id,
		      const char *state_dir, json_t **out, struct mc_err *err);

/* security.c */
/* rt_caps_bound before rt_user_apply (needs root's CAP_SETPCAP), rt_caps_apply after. */
int rt_caps_bound(const struct rt_config *c, struct mc_err *err);
int rt_caps_apply(const struct rt_config *c, struct mc_err *err);
/* rt_seccomp_build: the libseccomp filter of @s (*out: seccomp_release it). */
int rt_seccomp_build(const struct rt_seccomp *s, scmp_filter_ctx *out, struct mc_err *err);
int rt_seccomp_apply(const struct rt_seccomp *s, struct mc_err *err);

/* passwd.c: -u USER[:GROUP] against the container's own passwd and group files. */
struct rt_ident {
	uint32_t id, gid; /* gid: passwd entries only */
	char name[256];	  /* empty if too long */
};
#define RT_USER_GROUPS_MAX 64
struct rt_user {
	uint32_t uid, gid;
	uint32_t groups[RT_USER_GROUPS_MAX]; /* supplementary: memberships in group */
	size_t n_groups;
};
/* rt_idfile_find: the passwd (@passwd) or group entry named @name, or (NULL) with @id. */
int rt_idfile_find(const char *text, size_t len, bool passwd, const char *name, uint32_t id,
		   struct rt_ident *out);
/* rt_group_members: the gids of the groups listing @user as a member (at most @max). */
size_t rt_group_members(const char *text, size_t len, const char *user, uint32_t *out, size_t max);
/* rt_user_resolve: "USER[:GROUP]" (names or ids) against the texts (NULL: no file). */
int rt_user_resolve(const char *spec, const char *passwd, size_t plen, const char *group,
		    size_t glen, struct rt_user *out, struct mc_err *err);
/* rt_root_file_read: @rel resolved inside @rootfd, a regular file <= 1 MiB. -errno. */
int rt_root_file_read(int rootfd, const char *rel, char **out, size_t *len);
/* rt_user_resolve_in_root: rt_user_resolve with @rootfd's etc/passwd and etc/group. */
int rt_user_resolve_in_root(int rootfd, const char *spec, struct rt_user *out, struct mc_err *err);

/* seccomp_cache.c: a profile's compiled BPF program, cached in DATA_ROOT/seccomp. */
struct rt_bpf {
	struct sock_filter *insns; /* NULL: no filter */
	size_t n;
};
/*
 * rt_seccomp_prepare: the program of @s from the cache (verified: exact key, length,
 * checksum), else compiled with libseccomp and stored. @s NULL: an empty program.
 * @data_root NULL: compile without the cache.
 */
int rt_seccomp_prepare(const char *data_root, const struct rt_seccomp *s, struct rt_bpf *out,
		       struct mc_err *err);
/* rt_bpf_load: installs @p with seccomp(2) (no_new_privs or CAP_SYS_ADMIN needed). */
int rt_bpf_load(const struct rt_bpf *p, struct mc_err *err);
void rt_bpf_release(struct rt_bpf *p);
int rt_user_apply(const struct rt_config *c, struct mc_err *err);
int rt_rlimits_apply(const struct rt_config *c, struct mc_err *err);
int rt_seccomp_load_file(const char *path, json_t **out, struct mc_err *err);

/* mounts.c: everything the child does to its filesystem view. */
/* @sync: where the pty master goes when c->terminal; *console_out gets the slave. */
int rt_rootfs_setup(const struct rt_config *c, const struct mc_rootfs_overlay *ov, int sync,
		    int *console_out, struct mc_err *err);

/* sync.c: the parent/child socket. */
enum rt_sync_type {
	RT_SYNC_GO = 1, /* parent -> child: set yourself up */
	RT_SYNC_ERR,	/* child -> parent: one error line, then exit */
	RT_SYNC_PTY,	/* child -> parent: the pty master (SCM_RIGHTS) */
	RT_SYNC_JOINED, /* parent -> child: in the cgroup and on the network; go on to exec */
	RT_SYNC_CGROUP, /* parent -> child: a v1 `tasks` file (SCM_RIGHTS) to write "0" to */
};
struct rt_sync_msg {
	int type;
	int code;   /* errno or MC_E* */
	int status; /* 125/126/127 for errors */
	char msg[MC_ERR_MSG_MAX];
};
int rt_sync_send(int sock, const struct rt_sync_msg *m, int fd);
/* Returns 1 with a message (and *fd when one came), 0 at EOF, -errno. */
int rt_sync_recv(int sock, struct rt_sync_msg *m, int *fd);
void rt_sync_fail(int sock, int status, const struct mc_err *err) __attribute__((noreturn));
/*
 * rt_sync_recv_joining: the child's receive: writes "0" to every cgroup `tasks` file
 * that comes (RT_SYNC_CGROUP, see rt_join_cgroup) and returns 1 with the first other
 * message, 0 at EOF or a socket error (the parent is gone), -errno with @err when a
 * join failed (the caller must fail: never run outside the cgroup).
 */
int rt_sync_recv_joining(int sock, struct rt_sync_msg *m, struct mc_err *err);
/*
 * rt_join_cgroup (run.c): puts the child @pid, which reads @sock with
 * rt_sync_recv_joining, into @cg. Returns 0, -EPIPE when the child is gone (its
 * error is in the socket), or -errno with @err set.
 */
int rt_join_cgroup(struct mc_cgroup *cg, pid_t pid, int sock, struct mc_err *err);

/* process.c: the child side up to exec, and --init. */
struct rt_child_args {
	const struct rt_config *c;
	const struct mc_rootfs_overlay *ov; /* NULL: root_path as is */
	int sync;
	int log_fd;	   /* detached: stdout/stderr go here; -1 = inherit */
	int null_fd;	   /* detached: stdin */
	sigset_t sigmask;  /* the mask to restore (the parent blocks what it forwards) */
	struct rt_bpf bpf; /* the compiled seccomp filter (n == 0: none) */
};
void rt_child_main(struct rt_child_args *a) __attribute__((noreturn));
/* rt_exec_command: environ + execvp + error mapping; returns only on failure. */
int rt_exec_command(const struct rt_config *c, char **args, char **env, struct mc_err *err);
int rt_pty_open_send(int sync, int *slave, struct mc_err *err);
void rt_init_loop(pid_t child) __attribute__((noreturn));

/* state.c */
struct rt_state {
	char id[MC_RT_ID_LEN + 1];
	char name[MC_RT_NAME_MAX];
	char image[256];
	char command[256];
	char bundle[PATH_MAX];
	char status[16]; /* created | running | exited */
	pid_t pid, monitor_pid;
	uint64_t pid_start, monitor_start; /* /proc/PID/stat starttime, against pid reuse */
	uint64_t created_ns, started_ns, finished_ns;
	int exit_code;
	bool oom_killed, auto_rm, detached;
};
int rt_state_dir(const struct mc_rt_ctx *ctx, const char *id, char *out, size_t size);
int rt_state_read(const struct mc_rt_ctx *ctx, const char *id, struct rt_state *st,
		  struct mc_err *err);
/* rt_write_volatile: temp + rename, no fsync (state under /run). */
int rt_write_volatile(const char *path, const char *data, size_t len, mode_t mode,
		      struct mc_err *err);
int rt_state_write(const struct mc_rt_ctx *ctx, const struct rt_state *st, struct mc_err *err);
json_t *rt_state_json(const struct rt_state *st);
/* rt_lock: flock on the state root (@id NULL) or one container; returns the fd. */
int rt_lock(const struct mc_rt_ctx *ctx, const char *id, struct mc_err *err);
void rt_unlock(int fd);
uint64_t rt_proc_starttime(pid_t pid);
bool rt_proc_alive(pid_t pid, uint64_t start);
/* rt_state_effective: status after checking the processes are still there. */
enum mc_rt_status rt_state_effective(const struct rt_state *st);
void rt_new_id(char id[MC_RT_ID_LEN + 1]);
void rt_cgroup_path(const char *id, char *out, size_t size);
bool rt_name_owner(const struct mc_rt_ctx *ctx, const char *name, char id[MC_RT_ID_LEN + 1]);

/* run.c */
/* rt_phase: with MC_RT_TRACE set, prints the ms since the first call and @what. */
void rt_phase(const char *what);
struct rt_launch {
	const struct mc_rt_ctx *ctx;
	struct rt_config *c;
	struct rt_state st;
	char state_dir[PATH_MAX];
	bool foreground_tty;
	bool interactive;
	/* foreground run: report the exit status first, clean up in a child after */
	bool defer_cleanup;
	/* the container's mount namespace, held until release_rest (-1: none) */
	int mntns_fd;
	/* detached with a terminal: its initial size (0: leave the default) */
	unsigned short tty_rows, tty_cols;
};
/* rt_launch_monitor: cgroup, clone, sync, wait; run (fg), the monitor and start.
 * On failure *status is 125, 126 or 127 and everything made is removed. */
int rt_launch_monitor(struct rt_launch *l, int report_fd, int *status, bool *oom,
		      struct mc_err *err);
/*
 * rt_foreground: waits for @pid, proxying the pty @master (closed here; -1: none)
 * and forwarding the signals of rt_fwd_sigset, which the caller has blocked.
 */
int rt_foreground(pid_t pid, int master, bool interactive, const sigset_t *fwd, int *wstatus);
void rt_fwd_sigset(sigset_t *set);
int rt_remove_all(const struct mc_rt_ctx *ctx, const char *id, struct mc_err *err);
/*
 * rt_wait_removal: waits (at most @timeout_ms) while someone (the background cleaner
 * of an exited container) holds its lock, without creating the lock file; true when
 * the state directory is gone.
 */
bool rt_wait_removal(const struct mc_rt_ctx *ctx, const char *id, int timeout_ms);
/* On failure *status is 125, 126 or 127. */
int rt_start_detached(const struct mc_rt_ctx *ctx, struct rt_launch *l, int *status,
		      struct mc_err *err);

#endif
