/* SPDX-License-Identifier: MIT */
/*
 * version.c: a version is an immutable, reference-counted list of live tables.
 * Readers take a ref under the db mutex and then search without locks; flush and
 * compaction publish a new version instead of editing the current one.
 */
#include "internal.h"

#include <stdlib.h>

struct kv_version *kv_version_new(uint32_t n)
{
	struct kv_version *v = calloc(1, sizeof(*v) + (size_t)n * sizeof(v->t[0]));

	if (!v)
		return NULL;
	atomic_init(&v->refs, 1);
	v->n = n;
	return v;
}

void kv_version_ref(struct kv_version *v)
{
	atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

void kv_version_unref(struct kv_version *v)
{
	if (!v)
		return;
	/* acq_rel: the last holder frees what others have read. */
	if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (uint32_t i = 0; i < v->n; i++)
		kv_table_unref(v->t[i]);
	free(v);
}
