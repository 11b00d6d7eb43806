/* SPDX-License-Identifier: MIT */
/* ctr.c: the test containers of ctr.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mc/util.h>

#include "ctr.h"

int hosts_lookup(const char *path, const char *name, char *ip)
{
	FILE *f = fopen(path, "re");
	char line[512];
	int found = -1;

	if (!f)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		char *save = NULL, *addr = strtok_r(line, " \t\n", &save), *tok;

		if (!addr || addr[0] == '#')
			continue;
		while ((tok = strtok_r(NULL, " \t\n", &save))) {
			if (strcmp(tok, name) == 0 && strlen(addr) < 16) {
				strcpy(ip, addr);
				found = 0;
				break;
			}
		}
	}
	fclose(f);
	return found;
}

static int wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r == 1 ? 0 : -1;
}

bool tcp_probe(const char *ip, uint16_t port, const char *greeting, int timeout_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	char buf[128] = { 0 };
	int fd, soerr = 0;
	socklen_t sl = sizeof(soerr);
	size_t got = 0, want = strlen(greeting);
	bool ok = false;

	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return false;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		goto out;
	if (wait_fd(fd, POLLOUT, timeout_ms) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr)
		goto out;
	while (got < want && got < sizeof(buf) - 1) {
		ssize_t n;

		if (wait_fd(fd, POLLIN, timeout_ms) < 0)
			goto out;
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	ok = got == want && memcmp(buf, greeting, want) == 0;
out:
	close(fd);
	return ok;
}

static int serve_once(const struct ctr_spec *s, int out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(s->port) };
	int one = 1, lfd, cfd;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 8) < 0)
		return -1;
	if (write(out, "l", 1) != 1)
		return -1;
	/* Serve until told to stop (the parent closes our pipe) or the timeout. */
	for (;;) {
		if (wait_fd(lfd, POLLIN, s->timeout_ms) < 0)
			return 0;
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		if (write(cfd, s->greeting, strlen(s->greeting)) < 0) {
			/* the client may have gone: serve the next one */
		}
		close(cfd);
	}
}

/* The bulk stream: xorshift64 words from @seed, so any prefix is reproducible. */
static void stream_fill(uint64_t *state, uint64_t *buf, size_t words)
{
	for (size_t i = 0; i < words; i++) {
		uint64_t x = *state;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*state = x;
		buf[i] = x;
	}
}

static void fnv(struct ctr_sum *sum, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sum->hash = (sum->hash ^ p[i]) * 0x100000001b3ull;
	sum->bytes += n;
}

#define FNV_INIT 0xcbf29ce484222325ull
#define BULK_CHUNK (64 * 1024)

struct ctr_sum stream_sum(uint64_t seed, uint64_t bytes)
{
	static uint64_t buf[BULK_CHUNK / 8];
	struct ctr_sum sum = { .hash = FNV_INIT };
	uint64_t state = seed | 1;

	while (sum.bytes < bytes) {
		size_t n = bytes - sum.bytes < BULK_CHUNK ? bytes - sum.bytes : BULK_CHUNK;

		stream_fill(&state, buf, BULK_CHUNK / 8);
		fnv(&sum, (const unsigned char *)buf, n);
	}
	return sum;
}

static int sink_once(const struct ctr_spec *s, int out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(s->port) };
	static unsigned char buf[BULK_CHUNK];
	struct ctr_sum sum = { .hash = FNV_INIT };
	int one = 1, lfd, cfd;
	ssize_t n;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0 ||
	    write(out, "l", 1) != 1 || wait_fd(lfd, POLLIN, s->timeout_ms) < 0)
		return -1;
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return -1;
	while (wait_fd(cfd, POLLIN, s->timeout_ms) == 0 && (n = read(cfd, buf, sizeof(buf))) > 0)
		fnv(&sum, buf, (size_t)n);
	close(cfd);
	if (write(out, "h", 1) != 1 || write(out, &sum, sizeof(sum)) != sizeof(sum))
		return -1;
	return 0;
}

static bool source_once(const struct ctr_spec *s, const char *ip, int in, int out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(s->port) };
	static uint64_t buf[BULK_CHUNK / 8];
	uint64_t state = s->seed | 1, sent = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = false;

	struct timeval tv = { .tv_sec = s->timeout_ms / 1000,
			      .tv_usec = (s->timeout_ms % 1000) * 1000 };

	if (fd < 0 || inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return false;
	/* Every blocking write is bounded too. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	while (sent < s->bytes) {
		size_t n = s->bytes - sent < BULK_CHUNK ? s->bytes - sent : BULK_CHUNK;
		char c;

		if (s->pause_at && sent == s->pause_at &&
		    (write(out, "p", 1) != 1 || wait_fd(in, POLLIN, s->timeout_ms) < 0 ||
		     read(in, &c, 1) != 1 || c != 'g'))
			goto out;
		stream_fill(&state, buf, BULK_CHUNK / 8);
		if (wait_fd(fd, POLLOUT, s->timeout_ms) < 0 || mc_write_all(fd, buf, n) < 0)
			goto out;
		sent += n;
	}
	ok = true;
out:
	close(fd);
	return ok;
}

static void child(const struct ctr_spec *s, int in, int out)
{
	char c, ip[16];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unshare(CLONE_NEWNET) < 0 || write(out, "r", 1) != 1)
		_exit(1);
	if (read(in, &c, 1) != 1 || c != 'g')
		_exit(0);
	switch (s->role) {
	case CTR_IDLE:
		while (read(in, &c, 1) > 0)
			;
		_exit(0);
	case CTR_SERVE:
		_exit(serve_once(s, out) < 0 ? 1 : 0);
	case CTR_CONNECT:
		if (inet_pton(AF_INET, s->target, &(struct in_addr){ 0 }) == 1)
			snprintf(ip, sizeof(ip), "%s", s->target);
		else if (hosts_lookup(s->hosts, s->target, ip) < 0) {
			if (write(out, "n", 1) != 1)
				_exit(1);
			_exit(1);
		}
		c = tcp_probe(ip, s->port, s->greeting, s->timeout_ms) ? '1' : '0';
		if (write(out, &c, 1) != 1)
			_exit(1);
		_exit(0);
	case CTR_SINK:
		_exit(sink_once(s, out) < 0 ? 1 : 0);
	case CTR_SOURCE:
		c = source_once(s, s->target, in, out) ? '1' : '0';
		if (write(out, &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	_exit(1);
}

int ctr_spawn(struct ctr *c, const struct ctr_spec *spec)
{
	int a[2], b[2];

	c->pid = -1;
	if (pipe2(a, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(b, O_CLOEXEC) < 0) {
		close(a[0]);
		close(a[1]);
		return -1;
	}
	c->pid = fork();
	if (c->pid == 0) {
		close(a[1]);
		close(b[0]);
		child(spec, a[0], b[1]);
	}
	close(a[0]);
	close(b[1]);
	c->to_child = a[1];
	c->from_child = b[0];
	if (c->pid < 0 || ctr_wait(c, 5000) != 'r')
		return -1;
	return 0;
}

int ctr_go(struct ctr *c)
{
	return write(c->to_child, "g", 1) == 1 ? 0 : -1;
}

int ctr_wait(struct ctr *c, int ms)
{
	char ch;

	if (wait_fd(c->from_child, POLLIN, ms) < 0 || read(c->from_child, &ch, 1) != 1)
		return -1;
	return (unsigned char)ch;
}

int ctr_read_sum(struct ctr *c, struct ctr_sum *sum, int ms)
{
	if (wait_fd(c->from_child, POLLIN, ms) < 0 ||
	    read(c->from_child, sum, sizeof(*sum)) != sizeof(*sum))
		return -1;
	return 0;
}

void ctr_kill(struct ctr *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	c->pid = -1;
	if (c->to_child >= 0)
		close(c->to_child);
	if (c->from_child >= 0)
		close(c->from_child);
	c->to_child = c->from_child = -1;
}

void kill_pids(pid_t *pids, int n)
{
	for (int i = 0; i < n; i++) {
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			/* Our child in the test process; after a crash, reparented (ECHILD). */
			waitpid(pids[i], NULL, 0);
			pids[i] = 0;
		}
	}
}
