/* SPDX-License-Identifier: MIT */
/*
 * hclient: a test helper for the httpd collection (not run by the runner).
 *   hclient many PORT N PATH   opens N connections at once (all connected before
 *                              any request is sent), sends one GET on each, checks
 *                              every response is a 200; prints "ok N".
 * Exit 0 on success, 1 on any failure (reason on stderr). Loopback only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mc/util.h>

struct c {
	int fd;
	char buf[512];
	size_t len;
	bool done;
};

static int many(int port, int n, const char *path)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct c *cs = calloc((size_t)n, sizeof(*cs));
	struct pollfd *pf = calloc((size_t)n, sizeof(*pf));
	char req[512];
	int reqlen = snprintf(req, sizeof(req),
			      "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < n; i++) {
		cs[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (cs[i].fd < 0 || connect(cs[i].fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			fprintf(stderr, "hclient: connect #%d: %s\n", i, strerror(errno));
			return 1;
		}
	}
	for (int i = 0; i < n; i++)
		if (mc_write_all(cs[i].fd, req, (size_t)reqlen) < 0) {
			fprintf(stderr, "hclient: write #%d: %s\n", i, strerror(errno));
			return 1;
		}
	int left = n, ok = 0;
	uint64_t t0 = mc_time_mono_ns();
	while (left && mc_time_mono_ns() - t0 < 20000000000ull) {
		int k = 0;
		for (int i = 0; i < n; i++)
			if (!cs[i].done)
				pf[k++] = (struct pollfd){ .fd = cs[i].fd, .events = POLLIN };
		if (poll(pf, (nfds_t)k, 1000) <= 0)
			continue;
		for (int j = 0, i = 0; j < k; j++) {
			if (!pf[j].revents)
				continue;
			while (cs[i].fd != pf[j].fd)
				i++;
			ssize_t r = read(cs[i].fd, cs[i].buf + cs[i].len,
					 sizeof(cs[i].buf) - 1 - cs[i].len);
			if (r > 0) {
				cs[i].len += (size_t)r;
				if (cs[i].len < sizeof(cs[i].buf) - 1)
					continue;
			}
			cs[i].buf[cs[i].len] = '\0';
			cs[i].done = true;
			left--;
			if (!strncmp(cs[i].buf, "HTTP/1.1 200 ", 13))
				ok++;
		}
	}
	for (int i = 0; i < n; i++)
		close(cs[i].fd);
	printf("ok %d\n", ok);
	return ok == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (argc == 5 && !strcmp(argv[1], "many"))
		return many(atoi(argv[2]), atoi(argv[3]), argv[4]);
	fprintf(stderr, "usage: hclient many PORT N PATH\n");
	return 64;
}
