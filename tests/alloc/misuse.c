/* SPDX-License-Identifier: MIT */
/*
 * Misuses the allocator on purpose (argv[1] names how) after printing the pointer it
 * misuses on stdout; check.sh runs it with MCMALLOC_CHECK=1 and expects an abort
 * whose message names that pointer.
 */
#include <mc/malloc.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "";
	char *p;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(how, "double-free-small") || !strcmp(how, "double-free-block")) {
		p = mc_malloc(how[12] == 's' ? 40 : 40000);
		printf("%p\n", (void *)p);
		mc_free(p);
		mc_free(p);
	} else if (!strcmp(how, "invalid-free-small")) {
		p = mc_malloc(64);
		printf("%p\n", (void *)(p + 16));
		mc_free(p + 16);
	} else if (!strcmp(how, "invalid-free-block")) {
		p = mc_malloc(40000);
		printf("%p\n", (void *)(p + 4096));
		mc_free(p + 4096);
	} else if (!strcmp(how, "overwrite-header")) {
		/* Writes past the end of p into the header of the block after it. */
		p = mc_malloc(40000);
		char *q = mc_malloc(40000);
		printf("%p\n", (void *)q);
		memset(p, 0x41, mc_malloc_usable_size(p) + 16);
		mc_free(q);
	} else if (!strcmp(how, "zero-header") || !strcmp(how, "copied-header")) {
		/*
		 * The 16-byte block header just before q zeroed, or replaced by p's (valid
		 * fields, valid check for p's address): the header check must fail at q.
		 */
		p = mc_malloc(40000);
		char *q = mc_malloc(40000);
		printf("%p\n", (void *)q);
		if (how[0] == 'z')
			memset(q - 16, 0, 16);
		else
			memcpy(q - 16, p - 16, 16);
		mc_free(q);
	} else if (!strcmp(how, "double-free-big")) {
		/* A 1 MiB block from an arena once the mmap threshold has adapted past it. */
		p = mc_malloc(1 << 20);
		mc_free(p);
		p = mc_malloc(1 << 20);
		printf("%p\n", (void *)p);
		mc_free(p);
		mc_free(p);
	} else if (!strcmp(how, "overflow-next")) {
		p = mc_malloc(40000);
		char *q = mc_malloc(40000);
		printf("%p\n", (void *)p);
		memset(p, 0x41, mc_malloc_usable_size(p) + 12);
		mc_free(p);
		(void)q;
	} else if (!strcmp(how, "threshold")) {
		/* Whether a 1 MiB block still gets its own mapping after one was freed. */
		p = mc_malloc(1 << 20);
		mc_free(p);
		p = mc_malloc(1 << 20);
		printf("mapped %zu\n", mc_mallinfo2().hblks);
		mc_free(p);
		return 0;
	} else if (!strcmp(how, "ok")) {
		p = mc_malloc(10);
		mc_free(p);
		printf("ok\n");
		return 0;
	} else {
		fprintf(stderr, "misuse: unknown mode `%s`\n", how);
		return 2;
	}
	printf("survived\n");
	return 0;
}
