/* SPDX-License-Identifier: MIT */
/*
 * fuzz_object.c: libFuzzer target for the object parsers: loose object files (zlib +
 * header), tree entries, commits and deltas. Found bugs are crashes, leaks or
 * sanitizer reports; wrong answers on valid objects are caught by the unit tests.
 */
#include "../internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum mc_git_type t;
	void *obj = NULL;
	size_t len, pos = 0;
	char why[200];
	struct mc_git_tree_entry e;
	struct mc_git_commit c;
	uint8_t *res = NULL;

	/* As a loose object file; what it holds is then parsed as its type says. */
	if (git_loose_parse(data, size, 1 << 20, &t, &obj, &len, why, sizeof(why)) == 0) {
		if (t == MC_GIT_TREE)
			while (mc_git_tree_next(obj, len, &pos, &e) > 0)
				;
		else if (t == MC_GIT_COMMIT && mc_git_commit_parse(obj, len, &c) == 0)
			mc_git_commit_release(&c);
		free(obj);
	}
	/* As raw object bodies. */
	pos = 0;
	while (mc_git_tree_next(data, size, &pos, &e) > 0)
		;
	if (mc_git_commit_parse(data, size, &c) == 0)
		mc_git_commit_release(&c);
	/* As a delta: the first byte splits base and delta. */
	if (size > 1) {
		size_t split = 1 + (size_t)data[0] % (size - 1);

		if (git_delta_apply(data + 1, split - 1, data + split, size - split, 1 << 20, &res,
				    &len, why, sizeof(why)) == 0)
			free(res);
	}
	return 0;
}
