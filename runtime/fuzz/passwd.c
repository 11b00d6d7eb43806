/* SPDX-License-Identifier: MIT */
/*
 * fuzz/passwd.c: libFuzzer target for the passwd/group parser and -u resolution.
 * Input: a -u spec up to the first newline, then the passwd text up to a NUL byte,
 * then the group text. Besides memory errors it checks what a result promises: a
 * found name is in the text, supplementary groups are bounded and distinct.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *nl = memchr(p, '\n', size), *pw, *gr, *nul;
	size_t plen, glen;
	char spec[300];
	struct mc_err err = { 0 };
	struct rt_user u;
	struct rt_ident id;

	if (!nl || (size_t)(nl - p) >= sizeof(spec))
		return 0;
	memcpy(spec, p, (size_t)(nl - p));
	spec[nl - p] = '\0';
	pw = nl + 1;
	nul = memchr(pw, '\0', size - (size_t)(pw - p));
	plen = nul ? (size_t)(nul - pw) : size - (size_t)(pw - p);
	gr = nul ? nul + 1 : NULL;
	glen = gr ? size - (size_t)(gr - p) : 0;
	if (rt_user_resolve(spec, pw, plen, gr, glen, &u, &err) == 0) {
		if (u.n_groups > RT_USER_GROUPS_MAX)
			__builtin_trap();
		for (size_t i = 0; i < u.n_groups; i++)
			for (size_t k = i + 1; k < u.n_groups; k++)
				if (u.groups[i] == u.groups[k])
					__builtin_trap();
	} else if (!err.msg[0]) {
		__builtin_trap(); /* every failure explains itself */
	}
	if (rt_idfile_find(pw, plen, true, spec, 0, &id) == 0 &&
	    (!id.name[0] || strcmp(id.name, spec) || id.id == UINT32_MAX))
		__builtin_trap();
	return 0;
}
