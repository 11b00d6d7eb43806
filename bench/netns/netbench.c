/* SPDX-License-Identifier: MIT */
/*
 * netbench.c: measures, inside a private network namespace, TCP throughput
 * container -> container over a libmcnetns bridge against the same transfer over
 * loopback, and the wall time of mc_netns_attach + mc_netns_detach.
 *   usage: netbench [SECONDS_PER_RUN] [ROUNDS] [ATTACH_ITERS] [NETWORK_MTU] [LO_GSO_MAX]
 * LO_GSO_MAX (default 0: the kernel's default) raises lo's IPv4 GSO/GRO limit in the
 * benchmark's private namespace, to compare with loopback given BIG TCP by hand too.
 * Environment: NETBENCH_ONLY=lo|br runs only that transfer in each round (to profile
 * one path with perf); NETBENCH_HOST_LO=1 runs the loopback transfer over the
 * caller's (the host's) lo instead of the private namespace's, to see whether the
 * host's own netfilter makes its loopback differ.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mc/netlink.h>
#include <mc/netns.h>
#include <mc/util.h>

#define CHUNK (128 * 1024)
#define PORT 5201

static double now(void)
{
	return (double)mc_time_mono_ns() / 1e9;
}

static void die(const char *what, const struct mc_err *err)
{
	fprintf(stderr, "netbench: %s: %s\n", what, err ? err->msg : strerror(errno));
	exit(1);
}

/*
 * Fairness: in both runs (loopback and bridge) the receiver is pinned to CPU 1 and
 * the sender to CPU 0 (when there are two), so neither transfer gets a luckier
 * placement; the loopback sender restores its mask afterwards.
 */
static cpu_set_t all_cpus;

static void pin(int cpu)
{
	cpu_set_t set;

	if (CPU_COUNT(&all_cpus) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Accepts one connection and drains it; returns the bytes received. */
static int serve(int ready_fd, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	static char buf[CHUNK];
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0), c;

	pin(1);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0) {
		fprintf(stderr, "netbench: listen on port %u: %s\n", port, strerror(errno));
		return 1;
	}
	if (write(ready_fd, "l", 1) != 1)
		return 1;
	c = accept(l, NULL, NULL);
	if (c < 0)
		return 1;
	while (read(c, buf, sizeof(buf)) > 0)
		;
	close(c);
	close(l);
	return 0;
}

/* Sends for @secs seconds; returns bytes per second. */
static double blast(const char *ip, uint16_t port, double secs)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	static char buf[CHUNK];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	double t0, t;
	uint64_t sent = 0;

	pin(0);
	inet_pton(AF_INET, ip, &sa.sin_addr);
	for (int i = 0; i < 100; i++) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		usleep(10000);
		if (i == 99)
			return -1;
	}
	t0 = now();
	do {
		ssize_t n = write(fd, buf, sizeof(buf));

		if (n <= 0)
			return -1;
		sent += (uint64_t)n;
		t = now();
	} while (t - t0 < secs);
	close(fd);
	return (double)sent / (t - t0);
}

struct child {
	pid_t pid;
	int in, out;
};

/* A "container": forks, unshares its netns, reports 'r', then runs @role on 'g'. */
static struct child spawn(int role, const char *ip, double secs)
{
	int a[2], b[2];
	struct child c;
	char ch;

	if (pipe(a) < 0 || pipe(b) < 0)
		die("pipe", NULL);
	c.pid = fork();
	if (c.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNET) < 0 || write(b[1], "r", 1) != 1)
			_exit(1);
		if (read(a[0], &ch, 1) != 1)
			_exit(0);
		if (role == 0)
			_exit(serve(b[1], PORT));
		double bps = blast(ip, PORT, secs);

		if (write(b[1], &bps, sizeof(bps)) != sizeof(bps))
			_exit(1);
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	c.in = a[1];
	c.out = b[0];
	if (read(c.out, &ch, 1) != 1 || ch != 'r')
		die("spawn", NULL);
	return c;
}

static void reap(struct child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->in);
	close(c->out);
}

/*
 * Experiments without rebuilding: the shell command in the environment variable
 * @var (if set) runs in the benchmark's namespace with SRV_PID, CLI_PID (the two
 * containers) and SRV_VETH, CLI_VETH (their host ends) exported, e.g.
 * NETBENCH_ATTACH_CMD='nsenter -t $CLI_PID -n ip link set eth0 gso_ipv4_max_size 65536'.
 * Results taken with one are not the benchmark's: say which command was used.
 */
static void hook(const char *var, pid_t srv, pid_t cli, const char *srv_veth, const char *cli_veth)
{
	const char *cmd = getenv(var);
	char num[16];

	if (!cmd || !*cmd)
		return;
	snprintf(num, sizeof(num), "%d", (int)srv);
	setenv("SRV_PID", num, 1);
	snprintf(num, sizeof(num), "%d", (int)cli);
	setenv("CLI_PID", num, 1);
	setenv("SRV_VETH", srv_veth, 1);
	setenv("CLI_VETH", cli_veth, 1);
	if (system(cmd) != 0) {
		fprintf(stderr, "netbench: %s: '%s' failed\n", var, cmd);
		exit(1);
	}
}

/* NETBENCH_BR_GSO=N (an experiment): the IPv4 GSO/GRO limits of a veth end, in the
 * netns of @pid (-1: the benchmark's). */
static void set_gso(pid_t pid, const char *dev, uint32_t bytes)
{
	struct mc_err err = { 0 };
	struct mc_netns_nl *nl = NULL;
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), fd = -1;
	char path[64];

	if (pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			die(path, NULL);
	}
	if (mc_netns_nl_open(&nl, &err) < 0 || mc_netns_link_set_gso_max(nl, dev, bytes, &err) < 0)
		die("NETBENCH_BR_GSO", &err);
	mc_netns_nl_close(nl);
	if (pid > 0 && setns(self, CLONE_NEWNET) < 0)
		die("setns back", NULL);
	if (fd >= 0)
		close(fd);
	close(self);
}

static double bridge_run(const struct mc_netns_ctx *ctx, double secs)
{
	struct mc_err err = { 0 };
	struct mc_netns_attachment at;
	struct child s = spawn(0, NULL, 0), c;
	struct mc_netns_attach_req req = {
		.network = "bench", .ctr_id = "srv", .pid = s.pid, .nsfd = -1
	};
	char ch, ip[16], veth0[16], veth[16];
	double bps = -1;

	if (mc_netns_attach(ctx, &req, &at, &err) < 0)
		die("attach", &err);
	snprintf(ip, sizeof(ip), "%s", at.ip);
	snprintf(veth0, sizeof(veth0), "%s", at.veth);
	c = spawn(1, ip, secs);
	req.ctr_id = "cli";
	req.pid = c.pid;
	if (mc_netns_attach(ctx, &req, &at, &err) < 0)
		die("attach", &err);
	snprintf(veth, sizeof(veth), "%s", at.veth);
	hook("NETBENCH_ATTACH_CMD", s.pid, c.pid, veth0, veth);
	if (getenv("NETBENCH_BR_GSO")) {
		uint32_t gso = (uint32_t)atoi(getenv("NETBENCH_BR_GSO"));

		set_gso(-1, veth0, gso);
		set_gso(-1, veth, gso);
		set_gso(s.pid, "eth0", gso);
		set_gso(c.pid, "eth0", gso);
	}
	if (write(s.in, "g", 1) != 1 || read(s.out, &ch, 1) != 1 || write(c.in, "g", 1) != 1 ||
	    read(c.out, &bps, sizeof(bps)) != sizeof(bps))
		die("bridge run", NULL);
	reap(&s);
	reap(&c);
	mc_netns_detach(ctx, NULL, "srv", &err);
	mc_netns_detach(ctx, NULL, "cli", &err);
	return bps;
}

/*
 * Loopback in the benchmark's private namespace, or with @host_ns >= 0 in the
 * caller's (the host's) namespace, where another port than the private one's is
 * used: something on the host may be listening on PORT.
 */
static double loopback_run(double secs, int host_ns, int own_ns)
{
	uint16_t port = host_ns >= 0 ? PORT + 17 : PORT;
	int p[2];
	char ch;
	pid_t pid;
	double bps;

	if (pipe(p) < 0)
		die("pipe", NULL);
	if (host_ns >= 0 && setns(host_ns, CLONE_NEWNET) < 0)
		die("setns to the host's netns", NULL);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(serve(p[1], port));
	}
	if (read(p[0], &ch, 1) != 1)
		die("loopback server", NULL);
	bps = blast("127.0.0.1", port, secs);
	if (host_ns >= 0 && setns(own_ns, CLONE_NEWNET) < 0)
		die("setns back to the private netns", NULL);
	sched_setaffinity(0, sizeof(all_cpus), &all_cpus);
	waitpid(pid, NULL, 0);
	close(p[0]);
	close(p[1]);
	return bps;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3;
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	int iters = argc > 3 ? atoi(argv[3]) : 50;
	unsigned mtu = argc > 4 ? (unsigned)atoi(argv[4]) : 0; /* 0: the default */
	uint32_t lo_gso = argc > 5 ? (uint32_t)atoi(argv[5]) : 0;
	struct mc_err err = { 0 };
	struct mc_netns_nl *nl = NULL;
	char root[] = "/tmp/mc-netbench.XXXXXX";
	struct mc_netns_ctx ctx = { .state_root = root };
	double lo_sum = 0, br_sum = 0, att_min = 1e9, att_sum = 0, ratios[10];
	const char *only = getenv("NETBENCH_ONLY"), *host_lo = getenv("NETBENCH_HOST_LO");
	bool run_lo = !only || strcmp(only, "lo") == 0, run_br = !only || strcmp(only, "br") == 0;
	int host_ns = -1, own_ns;

	if (secs <= 0 || secs > 30 || rounds < 1 || rounds > 10 || iters < 1 || iters > 1000) {
		fprintf(stderr, "netbench: usage: netbench [SECONDS 0-30] [ROUNDS 1-10] [ITERS]\n");
		return 2;
	}
	if (only && !run_lo && !run_br) {
		fprintf(stderr, "netbench: NETBENCH_ONLY: '%s' is neither lo nor br\n", only);
		return 2;
	}
	if (host_lo && strcmp(host_lo, "1") == 0) {
		host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (host_ns < 0)
			die("open /proc/self/ns/net", NULL);
	}
	if (unshare(CLONE_NEWNET) < 0)
		die("unshare(CLONE_NEWNET)", NULL);
	own_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (own_ns < 0)
		die("open /proc/self/ns/net", NULL);
	if (!mkdtemp(root))
		die("mkdtemp", NULL);
	if (mc_netns_nl_open(&nl, &err) < 0 || mc_netns_link_set_up(nl, "lo", true, &err) < 0)
		die("lo up", &err);
	if (lo_gso && mc_netns_link_set_gso_max(nl, "lo", lo_gso, &err) < 0)
		die("lo gso limit", &err);
	if (mc_netns_network_create_mtu(&ctx, "bench", "10.99.0.0/24", NULL, mtu, &err) < 0)
		die("network create", &err);
	hook("NETBENCH_SETUP_CMD", 0, 0, "", "");

	if (sched_getaffinity(0, sizeof(all_cpus), &all_cpus) < 0)
		CPU_ZERO(&all_cpus);
	if (host_ns >= 0)
		printf("loopback: the host's lo (port %d), not the private namespace's\n\n",
		       PORT + 17);
	printf("| round | loopback Gbit/s | bridge Gbit/s | ratio |\n|---|---|---|---|\n");
	/* Rounds alternate which transfer goes first, so a load drift favours neither. */
	for (int r = 0; r < rounds; r++) {
		double lo = 1, br = 1;

		if (r % 2) {
			if (run_br)
				br = bridge_run(&ctx, secs);
			if (run_lo)
				lo = loopback_run(secs, host_ns, own_ns);
		} else {
			if (run_lo)
				lo = loopback_run(secs, host_ns, own_ns);
			if (run_br)
				br = bridge_run(&ctx, secs);
		}
		lo_sum += lo;
		br_sum += br;
		ratios[r] = br / lo;
		printf("| %d | %.2f | %.2f | %.2f |\n", r + 1, lo * 8 / 1e9, br * 8 / 1e9, br / lo);
		fflush(stdout);
	}
	/* insertion sort of at most 10 ratios for the median */
	for (int i = 1; i < rounds; i++)
		for (int j = i; j > 0 && ratios[j - 1] > ratios[j]; j--) {
			double t = ratios[j];

			ratios[j] = ratios[j - 1];
			ratios[j - 1] = t;
		}
	printf("| mean | %.2f | %.2f | %.2f |\n\n", lo_sum / rounds * 8 / 1e9,
	       br_sum / rounds * 8 / 1e9, br_sum / lo_sum);
	printf("median ratio (bridge / loopback) over %d rounds: %.2f\n\n", rounds,
	       rounds % 2 ? ratios[rounds / 2] : (ratios[rounds / 2 - 1] + ratios[rounds / 2]) / 2);

	/* attach + detach of an idle container, the library's share of --network. */
	for (int i = 0; i < iters; i++) {
		struct child c = spawn(0, NULL, 0);
		struct mc_netns_attachment at;
		struct mc_netns_attach_req req = {
			.network = "bench", .ctr_id = "lat", .name = "lat", .pid = c.pid, .nsfd = -1
		};
		double t0 = now(), t;

		if (mc_netns_attach(&ctx, &req, &at, &err) < 0)
			die("attach", &err);
		t = now() - t0;
		att_sum += t;
		if (t < att_min)
			att_min = t;
		reap(&c);
		mc_netns_detach(&ctx, NULL, "lat", &err);
	}
	printf("attach: mean %.2f ms, min %.2f ms over %d attaches\n", att_sum / iters * 1e3,
	       att_min * 1e3, iters);
	mc_netns_network_remove(&ctx, "bench", &err);
	mc_netns_nl_close(nl);
	mc_fs_rm_rf(root, NULL);
	return 0;
}
