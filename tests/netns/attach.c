/* SPDX-License-Identifier: MIT */
/*
 * attach.c: networks and container attachments end to end, each test in its own
 * "host" network namespace: create/ls/inspect/rm, bad input leaves nothing behind,
 * two containers talk TCP by name through /etc/hosts, two networks are isolated,
 * detach and kill -9 + detach leave nothing, concurrent attaches get distinct
 * addresses, the default network, bulk TCP with the BIG TCP limits (byte-exact
 * container to container, and out through a TSO-less uplink with masquerade), the
 * on-link route's congestion control (CUBIC when the netns default is BBR, untouched
 * otherwise).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../../netns/internal.h"
#include "fixture.h"

static int attach_simple(FIXTURE_DATA(host) * self, const char *net, const char *id,
			 const char *name, pid_t pid, const char *ip, const char *hosts,
			 struct mc_netns_attachment *out, struct mc_err *err)
{
	struct mc_netns_attach_req req = {
		.network = net,
		.ctr_id = id,
		.name = name,
		.pid = pid,
		.nsfd = -1,
		.ip = ip,
		.hosts_path = hosts,
	};
	return mc_netns_attach(&self->ctx, &req, out, err);
}

static bool file_contains(const char *path, const char *needle)
{
	char *data = NULL;
	bool r;

	if (mc_fs_read_file(path, &data, NULL, 1 << 20, NULL) < 0)
		return false;
	r = strstr(data, needle) != NULL;
	free(data);
	return r;
}

TEST_F(host, network_create_inspect_list_remove)
{
	struct mc_err err = { 0 };
	struct mc_netns_network_info info, *list = NULL;
	struct mc_netns_nl *nl = NULL;
	struct mc_netns_addr_info *a = NULL;
	size_t n = 0, na = 0;
	char path[256];
	int idx, found = 0;

	ASSERT_OK(mc_netns_network_create(&self->ctx, "raftnet", "10.88.1.0/24", NULL, &err));
	ASSERT_OK(mc_netns_network_create(&self->ctx, "auto", NULL, NULL, &err));
	ASSERT_OK(mc_netns_network_inspect(&self->ctx, "raftnet", &info, &err));
	EXPECT_STREQ("raftnet", info.name);
	EXPECT_STREQ("mc-raftnet", info.bridge);
	EXPECT_STREQ("10.88.1.0/24", info.subnet);
	EXPECT_STREQ("10.88.1.1", info.gateway);
	EXPECT_EQ(0, info.n_endpoints);
	mc_netns_network_info_release(&info);

	/* The bridge exists, is up and carries the gateway address. */
	ASSERT_OK(mc_netns_nl_open(&nl, &err));
	idx = mc_netns_link_index(nl, "mc-raftnet", &err);
	ASSERT_GT(idx, 0);
	ASSERT_OK(mc_netns_addr_dump(nl, &a, &na, &err));
	for (size_t i = 0; i < na; i++)
		found += a[i].index == idx && a[i].prefix == 24 &&
			 a[i].addr.s_addr == htonl(0x0a580101);
	EXPECT_EQ(1, found);
	free(a);
	EXPECT_GT(nft_tag_count("net:raftnet", &err), 0);

	ASSERT_OK(mc_netns_network_list(&self->ctx, &list, &n, &err));
	ASSERT_EQ(2, n);
	EXPECT_STREQ("auto", list[0].name);
	/* The automatic subnet skips the one raftnet took. */
	EXPECT_STREQ("10.88.2.0/24", list[0].subnet);
	EXPECT_STREQ("raftnet", list[1].name);
	mc_netns_network_list_free(list, n);

	ASSERT_OK(mc_netns_network_remove(&self->ctx, "raftnet", &err));
	ASSERT_OK(mc_netns_network_remove(&self->ctx, "auto", &err));
	EXPECT_EQ(-ENODEV, mc_netns_link_index(nl, "mc-raftnet", &err));
	EXPECT_EQ(0, nft_tag_count("net:raftnet", &err));
	snprintf(path, sizeof(path), "%s/networks/raftnet.json", self->root);
	EXPECT_NE(0, access(path, F_OK));
	EXPECT_EQ(-ENOENT, mc_netns_network_inspect(&self->ctx, "raftnet", &info, &err));
	EXPECT_STREQ("network `raftnet` not found", err.msg);
	mc_netns_nl_close(nl);
}

TEST_F(host, bad_input_one_line_nothing_half_created)
{
	struct mc_err err = { 0 };
	struct mc_netns_attachment at;
	struct ctr c = { .to_child = -1, .from_child = -1 };
	struct ctr_spec idle = { .role = CTR_IDLE };
	int links0;

	ASSERT_OK(mc_netns_network_create(&self->ctx, "n1", "10.88.1.0/24", NULL, &err));
	links0 = count_links();

	struct {
		const char *name, *subnet, *gw, *want;
	} bad[] = {
		{ "n1", "10.88.9.0/24", NULL, "network `n1` already exists" },
		{ "n2", "10.88.1.128/25", NULL, "overlaps network `n1`" },
		{ "n2", "10.88.0.0/16", NULL, "overlaps network `n1`" },
		{ "n2", "10.88.9.0/33", NULL, "invalid subnet" },
		{ "n2", "10.88.9.1/24", NULL, "no host bits" },
		{ "n2", "banana", NULL, "invalid subnet" },
		{ "n2", "10.88.9.0/24", "10.88.8.1", "not a host address" },
		{ "n2", "10.88.9.0/24", "10.88.9.255", "not a host address" },
		{ "n2", "10.88.9.0/24", "x", "invalid gateway" },
		{ "none", NULL, NULL, "reserved" },
		{ "bad/name", NULL, NULL, "invalid network name" },
		{ "", NULL, NULL, "invalid network name" },
	};
	for (size_t i = 0; i < MC_ARRAY_SIZE(bad); i++) {
		mc_err_clear(&err);
		EXPECT_LT(mc_netns_network_create(&self->ctx, bad[i].name, bad[i].subnet, bad[i].gw,
						  &err),
			  0);
		EXPECT_NONNULL(strstr(err.msg, bad[i].want));
		EXPECT_NULL(strchr(err.msg, '\n'));
		TH_LOG("%s", err.msg);
	}
	EXPECT_EQ(links0, count_links());

	ASSERT_OK(spawn(self, &c, &idle));
	ASSERT_OK(attach_simple(self, "n1", "c1", "web", c.pid, "10.88.1.10", NULL, &at, &err));
	EXPECT_STREQ("10.88.1.10", at.ip);

	struct {
		const char *net, *id, *name, *ip, *want;
	} bad_at[] = {
		{ "nosuch", "c2", "x", NULL, "network `nosuch` not found" },
		{ "n1", "c2", "x", "10.88.2.5", "outside subnet 10.88.1.0/24" },
		{ "n1", "c2", "x", "10.88.1.10", "already in use" },
		{ "n1", "c2", "x", "10.88.1.1", "already in use" },
		{ "n1", "c2", "x", "10.88.1.255", "outside subnet" },
		{ "n1", "c2", "x", "1.2.3", "not an IPv4 address" },
		{ "n1", "c2", "web", NULL, "name `web` is already in use" },
		{ "n1", "c1", "y", NULL, "already attached" },
		{ "n1", "bad id", "y", NULL, "invalid container id" },
	};
	for (size_t i = 0; i < MC_ARRAY_SIZE(bad_at); i++) {
		mc_err_clear(&err);
		EXPECT_LT(attach_simple(self, bad_at[i].net, bad_at[i].id, bad_at[i].name, c.pid,
					bad_at[i].ip, NULL, &at, &err),
			  0);
		EXPECT_NONNULL(strstr(err.msg, bad_at[i].want));
		TH_LOG("%s", err.msg);
	}
	/* Only c1's veth, and the record holds only c1. */
	EXPECT_EQ(1, count_veths());
	struct mc_netns_network_info info;

	ASSERT_OK(mc_netns_network_inspect(&self->ctx, "n1", &info, &err));
	EXPECT_EQ(1, info.n_endpoints);
	mc_netns_network_info_release(&info);

	/* A failure after the reservation (eth0 already exists in the container) rolls
	 * back the address and the kernel objects. */
	struct ctr c2 = { .to_child = -1, .from_child = -1 };
	struct mc_netns_nl *nl = NULL;
	char nspath[64];
	int nsfd;

	ASSERT_OK(spawn(self, &c2, &idle));
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", c2.pid);
	nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(nsfd, 0);
	ASSERT_OK(mc_netns_nl_open(&nl, &err));
	ASSERT_OK(mc_netns_veth_create(nl, "mctpre", "eth0", nsfd, &err));
	close(nsfd);
	links0 = count_links();
	mc_err_clear(&err);
	EXPECT_EQ(-EEXIST, attach_simple(self, "n1", "c3", "z", c2.pid, NULL, NULL, &at, &err));
	TH_LOG("%s", err.msg);
	EXPECT_EQ(links0, count_links());
	ASSERT_OK(mc_netns_network_inspect(&self->ctx, "n1", &info, &err));
	EXPECT_EQ(1, info.n_endpoints);
	mc_netns_network_info_release(&info);
	ASSERT_OK(mc_netns_link_destroy(nl, "mctpre", &err));
	mc_netns_nl_close(nl);
	ctr_kill(&c2);
	ctr_kill(&c);
	mc_err_clear(&err);
	EXPECT_EQ(-ENOENT, attach_simple(self, "n1", "c4", "z", 999999, NULL, NULL, &at, &err));

	/* rm refuses while attached, says which. */
	EXPECT_EQ(-EBUSY, mc_netns_network_remove(&self->ctx, "n1", &err));
	EXPECT_NONNULL(strstr(err.msg, "web"));
	ASSERT_OK(mc_netns_detach(&self->ctx, NULL, "c1", &err));
	ASSERT_OK(mc_netns_network_remove(&self->ctx, "n1", &err));
	EXPECT_EQ(0, count_veths());
}

TEST_F(host, two_containers_talk_tcp_by_name)
{
	struct mc_err err = { 0 };
	struct mc_netns_attachment at;
	struct ctr a = { .to_child = -1, .from_child = -1 }, b = a;
	char ha[128], hb[128];
	struct ctr_spec srv = {
		.role = CTR_SERVE, .port = 7000, .greeting = "hello from raft1", .timeout_ms = 10000
	};
	struct ctr_spec cli = { .role = CTR_CONNECT,
				.port = 7000,
				.target = "raft1",
				.greeting = "hello from raft1",
				.timeout_ms = 5000 };

	snprintf(ha, sizeof(ha), "%s/a.hosts", self->root);
	snprintf(hb, sizeof(hb), "%s/b.hosts", self->root);
	cli.hosts = hb;
	ASSERT_OK(mc_netns_network_create(&self->ctx, "raftnet", "10.88.1.0/24", NULL, &err));
	ASSERT_OK(spawn(self, &a, &srv));
	ASSERT_OK(spawn(self, &b, &cli));
	ASSERT_OK(attach_simple(self, "raftnet", "ida", "raft1", a.pid, NULL, ha, &at, &err));
	EXPECT_STREQ("10.88.1.2", at.ip);
	EXPECT_STREQ("10.88.1.1", at.gateway);
	EXPECT_STREQ("02:6d:0a:58:01:02", at.mac);
	struct mc_netns_attach_req req = { .network = "raftnet",
					   .ctr_id = "idb",
					   .name = "raft2",
					   .aliases = (const char *[]){ "client" },
					   .n_aliases = 1,
					   .pid = b.pid,
					   .nsfd = -1,
					   .hosts_path = hb };

	ASSERT_OK(mc_netns_attach(&self->ctx, &req, &at, &err));
	EXPECT_STREQ("10.88.1.3", at.ip);
	/* Both hosts files list both containers, the first one updated when b joined. */
	EXPECT_TRUE(file_contains(ha, "10.88.1.2\traft1\n"));
	EXPECT_TRUE(file_contains(ha, "10.88.1.3\traft2 client\n"));
	EXPECT_TRUE(file_contains(hb, "10.88.1.2\traft1\n"));
	EXPECT_TRUE(file_contains(hb, "127.0.0.1\tlocalhost\n"));

	ASSERT_OK(ctr_go(&a));
	ASSERT_EQ('l', ctr_wait(&a, 5000));
	ASSERT_OK(ctr_go(&b));
	EXPECT_EQ('1', ctr_wait(&b, 10000));

	/* Leaving rewrites the others' hosts files. */
	ASSERT_OK(mc_netns_detach(&self->ctx, "raftnet", "idb", &err));
	EXPECT_FALSE(file_contains(ha, "raft2"));
	EXPECT_TRUE(file_contains(ha, "raft1"));
	ctr_kill(&a);
	ctr_kill(&b);
	ASSERT_OK(mc_netns_detach(&self->ctx, NULL, "ida", &err));
	EXPECT_EQ(0, count_veths());
	ASSERT_OK(mc_netns_network_remove(&self->ctx, "raftnet", &err));
}

TEST_F(host, networks_are_isolated)
{
	struct mc_err err = { 0 };
	struct mc_netns_attachment at;
	struct ctr srv = { .to_child = -1, .from_child = -1 }, same = srv, other = srv;
	struct ctr_spec s = {
		.role = CTR_SERVE, .port = 7001, .greeting = "a", .timeout_ms = 10000
	};
	struct ctr_spec c_same = { .role = CTR_CONNECT,
				   .port = 7001,
				   .target = "10.88.1.2",
				   .greeting = "a",
				   .timeout_ms = 3000 };
	struct ctr_spec c_other = c_same;
	struct ctr_spec c_gw = c_same;

	ASSERT_OK(mc_netns_network_create(&self->ctx, "n1", "10.88.1.0/24", NULL, &err));
	ASSERT_OK(mc_netns_network_create(&self->ctx, "n2", "10.88.2.0/24", NULL, &err));
	ASSERT_OK(spawn(self, &srv, &s));
	ASSERT_OK(spawn(self, &same, &c_same));
	ASSERT_OK(spawn(self, &other, &c_other));
	ASSERT_OK(attach_simple(self, "n1", "srv", "srv", srv.pid, NULL, NULL, &at, &err));
	ASSERT_STREQ("10.88.1.2", at.ip);
	ASSERT_OK(attach_simple(self, "n1", "same", "same", same.pid, NULL, NULL, &at, &err));
	ASSERT_OK(attach_simple(self, "n2", "other", "other", other.pid, NULL, NULL, &at, &err));
	ASSERT_OK(ctr_go(&srv));
	ASSERT_EQ('l', ctr_wait(&srv, 5000));
	/* Positive control: same network connects; the host routes between bridges
	 * (ip_forward is on), so only the isolation rule stops the other one. */
	ASSERT_OK(ctr_go(&same));
	EXPECT_EQ('1', ctr_wait(&same, 8000));
	ASSERT_OK(ctr_go(&other));
	EXPECT_EQ('0', ctr_wait(&other, 8000));
	/* The host itself reaches both. */
	EXPECT_TRUE(tcp_probe("10.88.1.2", 7001, "a", 3000));
	/* Control: without the networks' rules the same dial goes through, so it was
	 * the isolation rule that stopped it. */
	struct ctr other2 = { .to_child = -1, .from_child = -1 };

	ASSERT_OK(spawn(self, &other2, &c_gw));
	ASSERT_OK(attach_simple(self, "n2", "other2", "other2", other2.pid, NULL, NULL, &at, &err));
	ASSERT_GT(nft_tag_del("net:n1", &err), 0);
	ASSERT_GT(nft_tag_del("net:n2", &err), 0);
	ASSERT_OK(ctr_go(&other2));
	EXPECT_EQ('1', ctr_wait(&other2, 8000));
	ctr_kill(&other2);
	ASSERT_OK(mc_netns_detach(&self->ctx, NULL, "other2", &err));
	ctr_kill(&srv);
	ctr_kill(&same);
	ctr_kill(&other);
	ASSERT_OK(mc_netns_detach(&self->ctx, NULL, "srv", &err));
	ASSERT_OK(mc_netns_detach(&self->ctx, NULL, "same", &err));
	ASSERT_OK(mc_netns_detach(&self->ctx, NULL, "other", &err));
	EXPECT_EQ(0, count_veths());
}

TEST_F(host, container_sees_eth0_lo_and_default_route)
{
	struct mc_err err = { 0 };
	struct mc_netns_attachment at;
	struct ctr c = { .to_child = -1, .from_child = -1 };
	struct ctr_spec idle = { .role = CTR_IDLE };
	struct mc_netns_nl *nl = NULL;
	struct mc_netns_link_info *v = NULL;
	struct mc_netns_route_info *r = NULL;
	size_t n = 0, nr = 0;
	int defroute = 0, lo_up = 0, eth0_up = 0;

	ASSERT_OK(spawn(self, &c, &idle));
	/* No network named: the default network is created on demand. */
	ASSERT_OK(attach_simple(self, NULL, "c1", "c1", c.pid, NULL, NULL, &at, &err));
	EXPECT_STREQ(MC_NETNS_DEFAULT_NETWORK, at.network);
	EXPECT_STREQ("10.88.0.2", at.ip);
	ASSERT_OK(mc_netns_nl_open_pid(c.pid, &nl, &err));
	ASSERT_OK(mc_netns_link_dump(nl, &v, &n, &err));
	EXPECT_EQ(2, n);
	for (size_t i = 0; i < n; i++) {
		lo_up += strcmp(v[i].name, "lo") == 0 && (v[i].flags & IFF_UP);
		eth0_up += strcmp(v[i].name, "eth0") == 0 && (v[i].flags & IFF_UP) &&
			   strcmp(v[i].kind, "veth") == 0 && v[i].mac[0] == 0x02;
	}
	EXPECT_EQ(1, lo_up);
	EXPECT_EQ(1, eth0_up);
	ASSERT_OK(mc_netns_route_dump(nl, &r, &nr, &err));
	for (size_t i = 0; i < nr; i++)
		defroute += r[i].prefix == 0 && r[i].gw.s_addr == htonl(0x0a580001);
	EXPECT_EQ(1, defroute);
	free(v);
	free(r);
	mc_netns_nl_close(nl);
	ASSERT_OK(mc_netns_detach(&self->ctx, MC_NETNS_DEFAULT_NETWORK, "c1", &err));
	ctr_kill(&c);
}

TEST_F(host, kill9_then_detach_leaves_nothing)
{
	struct mc_err err = { 0 };
	struct mc_netns_attachment at;
	struct ctr c = { .to_child = -1, .from_child = -1 };
	struct ctr_spec idle = { .role = CTR_IDLE };
	struct mc_netns_network_info info;
	struct mc_netns_port p;
	pid_t runtime;
	int st;

	ASSERT_OK(mc_netns_network_create(&self->ctx, "n1", "10.88.1.0/24", NULL, &err));
	ASSERT_OK(spawn(self, &c, &idle));
	ASSERT_OK(mc_netns_port_parse("18080:80", &p, &err));
	/* A "runtime" process attaches and then dies without detaching. */
	runtime = fork();
	if (runtime == 0) {
		struct mc_netns_attach_req req = { .network = "n1",
						   .ctr_id = "k9",
						   .name = "k9",
						   .pid = c.pid,
						   .nsfd = -1,
						   .ports = &p,
						   .n_ports = 1 };

		_exit(mc_netns_attach(&self->ctx, &req, &at, &err) == 0 ? 0 : 1);
	}
	ASSERT_GT(runtime, 0);
	ASSERT_EQ(runtime, waitpid(runtime, &st, 0));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	EXPECT_EQ(1, count_veths());
	EXPECT_EQ(2, nft_tag_count("ctr:k9", &err));

	/* kill -9 of the container: its netns dies, and its veth pair with it. */
	ctr_kill(&c);
	ASSERT_OK(mc_netns_network_inspect(&self->ctx, "n1", &info, &err));
	EXPECT_EQ(1, info.n_endpoints);
	mc_netns_network_info_release(&info);
	EXPECT_EQ(-EBUSY, mc_netns_network_remove(&self->ctx, "n1", &err));

	/* rm -f: detach from every network, twice (idempotent). */
	ASSERT_OK(mc_netns_detach(&self->ctx, NULL, "k9", &err));
	ASSERT_OK(mc_netns_detach(&self->ctx, NULL, "k9", &err));
	EXPECT_EQ(0, count_veths());
	EXPECT_EQ(0, nft_tag_count("ctr:k9", &err));
	ASSERT_OK(mc_netns_network_inspect(&self->ctx, "n1", &info, &err));
	EXPECT_EQ(0, info.n_endpoints);
	mc_netns_network_info_release(&info);
	/* The address is free again. */
	ASSERT_OK(spawn(self, &c, &idle));
	ASSERT_OK(attach_simple(self, "n1", "again", NULL, c.pid, "10.88.1.2", NULL, &at, &err));
	ASSERT_OK(mc_netns_detach(&self->ctx, "n1", "again", &err));
	ctr_kill(&c);
	ASSERT_OK(mc_netns_network_remove(&self->ctx, "n1", &err));
	EXPECT_EQ(1, count_links()); /* lo */
}

TEST_F_TIMEOUT(host, concurrent_attaches_get_distinct_addresses, 60)
{
	enum {
		N = 6
	};
	struct mc_err err = { 0 };
	struct ctr c[N];
	struct ctr_spec idle = { .role = CTR_IDLE };
	pid_t runners[N];
	struct mc_netns_network_info info;
	uint64_t seed = th_seed();

	ASSERT_OK(mc_netns_network_create(&self->ctx, "busy", "10.88.5.0/24", NULL, &err));
	for (int i = 0; i < N; i++) {
		c[i].to_child = c[i].from_child = -1;
		ASSERT_OK(spawn(self, &c[i], &idle));
	}
	for (int i = 0; i < N; i++) {
		runners[i] = fork();
		if (runners[i] == 0) {
			char id[32];
			struct mc_netns_attachment at;
			struct mc_err e = { 0 };

			/* Stagger starts pseudo-randomly to vary the interleaving. */
			usleep((unsigned)((seed >> (i * 4)) & 0xf) * 1000);
			snprintf(id, sizeof(id), "c%d", i);
			_exit(attach_simple(self, "busy", id, id, c[i].pid, NULL, NULL, &at, &e) ==
					      0
				      ? 0
				      : 1);
		}
		ASSERT_GT(runners[i], 0);
	}
	for (int i = 0; i < N; i++) {
		int st;

		ASSERT_EQ(runners[i], waitpid(runners[i], &st, 0));
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	ASSERT_OK(mc_netns_network_inspect(&self->ctx, "busy", &info, &err));
	ASSERT_EQ(N, info.n_endpoints);
	for (size_t i = 0; i < info.n_endpoints; i++)
		for (size_t j = i + 1; j < info.n_endpoints; j++)
			EXPECT_STRNE(info.endpoints[i].ip, info.endpoints[j].ip);
	mc_netns_network_info_release(&info);
	EXPECT_EQ(N, count_veths());
	for (int i = 0; i < N; i++) {
		char id[32];

		snprintf(id, sizeof(id), "c%d", i);
		ctr_kill(&c[i]);
		ASSERT_OK(mc_netns_detach(&self->ctx, "busy", id, &err));
	}
	EXPECT_EQ(0, count_veths());
}

/* The link address of @name in the test's host namespace (zeros: no such link). */
static void host_mac(const char *name, uint8_t mac[6])
{
	struct mc_err err = { 0 };
	struct mc_netns_nl *nl = NULL;
	struct mc_netns_link_info *v = NULL;
	size_t n = 0;

	memset(mac, 0, 6);
	if (mc_netns_nl_open(&nl, &err) == 0 && mc_netns_link_dump(nl, &v, &n, &err) == 0)
		for (size_t i = 0; i < n; i++)
			if (strcmp(v[i].name, name) == 0)
				memcpy(mac, v[i].mac, 6);
	free(v);
	mc_netns_nl_close(nl);
}

/*
 * Attaches two idle containers to @net, then detaches first the one whose host port
 * has the lower address (where a bridge left to the kernel takes its own from),
 * checking after each step that bridge @br still has @want.
 */
static void two_come_and_go(FIXTURE_DATA(host) * self, const char *net, const char *br,
			    const uint8_t want[6])
{
	struct mc_err err = { 0 };
	struct mc_netns_attachment at[2];
	struct ctr c[2] = { { .to_child = -1, .from_child = -1 },
			    { .to_child = -1, .from_child = -1 } };
	struct ctr_spec idle = { .role = CTR_IDLE };
	uint8_t m[6], p0[6], p1[6];
	int lo;

	for (int i = 0; i < 2; i++) {
		char id[8];

		snprintf(id, sizeof(id), "m%d", i);
		ASSERT_OK(spawn(self, &c[i], &idle));
		ASSERT_OK(attach_simple(self, net, id, NULL, c[i].pid, NULL, NULL, &at[i], &err));
	}
	host_mac(at[0].veth, p0);
	host_mac(at[1].veth, p1);
	host_mac(br, m);
	EXPECT_EQ(0, memcmp(want, m, 6));
	lo = memcmp(p1, p0, 6) < 0;
	ctr_kill(&c[lo]);
	ASSERT_OK(mc_netns_detach(&self->ctx, net, lo ? "m1" : "m0", &err));
	host_mac(br, m);
	EXPECT_EQ(0, memcmp(want, m, 6));
	ctr_kill(&c[!lo]);
	ASSERT_OK(mc_netns_detach(&self->ctx, net, lo ? "m0" : "m1", &err));
}

/*
 * The bridge has the gateway's derived address from the start and keeps it when a
 * container leaves, also the one whose port has the lowest address (the kernel's
 * choice for a bridge without one of its own). A changed address cut the others
 * off: their cached gateway entry pointed at a port that was gone. A bridge made by
 * an older version, without an address of its own, keeps the one it has.
 */
TEST_F(host, bridge_keeps_its_mac_when_containers_leave)
{
	struct mc_err err = { 0 };
	struct mc_netns_nl *nl = NULL;
	const uint8_t gw[6] = { 0x02, 0x6d, 10, 88, 8, 1 };
	uint8_t m[6];

	ASSERT_OK(mc_netns_network_create(&self->ctx, "macs", "10.88.8.0/24", NULL, &err));
	host_mac("mc-macs", m);
	EXPECT_EQ(0, memcmp(gw, m, 6));
	two_come_and_go(self, "macs", "mc-macs", gw);

	/* As an older version left it: the kernel's random address, not pinned. */
	ASSERT_OK(mc_netns_nl_open(&nl, &err));
	ASSERT_OK(mc_netns_link_destroy(nl, "mc-macs", &err));
	ASSERT_OK(mc_netns_bridge_create(nl, "mc-macs", NULL, &err));
	ASSERT_OK(mc_netns_link_set_up(nl, "mc-macs", true, &err));
	mc_netns_nl_close(nl);
	host_mac("mc-macs", m);
	two_come_and_go(self, "macs", "mc-macs", m);
	ASSERT_OK(mc_netns_network_remove(&self->ctx, "macs", &err));
}

/* Sends @bytes from @src to the sink @dst and checks count and hash; @what names the path. */
static void bulk_check(struct ctr *src, struct ctr *dst, uint64_t seed, uint64_t bytes,
		       const char *what)
{
	struct ctr_sum got = { 0 }, want = stream_sum(seed, bytes);
	int sent;

	ASSERT_OK(ctr_go(dst));
	ASSERT_EQ('l', ctr_wait(dst, 5000));
	ASSERT_OK(ctr_go(src));
	sent = ctr_wait(src, 30000);
	if (sent != '1')
		TH_LOG("%s: the sender stopped early", what);
	EXPECT_EQ('1', sent);
	ASSERT_EQ('h', ctr_wait(dst, 30000));
	ASSERT_OK(ctr_read_sum(dst, &got, 5000));
	EXPECT_EQ(want.bytes, got.bytes);
	EXPECT_EQ(want.hash, got.hash);
}

/*
 * An "uplink": veth upl0 from the test's host namespace to the namespace of @outside
 * (its eth0), 192.0.2.1 here and 192.0.2.2 there, TSO off on the host end, so the
 * kernel must cut the containers' big GSO packets into MTU-sized segments after
 * forwarding and masquerade. (Named upl*, not mc*: the isolation rule treats mc*
 * devices as other networks.)
 */
static void uplink_to(pid_t outside)
{
	struct mc_err err = { 0 };
	struct mc_netns_nl *nl = NULL;
	struct in_addr up_host, up_out;
	struct ethtool_value ev = { .cmd = ETHTOOL_STSO, .data = 0 };
	struct ifreq ifr = { 0 };
	char path[64];
	int fd, sock;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", outside);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_OK(mc_netns_nl_open(&nl, &err));
	ASSERT_OK(mc_netns_veth_create(nl, "upl0", "eth0", fd, &err));
	close(fd);
	inet_pton(AF_INET, "192.0.2.1", &up_host);
	inet_pton(AF_INET, "192.0.2.2", &up_out);
	ASSERT_OK(mc_netns_addr_add(nl, "upl0", up_host, 24, &err));
	ASSERT_OK(mc_netns_link_set_up(nl, "upl0", true, &err));
	mc_netns_nl_close(nl);
	ASSERT_OK(mc_netns_nl_open_pid(outside, &nl, &err));
	ASSERT_OK(mc_netns_addr_add(nl, "eth0", up_out, 24, &err));
	ASSERT_OK(mc_netns_link_set_up(nl, "eth0", true, &err));
	ASSERT_OK(mc_netns_link_set_up(nl, "lo", true, &err));
	mc_netns_nl_close(nl);
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(sock, 0);
	strcpy(ifr.ifr_name, "upl0");
	ifr.ifr_data = (void *)&ev;
	ASSERT_EQ(0, ioctl(sock, SIOCETHTOOL, &ifr));
	close(sock);
}

TEST_F_TIMEOUT(host, bulk_tcp_with_big_gso_is_byte_exact, 80)
{
	struct mc_err err = { 0 };
	struct mc_netns_attachment at;
	struct mc_netns_nl *cnl = NULL;
	struct mc_netns_link_info *v = NULL;
	size_t n = 0;
	uint64_t seed = th_seed(), bytes = 24u << 20;
	struct ctr a = { .to_child = -1, .from_child = -1 }, b = a, o = a, c = a;
	struct ctr_spec sink = { .role = CTR_SINK, .port = 7100, .timeout_ms = 20000 };
	struct ctr_spec src = {
		.role = CTR_SOURCE, .port = 7100, .timeout_ms = 20000, .bytes = bytes, .seed = seed
	};

	ASSERT_OK(mc_netns_network_create(&self->ctx, "bulk", "10.88.7.0/24", NULL, &err));
	/* Container to container: the sender builds GSO packets up to NET_GSO_MAX. */
	ASSERT_OK(spawn(self, &a, &sink));
	src.target = "10.88.7.2";
	ASSERT_OK(spawn(self, &b, &src));
	ASSERT_OK(attach_simple(self, "bulk", "sink", "sink", a.pid, NULL, NULL, &at, &err));
	ASSERT_STREQ("10.88.7.2", at.ip);
	ASSERT_OK(attach_simple(self, "bulk", "src", "src", b.pid, NULL, NULL, &at, &err));
	ASSERT_OK(mc_netns_nl_open_pid(b.pid, &cnl, &err));
	ASSERT_OK(mc_netns_link_dump(cnl, &v, &n, &err));
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, "eth0") == 0 && v[i].gso_max_size)
			EXPECT_EQ(NET_GSO_MAX, v[i].gso_ipv4_max_size);
	free(v);
	mc_netns_nl_close(cnl);
	bulk_check(&b, &a, seed, bytes, "container to container");

	/* Out of the host, masqueraded, through an uplink without TSO. */
	sink.port = 7200;
	ASSERT_OK(spawn(self, &o, &sink));
	src.target = "192.0.2.2";
	src.port = 7200;
	src.seed = seed + 1;
	ASSERT_OK(spawn(self, &c, &src));
	ASSERT_OK(attach_simple(self, "bulk", "src2", NULL, c.pid, NULL, NULL, &at, &err));
	uplink_to(o.pid);
	bulk_check(&c, &o, seed + 1, bytes, "container to the uplink, masqueraded");
	ctr_kill(&a);
	ctr_kill(&b);
	ctr_kill(&c);
	ctr_kill(&o);
	ASSERT_OK(mc_netns_detach(&self->ctx, NULL, "sink", &err));
	ASSERT_OK(mc_netns_detach(&self->ctx, NULL, "src", &err));
	ASSERT_OK(mc_netns_detach(&self->ctx, NULL, "src2", &err));
	ASSERT_OK(mc_netns_network_remove(&self->ctx, "bulk", &err));
}

/*
 * A container's connection out through the gateway keeps going while the other
 * containers of its network leave. It used to stall: the bridge, left to pick its own
 * address, had taken the lowest port's, one of theirs; when they left it took
 * another, and the sender's cached gateway entry (kept fresh by TCP) pointed at a
 * port that was gone. The sender's port gets the highest address here, so a
 * kernel-chosen bridge address would be one of the leavers'.
 */
TEST_F_TIMEOUT(host, traffic_through_the_gateway_survives_neighbours_leaving, 60)
{
	struct mc_err err = { 0 };
	struct mc_netns_attachment at;
	struct mc_netns_nl *nl = NULL;
	struct ctr a = { .to_child = -1, .from_child = -1 }, b = a, c = a, o = a;
	struct ctr_spec idle = { .role = CTR_IDLE };
	struct ctr_spec sink = { .role = CTR_SINK, .port = 7300, .timeout_ms = 10000 };
	uint64_t seed = th_seed(), bytes = 8u << 20;
	struct ctr_spec src = { .role = CTR_SOURCE,
				.port = 7300,
				.timeout_ms = 10000,
				.target = "192.0.2.2",
				.bytes = bytes,
				.seed = seed,
				.pause_at = 1u << 20 };
	const uint8_t high[6] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xfe };
	struct ctr_sum got = { 0 }, want = stream_sum(seed, bytes);

	ASSERT_OK(mc_netns_network_create(&self->ctx, "stay", "10.88.11.0/24", NULL, &err));
	ASSERT_OK(spawn(self, &a, &idle));
	ASSERT_OK(spawn(self, &b, &idle));
	ASSERT_OK(attach_simple(self, "stay", "a", NULL, a.pid, NULL, NULL, &at, &err));
	ASSERT_OK(attach_simple(self, "stay", "b", NULL, b.pid, NULL, NULL, &at, &err));
	ASSERT_OK(spawn(self, &o, &sink));
	ASSERT_OK(spawn(self, &c, &src));
	ASSERT_OK(attach_simple(self, "stay", "c", NULL, c.pid, NULL, NULL, &at, &err));
	ASSERT_OK(mc_netns_nl_open(&nl, &err));
	ASSERT_OK(mc_netns_link_set_mac(nl, at.veth, high, &err));
	mc_netns_nl_close(nl);
	uplink_to(o.pid);

	ASSERT_OK(ctr_go(&o));
	ASSERT_EQ('l', ctr_wait(&o, 5000));
	ASSERT_OK(ctr_go(&c));
	/* Connected (so the gateway's address is cached) and 1 MiB on its way. */
	ASSERT_EQ('p', ctr_wait(&c, 10000));
	ctr_kill(&a);
	ctr_kill(&b);
	ASSERT_OK(mc_netns_detach(&self->ctx, "stay", "a", &err));
	ASSERT_OK(mc_netns_detach(&self->ctx, "stay", "b", &err));
	ASSERT_OK(ctr_go(&c));
	EXPECT_EQ('1', ctr_wait(&c, 20000));
	ASSERT_EQ('h', ctr_wait(&o, 20000));
	ASSERT_OK(ctr_read_sum(&o, &got, 5000));
	EXPECT_EQ(want.bytes, got.bytes);
	EXPECT_EQ(want.hash, got.hash);
	ctr_kill(&c);
	ctr_kill(&o);
	ASSERT_OK(mc_netns_detach(&self->ctx, "stay", "c", &err));
	ASSERT_OK(mc_netns_network_remove(&self->ctx, "stay", &err));
}

/* The congestion control a TCP socket of the current netns gets for a connection to
 * @ip: assigned from the route when the SYN is sent (non-blocking connect). */
static int cc_for(const char *ip, char cc[16])
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9) };
	socklen_t len = 16;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), r = -1;

	inet_pton(AF_INET, ip, &sa.sin_addr);
	memset(cc, 0, 16);
	if (fd >= 0 && (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
			errno == EINPROGRESS || errno == ECONNREFUSED))
		r = getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &len);
	if (fd >= 0)
		close(fd);
	return r;
}

TEST_F(host, onlink_route_gets_cubic_when_the_default_is_bbr)
{
	struct mc_err err = { 0 };
	struct mc_netns_attachment at;
	struct ctr a = { .to_child = -1, .from_child = -1 }, b = a;
	struct ctr_spec idle = { .role = CTR_IDLE };
	struct mc_netns_nl *nl = NULL;
	struct mc_netns_route_info *r = NULL;
	char path[64], dflt[16] = "", onlink[16], neighbour[16], offlink[16], *avail = NULL;
	const char *want;
	size_t nr = 0;
	int subnet_routes = 0, defroute = 0, nsfd, saved;
	socklen_t len = sizeof(dflt);

	ASSERT_OK(spawn(self, &a, &idle));
	ASSERT_OK(spawn(self, &b, &idle));
	ASSERT_OK(mc_netns_network_create(&self->ctx, "cc", "10.88.9.0/24", NULL, &err));
	ASSERT_OK(attach_simple(self, "cc", "a", "a", a.pid, NULL, NULL, &at, &err));
	ASSERT_OK(attach_simple(self, "cc", "b", "b", b.pid, NULL, NULL, &at, &err));
	EXPECT_STREQ("10.88.9.3", at.ip);

	/* The subnet route is still one route, the kernel's (replaced, not added). */
	ASSERT_OK(mc_netns_nl_open_pid(a.pid, &nl, &err));
	ASSERT_OK(mc_netns_route_dump(nl, &r, &nr, &err));
	for (size_t i = 0; i < nr; i++) {
		subnet_routes += r[i].prefix == 24 && r[i].dst.s_addr == htonl(0x0a580900) &&
				 r[i].gw.s_addr == 0 && r[i].protocol == RTPROT_KERNEL &&
				 r[i].scope == RT_SCOPE_LINK;
		defroute += r[i].prefix == 0 && r[i].gw.s_addr == htonl(0x0a580901);
	}
	free(r);
	mc_netns_nl_close(nl);
	EXPECT_EQ(1, subnet_routes);
	EXPECT_EQ(1, defroute);

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)a.pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, nsfd);
	ASSERT_OK(nl_enter_ns(nsfd, &saved, &err));
	{
		int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (t >= 0) {
			getsockopt(t, IPPROTO_TCP, TCP_CONGESTION, dflt, &len);
			close(t);
		}
	}
	cc_for("10.88.9.1", onlink);	/* the host's bridge address */
	cc_for("10.88.9.3", neighbour); /* the other container */
	cc_for("192.0.2.1", offlink);	/* through the default route (dropped by the host) */
	nl_leave_ns(saved);
	close(nsfd);

	ASSERT_NE(0, dflt[0]);
	ASSERT_OK(mc_fs_read_file("/proc/sys/net/ipv4/tcp_available_congestion_control", &avail,
				  NULL, 4096, &err));
	want = strcmp(dflt, "bbr") == 0 && strstr(avail, "cubic") ? "cubic" : dflt;
	free(avail);
	TH_LOG("netns default %s: on-link %s, neighbour %s, off-link %s", dflt, onlink, neighbour,
	       offlink);
	EXPECT_STREQ(want, onlink);
	EXPECT_STREQ(want, neighbour);
	/* Traffic leaving the host keeps the netns default (the administrator's). */
	EXPECT_STREQ(dflt, offlink);

	ASSERT_OK(mc_netns_detach(&self->ctx, "cc", "a", &err));
	ASSERT_OK(mc_netns_detach(&self->ctx, "cc", "b", &err));
	ctr_kill(&a);
	ctr_kill(&b);
	ASSERT_OK(mc_netns_network_remove(&self->ctx, "cc", &err));
}

/* A netns default other than BBR (here Reno, which any netns may choose) is left
 * alone: the on-link route gets no congestion control of its own. */
TEST_F(host, onlink_route_untouched_when_the_default_is_not_bbr)
{
	struct mc_err err = { 0 };
	struct mc_netns_attachment at;
	struct ctr a = { .to_child = -1, .from_child = -1 };
	struct ctr_spec idle = { .role = CTR_IDLE };
	char path[64], onlink[16], offlink[16];
	int nsfd, saved, w;

	ASSERT_OK(spawn(self, &a, &idle));
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)a.pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, nsfd);
	/* /proc/sys/net is the netns of the thread that opens it. */
	ASSERT_OK(nl_enter_ns(nsfd, &saved, &err));
	w = mc_fs_write_str("/proc/sys/net/ipv4/tcp_congestion_control", "reno", &err);
	nl_leave_ns(saved);
	ASSERT_OK(w);
	ASSERT_OK(mc_netns_network_create(&self->ctx, "reno", "10.88.10.0/24", NULL, &err));
	ASSERT_OK(attach_simple(self, "reno", "a", "a", a.pid, NULL, NULL, &at, &err));
	ASSERT_OK(nl_enter_ns(nsfd, &saved, &err));
	cc_for("10.88.10.1", onlink);
	cc_for("192.0.2.1", offlink);
	nl_leave_ns(saved);
	close(nsfd);
	EXPECT_STREQ("reno", onlink);
	EXPECT_STREQ("reno", offlink);
	ASSERT_OK(mc_netns_detach(&self->ctx, "reno", "a", &err));
	ctr_kill(&a);
	ASSERT_OK(mc_netns_network_remove(&self->ctx, "reno", &err));
}

TEST_HARNESS_MAIN
