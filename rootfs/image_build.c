/* SPDX-License-Identifier: MIT */
/*
 * image_build.c: `image build busybox|dist`: the trees are made in a temporary
 * directory below DATA_ROOT and imported into the image store as a new version of
 * the image, with a commit message saying what was built.
 */
#include <mc/rootfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mc/common.h>

#define BUSYBOX_PATH "/bin/busybox"

static int write_text(const char *root, const char *rel, const char *text, mode_t mode,
		      struct mc_err *err)
{
	char path[PATH_MAX];
	mc_autoclose int fd = -1;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return mc_err_set(err, errno, "create `%s`", path);
	if (mc_write_all(fd, text, strlen(text)) < 0)
		return mc_err_set(err, errno, "write `%s`", path);
	return 0;
}

/* copy_file: copies @src to @dst (mode of the source), creating parent directories. */
static int copy_file(const char *src, const char *dst, struct mc_err *err)
{
	char buf[65536], parent[PATH_MAX];
	mc_autoclose int in = -1, out = -1;
	struct stat st;
	ssize_t r;

	mc_strlcpy(parent, dst, sizeof(parent));
	*strrchr(parent, '/') = '\0';
	if (mc_fs_mkdir_p(parent, 0755, err) < 0)
		return -err->code;
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0)
		return mc_err_set(err, errno, "open `%s`", src);
	unlink(dst);
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
	if (out < 0)
		return mc_err_set(err, errno, "create `%s`", dst);
	while ((r = read(in, buf, sizeof(buf))) > 0)
		if (mc_write_all(out, buf, (size_t)r) < 0)
			return mc_err_set(err, errno, "write `%s`", dst);
	if (r < 0)
		return mc_err_set(err, errno, "read `%s`", src);
	return 0;
}

/* busybox_version: "BusyBox v1.36.1 (Debian 1:1.36.1-6)" from the banner of --help. */
static void busybox_version(char *out, size_t size)
{
	FILE *f = popen(BUSYBOX_PATH " --help 2>&1", "re");
	char line[256] = "";
	char *end;

	mc_strlcpy(out, "busybox", size);
	if (!f)
		return;
	/* Best-effort: the version only decorates the commit message. */
	if (fgets(line, sizeof(line), f) && mc_str_has_prefix(line, "BusyBox ")) {
		line[strcspn(line, "\n")] = '\0';
		end = strstr(line, " multi-call");
		if (end)
			*end = '\0';
		mc_strlcpy(out, line, size);
	}
	pclose(f);
}

/* busybox_tree: the base layout, busybox and one symlink per applet; the link count. */
static int busybox_tree(const char *root, struct mc_err *err)
{
	static const char *const dirs[] = { "bin",  "sbin",    "usr/bin", "usr/sbin", "etc",
					    "proc", "sys",     "dev",	  "root",     "var",
					    "run",  "var/log", "home",	  "mnt",      "tmp" };
	char path[PATH_MAX], line[512];
	FILE *list = NULL;
	int bad = 0, links = 0;

	for (size_t i = 0; i < MC_ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		if (mc_fs_mkdir_p(path, 0755, err) < 0)
			return -err->code;
	}
	snprintf(path, sizeof(path), "%s/tmp", root);
	chmod(path, 01777);
	snprintf(path, sizeof(path), "%s/root", root);
	chmod(path, 0700);
	snprintf(path, sizeof(path), "%s/bin/busybox", root);
	if (copy_file(BUSYBOX_PATH, path, err) < 0)
		return mc_err_wrap(err, "busybox (install Debian's busybox-static)");
	list = popen(BUSYBOX_PATH " --list-full", "re");
	if (!list)
		return mc_err_set(err, errno, "run `busybox --list-full`");
	while (fgets(line, sizeof(line), list)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || strstr(line, "..") || line[0] == '/' ||
		    !strcmp(line, "bin/busybox"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, line);
		if (symlink("/bin/busybox", path) < 0 && errno != EEXIST) {
			bad = mc_err_set(err, errno, "symlink `%s`", path);
			break;
		}
		links++;
	}
	if (pclose(list) != 0 && !bad)
		return mc_err_setx(err, EIO, "`busybox --list-full` failed");
	if (bad)
		return bad;
	if (write_text(root, "etc/passwd",
		       "root:x:0:0:root:/root:/bin/sh\n"
		       "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		       0644, err) < 0 ||
	    write_text(root, "etc/group", "root:x:0:\nnogroup:x:65534:\n", 0644, err) < 0 ||
	    write_text(root, "etc/hostname", "", 0644, err) < 0 ||
	    write_text(root, "etc/hosts", "", 0644, err) < 0 ||
	    write_text(root, "etc/resolv.conf", "", 0644, err) < 0)
		return -err->code;
	return links;
}

/*
 * Parses one line of ldd output and copies the library it names into @root at the
 * same absolute path. Lines: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)",
 * "/lib64/ld-linux-x86-64.so.2 (0x...)", "linux-vdso.so.1 (0x...)" (no file).
 */
static int copy_ldd_line(const char *root, char *line, struct mc_err *err)
{
	char *p = strstr(line, "=> "), *end, real[PATH_MAX], dst[PATH_MAX];

	p = p ? p + 3 : line;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '/')
		return 0;
	end = strchr(p, ' ');
	if (end)
		*end = '\0';
	if (!realpath(p, real))
		return mc_err_set(err, errno, "library `%s`", p);
	snprintf(dst, sizeof(dst), "%s%s", root, p);
	return copy_file(real, dst, err);
}

static int is_elf(const char *path)
{
	unsigned char m[4];
	mc_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd >= 0 && read(fd, m, 4) == 4 && !memcmp(m, "\177ELF", 4);
}

/* dist_programs: copies each ELF program of @from into /usr/bin and its libraries. */
static int dist_programs(const char *root, const char *from, struct mc_err *err)
{
	/* From a system directory take only the project's programs, not the whole system. */
	static const char *const ours[] = { "mycontainer",  "kvstore", "kv-server", "raft-node",
					    "loadbalancer", "backend", "httpd",	    "tcpserver",
					    "minigit",	    "lox" };
	bool system = !strcmp(from, "/usr/bin") || !strcmp(from, "/bin") ||
		      !strcmp(from, "/usr/local/bin") || !strcmp(from, "/usr/sbin");
	mc_autoclosedir DIR *d = opendir(from);
	struct dirent *de;
	int count = 0;

	if (!d)
		return mc_err_set(err, errno, "open `%s`", from);
	while ((de = readdir(d))) {
		char src[PATH_MAX], dst[PATH_MAX], cmd[PATH_MAX + 32], line[PATH_MAX];
		FILE *ldd = NULL;
		bool wanted = !system;
		int bad = 0;

		if (de->d_name[0] == '.')
			continue;
		for (size_t i = 0; i < MC_ARRAY_SIZE(ours) && !wanted; i++)
			wanted = !strcmp(ours[i], de->d_name);
		snprintf(src, sizeof(src), "%s/%s", from, de->d_name);
		if (!wanted || access(src, X_OK) < 0 || !is_elf(src))
			continue;
		snprintf(dst, sizeof(dst), "%s/usr/bin/%s", root, de->d_name);
		if (copy_file(src, dst, err) < 0)
			return -err->code;
		/* The name is a plain directory entry; quote it for the shell anyway. */
		if (strchr(src, '\''))
			continue;
		snprintf(cmd, sizeof(cmd), "ldd '%s' 2>/dev/null", src);
		ldd = popen(cmd, "re");
		if (!ldd)
			return mc_err_set(err, errno, "run ldd");
		while (!bad && fgets(line, sizeof(line), ldd)) {
			line[strcspn(line, "\n")] = '\0';
			bad = copy_ldd_line(root, line, err);
		}
		/* ldd exits non-zero for static programs: nothing to copy then. */
		pclose(ldd);
		if (bad)
			return bad;
		count++;
	}
	return count;
}

int mc_rootfs_image_build(const char *data_root, const char *kind, const char *from_dir,
			  struct mc_err *err)
{
	char tmp[PATH_MAX], root[PATH_MAX], self[PATH_MAX], version[128], msg[PATH_MAX + 256];
	int r, links, progs = 0;

	if (strcmp(kind, "busybox") && strcmp(kind, "dist"))
		return mc_err_setx(err, EINVAL, "unknown image kind `%s` (busybox or dist)", kind);
	/* Below DATA_ROOT, not /tmp: the tree can be large and /tmp may be a small tmpfs. */
	if (snprintf(tmp, sizeof(tmp), "%s/.build-%s.XXXXXX", data_root, kind) >= (int)sizeof(tmp))
		return mc_err_setx(err, ENAMETOOLONG, "data root path too long");
	if (mc_fs_mkdir_p(data_root, 0711, err) < 0)
		return -err->code;
	if (!mkdtemp(tmp))
		return mc_err_set(err, errno, "mkdtemp in `%s`", data_root);
	snprintf(root, sizeof(root), "%s/rootfs", tmp);
	if (mkdir(root, 0755) < 0) {
		r = mc_err_set(err, errno, "mkdir `%s`", root);
		goto out_rm;
	}
	/* mkdir applies the umask; the image root is 0755 whatever ours is. */
	chmod(root, 0755);
	r = links = busybox_tree(root, err);
	if (r < 0)
		goto out_rm;
	busybox_version(version, sizeof(version));
	if (!strcmp(kind, "dist")) {
		if (!from_dir) {
			ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

			if (n < 0) {
				r = mc_err_set(err, errno, "readlink /proc/self/exe");
				goto out_rm;
			}
			self[n] = '\0';
			*strrchr(self, '/') = '\0';
			from_dir = self;
		}
		r = progs = dist_programs(root, from_dir, err);
		if (r < 0)
			goto out_rm;
		snprintf(msg, sizeof(msg),
			 "build dist image: %s with %d applet links, %d programs from %s and "
			 "their shared libraries",
			 version, links, progs, from_dir);
	} else {
		snprintf(msg, sizeof(msg), "build busybox image: %s with %d applet links", version,
			 links);
	}
	r = mc_rootfs_image_import(data_root, kind, root, msg, NULL, err);
out_rm:
	/* Best-effort: the temporary tree is private to this build. */
	mc_fs_rm_rf(tmp, NULL);
	return r < 0 ? r : 0;
}
