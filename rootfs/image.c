/* SPDX-License-Identifier: MIT */
/*
 * image.c: images as plain directories DATA_ROOT/images/NAME/rootfs: resolving a
 * name, building the busybox and dist images, listing and removing them.
 */
#include <mc/rootfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mc/common.h>

#define BUSYBOX_PATH "/bin/busybox"

int mc_rootfs_image_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > MC_ROOTFS_IMAGE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '-'))
			continue;
		return 0;
	}
	return 1;
}

int mc_rootfs_image_resolve(const char *data_root, const char *name, char *out, size_t size,
			    struct mc_err *err)
{
	struct stat st;
	int n;

	if (!mc_rootfs_image_name_valid(name))
		return mc_err_setx(err, EINVAL, "invalid image name `%s`", name);
	n = snprintf(out, size, "%s/images/%s/rootfs", data_root, name);
	if (n < 0 || (size_t)n >= size)
		return mc_err_setx(err, ENAMETOOLONG, "image path too long");
	if (stat(out, &st) < 0 || !S_ISDIR(st.st_mode))
		return mc_err_setx(
			err, ENOENT,
			"unknown image `%s` (build it with `mycontainer image build %s`)", name,
			name);
	return 0;
}

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

/* busybox_tree: the base layout, busybox and one symlink per applet. */
static int busybox_tree(const char *root, struct mc_err *err)
{
	static const char *const dirs[] = { "bin",  "sbin",    "usr/bin", "usr/sbin", "etc",
					    "proc", "sys",     "dev",	  "root",     "var",
					    "run",  "var/log", "home",	  "mnt",      "tmp" };
	char path[PATH_MAX], line[512];
	FILE *list = NULL;
	int bad = 0;

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
	return 0;
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
	char images[PATH_MAX], tmp[PATH_MAX], root[PATH_MAX], final[PATH_MAX], old[PATH_MAX];
	char self[PATH_MAX];
	int r;

	if (strcmp(kind, "busybox") && strcmp(kind, "dist"))
		return mc_err_setx(err, EINVAL, "unknown image kind `%s` (busybox or dist)", kind);
	snprintf(images, sizeof(images), "%s/images", data_root);
	if (mc_fs_mkdir_p(images, 0711, err) < 0)
		return -err->code;
	snprintf(tmp, sizeof(tmp), "%s/.build-%s.XXXXXX", images, kind);
	if (!mkdtemp(tmp))
		return mc_err_set(err, errno, "mkdtemp in `%s`", images);
	chmod(tmp, 0755);
	snprintf(root, sizeof(root), "%s/rootfs", tmp);
	if (mkdir(root, 0755) < 0) {
		r = mc_err_set(err, errno, "mkdir `%s`", root);
		goto out_rm;
	}
	r = busybox_tree(root, err);
	if (r < 0)
		goto out_rm;
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
		r = dist_programs(root, from_dir, err);
		if (r < 0)
			goto out_rm;
	}
	snprintf(final, sizeof(final), "%s/%s", images, kind);
	snprintf(old, sizeof(old), "%s/.old-%s.%d", images, kind, (int)getpid());
	/* Replace atomically: the old tree moves aside and is removed after the rename. */
	if (rename(final, old) < 0 && errno != ENOENT) {
		r = mc_err_set(err, errno, "rename `%s`", final);
		goto out_rm;
	}
	if (rename(tmp, final) < 0) {
		r = mc_err_set(err, errno, "rename `%s` to `%s`", tmp, final);
		rename(old, final);
		goto out_rm;
	}
	mc_fs_rm_rf(old, NULL);
	return 0;
out_rm:
	mc_fs_rm_rf(tmp, NULL);
	return r;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void mc_rootfs_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int mc_rootfs_image_list(const char *data_root, char ***names, size_t *n, struct mc_err *err)
{
	char path[PATH_MAX], rp[PATH_MAX];
	mc_autoclosedir DIR *d = NULL;
	struct dirent *de;
	char **v = NULL;
	size_t cnt = 0;

	snprintf(path, sizeof(path), "%s/images", data_root);
	d = opendir(path);
	if (!d && errno != ENOENT)
		return mc_err_set(err, errno, "open `%s`", path);
	while (d && (de = readdir(d))) {
		struct stat st;
		char **nv;

		if (!mc_rootfs_image_name_valid(de->d_name))
			continue;
		snprintf(rp, sizeof(rp), "%s/%s/rootfs", path, de->d_name);
		if (stat(rp, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv || !(nv[cnt] = strdup(de->d_name))) {
			mc_rootfs_names_free(nv ? nv : v, cnt);
			return mc_err_set(err, ENOMEM, "list images");
		}
		v = nv;
		cnt++;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmpstr);
	*names = v;
	*n = cnt;
	return 0;
}

int mc_rootfs_image_rm(const char *data_root, const char *name, struct mc_err *err)
{
	char path[PATH_MAX], tmp[PATH_MAX];

	if (mc_rootfs_image_resolve(data_root, name, path, sizeof(path), err) < 0)
		return -err->code;
	snprintf(path, sizeof(path), "%s/images/%s", data_root, name);
	snprintf(tmp, sizeof(tmp), "%s/images/.rm-%s.%d", data_root, name, (int)getpid());
	/* Rename first so a half-removed tree is never visible under the image's name. */
	if (rename(path, tmp) < 0)
		return mc_err_set(err, errno, "rename `%s`", path);
	return mc_fs_rm_rf(tmp, err);
}
