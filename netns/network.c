/* SPDX-License-Identifier: MIT */
/*
 * network.c: named networks: create (record + bridge + rules), inspect, list,
 * remove, the default network, and bringing a network's bridge back after a reboot
 * (records persist, bridges do not).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mc/cleanup.h>
#include <mc/log.h>
#include <mc/util.h>

#include "internal.h"

/* Best-effort sysctl write: the network still works for container-to-container
 * traffic without it; published ports from 127.0.0.1 or outside need it. */
static void sysctl_set(const char *path, const char *val)
{
	struct mc_err e = { 0 };

	if (mc_fs_write_str(path, val, &e) < 0)
		mc_log_warn("network: %s", e.msg);
}

int net_bridge_ensure(const struct net_record *r, struct mc_err *err)
{
	struct mc_netns_nl *nl = NULL;
	struct in_addr gw = { .s_addr = htonl(r->gateway) };
	struct mc_err sub = { 0 };
	bool created = false;
	uint8_t mac[6];
	char path[128];
	int ret;

	ret = mc_netns_nl_open(&nl, err);
	if (ret < 0)
		return ret;
	/*
	 * A fixed address, the gateway's: a bridge left to the kernel takes its lowest
	 * port's, and when that container leaves, the others' cached gateway entry points
	 * nowhere and their traffic stops (until the entry expires, which TCP's
	 * confirmations can put off indefinitely). A bridge found here keeps the address
	 * it has; the next attach pins it (link_pin_mac) before adding a port.
	 */
	ipam_mac(r->gateway, mac);
	ret = mc_netns_link_index(nl, r->bridge, &sub);
	if (ret == -ENODEV) {
		ret = mc_netns_bridge_create(nl, r->bridge, mac, err);
		if (ret < 0)
			goto out;
		created = true;
	} else if (ret < 0) {
		*err = sub;
		goto out;
	}
	ret = mc_netns_addr_add(nl, r->bridge, gw, r->prefix, &sub);
	if (ret == -EEXIST)
		ret = 0;
	else if (ret < 0) {
		*err = sub;
		goto out_del;
	}
	ret = mc_netns_link_set_up(nl, r->bridge, true, err);
	if (ret < 0)
		goto out_del;
	/* route_localnet on the bridge lets DNAT'ed 127.0.0.1 traffic leave through it
	 * (otherwise the kernel drops a loopback source on a non-loopback device). */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", r->bridge);
	sysctl_set(path, "1");
	sysctl_set("/proc/sys/net/ipv4/ip_forward", "1");
	ret = nft_network_add(r, err);
	if (ret < 0)
		goto out_del;
	goto out;
out_del:
	if (created) {
		struct mc_err ignore = { 0 };

		/* Best-effort: the bridge was made by this call and is being rolled back. */
		if (mc_netns_link_destroy(nl, r->bridge, &ignore) < 0)
			mc_log_warn("network: %s", ignore.msg);
	}
out:
	mc_netns_nl_close(nl);
	return ret;
}

static int bridge_destroy(const struct net_record *r, struct mc_err *err)
{
	struct mc_netns_nl *nl = NULL;
	struct mc_err sub = { 0 };
	int ret = mc_netns_nl_open(&nl, err);

	if (ret < 0)
		return ret;
	ret = mc_netns_link_destroy(nl, r->bridge, &sub);
	mc_netns_nl_close(nl);
	if (ret == -ENODEV)
		return 0;
	if (ret < 0 && err)
		*err = sub;
	return ret;
}

/* Loads every record; *recs (n of them) is released with net_records_free. */
int net_records_load(struct net_store *st, struct net_record **recs, size_t *n, struct mc_err *err)
{
	char **names = NULL;
	size_t cnt = 0, ok = 0;
	struct net_record *v;
	int ret = store_list(st, &names, &cnt, err);

	if (ret < 0)
		return ret;
	v = calloc(cnt ? cnt : 1, sizeof(*v));
	if (!v)
		ret = mc_err_set(err, ENOMEM, "load networks");
	for (size_t i = 0; i < cnt; i++) {
		if (ret >= 0) {
			ret = store_load(st, names[i], &v[ok], err);
			if (ret >= 0)
				ok++;
		}
		free(names[i]);
	}
	free(names);
	if (ret < 0) {
		net_records_free(v, ok);
		return ret;
	}
	*recs = v;
	*n = ok;
	return 0;
}

void net_records_free(struct net_record *recs, size_t n)
{
	for (size_t i = 0; recs && i < n; i++)
		net_record_release(&recs[i]);
	free(recs);
}

static void bridge_name_for(const char *name, char out[IFNAMSIZ])
{
	if (strcmp(name, MC_NETNS_DEFAULT_NETWORK) == 0)
		snprintf(out, IFNAMSIZ, "mc0");
	else if (strlen(name) <= 12)
		snprintf(out, IFNAMSIZ, "mc-%s", name);
	else
		snprintf(out, IFNAMSIZ, "mc-%08x", ipam_hash(name, "bridge"));
}

int net_create_locked(struct net_store *st, const char *name, const char *subnet,
		      const char *gateway, unsigned mtu, struct mc_err *err)
{
	struct net_record *all = NULL, r = { 0 };
	size_t n_all = 0;
	char sub_s[24], ip[16], o[16];
	int ret;

	/* 576: the IPv4 minimum every host must take; 65535: a veth's maximum. */
	if (mtu && (mtu < 576 || mtu > 65535))
		return mc_err_setx(err, EINVAL, "invalid MTU %u: want 576..65535", mtu);

	if (!ipam_valid_name(name, NET_NAME_MAX))
		return mc_err_setx(err, EINVAL,
				   "invalid network name `%.64s`: use letters, digits, `_.-`, "
				   "at most 63 characters",
				   name ? name : "");
	if (strcmp(name, "none") == 0 || strcmp(name, "host") == 0)
		return mc_err_setx(err, EINVAL, "network name `%s` is reserved", name);
	if (subnet) {
		if (ipam_parse_cidr(subnet, &r.subnet, &r.prefix) < 0)
			return mc_err_setx(err, EINVAL,
					   "invalid subnet `%s`: expected an IPv4 CIDR like "
					   "10.88.1.0/24 with no host bits set",
					   subnet);
		if (r.prefix < 8 || r.prefix > 30)
			return mc_err_setx(err, EINVAL,
					   "invalid subnet `%s`: prefix length must be 8..30",
					   subnet);
	}
	ret = net_records_load(st, &all, &n_all, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n_all; i++) {
		if (strcmp(all[i].name, name) == 0) {
			ret = mc_err_setx(err, EEXIST, "network `%s` already exists", name);
			goto out;
		}
	}
	if (!subnet) {
		/* The first 10.88.N.0/24 that overlaps nothing. */
		bool found = false;

		r.prefix = 24;
		for (uint32_t nn = 1; nn < 256 && !found; nn++) {
			r.subnet = (10u << 24) | (88u << 16) | (nn << 8);
			found = true;
			for (size_t i = 0; i < n_all && found; i++)
				if (ipam_overlap(r.subnet, 24, all[i].subnet, all[i].prefix))
					found = false;
		}
		if (!found) {
			ret = mc_err_setx(err, ENOSPC,
					  "no free subnet in 10.88.0.0/16: pass --subnet");
			goto out;
		}
	}
	ipam_format_ip(r.subnet, ip);
	snprintf(sub_s, sizeof(sub_s), "%s/%d", ip, r.prefix);
	for (size_t i = 0; i < n_all; i++) {
		if (ipam_overlap(r.subnet, r.prefix, all[i].subnet, all[i].prefix)) {
			ipam_format_ip(all[i].subnet, o);
			ret = mc_err_setx(err, EEXIST, "subnet %s overlaps network `%s` (%s/%d)",
					  sub_s, all[i].name, o, all[i].prefix);
			goto out;
		}
	}
	if (gateway) {
		if (ipam_parse_ip(gateway, &r.gateway) < 0) {
			ret = mc_err_setx(err, EINVAL, "invalid gateway `%s`: not an IPv4 address",
					  gateway);
			goto out;
		}
		if (!ipam_is_host(r.subnet, r.prefix, r.gateway)) {
			ret = mc_err_setx(err, EINVAL,
					  "gateway %s is not a host address of subnet %s", gateway,
					  sub_s);
			goto out;
		}
	} else {
		r.gateway = r.subnet + 1;
	}
	snprintf(r.name, sizeof(r.name), "%s", name);
	bridge_name_for(name, r.bridge);
	for (size_t i = 0; i < n_all; i++) {
		if (strcmp(all[i].bridge, r.bridge) == 0) {
			ret = mc_err_setx(err, EEXIST,
					  "bridge `%s` is already used by network `%s`", r.bridge,
					  all[i].name);
			goto out;
		}
	}
	r.mtu = mtu ? mtu : MC_NETNS_DEFAULT_MTU;
	mc_time_format_rfc3339(mc_time_real_ns(), r.created, sizeof(r.created));
	ret = net_bridge_ensure(&r, err);
	if (ret < 0)
		goto out;
	ret = store_save(st, &r, true, err);
	if (ret < 0) {
		struct mc_err ignore = { 0 };

		/* Best-effort rollback: the record could not be written, take back the bridge. */
		nft_network_del(r.name, &ignore);
		bridge_destroy(&r, &ignore);
	}
out:
	net_records_free(all, n_all);
	return ret;
}

int mc_netns_network_create(const struct mc_netns_ctx *ctx, const char *name, const char *subnet,
			    const char *gateway, struct mc_err *err)
{
	return mc_netns_network_create_mtu(ctx, name, subnet, gateway, 0, err);
}

int mc_netns_network_create_mtu(const struct mc_netns_ctx *ctx, const char *name,
				const char *subnet, const char *gateway, unsigned mtu,
				struct mc_err *err)
{
	struct net_store st;
	int ret = store_open(ctx, true, &st, err);

	if (ret < 0)
		return ret;
	ret = net_create_locked(&st, name, subnet, gateway, mtu, err);
	store_close(&st);
	return ret;
}

int net_ensure_default_locked(struct net_store *st, struct mc_err *err)
{
	struct net_record r;
	struct mc_err sub = { 0 };
	int ret = store_load(st, MC_NETNS_DEFAULT_NETWORK, &r, &sub);

	if (ret == 0) {
		net_record_release(&r);
		return 0;
	}
	if (ret != -ENOENT) {
		if (err)
			*err = sub;
		return ret;
	}
	return net_create_locked(st, MC_NETNS_DEFAULT_NETWORK, MC_NETNS_DEFAULT_SUBNET, NULL, 0,
				 err);
}

int mc_netns_network_ensure_default(const struct mc_netns_ctx *ctx, struct mc_err *err)
{
	struct net_store st;
	int ret = store_open(ctx, true, &st, err);

	if (ret < 0)
		return ret;
	ret = net_ensure_default_locked(&st, err);
	store_close(&st);
	return ret;
}

static int info_fill(const struct net_record *r, struct mc_netns_network_info *out,
		     struct mc_err *err)
{
	char ip[16];

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", r->name);
	snprintf(out->bridge, sizeof(out->bridge), "%s", r->bridge);
	ipam_format_ip(r->subnet, ip);
	snprintf(out->subnet, sizeof(out->subnet), "%s/%d", ip, r->prefix);
	ipam_format_ip(r->gateway, out->gateway);
	out->mtu = r->mtu;
	snprintf(out->created, sizeof(out->created), "%s", r->created);
	if (r->n_eps) {
		out->endpoints = calloc(r->n_eps, sizeof(*out->endpoints));
		if (!out->endpoints)
			return mc_err_set(err, ENOMEM, "inspect network `%s`", r->name);
	}
	for (size_t i = 0; i < r->n_eps; i++) {
		struct mc_netns_endpoint_info *e = &out->endpoints[i];

		snprintf(e->id, sizeof(e->id), "%s", r->eps[i].id);
		snprintf(e->name, sizeof(e->name), "%s", r->eps[i].name);
		snprintf(e->veth, sizeof(e->veth), "%s", r->eps[i].veth);
		ipam_format_ip(r->eps[i].ip, e->ip);
	}
	out->n_endpoints = r->n_eps;
	return 0;
}

void mc_netns_network_info_release(struct mc_netns_network_info *info)
{
	if (!info)
		return;
	free(info->endpoints);
	info->endpoints = NULL;
	info->n_endpoints = 0;
}

int mc_netns_network_inspect(const struct mc_netns_ctx *ctx, const char *name,
			     struct mc_netns_network_info *out, struct mc_err *err)
{
	struct net_store st;
	struct net_record r;
	int ret = store_open(ctx, false, &st, err);

	if (ret < 0)
		return ret;
	ret = store_load(&st, name, &r, err);
	store_close(&st);
	if (ret < 0)
		return ret;
	ret = info_fill(&r, out, err);
	net_record_release(&r);
	return ret;
}

int mc_netns_network_list(const struct mc_netns_ctx *ctx, struct mc_netns_network_info **out,
			  size_t *n, struct mc_err *err)
{
	struct net_store st;
	struct net_record *recs = NULL;
	struct mc_netns_network_info *v;
	size_t cnt = 0;
	int ret = store_open(ctx, false, &st, err);

	if (ret < 0)
		return ret;
	ret = net_records_load(&st, &recs, &cnt, err);
	store_close(&st);
	if (ret < 0)
		return ret;
	v = calloc(cnt ? cnt : 1, sizeof(*v));
	if (!v) {
		net_records_free(recs, cnt);
		return mc_err_set(err, ENOMEM, "list networks");
	}
	for (size_t i = 0; i < cnt; i++) {
		ret = info_fill(&recs[i], &v[i], err);
		if (ret < 0) {
			mc_netns_network_list_free(v, i);
			net_records_free(recs, cnt);
			return ret;
		}
	}
	net_records_free(recs, cnt);
	*out = v;
	*n = cnt;
	return 0;
}

void mc_netns_network_list_free(struct mc_netns_network_info *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		mc_netns_network_info_release(&list[i]);
	free(list);
}

int mc_netns_network_remove(const struct mc_netns_ctx *ctx, const char *name, struct mc_err *err)
{
	struct net_store st;
	struct net_record r;
	int ret = store_open(ctx, true, &st, err);

	if (ret < 0)
		return ret;
	ret = store_load(&st, name, &r, err);
	if (ret < 0)
		goto out;
	if (r.n_eps > 0) {
		ret = mc_err_setx(err, EBUSY,
				  "network `%s` has %zu attached container%s (first: `%s`): "
				  "remove them first",
				  name, r.n_eps, r.n_eps == 1 ? "" : "s",
				  r.eps[0].name[0] ? r.eps[0].name : r.eps[0].id);
		goto out_rel;
	}
	ret = nft_network_del(name, err);
	if (ret < 0)
		goto out_rel;
	ret = bridge_destroy(&r, err);
	if (ret < 0)
		goto out_rel;
	ret = store_remove(&st, name, err);
out_rel:
	net_record_release(&r);
out:
	store_close(&st);
	return ret;
}
