/* SPDX-License-Identifier: MIT */
/*
 * exec.c: `exec` runs a command in a running container. The CLI process joins the
 * container's PID namespace (which applies to its children), forks, puts the child
 * in the container's cgroup, and the child joins every other namespace (user first,
 * mount last), then takes the container's user, capabilities, no_new_privs and
 * seccomp filter before exec. Errors come back over a sync socket like run's.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct {
	enum rt_ns ns;
	const char *file;
	int type;
} ns_order[] = {
	/* user first: it grants the capabilities the other setns calls need. */
	{ RT_NS_USER, "user", CLONE_NEWUSER },	     { RT_NS_IPC, "ipc", CLONE_NEWIPC },
	{ RT_NS_UTS, "uts", CLONE_NEWUTS },	     { RT_NS_NET, "net", CLONE_NEWNET },
	{ RT_NS_CGROUP, "cgroup", CLONE_NEWCGROUP }, { RT_NS_MNT, "mnt", CLONE_NEWNS },
};

/* exec_env: the container's env with the -e overrides; a new vector. */
static char **exec_env(const struct rt_config *c, const struct mc_rt_exec_opts *o)
{
	size_t n = c->n_env + o->n_env, k = 0;
	char **env = calloc(n + 1, sizeof(*env));

	if (!env)
		return NULL;
	for (size_t i = 0; i < c->n_env; i++)
		env[k++] = c->env[i];
	for (size_t i = 0; i < o->n_env; i++) {
		const char *e = o->env[i], *eq = strchr(e, '=');
		size_t klen = eq ? (size_t)(eq - e) : 0;

		if (!eq || klen == 0)
			continue;
		for (size_t j = 0; j < k; j++) {
			if (!strncmp(env[j], e, klen) && env[j][klen] == '=') {
				env[j] = env[--k];
				break;
			}
		}
		env[k++] = o->env[i];
	}
	env[k] = NULL;
	return env;
}

static void exec_child(const struct rt_config *c, const struct mc_rt_exec_opts *o, int sync,
		       const int *nsfd, char **env, const sigset_t *mask)
{
	struct mc_err err = { 0 };
	struct rt_sync_msg m;
	struct rt_config cc = *c;
	int r;

	sigprocmask(SIG_SETMASK, mask, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* The container's cgroup first (v1: we move ourselves in, see rt_join_cgroup). */
	r = rt_sync_recv_joining(sync, &m, &err);
	if (r < 0)
		rt_sync_fail(sync, MC_RT_EXIT_RUNTIME, &err);
	if (r == 0 || m.type != RT_SYNC_GO)
		_exit(MC_RT_EXIT_RUNTIME);
	for (size_t i = 0; i < MC_ARRAY_SIZE(ns_order); i++) {
		if (nsfd[i] >= 0 && setns(nsfd[i], ns_order[i].type) < 0) {
			mc_err_set(&err, errno, "join the %s namespace", ns_order[i].file);
			rt_sync_fail(sync, MC_RT_EXIT_RUNTIME, &err);
		}
	}
	if (c->ns[RT_NS_USER] && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
		mc_err_set(&err, errno, "become root in the user namespace");
		rt_sync_fail(sync, MC_RT_EXIT_RUNTIME, &err);
	}
	/* Our own session: see rt_child_main (kill(0) must not reach the host). */
	setsid();
	if (o->tty) {
		struct rt_sync_msg pm = { .type = RT_SYNC_PTY };
		int unlock = 0, master, slave;

		master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0 ||
		    (slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY)) < 0) {
			mc_err_set(&err, errno, "open a pty in the container");
			rt_sync_fail(sync, MC_RT_EXIT_RUNTIME, &err);
		}
		if (rt_sync_send(sync, &pm, master) < 0 || ioctl(slave, TIOCSCTTY, 0) < 0 ||
		    dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0) {
			mc_err_set(&err, errno, "set up the terminal");
			rt_sync_fail(sync, MC_RT_EXIT_RUNTIME, &err);
		}
		close(master);
		if (slave > 2)
			close(slave);
	}
	if (chdir(o->workdir ? o->workdir : c->cwd) < 0) {
		mc_err_set(&err, errno, "chdir to `%s`", o->workdir ? o->workdir : c->cwd);
		rt_sync_fail(sync, MC_RT_EXIT_CANNOT_EXEC, &err);
	}
	if (rt_rlimits_apply(c, &err) < 0)
		rt_sync_fail(sync, MC_RT_EXIT_RUNTIME, &err);
	if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		mc_err_set(&err, errno, "set no_new_privs");
		rt_sync_fail(sync, MC_RT_EXIT_RUNTIME, &err);
	}
	if (rt_caps_bound(c, &err) < 0 || rt_user_apply(&cc, &err) < 0 ||
	    rt_caps_apply(c, &err) < 0 || rt_seccomp_apply(c->seccomp, &err) < 0) {
		mc_err_wrap(&err, "security");
		rt_sync_fail(sync, MC_RT_EXIT_RUNTIME, &err);
	}
	r = rt_exec_command(c, o->argv, env, &err);
	rt_sync_fail(sync, r, &err);
}

/*
 * exec_user: -u USER[:GROUP] of `exec`, names from the running container's own
 * passwd and group files (its root as its PID 1 sees it, upper layer included),
 * resolved inside that root.
 */
static int exec_user(struct rt_config *c, pid_t pid, const char *user, struct mc_err *err)
{
	char root[64];
	struct rt_user u;
	gid_t *groups = NULL;
	int rootfd, r;

	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return mc_err_set(err, errno, "open `%s`", root);
	r = rt_user_resolve_in_root(rootfd, user, &u, err);
	close(rootfd);
	if (r < 0)
		return r;
	if (u.n_groups) {
		groups = calloc(u.n_groups, sizeof(*groups));
		if (!groups)
			return mc_err_set(err, ENOMEM, "groups");
		for (size_t i = 0; i < u.n_groups; i++)
			groups[i] = (gid_t)u.groups[i];
	}
	c->uid = (uid_t)u.uid;
	c->gid = (gid_t)u.gid;
	free(c->groups);
	c->groups = groups;
	c->n_groups = u.n_groups;
	if (c->uid != 0)
		c->caps[RT_CAP_EFFECTIVE] = c->caps[RT_CAP_PERMITTED] = 0;
	return 0;
}

int mc_rt_exec(const struct mc_rt_ctx *ctx, const char *id, const struct mc_rt_exec_opts *o,
	       int *status, struct mc_err *err)
{
	struct rt_state st;
	struct rt_config c;
	char path[PATH_MAX];
	int nsfd[MC_ARRAY_SIZE(ns_order)];
	int sv[2] = { -1, -1 }, r = 0, wstatus = 0, master = -1, self_pidns = -1, pidns = -1;
	struct mc_cgroup *cg = NULL;
	struct rt_sync_msg msg;
	sigset_t fwd, old;
	char **env = NULL;
	pid_t pid = -1;

	*status = MC_RT_EXIT_RUNTIME;
	for (size_t i = 0; i < MC_ARRAY_SIZE(nsfd); i++)
		nsfd[i] = -1;
	if (!o->argv || !o->argv[0])
		return mc_err_setx(err, EINVAL, "exec: no command given");
	if (rt_state_read(ctx, id, &st, err) < 0)
		return -err->code;
	if (rt_state_effective(&st) != MC_RT_RUNNING)
		return mc_err_setx(err, EINVAL, "container %s is not running", st.name);
	snprintf(path, sizeof(path), "%s/%s/config.json", ctx->state_root, id);
	if (rt_config_load(path, st.bundle[0] ? st.bundle : NULL, &c, err) < 0)
		return -err->code;
	if (o->user && (r = exec_user(&c, st.pid, o->user, err)) < 0)
		goto out;
	env = exec_env(&c, o);
	if (!env) {
		r = mc_err_set(err, ENOMEM, "env");
		goto out;
	}
	for (size_t i = 0; i < MC_ARRAY_SIZE(ns_order); i++) {
		if (!c.ns[ns_order[i].ns])
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)st.pid, ns_order[i].file);
		nsfd[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (nsfd[i] < 0) {
			r = mc_err_set(err, errno, "open `%s`", path);
			goto out;
		}
	}
	if (mc_cgroup_open(c.cgroups_path, &cg, err) < 0) {
		r = mc_err_wrap(err, "cgroup");
		goto out;
	}
	if (c.ns[RT_NS_PID]) {
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)st.pid);
		pidns = open(path, O_RDONLY | O_CLOEXEC);
		self_pidns = open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
		if (pidns < 0 || self_pidns < 0 || setns(pidns, CLONE_NEWPID) < 0) {
			r = mc_err_set(err, errno, "join the pid namespace");
			goto out;
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = mc_err_set(err, errno, "socketpair");
		goto out;
	}
	rt_fwd_sigset(&fwd);
	sigprocmask(SIG_BLOCK, &fwd, &old);
	pid = fork();
	if (pid < 0) {
		r = mc_err_set(err, errno, "fork");
		sigprocmask(SIG_SETMASK, &old, NULL);
		goto out;
	}
	if (pid == 0) {
		close(sv[0]);
		exec_child(&c, o, sv[1], nsfd, env, &old);
	}
	close(sv[1]);
	sv[1] = -1;
	/* Back to our own pid namespace for any later fork of this process. */
	if (self_pidns >= 0)
		setns(self_pidns, CLONE_NEWPID);
	r = rt_join_cgroup(cg, pid, sv[0], err);
	if (r < 0 && r != -EPIPE) {
		r = mc_err_wrap(err, "cgroup");
		goto out_kill;
	}
	msg = (struct rt_sync_msg){ .type = RT_SYNC_GO };
	/* -EPIPE or a failed send: the child is gone; its error line is read below. */
	if (r == 0 && rt_sync_send(sv[0], &msg, -1) < 0) {
		r = mc_err_set(err, errno, "start the exec process");
		goto out_kill;
	}
	for (;;) {
		int fd = -1;

		r = rt_sync_recv(sv[0], &msg, &fd);
		if (r == 0)
			break;
		if (r < 0) {
			r = mc_err_set(err, -r, "read from the exec process");
			goto out_kill;
		}
		if (msg.type == RT_SYNC_PTY && fd >= 0 && master < 0) {
			master = fd;
			continue;
		}
		if (fd >= 0)
			close(fd);
		if (msg.type == RT_SYNC_ERR) {
			r = mc_err_setx(err, msg.code > 0 ? msg.code : MC_EINTERNAL, "%s", msg.msg);
			/* The child exits right after; its status is the error's. */
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			*status = msg.status;
			sigprocmask(SIG_SETMASK, &old, NULL);
			if (master >= 0)
				close(master);
			goto out;
		}
	}
	r = rt_foreground(pid, master, o->interactive, &fwd, &wstatus);
	sigprocmask(SIG_SETMASK, &old, NULL);
	*status = WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
	r = 0;
	goto out;
out_kill:
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (master >= 0)
		close(master);
out:
	for (size_t i = 0; i < MC_ARRAY_SIZE(nsfd); i++)
		if (nsfd[i] >= 0)
			close(nsfd[i]);
	if (pidns >= 0)
		close(pidns);
	if (self_pidns >= 0)
		close(self_pidns);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	mc_cgroup_free(cg);
	free(env);
	rt_config_release(&c);
	return r < 0 ? r : 0;
}
