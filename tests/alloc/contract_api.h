/* SPDX-License-Identifier: MIT */
/*
 * The contract's API cases: alignment and usable size, malloc(0), overflow, calloc,
 * realloc (content, in place), the aligned family, mallinfo2/malloc_trim, and random
 * operations in one thread with every block's content verified.
 */
/* Part of contract.h, included by it after the helpers; not a header of its own. */

TEST(malloc_alignment_and_usable_size)
{
	static const size_t sizes[] = { 0,     1,      7,      15,     16,	17,	24,   100,
					128,   129,    1000,   4096,   8191,	8192,	8193, 20000,
					65536, 200000, 262144, 300000, 1 << 20, 5 << 20 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		char *p = M(malloc)(n);
		ASSERT_NONNULL(p);
		ASSERT_EQ(0, (uintptr_t)p % 16);
		size_t u = M(malloc_usable_size)(p);
		ASSERT_GE(u, n);
		/* Usable means usable: the whole reported size can be written. */
		memset(p, 0xab, u);
		M(free)(p);
	}
	ASSERT_EQ(0, M(malloc_usable_size)(NULL));
}

TEST(malloc_zero_is_unique)
{
	void *a = M(malloc)(0), *b = M(malloc)(0);

	ASSERT_NONNULL(a);
	ASSERT_NONNULL(b);
	ASSERT_NE(a, b);
	M(free)(a);
	M(free)(b);
	M(free)(NULL);
}

TEST(overflow_is_enomem)
{
	errno = 0;
	ASSERT_NULL(M(malloc)(opaque(SIZE_MAX)));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_NULL(M(malloc)(opaque(SIZE_MAX / 2 + 1)));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_NULL(M(calloc)(opaque(SIZE_MAX / 2), 3));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_NULL(M(calloc)(opaque((size_t)1 << 33), (size_t)1 << 33));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_NULL(M(reallocarray)(NULL, opaque(SIZE_MAX / 4), 8));
	ASSERT_EQ(ENOMEM, errno);
	void *p = M(malloc)(100);
	ASSERT_NONNULL(p);
	errno = 0;
	ASSERT_NULL(M(realloc)(p, opaque(SIZE_MAX - 8)));
	ASSERT_EQ(ENOMEM, errno);
	/* A failed realloc leaves the block alone. */
	M(free)(p);
	errno = 0;
	ASSERT_NULL(M(aligned_alloc)(64, opaque(SIZE_MAX - 32)));
	ASSERT_EQ(ENOMEM, errno);
	void *q = NULL;
	ASSERT_EQ(ENOMEM, M(posix_memalign)(&q, 4096, opaque(SIZE_MAX - 100)));
	ASSERT_NULL(q);
	errno = 0;
	ASSERT_NULL(M(pvalloc)(opaque(SIZE_MAX - 10)));
	ASSERT_EQ(ENOMEM, errno);
}

TEST(calloc_zero_fills_recycled_memory)
{
	static const size_t sizes[] = { 1, 16, 100, 1000, 8000, 20000, 100000, 300000, 3 << 20 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		/* Dirty a block of the same size first so calloc is likely to reuse it. */
		for (int k = 0; k < 4; k++) {
			char *d = M(malloc)(n);
			ASSERT_NONNULL(d);
			memset(d, 0x5a, n);
			M(free)(d);
		}
		unsigned char *p = M(calloc)(n, 1);
		ASSERT_NONNULL(p);
		for (size_t j = 0; j < n; j++)
			ASSERT_EQ(0, p[j]);
		M(free)(p);
	}
	void *z = M(calloc)(0, 10);
	ASSERT_NONNULL(z);
	M(free)(z);
}

TEST(realloc_keeps_content)
{
	uint64_t seed = th_seed();
	size_t n = 1;
	char *p = M(malloc)(n);

	ASSERT_NONNULL(p);
	fill(p, n, seed);
	/* Grow through every path (classes, arena blocks, own mappings), then shrink. */
	while (n < (4 << 20)) {
		size_t m = n * 3 / 2 + 1;
		p = M(realloc)(p, m);
		ASSERT_NONNULL(p);
		ASSERT_EQ(0, (uintptr_t)p % 16);
		ASSERT_TRUE(verify(p, n, seed));
		fill(p, m, seed);
		n = m;
	}
	while (n > 1) {
		size_t m = n / 3;
		p = M(realloc)(p, m);
		ASSERT_NONNULL(p);
		ASSERT_TRUE(verify(p, m, seed));
		n = m;
	}
	M(free)(p);
	/* realloc(NULL, n) is malloc; realloc(p, 0) frees and returns NULL. */
	p = M(realloc)(NULL, 50);
	ASSERT_NONNULL(p);
	ASSERT_NULL(M(realloc)(p, 0));
}

TEST(realloc_in_place)
{
	/* Shrinking an arena block keeps it where it is. */
	char *p = M(malloc)(100000);
	ASSERT_NONNULL(p);
	fill(p, 100000, 7);
	char *q = M(realloc)(p, 30000);
	ASSERT_EQ(p, q);
	ASSERT_TRUE(verify(q, 30000, 7));
	/* Growing back into the space it just gave up, which nothing else took. */
	char *r = M(realloc)(q, 90000);
	ASSERT_EQ(q, r);
	ASSERT_TRUE(verify(r, 30000, 7));
	M(free)(r);
	/* Within a size class: the same object. */
	p = M(malloc)(100);
	ASSERT_EQ(p, M(realloc)(p, 110));
	M(free)(p);
}

TEST(aligned_allocations)
{
	for (size_t al = 1; al <= (1 << 22); al <<= 1) {
		static const size_t mult[] = { 0, 1, 2, 3 };
		for (size_t k = 0; k < 4; k++) {
			/* size == alignment included: the case Debian's mimalloc 2.0.9 gets wrong. */
			size_t n = al * mult[k] + (k == 0 ? 1 : 0);
			void *p = M(aligned_alloc)(al, n);
			ASSERT_NONNULL(p);
			ASSERT_EQ(0, (uintptr_t)p % al);
			ASSERT_EQ(0, (uintptr_t)p % 16);
			ASSERT_GE(M(malloc_usable_size)(p), n);
			memset(p, 1, n);
			M(free)(p);

			void *q = NULL;
			if (al >= sizeof(void *)) {
				ASSERT_EQ(0, M(posix_memalign)(&q, al, n));
				ASSERT_EQ(0, (uintptr_t)q % al);
				memset(q, 2, n);
				M(free)(q);
			}
			q = M(memalign)(al, n);
			ASSERT_NONNULL(q);
			ASSERT_EQ(0, (uintptr_t)q % al);
			M(free)(q);
		}
	}
	void *q = (void *)1;
	ASSERT_EQ(EINVAL, M(posix_memalign)(&q, 24, 10));
	ASSERT_EQ(EINVAL, M(posix_memalign)(&q, 0, 10));
	ASSERT_EQ(EINVAL, M(posix_memalign)(&q, 2, 10));
	ASSERT_EQ((void *)1, q);
	errno = 0;
	ASSERT_NULL(M(aligned_alloc)(48, 96));
	ASSERT_EQ(EINVAL, errno);
	/* memalign rounds a non-power-of-two alignment up. */
	q = M(memalign)(48, 100);
	ASSERT_NONNULL(q);
	ASSERT_EQ(0, (uintptr_t)q % 64);
	M(free)(q);
	q = M(valloc)(10);
	ASSERT_NONNULL(q);
	ASSERT_EQ(0, (uintptr_t)q % 4096);
	M(free)(q);
	q = M(pvalloc)(10);
	ASSERT_NONNULL(q);
	ASSERT_EQ(0, (uintptr_t)q % 4096);
	ASSERT_GE(M(malloc_usable_size)(q), 4096);
	M(free)(q);
}

TEST(mallinfo2_and_trim)
{
	void *p[64];

	for (int i = 0; i < 64; i++)
		ASSERT_NONNULL(p[i] = M(malloc)(50000));
	void *big = M(malloc)(2 << 20);
	ASSERT_NONNULL(big);
	struct mallinfo2 mi = M(mallinfo2)();
	ASSERT_GE(mi.uordblks, 64 * 50000);
	ASSERT_GE(mi.hblks, 1);
	ASSERT_GE(mi.hblkhd, 2 << 20);
	ASSERT_GE(mi.arena, 64 * 50000);
	for (int i = 0; i < 64; i++)
		M(free)(p[i]);
	M(free)(big);
	struct mallinfo2 after = M(mallinfo2)();
	ASSERT_LT(after.uordblks + 64 * 50000, mi.uordblks + 1);
	M(malloc_trim)(0);
}

/* ---- random operations, one thread ---- */

TEST(random_ops_verify_contents)
{
	uint64_t s = th_seed() | 1;
	enum {
		SLOTS = 2048
	};
	static char *slot[SLOTS];
	static size_t len[SLOTS];

	for (int op = 0; op < 200000; op++) {
		unsigned i = (unsigned)(rng_next(&s) % SLOTS);
		if (slot[i]) {
			ASSERT_TRUE(verify(slot[i], len[i], (uintptr_t)slot[i] ^ len[i]));
			if (rng_next(&s) % 3 == 0) {
				size_t n = rng_next(&s) % 3000;
				char *q = M(realloc)(slot[i], n);
				if (n) {
					ASSERT_NONNULL(q);
					ASSERT_TRUE(verify(q, n < len[i] ? n : len[i],
							   (uintptr_t)slot[i] ^ len[i]));
					slot[i] = q;
					len[i] = n;
					fill(q, n, (uintptr_t)q ^ n);
				} else {
					slot[i] = NULL;
				}
				continue;
			}
			M(free)(slot[i]);
			slot[i] = NULL;
		} else {
			uint64_t r = rng_next(&s);
			/* Mostly small, some arena-sized, a few mapped. */
			size_t n = r % 100 < 85 ? r % 512 : r % 100 < 98 ? r % 60000 : r % 600000;
			slot[i] = M(malloc)(n);
			ASSERT_NONNULL(slot[i]);
			ASSERT_EQ(0, (uintptr_t)slot[i] % 16);
			len[i] = n;
			fill(slot[i], n, (uintptr_t)slot[i] ^ n);
		}
	}
	for (int i = 0; i < SLOTS; i++)
		if (slot[i]) {
			ASSERT_TRUE(verify(slot[i], len[i], (uintptr_t)slot[i] ^ len[i]));
			M(free)(slot[i]);
		}
}
