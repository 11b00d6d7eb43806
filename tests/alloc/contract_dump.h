/* SPDX-License-Identifier: MIT */
/*
 * The contract's block-map case: splitting and coalescing seen through the dump.
 */
/* Part of contract.h, included by it after the helpers; not a header of its own. */

/* Runs mc_malloc_dump into a memfd and returns its text (plain mmap, not malloc). */
static char *dump_text(void)
{
	int fd = memfd_create("dump", MFD_CLOEXEC);
	if (fd < 0 || DUMP(fd) != 0)
		return NULL;
	off_t n = lseek(fd, 0, SEEK_END);
	char *t = mmap(NULL, (size_t)n + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	return t == MAP_FAILED ? NULL : t;
}

/* The dump line of the block whose header is at hdr, or NULL. */
static bool dump_block(const char *t, const void *hdr, size_t *size, char *state)
{
	char key[64];

	snprintf(key, sizeof(key), "[BLOCK %p: ", hdr);
	const char *l = strstr(t, key);
	if (!l)
		return false;
	unsigned long long sz;
	char st[8];
	if (sscanf(l + strlen(key), "%llu bytes %7[A-Z]]", &sz, st) != 2)
		return false;
	*size = (size_t)sz;
	strcpy(state, st);
	return true;
}

struct dump_result {
	int step;
	char why[200];
};

#define DCHECK(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			snprintf(r->why, sizeof(r->why), __VA_ARGS__);                             \
			return r;                                                                  \
		}                                                                                  \
	} while (0)

/* In a new thread, which gets an arena of its own, so the layout is predictable. */
static void *dump_scenario(void *arg)
{
	struct dump_result *r = arg;
	const size_t S = 20000;
	size_t sz, sz2;
	char st[8], *t;

	char *a = M(malloc)(S), *b = M(malloc)(S), *c = M(malloc)(S), *g = M(malloc)(S);
	DCHECK(a && b && c && g, "malloc failed");
	char *ha = a - 16, *hb = b - 16, *hc = c - 16;
	r->step = 1;
	t = dump_text();
	DCHECK(t, "dump failed");
	DCHECK(dump_block(t, ha, &sz, st) && !strcmp(st, "USED"), "a not USED in dump");
	DCHECK(hb == ha + sz && hc == hb + sz, "a, b, c not adjacent (%zu)", sz);
	DCHECK(strstr(t, "summary: heap size "), "no summary");
	DCHECK(strstr(t, "largest free block"), "no largest free block");
	DCHECK(strstr(t, "fragmentation"), "no fragmentation");

	/* Coalescing: a and b merge into one free block; b's header disappears. */
	r->step = 2;
	M(free)(a);
	M(free)(b);
	t = dump_text();
	DCHECK(dump_block(t, ha, &sz2, st) && !strcmp(st, "FREE"), "a not FREE");
	DCHECK(sz2 == 2 * sz, "a+b not coalesced: %zu", sz2);
	DCHECK(!dump_block(t, hb, &sz2, st), "b still listed after coalescing");
	/* ... and with c on the other side as well. */
	M(free)(c);
	t = dump_text();
	DCHECK(dump_block(t, ha, &sz2, st) && !strcmp(st, "FREE") && sz2 == 3 * sz,
	       "a+b+c not one block (%zu)", sz2);

	/* Splitting: a small request takes the front of the free block, the rest stays free. */
	r->step = 3;
	char *p = M(malloc)(10000);
	DCHECK(p == a, "10000 bytes not placed in the free block (%p vs %p)", (void *)p, (void *)a);
	size_t head = M(malloc_usable_size)(p) + 16;
	DCHECK(head < 10100, "no split: head block is %zu bytes", head);
	t = dump_text();
	DCHECK(dump_block(t, ha, &sz2, st) && !strcmp(st, "USED") && sz2 == head,
	       "split head wrong (%zu %s)", sz2, st);
	DCHECK(dump_block(t, ha + head, &sz2, st) && !strcmp(st, "FREE") && sz2 == 3 * sz - head,
	       "split tail wrong (%zu %s)", sz2, st);
	M(free)(p);
	M(free)(g);
	r->step = 4;
	return r;
}

TEST(dump_shows_split_and_coalesce)
{
	struct dump_result r = { 0 };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, dump_scenario, &r));
	ASSERT_EQ(0, pthread_join(t, NULL));
	if (r.step != 4)
		TH_LOG("step %d: %s", r.step, r.why);
	ASSERT_EQ(4, r.step);
}
