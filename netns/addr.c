/* SPDX-License-Identifier: MIT */
/* addr.c: RTM_*ADDR and RTM_*ROUTE requests for IPv4, and their dumps. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct nlmsghdr *nl_addr_msg(void *buf, uint16_t type, uint16_t flags, int idx, struct in_addr addr,
			     int prefix)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)idx;
	mnl_attr_put(nlh, IFA_LOCAL, 4, &addr);
	mnl_attr_put(nlh, IFA_ADDRESS, 4, &addr);
	if (prefix < 31) {
		/* The broadcast address, as `ip addr add ... brd +` would set it. */
		uint32_t m = prefix ? htonl(0xffffffffu << (32 - prefix)) : 0;
		uint32_t b = addr.s_addr | ~m;

		mnl_attr_put(nlh, IFA_BROADCAST, 4, &b);
	}
	return nlh;
}

static int addr_change(struct mc_netns_nl *nl, uint16_t type, uint16_t flags, const char *name,
		       struct in_addr addr, int prefix, struct mc_err *err)
{
	char buf[512], ctx[96], ip[16];
	struct nlmsghdr *nlh;
	int idx;

	if (prefix < 0 || prefix > 32)
		return mc_err_setx(err, EINVAL, "invalid prefix length %d", prefix);
	idx = mc_netns_link_index(nl, name, err);
	if (idx < 0)
		return idx;
	nlh = nl_addr_msg(buf, type, flags, idx, addr, prefix);
	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	snprintf(ctx, sizeof(ctx), "%s address %s/%d on `%s`",
		 type == RTM_NEWADDR ? "add" : "delete", ip, prefix, name);
	return nl_request(nl, nlh, NULL, NULL, ctx, err);
}

int mc_netns_addr_add(struct mc_netns_nl *nl, const char *name, struct in_addr addr, int prefix,
		      struct mc_err *err)
{
	return addr_change(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, name, addr, prefix, err);
}

int mc_netns_addr_del(struct mc_netns_nl *nl, const char *name, struct in_addr addr, int prefix,
		      struct mc_err *err)
{
	return addr_change(nl, RTM_DELADDR, 0, name, addr, prefix, err);
}

struct nlmsghdr *nl_route_msg(void *buf, struct in_addr dst, int prefix, struct in_addr gw, int oif)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (unsigned char)prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = gw.s_addr ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (prefix > 0)
		mnl_attr_put(nlh, RTA_DST, 4, &dst);
	if (gw.s_addr)
		mnl_attr_put(nlh, RTA_GATEWAY, 4, &gw);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	return nlh;
}

struct nlmsghdr *nl_onlink_route_msg(void *buf, struct in_addr dst, int prefix, struct in_addr src,
				     int oif, const char *cc)
{
	struct nlmsghdr *nlh = nl_route_msg(buf, dst, prefix, (struct in_addr){ 0 }, oif);
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct nlattr *metrics;

	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	rtm->rtm_protocol = RTPROT_KERNEL;
	mnl_attr_put(nlh, RTA_PREFSRC, 4, &src);
	metrics = mnl_attr_nest_start(nlh, RTA_METRICS);
	mnl_attr_put_strz(nlh, RTAX_CC_ALGO, cc);
	mnl_attr_nest_end(nlh, metrics);
	return nlh;
}

int mc_netns_route_add(struct mc_netns_nl *nl, struct in_addr dst, int prefix, struct in_addr gw,
		       const char *ifname, struct mc_err *err)
{
	char buf[512], ctx[128], d[16], g[16];
	struct nlmsghdr *nlh;
	int idx;

	if (prefix < 0 || prefix > 32)
		return mc_err_setx(err, EINVAL, "invalid prefix length %d", prefix);
	idx = mc_netns_link_index(nl, ifname, err);
	if (idx < 0)
		return idx;
	nlh = nl_route_msg(buf, dst, prefix, gw, idx);
	inet_ntop(AF_INET, &dst, d, sizeof(d));
	inet_ntop(AF_INET, &gw, g, sizeof(g));
	snprintf(ctx, sizeof(ctx), "add route %s/%d via %s dev `%s`", d, prefix, g, ifname);
	return nl_request(nl, nlh, NULL, NULL, ctx, err);
}

/* ---- dumps ---- */

struct acc {
	void *v;
	size_t n, cap, size;
};

static void *acc_push(struct acc *a)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		void *nv = realloc(a->v, cap * a->size);

		if (!nv)
			return NULL;
		a->v = nv;
		a->cap = cap;
	}
	return memset((char *)a->v + a->size * a->n++, 0, a->size);
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct mc_netns_addr_info *ai;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET)
		return MNL_CB_OK;
	ai = acc_push(data);
	if (!ai) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	ai->index = (int)ifa->ifa_index;
	ai->prefix = ifa->ifa_prefixlen;
	mnl_attr_for_each(a, nlh, sizeof(*ifa))
	{
		if (mnl_attr_get_type(a) == IFA_LOCAL && mnl_attr_get_payload_len(a) == 4)
			memcpy(&ai->addr, mnl_attr_get_payload(a), 4);
		else if (mnl_attr_get_type(a) == IFA_ADDRESS && ai->addr.s_addr == 0 &&
			 mnl_attr_get_payload_len(a) == 4)
			memcpy(&ai->addr, mnl_attr_get_payload(a), 4);
	}
	return MNL_CB_OK;
}

int mc_netns_addr_dump(struct mc_netns_nl *nl, struct mc_netns_addr_info **out, size_t *n,
		       struct mc_err *err)
{
	char buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	struct acc a = { .size = sizeof(struct mc_netns_addr_info) };
	int r;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	r = nl_request(nl, nlh, addr_cb, &a, "dump addresses", err);
	if (r < 0) {
		free(a.v);
		return r;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct mc_netns_route_info *ri;
	const struct nlattr *a;
	uint32_t table = rtm->rtm_table;

	if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*rtm))
	{
		if (mnl_attr_get_type(a) == RTA_TABLE && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			table = mnl_attr_get_u32(a);
	}
	if (table != RT_TABLE_MAIN)
		return MNL_CB_OK;
	ri = acc_push(data);
	if (!ri) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	ri->prefix = rtm->rtm_dst_len;
	ri->table = table;
	ri->protocol = rtm->rtm_protocol;
	ri->scope = rtm->rtm_scope;
	ri->type = rtm->rtm_type;
	mnl_attr_for_each(a, nlh, sizeof(*rtm))
	{
		switch (mnl_attr_get_type(a)) {
		case RTA_DST:
			if (mnl_attr_get_payload_len(a) == 4)
				memcpy(&ri->dst, mnl_attr_get_payload(a), 4);
			break;
		case RTA_GATEWAY:
			if (mnl_attr_get_payload_len(a) == 4)
				memcpy(&ri->gw, mnl_attr_get_payload(a), 4);
			break;
		case RTA_OIF:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				ri->oif = (int)mnl_attr_get_u32(a);
			break;
		}
	}
	return MNL_CB_OK;
}

int mc_netns_route_dump(struct mc_netns_nl *nl, struct mc_netns_route_info **out, size_t *n,
			struct mc_err *err)
{
	char buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	struct acc a = { .size = sizeof(struct mc_netns_route_info) };
	int r;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_DUMP;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	r = nl_request(nl, nlh, route_cb, &a, "dump routes", err);
	if (r < 0) {
		free(a.v);
		return r;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}
