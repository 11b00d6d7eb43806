/* SPDX-License-Identifier: MIT */
/*
 * Internal interface between the layers of libmcmalloc:
 *   os.c    syscalls, locks, options, message formatting (no malloc, no stdio)
 *   block.c boundary-tag arenas on brk and mmap segments
 *   large.c blocks with a mapping of their own, the adaptive mmap threshold
 *   slab.c  size classes, 64 KiB slab pages, per-thread heaps, cross-thread frees
 *   api.c   the malloc family, start-up, fork and thread exit
 *   dump.c  the block map and the counters
 */
#ifndef MCM_INTERNAL_H
#define MCM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define MCM_ALIGN 16
#define MCM_OS_PAGE 4096

/* ---- os.c ---------------------------------------------------------------- */

/*
 * A futex mutex (0 free, 1 locked, 2 locked with waiters). A few spins first: the
 * critical sections are short and mostly uncontended.
 */
struct mcm_lock {
	int v;
};
void mcm_lock_slow(struct mcm_lock *l);
void mcm_unlock_wake(struct mcm_lock *l);

/* The uncontended case inline: a call each way was ~10% of a big malloc + free. */
static inline void mcm_lock(struct mcm_lock *l)
{
	int c = 0;

	if (likely(__atomic_compare_exchange_n(&l->v, &c, 1, false, __ATOMIC_ACQUIRE,
					       __ATOMIC_RELAXED)))
		return;
	mcm_lock_slow(l);
}

static inline void mcm_unlock(struct mcm_lock *l)
{
	/* Release: everything written under the lock is visible to the next owner. */
	if (unlikely(__atomic_exchange_n(&l->v, 0, __ATOMIC_RELEASE) == 2))
		mcm_unlock_wake(l);
}

void *mcm_os_map(size_t len);
void *mcm_os_reserve(size_t len);
int mcm_os_commit(void *p, size_t len);
void mcm_os_unmap(void *p, size_t len);
void mcm_os_decommit(void *p, size_t len);

/*
 * Ranges to decommit, given back together: one process_madvise(2) call on the process
 * itself (Linux 6.13+) instead of a madvise per range. In a process whose threads run
 * on several CPUs every madvise(MADV_DONTNEED) ends in a TLB-shootdown IPI to the
 * others; a batch sends one. Adjacent ranges merge. Older kernels (or a seccomp filter
 * that refuses the call) get the madvise loop.
 */
#define MCM_DECOMMIT_BATCH 32
struct mcm_decommit {
	unsigned n;
	struct {
		void *base;
		size_t len;
	} r[MCM_DECOMMIT_BATCH]; /* laid out as struct iovec */
};
/* Queues [p, p+len); flushes first if the batch is full. */
void mcm_os_decommit_add(struct mcm_decommit *d, void *p, size_t len);
/* Gives back what is queued; the ranges must stay unused until this returns. */
void mcm_os_decommit_flush(struct mcm_decommit *d);
int mcm_os_ncpu(void);
/* Monotonic milliseconds (coarse). */
uint64_t mcm_os_now_ms(void);

struct mcm_options {
	bool check;		/* MCMALLOC_CHECK=1 */
	bool stats;		/* MCMALLOC_STATS=1 */
	bool small;		/* MCMALLOC_SMALL=0 turns the size classes off */
	const char *dump;	/* MCMALLOC_DUMP=FILE ("%p" becomes the pid) */
	size_t mmap_threshold;	/* MCMALLOC_MMAP_THRESHOLD; adapts upwards unless set */
	size_t trim_threshold;	/* MCMALLOC_TRIM_THRESHOLD; adapts with the above unless set */
	bool threshold_fixed;	/* either threshold was set: no adaptation */
	size_t large_cache_max; /* bytes of freed large mappings kept for reuse */
};
extern struct mcm_options mcm_opt;
#define MCM_OPTIONS_DEFAULT                                                                        \
	{                                                                                          \
		.small = true, .mmap_threshold = 256 << 10, .trim_threshold = 1 << 20,             \
		.large_cache_max = 32 << 20,                                                       \
	}
/* Reads MCMALLOC_* from environ into mcm_opt; a bad value: one line on stderr, exit 127. */
void mcm_options_read(void);

/* ---- options.c ---- */

struct mcm_opt_error {
	const char *name;  /* the variable */
	const char *value; /* its value, pointing into envp */
	const char *why;   /* a static string */
};
/*
 * Applies the MCMALLOC_* assignments of envp (NULL-terminated "NAME=value" strings; the
 * first of each name counts, others are ignored) to o. Returns 0, or -EINVAL with e
 * filled in for the first bad value (o then partly updated). envp may be NULL. Pure:
 * no allocation, no output, no globals, so it is also what the fuzzer calls.
 */
int mcm_options_parse(struct mcm_options *o, const char *const *envp, struct mcm_opt_error *e);

/* A fixed buffer that formats into itself and flushes with write(2). */
struct mcm_out {
	int fd;
	int err;
	size_t len;
	char buf[2048];
};
void mcm_out_init(struct mcm_out *o, int fd);
void mcm_out_str(struct mcm_out *o, const char *s);
void mcm_out_u64(struct mcm_out *o, uint64_t v);
void mcm_out_hex(struct mcm_out *o, uint64_t v);
/* v as "12.3 MiB"-style text for summaries. */
void mcm_out_size(struct mcm_out *o, uint64_t v);
int mcm_out_flush(struct mcm_out *o);

/* Writes "mcmalloc: WHAT 0xPTR: WHY" to stderr and aborts. */
__attribute__((noreturn)) void mcm_die(const char *what, const void *ptr, const char *why);

/* ---- block.c: boundary-tag heaps ------------------------------------------- */

/*
 * Every block of an arena starts with this 16-byte header; the payload follows and
 * is 16-byte aligned because headers and sizes are. Sizes are in 16-byte units,
 * header included, so one u32 covers 64 GiB (segments are far smaller).
 *
 *   ... | prev_units | units | arena | flags | check | payload ...... | next header
 *
 * prev_units is the boundary tag: written by the previous block when it becomes
 * free, read only when PINUSE is clear, which is what makes coalescing O(1) in both
 * directions. check folds the header's own address and fields together (mcm_hdr_check): a header that
 * was overwritten, or a pointer that was never ours, fails it.
 */
struct mcm_block {
	uint32_t prev_units;
	uint32_t units;
	uint16_t arena;
	uint16_t flags;
	uint32_t check;
};

#define MCM_B_INUSE 0x1u  /* this block is allocated */
#define MCM_B_PINUSE 0x2u /* the previous block is allocated (or this one is first) */
#define MCM_B_FIRST 0x4u  /* first block of its segment */
#define MCM_B_FENCE 0x8u  /* end-of-segment marker, never freed, never merged */
#define MCM_B_MMAP 0x10u  /* a large block with its own mapping */
/* Free blocks only, cleared whenever a free block is reshaped (merge, split): */
#define MCM_B_AGED 0x20u  /* already free at the previous sweep */
#define MCM_B_DECOM 0x40u /* interior given back (MADV_DONTNEED) since it became free */
/*
 * The next block is its segment's fence. Mapped segments only (never in an arena with
 * a brk heap, whose top code reads the fence's tag): there the fence's prev_units and
 * PINUSE are left stale, so the block at the end of a segment, which a thread's big
 * blocks split and merge all the time, never touches the fence's far-away page.
 */
#define MCM_B_LAST 0x80u

/* A free block: the bin links live in its payload. */
struct mcm_fblock {
	struct mcm_block h;
	struct mcm_fblock *fd, *bk;
};

#define MCM_MIN_BLOCK 32u /* header + two links */

/*
 * Bins: four per power of two from 32 bytes, so a bin's sizes differ by < 25%, up to
 * 16 MiB; the last bin holds every free block of 16 MiB or more. Those are the free
 * ends of 32 MiB segments that a thread's big blocks are carved from and merged back
 * into; with finer bins nearly every such malloc and free moved that end to another
 * bin (remove + insert); in one bin it just takes the old block's place.
 */
#define MCM_NBINS 77

/*
 * A segment: one mmap (or the brk heap, started on a 64-byte boundary) carved into
 * blocks.
 *
 *   seg: | struct mcm_segment (48) | pad (1072) | block | block | ... | fence (16) |
 *
 * The first block is where a thread's big blocks come and go, and a program walking
 * a big block's pages at a power-of-two stride fills the cache set of the payload's
 * first line (64 KiB stride: one L1 and one L2 set). With the payload at the start of
 * a page, that set is the one of every page-aligned structure's first lines (stack
 * frames near a page edge, TLS, arenas, .data): cachegrind counted 2 extra read misses
 * per free in the large-block workload (lock_block's read of a global, the program's
 * own stack), 39.8k vs glibc's 1.3k; at byte 1136 of the page, 1.6k. The header is
 * then 16 bytes before the payload in the same line, so free() reads a line the
 * program just used. Costs 1 KiB per 32 MiB segment.
 */
struct mcm_segment {
	struct mcm_segment *next, *prev;
	size_t size;
	struct mcm_arena *arena;
	uint32_t is_brk;
	uint32_t pad[3];
};
#define MCM_SEG_HDR 1120

/* Invariant: lock held for every field below it. */
struct mcm_arena {
	struct mcm_lock lock;
	uint16_t index;
	bool used;
	struct mcm_segment *segs;
	struct mcm_segment *spare; /* one wholly free segment kept against map/unmap churn */
	struct mcm_segment *brk;   /* arena 0 only: the brk heap, NULL if brk failed */
	uint64_t binmap[(MCM_NBINS + 63) / 64];
	struct mcm_fblock *bins[MCM_NBINS];
	/*
	 * A range known to be decommitted since nothing was allocated over it: the sweep
	 * skips giving it back again (the tail of a big segment, swept over and over).
	 */
	uintptr_t clean_lo, clean_hi;
	size_t mapped; /* bytes of segments including the brk heap */
	size_t in_use; /* bytes of allocated blocks, headers included */
	size_t freed;  /* bytes freed since the last sweep */
	uint64_t n_grow, n_trim;
	/*
	 * Cache-line aligned: arenas sit side by side, and the counters at the end of one
	 * shared a line with the lock of the next, so two threads on their own arenas
	 * still bounced that line on every big malloc and free.
	 */
} __attribute__((aligned(64)));

#define MCM_MAX_ARENAS 64
extern struct mcm_arena mcm_arenas[MCM_MAX_ARENAS];
extern int mcm_narenas;

/* The adaptive mmap threshold stops here (glibc's DEFAULT_MMAP_THRESHOLD_MAX). */
#define MCM_THRESHOLD_MAX (32ul << 20)

/* Both thresholds move at run time (mcm_large_free): read them relaxed. */
static inline size_t mcm_mmap_threshold(void)
{
	return __atomic_load_n(&mcm_opt.mmap_threshold, __ATOMIC_RELAXED);
}

static inline size_t mcm_trim_threshold(void)
{
	return __atomic_load_n(&mcm_opt.trim_threshold, __ATOMIC_RELAXED);
}

/*
 * The header check: the header's address, units, arena and flags folded together with
 * xors and one rotation, plus a constant. A pointer that was never ours (its "header"
 * is whatever precedes it), a header overwritten by an overflow (fills, copies of
 * another header, zeroes, pointers) or a block freed twice after its header was reused
 * fails it but for a 2^-32 chance. It was a multiply-and-fold hash; it is computed
 * ~8 times per big malloc + free, and the hash's loads and multiply made it ~90
 * instructions per pair in the large-block workload (callgrind), about the whole gap
 * to glibc. The rotation keeps an arena or flag bit from cancelling the same bit of
 * units.
 */
static inline uint32_t mcm_hdr_check(const struct mcm_block *b, uint32_t units, uint16_t arena,
				     uint16_t flags)
{
	uint32_t af = (uint32_t)arena | (uint32_t)flags << 16;

	return (uint32_t)((uintptr_t)b >> 4) ^ units ^ ((af << 11) | (af >> 21)) ^ 0xa110c8edu;
}

static inline uint32_t mcm_block_hash(const struct mcm_block *b)
{
	return mcm_hdr_check(b, b->units, b->arena, b->flags);
}

static inline void mcm_hdr_set(struct mcm_block *b, uint32_t units, uint16_t flags)
{
	b->units = units;
	b->flags = flags;
	b->check = mcm_hdr_check(b, units, b->arena, flags);
}

static inline void mcm_hdr_flags(struct mcm_block *b, uint16_t flags)
{
	b->flags = flags;
	b->check = mcm_hdr_check(b, b->units, b->arena, flags);
}

static inline struct mcm_block *mcm_blk_of(const void *p)
{
	return (struct mcm_block *)((char *)p - sizeof(struct mcm_block));
}

void mcm_block_init(void);
void *mcm_block_alloc(struct mcm_arena *a, size_t size);
void *mcm_block_calloc(struct mcm_arena *a, size_t size);
void *mcm_block_alloc_aligned(struct mcm_arena *a, size_t align, size_t size);
void mcm_block_free(void *p);
/* Grows or shrinks in place; returns p, or NULL if the caller must move it. */
void *mcm_block_resize(void *p, size_t size);
size_t mcm_block_usable(const void *p);
int mcm_block_trim(size_t pad);
/*
 * The arena's thread exited: sweep it now, keeping 128 KiB of free pages resident if
 * `purge`, else the running budget (one mmap threshold).
 */
void mcm_block_arena_idle(struct mcm_arena *a, bool purge);
void mcm_block_fork_prepare(void);
void mcm_block_fork_parent(void);
void mcm_block_fork_child(void);

/* Large blocks: the header of a mapping sits just before its block header. */
struct mcm_large {
	struct mcm_large *next, *prev;
	void *map;
	size_t maplen;
	size_t peak; /* the largest maplen it had (realloc shrinks it with mremap) */
};
struct mcm_large_stats {
	size_t n, bytes, cached_n, cached_bytes;
	uint64_t n_map, n_unmap, n_reuse;
};
void mcm_large_stats(struct mcm_large_stats *s);
extern struct mcm_large *mcm_large_list;
extern struct mcm_lock mcm_large_lock;

/* ---- large.c: blocks with a mapping of their own ---- */

/* align >= 16; *fresh (if not NULL) says whether the mapping is new, i.e. zero. */
void *mcm_large_alloc(size_t size, size_t align, bool *fresh);
/* b is a validated MMAP block; raises the adaptive thresholds. */
void mcm_large_free(struct mcm_block *b);
/* Resizes with mremap; NULL if the caller must move the block. */
void *mcm_large_resize(struct mcm_block *b, size_t size);
/* Unmaps the cache of freed mappings; 1 if anything went. */
int mcm_large_trim(void);

/* ---- slab.c: size classes and thread heaps ---------------------------------- */

#define MCM_PAGE_SHIFT 16
#define MCM_PAGE_SIZE (1ul << MCM_PAGE_SHIFT)
#define MCM_PAGE_HDR 128
#define MCM_NCLASS 32
#define MCM_SMALL_MAX 8192

/*
 * A slab page: 64 KiB, aligned, in the reserved slab region, holding objects of one
 * size class after this 128-byte header. The owner heap alone touches the first
 * cache line; other threads only push onto thread_free, on the second line.
 * Invariant: used counts objects handed out and not yet back on `free` (objects on
 * thread_free are still counted); the page is released only when used == 0.
 */
struct mcm_page {
	void *free;		      /* owner: free objects, linked through their first word */
	char *bump, *end;	      /* owner: the never-used tail */
	struct mcm_page *next, *prev; /* owner: in avail[] or full[] of the heap */
	struct mcm_heap *owner;	      /* NULL when abandoned; read by any thread */
	uint32_t used;
	uint32_t size;
	uint8_t cls;
	uint8_t state; /* MCM_PG_* */
	uint8_t pad0[6];
	void *thread_free; /* other threads' frees, a lock-free stack */
	char pad2[56];
};

enum {
	MCM_PG_POOL,
	MCM_PG_CUR,
	MCM_PG_AVAIL,
	MCM_PG_FULL,
	MCM_PG_ABANDONED
};

/*
 * A thread's heap. cur[c] is never NULL (an empty sentinel page instead) so the fast
 * path is: load page, pop its free list. Counters are written by the owner only and
 * read racily (relaxed) by stats.
 */
struct mcm_heap {
	struct mcm_page *cur[MCM_NCLASS];
	struct mcm_page *avail[MCM_NCLASS];
	struct mcm_page *full[MCM_NCLASS];
	struct mcm_page *cache; /* empty pages kept for this heap */
	unsigned ncache;
	struct mcm_arena *arena;
	struct mcm_heap *next_all;
	bool live;
	uint64_t born_ms; /* when its thread took it (mcm_os_now_ms) */
	/* n_remote and bytes_remote: frees this thread made into other heaps' pages. */
	uint64_t n_alloc, n_free, n_remote, bytes_alloc, bytes_freed, bytes_remote;
	/*
	 * Atomic: frees into our full pages by other threads. On a line of its own: it
	 * shared one with n_alloc, which the owner writes on every malloc, and every
	 * remote free into a full page bounced that line between the two threads.
	 */
	int remote_hint __attribute__((aligned(64)));
} __attribute__((aligned(64)));

extern char *mcm_region;
extern size_t mcm_region_size;
extern __thread struct mcm_heap *mcm_tl_heap __attribute__((tls_model("initial-exec")));
extern struct mcm_heap mcm_empty_heap;

static inline bool mcm_in_slab(const void *p)
{
	return (uintptr_t)p - (uintptr_t)mcm_region < mcm_region_size;
}

static inline struct mcm_page *mcm_page_of(const void *p)
{
	return (struct mcm_page *)((uintptr_t)p & ~(MCM_PAGE_SIZE - 1));
}

extern const uint32_t mcm_class_size[MCM_NCLASS];

static inline unsigned mcm_size_class(size_t n)
{
	if (n <= 128)
		return n <= 16 ? 0 : (unsigned)((n - 1) >> 4);
	/* Four classes per power of two above 128: 160 192 224 256 320 ... 8192. */
	unsigned b = 63 - (unsigned)__builtin_clzl(n - 1); /* 2^b < n <= 2^(b+1) */
	return 8 + (b - 7) * 4 + (unsigned)(((n - 1) >> (b - 2)) & 3);
}

void mcm_slab_init(void);
struct mcm_heap *mcm_heap_get(void);
void *mcm_slab_alloc_slow(struct mcm_heap *h, unsigned cls);
void mcm_slab_free_slow(struct mcm_heap *h, struct mcm_page *pg);
void mcm_slab_free_remote(struct mcm_heap *h, struct mcm_page *pg, void *p);
void mcm_heap_abandon(struct mcm_heap *h);
int mcm_slab_trim(void);
void mcm_slab_fork_prepare(void);
void mcm_slab_fork_parent(void);
void mcm_slab_fork_child(void);

struct mcm_slab_stats {
	uint64_t n_alloc, n_free, n_remote, bytes_alloc, bytes_freed;
	size_t pages_total, pages_pool, pages_abandoned, heaps;
	size_t committed;
};
void mcm_slab_stats(struct mcm_slab_stats *s);
/* End of the part of the region ever handed out as pages. */
char *mcm_slab_end(void);
extern struct mcm_heap *mcm_heaps;
extern struct mcm_lock mcm_heaps_lock;

#define MCM_FREED_MAGIC 0xdeadf4ee5a1100c5ull

void mcm_dump_fork_prepare(void);
void mcm_dump_fork_parent(void);
void mcm_dump_fork_child(void);

/* ---- api.c ---------------------------------------------------------------- */

void mcm_init_slow(void);
/* Registers h for the thread-exit hook; false if this thread is already exiting. */
bool mcm_thread_attach(struct mcm_heap *h);
bool mcm_thread_dying(void);
extern int mcm_ready;

static inline void mcm_init(void)
{
	if (unlikely(!__atomic_load_n(&mcm_ready, __ATOMIC_ACQUIRE)))
		mcm_init_slow();
}

#endif
