/* SPDX-License-Identifier: MIT */
/*
 * run.c: the parent side of `run`. The flow:
 *
 *   CLI: parse -> spec (config.json) -> state dir -> [fork monitor if -d]
 *   monitor: overlay dirs -> cgroup -> clone(new namespaces, sync socket)
 *     parent: cgroup attach -> id maps -> network hook -> GO
 *     child:  hostname, rootfs, pivot_root, /dev, caps, seccomp ... exec
 *   parent: sync messages until EOF (exec done) or one error line
 *   -> state "running" -> wait (pty proxy, signal forwarding) -> OOM check
 *   -> cgroup removed -> state "exited" (or everything removed with --rm)
 *
 * Any failure before exec rolls back in reverse: kill the child, cgroup, overlay
 * dirs, state dir. Mounts need no undo: they live only in the child's namespace.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/sched.h>

static struct mc_rt_net_hook net_hook;

void mc_rt_set_net_hook(const struct mc_rt_net_hook *hook)
{
	if (hook)
		net_hook = *hook;
	else
		memset(&net_hook, 0, sizeof(net_hook));
}

static const int fwd_signals[] = { SIGINT,  SIGTERM, SIGHUP,   SIGQUIT,
				   SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD };

static void fwd_sigset(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < MC_ARRAY_SIZE(fwd_signals); i++)
		sigaddset(set, fwd_signals[i]);
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/*
 * clone with clone3 where the kernel has it (>= 5.3), else the classic clone. With
 * @cgfd >= 0 (a v2 cgroup directory) the child is born in that cgroup (clone3's
 * CLONE_INTO_CGROUP, >= 5.7): no cgroup.procs write, no migration. *into says whether
 * that happened; when the kernel refuses it the caller attaches as usual.
 */
static pid_t clone_child(unsigned long flags, int cgfd, bool *into)
{
	struct clone_args ca = { .flags = flags, .exit_signal = SIGCHLD };
	pid_t pid;

	*into = false;
	if (cgfd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)cgfd;
		pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid >= 0) {
			*into = true;
			return pid;
		}
		/* E2BIG/EINVAL: a kernel before 5.7 (the args struct is shorter there). */
		ca.flags = flags;
		ca.cgroup = 0;
	}
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid >= 0 || errno != ENOSYS)
		return pid;
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
}

static int write_idmap(pid_t pid, const char *file, const struct rt_idmap *m, size_t n,
		       struct mc_err *err)
{
	char path[64], buf[4096];
	size_t len = 0;

	for (size_t i = 0; i < n && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n",
					m[i].container_id, m[i].host_id, m[i].size);
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	return mc_fs_write_str(path, buf, err);
}

static int oom_status(struct mc_cgroup *cg)
{
	return cg && mc_cgroup_oom_killed(cg) > 0;
}

/* ---- the foreground loop: pty proxy and signal forwarding ---- */

struct fg {
	pid_t pid;
	int master; /* -1 without a tty */
	int sfd;
	bool interactive, raw;
	struct termios saved;
};

static void copy_winsize(int from, int to)
{
	struct winsize ws;

	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

static bool pump(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n <= 0)
		return n < 0 && (errno == EAGAIN || errno == EINTR);
	return mc_write_all(to, buf, (size_t)n) == 0;
}

static int fg_wait(struct fg *f, int *wstatus)
{
	bool in_open = f->interactive && f->master >= 0, out_open = f->master >= 0;

	for (;;) {
		struct pollfd p[3] = { { f->sfd, POLLIN, 0 },
				       { out_open ? f->master : -1, POLLIN, 0 },
				       { in_open ? STDIN_FILENO : -1, POLLIN, 0 } };
		struct signalfd_siginfo si;

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			out_open = pump(f->master, STDOUT_FILENO);
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
			in_open = pump(STDIN_FILENO, f->master);
		if (!(p[0].revents & POLLIN))
			continue;
		if (read(f->sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGWINCH) {
			if (f->master >= 0)
				copy_winsize(STDIN_FILENO, f->master);
		} else if (si.ssi_signo != SIGCHLD) {
			kill(f->pid, (int)si.ssi_signo);
		} else if (waitpid(f->pid, wstatus, WNOHANG) == f->pid) {
			/* Drain what the container wrote before it exited. */
			if (f->master >= 0) {
				fcntl(f->master, F_SETFL, O_NONBLOCK);
				while (pump(f->master, STDOUT_FILENO))
					;
			}
			return 0;
		}
	}
}

int rt_foreground(pid_t pid, int master, bool interactive, const sigset_t *fwd, int *wstatus)
{
	struct fg f = { .pid = pid, .master = master, .interactive = interactive };
	int r = 0;

	f.sfd = signalfd(-1, fwd, SFD_CLOEXEC);
	if (f.master >= 0 && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &f.saved) == 0) {
		struct termios raw = f.saved;

		cfmakeraw(&raw);
		f.raw = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
		copy_winsize(STDIN_FILENO, f.master);
	}
	if (f.sfd < 0 || fg_wait(&f, wstatus) < 0) {
		/* Best-effort fallback: without signalfd still wait for the exit status. */
		while ((r = (int)waitpid(f.pid, wstatus, 0)) < 0 && errno == EINTR)
			;
	}
	if (f.raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &f.saved);
	if (f.master >= 0)
		close(f.master);
	if (f.sfd >= 0)
		close(f.sfd);
	return r < 0 ? -errno : 0;
}

void rt_fwd_sigset(sigset_t *set)
{
	fwd_sigset(set);
}

/* MC_RT_TRACE=1 prints the time of each phase of a run (for benchmarks). */
void rt_phase(const char *what)
{
	static uint64_t t0;
	static int on = -1;
	uint64_t now = mc_time_mono_ns();

	if (on < 0) {
		on = getenv("MC_RT_TRACE") != NULL;
		t0 = now;
	}
	if (on)
		fprintf(stderr, "trace: %8.3f ms %s\n", (double)(now - t0) / 1e6, what);
}

/* ---- the launch ---- */

static void state_set_exited(struct rt_launch *l, int code, bool oom)
{
	int lk = rt_lock(l->ctx, l->st.id, NULL);

	mc_strlcpy(l->st.status, "exited", sizeof(l->st.status));
	l->st.exit_code = code;
	l->st.oom_killed = oom;
	l->st.finished_ns = mc_time_real_ns();
	l->st.pid = 0;
	rt_state_write(l->ctx, &l->st, NULL);
	rt_unlock(lk);
}

/*
 * release_visible: the part of a container's exit others can observe, done before
 * `run` reports the exit status: its address, names and published ports on the
 * network (so the name and the port are free again), and for --rm its state
 * directory (so `ps -a`, `run --name` and `image rm` no longer see it).
 */
static void release_visible(struct rt_launch *l, bool net_attached)
{
	char dir[PATH_MAX];

	if (net_attached && net_hook.exited)
		net_hook.exited(l->st.id, l->c->network, net_hook.arg);
	else if (net_attached && net_hook.detach)
		net_hook.detach(l->st.id, l->c->network, net_hook.arg);
	/* Best-effort: what is left is listed as exited and `rm` removes it. */
	if (l->st.auto_rm && rt_state_dir(l->ctx, l->st.id, dir, sizeof(dir)) == 0)
		mc_fs_rm_rf(dir, NULL);
}

/*
 * release_rest: what only the kernel and the disk see, all of it keyed by the id,
 * which is never reused: the cgroup (dying tasks included), a host veth the kernel
 * has not deleted with the container's netns yet, and for --rm the overlay layers.
 */
static void release_rest(struct rt_launch *l, struct mc_cgroup *cg, bool net_attached)
{
	struct mc_rootfs_overlay ov;
	struct mc_err e = { 0 };

	/* First: the mounts go away with the namespace, before the layers under them. */
	if (l->mntns_fd >= 0) {
		close(l->mntns_fd);
		l->mntns_fd = -1;
	}
	rt_phase("mount namespace released");
	/* Best-effort: a cgroup that will not go away is reported; `rm` retries. */
	if (mc_cgroup_destroy(cg, &e) < 0)
		mc_log_warn("remove cgroup: %s", e.msg);
	rt_phase("cgroup destroyed");
	if (net_attached && net_hook.exited && net_hook.release)
		net_hook.release(l->st.id, l->c->network, net_hook.arg);
	if (l->st.auto_rm && mc_rootfs_overlay_paths(l->ctx->data_root, l->st.id, &ov, NULL) == 0)
		mc_rootfs_overlay_remove(&ov, NULL);
	/* Empty layer directories for the next run (see rootfs/overlay.c); best-effort. */
	if (l->c->lower)
		mc_rootfs_overlay_pool_fill(l->ctx->data_root, NULL);
}

/*
 * cleanup_in_background: a foreground `run` reports the exit status right after
 * release_visible, and a child of ours, in its own process group with stdio on /dev/null
 * (a caller reading our output sees EOF now), does release_rest. Deleting a veth
 * waits for RCU in the kernel (10-30 ms), removing layers costs ext4 metadata
 * writes, a cgroup rmdir may wait for dying tasks; none of it changes the result
 * the caller waits for.
 *
 * A kept (not --rm) container's cleaner holds its lock until it is done, so that
 * `start` and `rm` wait for it instead of racing it on the cgroup. Returns false
 * (the caller cleans up itself) when the fork fails.
 */
static bool cleanup_in_background(struct rt_launch *l, struct mc_cgroup *cg, bool net_attached)
{
	int lk = l->st.auto_rm ? -1 : rt_lock(l->ctx, l->st.id, NULL);
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rt_unlock(lk);
		return false;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* Our caller's ^C, hangup and group kills are not for the cleaner. */
		setpgid(0, 0);
		/*
		 * Nobody waits for this work: below the priority of the next container's
		 * start (or anything else the user runs), not at the same.
		 */
		if (nice(10) < 0)
			mc_log_debug("cleaner: nice: %s", strerror(errno));
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		for (int fd = 0; fd < 3 && nul >= 0; fd++)
			dup2(nul, fd);
		release_rest(l, cg, net_attached);
		rt_unlock(lk);
		_exit(0);
	}
	/*
	 * Its own process group before we return (the child's own setpgid may not have
	 * run yet): a caller that kills our group once we exited must not hit it.
	 */
	setpgid(pid, pid);
	/* The cleaner's copy is the one that counts now. */
	if (l->mntns_fd >= 0) {
		close(l->mntns_fd);
		l->mntns_fd = -1;
	}
	/* The lock is the open file's: the child's copy keeps it held. */
	rt_unlock(lk);
	mc_cgroup_free(cg);
	return true;
}

/*
 * rt_join_cgroup: puts the cloned child @pid into @cg. On v1 the child moves itself:
 * one RT_SYNC_CGROUP message per hierarchy carries that hierarchy's `tasks` file,
 * and the child writes "0" there before it reads JOINED (rt_child_main). Written by
 * us with the child's pid (cgroup.procs), the same move takes the kernel's global
 * migration lock, whose writer waits for an RCU grace period: 8-16 ms here on every
 * run that does not follow another migration within ~10-20 ms (docs/cgroup.md).
 * The child's own "0" skips that lock; it is single-threaded, so its only thread
 * moving moves the process. Where a self-join is not possible (v2 without
 * CLONE_INTO_CGROUP, a fake root) we attach it by pid as before. `exec` uses the
 * same for the process it starts in a running container.
 */
int rt_join_cgroup(struct mc_cgroup *cg, pid_t pid, int sock, struct mc_err *err)
{
	int fds[32], n = mc_cgroup_join_open(cg, fds, MC_ARRAY_SIZE(fds), NULL), r = 0;

	if (n <= 0)
		return mc_cgroup_attach(cg, pid, err);
	for (int i = 0; i < n; i++) {
		struct rt_sync_msg msg = { .type = RT_SYNC_CGROUP };

		if (r == 0 && rt_sync_send(sock, &msg, fds[i]) < 0)
			r = -EPIPE;
		close(fds[i]);
	}
	return r;
}

int rt_launch_monitor(struct rt_launch *l, int report_fd, int *status, bool *oom,
		      struct mc_err *err)
{
	struct rt_config *c = l->c;
	struct mc_rootfs_overlay ov = { 0 };
	struct mc_cgroup *cg = NULL;
	struct rt_child_args ca = { .c = c, .log_fd = -1, .null_fd = -1 };
	struct rt_sync_msg msg;
	struct fg f = { .pid = -1, .master = -1, .sfd = -1 };
	unsigned long flags = 0;
	int sv[2] = { -1, -1 }, r, wstatus = 0, child_status = MC_RT_EXIT_RUNTIME, cgfd;
	sigset_t fwd, old;
	bool net_attached = false, in_cgroup, joined_sent, child_gone = false;
	enum mc_cgroup_version cgv;

	*oom = false;
	l->mntns_fd = -1;
	rt_phase("launch");
	if (c->lower) {
		uid_t owner = 0;
		gid_t group = 0;

		for (size_t i = 0; i < c->n_uid_maps; i++)
			if (c->uid_maps[i].container_id == 0)
				owner = c->uid_maps[i].host_id;
		for (size_t i = 0; i < c->n_gid_maps; i++)
			if (c->gid_maps[i].container_id == 0)
				group = c->gid_maps[i].host_id;
		if (mc_rootfs_overlay_create(l->ctx->data_root, l->st.id, owner, group, &ov, err) <
		    0)
			return mc_err_wrap(err, "rootfs");
		ov.volatile_upper = l->st.auto_rm;
	}
	rt_phase("overlay dirs");
	/* Compiled (or read from the cache) here, so the child only hands it over. */
	if (rt_seccomp_prepare(l->ctx->data_root, c->seccomp, &ca.bpf, err) < 0) {
		mc_err_wrap(err, "seccomp");
		goto out_overlay;
	}
	rt_phase("seccomp filter ready");
	/*
	 * cgroup v2: the cgroup exists before clone, which starts the child in it. v1:
	 * it is made after clone, while the child mounts its root, and the child moves
	 * itself in (rt_join_cgroup).
	 */
	if (mc_cgroup_detect(&cgv, err) < 0) {
		mc_err_wrap(err, "cgroup");
		goto out_overlay;
	}
	if (cgv == MC_CGROUP_V2 && mc_cgroup_create(c->cgroups_path, &c->limits, &cg, err) < 0) {
		mc_err_wrap(err, "cgroup");
		goto out_overlay;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		mc_err_set(err, errno, "socketpair");
		goto out_cgroup;
	}
	if (l->st.detached) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/container.log", l->state_dir);
		ca.log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		ca.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (ca.log_fd < 0 || ca.null_fd < 0) {
			mc_err_set(err, errno, "open the container log");
			goto out_sock;
		}
	}
	if (c->ns[RT_NS_PID] && !c->ns_path[RT_NS_PID])
		flags |= CLONE_NEWPID;
	if (c->ns[RT_NS_NET] && !c->ns_path[RT_NS_NET])
		flags |= CLONE_NEWNET;
	if (c->ns[RT_NS_IPC] && !c->ns_path[RT_NS_IPC])
		flags |= CLONE_NEWIPC;
	if (c->ns[RT_NS_UTS] && !c->ns_path[RT_NS_UTS])
		flags |= CLONE_NEWUTS;
	if (c->ns[RT_NS_USER] && !c->ns_path[RT_NS_USER])
		flags |= CLONE_NEWUSER;
	/* Always a private mount namespace: the overlay and pivot_root must not leak. */
	flags |= CLONE_NEWNS;

	fwd_sigset(&fwd);
	sigprocmask(SIG_BLOCK, &fwd, &old);
	ca.sigmask = old;
	ca.ov = c->lower ? &ov : NULL;
	ca.sync = sv[1];
	rt_phase("clone prepared");
	cgfd = cg ? mc_cgroup_dirfd(cg, NULL) : -1;
	f.pid = clone_child(flags, cgfd, &in_cgroup);
	if (f.pid < 0) {
		mc_err_set(err, errno, "clone");
		goto out_mask;
	}
	if (f.pid == 0) {
		close(sv[0]);
		rt_child_main(&ca);
	}
	if (cgfd >= 0)
		close(cgfd);
	close(sv[1]);
	sv[1] = -1;

	rt_phase("cloned");
	/*
	 * A reference to the container's mount namespace: when the container exits, its
	 * mounts (overlay, /dev, proc, the masks) are not torn down in its exit, which
	 * the exit status waits for (every unmount batch ends in an expedited RCU grace
	 * period), but when release_rest drops this, after the status went out.
	 * Best-effort: without it the exit does the work itself.
	 */
	{
		char nspath[64];

		snprintf(nspath, sizeof(nspath), "/proc/%d/ns/mnt", (int)f.pid);
		l->mntns_fd = open(nspath, O_RDONLY | O_CLOEXEC);
	}
	/* The id maps first: the child's setup runs as root of its user namespace. */
	if (flags & CLONE_NEWUSER) {
		if (write_idmap(f.pid, "uid_map", c->uid_maps, c->n_uid_maps, err) < 0 ||
		    write_idmap(f.pid, "gid_map", c->gid_maps, c->n_gid_maps, err) < 0) {
			mc_err_wrap(err, "user namespace");
			goto out_kill;
		}
	}
	/*
	 * GO now: the child mounts its root while we attach the cgroup and the network,
	 * and waits for JOINED before anything of the command runs (see rt_child_main).
	 * A child that fails meanwhile has queued its error line; it is read below.
	 */
	msg = (struct rt_sync_msg){ .type = RT_SYNC_GO };
	if ((r = rt_sync_send(sv[0], &msg, -1)) < 0) {
		mc_err_set(err, -r, "start the container process");
		goto out_kill;
	}
	if (!cg && mc_cgroup_create(c->cgroups_path, &c->limits, &cg, err) < 0) {
		mc_err_wrap(err, "cgroup");
		goto out_kill;
	}
	rt_phase("cgroup created");
	if (!in_cgroup) {
		r = rt_join_cgroup(cg, f.pid, sv[0], err);
		if (r < 0 && r != -EPIPE) {
			mc_err_wrap(err, "cgroup");
			goto out_kill;
		}
		/* -EPIPE: the child is gone; its error line (or EOF) is read below. */
		child_gone = r == -EPIPE;
	}
	rt_phase("cgroup join sent");
	/* The network attach point: the netns exists; the command has not started yet. */
	if (c->network && strcmp(c->network, "none") && strcmp(c->network, "host")) {
		if (!net_hook.attach) {
			mc_err_setx(err, ENOTSUP,
				    "network `%s`: only none and host are available in this build",
				    c->network);
			goto out_kill;
		}
		if (net_hook.attach(l->st.id, c->network, f.pid, net_hook.arg, err) < 0) {
			mc_err_wrap(err, "network `%s`", c->network);
			goto out_kill;
		}
		net_attached = true;
	}
	msg = (struct rt_sync_msg){ .type = RT_SYNC_JOINED };
	/* A failed send means the child is gone: its error (or EOF) is in the socket. */
	joined_sent = !child_gone && rt_sync_send(sv[0], &msg, -1) == 0;
	for (;;) {
		int fd = -1;

		r = rt_sync_recv(sv[0], &msg, &fd);
		if (r == 0)
			break;
		if (r < 0 && joined_sent) {
			mc_err_set(err, -r, "read from the container process");
			goto out_kill;
		}
		if (r < 0)
			break;
		if (msg.type == RT_SYNC_PTY && fd >= 0 && f.master < 0) {
			f.master = fd;
			continue;
		}
		if (fd >= 0)
			close(fd);
		if (msg.type == RT_SYNC_ERR) {
			mc_err_setx(err, msg.code > 0 ? msg.code : MC_EINTERNAL, "%s", msg.msg);
			child_status = msg.status;
			goto out_kill;
		}
	}
	if (!joined_sent) {
		mc_err_setx(err, MC_EINTERNAL, "the container process died during setup");
		goto out_kill;
	}
	close(sv[0]);
	sv[0] = -1;
	rt_phase("exec done");

	/* Running: record it, then tell whoever waits on a detached start. */
	{
		int lk = rt_lock(l->ctx, l->st.id, NULL);

		mc_strlcpy(l->st.status, "running", sizeof(l->st.status));
		l->st.pid = f.pid;
		l->st.pid_start = rt_proc_starttime(f.pid);
		l->st.monitor_pid = getpid();
		l->st.monitor_start = rt_proc_starttime(getpid());
		l->st.started_ns = mc_time_real_ns();
		l->st.exit_code = 0;
		l->st.oom_killed = false;
		r = rt_state_write(l->ctx, &l->st, err);
		rt_unlock(lk);
		if (r < 0)
			goto out_kill;
	}
	if (report_fd >= 0) {
		mc_write_all(report_fd, "", 1);
		close(report_fd);
	}
	if (ca.log_fd >= 0) {
		/*
		 * Detached with a terminal (-d -t): we keep the pty master, and what the
		 * container writes to its terminal goes to its log, as its plain stdout
		 * would (rt_foreground copies the master to our stdout).
		 */
		if (f.master >= 0) {
			struct winsize ws = { .ws_row = l->tty_rows, .ws_col = l->tty_cols };

			if (ws.ws_row && ws.ws_col)
				ioctl(f.master, TIOCSWINSZ, &ws);
			dup2(ca.log_fd, STDOUT_FILENO);
		}
		close(ca.log_fd);
		close(ca.null_fd);
	}

	rt_bpf_release(&ca.bpf);
	rt_foreground(f.pid, f.master, l->interactive, &fwd, &wstatus);
	f.master = -1;
	sigprocmask(SIG_SETMASK, &old, NULL);

	rt_phase("exited");
	*oom = oom_status(cg);
	if (WIFSIGNALED(wstatus))
		*status = 128 + WTERMSIG(wstatus);
	else
		*status = WEXITSTATUS(wstatus);
	/* Everyone after us reads the exit status from the state, unless it goes away. */
	if (!l->st.auto_rm)
		state_set_exited(l, *status, *oom);
	release_visible(l, net_attached);
	rt_phase("visible state released");
	if (l->defer_cleanup && cleanup_in_background(l, cg, net_attached))
		return 0;
	release_rest(l, cg, net_attached);
	rt_phase("removed");
	return 0;

out_kill:
	kill(f.pid, SIGKILL);
	while (waitpid(f.pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (l->mntns_fd >= 0) {
		close(l->mntns_fd);
		l->mntns_fd = -1;
	}
	if (net_attached && net_hook.detach)
		net_hook.detach(l->st.id, c->network, net_hook.arg);
	if (f.master >= 0)
		close(f.master);
out_mask:
	sigprocmask(SIG_SETMASK, &old, NULL);
out_sock:
	if (ca.log_fd >= 0)
		close(ca.log_fd);
	if (ca.null_fd >= 0)
		close(ca.null_fd);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
out_cgroup : {
	struct mc_err e2 = { 0 };

	if (mc_cgroup_destroy(cg, &e2) < 0)
		mc_log_warn("remove cgroup: %s", e2.msg);
}
out_overlay:
	rt_bpf_release(&ca.bpf);
	if (c->lower)
		mc_rootfs_overlay_remove(&ov, NULL);
	*status = child_status;
	return -err->code;
}

int rt_remove_all(const struct mc_rt_ctx *ctx, const char *id, struct mc_err *err)
{
	char dir[PATH_MAX], cgpath[128];
	struct mc_rootfs_overlay ov;
	struct mc_cgroup *cg = NULL;
	int r = 0;

	int e;

	/* @err may be NULL: every step's own return value is what counts. */
	rt_cgroup_path(id, cgpath, sizeof(cgpath));
	if (mc_cgroup_open(cgpath, &cg, NULL) == 0 && (e = mc_cgroup_destroy(cg, err)) < 0)
		r = e;
	if (mc_rootfs_overlay_paths(ctx->data_root, id, &ov, NULL) == 0 &&
	    (e = mc_rootfs_overlay_remove(&ov, err)) < 0)
		r = e;
	if (rt_state_dir(ctx, id, dir, sizeof(dir)) == 0 && (e = mc_fs_rm_rf(dir, err)) < 0)
		r = e;
	return r;
}

/*
 * rt_start_detached: forks the monitor, which owns the container from now on, and
 * waits until it reports "running" (one NUL byte) or an error (status byte + line).
 */
int rt_start_detached(const struct mc_rt_ctx *ctx, struct rt_launch *l, int *status,
		      struct mc_err *err)
{
	int p[2];
	pid_t pid;
	char buf[1 + MC_ERR_MSG_MAX];
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return mc_err_set(err, errno, "pipe");
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return mc_err_set(err, errno, "fork the monitor");
	}
	if (pid == 0) {
		struct mc_err e = { 0 };
		struct winsize ws;
		int st = 0, nul, fd;
		bool oom;

		close(p[0]);
		/* -d -t: the container's terminal starts with the size of ours, if any. */
		for (fd = 0; fd < 3; fd++) {
			if (ioctl(fd, TIOCGWINSZ, &ws) == 0) {
				l->tty_rows = ws.ws_row;
				l->tty_cols = ws.ws_col;
				break;
			}
		}
		setsid();
		nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (fd = 0; fd < 3 && nul >= 0; fd++)
			dup2(nul, fd);
		l->st.detached = true;
		l->interactive = false;
		int r = rt_launch_monitor(l, p[1], &st, &oom, &e);

		if (r < 0) {
			buf[0] = (char)st;
			n = snprintf(buf + 1, sizeof(buf) - 1, "%s", e.msg);
			mc_write_all(p[1], buf, 1 + (size_t)MC_MIN(n, (ssize_t)sizeof(buf) - 2));
			_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	/*
	 * One byte first: success is a lone NUL, after which the pipe may stay open (an
	 * --init PID 1 never execs, so it keeps inherited descriptors until it exits).
	 */
	n = mc_read_all(p[0], buf, 1);
	if (n == 1 && buf[0] == 0) {
		close(p[0]);
		*status = 0;
		return 0;
	}
	if (n == 1) {
		ssize_t m = mc_read_all(p[0], buf + 1, sizeof(buf) - 2);

		n = m < 0 ? 1 : 1 + m;
	}
	close(p[0]);
	*status = MC_RT_EXIT_RUNTIME;
	if (n <= 0)
		return mc_err_setx(err, MC_EINTERNAL, "the monitor process died during start");
	buf[n] = '\0';
	*status = (unsigned char)buf[0];
	return mc_err_setx(err, MC_EINTERNAL, "%s", buf + 1);
}
