/* SPDX-License-Identifier: MIT */
/*
 * fuzz/config.c: libFuzzer target for the OCI config parser (config.json, including
 * mounts, capabilities, rlimits, namespaces, id maps, resources, devices, seccomp) and
 * the seccomp profile parser of --security-opt seccomp=FILE.
 */
#include <stddef.h>
#include <stdint.h>

#include "../internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_err err = { 0 };
	struct rt_config c;
	json_t *j;

	if (rt_config_parse((const char *)data, size, "/bundle", &c, &err) == 0) {
		/* A config that parsed must be usable: the strings the child reads exist. */
		if (!c.args || !c.args[0] || !c.cwd || !c.root_path || !c.env)
			__builtin_trap();
	}
	rt_config_release(&c);
	j = json_loadb((const char *)data, size, 0, NULL);
	if (j) {
		struct rt_seccomp *s = NULL;

		if (rt_seccomp_parse(j, &s, &err) == 0)
			rt_seccomp_free(s);
		json_decref(j);
	}
	return 0;
}
