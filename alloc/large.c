/* SPDX-License-Identifier: MIT */
/*
 * Large blocks: a mapping of their own for blocks at or above the mmap threshold, a
 * small cache of freed mappings, mremap for resizing, and the glibc-style adaptive
 * threshold that sends blocks of a size once freed here back to the arenas.
 */
#include "internal.h"

#include <errno.h>
#include <sys/mman.h>

/*
 * A large block's mapping:
 *   map: | ... | struct mcm_large (32) | struct mcm_block (16) | payload ... |
 * The payload is at map + 64 unless an alignment pushed it further.
 */
struct mcm_large *mcm_large_list;
struct mcm_lock mcm_large_lock;

#define LCACHE 16
/* A large block shrunk below this moves to the heaps instead of keeping a mapping. */
#define LARGE_SHRINK_MIN (64ul << 10)
static struct {
	void *map;
	size_t len;
} lcache[LCACHE];
static size_t lcache_bytes;
static struct mcm_large_stats lstats;

static void large_link(struct mcm_large *l)
{
	l->prev = NULL;
	l->next = mcm_large_list;
	if (l->next)
		l->next->prev = l;
	mcm_large_list = l;
}

static void large_unlink(struct mcm_large *l)
{
	if (l->next)
		l->next->prev = l->prev;
	if (l->prev)
		l->prev->next = l->next;
	else
		mcm_large_list = l->next;
}

void *mcm_large_alloc(size_t size, size_t align, bool *fresh)
{
	size_t need;
	void *map = NULL;

	if (align < 64)
		align = 64;
	if (__builtin_add_overflow(size, (align == 64 ? 64 : 64 + align) + 4095, &need)) {
		errno = ENOMEM;
		return NULL;
	}
	need &= ~4095ul;
	mcm_lock(&mcm_large_lock);
	if (align == 64) {
		for (int i = 0; i < LCACHE; i++) {
			if (lcache[i].map && lcache[i].len >= need &&
			    lcache[i].len - need <= need) {
				map = lcache[i].map;
				need = lcache[i].len;
				lcache[i].map = NULL;
				lcache_bytes -= need;
				lstats.cached_n--;
				lstats.n_reuse++;
				break;
			}
		}
	}
	mcm_unlock(&mcm_large_lock);
	if (fresh)
		*fresh = !map;
	if (!map) {
		map = mcm_os_map(need);
		if (!map) {
			errno = ENOMEM;
			return NULL;
		}
	}
	uintptr_t pay = ((uintptr_t)map + 64 + align - 1) & ~(align - 1);
	struct mcm_block *b = mcm_blk_of((void *)pay);
	struct mcm_large *l = (struct mcm_large *)((char *)b - sizeof(*l));
	l->map = map;
	l->maplen = need;
	l->peak = need;
	b->prev_units = 0;
	b->arena = 0;
	mcm_hdr_set(b, 0, MCM_B_MMAP | MCM_B_INUSE);
	mcm_lock(&mcm_large_lock);
	large_link(l);
	lstats.n++;
	lstats.bytes += need;
	lstats.n_map++;
	mcm_unlock(&mcm_large_lock);
	return (void *)pay;
}

void mcm_large_free(struct mcm_block *b)
{
	struct mcm_large *l = (struct mcm_large *)((char *)b - sizeof(*l));
	void *map = l->map;
	size_t len = l->maplen, peak = l->peak;

	mcm_hdr_flags(b, MCM_B_MMAP);
	/*
	 * A dynamic threshold like glibc's: a program that frees a block this big will
	 * likely ask for such blocks again, so serve them from the arenas from now on,
	 * where freed memory stays mapped and faulted in, instead of a fresh mapping each
	 * time. The trim threshold follows so the brk top is not given back between two of
	 * them. Unlike glibc, the size counted is the largest the block ever had (a realloc
	 * chain that grew it and shrank it again still says "blocks this big come back"),
	 * and the threshold goes to twice that: with exactly that size, each slightly
	 * bigger block takes another mapped round trip, and a mapped block alive beside
	 * the arena's retained free pages is what pushed peak RSS up.
	 */
	if (!mcm_opt.threshold_fixed && peak >= mcm_mmap_threshold() && peak <= MCM_THRESHOLD_MAX) {
		size_t t = peak * 2 < MCM_THRESHOLD_MAX ? peak * 2 : MCM_THRESHOLD_MAX;
		__atomic_store_n(&mcm_opt.mmap_threshold, t, __ATOMIC_RELAXED);
		__atomic_store_n(&mcm_opt.trim_threshold, 2 * t, __ATOMIC_RELAXED);
	}
	mcm_lock(&mcm_large_lock);
	large_unlink(l);
	lstats.n--;
	lstats.bytes -= len;
	lstats.n_unmap++;
	/* Only requests at or above the threshold come here: smaller mappings are dead weight. */
	size_t thr = mcm_mmap_threshold();
	for (int i = 0; i < LCACHE; i++) {
		if (lcache[i].map && lcache[i].len <= thr) {
			mcm_os_unmap(lcache[i].map, lcache[i].len);
			lcache_bytes -= lcache[i].len;
			lcache[i].map = NULL;
			lstats.cached_n--;
		}
	}
	if (len <= mcm_opt.large_cache_max / 2 && len > thr) {
		/* Keep it for reuse: evict the oldest until it fits the cache budget. */
		int slot = -1;
		for (int i = 0; i < LCACHE && lcache_bytes + len > mcm_opt.large_cache_max; i++) {
			if (lcache[i].map) {
				mcm_os_unmap(lcache[i].map, lcache[i].len);
				lcache_bytes -= lcache[i].len;
				lcache[i].map = NULL;
				lstats.cached_n--;
			}
		}
		for (int i = 0; i < LCACHE && slot < 0; i++)
			if (!lcache[i].map)
				slot = i;
		if (slot >= 0 && lcache_bytes + len <= mcm_opt.large_cache_max) {
			lcache[slot].map = map;
			lcache[slot].len = len;
			lcache_bytes += len;
			lstats.cached_n++;
			map = NULL;
		}
	}
	mcm_unlock(&mcm_large_lock);
	if (map)
		mcm_os_unmap(map, len);
}

void *mcm_large_resize(struct mcm_block *b, size_t size)
{
	struct mcm_large *l = (struct mcm_large *)((char *)b - sizeof(*l));
	size_t off = (size_t)((char *)(b + 1) - (char *)l->map);
	size_t need;

	if (__builtin_add_overflow(size, off + 4095, &need))
		return NULL;
	need &= ~4095ul;
	if (need == l->maplen)
		return b + 1;
	/*
	 * Shrink in place (mremap gives the tail back) while the block is still worth its
	 * own mapping: moving it to an arena would touch fresh arena pages while the old
	 * mapping is alive, which is what made realloc chains peak at twice glibc's RSS.
	 * Only a small remainder moves (the caller copies it to a heap).
	 */
	if (size < LARGE_SHRINK_MIN)
		return NULL;
	size_t oldlen = l->maplen;
	mcm_lock(&mcm_large_lock);
	large_unlink(l);
	void *nm = mremap(l->map, l->maplen, need, MREMAP_MAYMOVE);
	if (nm == MAP_FAILED) {
		large_link(l);
		mcm_unlock(&mcm_large_lock);
		return NULL;
	}
	lstats.bytes += need - oldlen;
	struct mcm_block *nb = (struct mcm_block *)((char *)nm + off - 16);
	struct mcm_large *nl = (struct mcm_large *)((char *)nb - sizeof(*nl));
	nl->map = nm;
	nl->maplen = need;
	if (nl->peak < need)
		nl->peak = need;
	mcm_hdr_set(nb, 0, MCM_B_MMAP | MCM_B_INUSE);
	large_link(nl);
	mcm_unlock(&mcm_large_lock);
	return nb + 1;
}

void mcm_large_stats(struct mcm_large_stats *s)
{
	mcm_lock(&mcm_large_lock);
	*s = lstats;
	s->cached_bytes = lcache_bytes;
	mcm_unlock(&mcm_large_lock);
}

int mcm_large_trim(void)
{
	int released = 0;

	mcm_lock(&mcm_large_lock);
	for (int i = 0; i < LCACHE; i++) {
		if (lcache[i].map) {
			mcm_os_unmap(lcache[i].map, lcache[i].len);
			lcache[i].map = NULL;
			released = 1;
		}
	}
	lcache_bytes = 0;
	lstats.cached_n = 0;
	mcm_unlock(&mcm_large_lock);
	return released;
}
