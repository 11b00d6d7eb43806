/* SPDX-License-Identifier: MIT */
/*
 * object.c: the allocation choke point (every heap byte the GC accounts for goes
 * through lox_realloc), object constructors, string interning and the hash tables
 * used for fields, methods, globals and the intern set.
 */
#include <stdlib.h>

#include "internal.h"

_Noreturn void lox_oom(struct mc_lox_vm *vm)
{
	/* Only reachable inside mc_lox_vm_interpret, which always installs on_error. */
	vm->had_error = true;
	if (vm->on_error)
		longjmp(*vm->on_error, 2);
	abort();
}

void *lox_arena_alloc(struct mc_lox_vm *vm, size_t size)
{
	struct lox_arena_chunk *c = vm->arena;

	size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (!c || c->size - c->used < size) {
		size_t cap = size > 60000 ? size : 60000;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			lox_oom(vm);
		c->size = cap;
		c->used = 0;
		c->next = vm->arena;
		vm->arena = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

/*
 * Small blocks (objects, field tables: <= POOL_MAX bytes, the bulk of a Lox heap) come
 * from per-size-class free lists carved out of 64 KiB slabs: a collection frees
 * thousands of objects at once, which glibc's malloc serves slowly. Pooled memory is
 * reused, never returned to the OS before mc_lox_vm_free. Sanitizer builds use plain
 * malloc so ASan still sees every use after free.
 */
#if defined(__SANITIZE_ADDRESS__)
#define LOX_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOX_POOL 0
#endif
#endif
#ifndef LOX_POOL
#define LOX_POOL 1
#endif
#define SLAB_SIZE (64u * 1024)

struct lox_slab {
	struct lox_slab *next;
	max_align_t data[];
};

static int pool_class(size_t size)
{
	return LOX_POOL && size <= LOX_POOL_MAX ? (int)((size + 15) >> 4) : -1;
}

static void *pool_alloc(struct mc_lox_vm *vm, int cls)
{
	struct lox_free *f = vm->pool[cls];

	if (LOX_LIKELY(f != NULL)) {
		vm->pool[cls] = f->next;
		return f;
	}
	size_t bsize = (size_t)cls << 4;
	if (vm->slab_left < bsize) {
		struct lox_slab *s = malloc(sizeof(*s) + SLAB_SIZE);
		if (!s)
			return NULL;
		s->next = vm->slabs;
		vm->slabs = s;
		vm->slab_cur = (char *)s->data;
		vm->slab_left = SLAB_SIZE;
	}
	void *p = vm->slab_cur;
	vm->slab_cur += bsize;
	vm->slab_left -= bsize;
	return p;
}

static void block_free(struct mc_lox_vm *vm, void *p, size_t size)
{
	int cls = pool_class(size);

	if (cls < 0) {
		free(p);
		return;
	}
	struct lox_free *f = p;
	f->next = vm->pool[cls];
	vm->pool[cls] = f;
}

void lox_pool_release(struct mc_lox_vm *vm)
{
	while (vm->slabs) {
		struct lox_slab *next = vm->slabs->next;
		free(vm->slabs);
		vm->slabs = next;
	}
	memset(vm->pool, 0, sizeof(vm->pool));
	vm->slab_left = 0;
}

/*
 * Table arrays are accounted here but never trigger a collection: collections only
 * start in lox_alloc_obj, so code that holds a raw object pointer across a table
 * insert does not need to root it. @old must be the size @p was allocated with.
 */
void *lox_realloc(struct mc_lox_vm *vm, void *p, size_t old, size_t size)
{
	vm->bytes_allocated += size;
	vm->bytes_allocated -= old;
	if (size == 0) {
		block_free(vm, p, old);
		return NULL;
	}
	int nc = pool_class(size);
	if (p && nc >= 0 && nc == pool_class(old))
		return p;
	void *q = nc >= 0 ? pool_alloc(vm, nc) : malloc(size);
	if (!q)
		lox_oom(vm);
	if (p) {
		memcpy(q, p, old < size ? old : size);
		block_free(vm, p, old);
	}
	return q;
}

struct lobj *lox_alloc_obj(struct mc_lox_vm *vm, size_t size, enum lobj_type type)
{
	if (vm->gc_stress || vm->bytes_allocated + size > vm->next_gc)
		lox_gc_collect(vm);
	struct lobj *o = lox_realloc(vm, NULL, 0, size);
	o->type = (uint8_t)type;
	o->marked = 0;
	o->next = vm->objects;
	vm->objects = o;
	vm->objects_live++;
	return o;
}

static size_t obj_size(const struct lobj *o)
{
	switch (o->type) {
	case O_STRING:
		return sizeof(struct lstr) + ((const struct lstr *)o)->len + 1;
	case O_CELL:
		return sizeof(struct lcell);
	case O_CLOSURE:
		return sizeof(struct lclosure) +
		       (size_t)((const struct lclosure *)o)->fn->nup * sizeof(struct lcell *);
	case O_CLASS:
		return sizeof(struct lclass);
	case O_INSTANCE:
		return sizeof(struct linst);
	case O_BOUND:
		return sizeof(struct lbound);
	case O_NATIVE:
		return sizeof(struct lnative);
	}
	return 0;
}

void lox_obj_free(struct mc_lox_vm *vm, struct lobj *o)
{
	size_t size = obj_size(o);

	if (o->type == O_CLASS)
		lox_table_release(vm, &((struct lclass *)o)->methods);
	else if (o->type == O_INSTANCE)
		lox_table_release(vm, &((struct linst *)o)->fields);
	vm->bytes_freed += size;
	vm->objects_live--;
	lox_realloc(vm, o, size, 0);
}

/* FNV-1a, 32 bits. */
uint32_t lox_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

struct lstr *lox_table_find_str(const struct ltable *t, const char *s, size_t len, uint32_t hash)
{
	if (!t->e)
		return NULL;
	uint32_t i = hash & t->mask;
	for (;;) {
		struct lentry *e = &t->e[i];
		if (!e->key) {
			if (e->v != V_TRUE)
				return NULL;
		} else if (e->key->hash == hash && e->key->len == len &&
			   memcmp(e->key->chars, s, len) == 0) {
			return e->key;
		}
		i = (i + 1) & t->mask;
	}
}

static void table_grow(struct mc_lox_vm *vm, struct ltable *t)
{
	uint32_t cap = t->e ? (t->mask + 1) * 2 : 8;
	struct lentry *e = lox_realloc(vm, NULL, 0, cap * sizeof(*e));
	uint32_t count = 0;

	for (uint32_t i = 0; i < cap; i++)
		e[i] = (struct lentry){ NULL, V_NIL };
	if (t->e) {
		for (uint32_t i = 0; i <= t->mask; i++) {
			struct lentry *o = &t->e[i];
			if (!o->key)
				continue;
			uint32_t j = o->key->hash & (cap - 1);
			while (e[j].key)
				j = (j + 1) & (cap - 1);
			e[j] = *o;
			count++;
		}
		lox_realloc(vm, t->e, (t->mask + 1) * sizeof(*e), 0);
	}
	t->e = e;
	t->mask = cap - 1;
	t->count = count;
}

void lox_table_set(struct mc_lox_vm *vm, struct ltable *t, struct lstr *key, lval v)
{
	if (!t->e || (t->count + 1) * 4 > (t->mask + 1) * 3)
		table_grow(vm, t);
	uint32_t i = key->hash & t->mask;
	struct lentry *tomb = NULL;
	for (;;) {
		struct lentry *e = &t->e[i];
		if (e->key == key) {
			e->v = v;
			return;
		}
		if (!e->key) {
			if (e->v != V_TRUE) {
				if (tomb)
					e = tomb;
				else
					t->count++;
				e->key = key;
				e->v = v;
				return;
			}
			if (!tomb)
				tomb = e;
		}
		i = (i + 1) & t->mask;
	}
}

void lox_table_release(struct mc_lox_vm *vm, struct ltable *t)
{
	if (t->e)
		lox_realloc(vm, t->e, (t->mask + 1) * sizeof(*t->e), 0);
	t->e = NULL;
	t->mask = 0;
	t->count = 0;
}

struct lstr *lox_str_intern(struct mc_lox_vm *vm, const char *s, size_t len)
{
	uint32_t hash = lox_hash(s, len);
	struct lstr *str = lox_table_find_str(&vm->strings, s, len, hash);

	if (str)
		return str;
	if (len > UINT32_MAX - 1)
		lox_oom(vm);
	/* Collection may run here; @s must not point into a collectable string. */
	str = (struct lstr *)lox_alloc_obj(vm, sizeof(*str) + len + 1, O_STRING);
	str->hash = hash;
	str->len = (uint32_t)len;
	memcpy(str->chars, s, len);
	str->chars[len] = '\0';
	lox_table_set(vm, &vm->strings, str, V_NIL);
	return str;
}

struct lstr *lox_str_const(struct mc_lox_vm *vm, const char *s, size_t len)
{
	struct lstr *str = lox_str_intern(vm, s, len);

	if (vm->nconsts == vm->capconsts) {
		int cap = vm->capconsts ? vm->capconsts * 2 : 64;
		struct lstr **c = realloc(vm->consts, (size_t)cap * sizeof(*c));
		if (!c)
			lox_oom(vm);
		vm->consts = c;
		vm->capconsts = cap;
	}
	vm->consts[vm->nconsts++] = str;
	return str;
}

struct lcell *lox_cell_new(struct mc_lox_vm *vm, lval v)
{
	/* @v is only read after the allocation: callers keep it rooted (see interp.c). */
	struct lcell *c = (struct lcell *)lox_alloc_obj(vm, sizeof(*c), O_CELL);
	c->v = v;
	return c;
}

struct lclosure *lox_closure_new(struct mc_lox_vm *vm, struct lfn *fn)
{
	struct lclosure *c = (struct lclosure *)lox_alloc_obj(
		vm, sizeof(*c) + (size_t)fn->nup * sizeof(struct lcell *), O_CLOSURE);
	c->fn = fn;
	for (int i = 0; i < fn->nup; i++)
		c->up[i] = NULL;
	return c;
}

struct lclass *lox_class_new(struct mc_lox_vm *vm, struct lstr *name)
{
	struct lclass *k = (struct lclass *)lox_alloc_obj(vm, sizeof(*k), O_CLASS);
	k->name = name;
	k->super = NULL;
	k->init = NULL;
	k->id = ++vm->next_class_id;
	k->methods = (struct ltable){ 0 };
	return k;
}

struct linst *lox_inst_new(struct mc_lox_vm *vm, struct lclass *k)
{
	struct linst *i = (struct linst *)lox_alloc_obj(vm, sizeof(*i), O_INSTANCE);
	i->klass = k;
	i->fields = (struct ltable){ 0 };
	return i;
}

struct lbound *lox_bound_new(struct mc_lox_vm *vm, lval recv, struct lclosure *m)
{
	struct lbound *b = (struct lbound *)lox_alloc_obj(vm, sizeof(*b), O_BOUND);
	b->recv = recv;
	b->m = m;
	return b;
}

struct lnative *lox_native_new(struct mc_lox_vm *vm, struct lstr *name, int arity, lnative_fn fn)
{
	struct lnative *n = (struct lnative *)lox_alloc_obj(vm, sizeof(*n), O_NATIVE);
	n->name = name;
	n->arity = arity;
	n->fn = fn;
	return n;
}
