/* SPDX-License-Identifier: MIT */
/*
 * hazard.h (io-internal): a process-wide hazard-pointer domain for lock-free
 * structures. A thread publishes the pointer it is about to dereference; memory is
 * retired instead of freed and freed only once no published hazard names it.
 */
#ifndef MC_IO_HAZARD_H
#define MC_IO_HAZARD_H

#include <stdatomic.h>
#include <stddef.h>

#define HAZARD_SLOTS 2

struct hazard_rec;

/* hazard_self: this thread's record (claimed on first use, released at thread exit);
 * NULL only when its first allocation fails. */
struct hazard_rec *hazard_self(void);
/* hazard_index: a small dense number of the record, stable while the thread lives. */
unsigned hazard_index(const struct hazard_rec *r);

/*
 * hazard_protect: loads *src, publishes it in slot @slot and re-checks that *src
 * still holds it, so the object cannot be freed until the slot is cleared.
 * Returns the protected pointer (possibly NULL).
 */
void *hazard_protect(struct hazard_rec *r, int slot, void *_Atomic *src);
/* hazard_clear: the thread no longer dereferences what slot @slot protected. */
void hazard_clear(struct hazard_rec *r, int slot);
/* hazard_retire: @p is unreachable for new readers; free_fn(p) once no hazard names it. */
void hazard_retire(struct hazard_rec *r, void *p, void (*free_fn)(void *));

#endif
