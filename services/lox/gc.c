/* SPDX-License-Identifier: MIT */
/*
 * gc.c: a precise mark-sweep collector. Roots: the value stack (frames and pushed
 * temporaries), the globals, the strings the AST refers to, and the closures of the
 * active frames. Marking uses an explicit gray stack (no recursion, so deep object
 * graphs cannot overflow the C stack); the intern table is weak.
 */
#include <stdlib.h>

#include "internal.h"

#define GC_HEAP_GROW 2
#define GC_MIN_HEAP (1u << 20)

static void mark_obj(struct mc_lox_vm *vm, struct lobj *o)
{
	if (!o || o->marked)
		return;
	o->marked = 1;
	if (o->type == O_STRING)
		return; /* no references: black at once */
	if (vm->ngray == vm->capgray) {
		size_t cap = vm->capgray ? vm->capgray * 2 : 256;
		struct lobj **g = realloc(vm->gray, cap * sizeof(*g));
		if (!g) {
			/*
			 * Out of memory in the middle of marking: sweeping now would free live
			 * objects. Abort is the only safe answer.
			 */
			abort();
		}
		vm->gray = g;
		vm->capgray = cap;
	}
	vm->gray[vm->ngray++] = o;
}

static void mark_val(struct mc_lox_vm *vm, lval v)
{
	if (v_is_obj(v))
		mark_obj(vm, v_obj(v));
}

static void mark_table(struct mc_lox_vm *vm, struct ltable *t)
{
	if (!t->e)
		return;
	for (uint32_t i = 0; i <= t->mask; i++) {
		if (!t->e[i].key)
			continue;
		mark_obj(vm, &t->e[i].key->o);
		mark_val(vm, t->e[i].v);
	}
}

static void blacken(struct mc_lox_vm *vm, struct lobj *o)
{
	switch (o->type) {
	case O_STRING:
		break;
	case O_CELL:
		mark_val(vm, ((struct lcell *)o)->v);
		break;
	case O_CLOSURE: {
		struct lclosure *c = (struct lclosure *)o;
		for (int i = 0; i < c->fn->nup; i++)
			mark_obj(vm, (struct lobj *)c->up[i]);
		break;
	}
	case O_CLASS: {
		struct lclass *k = (struct lclass *)o;
		mark_obj(vm, &k->name->o);
		mark_obj(vm, (struct lobj *)k->super);
		mark_obj(vm, (struct lobj *)k->init);
		mark_table(vm, &k->methods);
		break;
	}
	case O_INSTANCE: {
		struct linst *i = (struct linst *)o;
		mark_obj(vm, &i->klass->o);
		mark_table(vm, &i->fields);
		break;
	}
	case O_BOUND: {
		struct lbound *b = (struct lbound *)o;
		mark_val(vm, b->recv);
		mark_obj(vm, &b->m->o);
		break;
	}
	case O_NATIVE:
		mark_obj(vm, &((struct lnative *)o)->name->o);
		break;
	}
}

static void mark_roots(struct mc_lox_vm *vm)
{
	for (lval *v = vm->stack; v < vm->sp; v++)
		mark_val(vm, *v);
	for (int i = 0; i < vm->nglobals; i++) {
		mark_val(vm, vm->globals[i].v);
		mark_obj(vm, &vm->globals[i].name->o);
	}
	for (int i = 0; i < vm->nconsts; i++)
		mark_obj(vm, &vm->consts[i]->o);
	for (struct lox_frame *f = vm->frame; f; f = f->prev)
		mark_obj(vm, (struct lobj *)f->cl);
	mark_val(vm, vm->ret);
	mark_obj(vm, (struct lobj *)vm->init_str);
	mark_obj(vm, (struct lobj *)vm->this_str);
	mark_obj(vm, (struct lobj *)vm->super_str);
	mark_obj(vm, (struct lobj *)vm->empty_str);
}

/* Drop interned strings nobody marked: the intern set must not keep them alive. */
static void sweep_strings(struct mc_lox_vm *vm)
{
	struct ltable *t = &vm->strings;

	if (!t->e)
		return;
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct lentry *e = &t->e[i];
		if (e->key && !e->key->o.marked) {
			e->key = NULL;
			e->v = V_TRUE; /* tombstone */
		}
	}
}

static void sweep(struct mc_lox_vm *vm)
{
	struct lobj **link = &vm->objects;

	while (*link) {
		struct lobj *o = *link;
		if (o->marked) {
			o->marked = 0;
			link = &o->next;
		} else {
			*link = o->next;
			lox_obj_free(vm, o);
		}
	}
}

void lox_gc_collect(struct mc_lox_vm *vm)
{
	mark_roots(vm);
	while (vm->ngray)
		blacken(vm, vm->gray[--vm->ngray]);
	sweep_strings(vm);
	sweep(vm);
	vm->collections++;
	vm->next_gc = vm->bytes_allocated * GC_HEAP_GROW;
	if (vm->next_gc < GC_MIN_HEAP)
		vm->next_gc = GC_MIN_HEAP;
}

void lox_gc_free_all(struct mc_lox_vm *vm)
{
	struct lobj *o = vm->objects;

	while (o) {
		struct lobj *next = o->next;
		lox_obj_free(vm, o);
		o = next;
	}
	vm->objects = NULL;
	free(vm->gray);
	vm->gray = NULL;
	vm->ngray = vm->capgray = 0;
}
