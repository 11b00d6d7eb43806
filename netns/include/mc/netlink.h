/* SPDX-License-Identifier: MIT */
/*
 * netlink.h: rtnetlink through libmnl, one socket per network namespace: links
 * (bridge, veth), namespaces, names, MAC, MTU, up/down, IPv4 addresses and routes,
 * plus dumps of each. Every request waits for the kernel's ACK; NLMSG_ERROR becomes
 * -errno and a message in @err (with the kernel's extended-ack text when it sends one).
 * No function here shells out. A socket is not thread-safe; use one per thread.
 */
#ifndef MC_NETNS_NETLINK_H
#define MC_NETNS_NETLINK_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mc/err.h>

struct mc_netns_nl;

/*
 * mc_netns_nl_open: a route-netlink socket in the caller's network namespace.
 * mc_netns_nl_open_fd: in the namespace of @nsfd (an open /proc/PID/ns/net or a
 * bind-mounted netns file). The calling thread enters that namespace for the
 * duration of socket(2) and returns to its own; the socket stays bound to @nsfd's.
 * mc_netns_nl_open_pid: the same for the namespace of process @pid.
 * Returns 0 and *out (free with mc_netns_nl_close), or -errno.
 */
int mc_netns_nl_open(struct mc_netns_nl **out, struct mc_err *err);
int mc_netns_nl_open_fd(int nsfd, struct mc_netns_nl **out, struct mc_err *err);
int mc_netns_nl_open_pid(pid_t pid, struct mc_netns_nl **out, struct mc_err *err);
void mc_netns_nl_close(struct mc_netns_nl *nl);

/* mc_netns_link_index: the ifindex of @name, -ENODEV if there is none. */
int mc_netns_link_index(struct mc_netns_nl *nl, const char *name, struct mc_err *err);

/* Link creation and removal. -EEXIST when the name is taken. */
/*
 * mc_netns_bridge_create: a bridge @name. With @mac it keeps that address for its
 * whole life. Without (NULL) the kernel gives it a random one and then takes the
 * lowest address among its ports, which changes again when that port leaves: every
 * neighbour that cached the old one (a container's gateway entry) then sends into
 * the void until its entry expires.
 */
int mc_netns_bridge_create(struct mc_netns_nl *nl, const char *name, const uint8_t *mac,
			   struct mc_err *err);
/*
 * mc_netns_veth_create: a veth pair @name <-> @peer. With @peer_nsfd >= 0 the peer
 * end is created directly inside that namespace (atomic: no stray peer is ever
 * visible in the caller's namespace), otherwise next to @name.
 */
int mc_netns_veth_create(struct mc_netns_nl *nl, const char *name, const char *peer, int peer_nsfd,
			 struct mc_err *err);
/* mc_netns_link_destroy: deletes @name (a veth's peer goes with it). -ENODEV if absent. */
int mc_netns_link_destroy(struct mc_netns_nl *nl, const char *name, struct mc_err *err);

/* Link attributes. Each is one RTM_NEWLINK/SETLINK round trip. */
int mc_netns_link_set_up(struct mc_netns_nl *nl, const char *name, bool up, struct mc_err *err);
int mc_netns_link_set_mtu(struct mc_netns_nl *nl, const char *name, unsigned mtu,
			  struct mc_err *err);
int mc_netns_link_set_mac(struct mc_netns_nl *nl, const char *name, const uint8_t mac[6],
			  struct mc_err *err);
int mc_netns_link_rename(struct mc_netns_nl *nl, const char *name, const char *newname,
			 struct mc_err *err);
/*
 * mc_netns_link_set_gso_max: the IPv4 GSO and GRO size limits of @name
 * (IFLA_GSO_IPV4_MAX_SIZE / IFLA_GRO_IPV4_MAX_SIZE, "BIG TCP" above 65536; Linux >=
 * 6.3, up to 8 x 65535). Attaches set 512 KiB on every veth end.
 */
int mc_netns_link_set_gso_max(struct mc_netns_nl *nl, const char *name, uint32_t bytes,
			      struct mc_err *err);
/* mc_netns_link_set_master: enslaves @name to bridge @master (NULL: release it). */
int mc_netns_link_set_master(struct mc_netns_nl *nl, const char *name, const char *master,
			     struct mc_err *err);
/* Moves @name into another namespace, by process id or namespace fd. */
int mc_netns_link_move_pid(struct mc_netns_nl *nl, const char *name, pid_t pid, struct mc_err *err);
int mc_netns_link_move_fd(struct mc_netns_nl *nl, const char *name, int nsfd, struct mc_err *err);

/* IPv4 addresses and routes. @addr/@gw/@dst are in network byte order. */
int mc_netns_addr_add(struct mc_netns_nl *nl, const char *name, struct in_addr addr, int prefix,
		      struct mc_err *err);
int mc_netns_addr_del(struct mc_netns_nl *nl, const char *name, struct in_addr addr, int prefix,
		      struct mc_err *err);
/* mc_netns_route_add: @dst/@prefix via @gw (0: on-link) out of @ifname; prefix 0 = default. */
int mc_netns_route_add(struct mc_netns_nl *nl, struct in_addr dst, int prefix, struct in_addr gw,
		       const char *ifname, struct mc_err *err);

/* Dumps. *out is a malloc'ed array of *n entries (free()); may be NULL when *n is 0. */
struct mc_netns_link_info {
	int index;
	char name[IFNAMSIZ];
	char kind[16]; /* "bridge", "veth", "" for kinds without IFLA_INFO_KIND */
	int master;    /* ifindex of the bridge, 0 if none */
	unsigned mtu;
	unsigned flags; /* IFF_* */
	uint8_t mac[6];
	/* IFLA_GSO_MAX_SIZE and IFLA_GSO_IPV4_MAX_SIZE (0 when the kernel does not say). */
	unsigned gso_max_size, gso_ipv4_max_size;
};
struct mc_netns_addr_info {
	int index;
	struct in_addr addr;
	int prefix;
};
struct mc_netns_route_info {
	int oif;
	struct in_addr dst;
	int prefix;
	struct in_addr gw; /* 0.0.0.0 when on-link */
	uint32_t table;
	uint8_t protocol, scope, type;
};
int mc_netns_link_dump(struct mc_netns_nl *nl, struct mc_netns_link_info **out, size_t *n,
		       struct mc_err *err);
int mc_netns_addr_dump(struct mc_netns_nl *nl, struct mc_netns_addr_info **out, size_t *n,
		       struct mc_err *err);
/* Routes of the main table only. */
int mc_netns_route_dump(struct mc_netns_nl *nl, struct mc_netns_route_info **out, size_t *n,
			struct mc_err *err);

#endif
