/* SPDX-License-Identifier: MIT */
/*
 * The allocator contract through the libc names, run with libmcmalloc.so preloaded
 * (tests/alloc/preload.sh builds and runs it). Refuses to run without the preload,
 * so glibc's malloc can never pass for ours.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int (*dump_fn)(int fd);

static int dump_via_dlsym(int fd)
{
	return dump_fn ? dump_fn(fd) : -1;
}

#define M(name) name
#define DUMP(fd) dump_via_dlsym(fd)
#include "contract.h"

__attribute__((constructor)) static void require_preload(void)
{
	Dl_info info;

	dump_fn = (int (*)(int))dlsym(RTLD_DEFAULT, "mc_malloc_dump");
	if (!dladdr((void *)(uintptr_t)dlsym(RTLD_DEFAULT, "malloc"), &info) || !info.dli_fname ||
	    !strstr(info.dli_fname, "libmcmalloc") || !dump_fn) {
		fprintf(stderr, "api_preload: malloc is not libmcmalloc's (run with LD_PRELOAD)\n");
		exit(1);
	}
}
