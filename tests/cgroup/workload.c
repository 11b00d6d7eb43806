/* SPDX-License-Identifier: MIT */
/* workload.c: test workloads for real cgroups and a cleanup that needs no library. */
#include "workload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void sleeper(void)
{
	alarm(60); /* bound: nothing we start outlives a minute */
	for (;;)
		pause();
}

static int run(enum wl_kind kind, long arg)
{
	switch (kind) {
	case WL_WAIT:
		sleeper();
		return 0;
	case WL_ALLOC: {
		size_t len = (size_t)arg << 20;
		/* volatile: the stores must happen, or the compiler drops them with malloc */
		volatile char *p = malloc(len);

		if (!p)
			return 2;
		for (size_t i = 0; i < len; i += 4096)
			p[i] = 1;
		return p[len - 1];
	}
	case WL_FORKBOMB: {
		int ok = 0, failed = 0;

		for (int i = 0; i < 200 && failed < 5; i++) {
			pid_t c = fork();

			if (c == 0)
				sleeper();
			if (c > 0)
				ok++;
			else
				failed++;
		}
		return failed ? (ok > 250 ? 250 : ok) : 255;
	}
	case WL_SPIN: {
		long end = now_ms() + arg;
		volatile unsigned long x = 0;

		while (now_ms() < end)
			for (int i = 0; i < 10000; i++)
				x += (unsigned long)i;
		return 0;
	}
	case WL_FORKWAIT:
		for (long i = 0; i < arg; i++)
			if (fork() == 0)
				sleeper();
		sleeper();
		return 0;
	}
	return 3;
}

pid_t wl_spawn(enum wl_kind kind, long arg, int *gate)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		char c;

		close(p[1]);
		/* EOF on the gate: the parent attached us (or died; then run anyway, bounded). */
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(run(kind, arg));
	}
	close(p[0]);
	*gate = p[1];
	return pid;
}

void wl_release(int *gate)
{
	if (*gate >= 0)
		close(*gate);
	*gate = -1;
}

int wl_wait(pid_t pid, int timeout_ms)
{
	long end = now_ms() + timeout_ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0)
			return -1;
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		sleep_ms(5);
	}
}

bool wl_proc_in_cgroup(pid_t pid, const char *ctl, const char *rel)
{
	char path[64], line[1024], want[PATH_MAX + 2];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	snprintf(want, sizeof(want), ":/%s\n", rel);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		size_t ll = strlen(line), wl = strlen(want);

		if (!c2 || ll < wl || strcmp(line + ll - wl, want))
			continue;
		*c2 = '\0';
		if (!*ctl) {
			found = c1[1] == '\0';
			continue;
		}
		for (char *tok = strtok(c1 + 1, ","); tok && !found; tok = strtok(NULL, ","))
			found = !strcmp(tok, ctl);
	}
	fclose(f);
	return found;
}

int wl_read(const char *dir, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static void kill_listed(const char *dir)
{
	char path[PATH_MAX], line[32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		int pid = atoi(line);

		if (pid > 1 && pid != getpid())
			kill(pid, SIGKILL);
	}
	fclose(f);
	/* frozen tasks cannot act on SIGKILL: thaw (v1 freezer, v2 cgroup.freeze) */
	snprintf(path, sizeof(path), "%s/freezer.state", dir);
	if (access(path, F_OK) == 0 && (f = fopen(path, "we"))) {
		fputs("THAWED", f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/cgroup.freeze", dir);
	if (access(path, F_OK) == 0 && (f = fopen(path, "we"))) {
		fputs("0", f);
		fclose(f);
	}
}

static int remove_tree(const char *dir, long deadline)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		if (remove_tree(sub, deadline) < 0)
			r = -1;
	}
	closedir(d);
	for (;;) {
		kill_listed(dir);
		if (rmdir(dir) == 0 || errno == ENOENT)
			return r;
		if (errno != EBUSY || now_ms() > deadline)
			return -errno;
		sleep_ms(10);
	}
}

int wl_cleanup_cgroup(const char *mount, const char *rel)
{
	char path[PATH_MAX];

	if (!rel || !*rel || strstr(rel, ".."))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s", mount, rel);
	return remove_tree(path, now_ms() + 5000);
}

size_t wl_v1_mounts(char out[][256], size_t max)
{
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		char path[256];
		struct statfs sfs;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", de->d_name);
		if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		/* 0x27e0eb: cgroup v1; named hierarchies (name=systemd) are not ours */
		if (statfs(path, &sfs) < 0 || sfs.f_type != 0x27e0eb ||
		    !strcmp(de->d_name, "systemd"))
			continue;
		snprintf(out[n++], 256, "%s", path);
	}
	closedir(d);
	return n;
}
