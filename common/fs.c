/* SPDX-License-Identifier: MIT */
/* fs.c: durable writes, whole-file reads, mkdir -p and a mount-safe rm -rf. */
#include <mc/cleanup.h>
#include <mc/util.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mc_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t mc_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, r = 0;

	if (mc_strlcpy(dir, path, sizeof(dir)) >= sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int mc_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		       struct mc_err *err)
{
	char tmp[PATH_MAX];
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= sizeof(tmp))
		return mc_err_set(err, ENAMETOOLONG, "write `%s`", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return mc_err_set(err, errno, "create temp file for `%s`", path);
	r = mc_write_all(fd, data, len);
	if (r < 0) {
		mc_err_set(err, -r, "write `%s`", tmp);
		goto out_unlink;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		r = mc_err_set(err, errno, "sync `%s`", tmp);
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = mc_err_set(err, errno, "close `%s`", tmp);
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		r = mc_err_set(err, errno, "rename `%s` to `%s`", tmp, path);
		goto out_unlink;
	}
	r = fsync_dir_of(path);
	if (r < 0)
		return mc_err_set(err, -r, "sync directory of `%s`", path);
	return 0;

out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}

int mc_fs_read_file(const char *path, char **out, size_t *lenp, size_t max, struct mc_err *err)
{
	mc_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, len = 0;
	char *buf;

	if (fd < 0)
		return mc_err_set(err, errno, "open `%s`", path);
	buf = malloc(cap);
	if (!buf)
		return mc_err_set(err, ENOMEM, "read `%s`", path);
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb;

			if (cap >= max + 1) {
				free(buf);
				return mc_err_set(err, EFBIG, "read `%s`", path);
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return mc_err_set(err, ENOMEM, "read `%s`", path);
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return mc_err_set(err, errno, "read `%s`", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			free(buf);
			return mc_err_set(err, EFBIG, "read `%s`", path);
		}
	}
	buf[len] = '\0';
	*out = buf;
	if (lenp)
		*lenp = len;
	return 0;
}

int mc_fs_write_str(const char *path, const char *s, struct mc_err *err)
{
	mc_autoclose int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t n;

	if (fd < 0)
		return mc_err_set(err, errno, "open `%s`", path);
	/* Kernel files take the value in one write; a short write is a rejected value. */
	n = write(fd, s, len);
	if (n < 0)
		return mc_err_set(err, errno, "write `%s` to `%s`", s, path);
	if ((size_t)n != len)
		return mc_err_set(err, EIO, "short write of `%s` to `%s`", s, path);
	return 0;
}

int mc_fs_read_str(const char *path, char *buf, size_t size, struct mc_err *err)
{
	mc_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return mc_err_set(err, errno, "open `%s`", path);
	n = mc_read_all(fd, buf, size - 1);
	if (n < 0)
		return mc_err_set(err, (int)-n, "read `%s`", path);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return (int)n;
}

int mc_fs_mkdir_p(const char *path, mode_t mode, struct mc_err *err)
{
	char buf[PATH_MAX];
	size_t len;

	if ((len = mc_strlcpy(buf, path, sizeof(buf))) >= sizeof(buf))
		return mc_err_set(err, ENAMETOOLONG, "mkdir `%s`", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return mc_err_set(err, errno, "mkdir `%s`", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return mc_err_set(err, errno, "mkdir `%s`", buf);
	return 0;
}

/* Removes everything below the directory open at @dfd (on device @dev). */
static int rm_children(int dfd, dev_t dev, const char *path, struct mc_err *err)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		close(dfd);
		return mc_err_set(err, errno, "open directory `%s`", path);
	}
	while (r == 0 && (errno = 0, de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			r = mc_err_set(err, errno, "stat `%s/%s`", path, de->d_name);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int cfd;

			/* Never cross into another filesystem: that would empty a bind mount. */
			if (st.st_dev != dev) {
				r = mc_err_set(err, EBUSY, "remove `%s/%s`: a mount point", path,
					       de->d_name);
				break;
			}
			cfd = openat(dirfd(d), de->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0) {
				r = mc_err_set(err, errno, "open `%s/%s`", path, de->d_name);
				break;
			}
			r = rm_children(cfd, dev, path, err);
			if (r == 0 && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
				r = mc_err_set(err, errno, "rmdir `%s/%s`", path, de->d_name);
		} else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
			r = mc_err_set(err, errno, "unlink `%s/%s`", path, de->d_name);
		}
	}
	if (r == 0 && errno)
		r = mc_err_set(err, errno, "read directory `%s`", path);
	closedir(d);
	return r;
}

int mc_fs_rm_rf(const char *path, struct mc_err *err)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : mc_err_set(err, errno, "stat `%s`", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return mc_err_set(err, errno, "unlink `%s`", path);
		return 0;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mc_err_set(err, errno, "open `%s`", path);
	r = rm_children(fd, st.st_dev, path, err);
	if (r < 0)
		return r;
	if (rmdir(path) < 0 && errno != ENOENT)
		return mc_err_set(err, errno, "rmdir `%s`", path);
	return 0;
}
