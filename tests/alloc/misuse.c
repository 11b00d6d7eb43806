/* SPDX-License-Identifier: MIT */
/*
 * Misuses the allocator on purpose (argv[1] names how) after printing the pointer it
 * misuses on stdout; check.sh runs it with MCMALLOC_CHECK=1 and expects an abort
 * whose message names that pointer. Also a few correct runs check.sh reads the output
 * of (ok, threshold, decommit).
 */
#include <mc/malloc.h>

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static long rss_kib(void)
{
	long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* process_madvise(2) (440 on every architecture) fails with ENOSYS from here on. */
static int refuse_process_madvise(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 440, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("misuse: seccomp");
		return -1;
	}
	return 0;
}

/*
 * 96 MiB of 64-byte objects (slab pages) and 96 MiB of 192 KiB blocks (arena blocks),
 * written, freed, trimmed: prints RSS at the peak and after. Freed pages go back in
 * batches (process_madvise) or, where that call fails, one madvise per range.
 */
static int decommit(void)
{
	enum {
		NSMALL = 96 << 14,
		NBIG = 512
	};
	static char *small[NSMALL], *big[NBIG];

	for (int i = 0; i < NSMALL; i++) {
		small[i] = mc_malloc(64);
		if (!small[i])
			return 1;
		memset(small[i], 1, 64);
	}
	for (int i = 0; i < NBIG; i++) {
		big[i] = mc_malloc(192 << 10);
		if (!big[i])
			return 1;
		memset(big[i], 1, 192 << 10);
	}
	long peak = rss_kib();
	for (int i = 0; i < NSMALL; i++)
		mc_free(small[i]);
	for (int i = 0; i < NBIG; i++)
		mc_free(big[i]);
	mc_malloc_trim(0);
	printf("peak %ld after %ld\n", peak, rss_kib());
	return 0;
}

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
	} else if (!strcmp(how, "decommit")) {
		if (argc > 2 && !strcmp(argv[2], "madvise") && refuse_process_madvise())
			return 1;
		return decommit();
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
