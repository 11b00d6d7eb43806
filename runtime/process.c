/* SPDX-License-Identifier: MIT */
/*
 * process.c: the container side of `run`: the sync socket protocol, the child's
 * setup from clone() to exec (namespaces, hostname, rootfs, user, caps, seccomp),
 * the exec itself with its 126/127 error mapping, and the --init PID 1 loop.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- sync socket: SOCK_SEQPACKET, one struct rt_sync_msg per packet ---- */

int rt_sync_send(int sock, const struct rt_sync_msg *m, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int rt_sync_recv(int sock, struct rt_sync_msg *m, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n;

	if (fd)
		*fd = -1;
	/*
	 * ECONNRESET once: a peer that closed with our packets unread (a child that
	 * failed before reading JOINED) sets a socket error that a SEQPACKET recv
	 * reports before the packets the peer queued, its RT_SYNC_ERR among them. The
	 * report clears the error; the next recv returns them, then EOF.
	 */
	for (bool reset_seen = false;;) {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != ECONNRESET || reset_seen)
			return -errno;
		reset_seen = true;
	}
	if (n == 0)
		return 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int got;

			memcpy(&got, CMSG_DATA(cm), sizeof(int));
			if (fd && *fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
	if ((size_t)n != sizeof(*m))
		return -EPROTO;
	m->msg[sizeof(m->msg) - 1] = '\0';
	return 1;
}

int rt_sync_recv_joining(int sock, struct rt_sync_msg *m, struct mc_err *err)
{
	for (;;) {
		int cgfd = -1, r = rt_sync_recv(sock, m, &cgfd);

		/* A socket error is the parent gone: as good as EOF to the caller. */
		if (r <= 0)
			return 0;
		if (m->type != RT_SYNC_CGROUP) {
			if (cgfd >= 0)
				close(cgfd);
			return 1;
		}
		r = cgfd >= 0 ? mc_cgroup_join_self(cgfd) : -EBADF;
		if (cgfd >= 0)
			close(cgfd);
		if (r < 0)
			return mc_err_set(err, -r, "join the container's cgroup");
	}
}

void rt_sync_fail(int sock, int status, const struct mc_err *err)
{
	struct rt_sync_msg m = { .type = RT_SYNC_ERR, .code = err->code, .status = status };

	mc_strlcpy(m.msg, err->msg, sizeof(m.msg));
	rt_sync_send(sock, &m, -1);
	_exit(status);
}

/* ---- exec ---- */

int rt_exec_command(const struct rt_config *c, char **args, char **env, struct mc_err *err)
{
	extern char **environ;
	int e;

	(void)c;
	/* execvp searches the PATH of environ, so the container's env goes in first. */
	environ = env;
	execvp(args[0], args);
	e = errno;
	if (e == ENOENT && !strchr(args[0], '/'))
		mc_err_setx(err, ENOENT, "exec `%s`: executable file not found in $PATH", args[0]);
	else
		mc_err_set(err, e, "exec `%s`", args[0]);
	return e == ENOENT || e == ENOTDIR ? MC_RT_EXIT_NOT_FOUND : MC_RT_EXIT_CANNOT_EXEC;
}

/* ---- --init: a PID 1 that forwards signals and reaps every zombie ---- */

static void init_nop(int sig)
{
	(void)sig;
}

void rt_init_loop(pid_t child)
{
	sigset_t all;
	int status = 0;

	sigfillset(&all);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		pid_t p;

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			/* Forward to the command; its own PID 1 rules no longer apply. */
			kill(child, sig);
			continue;
		}
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			if (p != child)
				continue;
			if (WIFSIGNALED(status))
				_exit(128 + WTERMSIG(status));
			_exit(WEXITSTATUS(status));
		}
	}
}

/* Installs a handler on every catchable signal and blocks them all (see the caller). */
static void init_prepare(sigset_t *old)
{
	struct sigaction sa = { .sa_handler = init_nop };
	sigset_t all;

	/*
	 * Security-relevant kernel rule: a signal sent to a namespace's PID 1 from its
	 * own namespace is dropped when the handler is SIG_DFL, even when blocked for
	 * sigwaitinfo. Real handlers make SIGTERM from `docker stop`-like callers land.
	 */
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, old);
}

static void child_restore_signals(const sigset_t *mask)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
}

/* ---- the child ---- */

static int lo_up(struct mc_err *err)
{
	struct ifreq ifr = { 0 };
	mc_autoclose int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return mc_err_set(err, errno, "socket");
	mc_strlcpy(ifr.ifr_name, "lo", sizeof(ifr.ifr_name));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return mc_err_set(err, errno, "get flags of lo");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return mc_err_set(err, errno, "bring lo up");
	return 0;
}

static int set_tty(int fd, bool ctty, struct mc_err *err)
{
	if (ctty) {
		if (getsid(0) != getpid() && setsid() < 0)
			return mc_err_set(err, errno, "setsid");
		if (ioctl(fd, TIOCSCTTY, 0) < 0)
			return mc_err_set(err, errno, "set the controlling terminal");
	}
	for (int i = 0; i < 3; i++)
		if (dup2(fd, i) < 0)
			return mc_err_set(err, errno, "dup2 the terminal");
	return 0;
}

static int enter_cwd(const struct rt_config *c, struct mc_err *err)
{
	if (chdir(c->cwd) == 0)
		return 0;
	/* Like docker, a missing working directory is created (writable roots only). */
	if (errno != ENOENT || mc_fs_mkdir_p(c->cwd, 0755, NULL) < 0 || chdir(c->cwd) < 0)
		return mc_err_set(err, errno, "chdir to cwd `%s`", c->cwd);
	return 0;
}

void rt_child_main(struct rt_child_args *a)
{
	const struct rt_config *c = a->c;
	struct mc_err err = { 0 };
	struct rt_sync_msg m;
	sigset_t oldmask;
	int tty = -1, r;
	pid_t pid;

	sigprocmask(SIG_SETMASK, &a->sigmask, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/*
	 * Security: a session and process group of our own. Inherited, the host CLI's
	 * group would let kill(0, sig) inside the container signal host processes.
	 */
	setsid();
	r = rt_sync_recv(a->sync, &m, NULL);
	if (r <= 0 || m.type != RT_SYNC_GO)
		_exit(MC_RT_EXIT_RUNTIME);
	if (a->log_fd >= 0 &&
	    (dup2(a->null_fd, 0) < 0 || dup2(a->log_fd, 1) < 0 || dup2(a->log_fd, 2) < 0)) {
		mc_err_set(&err, errno, "redirect output to the log");
		rt_sync_fail(a->sync, MC_RT_EXIT_RUNTIME, &err);
	}
	for (int k = 0; k < RT_NS_COUNT; k++) {
		int nfd;

		/* Joining an existing namespace by path (OCI); pid and user only at clone. */
		if (!c->ns_path[k] || k == RT_NS_PID || k == RT_NS_USER)
			continue;
		nfd = open(c->ns_path[k], O_RDONLY | O_CLOEXEC);
		if (nfd < 0 || setns(nfd, 0) < 0) {
			mc_err_set(&err, errno, "join namespace `%s`", c->ns_path[k]);
			rt_sync_fail(a->sync, MC_RT_EXIT_RUNTIME, &err);
		}
		close(nfd);
	}
	if (c->ns[RT_NS_USER] && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
		mc_err_set(&err, errno, "become root in the user namespace");
		rt_sync_fail(a->sync, MC_RT_EXIT_RUNTIME, &err);
	}
	if (c->hostname && c->ns[RT_NS_UTS] && sethostname(c->hostname, strlen(c->hostname)) < 0) {
		mc_err_set(&err, errno, "sethostname `%s`", c->hostname);
		rt_sync_fail(a->sync, MC_RT_EXIT_RUNTIME, &err);
	}
	if (c->ns[RT_NS_NET] && !c->ns_path[RT_NS_NET] && lo_up(&err) < 0) {
		mc_err_wrap(&err, "network");
		rt_sync_fail(a->sync, MC_RT_EXIT_RUNTIME, &err);
	}
	rt_phase("child: GO");
	if (rt_rootfs_setup(c, a->ov, a->sync, &tty, &err) < 0) {
		mc_err_wrap(&err, "setup rootfs");
		rt_sync_fail(a->sync, MC_RT_EXIT_RUNTIME, &err);
	}
	if (tty >= 0 && !c->init && set_tty(tty, true, &err) < 0)
		rt_sync_fail(a->sync, MC_RT_EXIT_RUNTIME, &err);
	if (enter_cwd(c, &err) < 0 || rt_rlimits_apply(c, &err) < 0)
		rt_sync_fail(a->sync, MC_RT_EXIT_RUNTIME, &err);
	/*
	 * The parent made the cgroup and attached the network while we set up the
	 * filesystem. On cgroup v1 it hands us the cgroup's `tasks` files and we move
	 * ourselves in (rt_join_cgroup in run.c: no RCU grace period, unlike a move by
	 * pid). Nothing of the command runs before JOINED, so every limit, device rule
	 * and interface is in place before exec: only the setup's own allocations were
	 * charged to the runtime. A failed join fails the run: never outside the cgroup.
	 */
	rt_phase("child: rootfs ready");
	r = rt_sync_recv_joining(a->sync, &m, &err);
	if (r < 0)
		rt_sync_fail(a->sync, MC_RT_EXIT_RUNTIME, &err);
	if (r == 0 || m.type != RT_SYNC_JOINED)
		_exit(MC_RT_EXIT_RUNTIME);
	rt_phase("child: joined its cgroup");
	/* After the parent put us in the cgroup, so that cgroup becomes our root. */
	if (c->ns[RT_NS_CGROUP] && !c->ns_path[RT_NS_CGROUP] && unshare(CLONE_NEWCGROUP) < 0) {
		mc_err_set(&err, errno, "unshare the cgroup namespace");
		rt_sync_fail(a->sync, MC_RT_EXIT_RUNTIME, &err);
	}
	if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		mc_err_set(&err, errno, "set no_new_privs");
		rt_sync_fail(a->sync, MC_RT_EXIT_RUNTIME, &err);
	}
	if (rt_caps_bound(c, &err) < 0 || rt_user_apply(c, &err) < 0 ||
	    rt_caps_apply(c, &err) < 0) {
		mc_err_wrap(&err, "security");
		rt_sync_fail(a->sync, MC_RT_EXIT_RUNTIME, &err);
	}
	/*
	 * A detached container outlives its monitor if that is killed: the death signal
	 * only guards the setup, where a lost parent means nobody finishes the job.
	 */
	if (a->log_fd >= 0)
		prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	/* Last: the filter may deny what the steps above needed (mount, unshare...). */
	rt_phase("child: joined, credentials set");
	if (a->bpf.n && rt_bpf_load(&a->bpf, &err) < 0) {
		mc_err_wrap(&err, "seccomp");
		rt_sync_fail(a->sync, MC_RT_EXIT_RUNTIME, &err);
	}
	rt_phase("child: seccomp loaded, exec");
	if (!c->init) {
		r = rt_exec_command(c, c->args, c->env, &err);
		rt_sync_fail(a->sync, r, &err);
	}
	init_prepare(&oldmask);
	pid = fork();
	if (pid < 0) {
		mc_err_set(&err, errno, "fork the init's child");
		rt_sync_fail(a->sync, MC_RT_EXIT_RUNTIME, &err);
	}
	if (pid == 0) {
		child_restore_signals(&oldmask);
		/* The command leads its own session so ^C on the tty reaches it. */
		if (tty >= 0 && set_tty(tty, true, &err) < 0)
			rt_sync_fail(a->sync, MC_RT_EXIT_RUNTIME, &err);
		r = rt_exec_command(c, c->args, c->env, &err);
		rt_sync_fail(a->sync, r, &err);
	}
	/*
	 * The parent sees EOF on the socket once the command's exec closed its copy. The
	 * init itself needs no descriptor: drop every inherited one (a monitor's pipe).
	 */
	close(a->sync);
	if (tty >= 0)
		close(tty);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	rt_init_loop(pid);
}
