/* SPDX-License-Identifier: MIT */
/*
 * nft.c: nftables rules through libnftnl over netlink (no `nft` binary). One table,
 * `ip mycontainer`, with four base chains; every rule carries a comment tag
 * ("net:NAME" or "ctr:ID") so it can be found and deleted again, also after a
 * kill -9. Why DNAT and not a userspace proxy: no process to supervise or leak per
 * container, no copy through userspace, and the container sees the real client
 * address; the price is the route_localnet + masquerade pair needed for 127.0.0.1.
 *
 *   table ip mycontainer {
 *     chain prerouting  { type nat hook prerouting priority -100;   # from outside
 *       fib daddr type local tcp dport 8080 dnat to 10.88.0.2:80   comment "ctr:ID" }
 *     chain output      { type nat hook output priority -100;       # from the host
 *       (same rule)                                                comment "ctr:ID" }
 *     chain postrouting { type nat hook postrouting priority 100;
 *       oifname BR ip saddr 127.0.0.0/8 masquerade                 comment "net:NAME"
 *       ip saddr SUBNET oifname != BR masquerade                   comment "net:NAME"
 *       oifname BR ip saddr SUBNET ct status dnat masquerade       comment "net:NAME" }
 *     chain forward     { type filter hook forward priority 0;
 *       iifname BR oifname "mc*" oifname != BR drop                comment "net:NAME" }
 *   }
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <mc/cleanup.h>

#include "internal.h"

#define NFT_BATCH_MAX 65536

struct nft_conn {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
};

static int conn_open(struct nft_conn *c, struct mc_err *err)
{
	c->sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!c->sock)
		return mc_err_set(err, errno, "open nftables netlink socket");
	if (mnl_socket_bind(c->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		mnl_socket_close(c->sock);
		c->sock = NULL;
		return mc_err_set(err, e, "bind nftables netlink socket");
	}
	c->portid = mnl_socket_get_portid(c->sock);
	c->seq = (uint32_t)time(NULL);
	return 0;
}

static void conn_close(struct nft_conn *c)
{
	if (c->sock)
		mnl_socket_close(c->sock);
	c->sock = NULL;
}

/* ---- batches ---- */

struct batch {
	struct mnl_nlmsg_batch *b;
	char *buf;
	struct nft_conn *c;
	uint32_t first, last;
	int count;
};

static int batch_begin(struct batch *bt, struct nft_conn *c, struct mc_err *err)
{
	bt->c = c;
	bt->count = 0;
	bt->buf = malloc(NFT_BATCH_MAX);
	if (!bt->buf)
		return mc_err_set(err, ENOMEM, "nftables batch");
	bt->b = mnl_nlmsg_batch_start(bt->buf, NFT_BATCH_MAX);
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), ++c->seq);
	mnl_nlmsg_batch_next(bt->b);
	bt->first = c->seq + 1;
	return 0;
}

static void batch_free(struct batch *bt)
{
	if (bt->b)
		mnl_nlmsg_batch_stop(bt->b);
	free(bt->buf);
	bt->b = NULL;
	bt->buf = NULL;
}

/* Room for one more message: each of ours is well under 2 KiB. */
static struct nlmsghdr *batch_msg(struct batch *bt, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, NFPROTO_IPV4,
				    flags | NLM_F_ACK, ++bt->c->seq);
	bt->count++;
	return nlh;
}

static void batch_next(struct batch *bt)
{
	mnl_nlmsg_batch_next(bt->b);
}

/*
 * nfnetlink processes a whole batch inside sendmsg(), so every ack and error is
 * queued on our socket when send returns: read without blocking until it is empty
 * instead of counting replies (an aborted batch does not ack every message).
 */
static int batch_send(struct batch *bt, const char *what, struct mc_err *err)
{
	mc_autofree char *rbuf = malloc(NL_BUF_SIZE);
	int first_err = 0;

	if (!rbuf)
		return mc_err_set(err, ENOMEM, "%s", what);
	bt->last = bt->c->seq;
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), ++bt->c->seq);
	mnl_nlmsg_batch_next(bt->b);
	if (bt->count == 0)
		return 0;
	if (mnl_socket_sendto(bt->c->sock, mnl_nlmsg_batch_head(bt->b),
			      mnl_nlmsg_batch_size(bt->b)) < 0)
		return mc_err_set(err, errno, "%s: netlink send", what);
	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(bt->c->sock), rbuf, NL_BUF_SIZE, MSG_DONTWAIT);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)rbuf;
		int left = (int)n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return mc_err_set(err, errno, "%s: netlink receive", what);
		}
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e;

			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (e->error && !first_err)
				first_err = -e->error;
		}
	}
	if (first_err)
		return mc_err_set(err, first_err, "%s", what);
	return 0;
}

/* ---- table and chains ---- */

static void put_table(struct batch *bt)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE_NAME);
	nlh = batch_msg(bt, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	batch_next(bt);
}

static void put_chain(struct batch *bt, const char *name, const char *type, uint32_t hook,
		      int32_t prio)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NFT_TABLE_NAME);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = batch_msg(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
	nftnl_chain_nlmsg_build_payload(nlh, ch);
	nftnl_chain_free(ch);
	batch_next(bt);
}

static void put_base(struct batch *bt)
{
	put_table(bt);
	put_chain(bt, "prerouting", "nat", NF_INET_PRE_ROUTING, -100);
	put_chain(bt, "output", "nat", NF_INET_LOCAL_OUT, -100);
	put_chain(bt, "postrouting", "nat", NF_INET_POST_ROUTING, 100);
	put_chain(bt, "forward", "filter", NF_INET_FORWARD, 0);
}

/* ---- expressions ---- */

static void e_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	nftnl_rule_add_expr(r, e);
}

static void e_cmp(struct nftnl_rule *r, uint32_t sreg, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	nftnl_rule_add_expr(r, e);
}

static void e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len,
		      uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	nftnl_rule_add_expr(r, e);
}

static void e_bitwise_mask(struct nftnl_rule *r, uint32_t reg, uint32_t mask_be)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
	uint32_t zero = 0;

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask_be, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
	nftnl_rule_add_expr(r, e);
}

static void e_imm(struct nftnl_rule *r, uint32_t dreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
	nftnl_rule_add_expr(r, e);
}

static void e_verdict(struct nftnl_rule *r, uint32_t verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
	nftnl_rule_add_expr(r, e);
}

/* ip saddr/daddr & mask == net; @off 12 = saddr, 16 = daddr. */
static void m_ip(struct nftnl_rule *r, uint32_t off, uint32_t net, int prefix)
{
	uint32_t n = htonl(net);

	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, 4, NFT_REG_1);
	if (prefix < 32)
		e_bitwise_mask(r, NFT_REG_1, htonl(ipam_mask(prefix)));
	e_cmp(r, NFT_REG_1, NFT_CMP_EQ, &n, 4);
}

/* ct status & @bits != 0 (ct status is in host byte order). */
static void e_ct_status(struct nftnl_rule *r, uint32_t bits)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");
	uint32_t zero = 0;

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATUS);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	e_bitwise_mask(r, NFT_REG_1, bits);
	e_cmp(r, NFT_REG_1, NFT_CMP_NEQ, &zero, 4);
}

/* iifname/oifname == name, != name, or a prefix match when @prefix_len > 0. */
static void m_ifname(struct nftnl_rule *r, uint32_t key, uint32_t op, const char *name,
		     uint32_t prefix_len)
{
	char buf[IFNAMSIZ] = { 0 };

	strncpy(buf, name, IFNAMSIZ - 1);
	e_meta(r, key, NFT_REG_1);
	e_cmp(r, NFT_REG_1, op, buf, prefix_len ? prefix_len : IFNAMSIZ);
}

static int set_tag(struct nftnl_rule *r, const char *tag)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(256);

	if (!u)
		return -ENOMEM;
	if (!nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, tag)) {
		nftnl_udata_buf_free(u);
		return -EINVAL;
	}
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u),
			    nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
	return 0;
}

static struct nftnl_rule *rule_new(const char *chain, const char *tag)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return NULL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE_NAME);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	if (set_tag(r, tag) < 0) {
		nftnl_rule_free(r);
		return NULL;
	}
	return r;
}

static void put_rule(struct batch *bt, struct nftnl_rule *r)
{
	struct nlmsghdr *nlh = batch_msg(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);

	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	batch_next(bt);
}

int nft_network_add(const struct net_record *rec, struct mc_err *err)
{
	struct nft_conn c = { 0 };
	struct batch bt = { 0 };
	struct nftnl_rule *r;
	char tag[96];
	int ret;

	snprintf(tag, sizeof(tag), "net:%s", rec->name);
	ret = nft_tag_del(tag, err); /* idempotent: re-adding replaces */
	if (ret < 0)
		return ret;
	if ((ret = conn_open(&c, err)) < 0)
		return ret;
	if ((ret = batch_begin(&bt, &c, err)) < 0)
		goto out;
	put_base(&bt);

	/* Host -> 127.0.0.1:PORT DNAT'ed onto the bridge keeps source 127.0.0.1, which the
	 * container could not answer: rewrite it to the bridge address. */
	ret = -ENOMEM;
	if (!(r = rule_new("postrouting", tag)))
		goto out;
	m_ifname(r, NFT_META_OIFNAME, NFT_CMP_EQ, rec->bridge, 0);
	m_ip(r, 12, 0x7f000000u, 8);
	nftnl_rule_add_expr(r, nftnl_expr_alloc("masq"));
	put_rule(&bt, r);

	/* Containers reaching beyond the host leave with the host's address. */
	if (!(r = rule_new("postrouting", tag)))
		goto out;
	m_ip(r, 12, rec->subnet, rec->prefix);
	m_ifname(r, NFT_META_OIFNAME, NFT_CMP_NEQ, rec->bridge, 0);
	nftnl_rule_add_expr(r, nftnl_expr_alloc("masq"));
	put_rule(&bt, r);

	/*
	 * Hairpin: a container reaching a published port through a host address is
	 * DNAT'ed back onto this bridge with its own address as source; to itself it
	 * would answer locally and never through the host's conntrack (and a neighbour
	 * only with br_netfilter loaded). Masquerading DNAT'ed traffic from the subnet
	 * going back out the bridge makes every answer return through the host.
	 */
	if (!(r = rule_new("postrouting", tag)))
		goto out;
	m_ifname(r, NFT_META_OIFNAME, NFT_CMP_EQ, rec->bridge, 0);
	m_ip(r, 12, rec->subnet, rec->prefix);
	e_ct_status(r, IPS_DST_NAT);
	nftnl_rule_add_expr(r, nftnl_expr_alloc("masq"));
	put_rule(&bt, r);

	/* Isolation: nothing is routed from this bridge to another of our bridges. */
	if (!(r = rule_new("forward", tag)))
		goto out;
	m_ifname(r, NFT_META_IIFNAME, NFT_CMP_EQ, rec->bridge, 0);
	m_ifname(r, NFT_META_OIFNAME, NFT_CMP_EQ, "mc", 2);
	m_ifname(r, NFT_META_OIFNAME, NFT_CMP_NEQ, rec->bridge, 0);
	e_verdict(r, NF_DROP);
	put_rule(&bt, r);

	ret = batch_send(&bt, "add nftables rules of network", err);
out:
	if (ret == -ENOMEM)
		mc_err_set(err, ENOMEM, "nftables rule");
	batch_free(&bt);
	conn_close(&c);
	return ret;
}

int nft_network_del(const char *name, struct mc_err *err)
{
	char tag[96];
	int r;

	snprintf(tag, sizeof(tag), "net:%s", name);
	r = nft_tag_del(tag, err);
	return r < 0 ? r : 0;
}

static struct nftnl_rule *dnat_rule(const char *chain, const char *tag,
				    const struct mc_netns_port *p, uint32_t ctr_ip)
{
	struct nftnl_rule *r = rule_new(chain, tag);
	struct nftnl_expr *e;
	uint32_t local = RTN_LOCAL, ip_be = htonl(ctr_ip);
	uint16_t hport = htons(p->host_port), cport = htons(p->ctr_port);
	uint8_t proto = p->proto;

	if (!r)
		return NULL;
	if (p->host_ip.s_addr == INADDR_ANY) {
		/* fib daddr type local: any address of this host, 127.0.0.1 included. */
		e = nftnl_expr_alloc("fib");
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
		nftnl_rule_add_expr(r, e);
		e_cmp(r, NFT_REG_1, NFT_CMP_EQ, &local, 4);
	} else {
		m_ip(r, 16, ntohl(p->host_ip.s_addr), 32);
	}
	e_meta(r, NFT_META_L4PROTO, NFT_REG_1);
	e_cmp(r, NFT_REG_1, NFT_CMP_EQ, &proto, 1);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	e_cmp(r, NFT_REG_1, NFT_CMP_EQ, &hport, 2);
	e_imm(r, NFT_REG_1, &ip_be, 4);
	e_imm(r, NFT_REG_2, &cport, 2);
	e = nftnl_expr_alloc("nat");
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
	nftnl_rule_add_expr(r, e);
	return r;
}

int nft_ports_add(const struct net_endpoint *ep, struct mc_err *err)
{
	struct nft_conn c = { 0 };
	struct batch bt = { 0 };
	char tag[NET_ID_MAX + 8];
	int ret;

	if (ep->n_ports == 0)
		return 0;
	snprintf(tag, sizeof(tag), "ctr:%s", ep->id);
	if ((ret = conn_open(&c, err)) < 0)
		return ret;
	if ((ret = batch_begin(&bt, &c, err)) < 0)
		goto out;
	put_base(&bt);
	for (int i = 0; i < ep->n_ports; i++) {
		static const char *const chains[] = { "prerouting", "output" };

		for (int j = 0; j < 2; j++) {
			struct nftnl_rule *r = dnat_rule(chains[j], tag, &ep->ports[i], ep->ip);

			if (!r) {
				ret = mc_err_set(err, ENOMEM, "nftables rule");
				goto out;
			}
			put_rule(&bt, r);
		}
	}
	ret = batch_send(&bt, "add port rules", err);
out:
	batch_free(&bt);
	conn_close(&c);
	return ret;
}

/* ---- find and delete by tag ---- */

struct tagged {
	const char *tag;
	struct {
		char chain[64];
		uint64_t handle;
	} * v;
	size_t n, cap;
	int oom;
};

static int udata_cb(const struct nftnl_udata *attr, void *data)
{
	const char **comment = data;

	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT) {
		const char *s = nftnl_udata_get(attr);
		uint8_t len = nftnl_udata_len(attr);

		if (len > 0 && s[len - 1] == '\0')
			*comment = s;
	}
	return 0;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct tagged *t = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	const char *comment = NULL;
	const void *ud;
	uint32_t udlen = 0;

	if (!r)
		return MNL_CB_OK;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0)
		goto out;
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
	if (ud && udlen)
		nftnl_udata_parse(ud, udlen, udata_cb, &comment);
	if (comment && strcmp(comment, t->tag) == 0) {
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 8;
			void *nv = realloc(t->v, cap * sizeof(*t->v));

			if (!nv) {
				t->oom = 1;
				goto out;
			}
			t->v = nv;
			t->cap = cap;
		}
		snprintf(t->v[t->n].chain, sizeof(t->v[t->n].chain), "%s",
			 nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
		t->v[t->n].handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
		t->n++;
	}
out:
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

static int find_tag(struct nft_conn *c, struct tagged *t, struct mc_err *err)
{
	char buf[1024];
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	struct mc_err sub = { 0 };
	int ret;

	if (!r)
		return mc_err_set(err, ENOMEM, "list nftables rules");
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_IPV4, NLM_F_DUMP | NLM_F_ACK,
				    ++c->seq);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE_NAME);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	ret = nl_talk(c->sock, c->portid, nlh, nlh->nlmsg_len, c->seq, c->seq, rule_cb, t,
		      "list nftables rules", &sub);
	if (ret == -ENOENT)
		return 0; /* no table yet: nothing tagged */
	if (ret < 0) {
		if (err)
			*err = sub;
		return ret;
	}
	if (t->oom)
		return mc_err_set(err, ENOMEM, "list nftables rules");
	return 0;
}

int nft_tag_count(const char *tag, struct mc_err *err)
{
	struct nft_conn c = { 0 };
	struct tagged t = { .tag = tag };
	int ret = conn_open(&c, err);

	if (ret < 0)
		return ret;
	ret = find_tag(&c, &t, err);
	conn_close(&c);
	free(t.v);
	return ret < 0 ? ret : (int)t.n;
}

int nft_tag_del(const char *tag, struct mc_err *err)
{
	struct nft_conn c = { 0 };
	struct tagged t = { .tag = tag };
	struct batch bt = { 0 };
	int ret = conn_open(&c, err);

	if (ret < 0)
		return ret;
	ret = find_tag(&c, &t, err);
	if (ret < 0 || t.n == 0)
		goto out;
	if ((ret = batch_begin(&bt, &c, err)) < 0)
		goto out;
	for (size_t i = 0; i < t.n; i++) {
		struct nftnl_rule *r = nftnl_rule_alloc();
		struct nlmsghdr *nlh;

		if (!r) {
			ret = mc_err_set(err, ENOMEM, "delete nftables rules");
			goto out;
		}
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE_NAME);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, t.v[i].chain);
		nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, t.v[i].handle);
		nlh = batch_msg(&bt, NFT_MSG_DELRULE, 0);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nftnl_rule_free(r);
		batch_next(&bt);
	}
	ret = batch_send(&bt, "delete nftables rules", err);
	if (ret == 0)
		ret = (int)t.n;
out:
	batch_free(&bt);
	conn_close(&c);
	free(t.v);
	return ret;
}
