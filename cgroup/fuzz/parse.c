/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for every parser and translator in libmccgroup that takes bytes
 * from outside: the keyed counter files, cgroup.procs, relative cgroup paths, and
 * device rules (checked, turned into v1 lines and into an eBPF program). The first
 * input byte picks the parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	uint64_t v;

	if (size < 1)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		cgroup_parse_keyed(s, "oom_kill", &v);
		cgroup_parse_keyed(s, "usage_usec", &v);
		break;
	case 1: {
		pid_t *pids = NULL;
		size_t n = 0;

		cgroup_parse_pids(s, &pids, &n);
		free(pids);
		break;
	}
	case 2:
		cgroup_path_valid(s);
		break;
	case 3: {
		/* raw bytes as an array of rules */
		size_t n = (size - 1) / sizeof(struct mc_cgroup_device_rule);
		struct mc_cgroup_device_rule *r = (struct mc_cgroup_device_rule *)s;
		struct bpf_insn *insns;
		char line[64];

		if (n > CG_BPFDEV_MAX_RULES)
			n = CG_BPFDEV_MAX_RULES;
		for (size_t i = 0; i < n; i++) {
			/* a bool holds 0 or 1; raw bytes would be undefined behaviour */
			uint8_t b;

			memcpy(&b, &r[i].allow, 1);
			r[i].allow = b & 1;
			cgroup_device_v1_line(&r[i], line, sizeof(line), NULL);
		}
		insns = calloc(cgroup_bpfdev_max_insns(n), sizeof(*insns));
		if (insns) {
			int len = cgroup_bpfdev_build(r, n, insns, NULL);

			if (len > 0 && (size_t)len > cgroup_bpfdev_max_insns(n))
				abort();
			free(insns);
		}
		break;
	}
	}
	free(s);
	return 0;
}
