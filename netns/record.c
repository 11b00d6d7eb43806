/* SPDX-License-Identifier: MIT */
/*
 * record.c: the network record and its JSON file format. Parsing validates every
 * field, so a corrupted or hand-edited file is one clear error, never a crash.
 *
 *   { "name": "raftnet", "bridge": "mc-raftnet", "subnet": "10.88.1.0/24",
 *     "gateway": "10.88.1.1", "mtu": 1500, "created": "2026-...Z",
 *     "endpoints": [ { "id": "c0ffee", "name": "raft1", "aliases": ["r1"],
 *                      "ip": "10.88.1.2", "veth": "mcv1a2b3c4d",
 *                      "hosts": "/run/mycontainer/c0ffee/hosts",
 *                      "ports": [ { "host_ip": "0.0.0.0", "host_port": 8080,
 *                                   "ctr_port": 80, "proto": "tcp" } ] } ] }
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <mc/cleanup.h>

#include "internal.h"

MC_DEFINE_AUTO(json_t, json_decref)

void net_record_release(struct net_record *r)
{
	free(r->eps);
	memset(r, 0, sizeof(*r));
}

struct net_endpoint *net_record_find(struct net_record *r, const char *id)
{
	for (size_t i = 0; i < r->n_eps; i++)
		if (strcmp(r->eps[i].id, id) == 0)
			return &r->eps[i];
	return NULL;
}

int net_record_add(struct net_record *r, const struct net_endpoint *ep, struct mc_err *err)
{
	struct net_endpoint *nv;

	if (r->n_eps >= NET_MAX_ENDPOINTS)
		return mc_err_setx(err, ENOSPC, "network `%s` has too many endpoints", r->name);
	nv = realloc(r->eps, (r->n_eps + 1) * sizeof(*nv));
	if (!nv)
		return mc_err_set(err, ENOMEM, "network `%s`", r->name);
	r->eps = nv;
	r->eps[r->n_eps++] = *ep;
	return 0;
}

void net_record_remove(struct net_record *r, const char *id)
{
	for (size_t i = 0; i < r->n_eps; i++) {
		if (strcmp(r->eps[i].id, id) == 0) {
			memmove(&r->eps[i], &r->eps[i + 1], (r->n_eps - i - 1) * sizeof(*r->eps));
			r->n_eps--;
			return;
		}
	}
}

/* ---- parse ---- */

static int get_str(json_t *o, const char *key, char *dst, size_t size, bool required)
{
	json_t *v = json_object_get(o, key);

	if (!v) {
		if (required)
			return -1;
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) >= size ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int get_ip(json_t *o, const char *key, uint32_t *out)
{
	char s[16];

	if (get_str(o, key, s, sizeof(s), true) < 0)
		return -1;
	return ipam_parse_ip(s, out) < 0 ? -1 : 0;
}

static int get_uint(json_t *o, const char *key, long long min, long long max, long long *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

static int parse_port_obj(json_t *o, struct mc_netns_port *p)
{
	char proto[8];
	uint32_t ip;
	long long hp, cp;

	if (!json_is_object(o) || get_ip(o, "host_ip", &ip) < 0 ||
	    get_uint(o, "host_port", 1, 65535, &hp) < 0 ||
	    get_uint(o, "ctr_port", 1, 65535, &cp) < 0 ||
	    get_str(o, "proto", proto, sizeof(proto), true) < 0)
		return -1;
	if (strcmp(proto, "tcp") == 0)
		p->proto = IPPROTO_TCP;
	else if (strcmp(proto, "udp") == 0)
		p->proto = IPPROTO_UDP;
	else
		return -1;
	p->host_ip.s_addr = htonl(ip);
	p->host_port = (uint16_t)hp;
	p->ctr_port = (uint16_t)cp;
	return 0;
}

static const char *parse_ep(json_t *o, const struct net_record *r, struct net_endpoint *ep)
{
	json_t *arr, *v;
	size_t i;

	memset(ep, 0, sizeof(*ep));
	if (!json_is_object(o))
		return "endpoint is not an object";
	if (get_str(o, "id", ep->id, sizeof(ep->id), true) < 0 ||
	    !ipam_valid_name(ep->id, sizeof(ep->id)))
		return "bad endpoint id";
	if (get_str(o, "name", ep->name, sizeof(ep->name), false) < 0 ||
	    (ep->name[0] && !ipam_valid_name(ep->name, sizeof(ep->name))))
		return "bad endpoint name";
	if (get_ip(o, "ip", &ep->ip) < 0 || !ipam_is_host(r->subnet, r->prefix, ep->ip) ||
	    ep->ip == r->gateway)
		return "bad endpoint ip";
	if (get_str(o, "veth", ep->veth, sizeof(ep->veth), true) < 0 || !ep->veth[0])
		return "bad endpoint veth";
	if (get_str(o, "hosts", ep->hosts, sizeof(ep->hosts), false) < 0 ||
	    (ep->hosts[0] && ep->hosts[0] != '/'))
		return "bad endpoint hosts path";
	arr = json_object_get(o, "aliases");
	if (arr) {
		if (!json_is_array(arr) || json_array_size(arr) > NET_MAX_ALIASES)
			return "bad endpoint aliases";
		json_array_foreach(arr, i, v)
		{
			if (!json_is_string(v) || json_string_length(v) >= NET_NAME_MAX ||
			    !ipam_valid_name(json_string_value(v), NET_NAME_MAX))
				return "bad endpoint alias";
			strcpy(ep->aliases[ep->n_aliases++], json_string_value(v));
		}
	}
	arr = json_object_get(o, "ports");
	if (arr) {
		if (!json_is_array(arr) || json_array_size(arr) > NET_MAX_PORTS)
			return "bad endpoint ports";
		json_array_foreach(arr, i, v)
		{
			if (parse_port_obj(v, &ep->ports[ep->n_ports++]) < 0)
				return "bad endpoint port";
		}
	}
	return NULL;
}

int net_record_parse(const char *json, size_t len, struct net_record *out, struct mc_err *err)
{
	json_error_t jerr;
	mc_auto(json_decref) json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	struct net_record r = { 0 };
	char subnet[20];
	const char *why = NULL;
	json_t *eps, *v;
	long long mtu;
	size_t i;

	if (!root)
		return mc_err_setx(err, MC_ECORRUPT, "invalid JSON at line %d: %s", jerr.line,
				   jerr.text);
	if (!json_is_object(root))
		return mc_err_setx(err, MC_ECORRUPT, "network record is not a JSON object");
	if (get_str(root, "name", r.name, sizeof(r.name), true) < 0 ||
	    !ipam_valid_name(r.name, sizeof(r.name)))
		why = "bad name";
	else if (get_str(root, "bridge", r.bridge, sizeof(r.bridge), true) < 0 ||
		 strncmp(r.bridge, "mc", 2) != 0)
		why = "bad bridge";
	else if (get_str(root, "subnet", subnet, sizeof(subnet), true) < 0 ||
		 ipam_parse_cidr(subnet, &r.subnet, &r.prefix) < 0 || r.prefix < 8 || r.prefix > 30)
		why = "bad subnet";
	else if (get_ip(root, "gateway", &r.gateway) < 0 ||
		 !ipam_is_host(r.subnet, r.prefix, r.gateway))
		why = "bad gateway";
	else if (get_uint(root, "mtu", 576, 65535, &mtu) < 0)
		why = "bad mtu";
	else if (get_str(root, "created", r.created, sizeof(r.created), false) < 0)
		why = "bad created";
	if (why)
		return mc_err_setx(err, MC_ECORRUPT, "network record: %s", why);
	r.mtu = (unsigned)mtu;
	eps = json_object_get(root, "endpoints");
	if (eps && (!json_is_array(eps) || json_array_size(eps) > NET_MAX_ENDPOINTS))
		return mc_err_setx(err, MC_ECORRUPT, "network record: bad endpoints");
	if (eps && json_array_size(eps) > 0) {
		r.eps = calloc(json_array_size(eps), sizeof(*r.eps));
		if (!r.eps)
			return mc_err_set(err, ENOMEM, "network record");
	}
	json_array_foreach(eps, i, v)
	{
		struct net_endpoint *ep = &r.eps[r.n_eps];

		why = parse_ep(v, &r, ep);
		if (!why) {
			/* Two endpoints with one id or one address would make detach free
			 * the wrong thing: the record is corrupt. */
			for (size_t j = 0; j < r.n_eps && !why; j++)
				if (strcmp(r.eps[j].id, ep->id) == 0 || r.eps[j].ip == ep->ip)
					why = "duplicate endpoint id or ip";
		}
		if (why) {
			net_record_release(&r);
			return mc_err_setx(err, MC_ECORRUPT, "network record: endpoint %zu: %s", i,
					   why);
		}
		r.n_eps++;
	}
	*out = r;
	return 0;
}

/* ---- format ---- */

static json_t *ip_str(uint32_t ip)
{
	char s[16];

	ipam_format_ip(ip, s);
	return json_string(s);
}

int net_record_format(const struct net_record *r, char **out, struct mc_err *err)
{
	mc_auto(json_decref) json_t *root = json_object();
	json_t *eps = json_array();
	char subnet[24], ip[16];
	char *s;

	if (!root || !eps) {
		json_decref(eps);
		return mc_err_set(err, ENOMEM, "format network record");
	}
	ipam_format_ip(r->subnet, ip);
	snprintf(subnet, sizeof(subnet), "%s/%d", ip, r->prefix);
	json_object_set_new(root, "name", json_string(r->name));
	json_object_set_new(root, "bridge", json_string(r->bridge));
	json_object_set_new(root, "subnet", json_string(subnet));
	json_object_set_new(root, "gateway", ip_str(r->gateway));
	json_object_set_new(root, "mtu", json_integer(r->mtu));
	json_object_set_new(root, "created", json_string(r->created));
	json_object_set_new(root, "endpoints", eps);
	for (size_t i = 0; i < r->n_eps; i++) {
		const struct net_endpoint *ep = &r->eps[i];
		json_t *o = json_object(), *al = json_array(), *ports = json_array();

		if (!o || !al || !ports) {
			json_decref(o);
			json_decref(al);
			json_decref(ports);
			return mc_err_set(err, ENOMEM, "format network record");
		}
		json_object_set_new(o, "id", json_string(ep->id));
		json_object_set_new(o, "name", json_string(ep->name));
		for (int j = 0; j < ep->n_aliases; j++)
			json_array_append_new(al, json_string(ep->aliases[j]));
		json_object_set_new(o, "aliases", al);
		json_object_set_new(o, "ip", ip_str(ep->ip));
		json_object_set_new(o, "veth", json_string(ep->veth));
		json_object_set_new(o, "hosts", json_string(ep->hosts));
		for (int j = 0; j < ep->n_ports; j++) {
			const struct mc_netns_port *p = &ep->ports[j];
			json_t *po = json_object();

			if (!po) {
				json_decref(o);
				json_decref(ports);
				return mc_err_set(err, ENOMEM, "format network record");
			}
			json_object_set_new(po, "host_ip", ip_str(ntohl(p->host_ip.s_addr)));
			json_object_set_new(po, "host_port", json_integer(p->host_port));
			json_object_set_new(po, "ctr_port", json_integer(p->ctr_port));
			json_object_set_new(po, "proto",
					    json_string(p->proto == IPPROTO_UDP ? "udp" : "tcp"));
			json_array_append_new(ports, po);
		}
		json_object_set_new(o, "ports", ports);
		json_array_append_new(eps, o);
	}
	s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!s)
		return mc_err_set(err, ENOMEM, "format network record");
	*out = s;
	return 0;
}
