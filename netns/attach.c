/* SPDX-License-Identifier: MIT */
/*
 * attach.c: a container joining and leaving a network: address reservation,
 * veth <-> eth0, address/route/lo inside the container, published ports, and the
 * /etc/hosts of every member. Everything happens under the store's exclusive lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mc/cleanup.h>
#include <mc/log.h>
#include <mc/util.h>

#include "internal.h"

/* ---- /etc/hosts ---- */

int hosts_render(const struct net_record *r, char **out, struct mc_err *err)
{
	struct mc_buf b = MC_BUF_INIT;
	int ret = mc_buf_printf(&b,
				"# Written by mycontainer for network %s; rewritten as containers "
				"join and leave.\n127.0.0.1\tlocalhost\n::1\tlocalhost "
				"ip6-localhost ip6-loopback\n",
				r->name);

	for (size_t i = 0; i < r->n_eps && ret >= 0; i++) {
		const struct net_endpoint *ep = &r->eps[i];
		char ip[16];

		if (!ep->name[0] && ep->n_aliases == 0)
			continue;
		ipam_format_ip(ep->ip, ip);
		ret = mc_buf_printf(&b, "%s\t%s", ip, ep->name);
		for (int j = 0; j < ep->n_aliases && ret >= 0; j++)
			ret = mc_buf_printf(&b, "%s%s", ep->name[0] || j ? " " : "",
					    ep->aliases[j]);
		if (ret >= 0)
			ret = mc_buf_puts(&b, "\n");
	}
	if (ret < 0) {
		mc_buf_release(&b);
		return mc_err_set(err, ENOMEM, "render /etc/hosts");
	}
	*out = mc_buf_detach(&b);
	return 0;
}

/*
 * Written in place (truncate + write), not temp + rename: the runtime bind-mounts
 * this file onto the container's /etc/hosts, and a bind mount pins the inode, so a
 * renamed-over file would never be seen inside. A reader racing the rewrite can see
 * a short file; resolvers retry, and the window is one write(2).
 */
void hosts_update(const struct net_record *r)
{
	mc_autofree char *text = NULL;
	struct mc_err e = { 0 };

	if (hosts_render(r, &text, &e) < 0) {
		mc_log_warn("network `%s`: %s", r->name, e.msg);
		return;
	}
	for (size_t i = 0; i < r->n_eps; i++) {
		const char *path = r->eps[i].hosts;
		int fd, w;

		if (!path[0])
			continue;
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0) {
			/* Best-effort: a container whose files are gone has nothing to update. */
			mc_log_warn("network `%s`: open `%s`: %s", r->name, path, strerror(errno));
			continue;
		}
		w = mc_write_all(fd, text, strlen(text));
		if (w < 0)
			mc_log_warn("network `%s`: write `%s`: %s", r->name, path, strerror(-w));
		close(fd);
	}
}

/* ---- attach ---- */

static bool name_taken(const struct net_record *r, const char *name)
{
	for (size_t i = 0; i < r->n_eps; i++) {
		if (strcmp(r->eps[i].name, name) == 0)
			return true;
		for (int j = 0; j < r->eps[i].n_aliases; j++)
			if (strcmp(r->eps[i].aliases[j], name) == 0)
				return true;
	}
	return false;
}

static bool ip_taken(const struct net_record *r, uint32_t ip)
{
	for (size_t i = 0; i < r->n_eps; i++)
		if (r->eps[i].ip == ip)
			return true;
	return false;
}

static bool ports_clash(const struct mc_netns_port *a, const struct mc_netns_port *b)
{
	return a->proto == b->proto && a->host_port == b->host_port &&
	       (a->host_ip.s_addr == INADDR_ANY || b->host_ip.s_addr == INADDR_ANY ||
		a->host_ip.s_addr == b->host_ip.s_addr);
}

static int check_ports(const struct mc_netns_attach_req *req, const struct net_record *all,
		       size_t n_all, struct mc_err *err)
{
	for (size_t i = 0; i < req->n_ports; i++) {
		const struct mc_netns_port *p = &req->ports[i];
		const char *proto = p->proto == IPPROTO_UDP ? "udp" : "tcp";

		if (p->host_port == 0 || p->ctr_port == 0 ||
		    (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP))
			return mc_err_setx(err, EINVAL, "invalid published port %u:%u",
					   p->host_port, p->ctr_port);
		for (size_t j = 0; j < i; j++)
			if (ports_clash(p, &req->ports[j]))
				return mc_err_setx(err, EEXIST, "port %u/%s is published twice",
						   p->host_port, proto);
		for (size_t k = 0; k < n_all; k++)
			for (size_t e = 0; e < all[k].n_eps; e++)
				for (int q = 0; q < all[k].eps[e].n_ports; q++)
					if (ports_clash(p, &all[k].eps[e].ports[q]))
						return mc_err_setx(
							err, EADDRINUSE,
							"port %u/%s is already published by "
							"container `%s`",
							p->host_port, proto,
							all[k].eps[e].name[0] ? all[k].eps[e].name
									      : all[k].eps[e].id);
	}
	return 0;
}

/* The endpoint the request describes, address not yet chosen. */
static int build_endpoint(const struct mc_netns_attach_req *req, const char *network,
			  struct net_endpoint *ep, struct mc_err *err)
{
	memset(ep, 0, sizeof(*ep));
	if (!ipam_valid_name(req->ctr_id, sizeof(ep->id)))
		return mc_err_setx(err, EINVAL, "invalid container id `%.128s`",
				   req->ctr_id ? req->ctr_id : "");
	strcpy(ep->id, req->ctr_id);
	if (req->name) {
		if (!ipam_valid_name(req->name, sizeof(ep->name)))
			return mc_err_setx(err, EINVAL, "invalid container name `%.64s`",
					   req->name);
		strcpy(ep->name, req->name);
	}
	if (req->n_aliases > NET_MAX_ALIASES)
		return mc_err_setx(err, EINVAL, "too many network aliases (at most %d)",
				   NET_MAX_ALIASES);
	for (size_t i = 0; i < req->n_aliases; i++) {
		if (!ipam_valid_name(req->aliases[i], NET_NAME_MAX))
			return mc_err_setx(err, EINVAL, "invalid network alias `%.64s`",
					   req->aliases[i] ? req->aliases[i] : "");
		strcpy(ep->aliases[ep->n_aliases++], req->aliases[i]);
	}
	if (req->n_ports > NET_MAX_PORTS)
		return mc_err_setx(err, EINVAL, "too many published ports (at most %d)",
				   NET_MAX_PORTS);
	for (size_t i = 0; i < req->n_ports; i++)
		ep->ports[ep->n_ports++] = req->ports[i];
	if (req->hosts_path) {
		if (req->hosts_path[0] != '/' || strlen(req->hosts_path) >= sizeof(ep->hosts))
			return mc_err_setx(err, EINVAL, "invalid hosts path `%.128s`",
					   req->hosts_path);
		strcpy(ep->hosts, req->hosts_path);
	}
	snprintf(ep->veth, sizeof(ep->veth), "mcv%08x", ipam_hash(network, req->ctr_id));
	return 0;
}

static int pick_ip(const struct mc_netns_attach_req *req, const struct net_record *r, uint32_t *out,
		   struct mc_err *err)
{
	char sn[16];

	ipam_format_ip(r->subnet, sn);
	if (req->ip) {
		uint32_t ip;

		if (ipam_parse_ip(req->ip, &ip) < 0)
			return mc_err_setx(err, EINVAL,
					   "invalid address `%.32s`: not an IPv4 address", req->ip);
		if (!ipam_is_host(r->subnet, r->prefix, ip))
			return mc_err_setx(err, EINVAL,
					   "address %s is outside subnet %s/%d of network `%s`",
					   req->ip, sn, r->prefix, r->name);
		if (ip == r->gateway || ip_taken(r, ip))
			return mc_err_setx(err, EADDRINUSE,
					   "address %s is already in use on network `%s`", req->ip,
					   r->name);
		*out = ip;
		return 0;
	}
	/* Lowest free address: O(size * members), at most /8 x 4096 in theory, but a
	 * /24 with a handful of containers in practice. The scan stops at the first. */
	for (uint32_t ip = r->subnet + 1; ipam_is_host(r->subnet, r->prefix, ip); ip++) {
		if (ip != r->gateway && !ip_taken(r, ip)) {
			*out = ip;
			return 0;
		}
	}
	return mc_err_setx(err, ENOSPC, "network `%s` (%s/%d) has no free address", r->name, sn,
			   r->prefix);
}

/* Whether @word is one of the space-separated words of @list. */
static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

/*
 * The congestion control of the route to the bridge's subnet inside the container
 * (traffic that never leaves this host: the other containers of the network and
 * the host's bridge address), chosen while inside the container's netns; "" leaves
 * the route as the kernel makes it.
 *
 * Why: a container's netns inherits the host's default congestion control. With
 * BBR (a common host default) a bulk transfer between two containers of one bridge
 * is capped near 20-25 Gbit/s on this 2-core VM while both CPUs idle 20-70 %:
 * BBR bounds what is in flight by about 2 x bandwidth x min_rtt, and min_rtt on a
 * veth-bridge-veth path is ~8 us, so the sender, cwnd-limited, sleeps until an
 * ACK or its pacing timer wakes it (ss -ti: unacked == cwnd; sched traces: ~200
 * sleeps of 2-3 ms per 2 s). CUBIC on the same path moves 55-68 Gbit/s
 * (docs/benchmarks/netns.md). BBR's model is for paths with a bottleneck link and
 * a queue; a bridge inside one host has neither, and no loss but the receiver's.
 * Only the on-link route changes: traffic leaving through the default route (the
 * uplink, the internet) keeps the administrator's choice, and a host default other
 * than BBR is left alone everywhere. A route's congctl is honoured in any netns
 * (unlike the netns default, which a container may set only to an allowed one).
 */
static void onlink_cc_choose(char cc[NET_CC_LEN])
{
	char cur[NET_CC_LEN] = "", *avail = NULL;
	socklen_t len = sizeof(cur);
	int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cc[0] = 0;
	if (t < 0)
		return;
	/* A new TCP socket carries its netns's default congestion control. */
	if (getsockopt(t, IPPROTO_TCP, TCP_CONGESTION, cur, &len) == 0 && strcmp(cur, "bbr") == 0 &&
	    mc_fs_read_file("/proc/sys/net/ipv4/tcp_available_congestion_control", &avail, NULL,
			    4096, NULL) >= 0 &&
	    word_in(avail, NET_ONLINK_CC))
		snprintf(cc, NET_CC_LEN, "%s", NET_ONLINK_CC);
	free(avail);
	close(t);
}

/* In the container's netns: a netlink socket, an AF_INET one for ioctls, and the
 * on-link route's congestion control (@cc). */
static int open_inside(int nsfd, struct mc_netns_nl **nl, int *sock, char cc[NET_CC_LEN],
		       struct mc_err *err)
{
	int saved, ret = nl_enter_ns(nsfd, &saved, err);

	if (ret < 0)
		return ret;
	onlink_cc_choose(cc);
	ret = mc_netns_nl_open(nl, err);
	if (ret == 0) {
		*sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (*sock < 0) {
			ret = mc_err_set(err, errno, "socket in the container's netns");
			mc_netns_nl_close(*nl);
			*nl = NULL;
		}
	}
	nl_leave_ns(saved);
	return ret;
}

/*
 * Inside the container's namespace, where eth0 already exists with its MTU and
 * MAC: eth0 up, address, [the subnet route's congestion control], lo up and the
 * default route, one batch (one round trip). eth0's index comes from an ioctl,
 * not a netlink request.
 */
static int setup_inside(int nsfd, const struct net_record *r, const struct net_endpoint *ep,
			struct mc_err *err)
{
	struct mc_netns_nl *nl = NULL;
	mc_autoclose int sock = -1;
	struct in_addr addr = { .s_addr = htonl(ep->ip) }, any = { 0 };
	struct in_addr gw = { .s_addr = htonl(r->gateway) };
	struct in_addr subnet = { .s_addr = htonl(r->subnet) };
	char buf[4096], w_addr[64], w_cc[96], w_route[64], ip[16], cc[NET_CC_LEN];
	const char *whats[5] = { "set up `eth0`", w_addr };
	struct mnl_nlmsg_batch *b;
	size_t n = 2;
	int idx, ret = open_inside(nsfd, &nl, &sock, cc, err);

	if (ret < 0)
		return ret;
	idx = link_ioctl_index(sock, "eth0", err);
	if (idx < 0) {
		ret = idx;
		goto out;
	}
	ipam_format_ip(ep->ip, ip);
	snprintf(w_addr, sizeof(w_addr), "add address %s/%d on `eth0`", ip, r->prefix);
	b = mnl_nlmsg_batch_start(buf, sizeof(buf) / 2);
	nl_link_up_msg(mnl_nlmsg_batch_current(b), "eth0", true);
	mnl_nlmsg_batch_next(b);
	nl_addr_msg(mnl_nlmsg_batch_current(b), RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, idx, addr,
		    r->prefix);
	mnl_nlmsg_batch_next(b);
	if (cc[0]) {
		/* The address just made the kernel's prefix route: replace it by the same
		 * route with the congestion control (onlink_cc_choose). */
		nl_onlink_route_msg(mnl_nlmsg_batch_current(b), subnet, r->prefix, addr, idx, cc);
		mnl_nlmsg_batch_next(b);
		ipam_format_ip(r->subnet, ip);
		snprintf(w_cc, sizeof(w_cc), "set congestion control %s on the route to %s/%d", cc,
			 ip, r->prefix);
		whats[n++] = w_cc;
	}
	nl_link_up_msg(mnl_nlmsg_batch_current(b), "lo", true);
	mnl_nlmsg_batch_next(b);
	whats[n++] = "set up `lo`";
	ipam_format_ip(r->gateway, ip);
	snprintf(w_route, sizeof(w_route), "add default route via %s dev `eth0`", ip);
	nl_route_msg(mnl_nlmsg_batch_current(b), any, 0, gw, idx);
	mnl_nlmsg_batch_next(b);
	whats[n++] = w_route;
	ret = nl_batch(nl, b, whats, n, err);
	mnl_nlmsg_batch_stop(b);
out:
	mc_netns_nl_close(nl);
	return ret;
}

static int open_target_ns(const struct mc_netns_attach_req *req, struct mc_err *err)
{
	char path[64];
	int fd;

	if (req->pid <= 0) {
		if (req->nsfd < 0)
			return mc_err_setx(err, EINVAL, "attach: no container pid or netns fd");
		fd = fcntl(req->nsfd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return mc_err_set(err, errno, "attach: dup netns fd");
		return fd;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)req->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mc_err_set(err, errno, "open `%s`", path);
	return fd;
}

static void release_kernel(const struct net_endpoint *ep, bool keep_link)
{
	struct mc_netns_nl *nl = NULL;
	struct mc_err e = { 0 };
	char tag[NET_ID_MAX + 8];
	int r;

	/* Best-effort throughout: each piece may already be gone (a veth dies with the
	 * container's netns), and detach must finish for `rm -f` to be idempotent. */
	if (keep_link) {
		/* The caller leaves the veth to the kernel or to mc_netns_link_release. */
	} else if (mc_netns_nl_open(&nl, &e) == 0) {
		r = mc_netns_link_destroy(nl, ep->veth, &e);
		if (r < 0 && r != -ENODEV)
			mc_log_warn("network: %s", e.msg);
		mc_netns_nl_close(nl);
	} else {
		mc_log_warn("network: %s", e.msg);
	}
	/*
	 * Only published ports make rules: without them skip the nftables dump that
	 * finding tagged rules costs. After a crash between adding rules and saving the
	 * record the record still lists the ports (it is saved first), so nothing leaks.
	 */
	if (ep->n_ports == 0)
		return;
	snprintf(tag, sizeof(tag), "ctr:%s", ep->id);
	if (nft_tag_del(tag, &e) < 0)
		mc_log_warn("network: %s", e.msg);
}

static int attach_locked(struct net_store *st, const struct mc_netns_attach_req *req,
			 struct mc_netns_attachment *out, struct mc_err *err)
{
	const char *network = req->network ? req->network : MC_NETNS_DEFAULT_NETWORK;
	struct net_record *all = NULL, *r = NULL;
	size_t n_all = 0;
	struct net_endpoint ep;
	struct mc_netns_nl *nl = NULL;
	mc_autoclose int nsfd = -1;
	mc_autoclose int hsock = -1;
	struct veth_spec spec = { 0 };
	uint8_t mac[6];
	int ret;

	if (strcmp(network, "none") == 0 || strcmp(network, "host") == 0)
		return mc_err_setx(err, EINVAL, "network `%s` needs no attach", network);
	if (!req->network) {
		ret = net_ensure_default_locked(st, err);
		if (ret < 0)
			return ret;
	}
	ret = build_endpoint(req, network, &ep, err);
	if (ret < 0)
		return ret;
	/* Every network is read only to check published ports against all of them. */
	if (req->n_ports == 0) {
		all = calloc(1, sizeof(*all));
		if (!all)
			return mc_err_set(err, ENOMEM, "attach to network `%s`", network);
		ret = store_load(st, network, all, err);
		if (ret < 0) {
			free(all);
			all = NULL;
			goto out;
		}
		n_all = 1;
	} else {
		ret = net_records_load(st, &all, &n_all, err);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < n_all; i++)
		if (strcmp(all[i].name, network) == 0)
			r = &all[i];
	if (!r) {
		ret = mc_err_setx(err, ENOENT, "network `%s` not found", network);
		goto out;
	}
	if (net_record_find(r, ep.id)) {
		ret = mc_err_setx(err, EEXIST, "container `%s` is already attached to network `%s`",
				  ep.id, network);
		goto out;
	}
	if (ep.name[0] && name_taken(r, ep.name)) {
		ret = mc_err_setx(err, EEXIST, "name `%s` is already in use on network `%s`",
				  ep.name, network);
		goto out;
	}
	for (int i = 0; i < ep.n_aliases; i++) {
		if (name_taken(r, ep.aliases[i]) || strcmp(ep.aliases[i], ep.name) == 0) {
			ret = mc_err_setx(err, EEXIST,
					  "name `%s` is already in use on network `%s`",
					  ep.aliases[i], network);
			goto out;
		}
	}
	if ((ret = pick_ip(req, r, &ep.ip, err)) < 0 ||
	    (ret = check_ports(req, all, n_all, err)) < 0)
		goto out;
	nsfd = open_target_ns(req, err);
	if (nsfd < 0) {
		ret = nsfd;
		goto out;
	}

	/* Reserve first: from here a crash leaves a record that detach cleans up. */
	if ((ret = net_record_add(r, &ep, err)) < 0 || (ret = store_save(st, r, false, err)) < 0)
		goto out;

	ipam_mac(ep.ip, mac);
	if ((ret = mc_netns_nl_open(&nl, err)) < 0)
		goto out_unreserve;
	hsock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (hsock < 0) {
		ret = mc_err_set(err, errno, "socket");
		goto out_unreserve;
	}
	/* The bridge is set up once, by network create or by the first attach after a
	 * reboot (records persist, bridges do not); re-doing it on every attach would
	 * cost an nftables transaction per container start. */
	spec.master = link_ioctl_index(hsock, r->bridge, NULL);
	if (spec.master < 0) {
		if ((ret = net_bridge_ensure(r, err)) < 0)
			goto out_unreserve;
		spec.master = link_ioctl_index(hsock, r->bridge, err);
		if ((ret = spec.master) < 0)
			goto out_unreserve;
	} else {
		uint8_t gw_mac[6];

		/* One ioctl: a bridge from before the fixed address gets its own pinned. */
		ipam_mac(r->gateway, gw_mac);
		if ((ret = link_pin_mac(hsock, r->bridge, gw_mac, err)) < 0)
			goto out_unreserve;
	}
	spec.name = ep.veth;
	spec.peer = "eth0";
	spec.peer_nsfd = nsfd;
	spec.mtu = r->mtu;
	memcpy(spec.peer_mac, mac, sizeof(mac));
	spec.gso_max = NET_GSO_MAX;
	/*
	 * Hairpin (a container reaching a published port through a host address): with
	 * br_netfilter loaded, the DNAT happens on the bridge path and the frame goes
	 * back out the port it came in on, which a bridge port only does in hairpin mode;
	 * the masquerade rule of nft_network_add then brings the answers back through the
	 * host. Only containers that publish ports need it.
	 */
	spec.hairpin = ep.n_ports > 0;
	ret = link_veth_create_attached(nl, &spec, err);
	if (ret < 0)
		goto out_unreserve;
	if ((ret = setup_inside(nsfd, r, &ep, err)) < 0 || (ret = nft_ports_add(&ep, err)) < 0)
		goto out_release;

	hosts_update(r);
	memset(out, 0, sizeof(*out));
	snprintf(out->network, sizeof(out->network), "%s", network);
	ipam_format_ip(ep.ip, out->ip);
	out->prefix = r->prefix;
	ipam_format_ip(r->gateway, out->gateway);
	snprintf(out->veth, sizeof(out->veth), "%s", ep.veth);
	snprintf(out->mac, sizeof(out->mac), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	ret = 0;
	goto out;

out_release:
	release_kernel(&ep, false);
out_unreserve : {
	struct mc_err ignore = { 0 };

	net_record_remove(r, ep.id);
	/* Best-effort: if this save fails too, the stale reservation is freed by detach. */
	if (store_save(st, r, false, &ignore) < 0)
		mc_log_warn("network: %s", ignore.msg);
}
out:
	mc_netns_nl_close(nl);
	net_records_free(all, n_all);
	if (ret < 0 && err && err->code)
		mc_err_wrap(err, "attach to network `%s`", network);
	return ret;
}

int mc_netns_attach(const struct mc_netns_ctx *ctx, const struct mc_netns_attach_req *req,
		    struct mc_netns_attachment *out, struct mc_err *err)
{
	struct net_store st;
	int ret = store_open(ctx, true, &st, err);

	if (ret < 0)
		return ret;
	ret = attach_locked(&st, req, out, err);
	store_close(&st);
	return ret;
}

/* ---- detach ---- */

static int detach_one(struct net_store *st, struct net_record *r, const char *ctr_id,
		      unsigned flags, struct mc_err *err)
{
	struct net_endpoint *ep = net_record_find(r, ctr_id);
	struct net_endpoint copy;
	int ret;

	if (!ep)
		return 0;
	copy = *ep;
	release_kernel(&copy, flags & MC_NETNS_DETACH_KEEP_LINK);
	net_record_remove(r, ctr_id);
	ret = store_save(st, r, false, err);
	if (ret < 0)
		return ret;
	hosts_update(r);
	return 1;
}

int mc_netns_detach(const struct mc_netns_ctx *ctx, const char *network, const char *ctr_id,
		    struct mc_err *err)
{
	return mc_netns_detach_flags(ctx, network, ctr_id, 0, err);
}

int mc_netns_link_release(const char *network, const char *ctr_id, struct mc_err *err)
{
	struct mc_netns_nl *nl = NULL;
	char veth[IFNAMSIZ];
	int r;

	if (!network || !ipam_valid_name(ctr_id, NET_ID_MAX))
		return mc_err_setx(err, EINVAL, "invalid network or container id");
	snprintf(veth, sizeof(veth), "mcv%08x", ipam_hash(network, ctr_id));
	if ((r = mc_netns_nl_open(&nl, err)) < 0)
		return r;
	r = mc_netns_link_destroy(nl, veth, err);
	mc_netns_nl_close(nl);
	if (r == -ENODEV) {
		mc_err_clear(err);
		return 0;
	}
	return r;
}

int mc_netns_detach_flags(const struct mc_netns_ctx *ctx, const char *network, const char *ctr_id,
			  unsigned flags, struct mc_err *err)
{
	struct net_store st;
	struct net_record *all = NULL;
	size_t n_all = 0;
	int ret, found = 0;

	if (!ipam_valid_name(ctr_id, NET_ID_MAX))
		return mc_err_setx(err, EINVAL, "invalid container id `%.128s`",
				   ctr_id ? ctr_id : "");
	ret = store_open(ctx, true, &st, err);
	if (ret < 0)
		return ret;
	if (network) {
		struct net_record r;

		ret = store_load(&st, network, &r, err);
		if (ret == 0) {
			ret = detach_one(&st, &r, ctr_id, flags, err);
			net_record_release(&r);
		}
	} else {
		ret = net_records_load(&st, &all, &n_all, err);
		for (size_t i = 0; ret >= 0 && i < n_all; i++) {
			ret = detach_one(&st, &all[i], ctr_id, flags, err);
			found += ret > 0;
		}
		net_records_free(all, n_all);
	}
	store_close(&st);
	return ret < 0 ? ret : 0;
}
