/* SPDX-License-Identifier: MIT */
/*
 * The allocator's contract, written once against M(name): api_linked.c binds it to
 * the mc_* entry points of the linked library, api_preload.c to the libc names with
 * libmcmalloc.so preloaded. Covers the API contract, threads with cross-thread frees,
 * fork while threads allocate, splitting and coalescing seen through the dump, and
 * memory going back to the OS seen in RSS. This file holds the includes and helpers;
 * the cases are in contract_{api,threads,fork,dump,memory}.h, one concern each.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The tests compare addresses of freed and reallocated blocks on purpose. */
#pragma GCC diagnostic ignored "-Wuse-after-free"

#ifndef M
#error "define M(name) before including contract.h"
#endif

/* The library's threshold defaults (alloc/os.c): blocks in between use the arenas. */
#define SMALL_MAX 8192
#define MMAP_THRESHOLD (256 << 10)

/* Opaque to the compiler: keeps it from folding malloc(huge) == NULL at compile time. */
static size_t opaque(size_t x)
{
	__asm__ volatile("" : "+r"(x));
	return x;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void fill(void *p, size_t n, uint64_t tag)
{
	unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		c[i] = (unsigned char)(tag + i * 31);
}

static bool verify(const void *p, size_t n, uint64_t tag)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i] != (unsigned char)(tag + i * 31))
			return false;
	return true;
}

#include "contract_api.h"
#include "contract_threads.h"
#include "contract_fork.h"
#include "contract_dump.h"
#include "contract_memory.h"

TEST_HARNESS_MAIN
