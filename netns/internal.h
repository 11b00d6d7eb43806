/* SPDX-License-Identifier: MIT */
/*
 * internal.h: what the files of libmcnetns share and the tests reach: the netlink
 * request core, the nftables port/isolation rules, the network record (parsed JSON)
 * and the store that locks, loads and saves it.
 */
#ifndef MC_NETNS_INTERNAL_H
#define MC_NETNS_INTERNAL_H

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdint.h>

#include <mc/netlink.h>
#include <mc/netns.h>

/* ---- nl.c: the one place that talks netlink ---- */

struct mc_netns_nl {
	struct mnl_socket *sock;
	uint32_t seq; /* last sequence number used; each request takes the next */
	uint32_t portid;
};

/* Room for one request or one batch of receive: the kernel sends at most a page per skb. */
#define NL_BUF_SIZE (MNL_SOCKET_BUFFER_SIZE > 16384 ? MNL_SOCKET_BUFFER_SIZE : 16384)

/*
 * nl_request: sends @nlh (its seq and NLM_F_ACK/NLM_F_REQUEST are set here) and reads
 * replies until the ACK or NLMSG_DONE of that sequence number, handing every data
 * message to @cb (may be NULL). A kernel error becomes -errno and "@what: <ext ack
 * or strerror>" in @err.
 */
int nl_request(struct mc_netns_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
	       const char *what, struct mc_err *err);

/*
 * nl_talk: the same loop for any mnl socket (netfilter uses it too): sends @len bytes
 * at @buf and waits for acks of every seq in [@seq_first, @seq_last]; the first error
 * wins. @portid is the socket's port id.
 */
int nl_talk(struct mnl_socket *sock, uint32_t portid, const void *buf, size_t len,
	    uint32_t seq_first, uint32_t seq_last, mnl_cb_t cb, void *data, const char *what,
	    struct mc_err *err);

/*
 * nl_batch: the @n requests in @b (built back to back with mnl_nlmsg_batch_next)
 * in one sendmsg, NLM_F_ACK on the last only; one round trip for all of them. The
 * kernel runs them in order and goes on after a failure; the first failing request
 * names the error ("@whats[i]: <ext ack or strerror>").
 */
int nl_batch(struct mc_netns_nl *nl, struct mnl_nlmsg_batch *b, const char *const *whats, size_t n,
	     struct mc_err *err);

/* nl_enter_ns / nl_leave_ns: switch the calling thread into @nsfd and back (*saved). */
int nl_enter_ns(int nsfd, int *saved, struct mc_err *err);
void nl_leave_ns(int saved);

/* ---- link.c / addr.c: pieces of the attach ---- */

/*
 * NET_GSO_MAX: the GSO/GRO size limit of every veth end we create (BIG TCP for
 * IPv4, Linux >= 6.3; older kernels ignore the attributes). The sending TCP stack
 * then builds up to 512 KiB GSO packets instead of 64 KiB, so veth, bridge and
 * netfilter run once per 512 KiB: bridge TCP went from 0.75x to 1.3-1.7x loopback
 * at MTU 1500 (docs/benchmarks/netns.md). Wire packets keep the MTU: the segments
 * are cut where a device cannot take them (the uplink), as for any GSO packet.
 * GRO_MAX_SIZE (8 * 65535) is the largest value the kernel accepts for both.
 */
#define NET_GSO_MAX (8u * 65535u)

/* A veth pair made in one request: host end @name up on bridge @master, peer @peer
 * (left down) inside @peer_nsfd (< 0: next to @name) with @peer_mac; both with @mtu and, when @gso_max is not 0,
 * IFLA_GSO_IPV4_MAX_SIZE and IFLA_GRO_IPV4_MAX_SIZE of @gso_max (BIG TCP). With
 * @hairpin the port's hairpin mode is set in the same round trip (nl_batch). */
struct veth_spec {
	const char *name, *peer;
	int peer_nsfd;
	int master;
	unsigned mtu;
	uint8_t peer_mac[6];
	uint32_t gso_max;
	bool hairpin; /* the bridge port may send frames back where they came from */
};
int link_veth_create_attached(struct mc_netns_nl *nl, const struct veth_spec *s,
			      struct mc_err *err);
/* Through @sock, an AF_INET socket of the link's namespace: the ifindex (no netlink
 * round trip), and the GRO feature (ethtool; on a veth it also turns on its NAPI). */
int link_ioctl_index(int sock, const char *name, struct mc_err *err);
/*
 * link_pin_mac: a bridge whose address is not @want was made by an older version,
 * which left the address to the kernel (it follows the lowest port's): sets its
 * current address again, which pins it without changing it, so no cached neighbour
 * entry goes stale. 0: already @want, 1: pinned.
 */
int link_pin_mac(int sock, const char *name, const uint8_t want[6], struct mc_err *err);
int link_set_gro(int sock, const char *name, bool on, struct mc_err *err);
int link_get_gro(int sock, const char *name, struct mc_err *err);
/* Message builders for nl_batch (@buf from mnl_nlmsg_batch_current). */
struct nlmsghdr *nl_link_up_msg(void *buf, const char *name, bool up);
struct nlmsghdr *nl_addr_msg(void *buf, uint16_t type, uint16_t flags, int idx, struct in_addr addr,
			     int prefix);
struct nlmsghdr *nl_route_msg(void *buf, struct in_addr dst, int prefix, struct in_addr gw,
			      int oif);
/* The on-link route to @dst/@prefix out of @oif with source @src, as the kernel makes
 * it for an address (proto kernel, scope link), replacing it, with congestion
 * control @cc (RTAX_CC_ALGO). */
struct nlmsghdr *nl_onlink_route_msg(void *buf, struct in_addr dst, int prefix, struct in_addr src,
				     int oif, const char *cc);
/* TCP_CA_NAME_MAX; the congestion control of a container's on-link route when its
 * netns default is BBR (attach.c, onlink_cc_choose). */
#define NET_CC_LEN 16
#define NET_ONLINK_CC "cubic"

/* ---- ipam.c ---- */

/* Host-order IPv4 helpers and validation of names. */
int ipam_parse_ip(const char *s, uint32_t *out);
int ipam_parse_cidr(const char *s, uint32_t *net, int *prefix);
void ipam_format_ip(uint32_t ip, char buf[16]);
static inline uint32_t ipam_mask(int prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}
static inline bool ipam_overlap(uint32_t a, int pa, uint32_t b, int pb)
{
	int p = pa < pb ? pa : pb;

	return ((a ^ b) & ipam_mask(p)) == 0;
}
/*
 * ipam_mac: the link address that goes with @ip (host order), 02:6d:a.b.c.d
 * (locally administered, 'm'): a container's eth0 gets its address's, the bridge its
 * gateway's. Unique on a network because the addresses are; and the bridge's being
 * fixed at creation keeps the kernel from moving it to the lowest port address.
 */
static inline void ipam_mac(uint32_t ip, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x6d;
	mac[2] = (uint8_t)(ip >> 24);
	mac[3] = (uint8_t)(ip >> 16);
	mac[4] = (uint8_t)(ip >> 8);
	mac[5] = (uint8_t)ip;
}
/* A usable host address of the subnet: not the network, broadcast or gateway address. */
bool ipam_is_host(uint32_t net, int prefix, uint32_t ip);
bool ipam_valid_name(const char *s, size_t max);
uint32_t ipam_hash(const char *a, const char *b);

/* ---- record.c: the network record and its JSON form ---- */

#define NET_MAX_ENDPOINTS 4096
#define NET_MAX_ALIASES 8
#define NET_MAX_PORTS 32
#define NET_NAME_MAX 64
#define NET_ID_MAX 128

struct net_endpoint {
	char id[NET_ID_MAX];
	char name[NET_NAME_MAX];
	char aliases[NET_MAX_ALIASES][NET_NAME_MAX];
	int n_aliases;
	uint32_t ip; /* host order */
	char veth[IFNAMSIZ];
	char hosts[4096]; /* path of the container's /etc/hosts on the host, "" if none */
	struct mc_netns_port ports[NET_MAX_PORTS];
	int n_ports;
};

struct net_record {
	char name[NET_NAME_MAX];
	char bridge[IFNAMSIZ];
	uint32_t subnet; /* host order */
	int prefix;
	uint32_t gateway;
	unsigned mtu;
	char created[48];
	struct net_endpoint *eps;
	size_t n_eps;
};

void net_record_release(struct net_record *r);
/* net_record_parse: JSON text -> record, validating every field (MC_ECORRUPT). */
int net_record_parse(const char *json, size_t len, struct net_record *out, struct mc_err *err);
/* net_record_format: record -> JSON text (malloc'ed, NUL-terminated). */
int net_record_format(const struct net_record *r, char **out, struct mc_err *err);
struct net_endpoint *net_record_find(struct net_record *r, const char *id);
int net_record_add(struct net_record *r, const struct net_endpoint *ep, struct mc_err *err);
void net_record_remove(struct net_record *r, const char *id);

/* ---- store.c: <root>/networks, flock'ed ---- */

struct net_store {
	char dir[4096]; /* <root>/networks */
	int lock_fd;
};
/* store_open: creates the directory and takes the lock (exclusive or shared). */
int store_open(const struct mc_netns_ctx *ctx, bool exclusive, struct net_store *st,
	       struct mc_err *err);
void store_close(struct net_store *st);
/* store_load: -ENOENT with "network `NAME` not found" when there is no such network. */
int store_load(struct net_store *st, const char *name, struct net_record *out, struct mc_err *err);
/* store_save: @durable fsyncs (definitions); endpoint changes only rename. */
int store_save(struct net_store *st, const struct net_record *r, bool durable, struct mc_err *err);
int store_remove(struct net_store *st, const char *name, struct mc_err *err);
/* store_list: the names of every network, sorted; *names is malloc'ed (free each + array). */
int store_list(struct net_store *st, char ***names, size_t *n, struct mc_err *err);

/* ---- epslot.c: the two-slot format of NAME.ep ---- */

#define EPSLOT_HDR 32
#define EPSLOT_MIN (16u << 10)
/* The slot size for a record of @len bytes: a power of two >= EPSLOT_MIN, with room to
 * grow to twice @len before the file has to be rewritten. */
size_t epslot_size_for(size_t len);
/* epslot_fill: header (magic, @gen, length, CRC) + @json into @dst (EPSLOT_HDR + @len). */
void epslot_fill(char *dst, uint64_t gen, const char *json, size_t len);
/* epslot_pick: the valid slot with the highest generation of an image of @size bytes:
 * its index with *json, *len, *gen, or -1 when neither is valid. */
int epslot_pick(const char *img, size_t size, const char **json, size_t *len, uint64_t *gen);

/* ---- nft.c: the `ip mycontainer` table ---- */

#define NFT_TABLE_NAME "mycontainer"

/* nft_network_add: base table/chains (idempotent) plus the network's masquerade and
 * isolation rules, tagged "net:NAME". nft_network_del removes those rules. */
int nft_network_add(const struct net_record *r, struct mc_err *err);
int nft_network_del(const char *name, struct mc_err *err);
/* nft_ports_add: DNAT rules for @ep's published ports, tagged "ctr:ID". */
int nft_ports_add(const struct net_endpoint *ep, struct mc_err *err);
/* nft_tag_del: deletes every rule of the table whose comment is @tag; count or -errno. */
int nft_tag_del(const char *tag, struct mc_err *err);
/* nft_tag_count: how many rules carry @tag (tests). */
int nft_tag_count(const char *tag, struct mc_err *err);

/* ---- network.c ---- */

/* net_bridge_ensure: the bridge with the gateway address, up, sysctls, nft rules. */
int net_bridge_ensure(const struct net_record *r, struct mc_err *err);
/* With the store lock held: */
int net_records_load(struct net_store *st, struct net_record **recs, size_t *n, struct mc_err *err);
void net_records_free(struct net_record *recs, size_t n);
int net_create_locked(struct net_store *st, const char *name, const char *subnet,
		      const char *gateway, unsigned mtu, struct mc_err *err);
int net_ensure_default_locked(struct net_store *st, struct mc_err *err);

/* ---- hosts.c ---- */

int hosts_render(const struct net_record *r, char **out, struct mc_err *err);
/* hosts_update: rewrites every endpoint's hosts file in place (best effort). */
void hosts_update(const struct net_record *r);

#endif
