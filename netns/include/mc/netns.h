/* SPDX-License-Identifier: MIT */
/*
 * netns.h: container networks. Named networks (a Linux bridge plus an IPv4 subnet)
 * persisted as <state>/networks/NAME.json with their address allocations; attach and
 * detach of a container (veth pair, eth0, address, default route, lo, /etc/hosts of
 * every member kept current); published ports as nftables DNAT rules. Every mutating
 * call holds an exclusive flock on <state>/networks/.lock, so concurrent `run`s are
 * safe; all kernel work happens in the caller's network namespace (the "host").
 * The low-level netlink calls are in <mc/netlink.h>.
 */
#ifndef MC_NETNS_H
#define MC_NETNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mc/err.h>

#define MC_NETNS_STATE_DEFAULT "/var/lib/mycontainer"
#define MC_NETNS_DEFAULT_NETWORK "bridge"
#define MC_NETNS_DEFAULT_SUBNET "10.88.0.0/24"
#define MC_NETNS_DEFAULT_MTU 1500

/* Where network records live: <state_root>/networks. NULL root = MC_NETNS_STATE_DEFAULT. */
struct mc_netns_ctx {
	const char *state_root;
};

/* A published port: host [ip:]port -> container port. Addresses in network byte order. */
struct mc_netns_port {
	struct in_addr host_ip; /* INADDR_ANY: every local address of the host */
	uint16_t host_port;
	uint16_t ctr_port;
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
};

/*
 * mc_netns_port_parse: "[HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]" -> *out. -EINVAL with
 * a one-line reason in @err for anything else (ports 1..65535, dotted-quad IPv4).
 */
int mc_netns_port_parse(const char *spec, struct mc_netns_port *out, struct mc_err *err);

/* A network as ls/inspect report it. */
struct mc_netns_endpoint_info {
	char id[128];
	char name[64];
	char ip[16];
	char veth[16];
};
struct mc_netns_network_info {
	char name[64];
	char bridge[16];
	char subnet[20]; /* "10.88.1.0/24" */
	char gateway[16];
	unsigned mtu;
	char created[48];
	size_t n_endpoints;
	struct mc_netns_endpoint_info *endpoints; /* malloc'ed; mc_netns_network_info_release */
};
void mc_netns_network_info_release(struct mc_netns_network_info *info);

/*
 * mc_netns_network_create: records network @name and creates its bridge. @subnet
 * (CIDR, prefix 8..30) NULL picks the first free 10.88.N.0/24; @gateway NULL is the
 * first host address. Refuses a taken name, "none"/"host", a subnet overlapping
 * another network, a gateway outside the subnet: one line in @err, nothing created.
 */
int mc_netns_network_create(const struct mc_netns_ctx *ctx, const char *name, const char *subnet,
			    const char *gateway, struct mc_err *err);
/*
 * mc_netns_network_create_mtu: the same with the MTU of the bridge, the host veths
 * and the containers' eth0 (576..65535; 0: MC_NETNS_DEFAULT_MTU). 1500 matches an
 * Ethernet uplink; a large one (65535, like lo's 65536) lets container-to-container
 * TCP over the bridge move 64 KiB segments (see docs/benchmarks/netns.md). Traffic
 * that leaves the host is fine either way for TCP (the peer's MSS caps segments);
 * UDP datagrams above the uplink's MTU get fragmented on the way out.
 */
int mc_netns_network_create_mtu(const struct mc_netns_ctx *ctx, const char *name,
				const char *subnet, const char *gateway, unsigned mtu,
				struct mc_err *err);
/* mc_netns_network_ensure_default: creates the default network if it does not exist. */
int mc_netns_network_ensure_default(const struct mc_netns_ctx *ctx, struct mc_err *err);
/* mc_netns_network_inspect: fills *out (release it). -ENOENT: "network `X` not found". */
int mc_netns_network_inspect(const struct mc_netns_ctx *ctx, const char *name,
			     struct mc_netns_network_info *out, struct mc_err *err);
/* mc_netns_network_list: every network, sorted by name; free with mc_netns_network_list_free. */
int mc_netns_network_list(const struct mc_netns_ctx *ctx, struct mc_netns_network_info **out,
			  size_t *n, struct mc_err *err);
void mc_netns_network_list_free(struct mc_netns_network_info *list, size_t n);
/* mc_netns_network_remove: -EBUSY while containers are attached; deletes bridge and rules. */
int mc_netns_network_remove(const struct mc_netns_ctx *ctx, const char *name, struct mc_err *err);

/* What the runtime asks for when a container joins a network. */
struct mc_netns_attach_req {
	const char *network;	    /* NULL: the default network (created on demand) */
	const char *ctr_id;	    /* unique key of the attachment ([A-Za-z0-9_.-], < 128) */
	const char *name;	    /* resolvable name (hostname), may be NULL */
	const char *const *aliases; /* more names (--network-alias), n_aliases of them */
	size_t n_aliases;
	pid_t pid;		/* a process in the container's netns, or 0 and: */
	int nsfd;		/* an open netns file (used when pid == 0) */
	const char *ip;		/* requested address (--ip), NULL: next free */
	const char *hosts_path; /* the container's /etc/hosts seen from the host, or NULL */
	const struct mc_netns_port *ports;
	size_t n_ports;
};
struct mc_netns_attachment {
	char network[64];
	char ip[16];
	int prefix;
	char gateway[16];
	char veth[16]; /* host end */
	char mac[18];
};

/*
 * mc_netns_attach: reserves an address, creates veth <veth> (on the bridge) <-> eth0
 * (in the container's netns) with a MAC derived from the address, sets address, lo
 * and eth0 up, the default route via the gateway, the published ports' DNAT rules,
 * then rewrites /etc/hosts of every member of the network. The reservation is saved
 * before any kernel object exists, so a runtime killed -9 midway leaves a record that
 * mc_netns_detach cleans. On failure nothing is left. Call from the parent after
 * clone, while the child waits. Blocks on the state lock.
 */
int mc_netns_attach(const struct mc_netns_ctx *ctx, const struct mc_netns_attach_req *req,
		    struct mc_netns_attachment *out, struct mc_err *err);
/*
 * mc_netns_detach: releases everything of @ctr_id on @network (NULL: on every
 * network): host veth (absent is fine: it dies with the container's netns), DNAT
 * rules, the address; rewrites the others' /etc/hosts. Idempotent: a container with
 * no attachment is 0. Usable after kill -9 of the container or of the runtime.
 */
int mc_netns_detach(const struct mc_netns_ctx *ctx, const char *network, const char *ctr_id,
		    struct mc_err *err);

/*
 * MC_NETNS_DETACH_KEEP_LINK: mc_netns_detach_flags releases the address, the DNAT
 * rules and the hosts entries but leaves the host veth alone. For a container whose
 * last process has exited: its netns is going away and the kernel deletes the pair
 * with it, while an explicit RTM_DELLINK would wait 10-30 ms for RCU grace periods.
 * mc_netns_link_release deletes it later if it is still there.
 */
#define MC_NETNS_DETACH_KEEP_LINK 1u
int mc_netns_detach_flags(const struct mc_netns_ctx *ctx, const char *network, const char *ctr_id,
			  unsigned flags, struct mc_err *err);

/*
 * mc_netns_link_release: deletes the host veth of @ctr_id on @network if it still
 * exists (0 when it is gone already). Blocking: RTM_DELLINK waits for RCU.
 */
int mc_netns_link_release(const char *network, const char *ctr_id, struct mc_err *err);

#endif
