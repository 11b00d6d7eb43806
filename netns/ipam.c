/* SPDX-License-Identifier: MIT */
/*
 * ipam.c: the pure parts of address management: strict IPv4 and CIDR parsing,
 * subnet arithmetic, name validation, and the -p port spec parser. No I/O.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Strict dotted quad: four decimal fields 0..255, no leading zeros, nothing else.
 * inet_pton accepts exactly that for AF_INET. */
int ipam_parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (!s || strlen(s) > 15 || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}

int ipam_parse_cidr(const char *s, uint32_t *net, int *prefix)
{
	char ip[16];
	const char *slash = s ? strchr(s, '/') : NULL;
	size_t n;
	uint32_t a;
	int p = 0;

	if (!slash)
		return -EINVAL;
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (ipam_parse_ip(ip, &a) < 0)
		return -EINVAL;
	slash++;
	if (!*slash || strlen(slash) > 2)
		return -EINVAL;
	for (const char *c = slash; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		p = p * 10 + (*c - '0');
	}
	if (p > 32 || (slash[0] == '0' && slash[1]))
		return -EINVAL;
	/* Host bits set (10.88.1.7/24) is a typo more often than not: refuse it. */
	if (a & ~ipam_mask(p))
		return -EINVAL;
	*net = a;
	*prefix = p;
	return 0;
}

void ipam_format_ip(uint32_t ip, char buf[16])
{
	struct in_addr a = { .s_addr = htonl(ip) };

	inet_ntop(AF_INET, &a, buf, 16);
}

bool ipam_is_host(uint32_t net, int prefix, uint32_t ip)
{
	uint32_t m = ipam_mask(prefix);

	if ((ip & m) != net)
		return false;
	if (prefix >= 31)
		return true;
	return ip != net && ip != (net | ~m);
}

/* Names of networks, containers and aliases: [A-Za-z0-9][A-Za-z0-9_.-]*, < max. */
bool ipam_valid_name(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n >= max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

/* FNV-1a over a, 0, b: stable short names for host-side links. */
uint32_t ipam_hash(const char *a, const char *b)
{
	uint32_t h = 2166136261u;

	for (const char *p = a; p && *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ 0) * 16777619u;
	for (const char *p = b; p && *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h;
}

static int parse_port(const char *s, size_t n, uint16_t *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5 || s[0] == '0')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int mc_netns_port_parse(const char *spec, struct mc_netns_port *out, struct mc_err *err)
{
	struct mc_netns_port p = { .proto = IPPROTO_TCP };
	const char *s = spec, *end, *c1, *c2, *slash;
	char ip[16];

	if (!spec || !*spec || strlen(spec) > 64)
		return mc_err_setx(err, EINVAL,
				   "invalid port spec `%.64s`: expected "
				   "[HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]",
				   spec ? spec : "");
	slash = strchr(s, '/');
	end = slash ? slash : s + strlen(s);
	if (slash) {
		if (strcmp(slash, "/tcp") == 0)
			p.proto = IPPROTO_TCP;
		else if (strcmp(slash, "/udp") == 0)
			p.proto = IPPROTO_UDP;
		else
			return mc_err_setx(err, EINVAL,
					   "invalid port spec `%s`: protocol must be tcp or udp",
					   spec);
	}
	c1 = memchr(s, ':', (size_t)(end - s));
	if (!c1)
		goto bad;
	c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (c2) {
		uint32_t a;
		size_t n = (size_t)(c1 - s);

		if (n == 0 || n >= sizeof(ip))
			goto bad;
		memcpy(ip, s, n);
		ip[n] = '\0';
		if (ipam_parse_ip(ip, &a) < 0)
			return mc_err_setx(err, EINVAL, "invalid port spec `%s`: bad host IP `%s`",
					   spec, ip);
		p.host_ip.s_addr = htonl(a);
		s = c1 + 1;
		c1 = c2;
	}
	if (parse_port(s, (size_t)(c1 - s), &p.host_port) < 0 ||
	    parse_port(c1 + 1, (size_t)(end - c1 - 1), &p.ctr_port) < 0)
		return mc_err_setx(err, EINVAL, "invalid port spec `%s`: ports must be 1-65535",
				   spec);
	*out = p;
	return 0;
bad:
	return mc_err_setx(err, EINVAL,
			   "invalid port spec `%s`: expected [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]",
			   spec);
}
