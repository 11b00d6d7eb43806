/* SPDX-License-Identifier: MIT */
/* The allocator contract against the linked library's mc_* entry points. */
#include <mc/malloc.h>

#define M(name) mc_##name
#define DUMP(fd) mc_malloc_dump(fd)
#include "contract.h"
