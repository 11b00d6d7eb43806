/* SPDX-License-Identifier: MIT */
/*
 * sc_probe.c: runs inside test containers. `sc_probe seccomp` tries mount, unshare,
 * clone with a namespace flag and io_uring_setup and prints one `name=result` line
 * each (ok or the errno name); `sc_probe maps` prints /proc/1/maps; `sc_probe
 * forkbomb N` tries N forks (children sleep), prints forked=X failed=Y, kills them.
 */
#include <signal.h>
#include <stdlib.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *name, long r)
{
	printf("%s=%s\n", name, r < 0 ? strerrorname_np(errno) : "ok");
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "maps")) {
		FILE *f = fopen("/proc/1/maps", "re");
		char line[512];

		if (!f)
			return 1;
		while (fgets(line, sizeof(line), f))
			fputs(line, stdout);
		fclose(f);
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "forkbomb")) {
		int n = atoi(argv[2]), forked = 0, failed = 0;

		for (int i = 0; i < n && i < 1000; i++) {
			pid_t p = fork();

			if (p == 0) {
				sleep(10);
				_exit(0);
			}
			if (p < 0)
				failed++;
			else
				forked++;
		}
		printf("forked=%d failed=%d\n", forked, failed);
		fflush(stdout);
		kill(0, SIGKILL);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "seccomp"))
		return 2;
	report("mount", mount("none", "/mnt", "tmpfs", 0, NULL));
	report("unshare", unshare(CLONE_NEWNET));
	{
		long pid = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, NULL, NULL, NULL, 0);

		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid((pid_t)pid, NULL, 0);
		report("clone_newuts", pid);
	}
	{
		struct io_uring_params p;
		long fd;

		memset(&p, 0, sizeof(p));
		fd = syscall(SYS_io_uring_setup, 4, &p);
		report("io_uring_setup", fd);
		if (fd >= 0)
			close((int)fd);
	}
	return 0;
}
