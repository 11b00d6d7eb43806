/* SPDX-License-Identifier: MIT */
/*
 * ipam.c: the pure parts: IPv4/CIDR parsing and subnet arithmetic, the -p spec
 * parser (table-driven and randomised round trips), and the network record's JSON
 * form (round trip, and corrupt files rejected with a message, never a crash).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../netns/internal.h"
#include <mc/cleanup.h>

#include "harness.h"

TEST(cidr_and_ip_parsing)
{
	uint32_t net, ip;
	int p;

	ASSERT_OK(ipam_parse_cidr("10.88.1.0/24", &net, &p));
	EXPECT_EQ(0x0a580100u, net);
	EXPECT_EQ(24, p);
	ASSERT_OK(ipam_parse_cidr("0.0.0.0/0", &net, &p));
	EXPECT_EQ(0, p);
	const char *bad[] = { "10.88.1.0",  "10.88.1.0/",    "10.88.1.0/33",  "10.88.1.1/24",
			      "10.88.1/24", "10.88.1.0/024", "10.88.1.0/2a",  "/24",
			      "",	    "256.1.1.0/24",  "10.88.1.0/24 ", " 10.88.1.0/24",
			      "01.2.3.0/24" };
	for (size_t i = 0; i < MC_ARRAY_SIZE(bad); i++)
		EXPECT_EQ(-EINVAL, ipam_parse_cidr(bad[i], &net, &p));
	ASSERT_OK(ipam_parse_ip("10.88.1.7", &ip));
	EXPECT_EQ(0x0a580107u, ip);
	EXPECT_EQ(-EINVAL, ipam_parse_ip("10.88.1.7.1", &ip));
	EXPECT_EQ(-EINVAL, ipam_parse_ip("10.88.1", &ip));
	EXPECT_EQ(-EINVAL, ipam_parse_ip("::1", &ip));

	EXPECT_TRUE(ipam_is_host(0x0a580100u, 24, 0x0a580101u));
	EXPECT_FALSE(ipam_is_host(0x0a580100u, 24, 0x0a580100u)); /* network */
	EXPECT_FALSE(ipam_is_host(0x0a580100u, 24, 0x0a5801ffu)); /* broadcast */
	EXPECT_FALSE(ipam_is_host(0x0a580100u, 24, 0x0a580201u)); /* outside */
	EXPECT_TRUE(ipam_overlap(0x0a580100u, 24, 0x0a580000u, 16));
	EXPECT_TRUE(ipam_overlap(0x0a580180u, 25, 0x0a580100u, 24));
	EXPECT_FALSE(ipam_overlap(0x0a580100u, 24, 0x0a580200u, 24));
	EXPECT_TRUE(ipam_valid_name("raft-1.x_y", 64));
	EXPECT_FALSE(ipam_valid_name("-x", 64));
	EXPECT_FALSE(ipam_valid_name("a b", 64));
	EXPECT_FALSE(ipam_valid_name("a/b", 64));
}

TEST(port_spec_table)
{
	struct mc_err err = { 0 };
	struct mc_netns_port p;

	ASSERT_OK(mc_netns_port_parse("8080:80", &p, &err));
	EXPECT_EQ(INADDR_ANY, p.host_ip.s_addr);
	EXPECT_EQ(8080, p.host_port);
	EXPECT_EQ(80, p.ctr_port);
	EXPECT_EQ(IPPROTO_TCP, p.proto);
	ASSERT_OK(mc_netns_port_parse("127.0.0.1:1:65535/udp", &p, &err));
	EXPECT_EQ(htonl(0x7f000001), p.host_ip.s_addr);
	EXPECT_EQ(1, p.host_port);
	EXPECT_EQ(65535, p.ctr_port);
	EXPECT_EQ(IPPROTO_UDP, p.proto);
	ASSERT_OK(mc_netns_port_parse("1.2.3.4:443:8443/tcp", &p, &err));

	const char *bad[] = {
		"",	      "80",	     "0:80",	    "80:0",	   "65536:80", "80:80/sctp",
		"80:80/",     "a:80",	     "1.2.3:80:80", ":80",	   "80:",      "x:80:80",
		"1.2.3.4:80", "1.2.3.4::80", "080:80",	    "80:80:80:80", "80 :80",   "-1:80"
	};
	for (size_t i = 0; i < MC_ARRAY_SIZE(bad); i++) {
		mc_err_clear(&err);
		EXPECT_EQ(-EINVAL, mc_netns_port_parse(bad[i], &p, &err));
		EXPECT_NONNULL(strstr(err.msg, "invalid port spec"));
		if (!strstr(err.msg, "invalid port spec"))
			TH_LOG("input `%s`", bad[i]);
	}
}

TEST(port_spec_random_round_trip)
{
	uint64_t s = th_seed();
	struct mc_err err = { 0 };

	for (int i = 0; i < 20000; i++) {
		struct mc_netns_port p, q;
		char spec[80], ip[16];

		/* xorshift64 */
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		p.host_port = (uint16_t)(1 + s % 65535);
		p.ctr_port = (uint16_t)(1 + (s >> 16) % 65535);
		p.proto = (s >> 32) & 1 ? IPPROTO_UDP : IPPROTO_TCP;
		p.host_ip.s_addr = (s >> 33) & 1 ? (uint32_t)(s >> 8) : 0;
		inet_ntop(AF_INET, &p.host_ip, ip, sizeof(ip));
		if (p.host_ip.s_addr)
			snprintf(spec, sizeof(spec), "%s:%u:%u/%s", ip, p.host_port, p.ctr_port,
				 p.proto == IPPROTO_UDP ? "udp" : "tcp");
		else
			snprintf(spec, sizeof(spec), "%u:%u%s", p.host_port, p.ctr_port,
				 p.proto == IPPROTO_UDP ? "/udp" : "");
		ASSERT_OK(mc_netns_port_parse(spec, &q, &err));
		ASSERT_EQ(p.host_port, q.host_port);
		ASSERT_EQ(p.ctr_port, q.ctr_port);
		ASSERT_EQ(p.proto, q.proto);
		ASSERT_EQ(p.host_ip.s_addr, q.host_ip.s_addr);
		/* Random bytes never crash and, when accepted, are in range. */
		for (int j = 0; j < 12; j++) {
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			spec[j] = "0123456789:./tcpudx"[s % 19];
		}
		spec[12] = '\0';
		if (mc_netns_port_parse(spec, &q, &err) == 0)
			ASSERT_TRUE(q.host_port > 0 && q.ctr_port > 0);
	}
}

static struct net_record sample(void)
{
	struct net_record r = { 0 };
	struct net_endpoint ep = { 0 };

	strcpy(r.name, "raftnet");
	strcpy(r.bridge, "mc-raftnet");
	r.subnet = 0x0a580100u;
	r.prefix = 24;
	r.gateway = 0x0a580101u;
	r.mtu = 1500;
	strcpy(r.created, "2026-01-01T00:00:00Z");
	strcpy(ep.id, "abc123");
	strcpy(ep.name, "raft1");
	strcpy(ep.aliases[0], "r1");
	ep.n_aliases = 1;
	ep.ip = 0x0a580102u;
	strcpy(ep.veth, "mcv00000001");
	strcpy(ep.hosts, "/run/x/hosts");
	ep.ports[0] =
		(struct mc_netns_port){ .host_port = 8080, .ctr_port = 80, .proto = IPPROTO_TCP };
	ep.n_ports = 1;
	net_record_add(&r, &ep, NULL);
	strcpy(ep.id, "def456");
	strcpy(ep.name, "raft2");
	ep.n_aliases = 0;
	ep.n_ports = 0;
	ep.hosts[0] = '\0';
	ep.ip = 0x0a580103u;
	net_record_add(&r, &ep, NULL);
	return r;
}

TEST(record_json_round_trip)
{
	struct mc_err err = { 0 };
	struct net_record r = sample(), back;
	char *json = NULL, *json2 = NULL;

	ASSERT_OK(net_record_format(&r, &json, &err));
	ASSERT_OK(net_record_parse(json, strlen(json), &back, &err));
	EXPECT_STREQ(r.name, back.name);
	EXPECT_STREQ(r.bridge, back.bridge);
	EXPECT_EQ(r.subnet, back.subnet);
	EXPECT_EQ(r.prefix, back.prefix);
	EXPECT_EQ(r.gateway, back.gateway);
	ASSERT_EQ(2, back.n_eps);
	EXPECT_STREQ("r1", back.eps[0].aliases[0]);
	EXPECT_EQ(8080, back.eps[0].ports[0].host_port);
	EXPECT_EQ(0x0a580103u, back.eps[1].ip);
	ASSERT_OK(net_record_format(&back, &json2, &err));
	EXPECT_STREQ(json, json2);
	net_record_remove(&back, "abc123");
	EXPECT_EQ(1, back.n_eps);
	EXPECT_STREQ("def456", back.eps[0].id);
	free(json);
	free(json2);
	net_record_release(&r);
	net_record_release(&back);
}

TEST(record_corruptions_rejected)
{
	struct mc_err err = { 0 };
	struct net_record r = sample(), back;
	char *json = NULL;

	ASSERT_OK(net_record_format(&r, &json, &err));
	struct {
		const char *from, *to;
	} edits[] = {
		{ "\"10.88.1.0/24\"", "\"10.88.1.0/40\"" },
		{ "\"10.88.1.1\"", "\"10.99.1.1\"" }, /* gateway outside */
		{ "\"10.88.1.3\"", "\"10.88.1.2\"" }, /* duplicate ip */
		{ "\"def456\"", "\"abc123\"" },	      /* duplicate id */
		{ "\"mc-raftnet\"", "\"eth0\"" },     /* not one of our bridges */
		{ "8080", "70000" },
		{ "\"tcp\"", "\"sctp\"" },
		{ "\"raftnet\"", "\"../etc\"" },
		{ "1500", "\"1500\"" },
		{ "\"endpoints\"", "\"endpoints\": 1, \"x\"" },
		{ "{", "[" },
	};
	for (size_t i = 0; i < MC_ARRAY_SIZE(edits); i++) {
		char *p = strstr(json, edits[i].from);
		char buf[8192];

		ASSERT_NONNULL(p);
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - json), json, edits[i].to,
			 p + strlen(edits[i].from));
		mc_err_clear(&err);
		EXPECT_LT(net_record_parse(buf, strlen(buf), &back, &err), 0);
		EXPECT_NE(0, err.code);
		TH_LOG("%s", err.msg);
	}
	/* Every truncation fails cleanly. */
	for (size_t n = 0; n < strlen(json); n += 7)
		EXPECT_LT(net_record_parse(json, n, &back, &err), 0);
	free(json);
	net_record_release(&r);
}

TEST_HARNESS_MAIN
