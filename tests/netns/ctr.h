/* SPDX-License-Identifier: MIT */
/*
 * ctr.h: test "containers": child processes in their own network namespace that
 * serve or dial one TCP connection on command, plus a test "host" namespace with
 * a private state root. Every wait is bounded.
 */
#ifndef MC_TESTS_NETNS_CTR_H
#define MC_TESTS_NETNS_CTR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum ctr_role {
	CTR_IDLE,    /* hold the namespace until told to exit */
	CTR_SERVE,   /* accept one connection on port, send the greeting */
	CTR_CONNECT, /* connect to target:port (name looked up in hosts), expect greeting */
	CTR_SINK,    /* accept one connection on port, read to EOF, report 'h' + struct ctr_sum */
	CTR_SOURCE,  /* connect to target:port, send bytes of stream(seed), report '1'/'0';
		      * with pause_at, report 'p' after that many and wait for 'g' */
};

/* What a CTR_SINK received: byte count and FNV-1a 64 hash. */
struct ctr_sum {
	uint64_t bytes, hash;
};

struct ctr {
	pid_t pid;
	int to_child;	/* write end: 'g' starts the role */
	int from_child; /* read end: 'r' ready, 'l' listening, '1'/'0' result */
};

struct ctr_spec {
	enum ctr_role role;
	uint16_t port;
	const char *target;   /* CTR_CONNECT: an IPv4 address or a name from hosts */
	const char *hosts;    /* CTR_CONNECT: the hosts file to resolve names with */
	const char *greeting; /* sent by CTR_SERVE, expected by CTR_CONNECT */
	int timeout_ms;	      /* for accept/connect/read */
	uint64_t bytes, seed; /* CTR_SOURCE: how much of which stream to send */
	uint64_t pause_at;    /* CTR_SOURCE: 0, or where to pause (a multiple of 64 KiB) */
};

/* ctr_spawn: forks the child, which unshares its netns and reports 'r'. 0 or -1. */
int ctr_spawn(struct ctr *c, const struct ctr_spec *spec);
/* ctr_go: lets the child run its role. */
int ctr_go(struct ctr *c);
/* ctr_wait: the next status byte within @ms milliseconds, or -1. */
int ctr_wait(struct ctr *c, int ms);
/* ctr_read_sum: after a CTR_SINK reported 'h', its struct ctr_sum. 0 or -1. */
int ctr_read_sum(struct ctr *c, struct ctr_sum *sum, int ms);
/* stream_sum: the ctr_sum of the first @bytes of stream(@seed), as a sink would see it. */
struct ctr_sum stream_sum(uint64_t seed, uint64_t bytes);
/* ctr_kill: SIGKILL and reap. */
void ctr_kill(struct ctr *c);
/* hosts_lookup: the address of @name in hosts file @path, into @ip (16 bytes). */
int hosts_lookup(const char *path, const char *name, char *ip);
/* tcp_probe: connect to ip:port from the current netns and read the greeting. */
bool tcp_probe(const char *ip, uint16_t port, const char *greeting, int timeout_ms);
/* kill_pids: SIGKILL and reap every nonzero pid in @pids. */
void kill_pids(pid_t *pids, int n);

#endif
