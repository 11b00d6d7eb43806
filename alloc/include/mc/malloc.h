/* SPDX-License-Identifier: MIT */
/*
 * libmcmalloc: a thread-safe general-purpose allocator. Preloaded, it replaces the
 * glibc malloc family; the mc_* names below are the same entry points under our own
 * prefix, for programs that link the library without overriding malloc.
 */
#ifndef MC_MALLOC_H
#define MC_MALLOC_H

#include <malloc.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The allocation API. Semantics are glibc's: every pointer is aligned to 16 bytes
 * (max_align_t), size 0 returns a unique pointer, overflow and exhaustion return NULL
 * with errno = ENOMEM, realloc(p, 0) frees p and returns NULL. All calls are
 * thread-safe and async-signal-unsafe.
 */
void *mc_malloc(size_t size);
void mc_free(void *ptr);
void *mc_calloc(size_t nmemb, size_t size);
void *mc_realloc(void *ptr, size_t size);
void *mc_reallocarray(void *ptr, size_t nmemb, size_t size);
/* Returns 0, EINVAL (alignment not a power of two multiple of sizeof(void *)) or ENOMEM. */
int mc_posix_memalign(void **out, size_t alignment, size_t size);
void *mc_aligned_alloc(size_t alignment, size_t size);
void *mc_memalign(size_t alignment, size_t size);
void *mc_valloc(size_t size);
void *mc_pvalloc(size_t size);
size_t mc_malloc_usable_size(void *ptr);
/* Gives cached and free memory back to the OS; returns 1 if any was released. */
int mc_malloc_trim(size_t pad);
struct mallinfo2 mc_mallinfo2(void);

/*
 * Writes the block map of every heap to fd: one `[BLOCK 0xADDR: N bytes USED|FREE]`
 * per boundary-tag block, one `[SLAB ...]` line per size-class page, one
 * `[BLOCK ...: N bytes MMAP]` per large block, then a summary (heap size, in use,
 * free, largest free block, fragmentation). Takes each arena's lock in turn; uses no
 * malloc and no stdio. Returns 0 or -errno of the failed write.
 */
int mc_malloc_dump(int fd);
/* Writes the counters MCMALLOC_STATS=1 prints at exit. Returns 0 or -errno. */
int mc_malloc_stats_print(int fd);

#ifdef __cplusplus
}
#endif

#endif
