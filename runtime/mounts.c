/* SPDX-License-Identifier: MIT */
/*
 * mounts.c: the container's filesystem view, built by the child in its own mount
 * namespace: private propagation, the overlay root, the config's mounts (targets
 * resolved inside the rootfs with openat2(RESOLVE_IN_ROOT), so an image's symlinks
 * cannot redirect a mount onto the host), /dev, the console, pivot_root with the old
 * root detached, masked and read-only paths.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

static int openat2_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/*
 * mount_target: an O_PATH fd of @dest inside @rootfd, created if missing (a directory,
 * or an empty file when @file). Parents are created as directories. Everything is
 * resolved inside the root, symlinks included.
 */
static int mount_target(int rootfd, const char *dest, bool file, struct mc_err *err)
{
	char buf[PATH_MAX], *slash;
	int fd;

	fd = openat2_in_root(rootfd, dest, O_PATH);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		return mc_err_set(err, errno, "resolve `%s`", dest);
	if (mc_strlcpy(buf, dest, sizeof(buf)) >= sizeof(buf))
		return mc_err_setx(err, ENAMETOOLONG, "`%s`", dest);
	slash = strrchr(buf, '/');
	while (slash && slash > buf && slash[1] == '\0') {
		*slash = '\0';
		slash = strrchr(buf, '/');
	}
	{
		mc_autoclose int parent = -1;
		const char *name = slash ? slash + 1 : buf;

		if (slash && slash != buf) {
			*slash = '\0';
			parent = mount_target(rootfd, buf, false, err);
		} else {
			parent = openat2_in_root(rootfd, "/", O_PATH);
			if (parent < 0)
				mc_err_set(err, errno, "open rootfs");
		}
		if (parent < 0)
			return -err->code;
		if (file) {
			int f = openat(parent, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
				       0644);

			if (f < 0 && errno != EEXIST)
				return mc_err_set(err, errno, "create `%s`", dest);
			if (f >= 0)
				close(f);
		} else if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST) {
			return mc_err_set(err, errno, "mkdir `%s`", dest);
		}
	}
	fd = openat2_in_root(rootfd, dest, O_PATH);
	if (fd < 0)
		return mc_err_set(err, errno, "resolve `%s`", dest);
	return fd;
}

static void fd_path(int fd, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/*
 * reopen: after a mount, the old O_PATH fd still names the directory underneath;
 * remounts and propagation changes need the new mount on top.
 */
static int reopen(int rootfd, const char *dest, int *fd, char *target, size_t size,
		  struct mc_err *err)
{
	close(*fd);
	*fd = openat2_in_root(rootfd, dest, O_PATH);
	if (*fd < 0)
		return mc_err_set(err, errno, "resolve `%s` after mounting", dest);
	fd_path(*fd, target, size);
	return 0;
}

static int do_mount(int rootfd, const struct rt_mount *m, struct mc_err *err)
{
	const unsigned long remount_flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	bool file = false;
	char target[64];
	struct stat st;
	mc_autoclose int fd = -1;

	if (m->bind) {
		if (stat(m->source, &st) < 0)
			return mc_err_set(err, errno, "bind mount source `%s`", m->source);
		file = !S_ISDIR(st.st_mode);
	}
	fd = mount_target(rootfd, m->destination, file, err);
	if (fd < 0)
		return -err->code;
	fd_path(fd, target, sizeof(target));
	if (m->bind) {
		if (mount(m->source, target, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
			return mc_err_set(err, errno, "bind mount `%s` on `%s`", m->source,
					  m->destination);
		if (reopen(rootfd, m->destination, &fd, target, sizeof(target), err) < 0)
			return -err->code;
		/* A bind mount takes ro/nosuid/... only through a second, remounting call. */
		if ((m->flags & remount_flags) &&
		    mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | (m->flags & remount_flags),
			  NULL) < 0)
			return mc_err_set(err, errno, "remount `%s` read-only", m->destination);
	} else if (mount(m->source ? m->source : m->type, target, m->type,
			 m->flags & ~(unsigned long)MS_REC, m->data) < 0) {
		int e = errno;

		if (!strcmp(m->type, "cgroup") || !strcmp(m->type, "cgroup2")) {
			/*
			 * Best-effort: on a hybrid host the v1 controllers cannot be mounted
			 * again as one "cgroup" fs; an empty read-only tmpfs keeps the path.
			 */
			mc_log_debug("mount cgroup on %s: %s; using an empty tmpfs", m->destination,
				     strerror(e));
			if (mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
				  "size=0") == 0)
				return 0;
		} else if (!strcmp(m->type, "sysfs") && (e == EPERM || e == EBUSY)) {
			/* In a user namespace without its own netns, bind the host's /sys. */
			if (mount("/sys", target, NULL, MS_BIND | MS_REC, NULL) == 0 &&
			    mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) == 0)
				return 0;
		}
		return mc_err_set(err, e, "mount `%s` on `%s`", m->type, m->destination);
	}
	if (!m->bind && reopen(rootfd, m->destination, &fd, target, sizeof(target), err) < 0)
		return -err->code;
	if (m->propagation && mount(NULL, target, NULL, m->propagation, NULL) < 0)
		return mc_err_set(err, errno, "set propagation of `%s`", m->destination);
	return 0;
}

/* make_devices: the default device nodes on the container's /dev tmpfs. */
static int make_devices(const char *root, bool userns, struct mc_err *err)
{
	static const struct {
		const char *name;
		unsigned maj, min;
	} devs[] = { { "null", 1, 3 },	 { "zero", 1, 5 },    { "full", 1, 7 },
		     { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 } };
	static const struct {
		const char *name, *target;
	} links[] = { { "fd", "/proc/self/fd" },       { "stdin", "/proc/self/fd/0" },
		      { "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
		      { "ptmx", "pts/ptmx" },	       { "core", "/proc/kcore" } };
	char path[PATH_MAX], host[64];

	for (size_t i = 0; i < MC_ARRAY_SIZE(devs); i++) {
		snprintf(path, sizeof(path), "%s/dev/%s", root, devs[i].name);
		if (!userns &&
		    mknod(path, S_IFCHR | 0666, makedev(devs[i].maj, devs[i].min)) == 0) {
			/* mknod applies the umask; the nodes must be world-usable. */
			chmod(path, 0666);
			continue;
		}
		if (!userns && errno != EPERM)
			return mc_err_set(err, errno, "mknod `/dev/%s`", devs[i].name);
		/* In a user namespace mknod is refused: bind the host's node instead. */
		int f = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0666);

		if (f < 0)
			return mc_err_set(err, errno, "create `/dev/%s`", devs[i].name);
		close(f);
		snprintf(host, sizeof(host), "/dev/%s", devs[i].name);
		if (mount(host, path, NULL, MS_BIND, NULL) < 0)
			return mc_err_set(err, errno, "bind `/dev/%s`", devs[i].name);
	}
	for (size_t i = 0; i < MC_ARRAY_SIZE(links); i++) {
		snprintf(path, sizeof(path), "%s/dev/%s", root, links[i].name);
		if (symlink(links[i].target, path) < 0 && errno != EEXIST)
			return mc_err_set(err, errno, "symlink `/dev/%s`", links[i].name);
	}
	return 0;
}

/*
 * open_console: a pty from the container's own devpts instance; the master goes to
 * the parent over @sync, the slave becomes /dev/console and the child's stdio.
 */
static int open_console(const char *root, int rootfd, int sync, int *slave_out, struct mc_err *err)
{
	char path[PATH_MAX], target[64];
	mc_autoclose int master = -1, slave = -1, cfd = -1;
	struct rt_sync_msg m = { .type = RT_SYNC_PTY };
	unsigned ptn = 0;
	int unlock = 0;

	snprintf(path, sizeof(path), "%s/dev/pts/ptmx", root);
	master = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return mc_err_set(err, errno, "open a pty master");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &ptn) < 0)
		return mc_err_set(err, errno, "unlock the pty");
	/* TIOCGPTPEER opens the slave through the master: no path lookup to race. */
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return mc_err_set(err, errno, "open the pty slave %u", ptn);
	cfd = mount_target(rootfd, "/dev/console", true, err);
	if (cfd < 0)
		return -err->code;
	fd_path(cfd, target, sizeof(target));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", slave);
	if (mount(path, target, NULL, MS_BIND, NULL) < 0)
		return mc_err_set(err, errno, "bind the pty on `/dev/console`");
	if (rt_sync_send(sync, &m, master) < 0)
		return mc_err_set(err, errno, "send the pty master");
	*slave_out = mc_steal_fd(&slave);
	return 0;
}

static int mask_paths(const struct rt_config *c, struct mc_err *err)
{
	for (size_t i = 0; i < c->n_masked; i++) {
		const char *p = c->masked[i];
		struct stat st;

		if (lstat(p, &st) < 0) {
			if (errno == ENOENT)
				continue;
			return mc_err_set(err, errno, "mask `%s`", p);
		}
		if (S_ISDIR(st.st_mode)) {
			if (mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0") < 0)
				return mc_err_set(err, errno, "mask `%s`", p);
		} else if (mount("/dev/null", p, NULL, MS_BIND, NULL) < 0) {
			return mc_err_set(err, errno, "mask `%s`", p);
		}
	}
	for (size_t i = 0; i < c->n_readonly; i++) {
		const char *p = c->readonly[i];

		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			return mc_err_set(err, errno, "bind `%s`", p);
		}
		if (mount(NULL, p, NULL,
			  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  NULL) < 0)
			return mc_err_set(err, errno, "remount `%s` read-only", p);
	}
	return 0;
}

int rt_rootfs_setup(const struct rt_config *c, const struct mc_rootfs_overlay *ov, int sync,
		    int *console_out, struct mc_err *err)
{
	const char *root = c->root_path;
	mc_autoclose int rootfd = -1;
	bool dev_tmpfs = false;

	/* Security: nothing we mount may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return mc_err_set(err, errno, "make `/` private");
	if (ov && c->lower) {
		rt_phase("child: mounting the overlay");
		if (mc_rootfs_overlay_mount(c->lower, ov, err) < 0)
			return -err->code;
		rt_phase("child: overlay mounted");
	} else if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0) {
		/* pivot_root needs the new root to be a mount point. */
		return mc_err_set(err, errno, "bind rootfs `%s`", root);
	}
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return mc_err_set(err, errno, "open rootfs `%s`", root);
	for (size_t i = 0; i < c->n_mounts; i++) {
		if (do_mount(rootfd, &c->mounts[i], err) < 0)
			return -err->code;
		if (!strcmp(c->mounts[i].destination, "/dev") && c->mounts[i].type &&
		    !strcmp(c->mounts[i].type, "tmpfs"))
			dev_tmpfs = true;
	}
	rt_phase("child: mounts done");
	if (dev_tmpfs && make_devices(root, c->ns[RT_NS_USER], err) < 0)
		return -err->code;
	if (c->terminal && open_console(root, rootfd, sync, console_out, err) < 0)
		return -err->code;

	/* pivot_root(".", "."): the old root ends up under the new one; detach it. */
	if (chdir(root) < 0)
		return mc_err_set(err, errno, "chdir `%s`", root);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return mc_err_set(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return mc_err_set(err, errno, "detach the old root");
	if (chdir("/") < 0)
		return mc_err_set(err, errno, "chdir /");
	if (mask_paths(c, err) < 0)
		return -err->code;
	if (c->root_readonly && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		return mc_err_set(err, errno, "remount `/` read-only");
	return 0;
}
