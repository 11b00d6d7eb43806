/* SPDX-License-Identifier: MIT */
/*
 * ports.c: published ports (nftables DNAT) in a test "host" namespace: the host's
 * 127.0.0.1:HOSTPORT and a HOSTIP:HOSTPORT reach the container, a taken port is
 * refused, and after detach the port is closed and no rule is left; hairpin: the
 * container itself and a neighbour on its network reach the port through a host
 * address.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>

#include "../../netns/internal.h"
#include "fixture.h"

static int attach_ports(FIXTURE_DATA(host) * self, const char *id, pid_t pid,
			const char *const *specs, size_t n, struct mc_err *err)
{
	struct mc_netns_port p[8];
	struct mc_netns_attachment at;
	struct mc_netns_attach_req req = { .network = "web",
					   .ctr_id = id,
					   .name = id,
					   .pid = pid,
					   .nsfd = -1,
					   .ports = p,
					   .n_ports = n };

	for (size_t i = 0; i < n; i++) {
		int r = mc_netns_port_parse(specs[i], &p[i], err);

		if (r < 0)
			return r;
	}
	return mc_netns_attach(&self->ctx, &req, &at, err);
}

TEST_F(host, published_port_reachable_then_gone)
{
	struct mc_err err = { 0 };
	struct ctr web = { .to_child = -1, .from_child = -1 }, other = web;
	struct ctr_spec srv = {
		.role = CTR_SERVE, .port = 80, .greeting = "it works", .timeout_ms = 15000
	};
	struct ctr_spec idle = { .role = CTR_IDLE };
	const char *specs[] = { "8080:80", "10.88.7.1:8081:80/tcp" };

	ASSERT_OK(mc_netns_network_create(&self->ctx, "web", "10.88.7.0/24", NULL, &err));
	ASSERT_OK(spawn(self, &web, &srv));
	ASSERT_OK(attach_ports(self, "web1", web.pid, specs, 2, &err));
	ASSERT_OK(ctr_go(&web));
	ASSERT_EQ('l', ctr_wait(&web, 5000));
	EXPECT_EQ(4, nft_tag_count("ctr:web1", &err));

	/* curl 127.0.0.1:8080 from the host: output-chain DNAT + route_localnet + masquerade. */
	EXPECT_TRUE(tcp_probe("127.0.0.1", 8080, "it works", 3000));
	/* Any local address of the host matches a port published without HOSTIP. */
	EXPECT_TRUE(tcp_probe("10.88.7.1", 8080, "it works", 3000));
	/* A port bound to one host address answers there only. */
	EXPECT_TRUE(tcp_probe("10.88.7.1", 8081, "it works", 3000));
	EXPECT_FALSE(tcp_probe("127.0.0.1", 8081, "it works", 1000));

	/* The same host port cannot be published twice. */
	ASSERT_OK(spawn(self, &other, &idle));
	EXPECT_EQ(-EADDRINUSE, attach_ports(self, "web2", other.pid, specs, 1, &err));
	EXPECT_NONNULL(strstr(err.msg, "port 8080/tcp is already published by container `web1`"));
	EXPECT_EQ(0, count_veths() - 1);

	ASSERT_OK(mc_netns_detach(&self->ctx, NULL, "web1", &err));
	EXPECT_EQ(0, nft_tag_count("ctr:web1", &err));
	EXPECT_FALSE(tcp_probe("127.0.0.1", 8080, "it works", 1000));
	/* Now the port is free for the other container. */
	ASSERT_OK(attach_ports(self, "web2", other.pid, specs, 1, &err));
	EXPECT_EQ(2, nft_tag_count("ctr:web2", &err));
	ASSERT_OK(mc_netns_detach(&self->ctx, NULL, "web2", &err));
	ctr_kill(&web);
	ctr_kill(&other);
	ASSERT_OK(mc_netns_network_remove(&self->ctx, "web", &err));
	EXPECT_EQ(0, nft_tag_count("net:web", &err));
	EXPECT_EQ(1, count_links());
}

/* tcp_probe from inside the network namespace of @pid (a child enters it). */
static bool probe_from(pid_t pid, const char *ip, uint16_t port, const char *greeting)
{
	char path[64];
	int status = 0;
	pid_t c;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	c = fork();
	if (c == 0) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			_exit(2);
		_exit(tcp_probe(ip, port, greeting, 3000) ? 0 : 1);
	}
	if (c < 0 || waitpid(c, &status, 0) != c)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST_F(host, hairpin_to_own_and_neighbours_published_port)
{
	struct mc_err err = { 0 };
	struct mc_netns_attachment at;
	struct ctr web = { .to_child = -1, .from_child = -1 }, peer = web;
	struct ctr_spec srv = {
		.role = CTR_SERVE, .port = 80, .greeting = "hairpin ok", .timeout_ms = 15000
	};
	struct ctr_spec idle = { .role = CTR_IDLE };
	const char *specs[] = { "8080:80" };
	struct mc_netns_attach_req req = {
		.network = "web", .ctr_id = "peer", .name = "peer", .nsfd = -1
	};

	ASSERT_OK(mc_netns_network_create(&self->ctx, "web", "10.88.7.0/24", NULL, &err));
	ASSERT_OK(spawn(self, &web, &srv));
	ASSERT_OK(attach_ports(self, "web1", web.pid, specs, 1, &err));
	ASSERT_OK(spawn(self, &peer, &idle));
	req.pid = peer.pid;
	ASSERT_OK(mc_netns_attach(&self->ctx, &req, &at, &err));
	ASSERT_OK(ctr_go(&web));
	ASSERT_EQ('l', ctr_wait(&web, 5000));
	/* Control: straight to the container works from both. */
	EXPECT_TRUE(probe_from(peer.pid, "10.88.7.2", 80, "hairpin ok"));
	/* Through the host's address (the gateway is one): DNAT back onto the bridge,
	 * masqueraded so the answers come back through the host to be un-NATed. */
	EXPECT_TRUE(probe_from(web.pid, "10.88.7.1", 8080, "hairpin ok"));
	EXPECT_TRUE(probe_from(peer.pid, "10.88.7.1", 8080, "hairpin ok"));
	ASSERT_OK(mc_netns_detach(&self->ctx, NULL, "web1", &err));
	ASSERT_OK(mc_netns_detach(&self->ctx, NULL, "peer", &err));
	ctr_kill(&web);
	ctr_kill(&peer);
	ASSERT_OK(mc_netns_network_remove(&self->ctx, "web", &err));
}

TEST_HARNESS_MAIN
