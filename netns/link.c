/* SPDX-License-Identifier: MIT */
/*
 * link.c: RTM_*LINK requests: bridge and veth creation, deletion, up/down, MTU,
 * MAC, rename, bridge master, moving into another namespace, and the link dump.
 */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <mc/cleanup.h>

#include "internal.h"

static int check_name(const char *name, struct mc_err *err)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= IFNAMSIZ || strchr(name, '/') || strchr(name, ' ') || strchr(name, ':'))
		return mc_err_setx(err, EINVAL, "invalid interface name `%s`",
				   name ? name : "(null)");
	return 0;
}

static struct nlmsghdr *link_msg(char *buf, uint16_t type, uint16_t flags, int index)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = index;
	return nlh;
}

/* link_named_msg: a link request of @type addressed by the link's name. */
static struct nlmsghdr *link_named_msg(char *buf, uint16_t type, const char *name)
{
	struct nlmsghdr *nlh = link_msg(buf, type, 0, 0);

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

static int index_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == RTM_NEWLINK)
		*(int *)data = ifm->ifi_index;
	return MNL_CB_OK;
}

int mc_netns_link_index(struct mc_netns_nl *nl, const char *name, struct mc_err *err)
{
	char buf[512];
	struct nlmsghdr *nlh;
	int idx = 0, r;

	r = check_name(name, err);
	if (r < 0)
		return r;
	nlh = link_msg(buf, RTM_GETLINK, 0, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	r = nl_request(nl, nlh, index_cb, &idx, "get link", err);
	if (r == -ENODEV)
		return mc_err_setx(err, ENODEV, "no link `%s`", name);
	if (r < 0)
		return r;
	if (idx <= 0)
		return mc_err_setx(err, ENODEV, "no link `%s`", name);
	return idx;
}

/* A request about an existing link, addressed by name. */
static int link_simple(struct mc_netns_nl *nl, struct nlmsghdr *nlh, const char *what,
		       const char *name, struct mc_err *err)
{
	char ctx[96];

	snprintf(ctx, sizeof(ctx), "%s `%s`", what, name);
	return nl_request(nl, nlh, NULL, NULL, ctx, err);
}

int mc_netns_bridge_create(struct mc_netns_nl *nl, const char *name, const uint8_t *mac,
			   struct mc_err *err)
{
	char buf[512];
	struct nlmsghdr *nlh;
	struct nlattr *li;
	int r = check_name(name, err);

	if (r < 0)
		return r;
	nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, li);
	return link_simple(nl, nlh, "create bridge", name, err);
}

int mc_netns_veth_create(struct mc_netns_nl *nl, const char *name, const char *peer, int peer_nsfd,
			 struct mc_err *err)
{
	char buf[1024];
	struct nlmsghdr *nlh;
	struct nlattr *li, *data, *pi;
	struct ifinfomsg *pifm;
	int r;

	if ((r = check_name(name, err)) < 0 || (r = check_name(peer, err)) < 0)
		return r;
	nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* VETH_INFO_PEER carries a whole ifinfomsg followed by the peer's attributes. */
	pi = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
	memset(pifm, 0, sizeof(*pifm));
	pifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_nsfd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_nsfd);
	mnl_attr_nest_end(nlh, pi);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	return link_simple(nl, nlh, "create veth", name, err);
}

/* Kernels before 6.3 do not know these; they ignore unknown link attributes. */
#ifndef IFLA_GSO_IPV4_MAX_SIZE
#define IFLA_GSO_IPV4_MAX_SIZE 63
#endif
#ifndef IFLA_GRO_IPV4_MAX_SIZE
#define IFLA_GRO_IPV4_MAX_SIZE 64
#endif

static void put_gso_limits(struct nlmsghdr *nlh, uint32_t gso_max)
{
	if (!gso_max)
		return;
	mnl_attr_put_u32(nlh, IFLA_GSO_IPV4_MAX_SIZE, gso_max);
	mnl_attr_put_u32(nlh, IFLA_GRO_IPV4_MAX_SIZE, gso_max);
}

/*
 * The create request, then the bridge port's hairpin mode (IFLA_BRPORT_MODE in the
 * port's slave data; only settable once the link exists), in one nl_batch: the
 * kernel runs them in order, so one round trip for both.
 */
static int veth_with_hairpin(struct mc_netns_nl *nl, const struct nlmsghdr *create,
			     const struct veth_spec *s, struct mc_err *err)
{
	char buf[4096], w_create[64], w_mode[64];
	const char *whats[2] = { w_create, w_mode };
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof(buf) / 2);
	struct nlmsghdr *nlh;
	struct nlattr *li, *sd;
	int r;

	snprintf(w_create, sizeof(w_create), "create veth `%s`", s->name);
	snprintf(w_mode, sizeof(w_mode), "set hairpin mode of `%s`", s->name);
	memcpy(mnl_nlmsg_batch_current(b), create, create->nlmsg_len);
	mnl_nlmsg_batch_next(b);
	nlh = link_msg(mnl_nlmsg_batch_current(b), RTM_NEWLINK, 0, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, s->name);
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	sd = mnl_attr_nest_start(nlh, IFLA_INFO_SLAVE_DATA);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, 1);
	mnl_attr_nest_end(nlh, sd);
	mnl_attr_nest_end(nlh, li);
	mnl_nlmsg_batch_next(b);
	r = nl_batch(nl, b, whats, 2, err);
	mnl_nlmsg_batch_stop(b);
	/* The kernel goes on after a failed create: unless the name was taken (someone
	 * else's link, untouched), a failure leaves either nothing or our new veth,
	 * which must not outlive the error. */
	if (r < 0 && r != -EEXIST) {
		struct mc_err ignore = { 0 };

		mc_netns_link_destroy(nl, s->name, &ignore);
	}
	return r;
}

int link_veth_create_attached(struct mc_netns_nl *nl, const struct veth_spec *s, struct mc_err *err)
{
	char buf[1024];
	struct nlmsghdr *nlh;
	struct nlattr *li, *data, *pi;
	struct ifinfomsg *ifm, *pifm;
	int r;

	if ((r = check_name(s->name, err)) < 0 || (r = check_name(s->peer, err)) < 0)
		return r;
	/*
	 * Everything the host end needs rides on the creating request: the kernel
	 * applies IFLA_MTU and the GSO limits in rtnl_create_link, IFF_UP through
	 * rtnl_configure_link and IFLA_MASTER right after, and the peer's MTU, MAC and
	 * limits the same way inside its namespace. One round trip instead of create +
	 * mtu + master + up + mac + mtu. Not the peer's IFF_UP: the kernel opens the
	 * peer before linking the pair, and veth_open then fails with ENOTCONN.
	 */
	nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	ifm = mnl_nlmsg_get_payload(nlh);
	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, s->name);
	mnl_attr_put_u32(nlh, IFLA_MTU, s->mtu);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)s->master);
	put_gso_limits(nlh, s->gso_max);
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	pi = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
	memset(pifm, 0, sizeof(*pifm));
	pifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, s->peer);
	mnl_attr_put_u32(nlh, IFLA_MTU, s->mtu);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, s->peer_mac);
	put_gso_limits(nlh, s->gso_max);
	if (s->peer_nsfd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)s->peer_nsfd);
	mnl_attr_nest_end(nlh, pi);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	if (!s->hairpin)
		return link_simple(nl, nlh, "create veth", s->name, err);
	return veth_with_hairpin(nl, nlh, s, err);
}

int link_ioctl_index(int sock, const char *name, struct mc_err *err)
{
	struct ifreq ifr = { 0 };

	if (check_name(name, err) < 0)
		return -EINVAL;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(sock, SIOCGIFINDEX, &ifr) < 0) {
		if (errno == ENODEV)
			return mc_err_setx(err, ENODEV, "no link `%s`", name);
		return mc_err_set(err, errno, "get index of `%s`", name);
	}
	return ifr.ifr_ifindex;
}

int link_pin_mac(int sock, const char *name, const uint8_t want[6], struct mc_err *err)
{
	struct ifreq ifr = { 0 };

	if (check_name(name, err) < 0)
		return -EINVAL;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(sock, SIOCGIFHWADDR, &ifr) < 0)
		return mc_err_set(err, errno, "get address of `%s`", name);
	if (memcmp(ifr.ifr_hwaddr.sa_data, want, 6) == 0)
		return 0;
	/* The same address again: nothing changes on the wire, but the kernel now
	 * counts it as set by the user and keeps it as ports come and go. */
	if (ioctl(sock, SIOCSIFHWADDR, &ifr) < 0)
		return mc_err_set(err, errno, "pin the address of `%s`", name);
	return 1;
}

int link_set_gro(int sock, const char *name, bool on, struct mc_err *err)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_SGRO, .data = on };
	struct ifreq ifr = { 0 };

	if (check_name(name, err) < 0)
		return -EINVAL;
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_data = (void *)&ev;
	if (ioctl(sock, SIOCETHTOOL, &ifr) < 0)
		return mc_err_set(err, errno, "set gro %s on `%s`", on ? "on" : "off", name);
	return 0;
}

int link_get_gro(int sock, const char *name, struct mc_err *err)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_GGRO };
	struct ifreq ifr = { 0 };

	if (check_name(name, err) < 0)
		return -EINVAL;
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_data = (void *)&ev;
	if (ioctl(sock, SIOCETHTOOL, &ifr) < 0)
		return mc_err_set(err, errno, "get gro of `%s`", name);
	return ev.data ? 1 : 0;
}

struct nlmsghdr *nl_link_up_msg(void *buf, const char *name, bool up)
{
	struct nlmsghdr *nlh = link_named_msg(buf, RTM_NEWLINK, name);
	struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = up ? IFF_UP : 0;
	return nlh;
}

int mc_netns_link_destroy(struct mc_netns_nl *nl, const char *name, struct mc_err *err)
{
	char buf[512];
	int r = check_name(name, err);

	if (r < 0)
		return r;
	return link_simple(nl, link_named_msg(buf, RTM_DELLINK, name), "delete link", name, err);
}

int mc_netns_link_set_up(struct mc_netns_nl *nl, const char *name, bool up, struct mc_err *err)
{
	char buf[512];
	int r = check_name(name, err);

	if (r < 0)
		return r;
	return link_simple(nl, nl_link_up_msg(buf, name, up), up ? "set up" : "set down", name,
			   err);
}

/* link_set_u32: RTM_NEWLINK on the link @name with one u32 attribute (mtu, master, netns). */
static int link_set_u32(struct mc_netns_nl *nl, const char *name, uint16_t attr, uint32_t val,
			const char *what, struct mc_err *err)
{
	char buf[512];
	struct nlmsghdr *nlh;
	int r = check_name(name, err);

	if (r < 0)
		return r;
	nlh = link_named_msg(buf, RTM_NEWLINK, name);
	mnl_attr_put_u32(nlh, attr, val);
	return link_simple(nl, nlh, what, name, err);
}

int mc_netns_link_set_mtu(struct mc_netns_nl *nl, const char *name, unsigned mtu,
			  struct mc_err *err)
{
	return link_set_u32(nl, name, IFLA_MTU, mtu, "set mtu of", err);
}

int mc_netns_link_set_gso_max(struct mc_netns_nl *nl, const char *name, uint32_t bytes,
			      struct mc_err *err)
{
	char buf[512];
	struct nlmsghdr *nlh;
	int r = check_name(name, err);

	if (r < 0)
		return r;
	nlh = link_named_msg(buf, RTM_NEWLINK, name);
	put_gso_limits(nlh, bytes);
	return link_simple(nl, nlh, "set gso limits of", name, err);
}

int mc_netns_link_set_mac(struct mc_netns_nl *nl, const char *name, const uint8_t mac[6],
			  struct mc_err *err)
{
	char buf[512];
	struct nlmsghdr *nlh;
	int r = check_name(name, err);

	if (r < 0)
		return r;
	nlh = link_named_msg(buf, RTM_NEWLINK, name);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	return link_simple(nl, nlh, "set mac of", name, err);
}

int mc_netns_link_rename(struct mc_netns_nl *nl, const char *name, const char *newname,
			 struct mc_err *err)
{
	char buf[512];
	struct nlmsghdr *nlh;
	int idx, r;

	if ((r = check_name(newname, err)) < 0)
		return r;
	idx = mc_netns_link_index(nl, name, err);
	if (idx < 0)
		return idx;
	/* Renaming by name is impossible (IFLA_IFNAME is the new name): go by index. */
	nlh = link_msg(buf, RTM_NEWLINK, 0, idx);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, newname);
	return link_simple(nl, nlh, "rename", name, err);
}

int mc_netns_link_set_master(struct mc_netns_nl *nl, const char *name, const char *master,
			     struct mc_err *err)
{
	int midx = 0, r = check_name(name, err);

	if (r < 0)
		return r;
	if (master) {
		midx = mc_netns_link_index(nl, master, err);
		if (midx < 0)
			return midx;
	}
	return link_set_u32(nl, name, IFLA_MASTER, (uint32_t)midx, "set master of", err);
}

int mc_netns_link_move_pid(struct mc_netns_nl *nl, const char *name, pid_t pid, struct mc_err *err)
{
	return link_set_u32(nl, name, IFLA_NET_NS_PID, (uint32_t)pid, "move to namespace", err);
}

int mc_netns_link_move_fd(struct mc_netns_nl *nl, const char *name, int nsfd, struct mc_err *err)
{
	return link_set_u32(nl, name, IFLA_NET_NS_FD, (uint32_t)nsfd, "move to namespace", err);
}

/* ---- dump ---- */

struct link_acc {
	struct mc_netns_link_info *v;
	size_t n, cap;
};

static int linkinfo_kind(const struct nlattr *li, char *kind, size_t size)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, li)
	{
		if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
		    mnl_attr_validate(a, MNL_TYPE_STRING) == 0) {
			size_t n = mnl_attr_get_payload_len(a);

			if (n >= size)
				n = size - 1;
			memcpy(kind, mnl_attr_get_payload(a), n);
			kind[n] = '\0';
			kind[strnlen(kind, n)] = '\0';
		}
	}
	return 0;
}

static int link_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_acc *acc = data;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct mc_netns_link_info *li;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	if (acc->n == acc->cap) {
		size_t cap = acc->cap ? acc->cap * 2 : 16;
		void *nv = realloc(acc->v, cap * sizeof(*acc->v));

		if (!nv) {
			errno = ENOMEM;
			return MNL_CB_ERROR;
		}
		acc->v = nv;
		acc->cap = cap;
	}
	li = &acc->v[acc->n++];
	memset(li, 0, sizeof(*li));
	li->index = ifm->ifi_index;
	li->flags = ifm->ifi_flags;
	mnl_attr_for_each(a, nlh, sizeof(*ifm))
	{
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				snprintf(li->name, sizeof(li->name), "%s", mnl_attr_get_str(a));
			break;
		case IFLA_MTU:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				li->mtu = mnl_attr_get_u32(a);
			break;
		case IFLA_MASTER:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				li->master = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_GSO_MAX_SIZE:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				li->gso_max_size = mnl_attr_get_u32(a);
			break;
		case IFLA_GSO_IPV4_MAX_SIZE:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				li->gso_ipv4_max_size = mnl_attr_get_u32(a);
			break;
		case IFLA_ADDRESS:
			if (mnl_attr_get_payload_len(a) == 6)
				memcpy(li->mac, mnl_attr_get_payload(a), 6);
			break;
		case IFLA_LINKINFO:
			if (mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
				linkinfo_kind(a, li->kind, sizeof(li->kind));
			break;
		}
	}
	return MNL_CB_OK;
}

int mc_netns_link_dump(struct mc_netns_nl *nl, struct mc_netns_link_info **out, size_t *n,
		       struct mc_err *err)
{
	char buf[512];
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, NLM_F_DUMP, 0);
	struct link_acc acc = { 0 };
	int r = nl_request(nl, nlh, link_dump_cb, &acc, "dump links", err);

	if (r < 0) {
		free(acc.v);
		return r;
	}
	*out = acc.v;
	*n = acc.n;
	return 0;
}
