/* SPDX-License-Identifier: MIT */
/*
 * link.c: netlink round trips in a private network namespace: bridge and veth
 * create/delete, MTU/MAC/up/rename/master, moving links by pid and fd, address and
 * route dumps compared with what was requested, kernel errors as -errno + text, the
 * attach's one-request veth (MTU, master, up, MAC, BIG TCP limits), batches of
 * requests (order, the failing one named) and the ethtool ioctls.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mc/netlink.h>

#include "../../netns/internal.h"
#include "harness.h"

/* Valid only in the process that ran setup; teardown after a crash must not use it. */
static struct mc_netns_nl *nl;

FIXTURE(hostns)
{
	pid_t owner;
	pid_t child; /* a process holding a second namespace, or 0 */
};

FIXTURE_SETUP(hostns)
{
	struct mc_err err = { 0 };

	require_root();
	self->owner = getpid();
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_OK(mc_netns_nl_open(&nl, &err));
	ASSERT_OK(mc_netns_link_set_up(nl, "lo", true, &err));
}

FIXTURE_TEARDOWN(hostns)
{
	/* The namespace and every link in it vanish with this test's process. */
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
		self->child = 0;
	}
	if (getpid() == self->owner)
		mc_netns_nl_close(nl);
}

static const struct mc_netns_link_info *find_link(struct mc_netns_link_info *v, size_t n,
						  const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* A child in a fresh netns that waits to be killed. Returns its pid. */
static pid_t spawn_holder(void)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1)
		pid = -1;
	close(p[0]);
	return pid;
}

TEST_F(hostns, bridge_roundtrip)
{
	struct mc_err err = { 0 };
	struct mc_netns_link_info *v = NULL;
	const struct mc_netns_link_info *l;
	const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	size_t n = 0;
	int idx;

	ASSERT_OK(mc_netns_bridge_create(nl, "mctbr0", NULL, &err));
	idx = mc_netns_link_index(nl, "mctbr0", &err);
	ASSERT_GT(idx, 0);
	ASSERT_OK(mc_netns_link_set_mtu(nl, "mctbr0", 1400, &err));
	ASSERT_OK(mc_netns_link_set_mac(nl, "mctbr0", mac, &err));
	ASSERT_OK(mc_netns_link_set_up(nl, "mctbr0", true, &err));
	ASSERT_OK(mc_netns_link_dump(nl, &v, &n, &err));
	l = find_link(v, n, "mctbr0");
	ASSERT_NONNULL(l);
	EXPECT_EQ(idx, l->index);
	EXPECT_STREQ("bridge", l->kind);
	EXPECT_EQ(1400, l->mtu);
	EXPECT_EQ(0, memcmp(mac, l->mac, 6));
	EXPECT_TRUE(l->flags & IFF_UP);
	free(v);

	ASSERT_OK(mc_netns_link_rename(nl, "mctbr0", "mctbr1", &err));
	EXPECT_EQ(-ENODEV, mc_netns_link_index(nl, "mctbr0", &err));
	/* A renamed link keeps its index. */
	EXPECT_EQ(idx, mc_netns_link_index(nl, "mctbr1", &err));
	ASSERT_OK(mc_netns_link_set_up(nl, "mctbr1", false, &err));
	ASSERT_OK(mc_netns_link_destroy(nl, "mctbr1", &err));
	ASSERT_OK(mc_netns_link_dump(nl, &v, &n, &err));
	EXPECT_NULL(find_link(v, n, "mctbr1"));
	EXPECT_EQ(1, n); /* lo only */
	free(v);
}

TEST_F(hostns, veth_roundtrip_and_master)
{
	struct mc_err err = { 0 };
	struct mc_netns_link_info *v = NULL;
	const struct mc_netns_link_info *a, *b;
	size_t n = 0;
	int br;

	ASSERT_OK(mc_netns_bridge_create(nl, "mctbr", NULL, &err));
	br = mc_netns_link_index(nl, "mctbr", &err);
	ASSERT_OK(mc_netns_veth_create(nl, "mctva", "mctvb", -1, &err));
	ASSERT_OK(mc_netns_link_set_master(nl, "mctva", "mctbr", &err));
	ASSERT_OK(mc_netns_link_dump(nl, &v, &n, &err));
	a = find_link(v, n, "mctva");
	b = find_link(v, n, "mctvb");
	ASSERT_NONNULL(a);
	ASSERT_NONNULL(b);
	EXPECT_STREQ("veth", a->kind);
	EXPECT_STREQ("veth", b->kind);
	EXPECT_EQ(br, a->master);
	EXPECT_EQ(0, b->master);
	free(v);

	ASSERT_OK(mc_netns_link_set_master(nl, "mctva", NULL, &err));
	ASSERT_OK(mc_netns_link_dump(nl, &v, &n, &err));
	EXPECT_EQ(0, find_link(v, n, "mctva")->master);
	free(v);

	/* Deleting one end takes the peer with it. */
	ASSERT_OK(mc_netns_link_destroy(nl, "mctva", &err));
	EXPECT_EQ(-ENODEV, mc_netns_link_index(nl, "mctvb", &err));
	ASSERT_OK(mc_netns_link_destroy(nl, "mctbr", &err));
}

/* The link address of @name, or all zeros when there is no such link. */
static void link_mac(const char *name, uint8_t mac[6])
{
	struct mc_err err = { 0 };
	struct mc_netns_link_info *v = NULL;
	const struct mc_netns_link_info *l;
	size_t n = 0;

	memset(mac, 0, 6);
	if (mc_netns_link_dump(nl, &v, &n, &err) == 0 && (l = find_link(v, n, name)))
		memcpy(mac, l->mac, 6);
	free(v);
}

/*
 * A bridge made with an address keeps it while ports come and go. Left to the
 * kernel, it would take the port's lower address here and lose it again when the
 * port is deleted, which cut off every container that had cached it.
 */
TEST_F(hostns, bridge_made_with_a_mac_keeps_it_as_ports_come_and_go)
{
	struct mc_err err = { 0 };
	const uint8_t mine[6] = { 0x02, 0x6d, 10, 88, 0, 1 };
	const uint8_t low[6] = { 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01 };
	uint8_t got[6];

	ASSERT_OK(mc_netns_bridge_create(nl, "mctbr", mine, &err));
	link_mac("mctbr", got);
	EXPECT_EQ(0, memcmp(mine, got, 6));
	ASSERT_OK(mc_netns_veth_create(nl, "mctva", "mctvb", -1, &err));
	ASSERT_OK(mc_netns_link_set_mac(nl, "mctva", low, &err));
	ASSERT_OK(mc_netns_link_set_master(nl, "mctva", "mctbr", &err));
	ASSERT_OK(mc_netns_link_set_up(nl, "mctva", true, &err));
	link_mac("mctbr", got);
	EXPECT_EQ(0, memcmp(mine, got, 6));
	ASSERT_OK(mc_netns_link_destroy(nl, "mctva", &err));
	link_mac("mctbr", got);
	EXPECT_EQ(0, memcmp(mine, got, 6));
	ASSERT_OK(mc_netns_link_destroy(nl, "mctbr", &err));
}

TEST_F(hostns, veth_peer_created_in_other_ns)
{
	struct mc_err err = { 0 };
	struct mc_netns_nl *inner = NULL;
	char path[64];
	int fd;

	self->child = spawn_holder();
	ASSERT_GT(self->child, 0);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", self->child);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_OK(mc_netns_veth_create(nl, "mcthost", "eth0", fd, &err));
	EXPECT_EQ(-ENODEV, mc_netns_link_index(nl, "eth0", &err));
	ASSERT_OK(mc_netns_nl_open_fd(fd, &inner, &err));
	EXPECT_GT(mc_netns_link_index(inner, "eth0", &err), 0);
	EXPECT_EQ(-ENODEV, mc_netns_link_index(inner, "mcthost", &err));
	mc_netns_nl_close(inner);
	close(fd);
	/* The pair dies with the other namespace. */
	kill(self->child, SIGKILL);
	waitpid(self->child, NULL, 0);
	self->child = 0;
	for (int i = 0; i < 200 && mc_netns_link_index(nl, "mcthost", &err) > 0; i++)
		usleep(10000);
	EXPECT_EQ(-ENODEV, mc_netns_link_index(nl, "mcthost", &err));
}

TEST_F(hostns, move_by_pid_and_fd_then_rename)
{
	struct mc_err err = { 0 };
	struct mc_netns_nl *inner = NULL;
	char path[64];
	int fd;

	self->child = spawn_holder();
	ASSERT_GT(self->child, 0);
	ASSERT_OK(mc_netns_veth_create(nl, "mctx0", "mctx1", -1, &err));
	ASSERT_OK(mc_netns_veth_create(nl, "mcty0", "mcty1", -1, &err));
	ASSERT_OK(mc_netns_link_move_pid(nl, "mctx1", self->child, &err));
	snprintf(path, sizeof(path), "/proc/%d/ns/net", self->child);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_OK(mc_netns_link_move_fd(nl, "mcty1", fd, &err));
	close(fd);
	EXPECT_EQ(-ENODEV, mc_netns_link_index(nl, "mctx1", &err));
	EXPECT_EQ(-ENODEV, mc_netns_link_index(nl, "mcty1", &err));

	ASSERT_OK(mc_netns_nl_open_pid(self->child, &inner, &err));
	ASSERT_OK(mc_netns_link_rename(inner, "mctx1", "eth0", &err));
	ASSERT_OK(mc_netns_link_rename(inner, "mcty1", "eth1", &err));
	EXPECT_GT(mc_netns_link_index(inner, "eth0", &err), 0);
	EXPECT_GT(mc_netns_link_index(inner, "eth1", &err), 0);
	EXPECT_EQ(-ENODEV, mc_netns_link_index(inner, "mctx1", &err));
	mc_netns_nl_close(inner);
	ASSERT_OK(mc_netns_link_destroy(nl, "mctx0", &err));
	ASSERT_OK(mc_netns_link_destroy(nl, "mcty0", &err));
}

TEST_F(hostns, addr_and_route_dumps_match_requests)
{
	struct mc_err err = { 0 };
	struct mc_netns_addr_info *a = NULL;
	struct mc_netns_route_info *r = NULL;
	size_t na = 0, nr = 0;
	struct in_addr ip, gw, dst, any = { 0 };
	int idx, found_a = 0, found_net = 0, found_def = 0, found_conn = 0;

	inet_pton(AF_INET, "10.1.2.3", &ip);
	inet_pton(AF_INET, "10.1.2.254", &gw);
	inet_pton(AF_INET, "10.9.0.0", &dst);
	ASSERT_OK(mc_netns_veth_create(nl, "mcta", "mctb", -1, &err));
	ASSERT_OK(mc_netns_link_set_up(nl, "mctb", true, &err));
	ASSERT_OK(mc_netns_link_set_up(nl, "mcta", true, &err));
	idx = mc_netns_link_index(nl, "mcta", &err);
	ASSERT_OK(mc_netns_addr_add(nl, "mcta", ip, 24, &err));
	ASSERT_OK(mc_netns_route_add(nl, dst, 16, gw, "mcta", &err));
	ASSERT_OK(mc_netns_route_add(nl, any, 0, gw, "mcta", &err));

	ASSERT_OK(mc_netns_addr_dump(nl, &a, &na, &err));
	for (size_t i = 0; i < na; i++)
		if (a[i].index == idx && a[i].addr.s_addr == ip.s_addr && a[i].prefix == 24)
			found_a++;
	EXPECT_EQ(1, found_a);
	ASSERT_OK(mc_netns_route_dump(nl, &r, &nr, &err));
	for (size_t i = 0; i < nr; i++) {
		if (r[i].oif != idx)
			continue;
		if (r[i].prefix == 16 && r[i].dst.s_addr == dst.s_addr &&
		    r[i].gw.s_addr == gw.s_addr)
			found_net++;
		if (r[i].prefix == 0 && r[i].gw.s_addr == gw.s_addr)
			found_def++;
		/* The kernel's own connected route for the address. */
		if (r[i].prefix == 24 && r[i].gw.s_addr == 0 &&
		    r[i].dst.s_addr == (ip.s_addr & htonl(0xffffff00)))
			found_conn++;
	}
	EXPECT_EQ(1, found_net);
	EXPECT_EQ(1, found_def);
	EXPECT_EQ(1, found_conn);
	free(a);
	free(r);

	ASSERT_OK(mc_netns_addr_del(nl, "mcta", ip, 24, &err));
	ASSERT_OK(mc_netns_addr_dump(nl, &a, &na, &err));
	for (size_t i = 0; i < na; i++)
		EXPECT_NE(ip.s_addr, a[i].addr.s_addr);
	free(a);
	/* Routes through the address's subnet went with it. */
	ASSERT_OK(mc_netns_route_dump(nl, &r, &nr, &err));
	for (size_t i = 0; i < nr; i++)
		EXPECT_NE(idx, r[i].oif);
	free(r);
	ASSERT_OK(mc_netns_link_destroy(nl, "mcta", &err));
}

TEST_F(hostns, kernel_errors_are_errno_with_message)
{
	struct mc_err err = { 0 };
	struct in_addr ip;

	inet_pton(AF_INET, "10.1.2.3", &ip);
	ASSERT_OK(mc_netns_bridge_create(nl, "mctdup", NULL, &err));
	EXPECT_EQ(-EEXIST, mc_netns_bridge_create(nl, "mctdup", NULL, &err));
	EXPECT_EQ(EEXIST, err.code);
	EXPECT_NONNULL(strstr(err.msg, "mctdup"));
	EXPECT_EQ(-ENODEV, mc_netns_link_destroy(nl, "mctnone", &err));
	EXPECT_EQ(-ENODEV, mc_netns_addr_add(nl, "mctnone", ip, 24, &err));
	EXPECT_NONNULL(strstr(err.msg, "mctnone"));
	EXPECT_EQ(-EINVAL, mc_netns_bridge_create(nl, "this-name-is-too-long", NULL, &err));
	EXPECT_EQ(-EINVAL, mc_netns_bridge_create(nl, "a/b", NULL, &err));
	/* An MTU below the minimum: the kernel's extended ack text reaches the message. */
	EXPECT_EQ(-EINVAL, mc_netns_link_set_mtu(nl, "mctdup", 10, &err));
	TH_LOG("message: %s", err.msg);
	EXPECT_NONNULL(strstr(err.msg, "mctdup"));
	ASSERT_OK(mc_netns_link_destroy(nl, "mctdup", &err));
}

TEST_F(hostns, veth_attached_in_one_request)
{
	struct mc_err err = { 0 };
	struct mc_netns_nl *inner = NULL;
	struct mc_netns_link_info *v = NULL;
	const struct mc_netns_link_info *br, *h, *p;
	struct veth_spec spec = { .name = "mcthost",
				  .peer = "eth0",
				  .mtu = 1400,
				  .peer_mac = { 0x02, 0x6d, 10, 1, 2, 3 },
				  .gso_max = NET_GSO_MAX };
	char path[64];
	size_t n = 0;
	bool big_tcp;
	int fd;

	self->child = spawn_holder();
	ASSERT_GT(self->child, 0);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", self->child);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	spec.peer_nsfd = fd;
	ASSERT_OK(mc_netns_bridge_create(nl, "mctbr", NULL, &err));
	spec.master = mc_netns_link_index(nl, "mctbr", &err);
	ASSERT_GT(spec.master, 0);
	ASSERT_OK(link_veth_create_attached(nl, &spec, &err));

	ASSERT_OK(mc_netns_link_dump(nl, &v, &n, &err));
	br = find_link(v, n, "mctbr");
	h = find_link(v, n, "mcthost");
	ASSERT_NONNULL(br);
	ASSERT_NONNULL(h);
	EXPECT_NULL(find_link(v, n, "eth0"));
	EXPECT_STREQ("veth", h->kind);
	EXPECT_EQ(spec.master, h->master);
	EXPECT_EQ(1400u, h->mtu);
	EXPECT_TRUE(h->flags & IFF_UP);
	/* Kernels before 6.3 neither report nor take the IPv4 GSO limit. */
	big_tcp = br->gso_ipv4_max_size != 0;
	if (big_tcp)
		EXPECT_EQ(NET_GSO_MAX, h->gso_ipv4_max_size);
	else
		TH_LOG("kernel without IFLA_GSO_IPV4_MAX_SIZE: BIG TCP limit not checked");
	free(v);

	ASSERT_OK(mc_netns_nl_open_fd(fd, &inner, &err));
	ASSERT_OK(mc_netns_link_dump(inner, &v, &n, &err));
	p = find_link(v, n, "eth0");
	ASSERT_NONNULL(p);
	EXPECT_EQ(1400u, p->mtu);
	EXPECT_EQ(0, memcmp(p->mac, spec.peer_mac, 6));
	/* The peer cannot be opened before the pair is linked: left down for the caller. */
	EXPECT_FALSE(p->flags & IFF_UP);
	if (big_tcp)
		EXPECT_EQ(NET_GSO_MAX, p->gso_ipv4_max_size);
	free(v);
	mc_netns_nl_close(inner);
	close(fd);
	/* The public setter on an existing link, and a limit beyond the kernel's. */
	if (big_tcp) {
		ASSERT_OK(mc_netns_link_set_gso_max(nl, "mcthost", 131072, &err));
		ASSERT_OK(mc_netns_link_dump(nl, &v, &n, &err));
		h = find_link(v, n, "mcthost");
		ASSERT_NONNULL(h);
		EXPECT_EQ(131072u, h->gso_ipv4_max_size);
		free(v);
		EXPECT_GT(0, mc_netns_link_set_gso_max(nl, "mcthost", 64u << 20, &err));
		TH_LOG("message: %s", err.msg);
		EXPECT_NONNULL(strstr(err.msg, "mcthost"));
	}
	/* With hairpin (a two-request batch): a master that is no bridge fails and
	 * leaves no veth behind. */
	ASSERT_OK(mc_netns_veth_create(nl, "mctnb0", "mctnb1", -1, &err));
	spec.name = "mcthp";
	spec.peer = "mcthpp";
	spec.peer_nsfd = -1;
	spec.hairpin = true;
	spec.master = mc_netns_link_index(nl, "mctnb0", &err);
	EXPECT_GT(0, link_veth_create_attached(nl, &spec, &err));
	TH_LOG("message: %s", err.msg);
	EXPECT_EQ(-ENODEV, mc_netns_link_index(nl, "mcthp", &err));
	EXPECT_EQ(-ENODEV, mc_netns_link_index(nl, "mcthpp", &err));
	ASSERT_OK(mc_netns_link_destroy(nl, "mctnb0", &err));
	/* And on the bridge it works. */
	spec.master = mc_netns_link_index(nl, "mctbr", &err);
	ASSERT_OK(link_veth_create_attached(nl, &spec, &err));
	ASSERT_OK(mc_netns_link_destroy(nl, "mcthp", &err));
	spec.name = "mcthost";
	spec.hairpin = false;

	/* A taken name: EEXIST, the message names it, nothing else is created. */
	spec.peer_nsfd = -1;
	spec.peer = "mctpeer";
	EXPECT_EQ(-EEXIST, link_veth_create_attached(nl, &spec, &err));
	EXPECT_NONNULL(strstr(err.msg, "mcthost"));
	EXPECT_EQ(-ENODEV, mc_netns_link_index(nl, "mctpeer", &err));
	ASSERT_OK(mc_netns_link_destroy(nl, "mcthost", &err));
	ASSERT_OK(mc_netns_link_destroy(nl, "mctbr", &err));
}

TEST_F(hostns, batch_runs_in_order_and_names_the_failing_request)
{
	struct mc_err err = { 0 };
	struct mc_netns_route_info *r = NULL;
	struct in_addr ip, ip2, gw, any = { 0 };
	const char *whats[4] = { "first", "second", "third", "fourth" };
	char buf[4096];
	struct mnl_nlmsg_batch *b;
	size_t nr = 0;
	int idx, sock, found_def = 0;

	inet_pton(AF_INET, "10.1.2.3", &ip);
	inet_pton(AF_INET, "10.1.3.3", &ip2);
	inet_pton(AF_INET, "10.1.2.254", &gw);
	ASSERT_OK(mc_netns_veth_create(nl, "mcta", "mctb", -1, &err));
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(sock, 0);
	idx = link_ioctl_index(sock, "mcta", &err);
	EXPECT_EQ(mc_netns_link_index(nl, "mcta", &err), idx);
	EXPECT_EQ(-ENODEV, link_ioctl_index(sock, "mctnone", &err));
	EXPECT_NONNULL(strstr(err.msg, "mctnone"));

	/* All good: one round trip, every request applied. */
	b = mnl_nlmsg_batch_start(buf, sizeof(buf) / 2);
	nl_link_up_msg(mnl_nlmsg_batch_current(b), "mctb", true);
	mnl_nlmsg_batch_next(b);
	nl_link_up_msg(mnl_nlmsg_batch_current(b), "mcta", true);
	mnl_nlmsg_batch_next(b);
	nl_addr_msg(mnl_nlmsg_batch_current(b), RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, idx, ip,
		    24);
	mnl_nlmsg_batch_next(b);
	nl_route_msg(mnl_nlmsg_batch_current(b), any, 0, gw, idx);
	mnl_nlmsg_batch_next(b);
	ASSERT_OK(nl_batch(nl, b, whats, 4, &err));
	mnl_nlmsg_batch_stop(b);
	ASSERT_OK(mc_netns_route_dump(nl, &r, &nr, &err));
	for (size_t i = 0; i < nr; i++)
		found_def += r[i].oif == idx && r[i].prefix == 0 && r[i].gw.s_addr == gw.s_addr;
	EXPECT_EQ(1, found_def);
	free(r);

	/* The second request fails (address exists): its name is in the error, and the
	 * kernel still ran the third. */
	b = mnl_nlmsg_batch_start(buf, sizeof(buf) / 2);
	nl_addr_msg(mnl_nlmsg_batch_current(b), RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, idx, ip2,
		    24);
	mnl_nlmsg_batch_next(b);
	nl_addr_msg(mnl_nlmsg_batch_current(b), RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, idx, ip,
		    24);
	mnl_nlmsg_batch_next(b);
	nl_link_up_msg(mnl_nlmsg_batch_current(b), "lo", true);
	mnl_nlmsg_batch_next(b);
	EXPECT_EQ(-EEXIST, nl_batch(nl, b, whats, 3, &err));
	mnl_nlmsg_batch_stop(b);
	TH_LOG("message: %s", err.msg);
	EXPECT_EQ(0, strncmp(err.msg, "second", 6));
	/* The socket is still in step: a plain request right after works. */
	EXPECT_EQ(-EEXIST, mc_netns_addr_add(nl, "mcta", ip2, 24, &err));
	EXPECT_EQ(0, mc_netns_addr_del(nl, "mcta", ip2, 24, &err));

	/* ethtool GRO on a veth: read back what was set. */
	ASSERT_OK(link_set_gro(sock, "mcta", true, &err));
	EXPECT_EQ(1, link_get_gro(sock, "mcta", &err));
	ASSERT_OK(link_set_gro(sock, "mcta", false, &err));
	EXPECT_EQ(0, link_get_gro(sock, "mcta", &err));
	EXPECT_GT(0, link_set_gro(sock, "mctnone", true, &err));
	close(sock);
	ASSERT_OK(mc_netns_link_destroy(nl, "mcta", &err));
}

TEST_HARNESS_MAIN
