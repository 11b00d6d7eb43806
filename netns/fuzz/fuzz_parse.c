/* SPDX-License-Identifier: MIT */
/*
 * fuzz_parse.c: libFuzzer target for every parser of libmcnetns: the first byte
 * picks the -p port spec, the CIDR / IPv4 parsers, the network record's JSON, or
 * the two-slot NAME.ep image (a valid slot must point inside the image, and a slot
 * written with epslot_fill must be picked back).
 * Accepted input must satisfy the parser's post-conditions; rejected input must
 * come with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_err err = { 0 };
	char *s;

	if (size < 1 || size > 65536)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0: {
		struct mc_netns_port p;

		if (mc_netns_port_parse(s, &p, &err) == 0) {
			if (p.host_port == 0 || p.ctr_port == 0)
				abort();
		} else if (!err.msg[0]) {
			abort();
		}
		break;
	}
	case 1: {
		uint32_t net, ip;
		int prefix;

		if (ipam_parse_cidr(s, &net, &prefix) == 0 &&
		    (prefix < 0 || prefix > 32 || (net & ~ipam_mask(prefix))))
			abort();
		ipam_parse_ip(s, &ip);
		break;
	}
	case 2: {
		struct net_record r;
		char *out = NULL;

		if (net_record_parse((const char *)data + 1, size - 1, &r, &err) == 0) {
			struct net_record back;

			/* What parses formats and parses back to the same thing. */
			if (net_record_format(&r, &out, &err) < 0 ||
			    net_record_parse(out, strlen(out), &back, &err) < 0)
				abort();
			if (back.n_eps != r.n_eps || back.subnet != r.subnet)
				abort();
			net_record_release(&back);
			free(out);
			net_record_release(&r);
		} else if (!err.msg[0]) {
			abort();
		}
		break;
	}
	case 3: {
		/* The rest of the input, repeated into a minimum-size image. */
		size_t isz = 2 * EPSLOT_MIN, jlen, jlen2;
		size_t want =
			size - 1 < EPSLOT_MIN - EPSLOT_HDR ? size - 1 : EPSLOT_MIN - EPSLOT_HDR;
		char *img = malloc(isz);
		const char *json, *json2;
		uint64_t gen = 0, gen2;
		int idx;

		if (!img)
			break;
		for (size_t i = 0; i < isz; i++)
			img[i] = size > 1 ? (char)data[1 + i % (size - 1)] : 0;
		idx = epslot_pick(img, isz, &json, &jlen, &gen);
		if (idx >= 0 && (json < img || json + jlen > img + isz))
			abort();
		/* Overwrite the other slot with a newer generation: it must win. */
		if (idx < 0 || gen < UINT64_MAX) {
			epslot_fill(img + (idx == 0 ? EPSLOT_MIN : 0), idx >= 0 ? gen + 1 : 1, s,
				    want);
			idx = epslot_pick(img, isz, &json2, &jlen2, &gen2);
			if (idx < 0 || jlen2 != want || memcmp(json2, s, jlen2) != 0)
				abort();
		}
		free(img);
		break;
	}
	}
	free(s);
	return 0;
}
